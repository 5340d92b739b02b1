"""Checker worker processes: a run split by site over forked workers finds what one process finds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from checker_sites import FakeWeb, Reply, Router, html

from atlas.checker import workers
from atlas.checker.engine import Engine, Item, Policy, RobotsCache
from atlas.checker.net import Resolver
from atlas.checker.workers import WorkerPool, processes_for, split

ROOT = Path(__file__).resolve().parent.parent


def make_policy(**overrides) -> Policy:
    values = dict(allowed_networks=["127.0.0.0/8"], host_interval=0.0, connect_timeout=2.0, read_timeout=2.0,
                  deadline=5.0, retries=0, robots=True, concurrency=4)
    return Policy(**(values | overrides))


@pytest.fixture
def router() -> Router:
    routes = Router({"/robots.txt": Reply(200, headers={"Content-Type": "text/plain"},
                                          body="User-agent: *\nDisallow: /intern/\n")})
    for n in range(12):
        routes[f"/seite/{n}"] = Reply(200, body=html(f"Seite {n}", "Beratung und Hilfe vor Ort. " * 6))
    routes["/weg"] = Reply(404)
    routes["/intern/liste"] = Reply(200, body=html("Intern", "nur intern"))
    return routes


@pytest.fixture
def web(router):
    with FakeWeb(router, [("127.0.0.1", 0), ("127.0.0.2", 0), ("127.0.0.3", 0)]) as server:
        yield server


@pytest.fixture
def pool():
    workers_ = WorkerPool(2)
    yield workers_
    workers_.close()


def site_items(web) -> list[Item]:
    urls = [web.url(f"/seite/{n}", index) for index in range(3) for n in range(12)]
    urls += [web.url("/weg", 1), web.url("/intern/liste", 2)]
    return [Item(key=f"k{i}", url=url) for i, url in enumerate(urls)]


def test_split_keeps_each_site_in_one_group_and_balances_the_groups():
    items = [Item(i, f"https://{host}/{i}") for i, host in enumerate(
        ["www.caritas.de"] * 5 + ["caritas.de"] * 2 + ["diakonie.de"] * 4 + ["a.example"] * 3 + ["b.example"] * 3)]
    groups = split(items, 2)
    assert sorted(pos for group in groups for pos in group) == list(range(len(items)))
    sites = [{workers.site_of(items[pos].url) for pos in group} for group in groups]
    assert not sites[0] & sites[1]  # www.caritas.de and caritas.de are one site, in one group
    assert sorted(len(g) for g in groups) == [7, 10]  # sites of 7, 4, 3 and 3 URLs: the best split
    assert split(items[:1], 3) == [[0]]  # no empty groups


def test_processes_setting_auto_follows_cores_and_concurrency(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert processes_for(0, 16) == 1 and processes_for(0, 64) == 2 and processes_for(0, 256) == 4
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert processes_for(0, 64) == 1 and processes_for(3, 4) == 3 and processes_for(1, 256) == 1


def test_a_run_on_worker_processes_finds_what_one_process_finds(web, pool):
    items = site_items(web)
    with Engine(make_policy()) as engine:
        alone = {item.key: (o.kind, o.status, o.page.title if o.page else None) for item, o in engine.run(items)}
    robots = RobotsCache(3600)
    with Engine(make_policy(), robots=robots, pool=pool) as engine:
        results = list(engine.run(items))
    split_up = {item.key: (o.kind, o.status, o.page.title if o.page else None) for item, o in results}
    assert split_up == alone and len(results) == len(items)
    assert all(item is original for (item, _), original in zip(sorted(results, key=lambda r: items.index(r[0])),
                                                               items))  # the caller's own items come back
    assert alone["k36"][0] == "http_404" and alone["k37"][0] == "robots"
    # robots.txt was fetched once per site by the workers and came back for the runner to store
    assert sorted(robots.fetched()) == sorted(web.url("", i) for i in range(3))
    assert all(len([r for r in web.log if r.path == "/robots.txt" and r.port == web.bound[i][1]]) == 2
               for i in range(3))  # once by the single process, once by the worker that had the site


def test_a_stopped_run_ends_early_and_the_pool_works_afterwards(web, router, pool):
    for n in range(12):
        router[f"/seite/{n}"] = Reply(200, body=html("Langsam", "langsam"), delay=0.3)
    stop = threading.Event()
    started = time.monotonic()
    with Engine(make_policy(robots=False, concurrency=2), pool=pool) as engine:
        got = []
        for item, outcome in engine.run(site_items(web), stop=stop):
            got.append(item)
            stop.set()
    assert 1 <= len(got) < 10 and time.monotonic() - started < 10
    router["/seite/0"] = Reply(200, body=html("Wieder da", "schnell"))
    with Engine(make_policy(robots=False), pool=pool) as engine:
        again = list(engine.run(site_items(web)))
    assert len(again) == 38 and {o.kind for _, o in again} == {"ok", "http_404"}  # nothing left over from before


def test_a_dead_worker_ends_the_run_without_its_urls_and_the_other_carries_on(web, pool):
    pool.workers[0].process.kill()
    pool.workers[0].process.join(5)
    with Engine(make_policy(), pool=pool) as engine:
        results = list(engine.run(site_items(web)))
    assert len(results) == 38  # one worker left: no split, the engine checks in its own process
    assert len(pool.usable()) == 1


def test_small_runs_and_injected_resolvers_stay_in_process(web, pool, monkeypatch):
    called = []
    monkeypatch.setattr(pool, "run", lambda *a, **k: called.append(1) or iter(()))
    with Engine(make_policy(concurrency=20), pool=pool) as engine:  # 38 URLs < 2 x 20
        assert len(list(engine.run(site_items(web)))) == 38
    with Engine(make_policy(), pool=pool, resolver=Resolver({})) as engine:  # a resolver the workers lack
        assert len(list(engine.run(site_items(web)))) == 38
    assert not called


def test_scheduler_workers_go_when_the_scheduler_is_killed(tmp_path):
    """Workers forked by the checker process end by themselves when it dies with SIGKILL."""
    code = ("import os, sys, time\n"
            "from atlas.checker.workers import WorkerPool\n"
            "pool = WorkerPool(2)\n"
            "print(' '.join(str(w.process.pid) for w in pool.workers), flush=True)\n"
            "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
