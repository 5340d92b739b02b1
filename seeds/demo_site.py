"""A local stand-in for the demo data's made-up `.example` web sites (started by `python3 dev.py start`).

It answers every demo host over TLS with a realistic mix: most pages fine, some moved, a few gone, so the link
checker shows real states offline and no request for a made-up name leaves the machine. The checker is pointed
at it with CHECK_HOSTS, CHECK_ALLOWED_NETWORKS and CHECK_CA_BUNDLE (see `checker_settings`).

    .venv/bin/python seeds/demo_site.py --port 8443 --dir instance/demo-site [--settings checker.json]

Standard library only (cryptography, a test extra, makes the certificate once), so it starts in a blink.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SEEDS = Path(__file__).resolve().parent

URL = re.compile(r"https?://([a-z0-9.-]+\.example)(?=[/:\"?#]|$)", re.I)


def demo_hosts(seeds: Path = SEEDS) -> list[str]:
    """Every `.example` host name the demo seed files mention, sorted."""
    hosts = {m.group(1).lower() for f in sorted((seeds / "demo").glob("*.json"))
             for m in URL.finditer(f.read_text(encoding="utf-8"))}
    return sorted(hosts)


def checker_settings(hosts: list[str], address: str, port: int, ca_file: Path) -> dict[str, Any]:
    """The link-checker settings that send the demo hosts to this site and trust its certificate."""
    return {"CHECK_HOSTS": {h: f"{address}:{port}" for h in hosts},
            "CHECK_ALLOWED_NETWORKS": [f"{address}/32"], "CHECK_CA_BUNDLE": str(ca_file)}


def verdict(host: str, path: str) -> int:
    """A stable answer per URL: about 85 % fine, 9 % moved, 3 % not found, 3 % gone."""
    if path.startswith("/neu/"):
        return 200
    bucket = int(hashlib.sha256(f"{host}{path}".encode()).hexdigest()[:4], 16) % 100
    return 301 if bucket < 9 else 404 if bucket < 12 else 410 if bucket < 15 else 200


def page(host: str, path: str) -> str:
    """A small page that reads like a real organisation's site (distinct text per URL)."""
    name = host.removeprefix("www.").split(".")[0].replace("-", " ").title()
    return (f"<!doctype html><html lang='de'><head><meta charset='utf-8'><title>{name}</title></head><body>"
            f"<nav>Start | Angebote | Kontakt</nav><main><h1>{name}</h1><p>Willkommen bei {name}. Auf der Seite "
            f"{path} finden Sie unsere Angebote, Öffnungszeiten und Ansprechpersonen in der Region.</p>"
            "<p>Wir beraten vertraulich und kostenlos. Rufen Sie uns an oder kommen Sie vorbei.</p></main>"
            "<footer>Impressum | Datenschutz</footer></body></html>")


class Handler(BaseHTTPRequestHandler):
    """Answers GET and HEAD by the URL's verdict."""

    server_version = "atlas-demo-site/1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self.answer(body=False)

    def answer(self, body: bool) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        path = self.path.split("?")[0]
        status = 404 if path == "/robots.txt" else verdict(host, path)
        payload = page(host, path).encode() if status == 200 else b"<h1>Nicht gefunden</h1>"
        self.send_response(status)
        if status == 301:
            self.send_header("Location", f"https://{host}/neu{path}")
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def log_message(self, *_args: Any) -> None:
        """Quiet: the checker's dashboard shows what happened."""


def make_certificates(folder: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for all demo hosts; reused while the host list is unchanged."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    stamp = folder / "hosts.json"
    if ca_file.exists() and stamp.exists() and json.loads(stamp.read_text()) == hosts:
        return ca_file, cert_file, key_file
    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "atlas demo CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    stamp.write_text(json.dumps(hosts))
    return ca_file, cert_file, key_file


def serve(address: str, port: int, folder: Path, hosts: list[str]) -> ThreadingHTTPServer:
    """A TLS server for the demo hosts (call serve_forever on it)."""
    _ca, cert_file, key_file = make_certificates(folder, hosts)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def main() -> None:
    """Run the demo site until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="Folder for the demo CA and certificate.")
    parser.add_argument("--settings", type=Path, help="Write the link-checker settings (JSON) here once serving.")
    args = parser.parse_args()
    hosts = demo_hosts()
    server = serve(args.address, args.port, args.dir, hosts)
    if args.settings:
        settings = checker_settings(hosts, args.address, server.server_address[1], (args.dir / "ca.pem").resolve())
        partial = args.settings.with_suffix(".partial")
        partial.write_text(json.dumps(settings), encoding="utf-8")
        partial.replace(args.settings)  # whoever waits for the file never reads half of it
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
