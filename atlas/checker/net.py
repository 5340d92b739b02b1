"""Network plumbing for the checker: a caching resolver, the SSRF guard inside the connection, and a watchdog.

The guard sits where urllib3 opens the socket: the host name is resolved once, every address is vetted, and the
socket connects to a vetted address (TLS still checks the certificate against the host name). Resolving and
connecting in one step leaves no gap for DNS rebinding, and it covers every redirect hop and every pooled
connection, because no socket is ever opened any other way.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import certifi
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

AddrInfo = tuple[Any, ...]
Lookup = Callable[[str, int], list[AddrInfo]]
# Carrier-grade NAT space is not "private" to Python but is never a public web server.
EXTRA_BLOCKED = (ipaddress.ip_network("100.64.0.0/10"),)


class BlockedAddress(Exception):
    """The target resolves only to addresses the checker must not contact (private, loopback ...)."""

    def __init__(self, host: str, addresses: list[str]) -> None:
        super().__init__(f"{host} → {', '.join(addresses)}")
        self.host = host
        self.addresses = addresses


class AddressPolicy:
    """Which IP addresses the checker may connect to: public unicast, plus configured networks."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = [ipaddress.ip_network(net, strict=False) for net in allowed]

    def permits(self, address: str) -> bool:
        """True when connecting to this address is allowed."""
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in net for net in self.allowed if net.version == ip.version):
            return True
        return ip.is_global and not ip.is_multicast and not any(ip in net for net in EXTRA_BLOCKED
                                                                 if net.version == ip.version)


