"""Public pages on a cheap phone: Chromium with DevTools' "Slow 3G" network and CPU ×4 against gunicorn on the demo data.

Run: .venv/bin/python bench/public.py [--runs 5] [--profiles slow3g,slow3g-400] [--baseline-ref b1f2f64^] [--port 8731]

For every public page kind (home, /angebote with a query, an offer page, /karte, the embed, a 404, a Leichte
Sprache page) it prints the bytes transferred (encoded, as on the wire, until the page is done: for maps until
the first markers are shown), first contentful paint and, for maps, the time until markers are visible
(performance mark "atlas-markers" set by static/js/atlas-map.js). Each page is loaded --runs times in a fresh
browser context (empty cache, "cold") and once more in the same context ("repeat", static files from the cache).
Baselines in the same run: the same loads without throttling, and with --baseline-ref the same throttled loads
against that commit, checked out into a temporary git worktree and served the same way.

Network: DevTools' "Slow 3G" preset (renamed "3G" in 2024), as in DevTools' NetworkManager.ts: download and upload
500 kbit/s × 0.8 = 400 kbit/s (50,000 bytes/s), latency 400 ms × 5 = 2,000 ms per request. CPU:
Emulation.setCPUThrottlingRate 4. Viewport 390 × 844. A second profile keeps the bandwidth but uses DevTools' base round
trip of 400 ms per request (the figure issue 10's brief names).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SLOW_3G = {"offline": False, "latency": 400 * 5, "downloadThroughput": 500 * 1000 / 8 * 0.8,
           "uploadThroughput": 500 * 1000 / 8 * 0.8}
# The same bandwidth with DevTools' base round trip of 400 ms, before its ×5 request-latency factor (how issue 10
# and its brief describe "Slow 3G").
SLOW_3G_400 = SLOW_3G | {"latency": 400}
PROFILES = {"slow3g": ("Slow 3G (DevTools: 400 kbit/s, 2,000 ms per request) + CPU ×4", SLOW_3G),
            "slow3g-400": ("400 kbit/s, 400 ms per request + CPU ×4", SLOW_3G_400)}
CPU_RATE = 4
PAGES = [("home", "/", False), ("search", "/angebote?q=Schuldnerberatung+Hemer", False), ("offer", None, False),
         ("map", "/karte", True), ("embed", "/karte/embed", True), ("404", "/gibt-es-nicht", False),
         ("easy", "/?leicht=1", False)]
TARGETS = {False: (50_000, 3000.0), True: (150_000, 5000.0)}  # bytes, ms (first paint; markers for maps)


def stats(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max (nearest rank)."""
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]

    return {"p50": pct(50), "p95": pct(95), "p99": pct(99), "max": ordered[-1]}


def fmt(values: list[float]) -> str:
    """'p50 / p95 / p99 / max' in whole units."""
    s = stats(values)
    return " / ".join(f"{s[k]:,.0f}" for k in ("p50", "p95", "p99", "max"))


def flask(tree: Path, env: dict[str, str], *args: str) -> None:
    """Run a flask CLI command of the atlas in `tree` (its own code, this virtualenv)."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "atlas", *args], cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL)


@contextmanager
def served(tree: Path, port: int):
    """gunicorn (2 workers) serving the atlas in `tree` with the demo data, in a temporary instance folder."""
    folder = Path(tempfile.mkdtemp(prefix="atlas-bench-public-"))
    env = os.environ | {"ATLAS_DATABASE_URL": f"sqlite:///{folder / 'atlas.db'}", "ATLAS_INSTANCE_PATH": str(folder),
                        "ATLAS_SECRET_KEY": "bench-public-" + "x" * 40, "PYTHONPATH": str(tree)}
    env.pop("FLASK_DEBUG", None)
    flask(tree, env, "init-db")
    flask(tree, env, "seed")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--chdir", str(tree), "--bind", f"127.0.0.1:{port}",
                             "--workers", "2", "--access-logfile", "/dev/null", "wsgi:app"], cwd=tree, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if requests.get(url + "/", timeout=30).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"gunicorn in {tree} did not answer on {url}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def offer_path(url: str) -> str:
    """The first offer linked from a search (the demo data's ids differ between versions)."""
    html = requests.get(url + "/angebote?q=Schuldnerberatung", timeout=30).text
    start = html.index('href="/angebote/') + len('href="')
    return html[start:html.index('"', start)]


def load(page, cdp, path: str, is_map: bool) -> dict[str, float]:
    """One navigation: encoded bytes until done, first contentful paint and (maps) markers visible, in ms."""
    sizes: dict[str, float] = {}
    handler = lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"])  # noqa: E731
    cdp.on("Network.loadingFinished", handler)
    page.goto(path, wait_until="load")
    seen = -1.0
    if is_map:
        page.wait_for_selector(".leaflet-marker-icon", state="visible", timeout=120_000)
        seen = page.evaluate("performance.now()")  # older versions set no mark: when the poll saw a marker
    page.wait_for_timeout(300)  # late paint entries and the last loadingFinished events
    times = page.evaluate("""(() => {
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        const mark = performance.getEntriesByName('atlas-markers')[0];
        return [paint ? paint.startTime : -1, mark ? mark.startTime : -1]; })()""")
    cdp.remove_listener("Network.loadingFinished", handler)
    return {"bytes": sum(sizes.values()), "fcp": times[0], "markers": times[1] if times[1] >= 0 else seen}


def measure(browser, url: str, runs: int, network: dict | None) -> dict[str, dict[str, list[float]]]:
    """Every page `runs` times cold (fresh context) plus one repeat visit per run (same context, warm cache)."""
    found: dict[str, dict[str, list[float]]] = {}
    for name, path, is_map in PAGES:
        path = path or offer_path(url)
        rows = found.setdefault(name, {"bytes": [], "fcp": [], "markers": [], "repeat_bytes": [],
                                       "repeat_fcp": [], "repeat_markers": []})
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=url, locale="de-DE",
                                          is_mobile=True, has_touch=True, device_scale_factor=2)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            if network:
                cdp.send("Network.emulateNetworkConditions", network)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_RATE})
            for prefix in ("", "repeat_"):
                result = load(page, cdp, path, is_map)
                for key, value in result.items():
                    rows[prefix + key].append(value)
            context.close()
    return found


