"""Tables of the curation module: public error reports ("Fehler melden") and recorded reviews ("was geprüft wurde")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import Organization, Service, User, exactly_one, one_of, utcnow

# Typed topics of a public report (Outpost's topics in German, plus broken links).
REPORT_TOPICS = {
    "veraltet": ("Angabe veraltet", "information out of date"),
    "existiert_nicht": ("Angebot existiert nicht mehr", "offer no longer exists"),
    "link": ("Link funktioniert nicht", "link does not work"),
    "sonstiges": ("Sonstiges", "something else"),
}
REPORT_STATUS = {
    "offen": ("offen", "open"),
    "erledigt": ("erledigt", "resolved"),
}


class PublicReport(Base):
    """A problem a visitor reported on a public offer page; feeds the owner's review queue."""

    __tablename__ = "public_report"
    __table_args__ = (
        one_of("topic", REPORT_TOPICS),
        one_of("status", REPORT_STATUS),
        Index("ix_public_report_client", "client_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="offen")
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Keyed hash of the sender's IP for the rate limit; erased once the rate window has passed. No raw IPs.
    client_hash: Mapped[str | None] = mapped_column(String(64))

    service: Mapped[Service] = relationship()
    resolved_by: Mapped[User | None] = relationship()


class ReviewCheck(Base):
    """One review of an entry: who checked which points of its checklist, when, with an optional note."""

    __tablename__ = "review_check"
    __table_args__ = (exactly_one("organization_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The checklist keys that were ticked, and their labels as shown then (the list itself may change later).
    items: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)

    organization: Mapped[Organization | None] = relationship()
    service: Mapped[Service | None] = relationship()
    user: Mapped[User | None] = relationship()
