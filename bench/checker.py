#!/usr/bin/env python3
"""Link-checker benchmark: atlas's engine vs LinkChecker vs bare requests and urllib3 loops on loopback sites.

    .venv/bin/pip install 'linkchecker>=10.5,<11'     # bench-only baseline, not a dependency of atlas
    .venv/bin/python bench/checker.py                 # efficiency at 16 and 64: 1,500 URLs each, ~1 minute
    .venv/bin/python bench/checker.py --mixed 10000   # plus the accuracy fleet with every failure mode
    .venv/bin/python bench/checker.py --urls 500 --no-linkchecker --concurrency 16

Efficiency run: working pages on 119 hosts that all answer after the same latency (50 ms); each tool checks
them at each concurrency in the same run. Reported per tool: throughput, its share of the bound (concurrency /
latency), CPU per URL (atlas: its worker processes included) and peak RSS (the largest single process),
p50/p95/p99/max latency per URL, and the load average before and after. atlas runs as its scheduler would with
`CHECK_PROCESSES` = `--processes` (default 1, atlas's default: one process). Politeness pauses are off for all
(our host interval 0, LinkChecker's per-host limit lifted with its documented "LinkChecker" response header), no
retries (LinkChecker has none). The fleet runs on half the cores and every tool on the other half, as if
the sites were on other machines (`--no-pin`: all share every core, and the fleet's own CPU then counts against
the tool under test).

Accuracy fleet (--mixed N): every failure mode the checker detects, 10-200 ms per request, each URL's expected
finding known; reports correct findings and verdicts next to throughput and memory.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake-site server lives with the tests
sys.path.insert(0, str(ROOT))

from checker_sites import FakeWeb, Reply, html, make_certificates, server_tls  # noqa: E402

FIRST_HOST, LAST_HOST = 2, 120  # 127.0.0.2 .. 127.0.0.120: 119 hosts
ROBOTS_HOSTS = {f"127.0.0.{i}" for i in range(2, 12)}  # these disallow /b/robots/
# mode: (share of URLs, expected finding, how many requests a minimal client needs)
MODES: dict[str, tuple[float, str]] = {
    "ok": (0.683, "ok"), "doc": (0.03, "ok"), "head405": (0.005, "ok"), "temp": (0.02, "ok"),
    "perm": (0.04, "redirect_permanent"), "home": (0.01, "redirect_home"), "other": (0.01, "redirect_other_domain"),
    "changed": (0.01, "content_changed"), "e404": (0.04, "http_404"), "e410": (0.01, "http_410"),
    "e500": (0.02, "http_server"), "e429": (0.005, "rate_limited"), "soft": (0.01, "soft_404"),
    "parked": (0.005, "parked"), "blocked": (0.01, "blocked"), "challenge": (0.003, "blocked"),
    "robots": (0.005, "robots"), "loop": (0.003, "redirect_loop"), "chain": (0.002, "too_many_redirects"),
    "dns": (0.003, "dns"), "refused": (0.003, "refused"), "hang": (0.003, "timeout"), "stream": (0.001, "ok"),
    "trickle": (0.0005, "timeout"), "close": (0.002, "connection"), "expired": (0.002, "tls_expired"),
    "selfsigned": (0.002, "tls_self_signed"), "wronghost": (0.002, "tls_hostname"),
}
FAILING = {"http_404", "http_410", "http_server", "rate_limited", "soft_404", "parked", "blocked", "robots",
           "redirect_loop", "too_many_redirects", "dns", "refused", "timeout", "connection", "tls_expired",
           "tls_self_signed", "tls_hostname", "redirect_home", "redirect_other_domain", "content_changed"}
# Final verdict after the same finding repeats over time (checks at 0, 12 and 25 hours).
FINAL_STATE = {"ok": "ok", "redirect_permanent": "ok", "redirect_home": "warning", "redirect_other_domain": "warning",
               "content_changed": "warning", "robots": "manual_check", "blocked": "manual_check"}
TLS_PORTS = {"expired": 1, "selfsigned": 2, "wronghost": 3}
MAX_REDIRECTS = 10


def delay_for(n: int) -> float:
    """The fleet's latency for request number n: 10-200 ms, spread evenly."""
    return 0.010 + ((n * 7919) % 191) / 1000


