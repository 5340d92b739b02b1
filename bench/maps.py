"""Map benchmark: page weight, generation time and time-to-visible-markers at 500, 5,000 and 50,000 offers.

Run: .venv/bin/python bench/maps.py [--sizes 500,5000,50000] [--no-browser]
Baseline (same run, same points): folium's FastMarkerCluster, which ships every point in the page and clusters in
the browser. atlas pages ship no markers: the map script asks /karte/daten for the visible section (server-side
clusters). "first load" is every byte the browser fetched until the first cluster or marker was visible (HTML,
marker data, scripts, CSS; no HTTP compression), from an empty browser cache.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
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
from folium.plugins import FastMarkerCluster

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from atlas import create_app, schema  # noqa: E402
from atlas.auth import create_user  # noqa: E402
from atlas.db import get_session  # noqa: E402
from atlas.models import TaxonomyTerm  # noqa: E402
from atlas.seed import seed  # noqa: E402

WORDS = ["Beratung", "Treffpunkt", "Sportgruppe", "Selbsthilfe", "Praxis", "Tagesstätte", "Kurs", "Werkstatt"]
TOWNS = [("Witten", "58452", 51.4378, 7.332), ("Iserlohn", "58636", 51.3633, 7.6814),
         ("Lüdenscheid", "58507", 51.2234, 7.6278), ("Hagen", "58095", 51.3615, 7.4881),
         ("Menden (Sauerland)", "58706", 51.4383, 7.797), ("Schwelm", "58332", 51.2863, 7.2939)]
PASSWORD = "bench horse battery staple"
READY = ".folium-map[data-ready='1'] .marker-cluster, .folium-map[data-ready='1'] .atlas-marker"
RUNS = 5


def build_app(folder: Path):
    """An app on a fresh SQLite file with taxonomy, regions and a staff login."""
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite",
                      "INSTANCE_PATH": str(folder / "instance"), "NOMINATIM_URL": None})
    schema.upgrade(app.extensions["atlas.engine"])
    with app.app_context():
        seed(get_session(), demo=False)
        create_user(get_session(), "lotsin@bench.example", "staff", "Lea", PASSWORD)
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
        first = (conn.execute(sa.select(sa.func.max(t["service"].c.id))).scalar() or 0) + 1
        now = sa.func.current_timestamp()
        rows: dict[str, list[dict]] = {name: [] for name in t}
        stamp = {"created_at": m_now(), "updated_at": m_now()}
        for i in range(first, first + count):
            town, plz, lat, lon = rng.choice(TOWNS)
            rows["organization"].append({"id": i, "uuid": str(uuid.uuid4()), "name": f"Träger {i}", "visibility": "public",
                                         "is_employer": False, "version_id": 1} | stamp)
            rows["location"].append({"id": i, "uuid": str(uuid.uuid4()), "organization_id": i, "location_type": "physical",
                                     "latitude": lat + rng.uniform(-0.05, 0.05), "longitude": lon + rng.uniform(-0.08, 0.08),
                                     "geo_precision": "exakt", "geo_source": "manuell", "address_precision": "exakt",
                                     "visibility": "public"} | stamp)
            rows["address"].append({"location_id": i, "address_1": f"Hauptstraße {i % 200 + 1}", "postal_code": plz,
                                    "city": town, "country": "DE"})
            rows["service"].append({"id": i, "uuid": str(uuid.uuid4()), "organization_id": i,
                                    "name": f"{rng.choice(WORDS)} {town} {i}", "status": "aktiv", "visibility": "public",
                                    "intake_status": "unbekannt", "short_notice": False, "supra_regional": False,
                                    "version_id": 1, "cost_options": [], "access_routes": [], "legal_domains": [],
                                    "contact_channels": [], "accessibility": [], "languages": []} | stamp)
            rows["service_at_location"].append({"service_id": i, "location_id": i})
            rows["service_taxonomy"].append({"service_id": i, "taxonomy_term_id": rng.choice(terms)})
            rows["phone"].append({"organization_id": i, "number": f"+49 2302 555{i % 10000:04d}", "type": "voice",
                                  "visibility": "public"})
        del now
        for name in ("organization", "location", "address", "service", "service_at_location", "service_taxonomy",
                     "phone"):
            for start in range(0, len(rows[name]), 5000):
                conn.execute(t[name].insert(), rows[name][start:start + 5000])
        session.commit()


def m_now():
    from atlas.models import utcnow
    return utcnow()


def stats(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of a list of milliseconds."""
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]
    return {"p50": pct(50), "p95": pct(95), "p99": pct(99), "max": ordered[-1]}


def fmt(s: dict[str, float]) -> str:
    return f"{s['p50']:,.0f} / {s['p95']:,.0f} / {s['p99']:,.0f} / {s['max']:,.0f}"


def timed(fn, repeat: int) -> tuple[list[float], object]:
    """Wall times in ms of repeated calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def folium_baseline(points: list[tuple[float, float]]) -> bytes:
    """folium's FastMarkerCluster with the same points, offline (vendored Leaflet and markercluster)."""
    fmap = folium.Map(location=[51.33, 7.55], zoom_start=10, tiles=None)
    fmap.default_js = [("leaflet", "/static/vendor/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", "/static/vendor/leaflet/leaflet.css")]
    fmap.options["max_zoom"] = 18
    # Its default callback needs Leaflet.awesome-markers (a CDN in folium); plain Leaflet markers instead.
    cluster = FastMarkerCluster(points, callback="function (row) { return L.marker(new L.LatLng(row[0], row[1])); }")
    cluster.default_js = [("markerclusterjs", "/static/vendor/leaflet.markercluster/leaflet.markercluster.js")]
    cluster.default_css = [("markerclustercss", "/static/vendor/leaflet.markercluster/MarkerCluster.css"),
                           ("markerclusterdefaultcss", "/static/vendor/leaflet.markercluster/MarkerCluster.Default.css")]
    cluster.add_to(fmap)
    return fmap.get_root().render().encode()


def serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    """Serve a folder on 127.0.0.1 (for the baseline page and its static files)."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def first_load(browser, url: str, ready: str, login: str | None = None) -> tuple[list[float], int]:
    """Times (ms) until the first cluster/marker is visible, each from an empty cache, and the bytes of one load."""
    times, sizes = [], []
    for _ in range(RUNS):
        context = browser.new_context(locale="de-DE")
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1") else r.abort())
        page = context.new_page()
        if login:
            page.goto(login + "/login")
            page.get_by_label("E-Mail-Adresse").fill("lotsin@bench.example")
            page.get_by_label("Passwort").fill(PASSWORD)
            page.get_by_role("button", name="Anmelden").click()
            page.wait_for_load_state()
        loaded: list[int] = []
        page.on("response", lambda r: loaded.append(len(r.body()) if r.status == 200 else 0))
        start = time.perf_counter()
        page.goto(url)
        page.locator(ready).first.wait_for(state="visible", timeout=120_000)
        times.append((time.perf_counter() - start) * 1000)
        sizes.append(sum(loaded))
        context.close()
    return times, max(sizes)


def data_requests(client, prefix: str) -> list[float]:
    """Times (ms) of marker-section requests at several zoom levels, as a user pans and zooms."""
    sections = [("50.9,6.8,51.8,8.3", 9), ("51.2,7.2,51.5,7.9", 11), ("51.33,7.6,51.4,7.75", 13),
                ("51.35,7.66,51.37,7.7", 15), ("51.36,7.675,51.365,7.69", 17)]
    times = []
    for _ in range(6):
        for bbox, zoom in sections:
            start = time.perf_counter()
            response = client.get(f"{prefix}?bbox={bbox}&zoom={zoom}")
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.data[:200]
            assert len(response.get_json()["clusters"]) + len(response.get_json()["points"]) <= 500
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="500,5000,50000")
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
        server, base = serve(folder / "www")
        browser = pw = None
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
            app.extensions.pop("atlas.maps.markers", None)  # cold: no cached marker sets
            cold, _page = timed(lambda: client.get("/karte").data, 1)
            warm, page_html = timed(lambda: client.get("/karte").data, 20)
            data_ms = data_requests(client, "/karte/daten")
            with app.app_context():
                points = [(lat, lon) for lat, lon in get_session().execute(sa.text(
                    "SELECT l.latitude, l.longitude FROM location l"))]
            base_ms, base_html = timed(lambda: folium_baseline(points), 1)
            (folder / "www" / f"folium-{size}.html").write_bytes(base_html)
            row = {"size": size, "cold": cold[0], "warm": stats(warm), "data": stats(data_ms), "html_kb": len(page_html) / 1024,
                   "base_ms": base_ms[0], "base_html_kb": len(base_html) / 1024, "pages": {}}
            if browser:
                with live_server(app) as url:
                    for label, path, login in (("/karte", "/karte", None), ("embed", "/karte/embed", None),
                                               ("staff map", "/intern/karte", url)):
                        times, size_bytes = first_load(browser, url + path, READY, login)
                        row["pages"][label] = (stats(times), size_bytes / 1024)
                times, size_bytes = first_load(browser, f"{base}/folium-{size}.html", ".marker-cluster, .leaflet-marker-icon")
                row["pages"]["folium FastMarkerCluster"] = (stats(times), size_bytes / 1024)
            rows.append(row)
            print(f"measured {size} offers", file=sys.stderr)
        server.shutdown()
        if browser:
            browser.close()
            pw.stop()
    print_tables(rows)


def print_tables(rows: list[dict]) -> None:
    """Markdown tables: server side, then the browser."""
    print(f"load average (1/5/15 min) at the end: {' / '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    print("| offers | /karte cold (ms) | /karte warm p50 / p95 / p99 / max (ms) | HTML KB | /karte/daten p50 / p95 / p99 / max (ms) "
          "| folium FastMarkerCluster generate (ms) | its HTML KB |")
    print("|---:|---:|---|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['size']:,} | {r['cold']:,.0f} | {fmt(r['warm'])} | {r['html_kb']:,.0f} | {fmt(r['data'])} "
              f"| {r['base_ms']:,.0f} | {r['base_html_kb']:,.0f} |")
    if any(r["pages"] for r in rows):
        print(f"\nChromium, empty cache each time ({RUNS} loads): first cluster or marker visible, and every byte loaded until then")
        print("| offers | page | visible p50 / p95 / p99 / max (ms) | first load KB | target ≤ 1,500 ms and ≤ 500 KB |")
        print("|---:|---|---|---:|---|")
        for r in rows:
            for label, (s, kbytes) in r["pages"].items():
                target = "—" if "folium" in label else ("met" if s["p95"] <= 1500 and kbytes <= 500 else "not met")
                print(f"| {r['size']:,} | {label} | {fmt(s)} | {kbytes:,.0f} | {target} |")


if __name__ == "__main__":
    main()
