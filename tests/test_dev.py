"""`python3 dev.py start` as a newcomer meets it: ports, a green /healthz, restarts that keep edits, demo links."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_busy_port_stops_at_once_with_a_clear_message():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, ROOT / "dev.py", "start", "--port", str(port)], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr and "--port" in result.stderr
    assert "atlas runs on" not in result.stdout


@pytest.mark.parametrize("args", [["--port", "70000"], ["--port", "abc"], ["--bogus"]])
def test_bad_arguments_exit_non_zero(args):
    result = subprocess.run([sys.executable, ROOT / "dev.py", "start", *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and result.stderr.strip()


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of the project as a newcomer has it, sharing this .venv (so nothing is installed)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    copy = tmp_path / "atlas"
    for name in files:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


class DevStart:
    """One `dev.py start` process and its output."""

    def __init__(self, checkout: Path, port: int, ignore_sigint: bool = False) -> None:
        self.log = checkout / f"start-{time.monotonic_ns()}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "FLASK_"))}
        # A shell script's background job inherits SIGINT ignored; Ctrl+C must still stop dev.py then.
        ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen([sys.executable, "dev.py", "start", "--port", str(port)], cwd=checkout,
                                         env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=ignore)
        self.url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self, seconds: float = 400) -> None:
        deadline = time.monotonic() + seconds
        while "atlas runs on" not in self.output():
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def healthz(url: str) -> dict:
    with urllib.request.urlopen(url + "/healthz", timeout=30) as response:
        return json.load(response)


@pytest.mark.skipif(os.environ.get("ATLAS_DATABASE_URL", "").startswith("postgresql"),
                    reason="dev.py start uses the embedded SQLite database: this runs in the SQLite run only")
def test_start_is_green_restart_skips_set_up_and_keeps_edits_and_demo_links_stay_local(checkout):
    port = free_port()
    first = DevStart(checkout, port)
    try:
        first.wait_ready()
        health = healthz(first.url)
        # The public health page has no offer counts (security finding 11): the index is present and in step.
        assert health["status"] == "ok" and health["search"]["present"] and health["search"]["in_sync"]
        assert health["link_checker"]["status"] == "ok" and health["link_checker"]["pending"]
        assert "Seed loaded" in first.output() and "Search index rebuilt" in first.output()
        database = checkout / "instance" / "atlas.sqlite"
        deadline = time.monotonic() + 120  # the scheduler checks new links about 2 s after its start
        while True:
            with sqlite3.connect(database, timeout=30) as conn:
                kinds = dict(conn.execute("SELECT kind, count(*) FROM link_check GROUP BY kind").fetchall())
            conn.close()
            if sum(kinds.values()) >= 20 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert sum(kinds.values()) >= 20, kinds
        assert kinds.get("ok", 0) > sum(kinds.values()) / 2, kinds  # mostly fine …
        local_answers = {"ok", "redirect_permanent", "http_404", "http_410"}
        assert set(kinds) <= local_answers, kinds  # … and all answered by the local site, none by DNS
        with sqlite3.connect(database, timeout=30) as conn:
            conn.execute("UPDATE service SET name = 'Von der Koordination bearbeitet' WHERE id = 1")
        conn.close()
    finally:
        assert first.stop() == 0, first.output()
    second = DevStart(checkout, port, ignore_sigint=True)
    try:
        second.wait_ready()
        out = second.output()
        assert "Seed loaded" not in out and "Schema" not in out and "Search index rebuilt" not in out
        assert "Installing" not in out
        assert healthz(second.url)["status"] == "ok"
        with sqlite3.connect(checkout / "instance" / "atlas.sqlite", timeout=30) as conn:
            assert conn.execute("SELECT name FROM service WHERE id = 1").fetchone() == ("Von der Koordination bearbeitet",)
        conn.close()
    finally:
        assert second.stop(signal.SIGINT) == 0, second.output()
