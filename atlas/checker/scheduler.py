"""The scheduler process (`flask --app atlas scheduler`): APScheduler 3 in its own process, never in web workers.

Two guards keep it single: an exclusive lock file in the instance folder (a second process on the same machine
exits at once) and a lease row in the database (processes on other machines stay on standby and take over only
when the active one stops renewing it).
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import get_session
from ..models import utcnow
from . import lease
from .models import CheckerLease, CheckRun, Link
from .runner import Runner, holder_id, interrupt_dead_runs

log = logging.getLogger("atlas.checker.scheduler")
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def _weekday_field(value: str) -> str:
    """Standard cron weekdays (0 or 7 = Sunday) as APScheduler 3 names (its numbers start at Monday)."""
    parts = []
    for part in value.split(","):
        match = re.fullmatch(r"(\d)(?:-(\d))?", part)
        if not match:
            parts.append(part)
            continue
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        parts.extend(DAYS[day % 7] for day in range(first, last + 1))
    return ",".join(dict.fromkeys(parts))


def cron_trigger(expr: str, timezone: str) -> CronTrigger:
    """A CronTrigger from crontab syntax: 5 fields, or 6 with seconds first."""
    fields = expr.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise ValueError(f"{expr!r} is not a crontab expression (5 fields, or 6 with seconds first)")
    second, minute, hour, day, month, weekday = fields
    return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                       day_of_week=_weekday_field(weekday), timezone=timezone)


def schedule_gap(expr: str, timezone: str, samples: int = 12) -> timedelta:
    """Longest gap between consecutive runs of a cron schedule (over the next few runs)."""
    trigger = cron_trigger(expr, timezone)
    previous = None
    fire = trigger.get_next_fire_time(None, datetime.now(trigger.timezone))
    longest = timedelta(0)
    for _ in range(samples):
        if fire is None:
            break
        if previous is not None:
            longest = max(longest, fire - previous)
        previous, fire = fire, trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return longest


def status(session: Session, config: Any, now: datetime | None = None) -> dict[str, Any]:
    """The checker's health: when the last full run finished, and a warning when that is over twice the schedule."""
    now = now or utcnow()
    last = session.scalar(select(CheckRun).where(CheckRun.kind.in_(("due", "all")),
                                                 CheckRun.status.in_(("done", "interrupted")))
                          .order_by(CheckRun.finished_at.desc()).limit(1))
    limit = 2 * schedule_gap(config["CHECK_SCHEDULE"], config["BABEL_DEFAULT_TIMEZONE"])
    body: dict[str, Any] = {"status": "ok", "schedule": config["CHECK_SCHEDULE"],
                            "max_age_hours": round(limit.total_seconds() / 3600, 2),
                            "last_run_at": None, "last_run_status": None}
    if last is None or last.finished_at is None:
        # A fresh installation whose scheduler is up is fine: its first full run is pending, not overdue.
        held = session.get(CheckerLease, lease.LEASE)
        if held is not None and held.expires_at > now:
            body |= {"pending": True, "message": "The scheduler is running; its first full link check is pending."}
        else:
            body |= {"status": "warning", "message": "The link checker has not finished a run yet and no scheduler "
                                                     "is running (flask --app atlas scheduler)."}
        return body
    body |= {"last_run_at": last.finished_at.isoformat(timespec="seconds") + "Z", "last_run_status": last.status}
    if now - last.finished_at > limit:
        body |= {"status": "warning",
                 "message": "The last link check is older than twice the schedule: is the scheduler running?"}
    return body


def service_state(session: Session, config: Any, now: datetime | None = None) -> dict[str, Any]:
    """For coordinators: scheduler alive (current lease)? its next full round (local time)? anything checked?"""
    now = now or utcnow()
    held = lease.holder_of(session)
    trigger = cron_trigger(config["CHECK_SCHEDULE"], config["BABEL_DEFAULT_TIMEZONE"])
    local_now = datetime.now(trigger.timezone)
    next_run = trigger.get_next_fire_time(None, local_now)
    checked_any = session.scalar(select(Link.id).where(Link.last_check_at.is_not(None)).limit(1)) is not None
    return {"active": held is not None and held[1] > now, "next_run": next_run,
            "next_run_today": next_run is not None and next_run.date() == local_now.date(),
            "checked_any": checked_any}


