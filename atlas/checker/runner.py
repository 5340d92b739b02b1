"""A check run: sync URLs from the entries, check the selected links, record verdicts, history and the run itself."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, exists, func, select
from sqlalchemy.orm import Session

from ..models import utcnow
from . import discovery, flags, verdict
from . import workers
from .engine import HTML_TYPES, Engine, Item, Policy, RobotsCache, RobotsEntry
from .models import CheckRun, Link, LinkCheck, LinkUsage, RobotsFile
from .urls import looks_like_document, origin_of

log = logging.getLogger(__name__)
COMMIT_EVERY = 25
Clock = Callable[[], datetime]


def holder_id() -> str:
    """hostname:pid of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Runner:
    """Runs checks against the database; the caller owns the session (every step commits in small batches)."""

    def __init__(self, session: Session, config: Any, clock: Clock = utcnow, stop: threading.Event | None = None,
                 progress: Callable[[int], None] | None = None, heartbeat: Callable[[], None] | None = None,
                 engine: Engine | None = None, progress_total: Callable[[int], None] | None = None) -> None:
        self.session = session
        self.config = config
        self.clock = clock
        self.stop = stop
        self.progress = progress
        self.heartbeat = heartbeat
        self.engine = engine
        self.progress_total = progress_total
        self.verdicts = verdict.VerdictPolicy.from_config(config)

    def select(self, mode: str, limit: int | None = None, link_ids: list[int] | None = None) -> list[Link]:
        """Links a run of this kind checks: due (new first), all, new only, or the given ids."""
        used = exists(select(LinkUsage.id).where(LinkUsage.link_id == Link.id))
        stmt = select(Link).where(used)
        if mode == "due":
            stmt = stmt.where((Link.next_check_at.is_(None)) | (Link.next_check_at <= self.clock()))
        elif mode == "new":
            stmt = stmt.where(Link.next_check_at.is_(None))
        elif mode == "manual":
            stmt = select(Link).where(Link.id.in_(link_ids or []))
        stmt = stmt.order_by(case((Link.next_check_at.is_(None), 0), else_=1), Link.next_check_at, Link.id)
        if limit:
            stmt = stmt.limit(limit)
        return list(self.session.scalars(stmt))

    def run(self, mode: str = "due", limit: int | None = None, link_ids: list[int] | None = None,
            sync: bool = True, overdue: bool | None = None) -> CheckRun:
        """Run one check of the given kind and return its recorded CheckRun."""
        session = self.session
        run = CheckRun(kind=mode, status="running", started_at=self.clock(), holder=holder_id(), counts={})
        session.add(run)
        session.commit()
        try:
            if sync and mode != "manual":
                since = discovery.last_watermark(session) if mode == "new" else None
                report = discovery.sync(session, since=since)
                run.new_links, run.watermark = len(report.new_links), report.watermark or run.watermark
                session.commit()
            links = self.select(mode, limit, link_ids)
            if self.progress_total:
                self.progress_total(len(links))
            counts = self._check(run, links)
            if overdue if overdue is not None else mode in ("due", "all"):
                org_months = self.config.get("CURATION_ORG_REVIEW_MONTHS") or 12
                flags.flag_overdue(session, self._today(), org_months)
            self._prune([link.id for link in links if link.check_count > self.config["CHECK_HISTORY_KEEP"]])
            stopped = self.stop is not None and self.stop.is_set()
            run.status = "interrupted" if stopped else "done"
            run.counts = dict(counts)
            run.finished_at = self.clock()
            session.commit()
        except Exception as exc:
            session.rollback()
            failed = session.get(CheckRun, run.id)
            if failed is not None:
                failed.status, failed.finished_at = "failed", self.clock()
                failed.message = f"{type(exc).__name__}: {exc}"[:500]
                session.commit()
            raise
        return run

    def _today(self) -> date:
        return self.clock().date()

    def _check(self, run: CheckRun, links: list[Link]) -> Counter[str]:
        counts: Counter[str] = Counter()
        if not links:
            return counts
        by_id = {link.id: link for link in links}
        robots = self._load_robots({origin_of(link.url) for link in links if "://" in link.url})
        engine = self.engine or Engine(Policy.from_config(self.config), robots=robots, pool=workers.shared())
        if self.engine is not None:
            engine.robots = robots
        items = [Item(key=link.id, url=link.url, prefer_head=_prefer_head(link), baseline_title=link.title,
                      baseline_text=link.content_excerpt) for link in links]
        try:
            for done, (item, outcome) in enumerate(engine.run(items, stop=self.stop), start=1):
                link = by_id[item.key]
                now = self.clock()
                transition = verdict.apply(link, outcome, now, self.verdicts)
                self.session.add(LinkCheck(link_id=link.id, run_id=run.id, checked_at=now, state=link.state,
                                           kind=outcome.kind, http_status=outcome.status,
                                           duration_ms=outcome.duration_ms, final_url=link.final_url,
                                           redirects=[[code, url[:2000]] for code, url in outcome.redirects],
                                           detail=link.detail))
                flags.update_link_tasks(self.session, link, transition)
                counts[link.state] += 1
                run.checked = done
                if self.progress:
                    self.progress(1)
                if done % COMMIT_EVERY == 0:
                    self.session.commit()
                    if self.heartbeat:
                        self.heartbeat()
        finally:
            if self.engine is None:
                engine.close()
        self._save_robots(robots)
        self.session.commit()
        return counts

    def _load_robots(self, origins: set[str]) -> RobotsCache:
        cache = RobotsCache(self.config["CHECK_ROBOTS_TTL_HOURS"] * 3600)
        origin_list = sorted(origins)
        for i in range(0, len(origin_list), 500):
            for row in self.session.scalars(select(RobotsFile).where(RobotsFile.origin.in_(origin_list[i:i + 500]))):
                # fetched_at is UTC; RobotsCache compares wall-clock seconds.
                age = (utcnow() - row.fetched_at).total_seconds()
                cache.entries[row.origin] = RobotsEntry(time.time() - age, row.status, row.body)
        return cache

    def _save_robots(self, cache: RobotsCache) -> None:
        for origin, entry in cache.fetched().items():
            row = self.session.get(RobotsFile, origin[:300]) or RobotsFile(origin=origin[:300])
            row.fetched_at, row.status, row.body = utcnow(), entry.status, entry.body
            self.session.add(row)
            entry.fresh = False

    def _prune(self, long_lived: list[int]) -> None:
        """Keep at most CHECK_HISTORY_KEEP checks per link and none older than CHECK_HISTORY_DAYS."""
        keep, days = self.config["CHECK_HISTORY_KEEP"], self.config["CHECK_HISTORY_DAYS"]
        cutoff = self.clock() - timedelta(days=days)
        self.session.execute(delete(LinkCheck).where(LinkCheck.checked_at < cutoff))
        for link_id in long_lived:
            old = select(LinkCheck.id).where(LinkCheck.link_id == link_id).order_by(
                LinkCheck.checked_at.desc(), LinkCheck.id.desc()).offset(keep)
            ids = list(self.session.scalars(old))
            if ids:
                self.session.execute(delete(LinkCheck).where(LinkCheck.id.in_(ids)))
        self.session.commit()


