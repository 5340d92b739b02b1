"""Checker worker processes: a run's URLs split by site over processes, so checking is not bound to one core.

One Python process checks at most about 1,000 URLs a second however many threads it has (they share one
interpreter lock); with `CHECK_PROCESSES` > 1 the scheduler's process forks that many workers at start, while it
is still single-threaded, and hands each run's URLs to them grouped by site. A site's URLs always go to the same
worker, so the per-host limit and pause hold as before; robots.txt rules travel with the work and back.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
from contextlib import contextmanager
import os
import signal
import threading
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from .engine import Engine, Item, Outcome, Policy, RobotsCache
from .urls import host_of, origin_of, registrable_domain

# How long a worker may take to notice a stop and report back before it is replaced.
STOP_GRACE = 15.0


def processes_for(setting: int, concurrency: int) -> int:
    """Worker processes for a CHECK_PROCESSES setting (0: one per two cores and per 32 concurrent checks, at most 4).

    Two cores are not enough: the parent, which unpickles every outcome, and the network stack need one, and on
    the 2-core development machine two workers made 71 % of the bound at 64 concurrent checks, one process 83 %.
    """
    if setting > 0:
        return setting
    return max(1, min((os.cpu_count() or 1) // 2, concurrency // 32, 4))


_shared: WorkerPool | None = None


def shared() -> WorkerPool | None:
    """The pool this process started (the scheduler's or `check-links`'), if any."""
    return _shared


@contextmanager
def started(config: Mapping[str, Any]) -> Iterator[WorkerPool | None]:
    """Fork the configured number of workers for this process's runs (call while still single-threaded)."""
    global _shared
    size = processes_for(config["CHECK_PROCESSES"], config["CHECK_CONCURRENCY"])
    pool = WorkerPool(size) if size > 1 else None
    _shared = pool
    try:
        yield pool
    finally:
        _shared = None
        if pool is not None:
            pool.close()


def site_of(url: str) -> str:
    """The key that keeps a site's URLs together (its registrable domain, e.g. www.x.de and x.de)."""
    host = host_of(url) or url
    return registrable_domain(host) or host


def split(items: Sequence[Item], parts: int) -> list[list[int]]:
    """Positions of items in `parts` groups, whole sites per group, groups about equally large."""
    by_site: dict[str, list[int]] = {}
    for pos, item in enumerate(items):
        by_site.setdefault(site_of(item.url), []).append(pos)
    groups: list[list[int]] = [[] for _ in range(parts)]
    # Largest sites first, each to the smallest group; ties broken by a stable hash, not by insertion order.
    for site in sorted(by_site, key=lambda s: (-len(by_site[s]), zlib.crc32(s.encode()))):
        min(groups, key=len).extend(by_site[site])
    return [g for g in groups if g]


class _Worker:
    def __init__(self, process: Any, tasks: Connection, results: Connection) -> None:
        self.process, self.tasks, self.results = process, tasks, results


class WorkerPool:
    """Worker processes forked once; run() spreads one run's URLs over them and yields outcomes as they come."""

    def __init__(self, size: int) -> None:
        ctx = mp.get_context("fork")
        self.stopping = ctx.Event()
        self.workers: list[_Worker] = []
        self._lock = threading.Lock()
        for _ in range(size):
            tasks_in, tasks_out = ctx.Pipe(duplex=False)
            results_in, results_out = ctx.Pipe(duplex=False)
            earlier = [c for w in self.workers for c in (w.tasks, w.results)]
            process = ctx.Process(target=_serve, args=(tasks_in, results_out, self.stopping, os.getpid(), earlier),
                                  daemon=True, name="atlas-checker-worker")
            process.start()
            tasks_in.close()
            results_out.close()
            self.workers.append(_Worker(process, tasks_out, results_in))

    def usable(self) -> list[_Worker]:
        return [w for w in self.workers if w.process.is_alive()]

    def close(self) -> None:
        """Ask the workers to end and wait for them (killed after a few seconds)."""
        self.stopping.set()
        for worker in self.workers:
            try:
                worker.tasks.send(None)
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join(5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1)
            worker.tasks.close()
            worker.results.close()
        self.workers = []

    def run(self, policy: Policy, items: Sequence[Item], robots: RobotsCache,
            stop: threading.Event | None = None) -> Iterator[tuple[Item, Outcome]]:
        """Check items on the workers; a set `stop` ends the run early (the workers stop within seconds)."""
        with self._lock:
            workers = self.usable()
            groups = split(items, len(workers))
            self.stopping.clear()
            share, extra = divmod(policy.concurrency, len(groups))
            pending: dict[Connection, tuple[_Worker, list[int]]] = {}
            for n, (worker, group) in enumerate(zip(workers, groups)):
                part = dataclasses.replace(policy, concurrency=max(1, share + (n < extra)))
                sent = [dataclasses.replace(items[pos], key=i) for i, pos in enumerate(group)]
                origins = {origin_of(item.url) for item in sent if "://" in item.url}
                known = {o: e for o, e in robots.entries.items() if o in origins}
                worker.tasks.send((part, sent, known))
                pending[worker.results] = (worker, group)
            try:
                yield from self._collect(pending, items, robots, stop)
            finally:
                if pending:
                    self._stop(pending, robots)

    def _collect(self, pending: dict[Connection, tuple[_Worker, list[int]]], items: Sequence[Item],
                 robots: RobotsCache, stop: threading.Event | None) -> Iterator[tuple[Item, Outcome]]:
        while pending:
            if stop is not None and stop.is_set():
                return
            for conn in wait(list(pending), timeout=0.2):
                worker, group = pending[conn]
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):  # the worker died: its remaining URLs stay unchecked this run
                    del pending[conn]
                    continue
                if kind == "done":
                    robots.entries.update(payload)
                    del pending[conn]
                else:
                    pos, outcome = payload
                    yield items[group[pos]], outcome

    def _stop(self, pending: dict[Connection, tuple[_Worker, list[int]]], robots: RobotsCache) -> None:
        """Stop the workers still busy and read what they send until they report back, so the pipes are clean."""
        self.stopping.set()
        until = time.monotonic() + STOP_GRACE
        while pending and time.monotonic() < until:
            for conn in wait(list(pending), timeout=0.2):
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    del pending[conn]
                    continue
                if kind == "done":
                    robots.entries.update(payload)
                    del pending[conn]
        for worker, _ in pending.values():  # did not come back in time: replace it by nothing, stop using it
            worker.process.kill()


def _serve(tasks: Connection, results: Connection, stopping: Any, parent: int, earlier: list[Connection]) -> None:
    """A worker: check what the parent sends until it says None, dies or goes away."""
    for conn in earlier:  # other workers' pipe ends, inherited by the fork: they must see EOF when we exit
        conn.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole process group; the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        if not tasks.poll(1.0):
            if os.getppid() != parent:
                return
            continue
        try:
            job = tasks.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        policy, sent, known = job
        cache = RobotsCache(policy.robots_ttl, known)
        try:
            with Engine(policy, robots=cache) as engine:
                for item, outcome in engine.run(sent, stop=stopping):
                    results.send(("outcome", (item.key, outcome)))
            results.send(("done", cache.fetched()))
        except (BrokenPipeError, OSError):
            return
