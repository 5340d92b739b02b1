"""The checking engine: polite, bounded, never raising; every outcome of every URL is data.

Threads take URLs from a dispatcher that keeps at most `per_host` requests per host in flight and waits
`host_interval` between two starts on one host. Each attempt runs under a wall-clock deadline enforced by a
watchdog, so hanging, trickling or endlessly streaming servers cannot stall a run.
"""

from __future__ import annotations

import email.utils
import gc
import heapq
import itertools
import queue
import re
import socket
import ssl
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from urllib3 import BaseHTTPResponse, Timeout
from urllib3.exceptions import HTTPError, LocationParseError, LocationValueError, NameResolutionError

from . import content
from .net import AddressPolicy, BlockedAddress, Deadline, Guard, Resolver, Watchdog, guarded_pool
from .urls import UrlError, host_of, is_home, normalise, origin_of, registrable_domain

# Outcomes worth a second attempt within the same run.
TRANSIENT = {"timeout", "http_server", "rate_limited", "connection", "dns_temporary"}
HTML_TYPES = ("text/html", "application/xhtml+xml")
ROBOTS_LIMIT = 512 * 1024
# A robots.txt without a non-empty Disallow line allows everything (no need to parse it per URL).
_DISALLOWS = re.compile(r"^\s*disallow\s*:\s*[^\s#]", re.IGNORECASE | re.MULTILINE)
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# OpenSSL verify codes (X509_V_ERR_*).
TLS_CODES = {9: "tls_expired", 10: "tls_expired", 18: "tls_self_signed", 19: "tls_self_signed",
             20: "tls_untrusted", 21: "tls_untrusted", 2: "tls_untrusted", 62: "tls_hostname",
             64: "tls_hostname"}


@dataclass
class Policy:
    """How the engine checks: identification, politeness, limits, what it may contact."""

    user_agent: str = "Netzwerkatlas-Pruefdienst/1.0 (+https://atlas.example/pruefdienst)"
    fallback_user_agent: str | None = None
    concurrency: int = 16
    per_host: int = 2
    host_interval: float = 1.0
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 45.0
    max_redirects: int = 10
    retries: int = 1
    retry_delay: float = 5.0
    retry_after_max: float = 60.0
    range_bytes: int = 65536
    robots: bool = True
    robots_ttl: float = 86400.0
    allowed_networks: list[str] = field(default_factory=list)
    hosts: dict[str, str | None] = field(default_factory=dict)
    ca_bundle: str | None = None
    content_analysis: bool = True
    similarity: float = 0.35
    method: str = "auto"

    @classmethod
    def from_config(cls, config: Any) -> Policy:
        """Build a policy from the app's CHECK_* settings."""
        return cls(
            user_agent=config["CHECK_USER_AGENT"], fallback_user_agent=config["CHECK_FALLBACK_USER_AGENT"],
            concurrency=config["CHECK_CONCURRENCY"], per_host=config["CHECK_PER_HOST"],
            host_interval=config["CHECK_HOST_INTERVAL"], connect_timeout=config["CHECK_CONNECT_TIMEOUT"],
            read_timeout=config["CHECK_READ_TIMEOUT"], deadline=config["CHECK_DEADLINE"],
            max_redirects=config["CHECK_MAX_REDIRECTS"], retries=config["CHECK_RETRIES"],
            retry_delay=config["CHECK_RETRY_DELAY"], retry_after_max=config["CHECK_RETRY_AFTER_MAX"],
            range_bytes=config["CHECK_RANGE_BYTES"], robots=config["CHECK_ROBOTS"],
            robots_ttl=config["CHECK_ROBOTS_TTL_HOURS"] * 3600, allowed_networks=list(config["CHECK_ALLOWED_NETWORKS"]),
            hosts=dict(config["CHECK_HOSTS"]), ca_bundle=config["CHECK_CA_BUNDLE"],
            content_analysis=config["CHECK_CONTENT_ANALYSIS"], similarity=config["CHECK_CONTENT_SIMILARITY"],
            method=config["CHECK_METHOD"],
        )

    @property
    def robots_token(self) -> str:
        """The product token robots.txt rules are matched against."""
        return self.user_agent.split("/")[0].strip()


