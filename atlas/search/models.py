"""Tables of the search module: editable synonyms, the need table and zero-result query counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from ..models import Location, Organization, Service, utcnow


class SearchSynonym(Base):
    """One synonym rule: equivalent words, or words that also search for other words (one way)."""

    __tablename__ = "search_synonym"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Words or phrases that mean the same ("Hartz IV", "Bürgergeld"); with `expands_to` the words that trigger it.
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    # One-way rule: searching any of `terms` also searches these ("Depression" => "psychische Gesundheit").
    expands_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SearchNeed(Base):
    """One row of the need table: words of a need ("Tafel", "Hunger") and the categories that meet it."""

    __tablename__ = "search_need"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Words or phrases people use for the need; any of them in a search also finds offers of `categories`.
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Category slugs (a top-level slug stands for its whole area).
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SearchMiss(Base):
    """A search text that found nothing, and how often; nothing else about the search is stored."""

    __tablename__ = "search_miss"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(120), unique=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    # When it was last searched: at the cap, the least recent make room for new ones.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)


# The change watermark reads max(updated_at) on every search check: keep it an index lookup.
Index("ix_service_updated_at", Service.__table__.c.updated_at)
Index("ix_organization_updated_at", Organization.__table__.c.updated_at)
Index("ix_location_updated_at", Location.__table__.c.updated_at)
