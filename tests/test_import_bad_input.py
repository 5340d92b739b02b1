"""Bad input gets a clear message, and a failed import leaves the database exactly as it was."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from atlas.db import Base, get_engine, get_session
from atlas.models import Location

DATA = Path(__file__).parent / "data" / "import"
HEADER = "Name;Träger;Straße;PLZ;Ort;Telefon;Kategorie\n"
ROW = "Suchtberatung Hattingen;Blaues Kreuz Hattingen e. V.;Talstraße 1;45525;Hattingen;02324 555001;Suchtberatung\n"


def fingerprint(app) -> str:
    """A hash over every row of every table: equal fingerprints mean an unchanged database."""
    digest = hashlib.sha256()
    with app.app_context(), get_engine().connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name not in sa.inspect(conn).get_table_names():
                continue
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            digest.update(f"{table.name}:{len(rows)}:{rows!r}".encode())
    return digest.hexdigest()


def run(app, *args):
    return app.test_cli_runner().invoke(args=["import", *map(str, args)])


def refused(app, path: Path, message: str, *args: str) -> None:
    """The import fails with the message and changes nothing."""
    before = fingerprint(app)
    result = run(app, path, *args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert fingerprint(app) == before


def test_wrong_encoding(app, tmp_path):
    path = tmp_path / "kaputt.csv"
    path.write_bytes(HEADER.encode() + b"Beratung \x81\x8d\x90;Tr\xe4ger;;;Witten;;Suchtberatung\n")
    refused(app, path, "Zeichenkodierung ist unbekannt")


def test_double_encoded_umlauts_are_flagged(app, tmp_path):
    path = tmp_path / "doppelt.csv"
    path.write_bytes((HEADER + ROW.replace("straße", "straÃŸe")).encode("utf-8"))
    result = run(app, path, "--dry-run")
    assert result.exit_code == 0 and "verfälscht" in result.output


def test_truncated_csv_inside_quotes(app, tmp_path):
    path = tmp_path / "abgeschnitten.csv"
    path.write_text(HEADER + ROW + 'Schuldnerberatung;"Caritas Hagen, Bergstr', encoding="utf-8")
    refused(app, path, "endet mitten in einem Feld in Anführungszeichen")


def test_truncated_last_row_is_a_row_error(app, tmp_path):
    path = tmp_path / "abgeschnitten.csv"
    path.write_text(HEADER + ROW + "Tafel Hattingen;Tafel e. V.;Bahnhofstr", encoding="utf-8")
    result = run(app, path, "--dry-run")
    assert result.exit_code == 0
    assert "Zeile 3 ist unvollständig" in result.output and "1 neu, 1 Fehler" in result.output


def test_empty_and_header_only_files(app, tmp_path):
    empty = tmp_path / "leer.csv"
    empty.write_bytes(b"\xef\xbb\xbf\r\n")
    refused(app, empty, "Die Datei ist leer.")
    header = tmp_path / "kopf.csv"
    header.write_text(HEADER, encoding="utf-8")
    refused(app, header, "nur eine Kopfzeile")
    for name in ("leer.json", "leer.xlsx", "leer.html"):
        (tmp_path / name).write_bytes(b"")
        refused(app, tmp_path / name, "leer" if name != "leer.xlsx" else "beschädigt oder unvollständig")


def test_binary_files_renamed_to_csv(app, tmp_path):
    png = tmp_path / "foto.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    refused(app, png, "ein Bild (PNG)")
    xlsx = tmp_path / "tabelle.csv"
    xlsx.write_bytes((DATA / "gesundheitsamt_en.xlsx").read_bytes())
    refused(app, xlsx, "Excel-Datei .xlsx")
    junk = tmp_path / "programm.csv"
    junk.write_bytes(b"\x7fELF\x02\x01\x01\x00" + b"\x00\x01\x02\x03" * 500)
    refused(app, junk, "Binärdaten")


def test_a_100_mb_file_is_refused_before_reading(app, tmp_path, monkeypatch):
    big = tmp_path / "riesig.csv"
    with big.open("wb") as fh:
        fh.write(HEADER.encode())
        fh.truncate(100 * 1024 * 1024)  # sparse: instant, no 100 MB written
    read_calls = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read_calls.append(self) or original(self))
    refused(app, big, "Die Datei ist 100,0 MB groß; erlaubt sind höchstens 20,0 MB")
    assert big not in read_calls


def test_duplicate_ids_in_csv_and_hsds(app, tmp_path):
    path = tmp_path / "doppelt.csv"
    path.write_text("ID;" + HEADER + "A-1;" + ROW + "A-1;" + ROW.replace("Hattingen;", "Sprockhövel;", 1),
                    encoding="utf-8")
    result = run(app, path, "--dry-run")
    assert "Doppelte ID „A-1“ (schon in Nr. 2)" in result.output and "1 neu, 1 Fehler" in result.output
    package = tmp_path / "paket"
    package.mkdir()
    for f in (DATA / "hsds_spz").iterdir():
        (package / f.name).write_bytes(f.read_bytes())
    services = (package / "services.csv").read_text(encoding="utf-8").splitlines()
    (package / "services.csv").write_text("\n".join([*services, services[1]]) + "\n", encoding="utf-8")
    result = run(app, package, "--dry-run")
    assert "Doppelte ID „b1c2d3e4-0001-4a5b-8c9d-000000000001“" in result.output


def test_hsds_latitude_100_is_dropped_with_a_warning_and_the_address_geocoded(app, tmp_path):
    package = tmp_path / "paket"
    package.mkdir()
    for f in (DATA / "hsds_spz").iterdir():
        text = f.read_text(encoding="utf-8")
        (package / f.name).write_text(text.replace("51.3594,7.4721", "100,7.4721"), encoding="utf-8")
    result = run(app, package, "--strict")
    assert result.exit_code == 0, result.output
    assert "Koordinaten außerhalb des gültigen Bereichs (latitude 100, longitude 7.4721" in result.output
    assert "aus der Adresse bestimmt" in result.output
    with app.app_context():
        sites = get_session().scalars(sa.select(Location).where(Location.source_name == "paket")).all()
        assert sites and all(s.latitude is not None and s.latitude < 90 for s in sites)


def test_csv_coordinates_out_of_range(app, tmp_path):
    path = tmp_path / "koordinaten.csv"
    path.write_text("Name;Ort;Breitengrad;Längengrad;Kategorie\nSprachcafé;Witten;51,43;200;sozialberatung\n",
                    encoding="utf-8")
    result = run(app, path, "--dry-run")
    assert "Koordinaten außerhalb des gültigen Bereichs (Breite 51.43, Länge 200" in result.output


def test_unknown_categories_are_row_errors_and_listed_for_download(app, tmp_path):
    path = tmp_path / "kategorien.csv"
    path.write_text(HEADER + ROW + "Bewegung für alle;Sportverein Witten;Ruhrstraße 3;58452;Witten;02302 555999;Yoga\n",
                    encoding="utf-8")
    errors = tmp_path / "fehler.csv"
    result = run(app, path, "--errors-csv", errors)
    assert result.exit_code == 0 and "Unbekannte Kategorie „Yoga“" in result.output
    text = errors.read_text(encoding="utf-8")
    assert text.startswith("\ufeffImportzeile;Importfehler;Name;Träger")
    assert "3;Unbekannte Kategorie „Yoga“" in text and "Bewegung für alle" in text
    # Fixed and imported again: the error columns are ignored, the row is new.
    errors.write_text(text.replace("Yoga", "Sportverein und Bewegungsangebote"), encoding="utf-8")
    again = run(app, errors, "--source", path.stem)
    assert again.exit_code == 0 and "1 neu" in again.output and "nicht übernommen" not in again.output


def _zip_bomb(path: Path, members: int = 1, size: int = 5 * 1024 * 1024) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for n in range(members):
            archive.writestr(f"xl/worksheets/sheet{n + 1}.xml", b"\0" * size)


def test_zip_bomb_in_xlsx(app, tmp_path):
    bomb = tmp_path / "bombe.xlsx"
    _zip_bomb(bomb)
    assert bomb.stat().st_size < 100_000
    refused(app, bomb, "Zip-Bombe")
    many = tmp_path / "viele.xlsx"
    _zip_bomb(many, members=2_001, size=10)
    refused(app, many, "verdächtig viel")


def test_zip_bomb_by_total_size(make_app, tmp_path):
    from atlas import schema

    app = make_app(IMPORT_XLSX_MAX_UNCOMPRESSED=1024 * 1024)
    schema.upgrade(app.extensions["atlas.engine"])
    big = tmp_path / "gross.xlsx"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<x/>" * 400_000)
    result = run(app, big)
    assert result.exit_code == 1 and "würde entpackt 1,5 MB groß" in result.output


def test_truncated_xlsx_and_json(app, tmp_path):
    data = (DATA / "gesundheitsamt_en.xlsx").read_bytes()
    cut = tmp_path / "halb.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    refused(app, cut, "beschädigt oder unvollständig")
    text = (DATA / "dajeb_beratungsfuehrer.json").read_text(encoding="utf-8")
    half = tmp_path / "halb.json"
    half.write_text(text[: len(text) // 2], encoding="utf-8")
    refused(app, half, "endet unerwartet")
    broken = tmp_path / "kaputt.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [}', encoding="utf-8")
    refused(app, broken, "ist fehlerhaft: Zeile 1")


def test_formula_cells_in_csv_and_xlsx(app, tmp_path):
    path = tmp_path / "formel.csv"
    path.write_text(HEADER + ROW.replace("02324 555001", '=HYPERLINK("http://evil.example","klick")')
                    + ROW.replace("Suchtberatung Hattingen", "-cmd|' /C calc'!A0").replace("45525", "45527"),
                    encoding="utf-8")
    result = run(app, path, "--dry-run")
    assert "Spalte „Telefon“ enthält eine Formel" in result.output
    assert "Spalte „Name“ enthält eine Formel" in result.output
    assert "2 Fehler" in result.output
    book = Workbook()
    book.active.append(["Name", "Ort", "Telefon", "Kategorie"])
    book.active.append(["Tafel Witten", "Witten", "=CONCAT(\"0230\",\"2555\")", "materielle-hilfen"])
    xlsx = tmp_path / "formel.xlsx"
    book.save(xlsx)
    result = run(app, xlsx, "--dry-run")
    assert "Spalte „Telefon“ enthält eine Formel („=CONCAT" in result.output


def test_phone_numbers_starting_with_plus_are_not_formulas(app, tmp_path):
    path = tmp_path / "plus.csv"
    path.write_text(HEADER + ROW.replace("02324 555001", "+49 2324 555001"), encoding="utf-8")
    result = run(app, path, "--dry-run")
    assert "1 neu" in result.output and "Formel" not in result.output


def test_a_database_failure_rolls_back_everything(app, monkeypatch):
    from atlas.importers import bulk

    calls = {"n": 0}
    original = bulk.BulkCreator._schedules

    def failing(self, owners):
        calls["n"] += 1
        if calls["n"] == 2:  # organisations, sites, addresses and phones are written by then
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))
        return original(self, owners)

    monkeypatch.setattr(bulk.BulkCreator, "_schedules", failing)
    before = fingerprint(app)
    result = run(app, DATA / "netzwerkkarte_en.csv")
    assert result.exit_code == 1 and "disk I/O error" in result.output
    assert calls["n"] == 2
    assert fingerprint(app) == before


def test_unknown_format_and_bad_mapping(app, tmp_path):
    odd = tmp_path / "daten.dat"
    odd.write_text("x", encoding="utf-8")
    refused(app, odd, "Das Format der Datei „daten.dat“ ist unbekannt")
    mapping = tmp_path / "zuordnung.json"
    mapping.write_text('{"Bezeichnung": "titel"}', encoding="utf-8")
    refused(app, DATA / "odd_source.csv", "unbekanntes Feld 'titel'", "--mapping", str(mapping))


@pytest.mark.parametrize("content", [b"[1, 2, 3]", b'{"elements": "nein"}', b'{"type": "Feature"}'])
def test_json_of_the_wrong_shape(app, tmp_path, content):
    name = "x.geojson" if b"Feature" in content else "x.json"
    path = tmp_path / name
    path.write_bytes(content)
    before = fingerprint(app)
    result = run(app, path, *(["--format", "osm"] if b"elements" in content else []))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert fingerprint(app) == before
    assert any(word in result.output for word in ("keine HSDS-Angebote", "keine Overpass-Antwort",
                                                  "keine GeoJSON-FeatureCollection"))


def test_io_helpers_are_bytes_safe():
    from atlas.importers.files import decode_text

    text, warnings = decode_text("Name\r\nÄrger".encode("utf-16"))
    assert text == "Name\nÄrger" and warnings == []
