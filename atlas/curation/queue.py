"""The review queue of one coordinator: flagged problems, overdue reviews and reviews due soon, by urgency."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from .. import freshness
from ..models import Location, Organization, ReviewTask, Service, ServiceAtLocation, TaxonomyTerm, User

GROUPS = ("flagged", "overdue", "due_soon")
SORTS = ("dringlichkeit", "faelligkeit", "name")
# Concrete problems first: a visitor's report or a dead link hurts people now; a duplicate or a note can wait.
KIND_WEIGHT = {"public_report": 0, "link_broken": 0, "link_changed": 1, "import_duplicate": 2, "manual": 3}


@dataclass
class QueueItem:
    """One line of the review queue."""

    group: str
    entry: Organization | Service
    due: date | None
    task: ReviewTask | None = None
    never_verified: bool = False
    # An offer's valid_to when it ends within the notice period or has passed while the offer is still "aktiv".
    expires: date | None = None
    # Volatile facts older than their maximum age: (fact, last confirmed or None), one line each.
    stale: list[tuple[str, date | None]] = field(default_factory=list)
    # Why an entry without a task is listed: "review" (check due), "stale" (only facts) or "ending" (only its end).
    reason: str = "review"

    @property
    def stale_only(self) -> bool:
        """True when stale facts are the only reason for the line (the whole check is not yet due)."""
        return self.reason == "stale"

    def expired(self, today: date) -> bool:
        """True when the offer's validity ended before today (it is no longer shown publicly)."""
        return self.expires is not None and self.expires < today

    @property
    def is_service(self) -> bool:
        """True for offers, False for organisations."""
        return isinstance(self.entry, Service)

    def days(self, today: date) -> int | None:
        """Days overdue (positive) or until due (negative)."""
        return (today - self.due).days if self.due else None


def add_months(day: date, months: int) -> date:
    """The same day some months later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due(entry: Organization | Service, org_months: int) -> date:
    """When an entry is next due for review: last verification plus its interval; never verified: due since creation."""
    if entry.assured_date is None:
        return entry.created_at.date()
    months = entry.review_interval_months if isinstance(entry, Service) else org_months
    return add_months(entry.assured_date, months)


def _owned(model: Any, user: User) -> Any:
    if model is Service:
        return or_(
            Service.owner_id == user.id,
            and_(Service.owner_id.is_(None), Service.organization.has(Organization.owner_id == user.id)),
        )
    return Organization.owner_id == user.id


def review_queue(
    session: Session, user: User, today: date, soon_days: int = 30, org_months: int = 12, expiry_days: int = 30,
    fact_max_days: dict[str, int] | None = None, category_limits: dict[str, dict[str, int]] | None = None,
) -> list[QueueItem]:
    """Everything a coordinator should look at, most urgent first (ending offers and stale facts included)."""
    defaults = freshness.DEFAULT_MAX_DAYS | (fact_max_days or {})

    def limits_of(service: Service) -> dict[str, int]:
        """The strictest maximum ages of the offer's categories and their parents (same rule as the search)."""
        slugs = {t.slug for t in service.categories} | {t.parent.slug for t in service.categories if t.parent}
        return freshness.strictest(defaults, category_limits or {}, slugs)

    tasks = list(
        session.scalars(
            select(ReviewTask)
            .where(ReviewTask.assignee_id == user.id, ReviewTask.resolved_at.is_(None))
            .options(selectinload(ReviewTask.service), selectinload(ReviewTask.organization))
        )
    )
    items = []
    with_overdue_task = set()
    for task in tasks:
        entry = task.service or task.organization
        if entry is None:
            continue
        if task.kind == "overdue":
            with_overdue_task.add((type(entry), entry.id))
            items.append(QueueItem("overdue", entry, task.due_date or task.created_at.date(), task))
        else:
            items.append(QueueItem("flagged", entry, task.due_date, task))
    for model in (Service, Organization):
        stmt = select(model).where(_owned(model, user), model.archived_at.is_(None))
        if model is Service:
            stmt = stmt.where(Service.status != "beendet").options(
                selectinload(Service.categories).selectinload(TaxonomyTerm.parent),
                selectinload(Service.schedules),
                selectinload(Service.service_at_locations).selectinload(ServiceAtLocation.location)
                .selectinload(Location.schedules),
            )
        else:
            stmt = stmt.options(
                selectinload(Organization.locations),
                selectinload(Organization.services).selectinload(Service.categories).selectinload(
                    TaxonomyTerm.parent
                ),
            )
        for entry in session.scalars(stmt):
            ends = _ending(entry, today, expiry_days)
            max_days = limits_of(entry) if model is Service else defaults
            stale = freshness.stale_facts(entry, today, max_days) if model is Service else []
            if (model, entry.id) in with_overdue_task:
                _note_overdue(items, entry, ends, stale)
                continue
            due = review_due(entry, org_months)
            days = (due - today).days
            if days <= 0:
                items.append(QueueItem("overdue", entry, due, never_verified=entry.assured_date is None, expires=ends,
                                       stale=stale))
            elif stale:  # a stale fact is overdue work of its own, though the whole check is not yet due
                items.append(QueueItem("overdue", entry, _stale_since(entry, stale, max_days), expires=ends,
                                       stale=stale, reason="stale"))
            elif ends is not None:  # the end is the more pressing date: extend or end the offer
                items.append(QueueItem("overdue" if ends < today else "due_soon", entry, ends, expires=ends,
                                       reason="ending"))
            elif days <= soon_days:
                items.append(QueueItem("due_soon", entry, due))
    return sorted(items, key=lambda item: _urgency(item, today))