def page(n: int, changed: bool = False) -> str:
    words = ("Pizza Lieferung Kochkurs Rezepte Rabatt Menü Bestellung Gutschein Dessert Salat" if changed else
             "Beratung Schulden Miete Jobcenter Termin Sprechstunde Hilfe Antrag Familie Arbeit").split()
    rng = random.Random(n + (10**6 if changed else 0))
    text = " ".join(rng.choice(words) for _ in range(300))
    return html(f"Angebot {n}: {'Kochkurs' if changed else 'Beratung'}", text)


# -- the fleet ------------------------------------------------------------------------------------------------
def make_handler(port: int):
    """The fleet's request handler; everything follows from the path /b/<mode>/<n>."""
    lc = {"LinkChecker": "1"}  # lifts LinkChecker's per-host throttle (documented in its manual)

    def handle(request) -> Reply:
        path = request.path.split("?")[0]
        if path == "/robots.txt":
            rule = "Disallow: /b/robots/" if request.ip in ROBOTS_HOSTS else "Allow: /"
            body = f"User-agent: *\n{rule}\n"
            return Reply(200, headers=lc | {"Content-Type": "text/plain"}, body=body, delay=0.01)
        if path == "/":
            return Reply(200, headers=lc, body=page(0), delay=0.01)
        parts = path.split("/")
        if parts[1] == "e":  # the efficiency run: every page answers after the same latency
            return Reply(200, headers=lc, body=page(int(parts[3])), delay=float(parts[2]) / 1000)
        mode, n = parts[2], int(parts[3].split(".")[0])
        delay = delay_for(n)
        if mode in ("ok", "changed", "stream_ok", "temp_target", "perm_target"):
            return Reply(200, headers=lc, body=page(n), delay=delay)
        if mode in ("doc", "head405"):
            if mode == "head405" and request.method == "HEAD":
                return Reply(405, headers=lc, delay=delay)
            return Reply(200, headers=lc | {"Content-Type": "application/pdf"}, body=b"%PDF-1.4 " * 100, delay=delay)
        redirects = {"temp": (302, f"/b/temp_target/{n}"), "perm": (301, f"/b/perm_target/{n}"), "home": (301, "/"),
                     "loop": (302, f"/b/loop/{n}")}
        if mode in redirects:
            code, target = redirects[mode]
            return Reply(code, headers=lc | {"Location": target}, delay=delay)
        if mode == "other":
            other = FIRST_HOST + (n % (LAST_HOST - FIRST_HOST))
            other = other + 1 if f"127.0.0.{other}" == request.ip else other
            return Reply(302, headers=lc | {"Location": f"http://127.0.0.{other}:{port}/b/ok/{n}"}, delay=delay)
        if mode == "chain":
            step = int(parts[4]) if len(parts) > 4 else 0
            return Reply(302, headers=lc | {"Location": f"/b/chain/{n}/{step + 1}"}, delay=delay)
        statuses = {"e404": 404, "e410": 410, "e500": 500, "blocked": 403}
        if mode in statuses:
            return Reply(statuses[mode], headers=lc, body=html("Fehler", "Fehler"), delay=delay)
        if mode == "e429":
            return Reply(429, headers=lc | {"Retry-After": "3600"}, delay=delay)
        if mode == "challenge":
            return Reply(503, headers=lc | {"cf-mitigated": "challenge"}, body=html("Just a moment...", ""),
                         delay=delay)
        if mode == "soft":
            title = "Seite nicht gefunden" if n % 2 else "Page not found"
            return Reply(200, headers=lc, body=html(title, "Diese Seite gibt es leider nicht."), delay=delay)
        if mode == "parked":
            return Reply(200, headers=lc, body=html("beratung.de", "Diese Domain steht zum Verkauf!"), delay=delay)
        if mode == "robots":
            return Reply(200, headers=lc, body=page(n), delay=delay)
        if mode in ("hang", "trickle", "stream", "close"):
            return Reply(200, headers=lc, mode=mode, delay=0 if mode == "hang" else delay, limit=15)
        if mode in TLS_PORTS:
            return Reply(200, headers=lc, body=page(n), delay=delay)
        return Reply(404, headers=lc, delay=delay)

    return handle