@dataclass
class Item:
    """One URL to check, with what the last good check saw (for change detection)."""

    key: Any
    url: str
    prefer_head: bool = False
    baseline_title: str | None = None
    baseline_text: str | None = None


@dataclass
class Outcome:
    """What one check found; kind is "ok" or the finding (see verdict.KINDS)."""

    url: str
    kind: str
    status: int | None = None
    detail: str = ""
    final_url: str | None = None
    redirects: list[tuple[int, str]] = field(default_factory=list)
    suggested_url: str | None = None
    content_type: str | None = None
    page: content.Page | None = None
    duration_ms: int = 0
    retry_after: float | None = None
    attempts: int = 1
    method: str = "GET"
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))


@dataclass
class _Retry:
    delay: float
    outcome: Outcome


@dataclass
class _Task:
    item: Item
    host: str
    origin: str  # scheme://host[:port], robots.txt's scope; both parsed once per URL, not per request
    scheme: str
    attempt: int = 0
    elapsed: float = 0.0

    @classmethod
    def of(cls, item: Item) -> _Task:
        parts = urlsplit(item.url)
        host = (parts.hostname or "").lower()
        return cls(item, host or item.url, f"{parts.scheme.lower()}://{parts.netloc.lower()}", parts.scheme.lower()
                   if host else "")


class _Slot:
    """The host a worker currently holds a politeness slot for; fresh while its booked start is unused."""

    def __init__(self, host: str) -> None:
        self.host: str | None = host
        self.fresh = True


def freeze_startup() -> None:
    """Exempt everything made so far (modules, settings, app) from the cyclic garbage collector's walks.

    Those objects live as long as the process. Left tracked, every full collection walks them all while the
    64 checking threads wait: pauses of 60-160 ms at the tail of a run (p99 91-110 ms, 91-93 % of the bound
    at 64 in bench/checker.py; frozen: p99 69-75 ms, 94 %). Forked workers inherit the frozen state.
    """
    gc.collect()
    gc.freeze()


# -- robots.txt ------------------------------------------------------------------------------------------
@dataclass
class RobotsEntry:
    """A fetched robots.txt (body None: no rules)."""

    fetched_at: float
    status: int | None
    body: str | None
    parser: RobotFileParser | None = None
    fresh: bool = False
    allow_all: bool | None = None

    def allows(self, token: str, url: str) -> bool:
        if self.allow_all is None:
            self.allow_all = self.body is None or not _DISALLOWS.search(self.body)
        if self.allow_all:
            return True
        if self.parser is None:
            self.parser = RobotFileParser()
            self.parser.parse(self.body.splitlines())
        return self.parser.can_fetch(token, url)


class RobotsCache:
    """robots.txt per origin, shared by the workers; the runner preloads and saves it to the database."""

    def __init__(self, ttl: float, entries: dict[str, RobotsEntry] | None = None) -> None:
        self.ttl = ttl
        self.entries: dict[str, RobotsEntry] = dict(entries or {})
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def get(self, origin: str) -> RobotsEntry | None:
        entry = self.entries.get(origin)
        if entry is not None and time.time() - entry.fetched_at < self.ttl:
            return entry
        return None

    def lock(self, origin: str) -> threading.Lock:
        with self._guard:
            return self._locks[origin]

    def fetched(self) -> dict[str, RobotsEntry]:
        """Entries fetched during this run (to store)."""
        return {o: e for o, e in self.entries.items() if e.fresh}


