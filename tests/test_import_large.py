"""Large and awkward files: background jobs with progress, paged preview, encodings, xlsx bounds, exit codes."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from conftest import csrf_token
from sqlalchemy import func, select
from test_import_web import commit, preview_form, upload

from atlas.db import get_session
from atlas.importers.jobs import work
from atlas.importers.models import ImportJob
from atlas.models import Service

DATA = Path(__file__).parent / "data" / "import"


def run(app, *args):
    return app.test_cli_runner().invoke(args=["import", *map(str, args)])


def many_rows(path: Path, n: int, duplicates: int = 0) -> Path:
    lines = ["Name;Träger;Straße;PLZ;Ort;Kategorie"]
    lines += [f"Angebot Nummer {i};Träger {i};Teststraße {i};58452;Witten;suchtberatung" for i in range(n)]
    lines += ["Schuldnerberatung Lichtblick;Anderer Träger;;;Witten;schuldnerberatung"] * duplicates
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_web_import_runs_in_the_worker_and_survives_a_reload(coordinator_client, app, tmp_path):
    path = many_rows(tmp_path / "liste.csv", 250)
    token = csrf_token(coordinator_client, "/verwaltung/import")
    posted = coordinator_client.post("/verwaltung/import", content_type="multipart/form-data",
                                     data={"csrf_token": token, "datei": (io.BytesIO(path.read_bytes()), path.name)})
    assert posted.status_code == 302  # nothing was read or planned inside the request
    page_url = posted.location
    waiting = coordinator_client.get(page_url).get_data(as_text=True)
    assert 'id="import-progress"' in waiting and "Wartet auf den Import-Prozess" in waiting
    status = coordinator_client.get(page_url + "/status").get_json()
    assert status["state"] == "queued"
    with app.app_context():
        assert get_session().scalar(select(ImportJob.state)) == "queued"  # the state is in the database
    assert work(app, once=True) == 1
    assert coordinator_client.get(page_url + "/status").get_json() | {"message": None} == {
        "state": "done", "kind": "plan", "message": None, "phase": "Prüfen", "done": 250, "total": 250}
    preview = coordinator_client.get(page_url).get_data(as_text=True)
    assert "Seite 1 von 3" in preview and preview.count('class="action-new"') == 100
    second = coordinator_client.get(page_url + "?seite=3").get_data(as_text=True)
    assert "Seite 3 von 3" in second and second.count('class="action-new"') == 50


def test_grouped_decision_creates_all_duplicates(coordinator_client, app, tmp_path):
    path = many_rows(tmp_path / "dubletten.csv", 3, duplicates=0)
    text = path.read_text(encoding="utf-8") + "".join(
        f"Schuldnerberatung Lichtblick {c};Anderer Träger;;;Witten;schuldnerberatung\n" for c in "ABC")
    path.write_text(text, encoding="utf-8")
    html = upload(coordinator_client, path).get_data(as_text=True)
    assert "alle 3 möglichen Dubletten trotzdem anlegen" in html
    only = coordinator_client.get(re.search(r'href="([^"]+aktion=duplicate)"', html).group(1).replace("&amp;", "&"))
    assert only.get_data(as_text=True).count('class="action-duplicate"') == 3
    action, checksum, token = preview_form(html)
    done = commit(coordinator_client, action, csrf_token=token, pruefsumme=checksum, alle_dubletten="1")
    assert "3 trotz Dublettenverdacht angelegt" in done.get_data(as_text=True)
    history = coordinator_client.get("/verwaltung/import").get_data(as_text=True)
    assert "6 neu" in history


def test_recent_imports_show_skipped_rows(coordinator_client, app):
    html = upload(coordinator_client, DATA / "netzwerkkarte_en.csv").get_data(as_text=True)
    action, checksum, token = preview_form(html)
    commit(coordinator_client, action, csrf_token=token, pruefsumme=checksum)
    history = coordinator_client.get("/verwaltung/import").get_data(as_text=True)
    assert "übersprungen: 2 (1 mögliche Dubletten, 1 mit Fehlern)" in history


def test_a_stopped_worker_leaves_no_job_running(app):
    with app.app_context():
        session = get_session()
        session.add(ImportJob(token="x" * 24, kind="commit", state="running"))
        session.commit()
    work(app, once=True)
    with app.app_context():
        job = get_session().scalar(select(ImportJob))
        assert job.state == "failed" and "unterbrochen" in job.message


def test_utf16_without_bom_is_recognised(app, tmp_path):
    path = tmp_path / "unicode.csv"
    path.write_bytes("Name;Ort;Kategorie\nBeratung Müller;Lüdenscheid;suchtberatung\n".encode("utf-16-le"))
    result = run(app, path, "--source", "U16")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert get_session().scalar(select(Service.name).where(Service.source_name == "U16")) == "Beratung Müller"


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def xlsx_with_shared_strings(path: Path, rows: list[list[str]], unique_count: int | None = None) -> Path:
    """A minimal workbook whose cells are shared strings (as Excel writes them; openpyxl writes inline ones)."""
    strings = list(dict.fromkeys(v for row in rows for v in row))
    cells = "".join(f'<row r="{r}">' + "".join(f'<c r="{chr(65 + c)}{r}" t="s"><v>{strings.index(v)}</v></c>'
                                               for c, v in enumerate(row)) + "</row>"
                    for r, row in enumerate(rows, start=1))
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="Tabelle1" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData>{cells}</sheetData></worksheet>',
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}" count="{len(strings)}" uniqueCount="'
        f'{unique_count or len(strings)}">' + "".join(f"<si><t>{v}</t></si>" for v in strings) + "</sst>",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def test_xlsx_shared_strings_are_bounded(app, tmp_path):
    rows = [["Name", "Ort", "Kategorie"], ["Suchtberatung Kompass", "Witten", "suchtberatung"]]
    small = run(app, xlsx_with_shared_strings(tmp_path / "klein.xlsx", rows), "--dry-run")
    assert small.exit_code == 0 and "1 neu" in small.output
    result = run(app, xlsx_with_shared_strings(tmp_path / "gross.xlsx", rows, unique_count=900_000), "--dry-run")
    assert result.exit_code == 1 and "900.000 verschiedene Texte (erlaubt: 500.000)" in result.output


def test_cli_exit_codes(app, tmp_path):
    bad = tmp_path / "fehler.csv"
    bad.write_text("Name;Ort;Kategorie\nA;Witten;gibtsnicht\nB;Hagen;auchnicht\n", encoding="utf-8")
    nothing = run(app, bad, "--source", "Fehler")
    assert nothing.exit_code == 1 and "Nothing was imported" in nothing.output
    assert run(app, bad, "--dry-run", "--strict").exit_code == 1
    assert run(app, bad, "--dry-run").exit_code == 0
    mixed = tmp_path / "gemischt.csv"
    mixed.write_text("Name;Ort;Kategorie\nA;Witten;gibtsnicht\nB;Hagen;suchtberatung\n", encoding="utf-8")
    assert run(app, mixed, "--strict").exit_code == 1
    with app.app_context():
        assert get_session().scalar(select(func.count(Service.id)).where(Service.source_name == "gemischt")) == 0
    assert run(app, mixed).exit_code == 0  # one row imported: success, the error row is reported
