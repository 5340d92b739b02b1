"""Load benchmark: gunicorn (4 workers, wsgi:app) with the indexer beside it, 10,000 offers, open-loop arrivals.

Run: .venv/bin/python bench/load.py [--db sqlite|postgresql|both] [--offers 10000] [--rates 20,40,60,80,100,120]
     [--step-seconds 20] [--workers 4] [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]
     [--semantic auto|off]

The mixed profile: public list and offer pages 40 %, API search 30 %, the public map 10 % (page and a marker
section), staff search /suche 20 %. Requests arrive at a fixed rate whatever the answers take (open loop), and a
request's latency is measured from its planned start, so queueing is counted. Meanwhile a coordinator saves an
edit every second (through the ORM in this process, like any other process would) and the time until the API
finds it is measured; in the middle step a 5,000-row CSV import runs through `flask --app atlas import`.
The rate is stepped up until p95 > 250 ms or any error; the highest rate held is printed. Baseline: the first
step (lowest rate) of the same run. With the local language model installed (--semantic auto), every offer is
embedded at set-up like the search index is built, so only the import's offers wait for the indexer; the vectors
of the generated offers are kept in ~/.cache/atlas-bench between runs (the first run spends about 7 minutes).

A/B instead of the ladder: `--baseline-ref REV [--rate 60] [--pairs 3] [--step-seconds 30]` runs gunicorn from a
temporary worktree of REV and from the current tree in turn (A B, B A, A B ...) on the same database and index, each
run with a fresh server, the same warm-up and an edit every second, and prints the CPU per request of each run.
This machine's speed drifts by 20-40 % within minutes, more than most changes save, so a ladder run before and one
after a change do not compare; runs next to each other do.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from importers import make_csv  # noqa: E402
from search import TEXT, populate  # noqa: E402

from atlas import create_app, schema  # noqa: E402
from atlas.auth import create_user  # noqa: E402
from atlas.db import get_session  # noqa: E402
from atlas.models import Service  # noqa: E402
from atlas.search import semantic  # noqa: E402
from atlas.search.sync import keeper  # noqa: E402
from atlas.search.viewstore import path_for  # noqa: E402
from atlas.seed import seed  # noqa: E402

BIN = Path(sys.executable).parent
PASSWORD = "bench horse battery staple"
P95_LIMIT_MS = 250.0
PLACES = ["Witten", "58636", "Hagen", "Lüdenscheid", "Schwelm"]
SECTIONS = [("50.9,6.8,51.8,8.3", 9), ("51.2,7.2,51.5,7.9", 11), ("51.33,7.6,51.4,7.75", 13), ("51.35,7.66,51.37,7.7", 15)]


def stats(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max (ms)."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]
    return {"p50": pct(50), "p95": pct(95), "p99": pct(99), "max": ordered[-1]}


def load_avg() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def processes() -> list[tuple[int, int, str, float]]:
    """(pid, parent pid, command name, CPU ms used so far: user + system) of every process."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:  # ended meanwhile
            continue
        fields = tail.split()
        found.append((int(stat.parent.name), int(fields[1]), head.split("(", 1)[1],
                      (int(fields[11]) + int(fields[12])) * TICK_MS))
    return found