def fleet_main(port: int, cert_dir: str, conn, cores: set[int] | None = None) -> None:
    """The fleet process: plain HTTP on every host, TLS flavours on extra ports of 127.0.0.2."""
    if cores:
        os.sched_setaffinity(0, cores)
    certs = make_certificates(cert_dir)
    handler = make_handler(port)
    webs = [FakeWeb(handler, [(f"127.0.0.{i}", port) for i in range(FIRST_HOST, LAST_HOST + 1)])]
    for label, offset in TLS_PORTS.items():
        pair = certs[{"expired": "expired", "selfsigned": "self_signed", "wronghost": "wrong_host"}[label]]
        webs.append(FakeWeb(handler, [("127.0.0.2", port + offset)], tls=server_tls(pair)))
    for web in webs:
        web.keep_log = False

    async def main() -> None:
        for web in webs:
            await web.open()
        conn.send(("ready", str(certs["ca"])))
        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            if message == "stats":
                firsts = [w.first_at for w in webs if w.first_at is not None]
                lasts = [w.last_at for w in webs if w.last_at is not None]
                conn.send((min(firsts) if firsts else None, max(lasts) if lasts else None,
                           sum(w.count for w in webs)))
                for web in webs:
                    web.first_at, web.last_at, web.count = None, None, 0
            elif message == "stop":
                for web in webs:
                    await web.close_async()
                conn.send("stopped")
                return

    asyncio.run(main())


# -- the URL list and its ground truth -----------------------------------------------------------------------
@dataclass
class Case:
    id: int
    url: str
    mode: str
    expected: str
    service: float  # seconds a client with one request per hop needs at least
    prefer_head: bool
    baseline_title: str | None
    baseline_text: str | None


def build_cases(count: int, port: int, read_timeout: float, deadline: float) -> list[Case]:
    from atlas.checker.content import parse_html

    rng = random.Random(20260302)
    names = list(MODES)
    weights = [MODES[m][0] for m in names]
    modes = ["ok"] * count
    # every mode at least once, the rest by weight
    for i, mode in enumerate(names):
        modes[i] = mode
    for i in range(len(names), count):
        modes[i] = rng.choices(names, weights)[0]
    rng.shuffle(modes)
    cases = []
    for n, mode in enumerate(modes):
        host = f"127.0.0.{FIRST_HOST + n % (LAST_HOST - FIRST_HOST + 1)}"
        if mode == "robots":
            host = sorted(ROBOTS_HOSTS)[n % len(ROBOTS_HOSTS)]
        base = f"http://{host}:{port}"
        path = f"/b/{mode}/{n}"
        d = delay_for(n)
        service = d
        if mode in ("doc", "head405"):
            path += ".pdf"
        elif mode in ("temp", "perm", "other"):
            service = 2 * d
        elif mode == "home":
            service = d + 0.01
        elif mode == "loop":
            service = 2 * d
        elif mode == "chain":
            service = (MAX_REDIRECTS + 1) * d
        elif mode in ("dns", "refused", "robots", "expired", "selfsigned", "wronghost"):
            service = 0.0
        elif mode == "hang":
            service = read_timeout
        elif mode == "trickle":
            service = deadline
        if mode == "dns":
            base = f"http://nx-{n % 5}.invalid"
        elif mode == "refused":
            base = f"http://{host}:{port + 9}"
        elif mode in TLS_PORTS:
            base = f"https://127.0.0.2:{port + TLS_PORTS[mode]}"
        # The last good check saw this page; for "changed" it saw a different one.
        seen = parse_html(page(n, changed=(mode == "changed")))
        cases.append(Case(n, base + path, mode, MODES[mode][1], service, mode in ("doc", "head405"),
                          None if mode == "stream" else seen.title, None if mode == "stream" else seen.excerpt))
    return cases