# -- dispatcher ------------------------------------------------------------------------------------------
class Dispatcher:
    """Hands tasks to workers so no host has more than per_host in flight or starts faster than interval."""

    def __init__(self, per_host: int, interval: float, shareable: Callable[[_Task], bool]) -> None:
        self.per_host = per_host
        self.interval = interval
        # False while a host's robots.txt is unknown: a second worker would only wait on its lock.
        self.shareable = shareable
        self.cond = threading.Condition()
        self.pending: dict[str, deque[_Task]] = defaultdict(deque)
        self.active: dict[str, int] = defaultdict(int)
        self.next_start: dict[str, float] = {}
        self.ready: deque[str] = deque()
        self.timed: list[tuple[float, int, str]] = []
        self.delayed: list[tuple[float, int, _Task]] = []
        self.outstanding = 0
        self.stopped = False
        self._seq = itertools.count()

    def add(self, task: _Task) -> None:
        with self.cond:
            self.pending[task.host].append(task)
            self.outstanding += 1
            self.ready.append(task.host)
            self.cond.notify()

    def take(self) -> _Task | None:
        """Block until a task may start; None when everything is done or the run stops."""
        with self.cond:
            while True:
                if self.stopped:
                    return None
                now = time.monotonic()
                while self.delayed and self.delayed[0][0] <= now:
                    task = heapq.heappop(self.delayed)[2]
                    self.pending[task.host].append(task)
                    self.ready.append(task.host)
                while self.timed and self.timed[0][0] <= now:
                    self.ready.append(heapq.heappop(self.timed)[2])
                while self.ready:
                    host = self.ready.popleft()
                    if not self.pending[host] or self.active[host] >= self.per_host:
                        continue
                    if self.active[host] and not self.shareable(self.pending[host][0]):
                        continue  # wake() brings the host back once its robots.txt is known
                    start = self.next_start.get(host, 0.0)
                    if start > now:
                        heapq.heappush(self.timed, (start, next(self._seq), host))
                        continue
                    task = self.pending[host].popleft()
                    self.active[host] += 1
                    self.next_start[host] = now + self.interval
                    if self.pending[host]:
                        self.ready.append(host)
                    else:
                        del self.pending[host]
                    return task
                if self.outstanding == 0:
                    return None
                waits = [h[0][0] - now for h in (self.delayed, self.timed) if h]
                self.cond.wait(max(0.0, min(waits)) if waits else None)

    def enter(self, host: str, until: float) -> bool:
        """Take a slot on another host (a redirect hop); False when none frees up before `until`."""
        with self.cond:
            while True:
                now = time.monotonic()
                start = self.next_start.get(host, 0.0)
                if self.active[host] < self.per_host and start <= now:
                    self.active[host] += 1
                    self.next_start[host] = now + self.interval
                    return True
                if now >= until or self.stopped:
                    return False
                self.cond.wait(min(0.05, until - now, max(start - now, 0.001)))

    def pace(self, host: str, until: float) -> bool:
        """Wait for the host's next start while holding a slot on it; False when that is after `until`."""
        with self.cond:
            while True:
                now = time.monotonic()
                start = self.next_start.get(host, 0.0)
                if start <= now:
                    self.next_start[host] = now + self.interval
                    return True
                if start > until or self.stopped:
                    return False
                self.cond.wait(start - now)

    def leave(self, host: str) -> None:
        with self.cond:
            self.active[host] -= 1
            if self.active[host] <= 0:
                del self.active[host]
            if self.pending.get(host):
                self.ready.append(host)
                self.cond.notify()

    def wake(self, host: str) -> None:
        """A host's robots.txt is known: its waiting tasks may share it again."""
        with self.cond:
            if self.pending.get(host):
                self.ready.append(host)
                self.cond.notify()

    def hold(self, host: str, until: float) -> None:
        """Start nothing on host before `until` (Retry-After applies to the whole host)."""
        with self.cond:
            self.next_start[host] = max(self.next_start.get(host, 0.0), until)

    def retry(self, task: _Task, delay: float) -> None:
        with self.cond:
            heapq.heappush(self.delayed, (time.monotonic() + delay, next(self._seq), task))
            self.cond.notify()

    def done(self) -> None:
        with self.cond:
            self.outstanding -= 1
            if self.outstanding == 0:
                self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()


