"""Cold offer views: loading offers with one selectinload per owner (baseline) against one statement per table.

    .venv/bin/python bench/views.py [--db sqlite|postgresql] [--offers 10000] [--rounds 12] [--loads 40]

What a page costs whose offers no worker has presented yet (atlas.search.service.load_views without its caches):
the offers are loaded with `with_details` and its selectinloads of phones, times and contacts for every owner
(the baseline), or with `with_details(shared=False)` and `queries.load_shared`, then presented for the public and
for staff. Both statements are built once, as load_views does. Rounds alternate the two (A B, B A, ...) in one
process on one database, so the machine's drift hits both; every load is timed (CPU of this process, which on
SQLite includes the database's work) and the table shows p50, p95, p99 and max per variant and page size.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402

from load import load_avg, prepare, scratch_database, stats  # noqa: E402

from atlas.db import get_session  # noqa: E402
from atlas.hsds import api_service  # noqa: E402
from atlas.models import Service  # noqa: E402
from atlas.presenters import service_view  # noqa: E402
from atlas.queries import load_shared, with_details  # noqa: E402

IDS = sa.bindparam("ids", expanding=True)


def variants(internal: bool) -> dict[str, tuple[sa.Select, bool]]:
    """(statement, read the shared lists afterwards) per variant."""
    return {"per owner (baseline)": (with_details(sa.select(Service), internal).where(Service.id.in_(IDS)), False),
            "per table": (with_details(sa.select(Service), internal, shared=False).where(Service.id.in_(IDS)), True)}


def load(session, stmt: sa.Select, shared: bool, ids: list[int], internal: bool) -> None:
    services = list(session.scalars(stmt, {"ids": ids}))
    if shared:
        load_shared(session, services, internal)
    for service in services:
        service_view(service, internal, "de"), api_service(service, internal, "de")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--loads", type=int, default=40, help="cold loads per variant, page size and round")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="atlas-views-"))
    try:
        with scratch_database(args.db, folder, args.postgres_url, f"atlas_views_{os.getpid()}") as url:
            measure(url, folder, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(url: str, folder: Path, args: argparse.Namespace) -> None:
    """Alternating rounds of cold loads on the database at url; prints the table."""
    app, ids = prepare(url, folder, args.offers, "off")
    rnd = random.Random(5)
    times: dict[tuple[str, str], list[float]] = {}
    built = {internal: list(variants(internal).items()) for internal in (False, True)}  # once, as load_views does
    try:
        with app.test_request_context("/"):
            session = get_session()
            for round_no in range(args.rounds):
                for internal in (False, True):
                    for size in (1, 20):
                        chosen = built[internal]
                        for label, (stmt, shared) in (chosen if round_no % 2 == 0 else chosen[::-1]):
                            page = f"{size} {'staff' if internal else 'public'}"
                            for _ in range(args.loads):
                                sample = rnd.sample(ids, size)
                                started = time.process_time()
                                load(session, stmt, shared, sample, internal)
                                times.setdefault((page, label), []).append((time.process_time() - started) * 1000)
                                session.commit()  # ends the reads; the next load starts from an empty session
                                session.expunge_all()
        print(f"\n{args.db}, {args.offers} offers, {args.rounds} rounds of {args.loads} cold loads per variant and "
              f"page; load average (1/5/15 min) at the end: {load_avg()}\n")
        print("| offers loaded | variant | loads | CPU ms p50 / p95 / p99 / max |\n|---|---|---:|---|")
        for (page, label), values in times.items():
            s = stats(values)
            print(f"| {page} | {label} | {len(values)} | {s['p50']:.2f} / {s['p95']:.2f} / {s['p99']:.2f} / "
                  f"{s['max']:.2f} |")
    finally:
        app.extensions["atlas.engine"].dispose()


if __name__ == "__main__":
    main()
