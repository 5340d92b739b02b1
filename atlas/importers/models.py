"""The import history: one row per committed import (who, when, which file, what changed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import User, utcnow


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
