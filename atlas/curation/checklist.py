"""The review checklist (kept as data in checklists.json), what an entry's check view shows, and recording a review."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Organization, Service, User
from .models import PublicReport, ReviewCheck
from .operations import FACTS, CurationError, confirm_fact, verify

CHECKLISTS = Path(__file__).with_name("checklists.json")
Entry = Organization | Service


@dataclass(frozen=True)
class Point:
    """One point of a checklist."""

    key: str
    de: str
    en: str
    fact: str | None = None

    def label(self, lang: str) -> str:
        """The point in the UI language."""
        return self.en if lang == "en" and self.en else self.de


@cache
def _data() -> dict[str, Any]:
    return json.loads(CHECKLISTS.read_text(encoding="utf-8"))


def _points(raw: list[dict[str, Any]]) -> list[Point]:
    return [Point(p["key"], p["de"], p.get("en", ""), p.get("fact")) for p in raw]


def checklist_for(entry: Entry) -> list[Point]:
    """The points to check on this entry: the common ones, then those of its top-level categories."""
    data = _data()
    if isinstance(entry, Organization):
        return _points(data["organization"])
    points = _points(data["common"])
    tops = sorted({(t.parent or t).slug for t in entry.categories})
    seen = {p.key for p in points}
    for slug in tops:
        for point in _points(data["by_category"].get(slug, [])):
            if point.key not in seen:
                points.append(point)
                seen.add(point.key)
    return points


@dataclass
class Fact:
    """A fact of an entry with the date it was last confirmed (and its age in days)."""

    label: str
    value: str
    confirmed: date | None
    age_days: int | None
    fact: str | None = None


def facts(entry: Entry, today: date, labels: dict[str, str]) -> list[Fact]:
    """The entry's facts that age, each with its age; labels maps fact names to their UI labels."""

    def fact(name: str, value: str, confirmed: date | None, key: str | None = None) -> Fact:
        age = (today - confirmed).days if confirmed else None
        return Fact(labels[name], value, confirmed, age, key)

    rows = [fact("assured_date", "", entry.assured_date)]
    if isinstance(entry, Service):
        rows += [
            fact("waiting_time", entry.waiting_time or "—", entry.waiting_time_confirmed_at, "wartezeit"),
            fact("intake_status", labels["intake:" + entry.intake_status], entry.intake_status_confirmed_at,
                 "aufnahme"),
            fact("opening_hours", "", entry.opening_hours_confirmed_at, "oeffnungszeiten"),
        ]
    rows.append(fact("updated_at", "", entry.updated_at.date() if entry.updated_at else None))
    return rows


def open_reports(session: Session, entry: Entry) -> list[PublicReport]:
    """Open public reports on an offer (organisations have none)."""
    if not isinstance(entry, Service):
        return []
    return list(
        session.scalars(
            select(PublicReport)
            .where(PublicReport.service_id == entry.id, PublicReport.status == "offen")
            .order_by(PublicReport.created_at)
        )
    )


def link_states(session: Session, entry: Entry) -> list[Any]:
    """The checker's verdict on each web address of the entry (empty before the first check)."""
    from ..checker.models import Link, LinkUsage

    kind = "service" if isinstance(entry, Service) else "organization"
    return list(
        session.execute(
            select(LinkUsage.field, Link)
            .join(Link, Link.id == LinkUsage.link_id)
            .where(LinkUsage.entity_type == kind, LinkUsage.entity_id == entry.id)
            .order_by(LinkUsage.field)
        ).all()
    )


def record_check(
    session: Session, entry: Entry, user: User, today: date, keys: list[str], note: str | None
) -> ReviewCheck:
    """Record a review: the ticked points, today's verification, and the facts the ticked points confirm."""
    points = {p.key: p for p in checklist_for(entry)}
    ticked = [k for k in dict.fromkeys(keys) if k in points]
    if not ticked:
        raise CurationError("Bitte kreuzen Sie an, was Sie geprüft haben.")
    for key in ticked:
        fact_name = points[key].fact
        if fact_name in FACTS and isinstance(entry, Service):
            confirm_fact(entry, fact_name, today)
    verify(session, entry, user, today)
    check = ReviewCheck(
        user=user,
        user_id=user.id,
        items=[{"key": k, "label": points[k].de} for k in ticked],
        note=note or None,
        **({"service_id": entry.id} if isinstance(entry, Service) else {"organization_id": entry.id}),
    )
    session.add(check)
    return check


def recent_checks(session: Session, entry: Entry, limit: int = 5) -> list[ReviewCheck]:
    """The latest recorded reviews of an entry, newest first."""
    column = ReviewCheck.service_id if isinstance(entry, Service) else ReviewCheck.organization_id
    return list(
        session.scalars(select(ReviewCheck).where(column == entry.id).order_by(ReviewCheck.id.desc()).limit(limit))
    )
