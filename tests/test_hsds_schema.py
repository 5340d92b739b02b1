"""HSDS 3.0 output validates against the official JSON Schemas and the atlas DE profile: export, package, API."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hsds_support import TABLE_SCHEMAS, core_columns, errors, list_errors, table_errors

from atlas.auth import create_token
from atlas.db import get_session
from atlas.importers.export import Exporter
from atlas.importers.hsds import TABLES, columns
from atlas.models import User


def package_files(app, internal: bool) -> tuple[dict[str, str], dict]:
    """The CSV files and datapackage.json of an export, written to memory."""
    with app.app_context():
        exporter = Exporter(get_session(), internal)
        target = Path(app.instance_path) / f"p-{internal}.zip"
        exporter.write_package(target)
    with zipfile.ZipFile(target) as archive:
        files = {n: archive.read(n).decode("utf-8") for n in archive.namelist()}
    return {n: t for n, t in files.items() if n.endswith(".csv")}, json.loads(files["datapackage.json"])


@pytest.mark.parametrize("internal,profile", [(False, False), (False, True), (True, True)])
def test_json_export_of_the_demo_data_is_schema_valid(demo, internal, profile):
    with demo.app_context():
        services = Exporter(get_session(), internal).hsds_json()
    assert len(services) > 300
    assert list_errors("service.json", services, profile) == []
    text = json.dumps(services)
    assert "null" not in text.replace('"null', "")  # absent values are omitted, never null


@pytest.mark.parametrize("internal", [False, True])
def test_package_of_the_demo_data_is_complete_and_schema_valid(demo, internal):
    files, package = package_files(demo, internal)
    assert set(files) == set(TABLE_SCHEMAS) == set(TABLES)  # every HSDS file, funding and metadata included
    for name, text in files.items():
        header = next(iter(io.StringIO(text))).strip().split(",")
        assert header == columns(name, internal)
        assert header[:len(core_columns(name))] == core_columns(name), name  # every HSDS column, in order
    assert package["licenses"][0]["name"] == "CC-BY-4.0" and package["licenses"][0]["path"].startswith("https://")
    assert {r["path"] for r in package["resources"]} == set(files)
    assert table_errors(files, package=package) == []
    assert table_errors(files, profile=True, package=package) == []
    assert files["metadata.csv"].count("\n") > 1 and files["taxonomy_terms.csv"].count("\n") > 10


def test_protected_addresses_are_valid_and_reduced(app):
    with app.app_context():
        services = Exporter(get_session(), False).hsds_json()
    shelter = next(s for s in services if s["name"] == "Frauenschutz Lichtblick")
    loc = shelter["service_at_locations"][0]["location"]
    assert loc["addresses"] == [] and loc["gemeinde_name"] == "Witten" and "transportation" not in loc
    assert errors("location.json", loc, profile=True) == []


def test_ids_are_stable_uuids_across_exports(app):
    with app.app_context():
        first = Exporter(get_session(), True).tables()
        second = Exporter(get_session(), True).tables()
    for name, rows in first.items():
        assert [r["id"] for r in rows] == [r["id"] for r in second[name]], name
    phones = first["phones.csv"]
    assert phones and all(len(p["id"]) == 36 for p in phones)
    assert all(t["taxonomy_id"] and len(t["taxonomy_id"]) == 36 for t in first["taxonomy_terms.csv"])


def staff_headers(app) -> dict[str, str]:
    with app.app_context():
        session = get_session()
        user = session.query(User).filter_by(email="schema-test@atlas.example").one_or_none()
        if user is None:
            user = User(email="schema-test@atlas.example", role="staff")
            session.add(user)
            session.flush()
        token = create_token(session, user)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("staff", [False, True])
def test_api_pages_are_schema_valid(demo, staff):
    client = demo.test_client()
    headers = staff_headers(demo) if staff else {}
    seen = 0
    for page in (1, 2):
        body = client.get(f"/api/v1/services?per_page=200&page={page}", headers=headers).get_json()
        assert list_errors("service.json", body["contents"], profile=True) == []
        seen += len(body["contents"])
    assert seen > 300
    one = client.get(f"/api/v1/services/{body['contents'][0]['id']}", headers=headers).get_json()
    assert errors("service.json", one, profile=True) == []
    found = client.get("/api/v1/services?q=Beratung&near=58452&per_page=50", headers=headers).get_json()
    assert found["contents"] and list_errors("service.json", found["contents"], profile=True) == []
    terms = client.get("/api/v1/taxonomy_terms?lang=en", headers=headers).get_json()["contents"]
    assert list_errors("taxonomy_term.json", terms) == []


def test_api_children_have_uuid_ids_and_attributes_not_taxonomy_terms(client):
    item = client.get("/api/v1/services").get_json()["contents"][0]
    assert "taxonomy_terms" not in item and item["attributes"]
    assert all(a["taxonomy_term"]["description"] for a in item["attributes"])
    children = [*item["phones"], *item["schedules"], *item["languages"], *item["cost_options"],
                *item["service_areas"], *item["service_at_locations"]]
    children += [x for sal in item["service_at_locations"] for key in ("addresses", "phones", "schedules")
                 for x in sal["location"].get(key, [])]
    assert children and all(isinstance(c["id"], str) and len(c["id"]) == 36 for c in children)
