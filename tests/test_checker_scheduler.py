"""The scheduler process (two real processes: lock file and database lease), cron helpers, lease, digest e-mail."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from checker_sites import FAST_CONFIG, FakeWeb, Reply, Router, html

from atlas import create_app
from atlas.checker import lease
from atlas.checker.digest import DigestError, build_digests, send_digests
from atlas.checker.models import CheckerLease, CheckRun, Link, LinkCheck
from atlas.checker.runner import Runner, interrupt_dead_runs
from atlas.checker.scheduler import cron_trigger, schedule_gap
from atlas.db import ConfigError, get_session
from atlas.models import Organization, Service, User

ROOT = Path(__file__).resolve().parent.parent
EVERY_SECOND = {"CHECK_SCHEDULE": "* * * * * *", "CHECK_SYNC_SCHEDULE": "* * * * * *", "CHECK_LEASE_SECONDS": 3}


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Scheduler:
    """A `flask --app atlas scheduler` child process whose log lines can be awaited.

    It starts with SIGINT ignored, as some process runners do: the scheduler must install its own handlers."""

    def __init__(self, database_url: str, instance: Path, **config) -> None:
        settings = {"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance),
                    "NOMINATIM_URL": None} | FAST_CONFIG | EVERY_SECOND | config
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "FLASK_"))}
        self.proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", f"atlas:create_app({settings!r})",
                                      "scheduler"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, preexec_fn=_ignore_sigint)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 20) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            if text in line:
                return line
        raise AssertionError(f"{text!r} not seen; output:\n{''.join(self.output)}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.fixture
def scheduler_app(app, tmp_path):
    """The seeded app plus a fake site the sentinel offer points at."""
    app.config.update(FAST_CONFIG)
    router = Router({"/": Reply(200, body=html("Beratung", "Wir helfen gern."))})
    with FakeWeb(router) as web, app.app_context():
        session = get_session()
        session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick")).url = web.url("/")
        session.commit()
        yield app


def holders(app) -> list[str]:
    with app.app_context():
        return [h for (h,) in get_session().execute(sa.select(CheckRun.holder).order_by(CheckRun.id))]


def test_only_one_scheduler_runs_jobs(scheduler_app, database_url, tmp_path):
    """Three real processes on one database: a second one for the same instance folder refuses to start (lock
    file); one with another instance folder (think: another machine) stays on standby (database lease) until the
    first stops, then takes over. Both stop cleanly on SIGTERM and SIGINT."""
    first = Scheduler(database_url, tmp_path / "one")
    standby = twin = None
    try:
        first.wait_for("due links:")
        twin = Scheduler(database_url, tmp_path / "one")
        standby = Scheduler(database_url, tmp_path / "two")
        assert twin.proc.wait(60) == 1
        assert f"already running for this instance (pid {first.proc.pid})" in "".join(twin.output)
        standby.wait_for("skipped: another scheduler holds the lease")
        ran = holders(scheduler_app)
        assert ran and {h.rsplit(":", 1)[1] for h in ran} == {str(first.proc.pid)}
        assert first.stop(signal.SIGTERM) == 0  # clean exit, lease given up
        assert "scheduler stopped" in "".join(first.output)
        standby.wait_for("due links:")  # the standby takes over
        pids = [h.rsplit(":", 1)[1] for h in holders(scheduler_app)]
        switch = pids.index(str(standby.proc.pid))
        assert set(pids[:switch]) == {str(first.proc.pid)} and set(pids[switch:]) == {str(standby.proc.pid)}
    finally:
        first.stop()
        if standby is not None:
            assert standby.stop(signal.SIGINT) == 0
    with scheduler_app.app_context():
        session = get_session()
        runs = session.scalars(sa.select(CheckRun)).all()
        assert all(r.status in ("done", "interrupted") for r in runs)
        assert session.scalar(sa.select(Link.state).where(Link.url.like("http://127.0.0.1:%"))) == "ok"


def runs_of(app, pid: int) -> list[CheckRun]:
    with app.app_context():
        return [r for r in get_session().scalars(sa.select(CheckRun).order_by(CheckRun.id))
                if r.holder.endswith(f":{pid}")]


def wait_until(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_a_killed_scheduler_is_replaced_within_seconds(app, database_url, tmp_path):
    """kill -9 in the middle of a run: the restarted scheduler on this machine takes the lease at once (the
    lock file shows the old process gone; the lease would last 5 more minutes), marks the dead run interrupted
    with what it had checked, and starts checking again within seconds."""
    router = Router({"/haengt": Reply(mode="hang"), "/seite": Reply(200, body=html("Seite", "Inhalt"))})
    slow = {"CHECK_LEASE_SECONDS": 300, "CHECK_NEW_LIMIT": 1000, "CHECK_READ_TIMEOUT": 60,
            "CHECK_DEADLINE": 60, "CHECK_SYNC_SCHEDULE": "0 0 1 1 *"}
    with FakeWeb(router) as web:
        with app.app_context():
            session = get_session()
            service = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
            service.url = web.url("/haengt")
            service.description = "Mehr dazu: " + " ".join(web.url(f"/seite?{i}") for i in range(40))
            session.commit()
        first = Scheduler(database_url, tmp_path / "one", **slow)
        try:
            wait_until(lambda: [r for r in runs_of(app, first.proc.pid)
                                if r.status == "running" and r.checked >= 25], 60, "a run with checks saved")
            first.proc.kill()  # SIGKILL: no clean-up at all
            first.proc.wait(15)
        finally:
            first.stop()
        dead = runs_of(app, first.proc.pid)[-1]
        assert dead.status == "running"
        second = Scheduler(database_url, tmp_path / "one", **slow)
        try:
            started = time.monotonic()
            second.wait_for("took over the lease", timeout=30)
            wait_until(lambda: runs_of(app, second.proc.pid), 30, "the restarted scheduler starts a run")
            assert time.monotonic() - started < 30  # not the 300 s the dead process's lease had left
        finally:
            assert second.stop(signal.SIGINT) == 0
    closed = runs_of(app, first.proc.pid)[-1]
    assert closed.status == "interrupted" and closed.finished_at is not None
    assert closed.checked >= 25 and sum(closed.counts.values()) == closed.checked
    assert "ended during the run" in closed.message
    assert f"marked interrupted: {closed.checked} links checked" in "".join(second.output)


def test_runs_of_ended_processes_are_closed_with_their_counts(app):
    """Ended here (pid gone) or the scheduler whose lease was taken: interrupted; alive or unknown: left alone."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    here, now = socket.gethostname(), datetime(2026, 3, 2, 12, 0)
    holders = {"ended": f"{here}:{ended.pid}", "alive": f"{here}:{os.getpid()}", "replaced": "other-host:77",
               "unknown": "other-host:78"}
    with app.app_context():
        session = get_session()
        runs = {name: CheckRun(kind="due", status="running", started_at=now, holder=holder, counts={})
                for name, holder in holders.items()}
        link = Link(url="https://beispiel.test/", url_key="k" * 64, host="beispiel.test", state="ok")
        session.add_all([*runs.values(), link])
        session.flush()
        session.add_all([LinkCheck(link_id=link.id, run_id=runs["ended"].id, checked_at=now + timedelta(minutes=m),
                                   state=state, kind="ok") for m, state in ((1, "ok"), (2, "ok"), (3, "warning"))])
        session.commit()
        closed = interrupt_dead_runs(session, lambda h: h == "other-host:77" or lease.gone(h, None), now)
        assert {r.holder for r in closed} == {holders["ended"], holders["replaced"]}
        assert {name: run.status for name, run in runs.items()} == {
            "ended": "interrupted", "alive": "running", "replaced": "interrupted", "unknown": "running"}
        assert (runs["ended"].checked, runs["ended"].counts) == (3, {"ok": 2, "warning": 1})
        assert runs["ended"].finished_at == now + timedelta(minutes=3)
        assert (runs["replaced"].checked, runs["replaced"].finished_at) == (0, now)