# -- running atlas's engine (in a child process, so its memory is measured alone) -----------------------------
def child_ours(input_path: str, output_path: str) -> None:
    """Check the cases of a JSON-lines file (first line: the policy) and write the findings."""
    from atlas.checker.engine import Engine, Item, Policy, freeze_startup
    from atlas.checker.workers import WorkerPool, processes_for

    imported_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Python with the checker imported
    with open(input_path, encoding="utf-8") as lines:
        settings = json.loads(next(lines))
        processes = processes_for(settings.pop("processes"), settings["concurrency"])
        policy = Policy(**settings)
        items = []
        for line in lines:
            c = json.loads(line)
            items.append(Item(c["id"], c["url"], c["prefer_head"], c["baseline_title"], c["baseline_text"]))
    freeze_startup()  # as the scheduler's process does after its set-up
    results = {}
    started = time.monotonic()
    cpu = time.process_time()
    # As the scheduler does: workers forked before any thread starts, kept for the process's runs.
    pool = WorkerPool(processes) if processes > 1 else None
    with Engine(policy, pool=pool) as engine:
        for item, outcome in engine.run(items):
            results[item.key] = [outcome.kind, outcome.status, outcome.duration_ms]
    elapsed = time.monotonic() - started
    if pool is not None:
        pool.close()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    Path(output_path).write_text(json.dumps({
        "results": results, "elapsed": elapsed, "processes": processes,
        "cpu": time.process_time() - cpu + workers.ru_utime + workers.ru_stime, "baseline_kib": imported_kib}))


def child_bare(input_path: str, output_path: str, concurrency: int, client: str = "requests") -> None:
    """The floor for Python: a bare loop on a thread pool (GET, no checks), with requests or with urllib3."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests
    import urllib3

    urls = Path(input_path).read_text(encoding="utf-8").split()
    local = threading.local()
    pool = urllib3.PoolManager(num_pools=256, maxsize=2, retries=False)

    def get(url: str) -> float:
        started = time.monotonic()
        try:
            if client == "urllib3":
                pool.request("GET", url, timeout=2, redirect=False).data  # noqa: B018
            else:
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                local.session.get(url, timeout=2).content  # noqa: B018
        except (requests.RequestException, urllib3.exceptions.HTTPError):
            pass
        return (time.monotonic() - started) * 1000

    with ThreadPoolExecutor(concurrency) as workers:
        durations = list(workers.map(get, urls))
    Path(output_path).write_text(json.dumps({"durations": durations}))


def split_cores(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(fleet cores, tool cores): the fleet on half the cores, the tools on the rest; None when not pinned.

    The sites a checker visits run on other machines. On a small machine an unpinned fleet competes with the
    tool under test for the same cores, and the tool's share of the bound then measures the fleet as well.
    """
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not pin or len(cores) < 2:
        return None, None
    half = len(cores) // 2
    return set(cores[:half]), set(cores[half:])


TOOL_CORES: set[int] | None = None  # set by main(); every tool process runs on these cores


def _pin_tool() -> None:
    if TOOL_CORES:
        os.sched_setaffinity(0, TOOL_CORES)


