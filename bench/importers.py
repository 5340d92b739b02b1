"""Benchmark: 10,000-row CSV and HSDS imports (dry run and commit, with duplicate detection and search sync).

Run: .venv/bin/python bench/importers.py [--rows 10000]         (the full comparison, about 8 minutes)
     .venv/bin/python bench/importers.py --targets [--rows 10000] (issue 15's targets, about 3.5 minutes)
Prints a table; baselines in the same run: a naive duplicate check with one query per row, and a plain
csv.DictReader parse with a bulk insert (no planning, no duplicate detection, no audit).

--targets measures what a coordinator waits for, each phase in a fresh process so its peak memory (ru_maxrss)
is its own: a 10,000-row CSV read + planned + committed + the search index brought up to date (target: 20 s
wall, 300 MB), and the identical re-import, planned and committed (target: 10 s wall); then the same import into
an atlas that already has a search index, which the indexer catches up (the usual case); per-row planning times
give p50/p95/p99/max, and the plain bulk INSERT runs in the same process as the baseline.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from atlas import create_app, schema  # noqa: E402
from atlas.db import get_session  # noqa: E402
from atlas.duplicates import normalise_name  # noqa: E402
from atlas.importers import read_file  # noqa: E402
from atlas.importers.cli import path_digest, read_options  # noqa: E402
from atlas.importers.commit import commit_plan  # noqa: E402
from atlas.importers.export import Exporter  # noqa: E402
from atlas.importers.plan import plan_import  # noqa: E402
from atlas.models import Address, Location, Organization, Service, ServiceAtLocation  # noqa: E402
from atlas.seed import SEEDS, seed  # noqa: E402

TARGET = 20.0
PLACES = [("58452", "Witten"), ("58455", "Witten"), ("58095", "Hagen"), ("58332", "Schwelm"), ("58285", "Gevelsberg"),
          ("58256", "Ennepetal"), ("45525", "Hattingen"), ("45549", "Sprockhövel"), ("58300", "Wetter (Ruhr)"),
          ("58313", "Herdecke"), ("58339", "Breckerfeld"), ("58511", "Lüdenscheid"), ("58636", "Iserlohn"),
          ("58706", "Menden (Sauerland)"), ("58762", "Altena"), ("58840", "Plettenberg"), ("58791", "Werdohl")]
KINDS = [("Suchtberatung", "suchtberatung"), ("Schuldnerberatung", "schuldnerberatung"),
         ("Allgemeine Sozialberatung", "Allgemeine Sozialberatung"), ("Selbsthilfegruppe", "selbsthilfe"),
         ("Tafel", "materielle-hilfen"), ("Familienberatung", "familienberatung"), ("Jobcoaching", "jobcoaching"),
         ("Tagesstätte", "tagesstruktur"), ("Psychotherapie", "psychotherapie"), ("Sprachcafé", "bildung-kultur")]
TRAEGER = ["Diakonie", "Caritas", "AWO", "DRK", "Paritätischer", "Stadt", "Verein Miteinander", "Bildungswerk",
           "Kreissportbund", "Förderverein"]
STREETS = ["Hauptstraße", "Bahnhofstraße", "Kirchplatz", "Marktstraße", "Ruhrstraße", "Schulstraße", "Gartenweg",
           "Lindenallee", "Bergstraße", "Am Rathaus"]


def pseudo_word(rnd: random.Random) -> str:
    """A made-up proper name ("Brunolt"), so generated offers differ like real ones do."""
    consonants, vowels = "bdfghklmnprstvwz", "aeiou"
    return "".join(rnd.choice(consonants if i % 2 == 0 else vowels) for i in range(rnd.randint(5, 8))).title()


def make_csv(path: Path, rows: int, seed_value: int, prefix: str, variants_of: list[dict] | None = None) -> list[dict]:
    """Write a realistic `;` CSV; with variants_of, every fifth row is a near-duplicate of an earlier source."""
    rnd = random.Random(seed_value)
    written = []
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["ID", "Einrichtung", "Träger", "Straße", "PLZ", "Ort", "Telefon", "E-Mail", "Homepage",
                         "Kategorie", "Öffnungszeiten", "Bemerkungen"])
        for n in range(rows):
            if variants_of and n % 5 == 0:
                base = variants_of[n]
                row = dict(base, id=f"{prefix}-{n}", name=base["name"].replace("beratung", "-Beratung") + " e. V.",
                           phone=base["phone"], web=base["web"].replace("https://www.", "http://"))
            else:
                plz, city = rnd.choice(PLACES)
                kind, category = KINDS[n % len(KINDS)]
                traeger = f"{rnd.choice(TRAEGER)} {pseudo_word(rnd)}"
                row = {"id": f"{prefix}-{n}", "name": f"{kind} {pseudo_word(rnd)} {pseudo_word(rnd)}", "traeger": traeger,
                       "street": f"{rnd.choice(STREETS)} {rnd.randint(1, 200)}", "plz": plz, "city": city,
                       "phone": f"0{rnd.randint(2000, 2399)} {seed_value}{n:06d}",
                       "web": f"https://www.{prefix.lower()}{n}.example/", "category": category,
                       "hours": "Mo-Fr 9-12 Uhr", "notes": f"Ansprechperson Nr. {n}"}
            written.append(row)
            writer.writerow([row["id"], row["name"], row["traeger"], row["street"], row["plz"], row["city"],
                             row["phone"], f"info@{prefix.lower()}{n}.example", row["web"], row["category"],
                             row["hours"], row["notes"]])
    return written


def new_atlas(folder: Path):
    """An app on its own SQLite file with taxonomy, regions and users."""
    folder.mkdir(parents=True)
    seeds = folder / "seeds"
    shutil.copytree(SEEDS, seeds, ignore=shutil.ignore_patterns("demo", "gazetteer"))
    (seeds / "demo").mkdir()
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder / 'atlas.sqlite'}",
                      "INSTANCE_PATH": str(folder / "instance"), "NOMINATIM_URL": None, "IMPORT_MAX_ROWS": 100_000,
                      "IMPORT_MAX_BYTES": 200 * 1024 * 1024})
    schema.upgrade(app.extensions["atlas.engine"])
    with app.app_context():
        session = get_session()
        seed(session, seeds)
        session.commit()
    return app


def timed(label: str, rows: int, results: list, fn):
    """Run fn, record its wall-clock and CPU time; returns fn's result."""
    started, cpu = time.perf_counter(), time.process_time()
    value = fn()
    results.append((label, rows, time.perf_counter() - started, time.process_time() - cpu))
    return value


