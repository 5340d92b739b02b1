"""Offers in doubt on an offer page: the tasks of one offer against all open tasks, at 10,000 offers.

Run: .venv/bin/python bench/doubt.py [--offers 10000] [--tasks 2000] [--org-tasks 200] [--pages 300]

An open public report or broken link puts an offer in doubt, and one on its organisation puts every offer of it
in doubt; the public offer page says so ("Einige Angaben werden gerade überprüft"). The page asks
`freshness.in_review_ids(session, [id])`. Baseline in the same run: reading every open doubt task and every offer
of an organisation in doubt, then keeping the one offer (what the page did before 6 December 2026). An embedded
SQLite file with the seed, generated offers and the given number of open link tasks on random offers and
organisations; p50, p95, p99 and max over --pages random offers, each way, alternated.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import load_avg, stats  # noqa: E402
from search import populate  # noqa: E402

from atlas import create_app, freshness, schema  # noqa: E402
from atlas.audit import set_actor  # noqa: E402
from atlas.db import get_session  # noqa: E402
from atlas.models import Organization, Service  # noqa: E402
from atlas.review import open_task  # noqa: E402
from atlas.seed import seed  # noqa: E402


def tails(values: list[float]) -> str:
    """p50 / p95 / p99 / max in ms, as bench/load.py takes them."""
    found = stats(values)
    return " / ".join(f"{found[key]:.2f}" for key in ("p50", "p95", "p99", "max"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=2_000, help="open link tasks on random offers")
    parser.add_argument("--org-tasks", type=int, default=200, help="open link tasks on random organisations")
    parser.add_argument("--pages", type=int, default=300, help="offer pages to time, each way")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atlas-doubt-") as tmp:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{tmp}/atlas.db",
                          "INSTANCE_PATH": tmp, "SEARCH_INDEX_DIR": f"{tmp}/index", "NOMINATIM_URL": None})
        schema.upgrade(app.extensions["atlas.engine"])
        with app.app_context():
            session = get_session()
            seed(session, demo=False)
            populate(session, args.offers)
            set_actor(session, "bench")
            rnd = random.Random(1)
            ids = list(session.scalars(sa.select(Service.id)))
            for sid in rnd.sample(ids, min(args.tasks, len(ids))):
                open_task(session, "link_broken", session.get(Service, sid), "Link", source_ref=f"link:{sid}")
            orgs = list(session.scalars(sa.select(Organization.id)))
            for oid in rnd.sample(orgs, min(args.org_tasks, len(orgs))):
                open_task(session, "link_broken", session.get(Organization, oid), "Link", source_ref=f"org:{oid}")
            session.commit()
            in_doubt = len(freshness.in_review_ids(session))
            ways = {"all open tasks, then the offer (baseline)": lambda sid: freshness.in_review_ids(session) & {sid},
                    "the offer's and its organisation's tasks": lambda sid: freshness.in_review_ids(session, [sid])}
            times: dict[str, list[float]] = {name: [] for name in ways}
            for sid in rnd.sample(ids, min(args.pages, len(ids))):
                for name, way in ways.items():
                    started = time.perf_counter()
                    way(sid)
                    times[name].append((time.perf_counter() - started) * 1000)
    print(f"{args.offers:,} offers, {args.tasks:,} open link tasks on offers and {args.org_tasks:,} on organisations: "
          f"{in_doubt:,} offers in doubt; {len(times[next(iter(ways))])} random offer pages each way\n")
    print("| how the page asks | p50 / p95 / p99 / max (ms) |")
    print("|---|---|")
    for name, values in times.items():
        print(f"| {name} | {tails(values)} |")
    print(f"\nload average (1/5/15 min): {load_avg()}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