def wait_with_rusage(proc: subprocess.Popen) -> tuple[int, float, int, float]:
    """Wait for a child; returns (exit code, monotonic exit time, peak RSS in KiB, CPU seconds)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.monotonic(), usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def run_ours(cases: list[Case], policy: dict, workdir: Path) -> dict:
    with open(workdir / "ours-in.json", "w", encoding="utf-8") as out:
        out.write(json.dumps(policy) + "\n")
        for case in cases:
            out.write(json.dumps(case.__dict__) + "\n")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(workdir / "ours-in.json"),
                             str(workdir / "ours-out.json")], cwd=ROOT, preexec_fn=_pin_tool)
    code, ended, rss, cpu_total = wait_with_rusage(proc)
    if code:
        raise SystemExit(f"the atlas engine run failed with exit code {code}")
    out = json.loads((workdir / "ours-out.json").read_text())
    return {"results": {int(k): v for k, v in out["results"].items()}, "engine_elapsed": out["elapsed"],
            "processes": out["processes"],
            "cpu": out["cpu"], "cpu_total": cpu_total, "ended": ended, "started": started, "rss_kib": rss,
            "baseline_kib": out["baseline_kib"]}


def run_bare(urls: list[str], concurrency: int, workdir: Path, client: str = "requests") -> dict:
    (workdir / "bare-in.txt").write_text("\n".join(urls), encoding="utf-8")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, __file__, "--bare-child", str(workdir / "bare-in.txt"),
                             str(workdir / "bare-out.json"), str(concurrency), client], cwd=ROOT,
                            preexec_fn=_pin_tool)
    code, ended, rss, cpu_total = wait_with_rusage(proc)
    if code:
        raise SystemExit(f"the bare {client} loop failed with exit code {code}")
    durations = json.loads((workdir / "bare-out.json").read_text())["durations"]
    return {"started": started, "ended": ended, "rss_kib": rss, "cpu_total": cpu_total, "durations": durations}


def run_linkchecker(cases: list[Case], concurrency: int, timeout: float, ca: str, workdir: Path) -> dict | None:
    exe = shutil.which("linkchecker", path=str(Path(sys.executable).parent)) or shutil.which("linkchecker")
    if exe is None:
        print("LinkChecker is not installed: .venv/bin/pip install 'linkchecker>=10.5,<11'", file=sys.stderr)
        return None
    rc = workdir / "linkcheckerrc"
    rc.write_text(f"[checking]\nthreads={concurrency}\ntimeout={timeout:g}\nmaxrequestspersecond=1000\n"
                  f"sslverify={ca}\nrecursionlevel=0\n[output]\nlog=csv\nverbose=1\n")
    out_path = workdir / "linkchecker.csv"
    started = time.monotonic()
    with open(out_path, "w") as out, open(workdir / "linkchecker.err", "w") as err:
        proc = subprocess.Popen([exe, "-f", str(rc), "--no-status", "-r", "0", "-t", str(concurrency), "-v",
                                 "-o", "csv", "--stdin"], stdin=subprocess.PIPE, stdout=out, stderr=err, text=True,
                                preexec_fn=_pin_tool)
        assert proc.stdin is not None
        proc.stdin.write("\n".join(c.url for c in cases))
        proc.stdin.close()
        _, ended, rss, cpu_total = wait_with_rusage(proc)
    rows = [line for line in out_path.read_text().splitlines() if line and not line.startswith("#")]
    reader = list(csv.DictReader(io.StringIO("\n".join(rows)), delimiter=";"))
    valid = {row["urlname"]: row["valid"] == "True" for row in reader}
    durations = [float(row["checktime"]) * 1000 for row in reader if row.get("checktime")]
    if not any(durations):  # LinkChecker 10.6 logs 0 for every URL: no latencies to report
        durations = []
    return {"valid": valid, "started": started, "ended": ended, "rss_kib": rss, "cpu_total": cpu_total,
            "durations": durations}


# -- evaluation ----------------------------------------------------------------------------------------------
def final_state(kind: str) -> str:
    """The verdict after the same finding repeats at 0, 12 and 25 hours."""
    from atlas.checker.engine import Outcome
    from atlas.checker.models import Link
    from atlas.checker.verdict import VerdictPolicy, apply

    link = Link(url="u", url_key="k", host="h", state="new", check_count=0, consecutive_failures=0,
                redirect_count=0)
    t0 = datetime(2026, 3, 2)
    for hours in (0, 12, 25):
        apply(link, Outcome("u", kind), t0 + timedelta(hours=hours), VerdictPolicy())
    return link.state


def expected_final(kind: str) -> str:
    return FINAL_STATE.get(kind, "broken")


def free_port() -> int:
    """A port free on every fleet address (and the TLS and refused ports above it), chosen by the OS."""
    import socket

    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
            port = probe.getsockname()[1]
        if port + 9 > 65535:
            continue
        try:
            for offset in (0, 1, 2, 3, 9):
                for host in ([f"127.0.0.{i}" for i in range(FIRST_HOST, LAST_HOST + 1)] if offset == 0
                             else ["127.0.0.2"]):
                    with socket.socket() as probe:
                        probe.bind((host, port + offset))
        except OSError:
            continue
        return port
    raise SystemExit("no free port for the fleet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=1500, help="URLs per efficiency run (default 1500)")
    parser.add_argument("--latency", type=float, default=0.05, help="the efficiency fleet's answer time (s)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--mixed", type=int, default=0, metavar="N",
                        help="also check N URLs of every failure mode for accuracy (at the last concurrency)")
    parser.add_argument("--timeout", type=float, default=2.0, help="connect and read timeout of both tools")
    parser.add_argument("--deadline", type=float, default=4.0, help="atlas's whole-attempt deadline")
    parser.add_argument("--port", type=int, default=0, help="fleet port (default: a free one)")
    parser.add_argument("--no-linkchecker", action="store_true")
    parser.add_argument("--processes", type=int, default=1,
                        help="atlas's CHECK_PROCESSES (default 1, as atlas; 0: as atlas chooses for the cores)")
    parser.add_argument("--no-pin", action="store_true",
                        help="let the fleet and the tools share every core (default: the fleet on half the cores, "
                             "the tools on the rest)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--bare-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_ours(*args.child)
        return
    if args.bare_child:
        child_bare(args.bare_child[0], args.bare_child[1], int(args.bare_child[2]), args.bare_child[3])
        return
    global TOOL_CORES
    args.port = args.port or free_port()
    fleet_cores, TOOL_CORES = split_cores(not args.no_pin)
    workdir = Path(tempfile.mkdtemp(prefix="atlas-bench-"))
    workdir.chmod(0o755)  # LinkChecker run as root drops to "nobody" and must still read its config
    parent, child = mp.Pipe()
    fleet = mp.Process(target=fleet_main, args=(args.port, str(workdir), child, fleet_cores),
                       daemon=True)
    fleet.start()
    pinning = (f"fleet pinned to cores {sorted(fleet_cores)}, every tool to {sorted(TOOL_CORES)}" if TOOL_CORES
               else "fleet and tools share every core")
    reports = [f"load average before: {load()}; CPU cores {os.cpu_count()}; {pinning}"]
    try:
        ready, ca = parent.recv()
        for conc in args.concurrency:
            reports.append(efficiency(args, conc, parent, ca, workdir))
        if args.mixed:
            args.concurrency = args.concurrency[-1]
            cases = build_cases(args.mixed, args.port, args.timeout, args.deadline)
            reports.append(evaluate(args, cases, policy_for(args, args.concurrency, ca), parent, ca, workdir))
    finally:
        parent.send("stop")
        parent.recv()
        fleet.join(5)
        shutil.rmtree(workdir, ignore_errors=True)
    reports.append(f"load average after: {load()}")
    print("\n\n".join(reports))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def policy_for(args, concurrency: int, ca: str) -> dict:
    """atlas's settings in the benchmark: no pause between requests to a host, at most 2 at once, no retries."""
    return dict(processes=args.processes, concurrency=concurrency, per_host=2, host_interval=0.0,
                connect_timeout=args.timeout, read_timeout=args.timeout, deadline=args.deadline, retries=0, robots=True,
                allowed_networks=["127.0.0.0/8"], ca_bundle=ca, max_redirects=MAX_REDIRECTS)


