"""Committing imports: idempotent re-import, updates, duplicate proposals, attribution, geocoding, audit."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from atlas import schema
from atlas.config import Defaults
from atlas.db import get_session
from atlas.importers import cli
from atlas.importers.geocode import geocode_pending
from atlas.importers.models import ImportRun
from atlas.models import AuditLog, Location, Organization, ReviewTask, Service

DATA = Path(__file__).parent / "data" / "import"
HEADER = "Name;Träger;Straße;PLZ;Ort;Telefon;Kategorie;Notizen\n"


def run(app, *args):
    return app.test_cli_runner().invoke(args=["import", *map(str, args)])


def count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count(model.id)))


def test_reimport_of_the_same_file_changes_nothing(app):
    first = run(app, DATA / "netzwerkkarte_en.csv", "--source", "NK")
    assert first.exit_code == 0
    services, orgs, locations, audit = (count(app, m) for m in (Service, Organization, Location, AuditLog))
    second = run(app, DATA / "netzwerkkarte_en.csv", "--source", "NK")
    assert "5 unverändert" in second.output and "0 neu, 0 aktualisiert, 5 unverändert" in second.output
    assert (services, orgs, locations, audit) == tuple(count(app, m) for m in (Service, Organization, Location, AuditLog))


def test_sources_without_ids_are_matched_by_name_and_address(app, tmp_path):
    path = tmp_path / "ohne_ids.csv"
    path.write_text(HEADER + "Sprachcafé Heven;Quartiersbüro Heven;Herbeder Straße 30;58455;Witten;02302 555640;"
                    "Bildung und Kultur;\n", encoding="utf-8")
    assert "1 neu" in run(app, path).output
    path.write_text(HEADER + "Sprachcafé Heven;Quartiersbüro Heven;Herbeder Str. 30;58455;Witten;02302 555641;"
                    "Bildung und Kultur;neue Nummer\n", encoding="utf-8")
    second = run(app, path)
    assert "aktualisieren" in second.output and "geändert: interne Notiz, Telefon" in second.output
    with app.app_context():
        found = get_session().scalars(select(Service).where(Service.name == "Sprachcafé Heven")).all()
        assert len(found) == 1 and [p.number for p in found[0].phones] == ["02302 555641"]
        assert found[0].internal_note == "neue Nummer"


def test_empty_cells_never_erase_existing_data(app, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("ID;" + HEADER + "X1;Tafel Wetter;Tafel e. V.;Kaiserstraße 1;58300;Wetter;02335 555000;"
                    "materielle-hilfen;Ausweis mitbringen\n", encoding="utf-8")
    run(app, path)
    path.write_text("ID;Name;Ort\nX1;Tafel Wetter;Wetter\n", encoding="utf-8")
    assert "unverändert" in run(app, path).output
    with app.app_context():
        s = get_session().scalar(select(Service).where(Service.source_id == "X1"))
        assert s.internal_note == "Ausweis mitbringen" and [p.number for p in s.phones] == ["02335 555000"]
        assert [c.slug for c in s.categories] == ["materielle-hilfen"]


def test_possible_duplicate_is_skipped_and_proposed_for_merge(app):
    result = run(app, DATA / "netzwerkkarte_en.csv", "--source", "NK")
    assert "mögliche Dublette" in result.output
    assert "gleicher Name im selben Ort, gleiche Telefonnummer, gleiche Webadresse, gleiche Adresse" in result.output
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count(Service.id)).where(Service.name == "Schuldnerberatung Lichtblick")) == 1
        task = session.scalar(select(ReviewTask).where(ReviewTask.kind == "import_duplicate"))
        assert task.service.name == "Schuldnerberatung Lichtblick" and task.service.source_name == "demo"
        assert "Import „NK“ (netzwerkkarte_en.csv, Nr. 5)" in task.detail and task.resolved_at is None
        assert task.assignee.email == "lena.hoffmann@drv-westfalen.example"
    run(app, DATA / "netzwerkkarte_en.csv", "--source", "NK")
    with app.app_context():
        assert get_session().scalar(select(func.count(ReviewTask.id)).where(ReviewTask.kind == "import_duplicate")) == 1


def test_trotzdem_anlegen_creates_the_duplicate(app):
    result = run(app, DATA / "netzwerkkarte_en.csv", "--source", "NK", "--create-duplicate", "5")
    assert "1 trotz Dublettenverdacht angelegt" in result.output
    with app.app_context():
        names = get_session().scalars(select(Service.source_name).where(Service.name == "Schuldnerberatung Lichtblick"))
        assert sorted(names) == ["NK", "demo"]
    assert "unverändert" in run(app, DATA / "netzwerkkarte_en.csv", "--source", "NK").output


def test_similar_rows_within_one_file_are_flagged(app, tmp_path):
    path = tmp_path / "doppelt.csv"
    path.write_text(HEADER + "Suchtberatung Hattingen;Blaues Kreuz;Talstraße 1;45525;Hattingen;02324 555001;sucht;\n"
                    "Sucht-Beratung Hattingen;Blaues Kreuz;Talstr. 1;45525;Hattingen;02324 555001;sucht;\n"
                    "Suchtberatung Hattingen e. V.;Blaues Kreuz;Talstr. 1;45525;Hattingen;02324 555001;sucht;\n",
                    encoding="utf-8")
    result = run(app, path, "--dry-run")
    assert "Nr. 2 dieser Datei" in result.output and "1 neu, 1 mögliche Dublette, 1 Fehler" in result.output
    # The third row is the first one again (legal form aside): the same entry twice is an error.
    assert "Doppelte Zeile (gleicher Name und gleiche Adresse)" in result.output


def test_existing_organisation_is_reused_not_duplicated(app, tmp_path):
    path = tmp_path / "org.csv"
    path.write_text(HEADER + "Sprachcafé Lichtblick;Beratungsstelle Lichtblick;Bahnhofstraße 9;58452;Witten;"
                    "02302 5551234;Bildung und Kultur;\n", encoding="utf-8")
    orgs = count(app, Organization)
    assert "zu bestehendem Träger" in run(app, path).output
    assert count(app, Organization) == orgs
    with app.app_context():
        s = get_session().scalar(select(Service).where(Service.name == "Sprachcafé Lichtblick"))
        assert s.organization.name == "Beratungsstelle Lichtblick e. V." and s.organization.source_name == "demo"


def test_strict_mode_imports_nothing_on_any_error(app):
    services = count(app, Service)
    result = run(app, DATA / "netzwerkkarte_en.csv", "--strict")
    assert result.exit_code == 1 and "Nothing was changed" in result.output
    assert count(app, Service) == services and count(app, ImportRun) == 0


def test_audit_actor_and_import_history(app):
    run(app, DATA / "hsds_spz", "--source", "SPZ Hagen", "--licence", "CC BY 4.0")
    with app.app_context():
        session = get_session()
        actors = set(session.scalars(select(AuditLog.actor).where(AuditLog.entity_type == "service")))
        assert "import:SPZ Hagen" in actors
        run_row = session.scalar(select(ImportRun))
        assert (run_row.source, run_row.file_name, run_row.format, run_row.rows) == ("SPZ Hagen", "hsds_spz", "hsds", 3)
        assert run_row.counts == {"new": 3} and run_row.licence == "CC BY 4.0" and len(run_row.file_hash) == 64


def test_importing_our_own_export_into_the_same_atlas_duplicates_nothing(app, tmp_path):
    export = app.test_cli_runner().invoke(args=["export", str(tmp_path / "a.zip"), "--internal"])
    assert export.exit_code == 0, export.output
    services = count(app, Service)
    result = run(app, tmp_path / "a.zip", "--source", "Rückspielung")
    assert result.exit_code == 0, result.output
    # matched by UUID and nothing differs: nothing is touched (issue 15; it used to say "7 aktualisiert")
    assert "7 unverändert" in result.output and count(app, Service) == services


def test_public_page_names_the_source_only_when_the_licence_requires_it(app, client):
    run(app, DATA / "overpass_en.json", "--source", "OpenStreetMap")
    run(app, DATA / "netzwerkkarte_en.csv", "--source", "Netzwerkkarte")
    with app.app_context():
        session = get_session()
        osm = session.scalar(select(Service.id).where(Service.name == "Hausarztpraxis Dr. Beispiel"))
        csv_id = session.scalar(select(Service.id).where(Service.name == "Suchtberatung Witten"))
    page = client.get(f"/angebote/{osm}").get_data(as_text=True)
    assert "Quelle: OpenStreetMap (ODbL 1.0, © OpenStreetMap-Mitwirkende)" in page
    assert "Quelle:" not in client.get(f"/angebote/{csv_id}").get_data(as_text=True)


def test_geocoding_offline_at_once_then_pending_with_nominatim(app, make_app, httpserver):
    run(app, DATA / "netzwerkkarte_en.csv", "--source", "NK")
    with app.app_context():
        session = get_session()
        loc = session.scalar(select(Location).join(Location.address).where(Location.source_name == "NK")
                             .order_by(Location.id))
        assert (loc.geo_source, loc.geo_precision) == ("gazetteer", "plz")
        offline = geocode_pending(session, app.config, 10)
        assert offline.done == 0 and offline.remaining == 0  # nothing without coordinates, no Nominatim
    httpserver.expect_request("/search").respond_with_json(
        [{"lat": "51.4391", "lon": "7.3402", "display_name": "Röhrchenstraße 10, Witten", "place_id": 1,
          "boundingbox": ["51.4", "51.5", "7.3", "7.4"]}])
    online = make_app(NOMINATIM_URL=httpserver.url_for("/").rstrip("/"), NOMINATIM_MIN_DELAY=0)
    with online.app_context():
        session = get_session()
        seen = []
        report = geocode_pending(session, online.config, 2, progress=seen.append)
        session.commit()
        # five imported sites placed by postcode, one demo site without coordinates
        assert report.done == 2 and report.remaining == 4 and seen == [1, 1]
        assert "2 exakt" in report.summary()
        first = session.get(Location, loc.id)
        assert (first.geo_source, first.geo_precision, first.latitude) == ("nominatim", "exakt", 51.4391)
    result = online.test_cli_runner().invoke(args=["geocode-pending", "--limit", "10"])
    assert result.exit_code == 0 and "4 Standort(e) verortet" in result.output and "0 offen" in result.output


def test_imports_run_at_a_lower_cpu_priority_than_the_web_workers(make_app, monkeypatch):
    """`flask import` and the import worker lower their priority to IMPORT_NICE (default 10; 0 leaves it)."""
    asked: list[int] = []
    monkeypatch.setattr(cli, "lower_thread_priority", lambda nice: asked.append(nice) or nice)
    monkeypatch.setattr(cli, "lower_session_priority", lambda nice: asked.append(-nice) or nice)  # its session's too
    for config, expected in (({}, 10), ({"IMPORT_NICE": 0}, 0)):
        app = make_app(**({"IMPORT_NICE": 10} | config))
        schema.upgrade(app.extensions["atlas.engine"])
        asked.clear()
        runner = app.test_cli_runner()
        assert runner.invoke(args=["import", str(DATA / "netzwerkkarte_en.csv"), "--dry-run"]).exit_code == 0
        assert runner.invoke(args=["import-worker", "--once"]).exit_code == 0
        assert asked == [expected, -expected, expected, -expected]
    assert Defaults.IMPORT_NICE == 10  # the product's default (tests/conftest.py sets 0 for in-process imports)
