"""Link-checker tables: each distinct URL, its uses, its check history, runs, the scheduler lease, robots.txt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import one_of, utcnow

# "new" is a link nobody has checked yet; the others are the verdicts.
STATES = {
    "new": ("noch nicht geprüft", "not checked yet"),
    "ok": ("in Ordnung", "OK"),
    "warning": ("Warnung", "warning"),
    "broken": ("defekt", "broken"),
    "manual_check": ("bitte von Hand prüfen", "check by hand"),
    "ignored": ("ignoriert", "ignored"),
}
RUN_KINDS = {"due": 1, "all": 1, "new": 1, "manual": 1}
RUN_STATUS = {"running": 1, "done": 1, "failed": 1, "interrupted": 1}
ENTITY_TYPES = {"organization": 1, "service": 1, "location": 1}


class Link(Base):
    """One distinct (normalised) external URL and its current verdict, counters and content baseline."""

    __tablename__ = "link"
    __table_args__ = (
        one_of("state", STATES),
        one_of("override_state", {"ok": 1, "ignored": 1}, nullable=True),
        CheckConstraint("consecutive_failures >= 0", name="failures_not_negative"),
        Index("ix_link_due", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the normalised URL: unique and short enough for an index on every database.
    url_key: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    host: Mapped[str] = mapped_column(String(300), index=True)
    state: Mapped[str] = mapped_column(String(20), default="new", index=True)
    kind: Mapped[str | None] = mapped_column(String(40), index=True)
    detail: Mapped[str | None] = mapped_column(String(500))
    http_status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(String(2000))
    redirect_count: Mapped[int] = mapped_column(Integer, default=0)
    # Target of an all-permanent redirect chain: one click replaces the stored URL with it.
    suggested_url: Mapped[str | None] = mapped_column(String(2000))
    content_type: Mapped[str | None] = mapped_column(String(120))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    # Content baseline of the last good check, compared to spot a sharply changed page.
    title: Mapped[str | None] = mapped_column(String(500))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    content_excerpt: Mapped[str | None] = mapped_column(Text)
    check_count: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_check_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime)
    state_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A coordinator's "mark ok" or "ignore": holds while override_basis (kind or state) stays the same.
    override_state: Mapped[str | None] = mapped_column(String(20))
    override_basis: Mapped[str | None] = mapped_column(String(40))
    override_by: Mapped[str | None] = mapped_column(String(254))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    usages: Mapped[list[LinkUsage]] = relationship(back_populates="link", cascade="all, delete-orphan",
                                                   passive_deletes=True)
    checks: Mapped[list[LinkCheck]] = relationship(back_populates="link", cascade="all, delete-orphan",
                                                   passive_deletes=True, order_by="LinkCheck.checked_at.desc()")


class LinkUsage(Base):
    """Ties a link to one field of one record (organisation, offer, location) that contains it."""

    __tablename__ = "link_usage"
    __table_args__ = (
        one_of("entity_type", ENTITY_TYPES),
        UniqueConstraint("entity_type", "entity_id", "field", "link_id", name="uq_link_usage_place"),
        Index("ix_link_usage_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("link.id", ondelete="CASCADE"), index=True)
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(60))
    # The text as stored in the field (before normalisation), so an edit can replace exactly it.
    raw_url: Mapped[str] = mapped_column(String(2000))

    link: Mapped[Link] = relationship(back_populates="usages")


class CheckRun(Base):
    """One run of the checker (scheduled, by hand or for new URLs), with what it found."""

    __tablename__ = "check_run"
    __table_args__ = (one_of("kind", RUN_KINDS), one_of("status", RUN_STATUS))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # hostname:pid of the process that ran it.
    holder: Mapped[str] = mapped_column(String(200), default="")
    checked: Mapped[int] = mapped_column(Integer, default=0)
    # {state: count} of the links checked in this run.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    new_links: Mapped[int] = mapped_column(Integer, default=0)
    # Newest updated_at of the records read by discovery; the next incremental sync starts there.
    watermark: Mapped[datetime | None] = mapped_column(DateTime)
    message: Mapped[str | None] = mapped_column(String(500))


class LinkCheck(Base):
    """One check of one link (the history; old rows are pruned)."""

    __tablename__ = "link_check"
    __table_args__ = (Index("ix_link_check_link_time", "link_id", "checked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("link.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("check_run.id", ondelete="SET NULL"), index=True)
    checked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    http_status: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(String(2000))
    # [[status, url], ...] of the redirects followed.
    redirects: Mapped[list[Any]] = mapped_column(JSON, default=list)
    detail: Mapped[str | None] = mapped_column(String(500))

    link: Mapped[Link] = relationship(back_populates="checks")


class CheckerLease(Base):
    """A named lease: the scheduler process holding it is the only one that runs jobs."""

    __tablename__ = "checker_lease"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class RobotsFile(Base):
    """A site's robots.txt as last fetched (body None: no rules, everything allowed)."""

    __tablename__ = "robots_file"

    origin: Mapped[str] = mapped_column(String(300), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