class Resolver:
    """getaddrinfo with a short-lived cache (answers and failures), plus fixed entries like /etc/hosts.

    A fixed entry of None means "this name does not exist" (used by tests, never by default).
    """

    def __init__(self, hosts: dict[str, str | None] | None = None, ttl: float = 300.0,
                 lookup: Lookup | None = None) -> None:
        self.hosts = {k.lower(): v for k, v in (hosts or {}).items()}
        self.ttl = ttl
        self.lookup = lookup or (lambda host, port: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        self._cache: dict[tuple[str, int], tuple[float, list[AddrInfo] | socket.gaierror]] = {}
        self._lock = threading.Lock()

    def port_for(self, host: str, port: int) -> int:
        """The port to connect to: a fixed entry "address:port" (a local stand-in site) replaces the URL's."""
        fixed = self.hosts.get(host.lower().rstrip("."))
        return int(fixed.rpartition(":")[2]) if fixed and fixed.count(":") == 1 else port

    def resolve(self, host: str, port: int) -> list[AddrInfo]:
        """Return address infos for host:port; raises socket.gaierror like getaddrinfo."""
        host = host.lower().rstrip(".")
        if host in self.hosts:
            fixed = self.hosts[host]
            if fixed is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return socket.getaddrinfo(fixed.partition(":")[0] if fixed.count(":") == 1 else fixed,
                                      self.port_for(host, port), type=socket.SOCK_STREAM)
        key = (host, port)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            if isinstance(hit[1], socket.gaierror):
                raise hit[1]
            return hit[1]
        try:
            answer: list[AddrInfo] | socket.gaierror = self.lookup(host, port)
        except socket.gaierror as exc:
            answer = exc
        with self._lock:
            self._cache[key] = (now + self.ttl, answer)
        if isinstance(answer, socket.gaierror):
            raise answer
        return answer


class Guard:
    """Resolver plus address policy, shared by every connection of one checker."""

    def __init__(self, resolver: Resolver, policy: AddressPolicy) -> None:
        self.resolver = resolver
        self.policy = policy

    def vetted(self, host: str, port: int) -> list[str]:
        """Addresses of host that may be contacted; raises socket.gaierror or BlockedAddress."""
        infos = self.resolver.resolve(host.strip("[]"), port)
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        allowed = [a for a in addresses if self.policy.permits(a)]
        if not allowed:
            raise BlockedAddress(host, addresses)
        return allowed


# -- per-attempt deadline --------------------------------------------------------------------------------
_local = threading.local()


class Deadline:
    """One attempt's wall-clock limit; on expiry the watchdog shuts the sockets it used."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.expired = False
        self.finished = False
        self._conns: list[HTTPConnection] = []
        # Sockets remembered once a request is sent, not looked up at expiry: for a body without Content-Length
        # (read until close) http.client drops the connection's socket while the response still reads from it.
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def attach(self, conn: HTTPConnection) -> None:
        with self._lock:
            if self.expired:
                raise TimeoutError("deadline passed")
            self._conns.append(conn)

    def watch(self, sock: socket.socket | None) -> None:
        """Remember the socket a response will be read from (shut it on expiry even if the connection lets go)."""
        if sock is None:
            return
        with self._lock:
            if self.expired:
                _shut(sock)
            else:
                self._socks.append(sock)

    def detach(self) -> None:
        """Forget the connections (call before they return to the pool)."""
        with self._lock:
            self._conns.clear()
            self._socks.clear()

    def expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired = True
            for sock in [getattr(conn, "sock", None) for conn in self._conns] + self._socks:
                if sock is not None:
                    _shut(sock)
            self._conns.clear()
            self._socks.clear()

    def finish(self) -> None:
        with self._lock:
            self.finished = True
            self._conns.clear()
            self._socks.clear()

    def __enter__(self) -> Deadline:
        _local.deadline = self
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()
        _local.deadline = None


def _shut(sock: socket.socket) -> None:
    """End a connection under a blocked reader: its recv returns at once."""
    try:
        # socket.socket.shutdown, not SSLSocket.shutdown: only the descriptor, no TLS state.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class Watchdog:
    """One thread that expires deadlines; cheap enough for thousands of attempts."""

    GRAIN = 0.05  # seconds a deadline may fire late

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="checker-watchdog", daemon=True)
        self._thread.start()

    def deadline(self, seconds: float) -> Deadline:
        """Return a Deadline that expires after seconds (use it as a context manager)."""
        deadline = Deadline(time.monotonic() + seconds)
        with self._cond:
            earliest = not self._heap or deadline.at < self._heap[0][0]
            heapq.heappush(self._heap, (deadline.at, next(self._seq), deadline))
            if earliest:  # otherwise the watchdog wakes up early enough anyway
                self._cond.notify()
        return deadline

    def expire_all(self) -> None:
        """Expire every pending deadline (used when a run is stopped)."""
        with self._cond:
            pending = [d for _, _, d in self._heap]
            self._heap.clear()
        for deadline in pending:
            deadline.expire()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    # Waking once per attempt (a thousand a second at 64 checks) costs more CPU than the checks'
                    # own bookkeeping; a deadline of seconds may fire a few hundredths late.
                    self._cond.wait(None if timeout is None else max(timeout, self.GRAIN))
                if self._stopped:
                    return
                now = time.monotonic()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
            for deadline in due:
                if not deadline.finished:
                    deadline.expire()


# -- guarded urllib3 connections ---------------------------------------------------------------------------
class _GuardedMixin:
    """Replaces urllib3's socket creation: resolve, vet, connect to the vetted address only."""

    guard: Guard
    host: str
    port: int
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        deadline: Deadline | None = getattr(_local, "deadline", None)
        try:
            addresses = self.guard.vetted(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        original, original_port = self._dns_host, self.port
        self.port = self.guard.resolver.port_for(original, self.port)
        error: Exception | None = None
        try:
            for address in addresses:
                if deadline is not None and deadline.remaining() <= 0:
                    raise ConnectTimeoutError(self, "deadline passed before connecting")
                self._dns_host = address
                try:
                    return super()._new_conn()  # type: ignore[misc]
                except (NewConnectionError, ConnectTimeoutError) as exc:
                    error = exc
            assert error is not None
            raise error
        finally:
            self._dns_host, self.port = original, original_port

    def request(self, *args: Any, **kwargs: Any) -> Any:
        deadline: Deadline | None = getattr(_local, "deadline", None)
        if deadline is not None:
            deadline.attach(self)  # type: ignore[arg-type]
        result = super().request(*args, **kwargs)  # type: ignore[misc]
        if deadline is not None:
            deadline.watch(self.sock)
        return result


def guarded_pool(guard: Guard, pools: int, per_host: int, ca_bundle: str | None = None) -> PoolManager:
    """A urllib3 pool manager whose connections open sockets only through the guard; never retries by itself.

    urllib3 directly rather than requests: the checker sends each request itself (no redirects, cookies, proxies
    or session merging), and requests' layer above urllib3 cost about 1 ms of CPU per URL, more than the rest
    of the check together. Proxy variables and .netrc are never read (a proxy would bypass the address check).
    TLS always verifies, against one CA bundle checked once here.
    """
    bundle = ca_bundle or certifi.where()
    if not os.path.isfile(bundle):
        raise FileNotFoundError(f"CA bundle not found: {bundle}")
    manager = PoolManager(num_pools=pools, maxsize=per_host, block=False, retries=False,
                          cert_reqs="CERT_REQUIRED", ca_certs=bundle)
    attrs = {"guard": guard}
    http_conn = type("GuardedHTTPConnection", (_GuardedMixin, HTTPConnection), attrs)
    https_conn = type("GuardedHTTPSConnection", (_GuardedMixin, HTTPSConnection), attrs)
    manager.pool_classes_by_scheme = {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }
    return manager