def percentiles(values: list[float]) -> str:
    """p50 / p95 / p99 / max of durations in ms."""
    if not values:
        return "-"
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"{at(0.5):.0f} / {at(0.95):.0f} / {at(0.99):.0f} / {ordered[-1]:.0f}"


def efficiency(args, conc: int, fleet, ca: str, workdir: Path) -> str:
    """Working pages only, every answer after the same latency: how close each tool gets to the bound."""
    n, latency = args.urls, args.latency
    ms = round(latency * 1000)
    hosts = [f"127.0.0.{FIRST_HOST + i % (LAST_HOST - FIRST_HOST + 1)}" for i in range(n)]
    cases = [Case(i, f"http://{hosts[i]}:{args.port}/e/{ms}/{i}", "ok", "ok", latency, False, None, None)
             for i in range(n)]
    service = n * latency + len(set(hosts)) * 0.01  # plus one robots.txt per host
    bound = n / (service / conc)
    rows = []

    def row(name: str, run: dict, durations: list[float]) -> None:
        fleet.send("stats")
        first, last, requests = fleet.recv()
        took = (last or run["ended"]) - (first or run["started"])  # first request to last answer
        rate = n / took
        rows.append((name, rate, f"| {name} | {took:.1f} s | {rate:.0f} URL/s | {rate / bound:.0%} | "
                     f"{run['cpu_total'] * 1000 / n:.2f} ms | {run['rss_kib'] / 1024:.0f} MB | "
                     f"{percentiles(durations)} | {requests} |"))

    ours = run_ours(cases, policy_for(args, conc, ca), workdir)
    row(f"atlas checker ({conc} threads in {ours['processes']} process{'es' if ours['processes'] > 1 else ''}, "
        "<=2/host)", ours, [v[2] for v in ours["results"].values()])
    wrong = sum(1 for v in ours["results"].values() if v[0] != "ok")
    if not args.no_linkchecker:
        lc = run_linkchecker(cases, conc, args.timeout, ca, workdir)
        if lc is not None:
            row(f"LinkChecker 10.6 ({conc} threads, unthrottled)", lc, lc["durations"])
    for client in ("requests", "urllib3"):
        bare = run_bare([c.url for c in cases], conc, workdir, client)
        row(f"bare {client} loop ({conc} threads, no robots, no checks)", bare, bare["durations"])
    lines = [f"### Concurrency {conc}: {n} working pages on {len(set(hosts))} hosts, every answer after "
             f"{ms} ms; bound {conc} / {latency:g} s (plus one robots.txt per host) = {bound:.0f} URL/s",
             "", "| tool | time | throughput | of bound | CPU per URL | peak RSS | latency p50 / p95 / p99 / max "
             "(ms) | requests |", "|---|---|---|---|---|---|---|---|"]
    lines += [text for _, _, text in rows]
    lines.append(f"\natlas: {ours['cpu'] * 1000 / n:.2f} ms CPU per URL inside the run "
                 f"({ours['cpu_total']:.2f} s for the whole process, start-up included); "
                 f"Python with the checker imported {ours['baseline_kib'] / 1024:.0f} MB; findings not ok: {wrong}")
    rates = {name.split(" (")[0]: rate for name, rate, _ in rows}
    if "LinkChecker 10.6" in rates:
        ratio = rates["atlas checker"] / rates["LinkChecker 10.6"]
        lines.append(f"Throughput ratio atlas / LinkChecker: {ratio:.2f}x")
    # The bare loop is the same machine's floor at that moment: this ratio stays put when the load changes.
    for client in ("requests", "urllib3"):
        lines.append(f"Throughput ratio atlas / bare {client} loop: "
                     f"{rates['atlas checker'] / rates[f'bare {client} loop']:.2f}x")
    return "\n".join(lines)


