"""The production topology of docs/operations.md with real processes: PostgreSQL, gunicorn (4 workers, wsgi:app,
gunicorn.conf.py) and the scheduler; first-time set-up by the CLI, a smoke journey, a worker killed mid-request."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from conftest import RUN_ID, _admin_engine

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "import"


def postgres_url() -> str:
    """A run-unique database on the PostgreSQL server of ATLAS_DATABASE_URL."""
    parsed = sa.engine.make_url(os.environ["ATLAS_DATABASE_URL"])
    return parsed.set(database=f"{parsed.database or 'atlas'}_{RUN_ID}_deploy").render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def database() -> str:
    if not os.environ.get("ATLAS_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("the PostgreSQL deployment runs in the PostgreSQL run (ATLAS_DATABASE_URL=postgresql://…)")
    url = postgres_url()
    name = sa.engine.make_url(url).database
    try:
        with _admin_engine(url).connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {sa.engine.make_url(url).host}: {str(exc).splitlines()[0]}")
    yield url
    with _admin_engine(url).connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def environment(database, tmp_path) -> dict[str, str]:
    """The environment file's settings, as systemd would pass them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "FLASK_", "WEB_", "GUNICORN_"))}
    return env | {"ATLAS_INSTANCE_PATH": str(tmp_path / "var-lib-atlas"), "ATLAS_DATABASE_URL": database,
                  "ATLAS_SECRET_KEY": "deployment-test-secret-0123456789", "ATLAS_PROXY_FIX": "1",
                  "ATLAS_PUBLIC_BASE_URL": "http://atlas.test", "PYTHONUNBUFFERED": "1"}


def flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "atlas", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def wait_for(predicate, seconds: float = 90.0, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def children(pid: int) -> set[int]:
    """The current child processes of pid (gunicorn's workers)."""
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{pid}$", text, re.M):
            found.add(int(status.parent.name))
    return found


def worker_serving(workers: set[int], client_port: int) -> int:
    """The worker whose socket is the server side of the connection from client_port (via /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == client_port:
                inodes.add(fields[9])
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in {f"socket:[{i}]" for i in inodes}:
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker holds the connection from port {client_port}")


class Browser:
    """A cookie-keeping HTTP client, as a visitor behind nginx (X-Forwarded-* set by the proxy)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str, **headers) -> tuple[int, dict, bytes]:
        return self.send(urllib.request.Request(self.base + path, headers=headers))

    def post(self, path: str, data: dict) -> tuple[int, dict, bytes]:
        return self.send(urllib.request.Request(self.base + path, data=urlencode(data).encode()))

    def send(self, request) -> tuple[int, dict, bytes]:
        request.add_header("X-Forwarded-For", "203.0.113.7")
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def topology(environment, tmp_path):
    """First-time set-up as docs/operations.md says, then gunicorn (4 workers) and the scheduler."""
    env = environment
    assert "Schema created" in flask(env, "init-db")
    assert "Seed loaded" in flask(env, "seed", "--no-demo")
    admin = flask(env, "create-user", "admin@atlas.example", "--role", "coordinator", "--name", "Admin",
                  "--password", "generate")
    password = re.search(r"Password: (\S+)", admin)[1]
    flask(env, "import", str(DATA / "netzwerkkarte_en.csv"), "--source", "Netzwerkkarte EN")
    flask(env, "reindex")
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--workers", "4",
                            "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=log)
    scheduler = subprocess.Popen([sys.executable, "-m", "flask", "--app", "atlas", "scheduler"], cwd=ROOT, env=env,
                                 stdout=log, stderr=log)
    try:
        yield {"web": web, "scheduler": scheduler, "base": f"http://127.0.0.1:{port}", "port": port,
               "password": password, "log": tmp_path / "gunicorn.log"}
    finally:
        for proc in (web, scheduler):
            proc.terminate()
        for proc in (web, scheduler):
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def healthy(base: str) -> dict | None:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            body = json.load(response)
    except (OSError, ValueError):
        return None
    ok = (body["status"] == "ok" and body["database"]["dialect"] == "postgresql" and body["search"]["present"]
          and body["link_checker"]["status"] == "ok")
    return body if ok else None