def queue_for(session: Session, user: User, today: date, config: Any) -> list[QueueItem]:
    """A coordinator's queue with the app's settings (the queue page, the start page and the digest use this)."""
    return review_queue(session, user, today, int(config["CURATION_DUE_SOON_DAYS"]),
                        int(config["CURATION_ORG_REVIEW_MONTHS"]), int(config["CURATION_EXPIRY_NOTICE_DAYS"]),
                        freshness.max_days(config), freshness.category_limits(config))


def _ending(entry: Organization | Service, today: date, expiry_days: int) -> date | None:
    """An active offer's valid_to when it has passed or comes within `expiry_days`; else None."""
    if not isinstance(entry, Service) or entry.valid_to is None or entry.status != "aktiv":
        return None
    return entry.valid_to if (entry.valid_to - today).days <= expiry_days else None


def _note_overdue(items: list[QueueItem], entry: Organization | Service, ends: date | None,
                  stale: list[tuple[str, date | None]]) -> None:
    """Add the end date and stale facts to the entry's overdue task line (one line per entry)."""
    for item in items:
        if item.entry is entry and item.group == "overdue":
            item.expires = ends or item.expires
            item.stale = stale


def _stale_since(entry: Service, stale: list[tuple[str, date | None]], max_days: dict[str, int]) -> date:
    """The day the first of the stale facts went stale (never confirmed: since the offer was created)."""
    return min(
        confirmed + timedelta(days=max_days[fact] + 1) if confirmed else entry.created_at.date()
        for fact, confirmed in stale
    )


def _urgency(item: QueueItem, today: date) -> tuple:
    group = GROUPS.index(item.group)
    if item.group == "flagged" and item.task is not None:
        return (group, KIND_WEIGHT.get(item.task.kind, 3), item.task.created_at, item.task.id)
    # Overdue: the longest overdue first; due soon: the soonest first. Ties by name for a stable list.
    return (group, 0, item.due or today, item.entry.name.lower())


def queue_counts(items: list[QueueItem]) -> dict[str, int]:
    """How many items each group holds."""
    return {group: sum(1 for i in items if i.group == group) for group in GROUPS}


def areas(entry: Organization | Service) -> set[str]:
    """Slugs of the top-level categories an entry belongs to (an organisation: those of its offers)."""
    services = [entry] if isinstance(entry, Service) else entry.services
    return {(t.parent or t).slug for s in services for t in s.categories}


def gemeinden(entry: Organization | Service) -> set[int]:
    """Ids of the Gemeinden where an entry has a location."""
    return {loc.gemeinde_id for loc in entry.locations if loc.gemeinde_id}


@dataclass
class QueueFilter:
    """What the queue page narrows to: kind, group, area, Gemeinde, due date; and how it sorts."""

    kind: str = ""
    group: str = ""
    area: str = ""
    gemeinde: int = 0
    due_until: date | None = None
    sort: str = "dringlichkeit"

    def keep(self, item: QueueItem) -> bool:
        """True when the item passes every filter that is set."""
        if self.kind and (self.kind == "angebote") != item.is_service:
            return False
        if self.group and item.group != self.group:
            return False
        if self.area and self.area not in areas(item.entry):
            return False
        if self.gemeinde and self.gemeinde not in gemeinden(item.entry):
            return False
        return not (self.due_until and (item.due is None or item.due > self.due_until))


def narrow(items: list[QueueItem], filters: QueueFilter, today: date) -> list[QueueItem]:
    """The items that pass the filters, in the chosen order (urgency is the queue's own order)."""
    kept = [i for i in items if filters.keep(i)]
    if filters.sort == "faelligkeit":
        return sorted(kept, key=lambda i: (i.due or today, i.entry.name.lower()))
    if filters.sort == "name":
        return sorted(kept, key=lambda i: (i.entry.name.lower(), i.entry.id))
    return kept