# -- the engine ------------------------------------------------------------------------------------------
class Engine:
    """Checks URLs with a shared session, a dispatcher and a watchdog; see run()."""

    def __init__(self, policy: Policy, robots: RobotsCache | None = None, resolver: Resolver | None = None,
                 pool: Any = None) -> None:
        self.policy = policy
        # Worker processes (workers.WorkerPool) for large runs; not with an injected resolver they cannot share.
        self.pool = pool if resolver is None else None
        self.robots = robots or RobotsCache(policy.robots_ttl)
        self.guard = Guard(resolver or Resolver(policy.hosts), AddressPolicy(policy.allowed_networks))
        self.http = guarded_pool(self.guard, pools=max(256, policy.concurrency * 4), per_host=policy.per_host,
                                 ca_bundle=policy.ca_bundle)
        self.watchdog: Watchdog | None = None
        self.dispatcher: Dispatcher | None = None
        self._timeout = Timeout(connect=policy.connect_timeout, read=policy.read_timeout)
        self._header_sets: dict[tuple[str, bool], dict[str, str]] = {}

    def close(self) -> None:
        """Close pooled connections."""
        self.http.clear()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def check(self, url: str, **item: Any) -> Outcome:
        """Check one URL (for "check now" and tests)."""
        return next(iter(self.run([Item(key=None, url=url, **item)])))[1]

    def run(self, items: Iterable[Item], stop: threading.Event | None = None) -> Iterator[tuple[Item, Outcome]]:
        """Check items concurrently, yielding (item, outcome) as they finish; a set `stop` ends the run early."""
        if self.pool is not None:
            items = list(items)
            # Below two URLs per concurrent check a second process gains less than forking work costs.
            if len(items) >= 2 * self.policy.concurrency and len(self.pool.usable()) > 1:
                yield from self.pool.run(self.policy, items, self.robots, stop)
                return
        dispatcher = self.dispatcher = Dispatcher(self.policy.per_host, self.policy.host_interval, self._robots_known)
        watchdog = self.watchdog = Watchdog()
        results: queue.Queue[tuple[Item, Outcome]] = queue.Queue()
        count = 0
        for item in items:
            dispatcher.add(_Task.of(item))
            count += 1
        workers = [threading.Thread(target=self._work, args=(dispatcher, results), daemon=True,
                                    name=f"checker-{i}") for i in range(min(self.policy.concurrency, count))]
        for worker in workers:
            worker.start()
        try:
            delivered = 0
            while delivered < count:
                try:
                    result = results.get(timeout=0.2)
                except queue.Empty:
                    if stop is not None and stop.is_set():
                        break
                    if not any(w.is_alive() for w in workers) and results.empty():
                        break
                    continue
                delivered += 1
                yield result
                if stop is not None and stop.is_set():
                    break
        finally:
            dispatcher.stop()
            watchdog.expire_all()
            for worker in workers:
                worker.join(10)
            watchdog.stop()

    # -- worker ----------------------------------------------------------------------------------------------
    def _work(self, dispatcher: Dispatcher, results: queue.Queue) -> None:
        while True:
            task = dispatcher.take()
            if task is None:
                return
            slot = _Slot(task.host)
            try:
                result = self._attempt(task, slot)
            finally:
                if slot.host is not None:
                    dispatcher.leave(slot.host)
            if dispatcher.stopped:
                dispatcher.done()
                continue
            if isinstance(result, _Retry):
                if result.outcome.retry_after:  # the host that asked for the pause, perhaps a redirect target's
                    asked = host_of(result.outcome.final_url or task.item.url) or task.host
                    dispatcher.hold(asked, time.monotonic() + result.delay)
                dispatcher.retry(task, result.delay)
                continue
            results.put((task.item, result))
            dispatcher.done()

    def _attempt(self, task: _Task, slot: _Slot) -> Outcome | _Retry:
        """One attempt under the deadline; decides whether a transient failure is tried again."""
        assert self.watchdog is not None
        task.attempt += 1
        started = time.monotonic()
        trace: list[tuple[int, str]] = []
        with self.watchdog.deadline(self.policy.deadline) as deadline:
            try:
                outcome = self._check(task, slot, deadline, trace)
            except Exception as exc:  # noqa: BLE001 - a bad server must never end the run
                outcome = classify_exception(task.item.url, exc, deadline.expired)
                outcome.redirects = list(trace)
            deadline.finish()  # from here on the watchdog leaves this attempt alone
            if deadline.expired and outcome.kind != "private_address":
                # The watchdog cut the connection; whatever was parsed after that is not the page.
                outcome = Outcome(task.item.url, "timeout", redirects=outcome.redirects,
                                  detail="Zeitlimit für die ganze Prüfung überschritten.")
        task.elapsed += time.monotonic() - started
        outcome.duration_ms = round(task.elapsed * 1000)
        outcome.attempts = task.attempt
        if outcome.kind in TRANSIENT and task.attempt <= self.policy.retries:
            if outcome.retry_after is None:
                return _Retry(self.policy.retry_delay, outcome)
            if outcome.retry_after <= self.policy.retry_after_max:
                return _Retry(outcome.retry_after, outcome)
        return outcome

    # -- one URL ---------------------------------------------------------------------------------------------
    def _check(self, task: _Task, slot: _Slot, deadline: Deadline, redirects: list[tuple[int, str]]) -> Outcome:
        item = task.item
        url = item.url
        if task.scheme not in ("http", "https"):
            return Outcome(url, "invalid_url", detail="Nur http- und https-Adressen werden geprüft.")
        if self.policy.robots and not self._robots_allow(url, slot, deadline, task.origin):
            return Outcome(url, "robots", detail="robots.txt der Website verbietet den Abruf.")
        method = "HEAD" if (item.prefer_head or not self.policy.content_analysis
                            or self.policy.method == "head") else "GET"
        current, seen = url, {url}
        agent, fallback_used, use_range = self.policy.user_agent, False, True
        while True:
            response = self._send(method, current, agent, use_range, slot, deadline)
            status = response.status
            if method == "HEAD" and status >= 400:
                self._discard(response, deadline, method)
                method = "GET"  # HEAD refused or unreliable: ask again with GET
                continue
            if status == 416 and use_range:
                self._discard(response, deadline, method)
                use_range = False
                continue
            if status == 403 and not fallback_used and self.policy.fallback_user_agent:
                self._discard(response, deadline, method)
                agent, fallback_used = self.policy.fallback_user_agent, True
                continue
            location = response.headers.get("Location")
            if 300 <= status < 400 and location:
                self._discard(response, deadline, method)
                target = _strip_fragment(urljoin(current, location.strip()))
                redirects.append((status, target))
                stop = (self._redirect_problem(url, target, seen, redirects)
                        or self._hop(url, target, response, slot, deadline, redirects))
                if stop is not None:
                    return stop
                seen.add(target)
                if status == 303:
                    method = "GET"
                current = target
                continue
            break
        if method == "HEAD" and 200 <= status < 300 and self.policy.content_analysis and _is_html(response):
            self._discard(response, deadline, method)
            method = "GET"
            response = self._send(method, current, agent, use_range, slot, deadline)
        return self._conclude(item, response, method, current, redirects, deadline)

    def _redirect_problem(self, url: str, target: str, seen: set[str],
                          redirects: list[tuple[int, str]]) -> Outcome | None:
        chain = list(redirects)
        if urlsplit(target).scheme not in ("http", "https"):
            return Outcome(url, "invalid_url", status=chain[-1][0], redirects=chain,
                           detail=f"Weiterleitung auf eine Adresse, die keine Webseite ist: {target[:200]}")
        if target in seen:
            return Outcome(url, "redirect_loop", status=chain[-1][0], redirects=chain, final_url=target,
                           detail="Die Weiterleitungen führen im Kreis.")
        if len(redirects) > self.policy.max_redirects:
            return Outcome(url, "too_many_redirects", status=chain[-1][0], redirects=chain, final_url=target,
                           detail=f"Mehr als {self.policy.max_redirects} Weiterleitungen.")
        return None

    def _hop(self, url: str, target: str, response: BaseHTTPResponse, slot: _Slot, deadline: Deadline,
             redirects: list[tuple[int, str]]) -> Outcome | None:
        """Get ready to follow a redirect as politely as the first request: Retry-After, slot, robots.txt."""
        status, host = response.status, host_of(target)
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait:
            if wait > min(self.policy.retry_after_max, deadline.remaining()):
                return Outcome(url, "rate_limited", status=status, redirects=list(redirects), final_url=target,
                               retry_after=wait, detail=f"Die Weiterleitung verlangt eine Pause ({round(wait)} s).")
            if self.dispatcher is not None:
                self.dispatcher.hold(host, time.monotonic() + wait)
        self._switch_host(slot, host, deadline)
        if self.policy.robots and not self._robots_allow(target, slot, deadline):
            return Outcome(url, "robots", status=status, redirects=list(redirects), final_url=target,
                           detail=f"robots.txt von {origin_of(target)[:200]} verbietet den Abruf des "
                                  "Weiterleitungsziels.")
        return None

    def _pace(self, slot: _Slot, url: str, deadline: Deadline) -> None:
        """Keep the host's interval for every request after the one the slot was booked for (hops, robots.txt)."""
        if slot.fresh:
            slot.fresh = False
            return
        if self.dispatcher is not None and not self.dispatcher.pace(host_of(url), deadline.at):
            raise TimeoutError("the host's pause would end after the deadline")

    def _switch_host(self, slot: _Slot, host: str, deadline: Deadline) -> None:
        """Move the politeness slot to a redirect target's host."""
        if host == slot.host or self.dispatcher is None:
            return
        if slot.host is not None:
            self.dispatcher.leave(slot.host)
        slot.host = None
        if not self.dispatcher.enter(host, deadline.at):
            raise TimeoutError("no free slot for the redirect target before the deadline")
        slot.host, slot.fresh = host, True

    def _send(self, method: str, url: str, agent: str, use_range: bool, slot: _Slot,
              deadline: Deadline) -> BaseHTTPResponse:
        """One request straight through the guarded pool (no redirects, cookies or retries)."""
        self._pace(slot, url, deadline)
        remaining = deadline.remaining()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        return self._open(method, url, self._headers(agent, method == "GET" and use_range), remaining)

    def _headers(self, agent: str, ranged: bool) -> dict[str, str]:
        """The request headers for a user agent, with or without a Range (built once each: urllib3 only reads them)."""
        key = (agent, ranged)
        headers = self._header_sets.get(key)
        if headers is None:
            headers = {"User-Agent": agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                       "Accept-Language": "de,en;q=0.5", "Accept-Encoding": "gzip, deflate"}
            if ranged:
                headers["Range"] = f"bytes=0-{self.policy.range_bytes - 1}"
            self._header_sets[key] = headers
        return headers

    def _open(self, method: str, url: str, headers: dict[str, str], remaining: float) -> BaseHTTPResponse:
        if remaining >= self.policy.connect_timeout and remaining >= self.policy.read_timeout:
            timeout = self._timeout  # the usual case: one Timeout for every request (urllib3 copies it per use)
        else:
            timeout = Timeout(connect=min(self.policy.connect_timeout, remaining),
                              read=min(self.policy.read_timeout, remaining))
        return self.http.urlopen(method, url, headers=headers, redirect=False, retries=False,
                                 preload_content=False, timeout=timeout)

    @staticmethod
    def _discard(response: BaseHTTPResponse, deadline: Deadline, method: str = "GET") -> None:
        """Let go of a response we do not read (small bodies are drained so the connection is reused)."""
        try:
            length = int(response.headers.get("Content-Length") or -1)
            if method == "HEAD" or 0 <= length <= 65536:
                response.read()  # drains a short (or HEAD's empty) body for keep-alive
                Engine._let_go(response, deadline, complete=True)
                return
        except (ValueError, HTTPError, OSError):
            pass
        Engine._let_go(response, deadline, complete=False)

    def _read(self, response: BaseHTTPResponse, deadline: Deadline) -> bytes:
        # One read up to the cap: it returns early only at the body's end (or when the watchdog shuts the socket).
        data = response.read(self.policy.range_bytes, decode_content=True)
        self._let_go(response, deadline, len(data) < self.policy.range_bytes and not deadline.expired)
        return data[:self.policy.range_bytes]

    @staticmethod
    def _let_go(response: BaseHTTPResponse, deadline: Deadline, complete: bool) -> None:
        """Return a fully read connection to the pool for the host's next URL; close one left mid-body."""
        deadline.detach()
        if complete and not deadline.expired:
            response.release_conn()
        else:
            response.close()

    def _conclude(self, item: Item, response: BaseHTTPResponse, method: str, final: str,
                  redirects: list[tuple[int, str]], deadline: Deadline) -> Outcome:
        status = response.status
        headers = response.headers  # case-insensitive already
        ctype = _media_type(response) or None
        outcome = Outcome(item.url, "ok", status=status, final_url=final if redirects else None,
                          redirects=list(redirects), content_type=ctype, method=method)
        raw = ""
        if method == "GET" and (ctype is None or ctype in HTML_TYPES):
            raw = content.decode(self._read(response, deadline), headers.get("content-type"))
            if 200 <= status < 300:
                outcome.page = content.parse_html(raw)
        else:
            self._discard(response, deadline, method)
        if status in (429, 503):
            outcome.retry_after = parse_retry_after(headers.get("retry-after"))
        outcome.kind, outcome.detail = self._judge(item, outcome, raw, headers)
        return outcome

    def _judge(self, item: Item, outcome: Outcome, raw: str, headers: Mapping[str, str]) -> tuple[str, str]:
        """Turn status, redirects and content into a finding."""
        status, page = outcome.status or 0, outcome.page
        final = outcome.final_url or item.url
        if 200 <= status < 300:
            reason = content.parked(page, host_of(final))
            if reason:
                return "parked", f"Hinweis auf eine geparkte oder verkäufliche Domain: „{reason}“"
            if page is not None:
                reason = content.challenge(page, raw, headers)
                if reason:
                    return "blocked", f"Die Website zeigt eine Bot-Sperre: „{reason}“"
                reason = content.soft_404(page)
                if reason:
                    return "soft_404", f"Die Seite antwortet, meldet aber „{reason}“."
            if outcome.redirects:
                found = self._judge_redirects(item, outcome)
                if found is not None:
                    return found
            if page is not None and self.policy.content_analysis:
                reason = content.changed(page, item.baseline_title, item.baseline_text, self.policy.similarity)
                if reason:
                    return "content_changed", reason
            if outcome.suggested_url:
                return "redirect_permanent", f"Dauerhaft umgeleitet auf {outcome.suggested_url[:300]}"
            return "ok", ""
        if status == 401:
            return "ok", "Die Seite verlangt eine Anmeldung; sie existiert."
        challenge = content.challenge(None, raw, headers)
        if status == 403 or (challenge and status in (429, 503)):
            return "blocked", f"Zugriff verweigert ({status})" + (f": „{challenge}“" if challenge else "")
        if status in (404, 410):
            return f"http_{status}", f"HTTP {status}"
        if status in (420, 429):
            return "rate_limited", f"HTTP {status}: zu viele Anfragen" + _retry_note(outcome.retry_after)
        if status == 408 or status >= 500:
            return "http_server", f"HTTP {status}" + _retry_note(outcome.retry_after)
        return "http_client", f"HTTP {status}"

    def _judge_redirects(self, item: Item, outcome: Outcome) -> tuple[str, str] | None:
        final = outcome.final_url or item.url
        if all(code in (301, 308) for code, _ in outcome.redirects):
            try:
                target = normalise(final)
            except UrlError:
                target = None
            outcome.suggested_url = target if target and target != item.url else None
        if registrable_domain(host_of(final)) != registrable_domain(host_of(item.url)):
            return "redirect_other_domain", f"Weiterleitung auf eine andere Website: {final[:300]}"
        if is_home(final) and not is_home(item.url):
            return "redirect_home", f"Weiterleitung auf die Startseite: {final[:300]}"
        return None

    # -- robots.txt ------------------------------------------------------------------------------------------
    def _robots_known(self, task: _Task) -> bool:
        return not self.policy.robots or self.robots.get(task.origin) is not None

    def _robots_allow(self, url: str, slot: _Slot, deadline: Deadline, origin: str | None = None) -> bool:
        origin = origin or origin_of(url)
        entry = self.robots.get(origin)
        if entry is None:
            with self.robots.lock(origin):
                entry = self.robots.get(origin)
                if entry is None:
                    entry = self._fetch_robots(origin, slot, deadline)
                    self.robots.entries[origin] = entry
                    if self.dispatcher is not None:
                        self.dispatcher.wake(host_of(url))
        return entry.allows(self.policy.robots_token, url)

    def _fetch_robots(self, origin: str, slot: _Slot, deadline: Deadline) -> RobotsEntry:
        """Fetch robots.txt, pausing before each hop; 4xx or unreachable (unlike RFC 9309): no rules."""
        url = origin + "/robots.txt"
        try:
            for _ in range(6):
                self._pace(slot, url, deadline)
                response = self._open("GET", url, {"User-Agent": self.policy.user_agent}, deadline.remaining())
                location = response.headers.get("Location")
                if not (response.status in REDIRECT_CODES and location):
                    break
                self._discard(response, deadline)
                url = urljoin(url, location.strip())
        except (HTTPError, BlockedAddress, OSError, ValueError):
            deadline.detach()
            return RobotsEntry(time.time(), None, None, fresh=True)
        try:
            complete = True
            if 200 <= response.status < 300:
                data = bytearray()
                for chunk in response.stream(16384, decode_content=True):
                    data += chunk
                    if len(data) >= ROBOTS_LIMIT:
                        complete = False
                        break
                body = bytes(data[:ROBOTS_LIMIT]).decode("utf-8", errors="replace")
                return RobotsEntry(time.time(), response.status, body, fresh=True)
            self._discard(response, deadline)
            return RobotsEntry(time.time(), response.status, None, fresh=True)
        except (HTTPError, OSError):
            complete = False
            return RobotsEntry(time.time(), None, None, fresh=True)
        finally:
            self._let_go(response, deadline, complete)


