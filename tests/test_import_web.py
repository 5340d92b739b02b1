"""The coordinator upload page: preview, commit, changed-file refusal, error download, exports, access."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from atlas.db import get_session
from atlas.importers.jobs import work
from atlas.importers.models import ImportRun
from atlas.models import AuditLog, Service
from conftest import csrf_token, login

DATA = Path(__file__).parent / "data" / "import"


def follow(client, response):
    """Run the import worker for the job a page handed over, then show the page it redirected to."""
    if response.status_code != 302 or "/verwaltung/import/" not in response.location:
        return response
    work(client.application, once=True)
    return client.get(response.location)


def upload(client, path: Path, **fields):
    token = csrf_token(client, "/verwaltung/import")
    data = {"csrf_token": token, "datei": (io.BytesIO(path.read_bytes()), path.name), **fields}
    return follow(client, client.post("/verwaltung/import", data=data, content_type="multipart/form-data"))


def commit(client, action: str, **data):
    """Post the preview's commit form and let the worker run it; returns the job page."""
    return follow(client, client.post(action, data=data))


def preview_form(html: str) -> tuple[str, str, str]:
    """The commit URL, checksum and CSRF token of a preview page."""
    action = re.search(r'action="(/verwaltung/import/[^"]+/uebernehmen)"', html).group(1)
    checksum = re.search(r'name="pruefsumme" value="([0-9a-f]{64})"', html).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return action, checksum, token


def mapped(html: str, column: str) -> str | None:
    """The field selected for a column in the mapping step of a preview page."""
    index = re.search(rf'name="spalte-(\d+)" value="{re.escape(column)}"', html)
    if index is None:
        return None
    select = re.search(rf'<select name="feld-{index.group(1)}".*?</select>', html, re.S).group(0)
    return re.search(r'<option value="([^"]+)" selected', select).group(1)


def services(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count(Service.id)))


def test_only_coordinators_may_import(client, app):
    assert client.get("/verwaltung/import").status_code in (302, 401)
    login(client, "lotsin@atlas.example")
    assert client.get("/verwaltung/import").status_code == 403
    assert client.get("/verwaltung/export/csv").status_code == 403


def test_upload_preview_and_commit(coordinator_client, app):
    page = coordinator_client.get("/verwaltung/import").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and "Vorschau anzeigen" in page
    before = services(app)
    response = upload(coordinator_client, DATA / "netzwerkkarte_en.csv", quelle="Netzwerkkarte EN", lizenz="CC BY 4.0")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Vorschau: netzwerkkarte_en.csv" in html and "Noch ist nichts gespeichert" in html
    assert "Unbekannte Kategorie „Malkurse“" in html and "trotzdem anlegen" in html
    assert mapped(html, "Einrichtung") == "name" and mapped(html, "(Trennzeichen)") is None
    assert services(app) == before  # the preview stores nothing
    action, checksum, token = preview_form(html)
    download = coordinator_client.get(action.replace("uebernehmen", "fehler.csv"))
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert "Malkurse" in download.get_data(as_text=True)
    done = commit(coordinator_client, action, csrf_token=token, pruefsumme=checksum)
    assert done.status_code == 200 and "Import abgeschlossen: 5 neu" in done.get_data(as_text=True)
    assert services(app) == before + 5
    page = coordinator_client.get("/verwaltung/import").get_data(as_text=True)
    assert "Netzwerkkarte EN" in page
    with app.app_context():
        session = get_session()
        run = session.scalar(select(ImportRun))
        assert run.actor == "koordination@atlas.example" and run.user.email == "koordination@atlas.example"
        assert "koordination@atlas.example" in set(session.scalars(select(AuditLog.actor)
                                                                    .where(AuditLog.entity_type == "service")))
        assert session.scalar(select(Service).where(Service.source_name == "Netzwerkkarte EN")).source_licence == "CC BY 4.0"
    assert coordinator_client.post(action, data={"csrf_token": token, "pruefsumme": checksum}).status_code == 404


def test_trotzdem_anlegen_from_the_page(coordinator_client, app):
    html = upload(coordinator_client, DATA / "netzwerkkarte_en.csv").get_data(as_text=True)
    action, checksum, token = preview_form(html)
    commit(coordinator_client, action, csrf_token=token, pruefsumme=checksum, anlegen=["5"])
    with app.app_context():
        assert get_session().scalar(select(func.count(Service.id))
                                    .where(Service.name == "Schuldnerberatung Lichtblick")) == 2


