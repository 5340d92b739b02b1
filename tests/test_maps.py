"""Maps: public map, embed, staff map, coverage and offer maps; privacy of map data."""

import json
import re

import pytest
import sqlalchemy as sa

from atlas.db import get_session
from atlas.maps import distance_km, fit_bounds
from atlas.models import Region


NAME, ADDRESS, PROTECTED, DISTANCE = 1, 3, 4, 6  # positions in an item of the marker data


def map_data(html: str, data_id: str = "atlas-markers") -> dict:
    match = re.search(rf'<script type="application/json" id="{data_id}">(.*?)</script>', html, re.S)
    assert match, f"no {data_id} on the page"
    return json.loads(match.group(1))


def test_public_map_lists_the_same_entries_as_the_markers(client):
    html = client.get("/karte").get_data(as_text=True)
    data = map_data(html)
    names = sorted(i[NAME] for i in data["items"])
    assert names == ["Frauenschutz Lichtblick", "Schuldnerberatung Lichtblick"]
    listed = re.findall(r'<h3><a href="/angebote/\d+">([^<]+)</a></h3>', html.split('id="liste"')[1])
    assert sorted(set(listed) - {"Krisentelefon rund um die Uhr"}) == names
    assert "Krisentelefon rund um die Uhr" in html.split("Ohne festen Ort")[1]  # no place: list only
    assert len(data["points"]) == len(data["items"])


def test_map_assets_are_local(client):
    html = client.get("/karte").get_data(as_text=True)
    loaded = re.findall(r'<(?:script|link|img|iframe)\b[^>]*?(?:src|href)="([^"]+)"', html)
    assert loaded and all(s.startswith("/static/") for s in loaded), loaded
    for asset in ("vendor/leaflet/leaflet.js", "vendor/leaflet.markercluster/leaflet.markercluster.js", "js/atlas-map.js"):
        assert f"/static/{asset}" in html
        assert client.get(f"/static/{asset}").status_code == 200
    assert "user-scalable=no" not in html  # folium's zoom-blocking viewport must not leak in


def test_tiles_come_from_config(make_app, app):
    tiled = make_app(MAP_TILE_URL="https://tiles.jobcenter.example/{z}/{x}/{y}.png", MAP_TILE_ATTRIBUTION="© Test")
    html = tiled.test_client().get("/karte").get_data(as_text=True)
    assert "https://tiles.jobcenter.example/{z}/{x}/{y}.png" in html and "© Test" in html
    # the tile server is the one other origin the Content-Security-Policy lets images come from
    policy = tiled.test_client().get("/karte").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tiles.jobcenter.example;" in policy
    assert "tile.openstreetmap" not in html and "tiles.jobcenter.example" not in app.test_client().get("/karte").get_data(as_text=True)


def test_category_filter(client):
    data = map_data(client.get("/karte?kategorie=wohnen").get_data(as_text=True))
    assert data["items"] == []
    data = map_data(client.get("/karte?kategorie=beratung").get_data(as_text=True))
    assert len(data["items"]) == 2 and {p[2] for p in data["points"]} == {"beratung"}


def test_near_filter_by_postcode_and_town(client):
    near = map_data(client.get("/karte?nahe=58452&umkreis=5").get_data(as_text=True))
    assert near["near"] and near["radius_km"] == 5 and all(i[DISTANCE] <= 5 for i in near["items"])
    far = map_data(client.get("/karte?nahe=Balve&umkreis=5").get_data(as_text=True))
    assert far["items"] == []
    html = client.get("/karte?nahe=L%C3%BCdenscheid&umkreis=50").get_data(as_text=True)
    assert "um Lüdenscheid" in html


def test_unknown_place_says_so(client):
    response = client.get("/karte?nahe=Atlantis")
    assert response.status_code == 400
    assert "„Atlantis“ kennen wir nicht" in response.get_data(as_text=True)


def test_list_only_view_has_no_map(client):
    html = client.get("/karte?ansicht=liste").get_data(as_text=True)
    assert "leaflet.js" not in html and 'id="liste"' in html


def test_public_map_sets_no_cookie_and_can_not_be_framed(client):
    response = client.get("/karte")
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_embed_can_be_framed_and_presets_region_and_category(client):
    response = client.get("/karte/embed?region=ennepe-ruhr-kreis&kategorie=beratung")
    assert response.status_code == 200 and "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert len(map_data(response.get_data(as_text=True))["items"]) == 2
    other = map_data(client.get("/karte/embed?region=maerkischer-kreis").get_data(as_text=True))
    assert other["items"] == []


