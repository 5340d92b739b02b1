"""Map benchmark: generation time, page weight and time-to-visible-markers for 100, 1,000 and 5,000 markers.

Run: .venv/bin/python bench/maps.py [--sizes 100,1000,5000] [--no-browser]
Baseline (same run): folium's straightforward way, MarkerCluster with one folium.Marker + Popup per marker.
"""

from __future__ import annotations

import argparse
import gzip
import html
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import folium
import sqlalchemy as sa
from folium.plugins import MarkerCluster

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from atlas import create_app, schema  # noqa: E402
from atlas.db import get_session  # noqa: E402
from atlas.models import TaxonomyTerm  # noqa: E402
from atlas.seed import seed  # noqa: E402

WORDS = ["Beratung", "Treffpunkt", "Sportgruppe", "Selbsthilfe", "Praxis", "Tagesstätte", "Kurs", "Werkstatt"]
TOWNS = [("Witten", "58452", 51.4378, 7.332), ("Iserlohn", "58636", 51.3633, 7.6814),
         ("Lüdenscheid", "58507", 51.2234, 7.6278), ("Hagen", "58095", 51.3615, 7.4881),
         ("Menden (Sauerland)", "58706", 51.4383, 7.797), ("Schwelm", "58332", 51.2863, 7.2939)]


def build_app(folder: Path):
    """An app on a fresh SQLite file with taxonomy and regions."""
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite",
                      "INSTANCE_PATH": str(folder / "instance")})
    schema.upgrade(app.extensions["atlas.engine"])
    with app.app_context():
        seed(get_session(), demo=False)
        get_session().commit()
    return app


