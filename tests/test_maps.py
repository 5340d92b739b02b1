"""Maps: public map, embed, staff map, coverage and offer maps; privacy of map data."""

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from atlas.db import get_session
from atlas.maps import distance_km, fit_bounds
from atlas.maps.clustering import BBox, cluster
from atlas.models import Address, Location, Organization, Region, Service, ServiceAtLocation, TaxonomyTerm


NAME, ADDRESS, PROTECTED, DISTANCE = 1, 3, 4, 6  # positions in an item of the marker data


STATIC = Path(__file__).resolve().parent.parent / "static"


def map_data(html: str, data_id: str = "atlas-markers") -> dict:
    match = re.search(rf'<script type="application/json" id="{data_id}">(.*?)</script>', html, re.S)
    assert match, f"no {data_id} on the page"
    return json.loads(match.group(1))


WIDE = "45,0,60,20"  # far more than the region


def section(client, config: dict, bbox: str = WIDE, zoom: int = 16, **extra):
    """Ask a map's data URL for a section, as the map script does."""
    joiner = "&" if "?" in config["data"] else "?"
    return client.get(config["data"] + joiner + "bbox=" + bbox + "&zoom=" + str(zoom)
                      + "".join(f"&{k}={v}" for k, v in extra.items()))


def markers_of(client, url: str) -> dict:
    """A map page's settings plus every marker of its data (a wide section at street zoom)."""
    config = map_data(client.get(url).get_data(as_text=True))
    answer = section(client, config)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    data = answer.get_json()
    assert data["clusters"] == [] and data["total"] == len(data["items"])
    return config | data


def test_public_map_lists_the_same_entries_as_the_markers(client):
    html = client.get("/karte").get_data(as_text=True)
    data = markers_of(client, "/karte")
    names = sorted(i[NAME] for i in data["items"])
    assert names == ["Frauenschutz Lichtblick", "Schuldnerberatung Lichtblick"]
    listed = re.findall(r'<h3><a href="/angebote/\d+">([^<]+)</a></h3>', html.split('id="liste"')[1])
    assert sorted(set(listed) - {"Krisentelefon rund um die Uhr"}) == names
    assert "Krisentelefon rund um die Uhr" in html.split("Ohne festen Ort")[1]  # no place: list only
    assert len(data["points"]) == len(data["items"])


def test_map_assets_are_local(client):
    html = client.get("/karte").get_data(as_text=True)
    loaded = re.findall(r'<(?:script|link|img|iframe)\b[^>]*?(?:src|href)="([^"]+)"', html)
    loaded += [u for u in re.findall(r"url\(([^)]+)\)", html) if not u.startswith("#")]
    assert loaded and all(s.startswith("/static/") for s in loaded), loaded
    for asset in ("vendor/leaflet/leaflet.js", "js/atlas-map.js"):  # inline on the public map, still served
        text = (STATIC / asset).read_text(encoding="utf-8")
        assert f"<script>{text}</script>" in html and f"/static/{asset}" not in html
        assert client.get(f"/static/{asset}").status_code == 200
    assert "leaflet.markercluster.js" not in html and "L.MarkerClusterGroup" not in html  # clusters: server
    assert "user-scalable=no" not in html  # folium's zoom-blocking viewport must not leak in


def test_public_map_carries_its_opening_section(client):
    config = markers_of(client, "/karte")
    first = config["first"]
    assert first and all(k.isdigit() and 0 <= int(k) <= 14 for k in first)
    for zoom, answer in first.items():
        # the same markers as /karte/daten gives for a wide section at that zoom (grid cells are anchored)
        wide = section(client, config, zoom=int(zoom)).get_json()
        assert answer["total"] == wide["total"] == len(config["items"])
        shown = sum(c[2] for c in answer["clusters"]) + len(answer["points"])
        assert shown == sum(c[2] for c in wide["clusters"]) + len(wide["points"]) == answer["total"], zoom
    staff_or_list = client.get("/karte?ansicht=liste").get_data(as_text=True)
    assert '"first"' not in staff_or_list



def test_the_opening_section_is_computed_once_per_marker_set(make_app, app, monkeypatch):
    """Every view of /karte shares it while the markers hold; new data gives a new one."""
    from atlas.maps import views

    fresh = make_app(MAP_CACHE_SECONDS=0)
    client = fresh.test_client()
    computed = []
    real = views._sections
    monkeypatch.setattr(views, "_sections", lambda *args: computed.append(1) or real(*args))
    before = [markers_of(client, "/karte")["first"] for _ in range(3)]
    assert len(computed) == 1 and before[0] == before[1] == before[2]
    add_offers(app, 1)
    after = markers_of(client, "/karte")["first"]
    assert len(computed) == 2
    total = next(iter(before[0].values()))["total"]
    assert {answer["total"] for answer in after.values()} == {total + 1}

