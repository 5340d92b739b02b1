"""CPU and time per page in the app itself, at 10,000 offers: what one request of each kind costs a web worker.

Run: .venv/bin/python bench/pages.py [--offers 10000] [--requests 200] [--rounds 2] [--baseline-ref 0c4f4fe]
     [--db sqlite|postgresql] [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]

An embedded SQLite file (or a scratch PostgreSQL database, dropped after) with the seed, generated offers and a
staff login is built once (KI-Suche off: this measures the pages, not the model). Each round starts one fresh
process per code tree; it logs in through the form, warms every page kind once per request and then takes the same
requests again through `app.test_client()`, one after another, timing each (wall clock and the process's CPU).
Kinds: staff `/suche` (the mixed search texts of bench/load.py, half of them with a place), the empty `/suche`
form, API search, the public list, offer pages, the public map page `/karte` and its marker sections
`/karte/daten`; public kinds are requested without the login. A last table weighs the kinds as bench/load.py's
mixed profile does: the worker CPU a request of the load costs in process (gunicorn's own share and the database
server's are not in it). With --baseline-ref the same requests run against that commit, checked out into
a temporary git worktree; both trees read the same database and index, and the order alternates (A B, B A, ...),
because the first process of a round tends to be the slower one.
A second table gives each round's CPU mean: fresh processes of the same code differ by up to a third here.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("staff /suche", "staff /suche, empty form", "API search", "public list", "offer page", "/karte",
         "/karte/daten")
# bench/load.py's mixed profile (Profile.next): the share of each kind in the load.
MIX = {"public list": 0.20, "offer page": 0.20, "API search": 0.30, "/karte": 0.05, "/karte/daten": 0.05,
       "staff /suche": 0.20}
STAFF = ("staff /suche", "staff /suche, empty form")


def requests_for(ids: list[int], count: int, text: list[str], places: list[str],
                 sections: list[tuple[str, int]]) -> dict[str, list[str]]:
    """The same request paths for every tree: seeded, so both trees get identical work."""
    rnd = random.Random(7)
    return {
        "staff /suche": [f"/suche?q={rnd.choice(text)}" + (f"&near={rnd.choice(places)}" if rnd.random() < 0.5 else "")
                         for _ in range(count)],
        "staff /suche, empty form": ["/suche"] * count,
        "API search": [f"/api/v1/services?q={rnd.choice(text)}&per_page=20" for _ in range(count)],
        "public list": [f"/angebote?seite={rnd.randint(1, 40)}" for _ in range(count)],
        "offer page": [f"/angebote/{rnd.choice(ids)}" for _ in range(count)],
        "/karte": ["/karte"] * count,
        "/karte/daten": [f"/karte/daten?bbox={bbox}&zoom={zoom}" for bbox, zoom in
                         (rnd.choice(sections) for _ in range(count))],
    }


def child(tree: str, folder: str) -> None:
    """Measure in this process with the code of `tree`; print one JSON line of timings per kind."""
    sys.path.insert(0, tree)  # only the tree's own atlas is imported here, nothing of the current tree
    from atlas import create_app

    work = json.loads(Path(folder, "work.json").read_text())
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": work["url"],
                      "INSTANCE_PATH": f"{folder}/instance", "SEARCH_INDEX_DIR": f"{folder}/index",
                      "NOMINATIM_URL": None, "SEARCH_SEMANTIC": "off"})
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"email": "lotsin@bench.example", "password": work["password"],
                                         "csrf_token": token.group(1)})
    assert answer.status_code == 302, answer.status_code
    anonymous = app.test_client()
    for kind, paths in work["paths"].items():  # warm-up: caches, views of the offers, templates
        for path in paths:
            assert (client if kind in STAFF else anonymous).get(path).status_code == 200, path
    out: dict[str, dict[str, list[float]]] = {}
    for kind, paths in work["paths"].items():
        wall, cpu = [], []
        asker = client if kind in STAFF else anonymous
        for path in paths:
            started, used = time.perf_counter(), time.process_time()
            asker.get(path)
            cpu.append((time.process_time() - used) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
        out[kind] = {"wall": wall, "cpu": cpu}
    print(json.dumps(out))


def build(url: str, folder: Path, offers: int, count: int) -> None:
    """The database, the staff login and the index, built by the current tree, and the requests to time."""
    sys.path.insert(0, str(ROOT / "bench"))
    from load import PASSWORD, PLACES, SECTIONS, prepare
    from search import TEXT

    app, ids = prepare(url, folder, offers, "off")
    app.extensions["atlas.engine"].dispose()
    work = {"password": PASSWORD, "url": url, "paths": requests_for(sorted(ids), count, TEXT, PLACES, SECTIONS)}
    Path(folder, "work.json").write_text(json.dumps(work))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per kind and round")
    parser.add_argument("--rounds", type=int, default=2, help="fresh processes per tree, alternated")
    parser.add_argument("--baseline-ref", help="also measure this git commit in a temporary worktree")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1])
        return
    sys.path.insert(0, str(ROOT / "bench"))
    from load import load_avg, scratch_database

    folder = Path(tempfile.mkdtemp(prefix="atlas-pages-"))
    try:
        with scratch_database(args.db, folder, args.postgres_url, "atlas_bench_pages") as url:
            measure(args, url, folder)
        print(f"load average (1/5/15 min) at the end: {load_avg()}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(args: argparse.Namespace, url: str, folder: Path) -> None:
    """Build, run the rounds of every tree in alternating order, print the tables."""
    from load import load_avg, stats

    trees = [("current", ROOT)]
    scratch = None
    try:
        build(url, folder, args.offers, args.requests)
        if args.baseline_ref:
            scratch = Path(tempfile.mkdtemp(prefix="atlas-pages-baseline-"))
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(scratch), args.baseline_ref],
                           check=True, capture_output=True)
            trees.insert(0, (f"baseline {args.baseline_ref}", scratch))
        results: dict[str, dict[str, dict[str, list[float]]]] = {}
        rounds: dict[tuple[str, str], list[float]] = {}  # CPU mean of each process: processes differ, rounds show it
        for round_no in range(args.rounds):
            # A B, B A, A B, ...: the first process of a round ran slower here, whichever code it had.
            for label, tree in (trees if round_no % 2 == 0 else trees[::-1]):
                print(f"round {round_no + 1}: {label}, load average {load_avg()}", file=sys.stderr)
                done = subprocess.run([sys.executable, __file__, "--child", str(tree), str(folder)],
                                      check=True, capture_output=True, text=True, cwd=tree)
                for kind, figures in json.loads(done.stdout.strip().splitlines()[-1]).items():
                    mine = results.setdefault(kind, {}).setdefault(label, {"wall": [], "cpu": []})
                    mine["wall"] += figures["wall"]
                    mine["cpu"] += figures["cpu"]
                    rounds.setdefault((kind, label), []).append(sum(figures["cpu"]) / len(figures["cpu"]))
        print(f"\n{args.offers} offers on {args.db}, {args.requests} requests per kind and round, {args.rounds} rounds "
              f"per tree; load average (1/5/15 min) at the end: {load_avg()}\n")
        print("| page | code | requests | wall p50 / p95 / p99 / max (ms) | CPU mean / p95 (ms) |")
        print("|---|---|---:|---|---|")
        for kind in KINDS:
            for label, _tree in trees:
                wall, cpu = stats(results[kind][label]["wall"]), stats(results[kind][label]["cpu"])
                cpu_mean = sum(results[kind][label]["cpu"]) / len(results[kind][label]["cpu"])
                print(f"| {kind} | {label} | {len(results[kind][label]['wall'])} | "
                      f"{wall['p50']:.2f} / {wall['p95']:.2f} / {wall['p99']:.2f} / {wall['max']:.2f} | "
                      f"{cpu_mean:.2f} / {cpu['p95']:.2f} |")
        print("\n| page | code | CPU mean of each round's process (ms) |\n|---|---|---|")
        for kind in KINDS:
            for label, _tree in trees:
                print(f"| {kind} | {label} | {', '.join(f'{v:.2f}' for v in rounds[(kind, label)])} |")
        print("\n| code | CPU ms per request of the mixed load profile, each round | mean |\n|---|---|---|")
        for label, _tree in trees:
            each = [sum(share * rounds[(kind, label)][r] for kind, share in MIX.items()) for r in range(args.rounds)]
            print(f"| {label} | {', '.join(f'{v:.2f}' for v in each)} | {sum(each) / len(each):.2f} |")
    finally:
        if scratch:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(scratch)], check=False)


if __name__ == "__main__":
    main()
