"""Coverage benchmark: /verwaltung/abdeckung at 5,000 and 50,000 offers (target ≤ 1 s at 50,000).

Run: .venv/bin/python bench/coverage.py [--sizes 5000,50000]
Baseline (same run): the former way, every active offer through the ORM and every Gemeinde against every site in
Python (kept here only for the comparison).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from maps import PASSWORD, add_offers, build_app, fmt, stats  # noqa: E402
from sqlalchemy import select  # noqa: E402

from atlas.auth import create_user  # noqa: E402
from atlas.db import get_session  # noqa: E402
from atlas.maps.data import distance_km  # noqa: E402
from atlas.models import Region, Service  # noqa: E402
from atlas.queries import ListFilters, services_query, top_categories, with_details  # noqa: E402

RUNS = 5


def baseline(session, gap_km: float = 10.0) -> int:
    """The former coverage computation (ORM objects, pure-Python nearest distances); returns the number of gaps."""
    tops = top_categories(session, internal=True)
    sites: dict[str, list[tuple[float, float, int | None]]] = {t.slug: [] for t in tops}
    for svc in session.scalars(with_details(services_query(True, ListFilters())).where(Service.status == "aktiv")):
        for slug in {c.top.slug for c in svc.categories} & sites.keys():
            for loc in svc.locations:
                if loc.latitude is not None and loc.location_type == "physical" and loc.archived_at is None:
                    sites[slug].append((loc.latitude, loc.longitude, loc.gemeinde_id))
    gaps = 0
    for gem in session.scalars(select(Region).where(Region.kind == "gemeinde", Region.latitude.is_not(None))):
        for points in sites.values():
            count = sum(1 for p in points if p[2] == gem.id)
            nearest = min((distance_km(gem.latitude, gem.longitude, p[0], p[1]) for p in points), default=None)
            gaps += count == 0 and (nearest is None or nearest > gap_km)
    session.expunge_all()
    return gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5000,50000")
    args = parser.parse_args()
    rng = random.Random(7)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        with app.app_context():
            create_user(get_session(), "koordination@bench.example", "coordinator", "Kim", PASSWORD)
            get_session().commit()
        client = app.test_client()
        from conftest import login  # noqa: E402  (the real login form with its CSRF token)
        assert login(client, "koordination@bench.example", PASSWORD).status_code == 302
        done = 0
        for size in [int(s) for s in args.sizes.split(",")]:
            add_offers(app, size - done, rng)
            done = size
            page, csv = [], []
            for _ in range(RUNS):
                start = time.perf_counter()
                assert client.get("/verwaltung/abdeckung?kategorie=beratung").status_code == 200
                page.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                assert client.get("/verwaltung/abdeckung.csv").status_code == 200
                csv.append((time.perf_counter() - start) * 1000)
            with app.app_context():
                start = time.perf_counter()
                baseline(get_session())
                base = (time.perf_counter() - start) * 1000
            lines.append(f"| {size:,} | {fmt(stats(page))} | {fmt(stats(csv))} | {base:,.0f} | "
                         f"{'met' if stats(page)['p95'] <= 1000 else 'not met'} |")
            print(f"measured {size}", file=sys.stderr)
    print(f"load average (1/5/15 min) at the end: {' / '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    print("| offers | page p50 / p95 / p99 / max (ms) | CSV p50 / p95 / p99 / max (ms) | former way, one run (ms) "
          "| target p95 ≤ 1,000 ms |")
    print("|---:|---|---|---:|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
