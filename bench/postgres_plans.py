"""PostgreSQL query plans at scale: the list, map, search-load and coverage queries at 50,000 offers.

Run: .venv/bin/python bench/postgres_plans.py [--offers 50000] [--server postgresql://postgres@127.0.0.1:5432/]
Creates a uniquely named database on the server, fills it, ANALYZEs it (as a bulk import does), records the SQL
the pages run, prints `EXPLAIN (ANALYZE, BUFFERS)` of the slowest statement of each, and drops the database.
The plans are written down in docs/operations.md ("PostgreSQL").
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from atlas import create_app, schema  # noqa: E402
from atlas.auth import create_user  # noqa: E402
from atlas.db import get_session  # noqa: E402
from atlas.models import Region, TaxonomyTerm  # noqa: E402
from atlas.search.service import _load  # noqa: E402
from atlas.seed import seed  # noqa: E402

WORDS = ["Beratung", "Treffpunkt", "Sportgruppe", "Selbsthilfe", "Praxis", "Tagesstätte", "Kurs", "Werkstatt"]
BATCH = 2000
# Random per run: the password policy refuses guessable ones (and the bench database is dropped anyway).
PASSWORD = secrets.token_urlsafe(16)


def fill(app, count: int, rng: random.Random) -> None:
    """Insert synthetic public offers with one located site each, in batches (executemany)."""
    with app.app_context():
        session = get_session()
        conn = session.connection()
        terms = session.scalars(sa.select(TaxonomyTerm.id).where(TaxonomyTerm.parent_id.is_not(None),
                                                                   TaxonomyTerm.internal_only.is_(False))).all()
        towns = session.execute(sa.select(Region.name, Region.latitude, Region.longitude)
                                .where(Region.kind == "gemeinde", Region.latitude.is_not(None))).all()
        md = sa.MetaData()
        md.reflect(conn, only=["organization", "service", "location", "address", "service_at_location",
                               "service_taxonomy"])
        t = md.tables
        now = sa.func.current_timestamp()
        for start in range(1, count + 1, BATCH):
            rows: dict[str, list[dict]] = {name: [] for name in t}
            for i in range(start, min(start + BATCH, count + 1)):
                town, lat, lon = rng.choice(towns)
                rows["organization"].append(dict(id=i, uuid=str(uuid.uuid4()), name=f"Träger {i}",
                                                 visibility="public", is_employer=False, version_id=1))
                rows["location"].append(dict(id=i, uuid=str(uuid.uuid4()), organization_id=i, location_type="physical",
                                             latitude=lat + rng.uniform(-0.03, 0.03),
                                             longitude=lon + rng.uniform(-0.05, 0.05), geo_precision="exakt",
                                             geo_source="manuell", address_precision="exakt", visibility="public"))
                rows["address"].append(dict(location_id=i, address_1=f"Hauptstraße {i % 200 + 1}", postal_code="58452",
                                            city=town, country="DE"))
                rows["service"].append(dict(id=i, uuid=str(uuid.uuid4()), organization_id=i,
                                            name=f"{rng.choice(WORDS)} {town} {i}", status="aktiv", visibility="public",
                                            intake_status="unbekannt", short_notice=False, supra_regional=False,
                                            version_id=1, cost_options=[], access_routes=[], legal_domains=[],
                                            contact_channels=[], accessibility=[], languages=[]))
                rows["service_at_location"].append(dict(service_id=i, location_id=i))
                rows["service_taxonomy"].append(dict(service_id=i, taxonomy_term_id=rng.choice(terms)))
            for name in ("organization", "location", "address", "service", "service_at_location", "service_taxonomy"):
                table = t[name]
                extra = {c: now for c in ("created_at", "updated_at") if c in table.c}
                conn.execute(table.insert().values(**extra) if extra else table.insert(), rows[name])
        for name in ("organization", "location", "service"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {count + 1})"))
        session.commit()
        conn = session.connection()
        conn.execute(sa.text("ANALYZE"))
        session.commit()


@contextmanager
def recorded(engine):
    """Collect (seconds, sql, params) of every statement run meanwhile."""
    seen: list[tuple[float, str, object]] = []

    def before(conn, cursor, statement, params, context, many):
        conn.info["t0"] = time.perf_counter()

    def after(conn, cursor, statement, params, context, many):
        if not many:
            seen.append((time.perf_counter() - conn.info.pop("t0"), statement, params))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)


def explain(engine, statement: str, params) -> str:
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection.cursor()
        raw.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params)
        plan = "\n".join(row[0] for row in raw.fetchall())
        conn.rollback()
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=50_000)
    parser.add_argument("--server", default=os.environ.get("ATLAS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/"))
    args = parser.parse_args()
    server = sa.engine.make_url(args.server).set(drivername="postgresql+psycopg")
    name = f"atlas_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run(server.set(database=name).render_as_string(hide_password=False), args.offers, Path(tmp))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, offers: int, tmp: Path) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url, "INSTANCE_PATH": str(tmp),
                      "WTF_CSRF_ENABLED": False})
    engine = app.extensions["atlas.engine"]
    schema.upgrade(engine)
    with app.app_context():
        seed(get_session(), demo=False)
        create_user(get_session(), "bench@atlas.example", "coordinator", "Bench", PASSWORD)
        get_session().commit()
    started = time.perf_counter()
    fill(app, offers, random.Random(7))
    print(f"{offers} offers inserted and analyzed in {time.perf_counter() - started:.1f} s; "
          f"load average {os.getloadavg()[0]:.2f}\n")
    client = app.test_client()
    client.post("/login", data={"email": "bench@atlas.example", "password": PASSWORD})
    region = "bbox=50.9,7.0,51.6,8.2&zoom=10"  # both Kreise at the zoom /karte opens with
    pages = {"list (/angebote, page 2)": lambda: client.get("/angebote?seite=2"),
             "map page (/karte)": lambda: client.get("/karte"),
             "map markers (/karte/daten, whole region)": lambda: client.get(f"/karte/daten?{region}"),
             "coverage (/verwaltung/abdeckung)": lambda: client.get("/verwaltung/abdeckung")}
    # Each page once, cold: list, marker set and coverage are cached per data version, so a warm call would
    # show only the version look-up, not the queries whose plans matter.
    for title, fetch in pages.items():
        with recorded(engine) as seen:
            t0 = time.perf_counter()
            status = fetch().status_code
            total = time.perf_counter() - t0
        report(engine, title, status, total, seen)
    with app.app_context(), recorded(engine) as seen:
        ids = random.Random(3).sample(range(1, offers + 1), 25)
        t0 = time.perf_counter()
        _load(get_session(), ids, internal=False, include_archived=False, lang="de")
        total = time.perf_counter() - t0
    report(engine, "search-load (25 hits of a search)", 200, total, seen)


def report(engine, title: str, status: int, total: float, seen: list) -> None:
    slowest = sorted(seen, key=lambda s: s[0], reverse=True)[:2]
    print(f"=== {title}: HTTP {status}, {total * 1000:.0f} ms, {len(seen)} statements; load average "
          f"{os.getloadavg()[0]:.2f}")
    for seconds, statement, params in slowest:
        print(f"--- {seconds * 1000:.1f} ms:\n{' '.join(statement.split())[:600]}")
        print(explain(engine, statement, params))
    print()


if __name__ == "__main__":
    main()
