"""The read-only HSDS API: envelope, paging, lookups and errors."""

import pytest


def test_envelope_and_hsds_fields(client):
    body = client.get("/api/v1/services").get_json()
    assert {"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"} <= set(body)
    assert body["page_number"] == 1 and body["size"] == 25 and body["first_page"] and body["last_page"]
    service = next(s for s in body["contents"] if s["name"] == "Schuldnerberatung Lichtblick")
    assert service["status"] == "active"
    assert service["organization"]["name"] == "Beratungsstelle Lichtblick e. V."
    category = service["attributes"][0]["taxonomy_term"]
    assert category["code"] == "schuldnerberatung" and category["description"]
    parent = next(t for t in client.get("/api/v1/taxonomy_terms").get_json()["contents"] if t["code"] == "beratung")
    assert category["parent_id"] == parent["id"]
    assert [(x["code"], x["name"]) for x in service["languages"]] == [("de", "Deutsch"), ("tr", "Türkisch")]
    loc = service["service_at_locations"][0]["location"]
    assert loc["addresses"][0]["postal_code"] == "58452" and loc["addresses"][0]["region"] == "Ennepe-Ruhr-Kreis"
    assert loc["schedules"][0]["byday"] == "MO,TU"
    assert service["intake_status"] == "offen" and service["intake_status_confirmed_at"] == "2026-10-01"
    assert service["cost_options"][0]["code"] == "kostenlos"
    assert service["last_modified"].endswith("Z")


def test_paging(client):
    first = client.get("/api/v1/services?per_page=2&page=1").get_json()
    second = client.get("/api/v1/services?per_page=2&page=2").get_json()
    assert first["total_items"] == 3 and first["total_pages"] == 2 and not first["last_page"]
    assert len(first["contents"]) == 2 and len(second["contents"]) == 1 and second["last_page"]
    beyond = client.get("/api/v1/services?per_page=2&page=9").get_json()
    assert beyond["empty"] and beyond["contents"] == []


def test_per_page_is_clamped(client):
    assert client.get("/api/v1/services?per_page=100000").get_json()["size"] == 200
    assert client.get("/api/v1/services?per_page=0").get_json()["size"] == 1


@pytest.mark.parametrize("query,name", [("page=0", "page"), ("page=abc", "page"), ("per_page=viele", "per_page")])
def test_bad_paging_parameters_get_a_clear_message(client, query, name):
    response = client.get(f"/api/v1/services?{query}")
    assert response.status_code == 400
    assert f"„{name}“" in response.get_json()["error"]["message"]


def test_lookup_by_uuid_and_by_number(client):
    listed = client.get("/api/v1/services").get_json()["contents"][0]
    by_uuid = client.get(f"/api/v1/services/{listed['id']}").get_json()
    by_id = client.get(f"/api/v1/services/{listed['atlas']['id']}").get_json()
    assert by_uuid == by_id == listed


def test_unknown_service_is_a_json_404(client):
    response = client.get("/api/v1/services/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == "Es gibt kein Angebot mit dieser ID."


def test_filters_and_english_labels(client):
    body = client.get("/api/v1/services?category=beratung&lang=en").get_json()
    assert {s["name"] for s in body["contents"]} == {"Schuldnerberatung Lichtblick", "Frauenschutz Lichtblick"}
    terms = [a["taxonomy_term"] for a in body["contents"][0]["attributes"]]
    assert terms[0]["language"] == "en" and terms[0]["description"].startswith("Counselling")


def test_api_root_and_caching_headers(client):
    response = client.get("/api/v1/")
    assert response.get_json()["version"] == "3.0"
    assert response.headers["Cache-Control"] == "public, max-age=60"
