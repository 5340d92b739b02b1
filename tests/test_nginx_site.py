"""deploy/nginx-atlas.conf in front of the app with real nginx: TLS, redirect, compression, static caching, logs."""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
HOST = "atlas.example.org"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def site_file(tmp: Path, http_port: int, https_port: int, backend: int, cert: Path, key: Path) -> Path:
    """The shipped site file with only paths and ports changed, as an operator would."""
    text = (ROOT / "deploy" / "nginx-atlas.conf").read_text()
    text = re.sub(r"\s*listen \[::\]:\d+[^;]*;", "", text)
    text = (text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
            .replace("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
            .replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{backend};")
            .replace("/etc/letsencrypt/live/atlas.example.org/fullchain.pem", str(cert))
            .replace("/etc/letsencrypt/live/atlas.example.org/privkey.pem", str(key))
            .replace("alias /opt/atlas/static/;", f"alias {ROOT / 'static'}/;")
            .replace("/var/log/nginx/", f"{tmp}/"))
    site = tmp / "atlas-site.conf"
    site.write_text(text)
    return site


@pytest.fixture
def nginx(app, make_app, tmp_path):
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    site_app = make_app(PUBLIC_BASE_URL=f"https://{HOST}", PROXY_FIX=1)  # on the seeded database of `app`
    backend = make_server("127.0.0.1", 0, site_app, threaded=True)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    http_port, https_port = free_port(), free_port()
    cert, key = self_signed(tmp_path)
    site = site_file(tmp_path, http_port, https_port, backend.server_port, cert, key)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"user root; worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
                    "events {}\nhttp { include /etc/nginx/mime.types; "
                    f"client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy; "
                    f"include {site}; }}\n")
    check = subprocess.run([binary, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"])
    context = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline and proc.poll() is None, "nginx did not start"
            time.sleep(0.1)
    try:
        yield {"http": http_port, "https": https_port, "tls": context, "logs": tmp_path}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        backend.shutdown()


def fetch(site, path: str, headers: dict | None = None, secure: bool = True):
    if secure:
        conn = http.client.HTTPSConnection("127.0.0.1", site["https"], context=site["tls"], timeout=30)
        conn.sock = site["tls"].wrap_socket(socket.create_connection(("127.0.0.1", site["https"]), timeout=30),
                                            server_hostname=HOST)  # verified against the site's certificate
    else:
        conn = http.client.HTTPConnection("127.0.0.1", site["http"], timeout=30)
    conn.request("GET", path, headers={"Host": HOST, **(headers or {})})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def test_nginx_site_proxies_with_tls_compression_and_immutable_static_files(nginx):
    redirect, _ = fetch(nginx, "/karte?x=1", secure=False)
    assert redirect.status == 301 and redirect.headers["Location"] == f"https://{HOST}/karte?x=1"

    page, body = fetch(nginx, "/", {"Accept-Encoding": "gzip"})
    assert page.status == 200 and page.headers["Content-Encoding"] == "gzip"
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert b"<style" in gzip.decompress(body)  # public pages carry their CSS inline (issue 10)
    offers, body = fetch(nginx, "/angebote", {"Accept-Encoding": "gzip"})
    hashed = re.findall(r'"(/static/[^"]+\.js\?v=[0-9a-f]{12})"', gzip.decompress(body).decode())
    assert offers.status == 200 and hashed
    static, body = fetch(nginx, hashed[0], {"Accept-Encoding": "gzip"})
    assert static.status == 200 and static.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert static.headers["Content-Encoding"] == "gzip" and gzip.decompress(body)
    plain, _ = fetch(nginx, hashed[0].split("?")[0])
    assert plain.status == 200 and plain.headers["Cache-Control"] == "no-cache"

    login, _ = fetch(nginx, "/login")
    assert login.status == 200
    cookie = next(v for k, v in login.getheaders() if k == "Set-Cookie" and v.startswith("session="))
    assert "Secure" in cookie

    deadline = time.monotonic() + 10  # nginx logs a request once its answer is sent
    while '"GET /login' not in (text := (nginx["logs"] / "atlas.access.log").read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    log = text.splitlines()
    assert any(line.startswith("- [") and '"GET / HTTP' in line for line in log), log
    assert any(line.startswith("127.0.0.1 [") and '"GET /login HTTP' in line for line in log), log
