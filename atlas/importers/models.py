"""The import history (one row per committed import), remembered column mappings and background import jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import User, one_of, utcnow


class ImportRun(Base):
    """A committed import of one file from one source."""

    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(120), index=True)
    file_name: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(20))
    # SHA-256 of the file as committed.
    file_hash: Mapped[str] = mapped_column(String(64))
    licence: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    # {"new": n, "update": n, "unchanged": n, "duplicate_skipped": n, "duplicate_created": n, "error": n}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()


class ImportMapping(Base):
    """The field a column header of one source was mapped to, remembered for that source's next file."""

    __tablename__ = "import_mapping"
    __table_args__ = (UniqueConstraint("source", "column_key", name="uq_import_mapping_column"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(120))
    # The folded header ("name der einrichtung").
    column_key: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


JOB_STATES = {"queued": 1, "running": 1, "done": 1, "failed": 1}


class ImportJob(Base):
    """A web import waiting for or running in the worker process (never inside a web request).

    The page polls its state, so the progress bar survives a reload; the upload itself stays in the instance
    folder under `token`.
    """

    __tablename__ = "import_job"
    __table_args__ = (one_of("state", JOB_STATES), one_of("kind", {"plan": 1, "commit": 1}),
                      Index("ix_import_job_state", "state", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # What the commit needs from the preview form: checksum, rows to create anyway, strict mode.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The worker's last sign of life; a running job without one for long is taken over again.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