def importer(app, path: Path, source: str, commit: bool):
    """Plan (and commit) a file the way the CLI does; returns the plan."""
    with app.app_context():
        session = get_session()
        result = read_file(path, None, read_options(app.config))
        plan = plan_import(session, result, source, path.name, path_digest(path))
        if commit:
            commit_plan(session, plan, actor=f"import:{source}")
            session.commit()
        return plan


def search_sync(app) -> str | None:
    """Bring the search index up to date, if the search module offers sync(); returns why not otherwise."""
    try:
        from atlas.search import sync
    except ImportError as exc:
        return f"atlas.search.sync not available ({exc})"
    with app.app_context():
        sync(get_session())
    return None


def naive_duplicates(app, rows: list[dict]) -> int:
    """Baseline: one query per row for same-town offers, then rapidfuzz in Python (what a first version does)."""
    found = 0
    with app.app_context():
        session = get_session()
        for row in rows:
            names = session.execute(
                select(Service.id, Service.name).join(ServiceAtLocation).join(Location).join(Address)
                .where(Address.city == row["city"])).all()
            key = normalise_name(row["name"])
            if any(fuzz.token_sort_ratio(key, normalise_name(n)) >= 85 for _i, n in names):
                found += 1
    return found


def plain_bulk_insert(app, path: Path) -> int:
    """Baseline: csv.DictReader and a bulk INSERT of organisations, offers, sites and addresses (no checks)."""
    with app.app_context():
        session = get_session()
        with path.open(encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh, delimiter=";"))
        orgs = session.execute(insert(Organization).returning(Organization.id),
                               [{"name": r["Träger"], "uuid": f"b-o-{i}", "visibility": "public", "version_id": 1,
                                 "source_name": "bulk", "source_id": f"o{i}"} for i, r in enumerate(rows)]).scalars().all()
        svcs = session.execute(insert(Service).returning(Service.id),
                               [{"name": r["Einrichtung"], "organization_id": o, "uuid": f"b-s-{i}", "status": "aktiv",
                                 "visibility": "public", "version_id": 1, "intake_status": "unbekannt",
                                 "source_name": "bulk", "source_id": f"s{i}"}
                                for i, (r, o) in enumerate(zip(rows, orgs))]).scalars().all()
        locs = session.execute(insert(Location).returning(Location.id),
                               [{"organization_id": o, "uuid": f"b-l-{i}", "location_type": "physical",
                                 "geo_precision": "unbekannt", "address_precision": "exakt", "visibility": "public"}
                                for i, o in enumerate(orgs)]).scalars().all()
        session.execute(insert(Address), [{"location_id": loc, "address_1": r["Straße"], "postal_code": r["PLZ"],
                                           "city": r["Ort"], "country": "DE"} for r, loc in zip(rows, locs)])
        session.execute(insert(ServiceAtLocation), [{"service_id": s, "location_id": loc} for s, loc in zip(svcs, locs)])
        session.commit()
        return len(rows)


