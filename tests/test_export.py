"""Exports: HSDS round trip into an empty atlas, public data only, formula-safe CSV, GeoJSON."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from atlas import create_app, schema
from atlas.db import get_session
from atlas.importers.export import safe_cell
from atlas.models import Organization, Phone, Service
from atlas.seed import SEEDS, seed

SENTINELS = ("SENTINEL-ORG-NOTE", "SENTINEL-DIRECT-LINE", "SENTINEL-CONTACT", "SENTINEL-SERVICE-NOTE",
             "SENTINEL-SERVICE-DIRECT", "SENTINEL-INTERNAL-SERVICE", "SENTINEL-EMPLOYER", "SENTINEL-Geheimweg",
             "SENTINEL-TRANSPORT-HINT", "SENTINEL-ENDED-SERVICE", "sentinel-contact", "5559999", "5557777",
             "58455", "lena.hoffmann", "internal_note", "owner_email")


def empty_atlas(tmp_path: Path):
    """A second atlas with taxonomy, regions and users but no organisations (its own database)."""
    folder = tmp_path / "leer"
    seeds = folder / "seeds"
    shutil.copytree(SEEDS, seeds, ignore=shutil.ignore_patterns("demo", "gazetteer"))
    (seeds / "demo").mkdir()
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": f"sqlite:///{folder / 'b.sqlite'}",
                      "INSTANCE_PATH": str(folder / "instance"), "NOMINATIM_URL": None})
    schema.upgrade(app.extensions["atlas.engine"])
    with app.app_context():
        session = get_session()
        seed(session, seeds)
        session.commit()
    return app


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(map(str, args)))
    assert result.exit_code == 0, result.output
    return result


def read_package(path: Path) -> dict[str, list[dict[str, str]]]:
    """The CSV tables of a zipped package."""
    with zipfile.ZipFile(path) as archive:
        return {name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
                for name in archive.namelist() if name.endswith(".csv")}


def differences(a: dict[str, list[dict]], b: dict[str, list[dict]], ignore=("last_modified",)) -> list[str]:
    """Field-by-field differences of two exports, rows matched by id."""
    found = []
    assert sorted(a) == sorted(b)
    for table in a:
        if table == "metadata.csv":  # each atlas has its own change history
            continue
        rows_a = {r.get("id") or json.dumps(r, sort_keys=True): r for r in a[table]}
        rows_b = {r.get("id") or json.dumps(r, sort_keys=True): r for r in b[table]}
        if set(rows_a) != set(rows_b):
            found.append(f"{table}: ids differ {sorted(set(rows_a) ^ set(rows_b))[:3]}")
            continue
        for key, row in rows_a.items():
            for column, value in row.items():
                if column not in ignore and rows_b[key].get(column) != value:
                    found.append(f"{table}[{key}].{column}: {value!r} != {rows_b[key].get(column)!r}")
    return found


@pytest.mark.parametrize("internal", [True, False])
def test_hsds_package_round_trip_into_an_empty_atlas(app, tmp_path, internal):
    with app.app_context():  # an organisation without offers travels in organizations.csv
        session = get_session()
        session.add(Organization(name="Förderverein ohne Angebote", website="https://foerderverein.example"))
        session.commit()
    flag = ["--internal"] if internal else []
    cli(app, "export", tmp_path / "a.zip", *flag)
    other = empty_atlas(tmp_path)
    imported = cli(other, "import", tmp_path / "a.zip", "--source", "Rückspiel")
    assert "Fehler" not in imported.output.split("Plan")[-1]
    cli(other, "export", tmp_path / "b.zip", *flag)
    first, second = read_package(tmp_path / "a.zip"), read_package(tmp_path / "b.zip")
    assert len(first["services.csv"]) == (7 if internal else 3)
    assert any(o["name"] == "Förderverein ohne Angebote" for o in second["organizations.csv"])
    assert differences(first, second) == []


def test_hsds_json_round_trip(app, tmp_path):
    cli(app, "export", tmp_path / "a.json", "--internal")
    other = empty_atlas(tmp_path)
    cli(other, "import", tmp_path / "a.json", "--source", "json")
    cli(other, "export", tmp_path / "b.json", "--internal")
    first = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    second = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    for item in (*first, *second):
        item.pop("last_modified")
        item.pop("metadata", None)  # each atlas has its own change history
    assert first == second
    assert {"organization", "service_at_locations", "phones", "attributes"} <= set(first[0])


def test_public_exports_hold_public_data_only(app, tmp_path):
    for name in ("p.zip", "p.json", "p.csv", "p.geojson"):
        cli(app, "export", tmp_path / name)
    texts = [(tmp_path / n).read_text(encoding="utf-8") for n in ("p.json", "p.csv", "p.geojson")]
    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        texts += [archive.read(n).decode("utf-8") for n in archive.namelist()]
        # every HSDS file is there; contacts (staff personal data) only with its header
        assert archive.read("contacts.csv").decode("utf-8").strip().count("\n") == 0
    for text in texts:
        for secret in SENTINELS:
            assert secret not in text, secret
    services = json.loads(texts[0])
    assert sorted(s["name"] for s in services) == ["Frauenschutz Lichtblick", "Krisentelefon rund um die Uhr",
                                                   "Schuldnerberatung Lichtblick"]
    shelter = next(s for s in services if s["name"] == "Frauenschutz Lichtblick")
    loc = shelter["service_at_locations"][0]["location"]
    # HSDS requires a street and postcode in an address: a protected site has none, only its Gemeinde
    assert loc["addresses"] == [] and loc["gemeinde_name"] == "Witten" and loc["address_precision"] == "gemeinde"
    assert (loc["latitude"], loc["longitude"]) != (51.4512, 7.3011)  # not the protected site's pin


def test_internal_export_has_everything(app, tmp_path):
    cli(app, "export", tmp_path / "i.json", "--internal")
    text = (tmp_path / "i.json").read_text(encoding="utf-8")
    for secret in ("SENTINEL-ORG-NOTE", "SENTINEL-DIRECT-LINE", "SENTINEL-CONTACT-NAME", "SENTINEL-Geheimweg",
                   "SENTINEL-EMPLOYER-JOBS", "SENTINEL-SERVICE-NOTE"):
        assert secret in text
    phones = [p for s in json.loads(text) for p in s["organization"]["phones"]]
    assert {"number": "+49 2302 5559999", "visibility": "internal"}.items() <= next(
        p for p in phones if p["number"].endswith("5559999")).items()


@pytest.mark.parametrize(("value", "safe"), [
    ("=HYPERLINK(\"http://evil.example\")", "'=HYPERLINK(\"http://evil.example\")"),
    ("+49 2302 555", "'+49 2302 555"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("Beratung", "Beratung"), (None, ""), (12, "12"),
])
def test_formula_injection_protection(value, safe):
    assert safe_cell(value) == safe


def test_excel_csv_has_bom_semicolons_and_escaped_cells(app, tmp_path):
    with app.app_context():
        session = get_session()
        svc = session.scalar(select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        svc.description = '=HYPERLINK("http://evil.example","Hilfe")'
        session.commit()
    cli(app, "export", tmp_path / "x.csv")
    raw = (tmp_path / "x.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfID;Name;Tr\xc3\xa4ger;")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    row = next(r for r in rows if r["Name"] == "Schuldnerberatung Lichtblick")
    assert row["Beschreibung"] == "'=HYPERLINK(\"http://evil.example\",\"Hilfe\")"
    assert row["Telefon"].startswith("'+49 2302")
    assert (row["Straße"], row["PLZ"], row["Ort"], row["Kategorien"]) == ("Marktstraße 5", "58452", "Witten",
                                                                       "Schuldnerberatung")
    # The export can be imported again: escaped cells are read back, the formula cell is refused.
    result = app.test_cli_runner().invoke(args=["import", str(tmp_path / "x.csv"), "--dry-run"])
    assert "Spalte „Beschreibung“ enthält eine Formel" in result.output


def test_geojson_export(app, tmp_path):
    cli(app, "export", tmp_path / "k.geojson")
    data = json.loads((tmp_path / "k.geojson").read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    by_name = {f["properties"]["name"]: f for f in data["features"]}
    assert by_name["Schuldnerberatung Lichtblick"]["geometry"]["coordinates"] == [7.3352, 51.4371]
    shelter = by_name["Frauenschutz Lichtblick"]
    assert shelter["properties"]["address_protected"] is True and shelter["properties"]["address_1"] is None
    assert "Krisentelefon rund um die Uhr" not in by_name  # no site, no point


def test_export_command_needs_a_known_format(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["export", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and "--format" in result.output
    result = app.test_cli_runner().invoke(args=["export", str(tmp_path / "fehlt" / "x.csv")])
    assert result.exit_code == 1 and "Cannot write" in result.output


def test_internal_phone_stays_internal_after_round_trip(app, tmp_path):
    cli(app, "export", tmp_path / "a.zip", "--internal")
    other = empty_atlas(tmp_path)
    cli(other, "import", tmp_path / "a.zip")
    with other.app_context():
        phone = get_session().scalar(select(Phone).where(Phone.number == "+49 2302 5559999"))
        assert phone.visibility == "internal"
        employer = get_session().scalar(select(Organization).where(Organization.is_employer.is_(True)))
        assert employer.visibility == "internal"


def test_our_api_json_can_be_imported(app, client, tmp_path):
    page = client.get("/api/v1/services?per_page=50").get_data(as_text=True)
    (tmp_path / "api.json").write_text(page, encoding="utf-8")
    other = empty_atlas(tmp_path)
    result = cli(other, "import", tmp_path / "api.json", "--source", "API")
    assert "3 neu" in result.output
    with other.app_context():
        session = get_session()
        debt = session.scalar(select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        assert [c.slug for c in debt.categories] == ["schuldnerberatung"]
        assert debt.summary_plain == "Sie haben Schulden? Wir helfen." and debt.access_routes == ["termin"]
        assert [j.slug for j in debt.jobcenters] == ["jc-en"] and debt.intake_status == "offen"
        shelter = session.scalar(select(Service).where(Service.name == "Frauenschutz Lichtblick"))
        assert shelter.service_at_locations[0].location.address_precision == "gemeinde"


def test_xlsx_export_has_typed_text_cells_and_every_field(app, tmp_path):
    from openpyxl import load_workbook
    with app.app_context():
        session = get_session()
        svc = session.scalar(select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        svc.fees_description = "=HYPERLINK(\"http://böse.example\")"
        svc.phones.append(Phone(number="+49 2302 555123", type="voice"))
        session.commit()
    cli(app, "export", tmp_path / "a.xlsx")
    cli(app, "export", tmp_path / "a.csv")
    sheet = load_workbook(tmp_path / "a.xlsx").active
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "Schuldnerberatung Lichtblick")
    cells = dict(zip(header, row))
    assert cells["Kostenhinweis"].data_type == "s" and cells["Kostenhinweis"].value.startswith("=HYPERLINK")
    assert "+49 2302 555123" in cells["Telefon"].value and not cells["Telefon"].value.startswith("'")
    assert cells["Telefon"].data_type == "s" and cells["PLZ"].value == "58452" and cells["PLZ"].data_type == "s"
    csv_header = (tmp_path / "a.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(";")
    assert header == csv_header  # every field in both
    for label in ("Kostenhinweis", "Voraussetzungen", "Anmeldung", "Zugang", "Rechtskreis", "Kontaktwege",
                  "Barrierefreiheit", "Wartezeit", "Aufnahme", "Jobcenter", "Laufzeit bis", "Hinweis", "Kurzname"):
        assert label in header
    with zipfile.ZipFile(tmp_path / "a.xlsx") as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet_xml  # no formula anywhere