def test_protected_site_is_not_pinned_publicly(app, client):
    data = map_data(client.get("/karte").get_data(as_text=True))
    shelter = next(i for i in data["items"] if i[NAME] == "Frauenschutz Lichtblick")
    point = next(p for p in data["points"] if data["items"][p[3]] == shelter)
    with app.app_context():
        witten = get_session().scalar(sa.select(Region).where(Region.slug == "witten"))
    assert (point[0], point[1]) == (witten.latitude, witten.longitude)
    assert shelter[PROTECTED] and shelter[ADDRESS] == "Witten"


def test_script_json_cannot_end_the_script_element():
    from atlas.maps import script_json
    text = str(script_json({"name": "</script><script>alert(1)</script> & <!--"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script> & <!--"}


def test_sentinels_never_reach_map_data(client):
    for url in ("/karte", "/karte?ansicht=liste", "/karte/embed", "/karte?kategorie=arbeit", "/karte?kategorie=netzwerk",
                "/karte/embed?kategorie=arbeit"):
        assert "SENTINEL" not in client.get(url).get_data(as_text=True), url


def test_offer_page_map(app, client):
    from conftest import service_id
    html = client.get(f"/angebote/{service_id(app, 'Schuldnerberatung Lichtblick')}").get_data(as_text=True)
    data = map_data(html, "atlas-offer-locations")
    assert data["points"][0]["label"] == "Haus am Markt – Marktstraße 5, 58452 Witten"
    shelter = client.get(f"/angebote/{service_id(app, 'Frauenschutz Lichtblick')}").get_data(as_text=True)
    point = map_data(shelter, "atlas-offer-locations")["points"][0]
    assert point["protected"] is True and "Geheimweg" not in shelter
    hotline = client.get(f"/angebote/{service_id(app, 'Krisentelefon rund um die Uhr')}").get_data(as_text=True)
    assert "atlas-offer-locations" not in hotline


def test_staff_map_shows_internal_offers_and_exact_sites(app, staff_client):
    data = map_data(staff_client.get("/intern/karte").get_data(as_text=True))
    names = {i[NAME] for i in data["items"]}
    assert {"SENTINEL-INTERNAL-SERVICE", "SENTINEL-EMPLOYER-JOBS"} <= names
    shelter = next(p for p in data["points"] if data["items"][p[3]][NAME] == "Frauenschutz Lichtblick")
    assert (shelter[0], shelter[1]) == (51.4512, 7.3011)
    assert data["url"] == "/intern/angebote/{id}"
    filtered = map_data(staff_client.get("/intern/karte?kategorie=arbeitgeber").get_data(as_text=True))
    assert {i[NAME] for i in filtered["items"]} == {"SENTINEL-EMPLOYER-JOBS"}


def test_staff_map_needs_login(client):
    assert client.get("/intern/karte").status_code == 302


def test_coverage_for_coordinators_only(client):
    from conftest import login
    assert client.get("/verwaltung/abdeckung").status_code == 302
    login(client, "lotsin@atlas.example")
    assert client.get("/verwaltung/abdeckung").status_code == 403


def test_coverage_counts_and_gaps(app, coordinator_client):
    html = coordinator_client.get("/verwaltung/abdeckung?kategorie=beratung").get_data(as_text=True)
    data = map_data(html, "atlas-coverage")
    cells = {c["name"]: c for c in data["cells"]}
    assert cells["Witten"]["count"] == 3 and not cells["Witten"]["gap"]  # two public, one internal; not the ended one
    assert cells["Herdecke"]["count"] == 0 and not cells["Herdecke"]["gap"]  # Witten is within 10 km
    assert cells["Plettenberg"]["gap"] and "nächstes Angebot" in cells["Plettenberg"]["nearest_label"]
    assert "<caption>" in html and "Lücke" in html


def test_distance_and_fit_helpers():
    assert distance_km(51.4315, 7.334, 51.2258, 7.6342) == pytest.approx(31.0, abs=0.5)  # Witten – Lüdenscheid
    bounds = fit_bounds([[51.43, 7.33, "x", 0], [53.6, 7.2, "x", 1], [51.22, 7.63, "x", 2]], (51.33, 7.55))
    assert bounds == [[51.22, 7.33], [51.43, 7.63]]  # the North Sea clinic does not widen the view


def test_search_map_follows_the_search_filters(app, staff_client):
    everything = map_data(staff_client.get("/suche?q=Lichtblick&ansicht=karte").get_data(as_text=True))
    assert {i[NAME] for i in everything["items"]} >= {"Schuldnerberatung Lichtblick", "Frauenschutz Lichtblick"}
    debts = map_data(staff_client.get("/suche?q=Schulden&ansicht=karte").get_data(as_text=True))
    assert {i[NAME] for i in debts["items"]} == {"Schuldnerberatung Lichtblick"}
    near = map_data(staff_client.get("/suche?q=Lichtblick&near=Balve&radius_km=5&ansicht=karte").get_data(as_text=True))
    assert near["items"] == [] and near["near"] and near["radius_km"] == 5
    assert debts["url"] == "/intern/angebote/{id}"
