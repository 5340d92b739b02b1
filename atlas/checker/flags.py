"""Stale entries: open or resolve review tasks for broken and changed links, and for overdue verification."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Location, Organization, ReviewTask, Service, TaxonomyTerm, User
from ..review import open_task, resolve_task
from .advice import FIELD_LABELS, KIND_ADVICE, KIND_LABELS
from .models import Link, LinkUsage
from .verdict import Transition

RESOLVED_NOTE = {"ok": "Der Link funktioniert wieder.", "ignored": "Der Link wurde ignoriert."}


def entries_of(session: Session, usages: list[LinkUsage]) -> Iterator[tuple[Organization | Service, LinkUsage]]:
    """The organisation or offer behind each usage (a location's entry is its organisation)."""
    for usage in usages:
        entity: Any
        if usage.entity_type == "service":
            entity = session.get(Service, usage.entity_id)
        elif usage.entity_type == "organization":
            entity = session.get(Organization, usage.entity_id)
        else:
            location = session.get(Location, usage.entity_id)
            entity = location.organization if location is not None else None
        if entity is not None and entity.archived_at is None:
            yield entity, usage


def task_detail(link: Link, usage: LinkUsage) -> str:
    """German text of a link task: where the link is, what was found, what to do."""
    where = FIELD_LABELS.get((usage.entity_type, usage.field), usage.field)
    what = KIND_LABELS.get(link.kind or "ok", link.kind or "")
    advice = KIND_ADVICE.get(link.kind or "ok", "")
    return f"{where}: {link.url} – {what}. {advice}"


def update_link_tasks(session: Session, link: Link, transition: Transition) -> None:
    """Open the task the link's verdict calls for on every entry that uses it, or resolve its tasks."""
    ref = f"link:{link.id}"
    if transition.task is None:
        if link.state in RESOLVED_NOTE:
            _resolve(session, ref, RESOLVED_NOTE[link.state])
        return
    for entry, usage in entries_of(session, list(link.usages)):
        _replace_other_kind(session, entry, ref, transition.task)
        # The queue shows the kind ("Link defekt") before the title, so the title is the address alone.
        task = open_task(session, transition.task, entry, link.url[:300], task_detail(link, usage), source_ref=ref)
        task.title = link.url[:300]  # tasks opened before carried the kind twice


def resolve_link_tasks(session: Session, link: Link, note: str, user: User | None = None) -> None:
    """Close every open task of a link (a coordinator fixed, accepted or dismissed it)."""
    _resolve(session, f"link:{link.id}", note, user)


def _resolve(session: Session, ref: str, note: str, user: User | None = None) -> None:
    for task in session.scalars(select(ReviewTask).where(ReviewTask.source_ref == ref,
                                                         ReviewTask.resolved_at.is_(None))):
        resolve_task(task, user, note)


def _replace_other_kind(session: Session, entry: Organization | Service, ref: str, kind: str) -> None:
    """A link that was "changed" and is now "broken" (or back) gets one task of the right kind."""
    field = ReviewTask.service_id if isinstance(entry, Service) else ReviewTask.organization_id
    for task in session.scalars(select(ReviewTask).where(field == entry.id, ReviewTask.source_ref == ref,
                                                         ReviewTask.resolved_at.is_(None),
                                                         ReviewTask.kind != kind)):
        resolve_task(task, None, "Ersetzt durch einen neueren Befund.")


def add_months(day: date, months: int) -> date:
    """The same day some months later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due(entry: Organization | Service, months: int) -> date:
    """When an entry's verification falls due: interval after the last "geprüft", or after its creation."""
    base = entry.assured_date or (entry.created_at.date() if entry.created_at else date.today())
    return add_months(base, months)


def flag_overdue(session: Session, today: date, org_months: int = 12) -> tuple[int, int]:
    """Open "overdue" tasks for entries whose verification is older than their interval; resolve fresh ones.

    Offers take the shortest interval of their categories, organisations `org_months`. Returns (opened, resolved).
    """
    open_now = {(t.service_id, t.organization_id): t for t in session.scalars(
        select(ReviewTask).where(ReviewTask.kind == "overdue", ReviewTask.resolved_at.is_(None)))}
    opened = resolved = 0
    services = session.scalars(select(Service).where(Service.archived_at.is_(None)).options(
        selectinload(Service.categories).selectinload(TaxonomyTerm.parent), selectinload(Service.owner),
        selectinload(Service.organization).selectinload(Organization.owner)))
    organizations = session.scalars(select(Organization).where(Organization.archived_at.is_(None))
                                    .options(selectinload(Organization.owner)))
    entries: list[tuple[Organization | Service, int, tuple[int | None, int | None]]] = [
        (s, s.review_interval_months, (s.id, None)) for s in services]
    entries += [(o, org_months, (None, o.id)) for o in organizations]
    for entry, months, key in entries:
        due = review_due(entry, months)
        if due < today:
            if key not in open_now:
                last = entry.assured_date.strftime("%d.%m.%Y") if entry.assured_date else "noch nie"
                open_task(session, "overdue", entry, "Prüfung fällig",
                          f"Zuletzt geprüft: {last}. Prüfintervall: {months} Monate (fällig seit "
                          f"{due.strftime('%d.%m.%Y')}).", source_ref="overdue", due_date=due)
                opened += 1
        elif key in open_now:
            resolve_task(open_now[key], None, "Angaben wurden inzwischen geprüft.")
            resolved += 1
    return opened, resolved