def _index_phase(folder: str, queue) -> None:
    """Bring the search index up to date in its own process (as the indexer does), with its peak memory."""
    import resource

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder}/atlas.sqlite",
                      "INSTANCE_PATH": f"{folder}/instance", "NOMINATIM_URL": None})
    started, cpu = time.perf_counter(), _cpu()
    search_sync(app)
    queue.put({"seconds": time.perf_counter() - started, "cpu": _cpu() - cpu,
               "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _cpu() -> float:
    """CPU seconds of this process and its finished children (a parallel index build runs in children)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _phase(folder: str, csv_path: str, source: str, sync: bool, queue) -> None:
    """One import in a fresh process: timings per step, per-row planning times and the peak memory."""
    import resource

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder}/atlas.sqlite",
                      "INSTANCE_PATH": f"{folder}/instance", "NOMINATIM_URL": None, "IMPORT_MAX_ROWS": 100_000,
                      "IMPORT_MAX_BYTES": 200 * 1024 * 1024})
    times: dict[str, float] = {}
    ticks: list[float] = []
    started, cpu = time.perf_counter(), _cpu()
    with app.app_context():
        session = get_session()
        path = Path(csv_path)
        result = read_file(path, None, read_options(app.config))
        times["read"] = time.perf_counter() - started
        last = [time.perf_counter()]

        def tick(_n: int) -> None:
            now = time.perf_counter()
            ticks.append(now - last[0])
            last[0] = now

        plan = plan_import(session, result, source, path.name, path_digest(path), progress=tick)
        times["plan"] = time.perf_counter() - started - times["read"]
        mark = time.perf_counter()
        commit_plan(session, plan, actor=f"import:{source}")
        session.commit()
        times["commit"] = time.perf_counter() - mark
        mark = time.perf_counter()
        if sync:
            search_sync(app)
        times["sync"] = time.perf_counter() - mark
        times["total"] = time.perf_counter() - started
        times["cpu"] = _cpu() - cpu
        summary = plan.summary()
    queue.put({"times": times, "ticks": ticks, "summary": summary,
               "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _in_process(target, *args) -> dict:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*map(str, args), queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(0.5):.2f} ms, p95 {pick(0.95):.2f} ms, p99 {pick(0.99):.2f} ms, max {ordered[-1] * 1000:.2f} ms"


def targets(n: int) -> None:
    """Issue 15's targets: import + search index ≤ 20 s wall and ≤ 300 MB; identical re-import ≤ 10 s."""
    tmp = Path(tempfile.mkdtemp(prefix="atlas-bench-"))
    try:
        path = tmp / "quelle.csv"
        make_csv(path, n, 1, "A")
        new_atlas(tmp / "a")
        first = _in_process(_phase, tmp / "a", path, "A", "")
        first["index"] = _in_process(_index_phase, tmp / "a")
        again = _in_process(_phase, tmp / "a", path, "A", "")
        again["index"] = _in_process(_index_phase, tmp / "a")
        # The usual case: the atlas already has a search index, and the indexer catches up after the import.
        new_atlas(tmp / "b")
        _in_process(_index_phase, tmp / "b")
        indexed = _in_process(_phase, tmp / "b", path, "A", "")
        indexed["index"] = _in_process(_index_phase, tmp / "b")
        baseline_app = new_atlas(tmp / "c")
        started = time.perf_counter()
        plain_bulk_insert(baseline_app, path)
        baseline = time.perf_counter() - started
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    print(f"\n{n:,} rows; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    for label, run, target in (("import (read + plan + commit, then search index)", first, 20.0),
                               ("identical re-import (read + plan + commit, then index)", again, 10.0),
                               ("import into an indexed atlas (then the indexer's catch-up)", indexed, 20.0)):
        t, index = run["times"], run["index"]
        total = t["total"] + index["seconds"]
        print(f"{label}: {total:.1f} s wall (target {target:g} s: {'ok' if total <= target else 'MISSED'}) "
              f"= read {t['read']:.1f} + plan {t['plan']:.1f} + commit {t['commit']:.1f} + index {index['seconds']:.1f}; "
              f"peak: import process {run['peak_mb']:.0f} MB (target 300 MB: "
              f"{'ok' if run['peak_mb'] <= 300 else 'MISSED'}), index process {index['peak_mb']:.0f} MB; "
              f"{run['summary']}")
        cpu = t["cpu"] + index["cpu"]
        print(f"  CPU: import {t['cpu']:.1f} s + index {index['cpu']:.1f} s = {cpu:.1f} s")
        print(f"  planning per row: {_percentiles(run['ticks'])}")
    print(f"baseline in this process: csv.DictReader + bulk INSERT, no planning/checks/audit: {baseline:.1f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--targets", action="store_true", help="measure issue 15's targets only")
    parser.add_argument("--naive-sample", type=int, default=300, help="rows of the naive baseline (extrapolated)")
    args = parser.parse_args()
    n = args.rows
    if args.targets:
        targets(n)
        return
    tmp = Path(tempfile.mkdtemp(prefix="atlas-bench-"))
    results: list[tuple[str, int, float]] = []
    notes: list[str] = []
    try:
        first_csv, second_csv = tmp / "quelle_a.csv", tmp / "quelle_b.csv"
        rows_a = make_csv(first_csv, n, 1, "A")
        rows_b = make_csv(second_csv, n, 2, "B", variants_of=rows_a)
        app = new_atlas(tmp / "a")
        plan = timed("CSV: dry run, empty atlas", n, results, lambda: importer(app, first_csv, "A", False))
        notes.append(f"CSV dry run: {plan.summary()}")
        timed("CSV: plan + commit (one transaction)", n, results, lambda: importer(app, first_csv, "A", True))
        started, cpu = time.perf_counter(), time.process_time()
        why = search_sync(app)
        if why is None:
            results.append(("search index sync after the import", n, time.perf_counter() - started,
                            time.process_time() - cpu))
        else:
            notes.append(f"search indexing not measured: {why}")
        plan = timed("CSV: re-import dry run (all unchanged)", n, results, lambda: importer(app, first_csv, "A", False))
        notes.append(f"CSV re-import: {plan.summary()}")
        plan = timed("CSV: 2nd source, duplicate detection vs 10k", n, results,
                     lambda: importer(app, second_csv, "B", False))
        notes.append(f"2nd source: {plan.summary()}")
        sample = rows_b[: args.naive_sample]
        started, cpu = time.perf_counter(), time.process_time()
        naive_found = naive_duplicates(app, sample)
        factor = n / len(sample)
        results.append((f"baseline: naive per-row query dup check ({len(sample)} rows x{factor:g})", n,
                        (time.perf_counter() - started) * factor, (time.process_time() - cpu) * factor))
        notes.append(f"naive baseline flagged {naive_found} of {len(sample)} sampled rows")
        package = tmp / "paket.zip"
        with app.app_context():
            timed("HSDS: export package (internal)", n, results,
                  lambda: Exporter(get_session(), True).write_package(package))
        other = new_atlas(tmp / "b")
        plan = timed("HSDS: dry run, empty atlas", n, results, lambda: importer(other, package, "hsds", False))
        notes.append(f"HSDS dry run: {plan.summary()}")
        timed("HSDS: plan + commit (one transaction)", n, results, lambda: importer(other, package, "hsds", True))
        third = new_atlas(tmp / "c")
        timed("baseline: DictReader + bulk INSERT, no planning", n, results, lambda: plain_bulk_insert(third, first_csv))
        with other.app_context():
            notes.append(f"offers in the HSDS target atlas: {get_session().scalar(select(func.count(Service.id)))}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{'step':<58} {'rows':>7} {'wall s':>7} {'CPU s':>7} {'rows/s':>7}  target (CPU <= {TARGET:g} s)")
    for label, rows, wall, cpu in results:
        check = "" if label.startswith(("baseline", "HSDS: export", "search")) else (
            "ok" if cpu <= TARGET else "too slow")
        print(f"{label:<58} {rows:>7} {wall:>7.2f} {cpu:>7.2f} {rows / wall:>7.0f}  {check}")
    print(f"- load average at the end: {load:.1f} on {os.cpu_count()} cores (wall times grow with other work; "
          "CPU time is this process only)")
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