def test_tiles_come_from_config(make_app, app):
    tiled = make_app(MAP_TILE_URL="https://tiles.jobcenter.example/{z}/{x}/{y}.png", MAP_TILE_ATTRIBUTION="© Test")
    html = tiled.test_client().get("/karte").get_data(as_text=True)
    assert "https://tiles.jobcenter.example/{z}/{x}/{y}.png" in html and "© Test" in html
    # the tile server is the one other origin the Content-Security-Policy lets images come from
    policy = tiled.test_client().get("/karte").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tiles.jobcenter.example;" in policy
    assert "tile.openstreetmap" not in html and "tiles.jobcenter.example" not in app.test_client().get("/karte").get_data(as_text=True)


def test_category_filter(client):
    data = markers_of(client, "/karte?kategorie=wohnen")
    assert data["items"] == []
    data = markers_of(client, "/karte?kategorie=beratung")
    assert len(data["items"]) == 2 and {p[2] for p in data["points"]} == {"beratung"}


def test_near_filter_by_postcode_and_town(client):
    near = markers_of(client, "/karte?nahe=58452&umkreis=5")
    assert near["near"] and near["radius_km"] == 5 and all(i[DISTANCE] <= 5 for i in near["items"])
    assert near["items"]
    far = markers_of(client, "/karte?nahe=Balve&umkreis=5")
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
    assert len(markers_of(client, "/karte/embed?region=ennepe-ruhr-kreis&kategorie=beratung")["items"]) == 2
    other = markers_of(client, "/karte/embed?region=maerkischer-kreis")
    assert other["items"] == []


def test_protected_site_is_not_pinned_publicly(app, client):
    data = markers_of(client, "/karte")
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
        if "liste" not in url:
            for zoom in (3, 10, 16):
                assert "SENTINEL" not in section(client, map_data(client.get(url).get_data(as_text=True)),
                                                 zoom=zoom).get_data(as_text=True), url


def test_offer_page_map(app, client):
    from conftest import service_id
    html = client.get(f"/angebote/{service_id(app, 'Schuldnerberatung Lichtblick')}").get_data(as_text=True)
    data = map_data(html, "atlas-offer-locations")
    assert data["points"][0]["label"] == "Haus am Markt – Marktstraße 5, 58452 Witten"
    shelter = client.get(f"/angebote/{service_id(app, 'Frauenschutz Lichtblick')}").get_data(as_text=True)
    point = map_data(shelter, "atlas-offer-locations")["points"][0]
    assert point["protected"] is True and "Geheimweg" not in shelter
    assert "leaflet.js" in html and "markercluster" not in html.lower()  # a single pin needs no cluster code
    hotline = client.get(f"/angebote/{service_id(app, 'Krisentelefon rund um die Uhr')}").get_data(as_text=True)
    assert "atlas-offer-locations" not in hotline


def test_staff_map_shows_internal_offers_and_exact_sites(app, staff_client):
    data = markers_of(staff_client, "/intern/karte")
    names = {i[NAME] for i in data["items"]}
    assert {"SENTINEL-INTERNAL-SERVICE", "SENTINEL-EMPLOYER-JOBS"} <= names
    shelter = next(p for p in data["points"] if data["items"][p[3]][NAME] == "Frauenschutz Lichtblick")
    assert (shelter[0], shelter[1]) == (51.4512, 7.3011)
    assert data["url"] == "/intern/angebote/{id}"
    filtered = markers_of(staff_client, "/intern/karte?kategorie=arbeitgeber")
    assert {i[NAME] for i in filtered["items"]} == {"SENTINEL-EMPLOYER-JOBS"}


def test_staff_map_needs_login(client):
    assert client.get("/intern/karte").status_code == 302
    assert client.get(f"/intern/karte/daten?bbox={WIDE}&zoom=10").status_code == 302


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
    assert "<caption" in html and "Lücke" in html
    # German number formats: "12,3 km", never "12.3 km"
    assert re.search(r"nächstes Angebot: \d+,\d km", cells["Plettenberg"]["nearest_label"])
    assert not re.search(r"\d\.\d km", html)
    # only the atlas's regions (its Jobcenters' Kreise) are rows: never Münster or Norden, not even as gaps
    assert "Münster" not in cells and "Norden" not in cells and "Münster</th>" not in html
    # the map opens on those Gemeinden
    lats = [c["lat"] for c in data["cells"]]
    assert data["fit"] == [[min(lats), min(c["lon"] for c in data["cells"])], [max(lats), max(c["lon"] for c in data["cells"])]]