def table(title: str, found: dict[str, dict[str, list[float]]], targets: bool) -> None:
    """Print one Markdown table."""
    print(f"\n### {title}\n")
    print("| page | KB cold p50 / max | first paint cold p50 / p95 / p99 / max (ms) | markers visible cold (ms) "
          "| repeat visit: KB, first paint p50, markers p50 | target |")
    print("|---|---|---|---|---|---|")
    for name, _path, is_map in PAGES:
        r = found[name]
        kb = f"{stats(r['bytes'])['p50'] / 1000:,.1f} / {max(r['bytes']) / 1000:,.1f}"
        markers = fmt(r["markers"]) if is_map else "–"
        repeat = (f"{stats(r['repeat_bytes'])['p50'] / 1000:,.1f} KB, {stats(r['repeat_fcp'])['p50']:,.0f} ms"
                  + (f", {stats(r['repeat_markers'])['p50']:,.0f} ms" if is_map else ""))
        verdict = "–"
        if targets:
            limit_bytes, limit_ms = TARGETS[is_map]
            shown = stats(r["markers"] if is_map else r["fcp"])["p50"]
            ok_bytes, ok_ms = max(r["bytes"]) <= limit_bytes, shown <= limit_ms
            verdict = (f"{'✓' if ok_bytes else '✗'} ≤ {limit_bytes // 1000} KB, "
                       f"{'✓' if ok_ms else '✗'} {'markers' if is_map else 'paint'} ≤ {limit_ms / 1000:.0f} s")
        print(f"| {name} | {kb} | {fmt(r['fcp'])} | {markers} | {repeat} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="cold loads per page and profile (default 5)")
    parser.add_argument("--baseline-ref", help="also measure this git commit (e.g. b1f2f64^) in a temporary worktree")
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--profiles", default="slow3g,slow3g-400", help=f"comma-separated, of {', '.join(PROFILES)}")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    trees = [("this tree", ROOT)]
    scratch = None
    if args.baseline_ref:
        scratch = Path(tempfile.mkdtemp(prefix="atlas-bench-baseline-"))
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(scratch), args.baseline_ref],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        trees.append((f"baseline {args.baseline_ref}", scratch))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            for label, tree in trees:
                with served(tree, args.port) as url:
                    print(f"\n## {label} ({tree}), load average {os.getloadavg()[0]:.2f}", flush=True)
                    for name in args.profiles.split(","):
                        title, network = PROFILES[name]
                        slow = measure(browser, url, args.runs, network)
                        table(f"{label}: {title}, {args.runs} runs, load average {os.getloadavg()[0]:.2f}", slow,
                              targets=True)
                    if tree == ROOT:
                        fast = measure(browser, url, args.runs, None)
                        table(f"{label}: no throttling (baseline), load average {os.getloadavg()[0]:.2f}", fast,
                              targets=False)
            browser.close()
    finally:
        if scratch is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(scratch)], check=False)


if __name__ == "__main__":
    main()