def add_offers(app, count: int, rng: random.Random) -> None:
    """Insert synthetic public offers with one location each, in bulk through SQL."""
    with app.app_context():
        session = get_session()
        conn = session.connection()
        terms = session.scalars(sa.select(TaxonomyTerm.id).where(TaxonomyTerm.parent_id.is_not(None),
                                                                   TaxonomyTerm.internal_only.is_(False))).all()
        md = sa.MetaData()
        md.reflect(conn, only=["organization", "service", "location", "address", "service_at_location",
                               "service_taxonomy", "phone"])
        t = md.tables
        next_id = (conn.execute(sa.select(sa.func.max(t["service"].c.id))).scalar() or 0) + 1
        now = sa.func.current_timestamp()
        for i in range(next_id, next_id + count):
            town, plz, lat, lon = rng.choice(TOWNS)
            name = f"{rng.choice(WORDS)} {town} {i}"
            conn.execute(t["organization"].insert().values(id=i, uuid=str(uuid.uuid4()), name=f"Träger {i}",
                                                           visibility="public", is_employer=False, version_id=1,
                                                           created_at=now, updated_at=now))
            conn.execute(t["location"].insert().values(
                id=i, uuid=str(uuid.uuid4()), organization_id=i, location_type="physical",
                latitude=lat + rng.uniform(-0.05, 0.05), longitude=lon + rng.uniform(-0.08, 0.08),
                geo_precision="exakt", geo_source="manuell", address_precision="exakt", visibility="public",
                created_at=now, updated_at=now))
            conn.execute(t["address"].insert().values(location_id=i, address_1=f"Hauptstraße {i % 200 + 1}",
                                                      postal_code=plz, city=town, country="DE"))
            conn.execute(t["service"].insert().values(
                id=i, uuid=str(uuid.uuid4()), organization_id=i, name=name, status="aktiv", visibility="public",
                intake_status="unbekannt", short_notice=False, supra_regional=False, version_id=1,
                cost_options=[], access_routes=[], legal_domains=[], contact_channels=[], accessibility=[],
                languages=[], created_at=now, updated_at=now))
            conn.execute(t["service_at_location"].insert().values(service_id=i, location_id=i))
            conn.execute(t["service_taxonomy"].insert().values(service_id=i, taxonomy_term_id=rng.choice(terms)))
            conn.execute(t["phone"].insert().values(organization_id=i, number=f"+49 2302 555{i % 10000:04d}",
                                                    type="voice", visibility="public"))
        session.commit()


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    """Median wall time in ms over repeats, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def atlas_page(client) -> bytes:
    response = client.get("/karte")
    assert response.status_code == 200
    return response.data


def folium_baseline(points: list[tuple[float, float, str]]) -> bytes:
    """The plain folium way: one Marker with an escaped Popup per point inside a MarkerCluster."""
    fmap = folium.Map(location=[51.33, 7.55], zoom_start=10, tiles=None)
    fmap.default_js = [("leaflet", "/static/vendor/leaflet/leaflet.js"), ("jquery", "/static/jquery.js")]
    fmap.default_css = [("leaflet_css", "/static/vendor/leaflet/leaflet.css")]
    fmap.options["max_zoom"] = 18
    cluster = MarkerCluster()
    cluster.default_js = [("markerclusterjs", "/static/vendor/leaflet.markercluster/leaflet.markercluster.js")]
    cluster.default_css = [("markerclustercss", "/static/vendor/leaflet.markercluster/MarkerCluster.css"),
                           ("markerclusterdefaultcss", "/static/vendor/leaflet.markercluster/MarkerCluster.Default.css")]
    cluster.add_to(fmap)
    for lat, lon, name in points:
        folium.Marker([lat, lon], popup=folium.Popup(html.escape(name))).add_to(cluster)
    return fmap.get_root().render().encode()


def serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    """Serve a folder on 127.0.0.1 (for the baseline page and its static files)."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def visible_ms(page, url: str, ready_selector: str) -> float:
    """Milliseconds from navigation until the first cluster or marker is visible (median of 2)."""
    times = []
    for _ in range(2):
        start = time.perf_counter()
        page.goto(url)
        page.locator(ready_selector).first.wait_for(state="visible", timeout=60000)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def kb(data: bytes) -> str:
    return f"{len(data) / 1024:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(42)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = build_app(folder)
        static = folder / "www" / "static"
        shutil.copytree(ROOT / "static", static)
        (static / "jquery.js").write_text("window.$=window.jQuery=function(s){var d=document.createElement('div');"
                                          "d.innerHTML=s;return [d.firstChild];};")  # folium popups call $(`…`)
        server, base = serve(folder / "www")
        browser = None
        if not args.no_browser:
            from browser import CHROMIUM, CHROMIUM_ARGS, live_server
            from playwright.sync_api import sync_playwright
            pw = sync_playwright().start()
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        done = 0
        for size in sizes:
            add_offers(app, size - done, rng)
            done = size
            client = app.test_client()
            ours_ms, page_html = timed(lambda: atlas_page(client))
            with app.app_context():
                points = [(lat, lon, name) for name, lat, lon in get_session().execute(sa.text(
                    "SELECT s.name, l.latitude, l.longitude FROM service s JOIN service_at_location sal ON "
                    "sal.service_id = s.id JOIN location l ON l.id = sal.location_id"))]
            base_ms, base_html = timed(lambda: folium_baseline(points), repeat=1 if size >= 5000 else 3)
            (folder / "www" / f"folium-{size}.html").write_bytes(base_html)
            row = {"size": size, "ours_ms": ours_ms, "ours_raw": kb(page_html), "ours_gz": kb(gzip.compress(page_html)),
                   "base_ms": base_ms, "base_raw": kb(base_html), "base_gz": kb(gzip.compress(base_html)),
                   "ours_vis": None, "base_vis": None}
            if browser:
                context = browser.new_context()
                context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1")
                              else r.abort())
                page = context.new_page()
                with live_server(app) as url:
                    row["ours_vis"] = visible_ms(page, f"{url}/karte", ".folium-map[data-ready='1'] .marker-cluster, "
                                                                       ".folium-map[data-ready='1'] .atlas-marker")
                row["base_vis"] = visible_ms(page, f"{base}/folium-{size}.html", ".marker-cluster, .leaflet-marker-icon")
                context.close()
            rows.append(row)
            print(f"measured {size} markers", file=sys.stderr)
        server.shutdown()
        if browser:
            browser.close()
            pw.stop()
    print_table(rows)


def print_table(rows: list[dict]) -> None:
    """Print the results as a Markdown table with ratios against the baseline."""
    def vis(v):
        return "–" if v is None else f"{v:,.0f}"
    print("| markers | atlas /karte: generate (ms) | raw KB | gzip KB | visible (ms) "
          "| folium Marker+Popup: generate (ms) | raw KB | gzip KB | visible (ms) | generate ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['size']:,} | {r['ours_ms']:,.0f} | {r['ours_raw']} | {r['ours_gz']} | {vis(r['ours_vis'])} "
              f"| {r['base_ms']:,.0f} | {r['base_raw']} | {r['base_gz']} | {vis(r['base_vis'])} "
              f"| {r['base_ms'] / r['ours_ms']:.1f}× faster |")
    print("\natlas 'generate' is the whole /karte response (SQL, marker data, folium map, template, list of 50);"
          " static assets (Leaflet, markercluster, atlas-map.js, CSS: ~190 KB raw, cached) are not counted.")


if __name__ == "__main__":
    main()