class CheckerScheduler:
    """Builds the jobs and runs them while holding the lease."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.config = app.config
        self.stop = threading.Event()
        self.holder = f"{holder_id()}:{uuid.uuid4().hex[:6]}"
        self.scheduler = BlockingScheduler(
            timezone=self.config["BABEL_DEFAULT_TIMEZONE"],
            executors={"default": ThreadPoolExecutor(1), "lease": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        self.lock = ProcessLockFor(app)

    def add_jobs(self) -> None:
        tz = self.config["BABEL_DEFAULT_TIMEZONE"]
        soon = datetime.now(self.scheduler.timezone) + timedelta(seconds=2)
        self.scheduler.add_job(self._job("new", self._check_new), cron_trigger(self.config["CHECK_SYNC_SCHEDULE"], tz),
                               id="new", name="new and changed URLs", next_run_time=soon)
        self.scheduler.add_job(self._job("due", self._check_due), cron_trigger(self.config["CHECK_SCHEDULE"], tz),
                               id="due", name="due links")
        if self.config.get("MAIL_SERVER"):
            self.scheduler.add_job(self._job("digest", self._digest),
                                   cron_trigger(self.config["CHECK_DIGEST_SCHEDULE"], tz), id="digest",
                                   name="digest e-mail")
        self.scheduler.add_job(self._renew, IntervalTrigger(seconds=max(1.0, self.config["CHECK_LEASE_SECONDS"] / 3)),
                               id="lease", name="lease", executor="lease")

    def _job(self, name: str, work: Callable[[Session], None]) -> Callable[[], None]:
        def run() -> None:
            if self.stop.is_set():
                return
            with self.app.app_context():
                session = get_session()
                before = lease.holder_of(session)
                if not lease.hold(session, self.holder, utcnow(), self.config["CHECK_LEASE_SECONDS"]):
                    log.info("job %s skipped: another scheduler holds the lease", name)
                    return
                # A replaced holder's lease ran out, so its open runs are over; runs of ended processes here
                # (a crashed `check-links` or web worker's "check now") are closed before every job too.
                replaced = before[0] if before is not None and before[0] != self.holder else None
                self._close_runs(session, replaced, ended_pid=None)
                try:
                    work(session)
                except Exception:  # noqa: BLE001 - the run is recorded as failed; the scheduler carries on
                    log.exception("job %s failed", name)
        return run

    def _runner(self, session: Session) -> Runner:
        return Runner(session, self.config, stop=self.stop, heartbeat=lambda: self._renew_with(session))

    def _check_new(self, session: Session) -> None:
        run = self._runner(session).run("new", limit=self.config["CHECK_NEW_LIMIT"])
        log.info("new URLs: %s links checked, %s new, %s", run.checked, run.new_links, run.counts)

    def _check_due(self, session: Session) -> None:
        run = self._runner(session).run("due", limit=self.config["CHECK_BATCH_LIMIT"])
        log.info("due links: %s checked, %s", run.checked, run.counts)

    def _digest(self, session: Session) -> None:
        from .. import validity
        from .digest import send_digests

        sent = send_digests(session, self.config, validity.today())
        log.info("digest: %s e-mails sent", sent)

    def recover(self) -> None:
        """At start: take the lease (at once from an ended holder on this machine) and close dead runs.

        Holding the lease from the first second lets /healthz report the scheduler as running right away.
        """
        with self.app.app_context():
            session = get_session()
            now, current = utcnow(), lease.holder_of(session)
            seconds = self.config["CHECK_LEASE_SECONDS"]
            taken = (current is not None and current[0] != self.holder and current[1] > now
                     and lease.gone(current[0], self.lock.previous)
                     and lease.take_over(session, self.holder, current[0], now, seconds))
            if taken:
                log.info("took over the lease from %s: that process has ended", current[0])
            held = taken or lease.hold(session, self.holder, now, seconds)
            replaced = current[0] if held and current is not None and current[0] != self.holder else None
            self._close_runs(session, replaced, ended_pid=self.lock.previous)

    def _close_runs(self, session: Session, replaced: str | None, ended_pid: int | None) -> None:
        """Mark runs of ended processes (here, or the one whose lease we took) interrupted."""
        replaced_process = lease.process_of(replaced) if replaced else None

        def ended(holder: str) -> bool:
            # The lock file's pid proves an end only at start: later that pid may belong to a new process.
            return holder == replaced_process or lease.gone(holder, ended_pid)

        for run in interrupt_dead_runs(session, ended, utcnow()):
            log.info("run %s of %s marked interrupted: %s links checked, %s", run.id, run.holder, run.checked,
                     run.counts)

    def _renew(self) -> None:
        with self.app.app_context():
            self._renew_with(get_session())

    def _renew_with(self, session: Session) -> None:
        lease.hold(session, self.holder, utcnow(), self.config["CHECK_LEASE_SECONDS"])

    def run(self) -> None:
        """Block until SIGINT or SIGTERM; then let a running job stop at once and give up the lease."""
        self.lock.acquire()
        # Our own handlers whatever was inherited: started with SIGINT ignored, it must still stop on it.
        previous = {sig: signal.signal(sig, _raise_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.recover()
            self.add_jobs()
            log.info("scheduler started as %s; jobs: %s", self.holder,
                     ", ".join(job.name for job in self.scheduler.get_jobs()))
            self.scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.stop.set()
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)
            with self.app.app_context():
                lease.release(get_session(), self.holder, utcnow())
            self.lock.release()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.info("scheduler stopped")


def _raise_exit(_signum: int, _frame: Any) -> None:
    raise SystemExit(0)


class ProcessLockFor(lease.ProcessLock):
    """The scheduler's lock file in the app's instance folder."""

    def __init__(self, app: Flask) -> None:
        super().__init__(Path(app.instance_path) / "checker-scheduler.lock")