def test_coverage_by_sub_category(app, coordinator_client):
    html = coordinator_client.get("/verwaltung/abdeckung?kategorie=schuldnerberatung").get_data(as_text=True)
    cells = {c["name"]: c for c in map_data(html, "atlas-coverage")["cells"]}
    assert cells["Witten"]["count"] == 1  # only the debt counselling, not the other Beratung offers
    assert '<option value="schuldnerberatung" selected>' in html
    assert 'class="chosen"' in html
    unknown = coordinator_client.get("/verwaltung/abdeckung?kategorie=gibt-es-nicht").get_data(as_text=True)
    assert map_data(unknown, "atlas-coverage")["cells"]  # falls back to the first area


def test_coverage_as_csv(app, coordinator_client):
    response = coordinator_client.get("/verwaltung/abdeckung.csv?kategorie=beratung")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="abdeckung-beratung.csv"' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    import csv as csv_module
    rows = list(csv_module.reader(text[1:].splitlines(), delimiter=";"))
    header, body = rows[0], {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert header[:2] == ["Gemeinde", "Kreis"] and "Beratung: Lücke" in header
    assert body["Witten"]["Beratung: Angebote vor Ort"] == "3" and body["Witten"]["Beratung: Lücke"] == "nein"
    assert body["Plettenberg"]["Beratung: Lücke"] == "ja" and "," in body["Plettenberg"]["Beratung: nächstes Angebot (km)"]
    assert "Münster" not in body
    assert coordinator_client.get("/verwaltung/abdeckung.csv").status_code == 200


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


def add_offers(app, count: int, gemeinde: str = "iserlohn") -> None:
    """Public offers in a small grid around a Gemeinde's centre."""
    with app.app_context():
        session = get_session()
        region = session.scalar(sa.select(Region).where(Region.slug == gemeinde))
        term = session.scalar(sa.select(TaxonomyTerm).where(TaxonomyTerm.slug == "sport"))
        for i in range(count):
            org = Organization(name=f"Träger {i}")
            loc = Location(organization=org, latitude=region.latitude + (i % 10) * 0.003,
                           longitude=region.longitude + (i // 10) * 0.003, geo_precision="exakt", gemeinde=region,
                           address=Address(address_1=f"Teststraße {i + 1}", city=region.name))
            session.add(Service(organization=org, name=f"Sportgruppe {i}", categories=[term],
                                service_at_locations=[ServiceAtLocation(location=loc)]))
        session.commit()


@pytest.mark.parametrize("bbox, zoom, message", [
    ("51,7,50,8", "10", "verdreht"),
    ("51,8,52,7", "10", "verdreht"),
    ("-80,-170,80,170", "3", "zu groß"),
    ("51,7,52,abc", "10", "keine Zahl"),
    ("51,7,52,nan", "10", "keine Zahl"),
    ("51,7,52", "10", "vier Zahlen"),
    ("", "10", "vier Zahlen"),
    ("51,7,95,8", "10", "außerhalb der Erde"),
    ("51,7,52,8", "x", "Zoomstufe"),
    ("51,7,52,8", "99", "Zoomstufe"),
])
def test_a_bad_section_gets_a_german_400(client, bbox, zoom, message):
    response = client.get("/karte/daten", query_string={"bbox": bbox, "zoom": zoom})
    assert response.status_code == 400
    assert message in response.get_json()["error"]["message"]


def test_a_client_asking_for_10000_markers_gets_clusters(make_app, app):
    add_offers(app, 60)
    small = make_app(MAP_MAX_MARKERS=20)
    client = small.test_client()
    config = map_data(client.get("/karte").get_data(as_text=True))
    data = section(client, config, zoom=18, max=10000).get_json()
    assert data["total"] == 62
    assert data["clusters"] and len(data["clusters"]) + len(data["points"]) <= 20
    assert sum(c[2] for c in data["clusters"]) + len(data["points"]) == 62
    # zoomed out, everything near Iserlohn is one cluster; its bounds cover its members
    far = section(client, config, zoom=8).get_json()
    big = max(far["clusters"], key=lambda c: c[2])
    assert big[2] >= 60 and big[3] <= big[0] <= big[5] and big[4] <= big[1] <= big[6]
    # a section without markers
    assert section(client, config, bbox="40,0,41,1").get_json() | {"version": None} == {
        "version": None, "total": 62, "zoom": 16, "clusters": [], "points": [], "items": []}


def test_marker_sections_have_etags_by_data_version(make_app, app):
    fresh = make_app(MAP_CACHE_SECONDS=0)
    client = fresh.test_client()
    config = map_data(client.get("/karte").get_data(as_text=True))
    first = section(client, config)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    joiner = "&" if "?" in config["data"] else "?"
    again = client.get(config["data"] + joiner + f"bbox={WIDE}&zoom=16", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    other_zoom = client.get(config["data"] + joiner + f"bbox={WIDE}&zoom=9", headers={"If-None-Match": etag})
    assert other_zoom.status_code == 200
    add_offers(app, 1)
    changed = client.get(config["data"] + joiner + f"bbox={WIDE}&zoom=16", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag and changed.get_json()["total"] == 3
    with app.app_context():  # a deleted offer leaves the version too (its audit row moves it)
        session = get_session()
        session.delete(session.scalar(sa.select(Service).order_by(Service.id.desc()).limit(1)))
        session.commit()
    gone = client.get(config["data"] + joiner + f"bbox={WIDE}&zoom=16", headers={"If-None-Match": changed.headers["ETag"]})
    assert gone.status_code == 200 and gone.get_json()["total"] == 2


def test_after_edits_a_map_is_served_from_its_last_markers_while_one_thread_rebuilds_them(make_app, app,
                                                                                          monkeypatch):
    import time

    from atlas.maps import data as map_data_module

    fresh = make_app(MAP_CACHE_SECONDS=0.2)
    client = fresh.test_client()
    config = map_data(client.get("/karte").get_data(as_text=True))
    first = section(client, config)
    real, rebuilds = map_data_module.markers, []

    def slow_markers(*args, **kwargs):
        rebuilds.append(1)
        time.sleep(1.5)  # a rebuild at 50,000 offers takes about this long
        return real(*args, **kwargs)

    monkeypatch.setattr(map_data_module, "markers", slow_markers)
    add_offers(app, 1)
    time.sleep(0.3)  # the cached markers are now older than MAP_CACHE_SECONDS and the data moved
    for _ in range(3):
        started = time.monotonic()
        stale = section(client, config)
        assert time.monotonic() - started < 1.0, "a request waited for the rebuild"
        assert stale.get_json()["total"] == first.get_json()["total"] == 2
        assert stale.headers["ETag"] == first.headers["ETag"]  # the version of the data actually served
    deadline = time.monotonic() + 10
    while section(client, config).get_json()["total"] != 3:
        assert time.monotonic() < deadline, "the rebuilt markers never arrived"
        time.sleep(0.1)
    assert len(rebuilds) == 1  # one rebuild for all the requests that saw the old markers
    assert section(client, config).headers["ETag"] != first.headers["ETag"]


def test_the_workers_of_a_machine_share_one_build_of_a_marker_set(make_app, app, monkeypatch):
    """One worker builds the markers, the others read its file; a set too old for the data is built once more."""
    import zlib

    from atlas.maps import data as map_data_module

    real, builds = map_data_module.markers, []
    monkeypatch.setattr(map_data_module, "markers", lambda *args, **kwargs: builds.append(1) or real(*args, **kwargs))
    first, second = make_app(MAP_CACHE_SECONDS=5), make_app(MAP_CACHE_SECONDS=5)  # two workers, one instance folder
    config = map_data(first.test_client().get("/karte").get_data(as_text=True))
    answer = section(first.test_client(), config)
    assert len(builds) == 1
    again = section(second.test_client(), config)
    assert len(builds) == 1 and again.get_json() == answer.get_json() and again.headers["ETag"] == answer.headers["ETag"]
    assert answer.get_json()["total"] == 2
    add_offers(app, 1)
    # a worker whose set is older than MAP_CACHE_SECONDS (here: 0) builds it anew and shares it
    assert section(make_app(MAP_CACHE_SECONDS=0).test_client(), config).get_json()["total"] == 3
    assert len(builds) == 2
    fresh = section(make_app(MAP_CACHE_SECONDS=5).test_client(), config)  # a new worker reads it
    assert len(builds) == 2 and fresh.get_json()["total"] == 3
    folder = Path(first.instance_path) / "map-cache"
    for number, damage in enumerate([b"damaged", zlib.compress(b'{"version": "x"}'), zlib.compress(b"[1]")]):
        for saved in folder.glob("*.markers"):
            saved.write_bytes(damage)
        assert section(make_app(MAP_CACHE_SECONDS=5).test_client(), config).get_json()["total"] == 3
        assert len(builds) == 3 + number  # a damaged file is built again
    near = section(make_app(MAP_CACHE_SECONDS=5).test_client(), config, nahe="Iserlohn")
    assert near.status_code == 200 and len(builds) == 6 and len(list(folder.glob("*.markers"))) == 1


def test_grid_clustering_follows_the_zoom():
    import numpy as np

    rng = np.random.default_rng(1)
    lat = 51.3 + rng.random(10_000) * 0.4
    lon = 7.3 + rng.random(10_000) * 0.6
    box = BBox(51.0, 7.0, 52.0, 8.0)
    coarse = cluster(lat, lon, box, 8, 500)
    fine = cluster(lat, lon, box, 13, 500)
    assert len(coarse.clusters) < len(fine.clusters) <= 500
    for shown in (coarse, fine):
        assert sum(c[2] for c in shown.clusters) + len(shown.singles) == 10_000
    street = cluster(lat[:300], lon[:300], box, 17, 500)
    assert street.clusters == [] and len(street.singles) == 300
    assert len(cluster(lat, lon, BBox(51.3, 7.3, 51.35, 7.35), 17, 500).singles) < 10_000


def test_public_map_refuses_unknown_view_category_and_region(client):
    for query, words in (("ansicht=tabelle", "„ansicht“ muss „karte“ oder „liste“ sein."),
                         ("kategorie=gibtsnicht", "Den Bereich „gibtsnicht“ gibt es nicht."),
                         ("region=atlantis", "Den Ort oder Kreis „atlantis“ gibt es nicht.")):
        response = client.get(f"/karte?{query}")
        assert response.status_code == 400, query
        assert words in response.get_data(as_text=True), query
    assert client.get("/karte/daten?kategorie=gibtsnicht&bbox=50,6,52,9&zoom=10").status_code == 400
    for view in ("karte", "liste"):
        html = client.get(f"/karte?ansicht={view}").get_data(as_text=True)
        assert f'name="ansicht" value="{view}"' in html
        assert ('class="folium-map"' in html) == (view == "karte")


def test_embed_says_so_when_category_or_region_is_unknown(client):
    response = client.get("/karte/embed?kategorie=gibtsnicht")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Den Bereich „gibtsnicht“ gibt es nicht." in html
    assert 'class="folium-map"' not in html and "<script" not in html
    response = client.get("/karte/embed?region=atlantis&lang=en")
    assert "There is no town or district called “atlantis”." in response.get_data(as_text=True)
    assert "folium-map" in client.get("/karte/embed?region=witten").get_data(as_text=True)


def test_public_map_uses_everyday_category_names_and_keeps_the_language(client):
    html = client.get("/karte?lang=en&leicht=1").get_data(as_text=True)
    assert "Sport and exercise" in html and "Prevention and exercise" not in html
    assert '<input type="hidden" name="lang" value="en">' in html and 'name="leicht" value="1"' in html
    german = client.get("/karte?kategorie=praevention").get_data(as_text=True)
    assert "Sport und Bewegung" in german and "Prävention und Bewegung" not in german


def test_offer_map_names_the_places_around_its_sites_when_there_are_no_tiles(app, client, make_app):
    from conftest import service_id
    url = f"/angebote/{service_id(app, 'Schuldnerberatung Lichtblick')}"
    labels = map_data(client.get(url).get_data(as_text=True), "atlas-place-labels")
    names = [name for _lat, _lon, name in labels]
    assert "Witten" in names  # the site is in Witten
    assert all(abs(lat - 51.44) < 0.4 and abs(lon - 7.33) < 0.6 for lat, lon, _name in labels)  # only around it
    statements: list[str] = []
    sa.event.listen(app.extensions["atlas.engine"], "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: statements.append(statement))
    assert map_data(client.get(url).get_data(as_text=True), "atlas-place-labels") == labels
    assert not [s for s in statements if "FROM region" in s]  # the Gemeinden's centres are kept for a minute
    tiled = make_app(MAP_TILE_URL="https://tiles.jobcenter.example/{z}/{x}/{y}.png", MAP_TILE_ATTRIBUTION="© Test")
    html = tiled.test_client().get(url).get_data(as_text=True)
    assert map_data(html, "atlas-place-labels") == []  # tiles name the places themselves