def evaluate(args, cases: list[Case], policy: dict, fleet, ca: str, workdir: Path) -> str:
    n, conc = len(cases), args.concurrency
    hosts = len({c.url.split("/")[2] for c in cases})
    service = sum(c.service for c in cases) + hosts * 0.01  # plus one robots.txt per host
    bound = n / (service / conc)
    ours = run_ours(cases, policy, workdir)
    fleet.send("stats")
    first, _, requests = fleet.recv()
    ours_time = ours["ended"] - (first or ours["started"])
    ours_rate = n / ours_time
    kinds_ok = sum(1 for c in cases if ours["results"][c.id][0] == c.expected)
    states_ok = sum(1 for c in cases if final_state(ours["results"][c.id][0]) == expected_final(c.expected))
    wrong = [(c.mode, c.expected, ours["results"][c.id][0]) for c in cases if ours["results"][c.id][0] != c.expected]
    lines = [
        f"URLs: {n} on {hosts} hosts (127.0.0.2-127.0.0.{LAST_HOST}, 3 TLS ports, 5 unknown domains); "
        f"fleet latency 10-200 ms per request; concurrency {conc}; timeout {args.timeout:g} s; CPU cores "
        f"{os.cpu_count()}",
        f"Bound (concurrency / latency): sum of minimal service times {service:.0f} s / {conc} = "
        f"{service / conc:.1f} s -> {bound:.0f} URL/s",
        "",
        "| tool | time (first request to exit) | throughput | of bound | peak RSS | correct findings | "
        "correct verdicts | requests |",
        "|---|---|---|---|---|---|---|---|",
        f"| atlas checker (urllib3, {conc} threads, <=2/host) | {ours_time:.1f} s | {ours_rate:.0f} URL/s | "
        f"{ours_rate / bound:.0%} | {ours['rss_kib'] / 1024:.0f} MB | {kinds_ok / n:.2%} | {states_ok / n:.2%} | "
        f"{requests} |",
    ]
    lc_rate = None
    if not args.no_linkchecker:
        lc = run_linkchecker(cases, conc, args.timeout, ca, workdir)
        if lc is not None:
            fleet.send("stats")
            first_lc, _, requests_lc = fleet.recv()
            lc_time = lc["ended"] - (first_lc or lc["started"])
            lc_rate = n / lc_time
            agree = sum(1 for c in cases
                        if c.url in lc["valid"] and (not lc["valid"][c.url]) == (c.expected in FAILING))
            lines.append(
                f"| LinkChecker 10.6 ({conc} threads, unthrottled) | {lc_time:.1f} s | {lc_rate:.0f} URL/s | "
                f"{lc_rate / bound:.0%} | {lc['rss_kib'] / 1024:.0f} MB | {agree / n:.2%} (valid/invalid only) | "
                f"- | {requests_lc} |")
    lines += ["", f"atlas engine: {ours['engine_elapsed']:.1f} s inside the engine, {ours['cpu']:.1f} s CPU "
              f"({ours['cpu'] * 1000 / n:.2f} ms per URL); peak RSS {ours['rss_kib'] / 1024:.0f} MB, of which "
              f"{ours['baseline_kib'] / 1024:.0f} MB is Python with the checker imported and "
              f"{(ours['rss_kib'] - ours['baseline_kib']) / 1024:.0f} MB the check run"]
    if lc_rate:
        lines.append(f"Throughput ratio atlas / LinkChecker: {ours_rate / lc_rate:.1f}x")
    if wrong:
        lines.append(f"Wrong findings ({len(wrong)}): {wrong[:20]}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