def _media_type(response: BaseHTTPResponse) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _is_html(response: BaseHTTPResponse) -> bool:
    ctype = _media_type(response)
    return ctype in HTML_TYPES or ctype == ""


def _strip_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _retry_note(seconds: float | None) -> str:
    return f" (Retry-After: {round(seconds)} s)" if seconds is not None else ""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (cause, context, args, urllib3's .reason)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen or len(seen) > 20:
            continue
        seen.add(id(current))
        yield current
        for nxt in (current.__cause__, current.__context__, getattr(current, "reason", None),
                    *[a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def classify_exception(url: str, exc: BaseException, expired: bool) -> Outcome:
    """Turn any failure into an Outcome (kind and a short German detail)."""
    chain = list(_causes(exc))
    for err in chain:
        if isinstance(err, BlockedAddress):
            return Outcome(url, "private_address",
                           detail=f"{err.host} zeigt auf eine interne Adresse ({', '.join(err.addresses)[:200]}).")
    if expired:
        return Outcome(url, "timeout", detail="Zeitlimit für die ganze Prüfung überschritten.")
    for err in chain:
        if isinstance(err, ssl.SSLCertVerificationError):
            kind = TLS_CODES.get(err.verify_code, "tls_other")
            return Outcome(url, kind, detail=f"TLS: {err.verify_message or err.reason}"[:300])
        if type(err).__name__ == "CertificateError":
            return Outcome(url, "tls_hostname", detail=f"TLS: {err}"[:300])
    for err in chain:
        if isinstance(err, socket.gaierror):
            hard = err.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5))
            return Outcome(url, "dns" if hard else "dns_temporary",
                           detail=f"DNS: {host_of(url)} – {err.strerror or err}"[:300])
    for err in chain:
        if isinstance(err, NameResolutionError):
            return Outcome(url, "dns_temporary", detail=f"DNS: {err}"[:300])
    for err in chain:
        if isinstance(err, TimeoutError) or "timed out" in str(err).lower():
            return Outcome(url, "timeout", detail="Die Website hat nicht rechtzeitig geantwortet.")
    for err in chain:
        if isinstance(err, ssl.SSLError):
            return Outcome(url, "tls_other", detail=f"TLS: {err}"[:300])
        if isinstance(err, ConnectionRefusedError):
            return Outcome(url, "refused", detail="Die Verbindung wurde abgelehnt.")
    for err in chain:
        if isinstance(err, LocationParseError | LocationValueError | UnicodeError):
            return Outcome(url, "invalid_url", detail=f"Ungültige Adresse: {err}"[:300])
    return Outcome(url, "connection", detail=f"Verbindungsfehler: {type(exc).__name__}: {exc}"[:300])