class CpuMeter:
    """CPU used per part of the system between two readings: which process a request's cost lands in."""

    def __init__(self, server: int, indexer: int) -> None:
        self.server, self.indexer = server, indexer

    def read(self, importer: int | None = None) -> dict[str, float]:
        """Cumulative CPU ms per part, and of the whole machine.

        A process that ended between two readings (a worker gunicorn replaced after max_requests, the import) drops
        out of its part's sum, so that part is under-counted for the step; the machine's figure still holds it.
        """
        parts = {"workers": 0.0, "indexer": 0.0, "client": 0.0, "database": 0.0, "import": 0.0}
        for pid, parent, name, used in processes():
            if parent == self.server or pid == self.server:
                parts["workers"] += used
            elif pid == self.indexer or parent == self.indexer:
                parts["indexer"] += used
            elif name == "postgres":
                parts["database"] += used
            elif importer is not None and pid == importer:
                parts["import"] += used
            elif pid == os.getpid():
                parts["client"] = used
        busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        parts["machine"] = (sum(map(int, busy)) - int(busy[3]) - int(busy[4])) * TICK_MS
        return parts

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], requests_done: int) -> str:
        """CPU ms per request of each part (the import's total instead)."""
        each = CpuMeter.each(before, after, requests_done)
        shown = [f"{k} {each[k]:.1f}" for k in ("workers", "client", "indexer", "database") if each[k] > 0]
        extra = f", import {(after['import'] - before['import']) / 1000:.1f} s in all" if each["import"] > 0 else ""
        return "CPU ms per request: " + ", ".join(shown) + f", machine {each['machine']:.1f}" + extra

    @staticmethod
    def each(before: dict[str, float], after: dict[str, float], requests_done: int) -> dict[str, float]:
        """CPU ms per request of each part between two readings."""
        return {k: (after[k] - before[k]) / max(requests_done, 1) for k in after}