def test_production_topology_smoke_journey_and_a_killed_worker(topology):
    base = topology["base"]
    health = wait_for(lambda: healthy(base), what="a green /healthz (web, search index and scheduler)")
    assert health["link_checker"].get("pending")  # the scheduler runs; its first full run comes on schedule
    workers = wait_for(lambda: four_workers(topology["web"].pid), what="4 workers")

    visitor = Browser(base)
    status, headers, body = visitor.get("/", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert b"<style" in gzip.decompress(body)  # public pages carry their CSS inline (issue 10)
    offers = visitor.get("/angebote")[2].decode()
    static = re.findall(r'(/static/[^"]+\?v=[0-9a-f]{12})', offers)
    assert static
    status, headers, _ = visitor.get(static[0])
    assert status == 200 and headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert visitor.get("/suche?q=Suchtberatung")[0] == 200
    assert visitor.get("/karte")[0] == 200

    staff = Browser(base)
    login_page = staff.get("/login")[2].decode()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', login_page)[1]
    status, _, body = staff.post("/login", {"email": "admin@atlas.example", "password": topology["password"],
                                            "csrf_token": token})
    assert status == 200 and "/logout" in body.decode(), body.decode()[-1500:]  # followed the redirect
    assert staff.get("/verwaltung")[0] == 200
    status, _, body = staff.get("/suche?q=Suchtberatung")  # the imported entries await review: staff see them
    assert status == 200 and "Suchtberatung Witten" in body.decode()
    offer = re.search(r'href="(/[a-z/]*angebote/\d+)"', body.decode())[1]
    status, _, body = staff.get(offer)
    assert status == 200 and "Suchtberatung Witten" in body.decode()

    # A request in flight: headers half sent, so a worker is busy with it; that worker is killed.
    in_flight = socket.create_connection(("127.0.0.1", topology["port"]))
    in_flight.sendall(b"GET /karte HTTP/1.1\r\nHost: atlas.test\r\n")
    victim = wait_for(lambda: _try_worker(workers, in_flight.getsockname()[1]), 30, "the worker holding the request")
    os.kill(victim, signal.SIGKILL)
    in_flight.settimeout(30)
    try:
        assert in_flight.recv(100) == b""  # the killed worker's request ends without an answer
    except ConnectionResetError:
        pass
    in_flight.close()
    for _ in range(12):  # the other workers answer meanwhile
        assert visitor.get("/")[0] == 200
    replaced = wait_for(lambda: four_workers(topology["web"].pid, without=victim),
                        what="gunicorn to replace the killed worker")
    assert len(replaced - workers) == 1 and topology["web"].poll() is None
    assert staff.get("/verwaltung")[0] == 200  # sessions survive: they live in the signed cookie
    assert topology["scheduler"].poll() is None and healthy(base)

    log = topology["log"].read_text()
    assert "203.0.113.7" in log  # staff pages: the client address (from X-Forwarded-For via PROXY_FIX)
    public_lines = [line for line in log.splitlines() if '"GET /suche?q=Suchtberatung' in line]
    assert public_lines and all(line.startswith("- ") for line in public_lines)


def four_workers(master: int, without: int | None = None) -> set[int] | None:
    workers = children(master)
    return workers if len(workers) == 4 and without not in workers else None


def _try_worker(workers: set[int], port: int) -> int | None:
    try:
        return worker_serving(workers, port)
    except AssertionError:
        return None


FREEZE_CHECK = """
import gc, importlib.util, json, sys, types
spec = importlib.util.spec_from_file_location("gunicorn_settings", sys.argv[1])
settings = importlib.util.module_from_spec(spec)
spec.loader.exec_module(settings)
worker, kept, frozen = types.SimpleNamespace(), [], []
for request in range(1, 101):
    if request == 50:
        kept = [[i] for i in range(5000)]  # a cache warmed between the freezes
    settings.post_request(worker, None, {}, None)
    frozen.append(gc.get_freeze_count())
print(json.dumps({"frozen": frozen, "kept": len(kept), "young": gc.get_count()[0]}))
"""


def test_a_worker_freezes_its_warm_objects_out_of_the_garbage_collector():
    # In a process of its own: a full collection of this test process's heap would take seconds.
    out = subprocess.run([sys.executable, "-c", FREEZE_CHECK, str(ROOT / "gunicorn.conf.py")], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    result = json.loads(out)
    frozen = result["frozen"]
    assert frozen[0] > 1000  # after the first request: the imported libraries (gunicorn's logger among them)
    assert max(frozen[1:99]) <= frozen[0]  # nothing in between
    assert frozen[99] >= frozen[98] + result["kept"]  # after the 100th: the warm caches too
    assert result["young"] < 700