def test_the_checker_process_imports_only_what_checking_needs():
    """The scheduler's process (and the engine) stay small: no views, search, maps, importers."""
    probe = ("import sys, atlas.checker.process, atlas.checker.engine; print(' '.join(sorted("
             "{m if m.startswith('atlas') else m.split('.')[0] for m in sys.modules})))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    assert "atlas.checker.scheduler" in loaded and "urllib3" in loaded
    # requests too: the engine talks to urllib3 directly (requests' layer cost ~1 ms CPU per URL)
    heavy = {"atlas.views", "atlas.search", "atlas.maps", "atlas.importers", "atlas.api",
             "atlas.checker.views", "folium", "whoosh", "numpy", "fpdf", "openpyxl", "geopy", "requests"}
    assert heavy.isdisjoint(loaded), heavy & set(loaded)


def test_lease_is_exclusive_until_it_expires_or_is_released(app):
    now = datetime(2026, 1, 1, 12, 0)
    with app.app_context():
        session = get_session()
        assert lease.hold(session, "a", now, 60)
        assert not lease.hold(session, "b", now + timedelta(seconds=30), 60)
        assert lease.hold(session, "a", now + timedelta(seconds=30), 60)  # renewal
        assert lease.hold(session, "b", now + timedelta(seconds=91), 60)  # a's lease ran out
        lease.release(session, "b", now + timedelta(seconds=95))
        assert lease.hold(session, "a", now + timedelta(seconds=96), 60)
        assert session.get(CheckerLease, "scheduler").holder == "a"


def test_cron_uses_standard_weekdays_and_seconds():
    monday_seven = cron_trigger("0 7 * * 1", "Europe/Berlin")
    fire = monday_seven.get_next_fire_time(None, datetime(2026, 3, 4, 12, 0, tzinfo=monday_seven.timezone))
    assert (fire.strftime("%A %H:%M")) == "Monday 07:00"
    sunday = cron_trigger("30 6 * * 0", "Europe/Berlin")
    assert sunday.get_next_fire_time(None, fire).strftime("%A") == "Sunday"
    assert schedule_gap("17 * * * *", "Europe/Berlin") == timedelta(hours=1)
    assert schedule_gap("*/10 * * * * *", "UTC") == timedelta(seconds=10)
    with pytest.raises(ValueError):
        cron_trigger("jede Stunde", "UTC")


def test_bad_checker_settings_stop_the_app_with_a_clear_message(tmp_path):
    for bad, text in (({"CHECK_SCHEDULE": "stündlich"}, "CHECK_SCHEDULE"),
                      ({"CHECK_CONCURRENCY": 0}, "CHECK_CONCURRENCY"),
                      ({"CHECK_ALLOWED_NETWORKS": ["intern"]}, "CHECK_ALLOWED_NETWORKS"),
                      ({"CHECK_USER_AGENT": "MyLinkBot/1.0"}, "'link'")):
        with pytest.raises(ConfigError, match=text):
            create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"} | bad)


# -- digest -------------------------------------------------------------------------------------------------
@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list = []

        def handle_message(self, message) -> None:
            self.messages.append(message)

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def test_digest_goes_to_each_owner_over_smtp(app, smtp_server, tmp_path):
    port, inbox = smtp_server
    app.config.update(FAST_CONFIG | {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port,
                                     "PUBLIC_BASE_URL": "https://atlas.example", "CHECK_HARD_BROKEN_AFTER_HOURS": 0})
    with app.app_context():
        session = get_session()
        svc = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        svc.url = "not a web address"
        svc.assured_date = datetime(2020, 1, 1).date()
        owner = svc.effective_owner
        Runner(session, app.config).run("all")
        assert session.scalar(sa.select(Link.state).where(Link.url == "not a web address")) == "broken"
        assert send_digests(session, app.config, datetime(2026, 3, 2).date()) >= 1
    mine = [m for m in inbox.messages if m["To"] == owner.email]
    assert len(mine) == 1
    body = mine[0].get_payload(decode=True).decode("utf-8")
    assert mine[0]["Subject"].startswith("Netzwerkatlas: ") and " gemeldet, " in mine[0]["Subject"]
    assert "Schuldnerberatung Lichtblick (Beratungsstelle Lichtblick e. V.)" in body
    assert "Defekte Links (" in body and "not a web address – keine gültige Adresse" in body
    assert f"https://atlas.example/intern/angebote/{svc.id}" in body
    assert "Überfällige Prüfungen (" in body


def test_digest_reports_smtp_failures_and_missing_configuration(app):
    with app.app_context():
        session = get_session()
        with pytest.raises(DigestError, match="MAIL_SERVER"):
            send_digests(session, app.config, datetime(2026, 3, 2).date())
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=1)
        user = session.scalar(sa.select(User).where(User.email == "koordination@atlas.example"))
        org = session.scalar(sa.select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V."))
        org.owner, org.assured_date = user, datetime(2019, 1, 1).date()
        session.commit()
        Runner(session, app.config).run("due", sync=False)
        assert [d.user.email for d in build_digests(session, app.config)].count("koordination@atlas.example") == 1
        with pytest.raises(DigestError, match="127.0.0.1:1"):
            send_digests(session, app.config, datetime(2026, 3, 2).date())
    result = app.test_cli_runner().invoke(args=["link-digest"])
    assert result.exit_code == 1 and "failed" in result.output and "Traceback" not in result.output
    dry = app.test_cli_runner().invoke(args=["link-digest", "--dry-run"])
    assert dry.exit_code == 0 and "Überfällige Prüfungen" in dry.output