def test_changed_file_is_refused(coordinator_client, app):
    html = upload(coordinator_client, DATA / "netzwerkkarte_en.csv").get_data(as_text=True)
    action, checksum, token = preview_form(html)
    stored = next((Path(app.instance_path) / "imports").glob("*/netzwerkkarte_en.csv"))
    stored.write_text(stored.read_text(encoding="utf-8") + "NK-099;Neu;Träger;;;Witten;;;;sucht;;\n", encoding="utf-8")
    before = services(app)
    response = commit(coordinator_client, action, csrf_token=token, pruefsumme=checksum)
    assert "hat sich seit der Vorschau geändert" in response.get_data(as_text=True)
    assert services(app) == before


def test_strict_checkbox_commits_nothing_on_errors(coordinator_client, app):
    html = upload(coordinator_client, DATA / "netzwerkkarte_en.csv").get_data(as_text=True)
    action, checksum, token = preview_form(html)
    before = services(app)
    response = commit(coordinator_client, action, csrf_token=token, pruefsumme=checksum, streng="1")
    assert "im strengen Modus wird nichts übernommen" in response.get_data(as_text=True)
    assert services(app) == before


def test_bad_uploads_get_german_messages(coordinator_client, app, tmp_path):
    png = tmp_path / "liste.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    response = upload(coordinator_client, png)
    assert response.status_code == 400 and "ein Bild (PNG)" in response.get_data(as_text=True)
    assert list((Path(app.instance_path) / "imports").iterdir()) == []  # nothing left behind
    token = csrf_token(coordinator_client, "/verwaltung/import")
    missing = coordinator_client.post("/verwaltung/import", data={"csrf_token": token})
    assert missing.status_code == 400 and "Bitte wählen Sie eine Datei aus." in missing.get_data(as_text=True)
    no_csrf = coordinator_client.post("/verwaltung/import", data={"datei": (io.BytesIO(b"x"), "a.csv")},
                                      content_type="multipart/form-data")
    assert no_csrf.status_code == 400
    bad_mapping = upload(coordinator_client, DATA / "odd_source.csv",
                         zuordnung=(io.BytesIO(b'{"Spalte": "quatsch"}'), "z.json"))
    assert bad_mapping.status_code == 400 and "unbekanntes Feld" in bad_mapping.get_data(as_text=True)


def test_mapping_file_upload(coordinator_client):
    response = upload(coordinator_client, DATA / "odd_source.csv",
                      zuordnung=(io.BytesIO((DATA / "mapping_odd_source.json").read_bytes()), "zuordnung.json"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Bewerbungscafé Hattingen" in html and mapped(html, "Anschrift komplett") == "address"


def test_upload_size_limit(make_app, app):
    small = make_app(MAX_CONTENT_LENGTH=2048)
    client = small.test_client()
    login(client, "koordination@atlas.example")
    token = csrf_token(client, "/verwaltung/import")
    response = client.post("/verwaltung/import", content_type="multipart/form-data",
                           data={"csrf_token": token, "datei": (io.BytesIO(b"Name\n" + b"x" * 5000), "gross.csv")})
    assert response.status_code == 413 and "Die Datei ist zu groß." in response.get_data(as_text=True)


def test_unknown_or_malformed_tokens(coordinator_client):
    assert coordinator_client.get("/verwaltung/import/..%2F..%2Fetc/fehler.csv").status_code == 404
    assert coordinator_client.get("/verwaltung/import/" + "a" * 24 + "/fehler.csv").status_code == 404


def test_export_downloads(coordinator_client):
    csv_response = coordinator_client.get("/verwaltung/export/csv")
    assert csv_response.status_code == 200 and csv_response.data.startswith(b"\xef\xbb\xbfID;Name")
    assert b"SENTINEL-SERVICE-NOTE" not in csv_response.data
    internal = coordinator_client.get("/verwaltung/export/csv?intern=1")
    assert b"SENTINEL-SERVICE-NOTE" in internal.data
    package = coordinator_client.get("/verwaltung/export/hsds")
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        assert {"datapackage.json", "services.csv", "organizations.csv", "service_at_location.csv"} <= set(
            archive.namelist())
    assert coordinator_client.get("/verwaltung/export/geojson").json["type"] == "FeatureCollection"
    assert isinstance(coordinator_client.get("/verwaltung/export/json").json, list)
    assert coordinator_client.get("/verwaltung/export/pdf").status_code == 404