def env_for(url: str, folder: Path, semantic_mode: str, tree: Path = ROOT) -> dict[str, str]:
    """Environment of the server, the indexer and the importer: the same database and index directory."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    return keep | {"ATLAS_SEARCH_SEMANTIC": semantic_mode, "ATLAS_DATABASE_URL": url,
                   "ATLAS_SECRET_KEY": "bench-secret-key-not-for-production",
                   "ATLAS_SEARCH_INDEX_DIR": str(folder / "index"), "ATLAS_NOMINATIM_URL": "null",
                   "PYTHONPATH": str(tree)}


def prepare(url: str, folder: Path, offers: int, semantic_mode: str) -> tuple:
    """Schema, seed, offers, a staff login, the index and the offers' vectors at set-up. Returns the app and ids."""
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                      "INSTANCE_PATH": str(folder / "instance"), "SEARCH_INDEX_DIR": str(folder / "index"),
                      "NOMINATIM_URL": None, "SEARCH_BUILD_PROCS": 2, "SEARCH_SEMANTIC": semantic_mode})
    schema.upgrade(app.extensions["atlas.engine"])
    with app.app_context():
        session = get_session()
        seed(session, demo=False)
        create_user(session, "lotsin@bench.example", "staff", "Lea", PASSWORD)
        session.commit()
        populate(session, offers)
        if url.startswith("postgresql"):
            with app.extensions["atlas.engine"].connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
        started = time.perf_counter()
        keeper().rebuild(session)
        print(f"index built at set-up in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        if semantic.enabled(app.config):
            embed_at_setup(app, session, offers)
        ids = list(session.scalars(sa.select(Service.id).where(Service.status == "aktiv",
                                                               Service.visibility == "public")))
    return app, ids


def embed_at_setup(app, session, offers: int) -> None:
    """Every offer's vector, as an atlas in daily use has them (only an import's new offers wait for the indexer).

    Embedding 10,000 offers takes minutes; the vectors of the generated offers are kept between runs in
    ~/.cache/atlas-bench (the store re-checks every offer's text hash and embeds only what differs).
    """
    store = semantic.store_for(keeper().store.root)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "atlas-bench" / f"vectors-{offers}"
    if cache.is_dir() and not store.root.exists():
        shutil.copytree(cache, store.root)
    started = time.perf_counter()
    before = store.load()[0]
    done = semantic.refresh(session, store, app.config)
    if store.load()[0] != before:  # embedded, or written again in the current format
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(store.root, cache)
    print(f"vectors at set-up: {done} offers embedded in {time.perf_counter() - started:.1f} s "
          f"({len(store.load()[1])} stored)", file=sys.stderr)


def start_server(env: dict[str, str], workers: int, tree: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """gunicorn with `workers` workers on a free port of 127.0.0.1, running the code of `tree`."""
    # --preload: the app is imported once and forked, so workers share its memory and start at once.
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-w", str(workers), "-b", "127.0.0.1:0", "--timeout", "60",
                             "--preload", "wsgi:app"], cwd=tree, env=env, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
        if found:
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, found.group(1)
    raise RuntimeError("gunicorn did not start")


def worker_rss(master: int) -> list[float]:
    """Resident memory (MB) of gunicorn's worker processes."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{master}$", text, re.M):
            found.append(int(re.search(r"^VmRSS:\s+(\d+)", text, re.M).group(1)) / 1024)
    return sorted(found)


def start_indexer(env: dict[str, str]) -> subprocess.Popen:
    log = open(Path(env["ATLAS_SEARCH_INDEX_DIR"]).parent / "indexer.log", "w")  # noqa: SIM115
    return subprocess.Popen([str(BIN / "flask"), "--app", "atlas", "indexer"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def staff_cookies(base: str) -> dict[str, str]:
    """Log in through the real form once; every client thread reuses the session cookie."""
    with requests.Session() as s:
        page = s.get(base + "/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        answer = s.post(base + "/login", data={"email": "lotsin@bench.example", "password": PASSWORD,
                                               "csrf_token": token}, allow_redirects=False)
        assert answer.status_code == 302, answer.status_code
        return s.cookies.get_dict()


class Profile:
    """The mixed request profile; each call returns a (label, path, cookies) to request."""

    def __init__(self, ids: list[int], cookies: dict[str, str], seed_value: int = 1) -> None:
        self.ids, self.cookies, self.rnd = ids, cookies, random.Random(seed_value)
        self.lock = threading.Lock()

    def next(self) -> tuple[str, str, dict[str, str] | None]:
        with self.lock:
            r, rnd = self.rnd.random(), self.rnd
            if r < 0.20:
                return "public list", f"/angebote?seite={rnd.randint(1, 40)}", None
            if r < 0.40:
                return "offer page", f"/angebote/{rnd.choice(self.ids)}", None
            if r < 0.70:
                return "API search", f"/api/v1/services?q={rnd.choice(TEXT)}&per_page=20", None
            if r < 0.75:
                return "/karte", "/karte", None
            if r < 0.80:
                bbox, zoom = rnd.choice(SECTIONS)
                return "/karte/daten", f"/karte/daten?bbox={bbox}&zoom={zoom}", None
            near = f"&near={rnd.choice(PLACES)}" if rnd.random() < 0.5 else ""
            return "staff /suche", f"/suche?q={rnd.choice(TEXT)}{near}", self.cookies


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []

    def add(self, label: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(label, []).append(ms)
            if error:
                self.errors.append(f"{label}: {error}")

    def all(self) -> list[float]:
        return [v for values in self.latencies.values() for v in values]


HEADERS = dict(requests.utils.default_headers())


def get(base: str, path: str, cookies: dict[str, str] | None) -> str | None:
    """One GET, the answer read in full; None when it was a 200, else what went wrong.

    Plain http.client, not requests: the client shares the two cores with the server it measures, and requests'
    sessions, cookie jars and adapters cost it about 2 ms of CPU per request (a tenth of the machine at 100
    requests/s, and about 1.8 ms of a one-client request's latency) that a real visitor's browser spends on its own
    machine. gunicorn's sync workers close every connection after the answer, as they did for requests.
    """
    host, port = base.removeprefix("http://").split(":")
    # requests' headers: the same user agent as the login (Flask-Login's strong session protection ends a session
    # whose agent changes) and the same Accept-Encoding, so the server compresses as much as before (and as for a
    # browser); the answer is read, not decompressed.
    headers = HEADERS | ({"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {})
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", quote(path, safe="/?=&,:%"), headers=headers)  # as requests encodes "Lüdenscheid"
        answer = conn.getresponse()
        answer.read()
        return None if answer.status == 200 else f"HTTP {answer.status} {path}"
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__} {path}"
    finally:
        conn.close()


def fetch(base: str, item: tuple[str, str, dict | None], planned: float, results: Results) -> None:
    """One request of the load; latency counted from its planned start (open loop)."""
    label, path, cookies = item
    error = get(base, path, cookies)
    results.add(label, (time.perf_counter() - planned) * 1000, error)


class Editor(threading.Thread):
    """A coordinator saving an edit every second; measures when the API finds each edit."""

    def __init__(self, app, base: str, ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.app, self.base, self.ids = app, base, ids
        self.stop = threading.Event()
        self.delays: list[float] = []
        self.missing = 0
        self.n = 0

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.n += 1
            token = f"Kranichprobe{self.n}x{random.randint(1000, 9999)}"
            with self.app.app_context():
                session = get_session()
                service = session.get(Service, self.ids[self.n % len(self.ids)])
                service.name = f"{token} Beratung"
                session.commit()
                session.close()
            saved = time.perf_counter()
            threading.Thread(target=self.watch, args=(token, saved), daemon=True).start()

    def watch(self, token: str, saved: float) -> None:
        with requests.Session() as s:
            while time.perf_counter() - saved < 15:
                try:
                    if s.get(f"{self.base}/api/v1/services?q={token}", timeout=10).json().get("total_items"):
                        self.delays.append(time.perf_counter() - saved)
                        return
                except (requests.RequestException, ValueError):
                    pass
                time.sleep(0.25)  # polls are extra load: four per second per open edit at most
        self.missing += 1


def presentation(kind: str, base: str, cookies: dict[str, str], meter: CpuMeter) -> list[str]:
    """One client after another (closed loop, warm workers, no writes): API search and /suche latency.

    The client is the load's (`get`): until 7 Dec 2026 this step used requests, whose own overhead added about
    1.8 ms to every latency here (p50 9.7 against 8.0 ms on PostgreSQL with four workers, measured alternately).
    """
    lines = []
    for label, path, jar, rounds, p50_goal, p95_goal in (
            ("API search", "/api/v1/services?per_page=20&q=", None, 10, 10, 30),
            ("staff /suche", "/suche?q=", cookies, 5, None, 60)):
        times = []
        cpu_before = meter.read()
        for query in TEXT * rounds:
            started = time.perf_counter()
            error = get(base, path + query, jar)
            assert error is None, error
            times.append((time.perf_counter() - started) * 1000)
        st = stats(times)
        met = st["p95"] <= p95_goal and (p50_goal is None or st["p50"] <= p50_goal)
        goal = (f"p50 ≤ {p50_goal}, " if p50_goal else "") + f"p95 ≤ {p95_goal} ms"
        lines.append(f"| {kind} | {label}, one client, {len(times)} requests | | | {st['p50']:.1f} / {st['p95']:.1f} / "
                     f"{st['p99']:.1f} / {st['max']:.1f} | | {load_avg()} | {goal}: {'met' if met else 'not met'} |")
        print(f"    {label}: " + meter.per_request(cpu_before, meter.read(), len(times)), file=sys.stderr)
    return lines


def run_step(base: str, profile: Profile, rate: float, seconds: float) -> Results:
    """Send `rate` requests per second for `seconds`, each on its own schedule."""
    results = Results()
    total = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=200) as pool:
        start = time.perf_counter() + 0.1
        for i in range(total):
            planned = start + i / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(fetch, base, profile.next(), planned, results)
    return results


def warm_up(base: str, ids: list[int], workers: int) -> Profile:
    """Bring a fresh server to its working state; returns the profile (with a staff login) to load it with."""
    for _ in range(20):
        requests.get(base + "/healthz", timeout=120)
    profile = Profile(ids, staff_cookies(base))
    warm = Profile(ids, profile.cookies, seed_value=99)
    with ThreadPoolExecutor(max_workers=workers * 2) as pool:  # warm-up: every worker opens the index
        list(pool.map(lambda q: requests.get(f"{base}/api/v1/services?q={q}", timeout=120), TEXT * 4))
        # ... has the staff views of the presentation's queries (a worker builds each offer's view once per
        # version: about 1.2 ms an offer; in-process figures for cold pages are in docs/performance.md) ...
        list(pool.map(lambda q: requests.get(f"{base}/suche?q={q}", cookies=profile.cookies, timeout=120),
                      TEXT * 4))
        # ... and fills its caches for every kind of request (marker sets, views, templates)
        list(pool.map(lambda item: requests.get(base + item[1], cookies=item[2], timeout=120),
                      [warm.next() for _ in range(200)]))
    return profile


def run_database(kind: str, url: str, args, folder: Path) -> list[str]:
    """The whole stepped run against one database; returns report lines."""
    app, ids = prepare(url, folder, args.offers, args.semantic)
    env = env_for(url, folder, args.semantic)
    indexer = start_indexer(env)
    server, base = start_server(env, args.workers)
    lines = []
    importer = None
    try:
        profile = warm_up(base, ids, args.workers)
        meter = CpuMeter(server.pid, indexer.pid)
        lines += presentation(kind, base, profile.cookies, meter)
        print("\n".join(lines), file=sys.stderr)
        editor = Editor(app, base, ids)
        editor.start()
        csv_path = folder / "import.csv"
        make_csv(csv_path, 5000, 11, "LAST")
        held = None
        rates = [float(r) for r in args.rates.split(",")]
        for number, rate in enumerate(rates):
            import_note = ""
            if number == min(2, len(rates) - 1) and importer is None:
                import_log = open(folder / "import.log", "w+")  # noqa: SIM115  (read when it failed)
                importer = subprocess.Popen([str(BIN / "flask"), "--app", "atlas", "import", str(csv_path),
                                             "--source", "Lastprobe"], cwd=ROOT, env=env,
                                            stdout=import_log, stderr=subprocess.STDOUT, text=True)
                import_started = time.perf_counter()
                import_note = " (5,000-row import started)"
            before = len(editor.delays)
            cpu_before = meter.read(importer.pid if importer else None)
            results = run_step(base, profile, rate, args.step_seconds)
            cpu = meter.per_request(cpu_before, meter.read(importer.pid if importer else None), len(results.all()))
            s = stats(results.all())
            edits = editor.delays[before:]
            ok = s["p95"] <= P95_LIMIT_MS and not results.errors
            if importer is not None and importer.poll() is not None and "import" not in import_note:
                import_note = f" (import done: exit {importer.returncode} after {time.perf_counter() - import_started:.0f} s)"
                if importer.returncode:
                    print("import failed:\n" + (folder / "import.log").read_text()[-3000:], file=sys.stderr)
                importer_done = importer
                importer = importer_done  # keep the handle; the note is printed once
            lines.append(f"| {kind} | {rate:.0f} | {len(results.all())} | {len(results.errors)} | {s['p50']:.0f} / "
                         f"{s['p95']:.0f} / {s['p99']:.0f} / {s['max']:.0f} | "
                         f"{max(edits) if edits else float('nan'):.2f} | {load_avg()} | {'held' if ok else 'not held'}"
                         f"{import_note} |")
            per_class = ", ".join(f"{k} p95 {stats(v)['p95']:.0f}" for k, v in sorted(results.latencies.items()))
            print(lines[-1] + "\n    " + per_class + "\n    " + cpu + ("\n    errors: " + "; ".join(results.errors[:5])
                                                     if results.errors else ""), file=sys.stderr)
            if not ok:
                break
            held = rate
        editor.stop.set()
        rss = worker_rss(server.pid)
        lines.append(f"| {kind} | worker RSS after the run: {', '.join(f'{v:.0f}' for v in rss)} MB | | | | | | |")
        time.sleep(3)
        if importer is not None:
            importer.wait(timeout=600)
        lines.append(f"| {kind} | highest rate held: **{held or 0:.0f} requests/s** | | | | edits searchable: max "
                     f"{max(editor.delays):.2f} s over {len(editor.delays)} edits, {editor.missing} not found in 15 s"
                     f" | | |")
    finally:
        for proc in (server, indexer):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if importer is not None and importer.poll() is None:
            importer.kill()
        app.extensions["atlas.engine"].dispose()
    return lines


def run_pairs(kind: str, url: str, args, folder: Path) -> list[str]:
    """The current tree against --baseline-ref at one fixed rate, in alternating order: the machine's speed drifts
    by more within minutes than a change saves, so only runs next to each other compare."""
    app, ids = prepare(url, folder, args.offers, args.semantic)
    scratch = Path(tempfile.mkdtemp(prefix="atlas-load-baseline-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(scratch), args.baseline_ref],
                   check=True, capture_output=True)
    trees = [(f"baseline {args.baseline_ref}", scratch), ("current", ROOT)]
    indexer = start_indexer(env_for(url, folder, args.semantic))
    lines = []
    try:
        for pair in range(args.pairs):
            for label, tree in (trees if pair % 2 == 0 else trees[::-1]):
                for stale in folder.glob(path_for(folder / "index").name + "*"):
                    stale.unlink()  # views a tree shared in an earlier run would warm the next one
                server, base = start_server(env_for(url, folder, args.semantic, tree), args.workers, tree)
                editor = None
                try:
                    profile = warm_up(base, ids, args.workers)
                    meter = CpuMeter(server.pid, indexer.pid)
                    editor = Editor(app, base, ids)
                    editor.start()
                    before = meter.read()
                    results = run_step(base, profile, args.rate, args.step_seconds)
                    after = meter.read()
                finally:
                    if editor is not None:
                        editor.stop.set()
                    server.terminate()
                    try:
                        server.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        server.kill()
                s, done = stats(results.all()), len(results.all())
                cpu = meter.each(before, after, done)
                database = f"{cpu['database']:.1f}" if cpu["database"] > 0 else "–"
                lines.append(f"| {kind} | {pair + 1} | {label} | {done} | {len(results.errors)} | "
                             f"{s['p50']:.0f} / {s['p95']:.0f} / {s['p99']:.0f} / {s['max']:.0f} | "
                             f"{cpu['workers']:.1f} / {database} / {cpu['machine']:.1f} | {load_avg()} |")
                print(lines[-1] + "\n    " + meter.per_request(before, after, done), file=sys.stderr)
    finally:
        indexer.terminate()
        indexer.wait(timeout=30)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(scratch)], check=False)
        app.extensions["atlas.engine"].dispose()
    return lines


@contextmanager
def scratch_database(kind: str, folder: Path, postgres_url: str, name: str) -> Iterator[str]:
    """The URL of an empty database for one run: a SQLite file in folder, or a PostgreSQL database dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'atlas.sqlite'}"
        return
    admin = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield str(sa.engine.make_url(postgres_url).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--rates", default="20,40,60,80,100,120,150")
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--semantic", choices=["auto", "off"], default="auto",
                        help="SEARCH_SEMANTIC of the atlas under load (auto: the local model when installed)")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--baseline-ref", help="instead of the ladder: this commit (in a temporary worktree) against "
                        "the current tree at --rate, alternating, --pairs times (both must read the same index layout)")
    parser.add_argument("--rate", type=float, default=60.0, help="with --baseline-ref: requests per second")
    parser.add_argument("--pairs", type=int, default=3, help="with --baseline-ref: runs of each tree")
    args = parser.parse_args()
    lines = []
    for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        folder = Path(tempfile.mkdtemp(prefix=f"atlas-load-{kind}-"))
        try:
            with scratch_database(kind, folder, args.postgres_url, f"atlas_load_i16_{os.getpid()}") as url:
                lines += (run_pairs if args.baseline_ref else run_database)(kind, url, args, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\nload average (1/5/15 min) at the end: {load_avg()}; {os.cpu_count()} cores\n")
    if args.baseline_ref:
        print(f"{args.rate:.0f} requests/s of the mixed profile for {args.step_seconds:.0f} s per run, an edit every "
              "second, no import\n")
        print("| database | pair | code | requests | errors | latency p50 / p95 / p99 / max (ms) | CPU ms per request: "
              "workers / database / machine | load average |")
        print("|---|---:|---|---:|---:|---|---|---|")
        print("\n".join(lines))
        return
    print("| database | rate (req/s) | requests | errors | latency p50 / p95 / p99 / max (ms) | slowest edit searchable (s) "
          "| load average | p95 ≤ 250 ms, 0 errors |")
    print("|---|---:|---:|---:|---|---:|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