def interrupt_dead_runs(session: Session, ended: Callable[[str], bool], now: datetime) -> list[CheckRun]:
    """Mark runs left `running` by ended processes (ended(holder)) interrupted, with their counts. Commits."""
    runs = [run for run in session.scalars(select(CheckRun).where(CheckRun.status == "running"))
            if ended(run.holder)]
    for run in runs:
        rows = session.execute(select(LinkCheck.state, func.count(), func.max(LinkCheck.checked_at))
                               .where(LinkCheck.run_id == run.id).group_by(LinkCheck.state)).all()
        run.counts = {state: count for state, count, _ in rows}
        run.checked = sum(run.counts.values())
        run.finished_at = max((last for _, _, last in rows), default=None) or now
        run.status = "interrupted"
        run.message = f"The process {run.holder} ended during the run (found by the next scheduler)."
    session.commit()
    return runs


def _prefer_head(link: Link) -> bool:
    """HEAD first when the body is not needed: documents, and links whose last answer was not a page."""
    if looks_like_document(link.url):
        return True
    return bool(link.content_type) and link.content_type not in HTML_TYPES


# Someone is waiting for "check now": one attempt, and at most this long.
INTERACTIVE_DEADLINE = 20.0


def check_links(session: Session, config: Any, link_ids: list[int], clock: Clock = utcnow) -> CheckRun:
    """Check the given links now, with one bounded attempt (the dashboard's "check now"; other code may call it)."""
    policy = Policy.from_config(config)
    policy.retries = 0
    policy.deadline = min(policy.deadline, INTERACTIVE_DEADLINE)
    policy.read_timeout = min(policy.read_timeout, INTERACTIVE_DEADLINE)
    with Engine(policy) as engine:
        return Runner(session, config, clock=clock, engine=engine).run("manual", link_ids=link_ids, sync=False,
                                                                      overdue=False)
