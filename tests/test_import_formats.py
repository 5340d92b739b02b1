"""Every import format with a realistic sample file: what is read, planned and stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from atlas.db import get_session
from atlas.importers import detect_format, read_file
from atlas.importers.cli import read_options
from atlas.importers.plan import plan_import
from atlas.importers.tabular import parse_hours, split_address
from atlas.models import Organization, Service

DATA = Path(__file__).parent / "data" / "import"


def run(app, *args: str):
    """Run `flask import` and return the result (output included)."""
    return app.test_cli_runner().invoke(args=["import", *map(str, args)])


def plan_of(app, path: Path, fmt: str | None = None, **options):
    """Read and plan a file without committing."""
    with app.app_context():
        result = read_file(path, fmt, read_options(app.config, **options))
        return plan_import(get_session(), result, path.stem, path.name, "x")


def service(app, name: str) -> Service:
    with app.app_context():
        session = get_session()
        found = session.scalar(select(Service).where(Service.name == name))
        assert found is not None, name
        # touch what the assertions read while the session is open
        _ = ([c.slug for c in found.categories], found.organization.name, [p.number for p in found.phones],
             [(sal.location.address, sal.location.gemeinde, sal.location.schedules) for sal in found.service_at_locations],
             [s.byday for s in found.schedules], found.jobcenters)
        return found


@pytest.mark.parametrize(("name", "fmt"), [
    ("netzwerkkarte_en.csv", "csv"), ("odd_source.csv", "csv"), ("hsds_spz", "hsds"),
    ("hsds_spz/datapackage.json", "hsds"), ("dajeb_beratungsfuehrer.json", "hsds"), ("overpass_en.json", "osm"),
    ("selbsthilfe_mk.geojson", "geojson"), ("netzwerkkarte.html", "html"), ("netzwerkkarte.md", "markdown"),
    ("netzwerkkarte.wiki", "markdown"),
])
def test_formats_are_detected(name, fmt):
    assert detect_format(DATA / name) == fmt


def test_csv_from_excel_with_german_headers(app):
    result = run(app, DATA / "netzwerkkarte_en.csv", "--source", "Netzwerkkarte EN")
    assert result.exit_code == 0, result.output
    assert "5 neu, 1 mögliche Dublette, 1 Fehler" in result.output
    assert "Unbekannte Kategorie „Malkurse“" in result.output
    sucht = service(app, "Suchtberatung Witten")
    assert sucht.organization.name == "Diakonie Mark-Ruhr gGmbH"
    assert [c.slug for c in sucht.categories] == ["suchtberatung"]
    assert sucht.url == "https://www.diakonie-mark-ruhr.example/sucht"
    assert sucht.email == "sucht@diakonie-mark-ruhr.example"
    assert sucht.internal_note == "Ansprechpartnerin Frau Kaya, kurze Wege"
    assert (sucht.source_name, sucht.source_id) == ("Netzwerkkarte EN", "NK-001")
    assert sucht.imported_at is not None
    loc = sucht.service_at_locations[0].location
    assert (loc.address.address_1, loc.address.postal_code, loc.address.city) == ("Röhrchenstraße 10", "58452", "Witten")
    assert loc.gemeinde.slug == "witten" and loc.geo_source == "gazetteer" and loc.geo_precision == "plz"
    assert [(s.byday, s.opens_at, s.closes_at) for s in loc.schedules] == [
        ("MO,TU,WE,TH,FR", "09:00", "12:00"), ("TH", "14:00", "18:00")]
    coaching = service(app, "Jobcoaching Start")
    assert sorted(c.slug for c in coaching.categories) == ["bildungstraeger", "jobcoaching"]
    assert "Öffnungszeiten (nicht erkannt): nach Vereinbarung" in coaching.internal_note


def test_csv_in_windows_1252_with_commas_and_one_address_column(app):
    result = run(app, DATA / "wohlfahrt_mk_cp1252.csv")
    assert result.exit_code == 0, result.output
    assert "Windows-1252" in result.output
    s = service(app, "Allgemeine Sozialberatung Lüdenscheid")
    assert s.organization.name == "Diakonisches Werk Lüdenscheid-Plettenberg e.V."
    assert s.languages == ["de", "tr"]
    addr = s.service_at_locations[0].location.address
    assert (addr.address_1, addr.postal_code, addr.city) == ("Graf-Engelbert-Straße 18", "58511", "Lüdenscheid")
    assert sorted(p.number for p in service(app, "Schuldnerberatung Iserlohn").phones) == ["02371 555210", "02371 555211"]
    menden = service(app, "Frühe Hilfen Menden")
    assert [c.slug for c in menden.categories] == ["familienberatung"]  # a category name containing commas
    assert menden.service_at_locations[0].location.address.address_1 == "Neumarkt 5"


@pytest.mark.parametrize("mapping", ["mapping_odd_source.json", "mapping_odd_source.csv"])
def test_user_mapping_file_for_odd_headers(app, mapping):
    without = run(app, DATA / "odd_source.csv", "--dry-run")
    # headers are matched by their words now; only "Themenfeld" needs the mapping file
    assert without.exit_code == 0 and "„Bezeichnung der Maßnahme“ → Name (75 %" in without.output
    assert "„Themenfeld“ → nicht übernehmen" in without.output
    result = run(app, DATA / "odd_source.csv", "--mapping", DATA / mapping)
    assert result.exit_code == 0, result.output
    s = service(app, "Bewerbungscafé Hattingen")
    assert s.organization.name == "Werkstatt Hattingen gGmbH"
    assert [c.slug for c in s.categories] == ["jobcoaching"] and s.internal_note == "Läuft bis Ende 2026"
    assert s.service_at_locations[0].location.address.postal_code == "45525"


def test_xlsx_first_or_named_sheet(app):
    path = DATA / "gesundheitsamt_en.xlsx"
    first = run(app, path, "--dry-run")
    assert first.exit_code == 1 and "Keine Spalte für den Namen" in first.output
    result = run(app, path, "--sheet", "Angebote")
    assert result.exit_code == 0, result.output
    s = service(app, "Gesundheitsförderung Schwelm")
    assert [p.number for p in s.phones] == ["02336932000"]  # Excel dropped the leading zero
    assert [(h.byday, h.opens_at, h.closes_at) for h in s.service_at_locations[0].location.schedules] == [
        ("MO,TU,WE,TH", "08:00", "15:00")]
    assert service(app, "Impfberatung Dresden").service_at_locations[0].location.address.postal_code == "01067"
    assert [c.slug for c in service(app, "Präventionskurs Rückenfit").categories] == ["gkv-kurse"]
    missing = run(app, path, "--sheet", "Gibtsnicht", "--dry-run")
    assert "kein Blatt „Gibtsnicht“" in missing.output and "Angebote" in missing.output


def test_hsds_tabular_package(app):
    result = run(app, DATA / "hsds_spz")
    assert result.exit_code == 0, result.output
    assert "„Support Groups“ hat keine Entsprechung" in result.output
    s = service(app, "Kontakt- und Beratungsstelle")
    assert s.uuid == "b1c2d3e4-0001-4a5b-8c9d-000000000001"
    assert s.source_licence == "CC BY 4.0" and s.minimum_age == 18 and s.languages == ["de", "tr"]
    assert [c.slug for c in s.categories] == ["spz"]
    assert sorted((h.byday, h.opens_at) for h in s.schedules) == [("MO,TU,TH", "10:00"), ("WE", "14:00")]
    loc = s.service_at_locations[0].location
    assert (loc.latitude, loc.longitude, loc.geo_source) == (51.3594, 7.4721, "import")
    tages = service(app, "Tagesstätte am Volkspark")
    assert tages.status == "pausiert" and tages.alert == "Umbau bis April 2026"
    assert tages.service_at_locations[0].location.id == loc.id  # one site shared by two offers
    assert [p.type for p in tages.phones] == ["fax"]
    with app.app_context():
        org = get_session().scalar(select(Organization).where(Organization.name == "Sozialpsychiatrisches Zentrum Hagen"))
        assert org.alternate_name == "SPZ Hagen" and [p.number for p in org.phones] == ["02331 555100"]


def test_hsds_json_services_with_nested_organisation(app):
    result = run(app, DATA / "dajeb_beratungsfuehrer.json", "--source", "dajeb")
    assert result.exit_code == 0, result.output
    s = service(app, "Erziehungs- und Familienberatung Witten")
    assert s.organization.name == "Stadt Witten, Amt für Jugendhilfe"
    assert (s.minimum_age, s.maximum_age, str(s.assured_date)) == (0, 27, "2026-02-10")
    assert s.languages == ["de", "en"] and [c.slug for c in s.categories] == ["familienberatung"]
    assert [(h.byday, h.opens_at, h.closes_at) for h in s.schedules] == [("MO,TU,WE,TH", "08:30", "16:00")]
    assert service(app, "Online-Paarberatung").service_at_locations == []


def test_overpass_json_with_tag_mapping(app):
    result = run(app, DATA / "overpass_en.json", "--source", "OSM")
    assert result.exit_code == 0, result.output
    assert "4 neu, 1 Fehler" in result.output and "amenity=bench" in result.output
    doc = service(app, "Hausarztpraxis Dr. Beispiel")
    assert [c.slug for c in doc.categories] == ["hausarzt"]
    assert doc.source_id == "node/9100000001" and doc.source_url == "https://www.openstreetmap.org/node/9100000001"
    assert doc.source_licence.startswith("ODbL")
    loc = doc.service_at_locations[0].location
    assert (loc.latitude, loc.geo_precision, loc.address.address_1) == (51.4378, "exakt", "Bahnhofstraße 12")
    assert [c.slug for c in service(app, "Psychotherapeutische Praxis Sommer").categories] == ["psychotherapie"]
    tafel = service(app, "Tafel Ennepetal")
    assert [c.slug for c in tafel.categories] == ["materielle-hilfen"]
    assert tafel.organization.name == "Tafel Ennepetal e. V." and tafel.service_at_locations[0].location.latitude == 51.2958
    assert [c.slug for c in service(app, "Augenarztpraxis am Markt").categories] == ["facharzt"]


def test_geojson_with_own_properties(app):
    plan = plan_of(app, DATA / "selbsthilfe_mk.geojson")
    assert [r.action for r in plan.rows] == ["new", "new", "new"]
    assert any("nicht in Deutschland" in w for w in plan.rows[2].warnings)
    result = run(app, DATA / "selbsthilfe_mk.geojson")
    assert result.exit_code == 0, result.output
    s = service(app, "Selbsthilfegruppe Depression Lüdenscheid")
    loc = s.service_at_locations[0].location
    assert (loc.latitude, loc.longitude) == (51.2192, 7.6297)  # GeoJSON order is longitude, latitude
    assert s.source_id == "shg-01" and s.languages == ["de"]
    assert [c.slug for c in service(app, "Angehörigengruppe Sucht Iserlohn").categories] == ["selbsthilfe"]


def test_html_netzwerkkarte_notes_become_internal(app):
    result = run(app, DATA / "netzwerkkarte.html")
    assert result.exit_code == 0, result.output
    ifd = service(app, "Integrationsfachdienst Hagen")
    assert ifd.url == "https://www.ifd-hagen.example/"  # the link target, not the text "Homepage"
    assert ifd.internal_note == "Frau Berger kennt uns, Zuweisung über Reha-Team"
    assert ifd.service_at_locations[0].location.address.address_1 == "Körnerstraße 20"
    shk = service(app, "Selbsthilfe-Kontaktstelle EN")
    assert [p.number for p in shk.phones] == ["02332 555910 / 555911"]
    wetter = service(app, "Quartiersbüro Wetter")
    assert wetter.service_at_locations[0].location.gemeinde.slug == "wetter-ruhr"
    assert wetter.internal_note == "& Stadtteilfest im Juni"


def test_markdown_and_mediawiki_tables(app):
    assert run(app, DATA / "netzwerkkarte.md").exit_code == 0
    mbe = service(app, "Migrationsberatung für Erwachsene")
    assert mbe.url == "https://www.awo-en.example/mbe" and [c.slug for c in mbe.categories] == ["sozialberatung"]
    donum = service(app, "Schwangerschaftsberatung donum vitae")
    assert donum.url == "https://donum-vitae-witten.example"
    assert donum.internal_note == "Kooperation seit 2024 | gut erreichbar"
    assert service(app, "Kleiderkammer Herdecke").service_at_locations[0].location.address.city == "Herdecke"
    assert run(app, DATA / "netzwerkkarte.wiki").exit_code == 0
    sucht = service(app, "Suchthilfe Breckerfeld")
    assert sucht.url == "https://www.suchthilfe-breckerfeld.example" and sucht.internal_note == "Gruppe dienstags"
    tages = service(app, "Tagesstätte Ennepetal")
    assert tages.url == "https://tagesstaette-ennepetal.example" and tages.internal_note == "Mittagstisch 3,50 €"


@pytest.mark.parametrize(("text", "expected"), [
    ("Mo-Fr 9-12 Uhr", [("MO,TU,WE,TH,FR", "09:00", "12:00")]),
    ("Di, Do 14:00–16:30", [("TU,TH", "14:00", "16:30")]),
    ("Mo 9.00-12.00; Mi 15-18 Uhr", [("MO", "09:00", "12:00"), ("WE", "15:00", "18:00")]),
    ("nach Vereinbarung", []),
    ("Mo-Fr 9-12 Uhr und nach Vereinbarung", []),
    ("Mo 18-9", []),
])
def test_opening_hours(text, expected):
    assert [(s.byday, s.opens_at, s.closes_at) for s in parse_hours(text)] == expected


@pytest.mark.parametrize(("text", "parts"), [
    ("Marktstraße 5, 58452 Witten", ("Marktstraße 5", "58452", "Witten")),
    ("58452 Witten, Marktstraße 5", ("Marktstraße 5", "58452", "Witten")),
    ("Marktstraße 5\n58452 Witten", ("Marktstraße 5", "58452", "Witten")),
    ("Marktstraße 5, Witten", ("Marktstraße 5", None, "Witten")),
    ("D-58452 Witten", (None, "58452", "Witten")),
])
def test_address_in_one_column(text, parts):
    a = split_address(text)
    assert (a.address_1, a.postal_code, a.city) == parts
