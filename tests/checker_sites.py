"""Fake web sites for the link-checker tests and benchmark: one asyncio server on many loopback addresses.

A handler turns each request into a Reply; modes cover the misbehaving servers a checker meets
(hanging, endlessly streaming, trickling headers, dropping the connection).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """What the fake server received."""

    method: str
    path: str
    headers: dict[str, str]
    ip: str
    port: int
    at: float = field(default_factory=time.monotonic)
    # Which connection carried it (equal for requests on one kept-alive connection).
    connection: int = 0


@dataclass
class Reply:
    """What the fake server answers; mode is normal, hang, stream, trickle (headers), drip (body) or close."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str = b""
    delay: float = 0.0
    mode: str = "normal"
    # How long hang, trickle, drip and stream go on before the server gives up (seconds).
    limit: float = 3600.0
    # drip: how the body is framed: "length" (a Content-Length), "close" (none: read until close), "chunked".
    framing: str = "length"

    def payload(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


REASONS = {200: "OK", 206: "Partial Content", 301: "Moved Permanently", 302: "Found", 303: "See Other",
           307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 410: "Gone", 416: "Range Not Satisfiable",
           429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}

Handler = Callable[[Request], Reply]


def html(title: str, text: str, extra_head: str = "") -> str:
    """A small HTML page with a title and a main text."""
    return (f"<!doctype html><html lang='de'><head><meta charset='utf-8'><title>{title}</title>{extra_head}</head>"
            f"<body><nav>Start | Angebote | Kontakt</nav><main><h1>{title}</h1><p>{text}</p></main>"
            "<footer>Impressum</footer></body></html>")


class FakeWeb:
    """An asyncio HTTP/1.1 server (keep-alive, optional TLS) on several (ip, port) pairs."""

    def __init__(self, handler: Handler, addresses: list[tuple[str, int]] | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.addresses = addresses or [("127.0.0.1", 0)]
        self.tls = tls
        self.bound: list[tuple[str, int]] = []
        self.log: list[Request] = []
        self.keep_log = True
        self.count = 0
        self.first_at: float | None = None
        self.last_at: float | None = None  # when the last answer was sent
        self._loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        """Start listening on every address (inside a running loop)."""
        self._loop = asyncio.get_running_loop()
        for ip, port in self.addresses:
            server = await asyncio.start_server(self._serve, ip, port, ssl=self.tls, backlog=512,
                                                limit=1 << 16)
            self._servers.append(server)
            self.bound.append(server.sockets[0].getsockname()[:2])

    async def close_async(self) -> None:
        """Stop listening and drop open connections."""
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for server in self._servers:
            await server.wait_closed()

    def start(self) -> FakeWeb:
        """Run the server in a background thread (tests)."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.open())
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.close_async())
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        """Stop the background thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FakeWeb:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def url(self, path: str = "/", index: int = 0, host: str | None = None) -> str:
        """The URL of a path on one of the bound addresses (optionally under another host name)."""
        ip, port = self.bound[index]
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or ip}:{port}{path}"

    def requests_for(self, path: str) -> list[Request]:
        """Requests received for a path (robots.txt included when asked for)."""
        return [r for r in self.log if r.path == path]

    # -- protocol --------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        ip, port = writer.get_extra_info("sockname")[:2]
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ssl.SSLError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    return
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                request = Request(parts[0], parts[1], headers, ip, port, connection=id(writer))
                self.count += 1
                if self.first_at is None:
                    self.first_at = request.at
                if self.keep_log:
                    self.log.append(request)
                reply = self.handler(request)
                keep = await self._answer(request, reply, writer)
                self.last_at = time.monotonic()
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.CancelledError, ssl.SSLError, OSError):
            return
        finally:
            self._writers.discard(writer)
            writer.transport.abort() if writer.transport else None

    async def _answer(self, request: Request, reply: Reply, writer: asyncio.StreamWriter) -> bool:
        """Send a reply; returns whether the connection may be kept open."""
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.mode == "hang":
            await asyncio.sleep(reply.limit)
            return False
        if reply.mode == "close":
            return False
        reason = REASONS.get(reply.status, "Status")
        headers = {"Content-Type": "text/html; charset=utf-8"} | reply.headers
        if reply.mode == "trickle":
            start = f"HTTP/1.1 {reply.status} {reason}\r\nX-Slow: ".encode()
            writer.write(start)
            for _ in range(int(reply.limit * 10)):
                await asyncio.sleep(0.1)
                writer.write(b"a")
                await writer.drain()
            return False
        if reply.mode == "drip":
            await self._drip(reply, reason, headers, writer)
            return False
        if reply.mode == "stream":
            text = f"HTTP/1.1 {reply.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write((text + "Connection: close\r\n\r\n").encode("latin-1"))
            chunk = b"<p>" + b"x" * 8188 + b"</p>"
            end = time.monotonic() + reply.limit
            while time.monotonic() < end:
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.001)
            return False
        body = reply.payload()
        headers.setdefault("Content-Length", str(len(body)))
        text = f"HTTP/1.1 {reply.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write((text + "\r\n").encode("latin-1"))
        if request.method != "HEAD":
            writer.write(body)
        await writer.drain()
        return True


    @staticmethod
    async def _drip(reply: Reply, reason: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        """Headers at once, then the body one byte every 0.1 s (with a length, chunked, or until close)."""
        framing = {"length": {"Content-Length": "100000"}, "chunked": {"Transfer-Encoding": "chunked"},
                   "close": {"Connection": "close"}}[reply.framing]
        text = f"HTTP/1.1 {reply.status} {reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in (headers | framing).items())
        writer.write((text + "\r\n<html><head><title>Tropfen</title></head><body>").encode("latin-1")
                     if reply.framing != "chunked" else (text + "\r\n").encode("latin-1"))
        for _ in range(int(reply.limit * 10)):
            await asyncio.sleep(0.1)
            writer.write(b"1\r\nx\r\n" if reply.framing == "chunked" else b"x")
            await writer.drain()


class Router:
    """A handler that maps paths to replies (or callables), 404 for everything else."""

    def __init__(self, routes: dict[str, Reply | Handler | list[Reply]] | None = None) -> None:
        self.routes: dict[str, Reply | Handler | list[Reply]] = dict(routes or {})

    def __setitem__(self, path: str, reply: Reply | Handler | list[Reply]) -> None:
        self.routes[path] = reply

    def __call__(self, request: Request) -> Reply:
        target = self.routes.get(request.path.split("?")[0])
        if target is None:
            return Reply(404, body=html("Nicht gefunden", "Diese Seite gibt es nicht."))
        if isinstance(target, list):
            return target.pop(0) if len(target) > 1 else target[0]
        if callable(target):
            return target(request)
        return target


# -- TLS certificates made at test time ------------------------------------------------------------------------
def make_certificates(folder: Any) -> dict[str, Any]:
    """A test CA and server certificates for 127.0.0.1: good, expired, for another host, self-signed.

    Returns paths: "ca" (PEM to trust), and (cert, key) pairs "good", "expired", "wrong_host", "self_signed".
    """
    import datetime as dt
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = Path(folder)
    now = dt.datetime.now(dt.UTC)
    day = dt.timedelta(days=1)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def save(label: str, cert: x509.Certificate, key: Any) -> tuple[Path, Path]:
        cert_path, key_path = folder / f"{label}.pem", folder / f"{label}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_path, key_path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Atlas Test CA")).issuer_name(name("Atlas Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - day).not_valid_after(now + 30 * day)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    paths: dict[str, Any] = {"ca": save("ca", ca, ca_key)[0]}

    def leaf(label: str, hosts: list[str], start: dt.datetime, end: dt.datetime, self_signed: bool = False) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        builder = (x509.CertificateBuilder().subject_name(name(hosts[0]))
                   .issuer_name(name(hosts[0]) if self_signed else ca.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        cert = builder.sign(key if self_signed else ca_key, hashes.SHA256())
        paths[label] = save(label, cert, key)

    loopback = ["127.0.0.1", "localhost"] + [f"127.0.0.{i}" for i in range(2, 130)]
    leaf("good", loopback, now - day, now + 30 * day)
    leaf("expired", loopback, now - 30 * day, now - day)
    leaf("wrong_host", ["other.example"], now - day, now + 30 * day)
    leaf("self_signed", loopback, now - day, now + 30 * day, self_signed=True)
    return paths


def server_tls(pair: tuple[Any, Any]) -> ssl.SSLContext:
    """A server-side TLS context for a (cert, key) pair."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pair[0]), str(pair[1]))
    return context


# Checker settings for tests: timeouts short but generous for a loaded machine, no politeness pause, loopback
# allowed, no real DNS.
FAST_CONFIG = {
    "CHECK_ALLOWED_NETWORKS": ["127.0.0.0/8"], "CHECK_HOST_INTERVAL": 0.0, "CHECK_CONNECT_TIMEOUT": 2.0,
    "CHECK_READ_TIMEOUT": 2.0, "CHECK_DEADLINE": 5.0, "CHECK_RETRIES": 0, "CHECK_RETRY_DELAY": 0.05,
    "CHECK_RETRY_AFTER_MAX": 1.0, "CHECK_ROBOTS": False,
    "CHECK_HOSTS": {"www.lichtblick.example": None, "lichtblick.example": None},
}
