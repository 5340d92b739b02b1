"""One freshness verdict per offer: aktuell, bald prüfen, überfällig or "Angaben werden geprüft".

The rules live here once. `verdicts()` works on numpy arrays (the search index holds every input as day numbers, so
a query judges all offers at once without touching rows) and on single values (pages judging one offer):

* **Angaben werden geprüft**: a visitor's report or a broken link is open for the offer or its organisation;
* **überfällig**: the review is due (last check plus the review interval of its categories, or never checked), or a
  volatile fact (waiting time, intake status, opening hours) is older than its maximum age
  (`FRESHNESS_FACT_MAX_DAYS`); a fact counts as confirmed on its own date or the last whole check, whichever is later;
* **bald prüfen**: one of those comes due within `CURATION_DUE_SOON_DAYS`;
* **aktuell**: everything else.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import validity
from .models import ReviewTask, Service

CURRENT, SOON, OVERDUE, IN_REVIEW = 0, 1, 2, 3
CODES = {CURRENT: "aktuell", SOON: "bald_pruefen", OVERDUE: "ueberfaellig", IN_REVIEW: "in_pruefung"}
LABELS = {CURRENT: _l("aktuell"), SOON: _l("bald prüfen"), OVERDUE: _l("Prüfung überfällig"),
          IN_REVIEW: _l("Angaben werden geprüft")}
FACTS = ("waiting_time", "intake_status", "opening_hours")
FACT_LABELS = {"waiting_time": _l("Wartezeit"), "intake_status": _l("Aufnahme"), "opening_hours": _l("Öffnungszeiten")}
DEFAULT_MAX_DAYS = {"waiting_time": 120, "intake_status": 120, "opening_hours": 365}
# Open tasks that mean "what the atlas shows may be wrong right now".
DOUBT_KINDS = ("public_report", "link_broken")
# Seconds a process reuses the set of offers in doubt: a report counts in the search within this time.
INPUTS_TTL = 5.0
# Ranking weight by verdict: stale and doubtful offers move down, they never disappear.
DEMOTION = {CURRENT: 1.0, SOON: 1.0, OVERDUE: 0.95, IN_REVIEW: 0.8}


def verdicts(today: int, review_due: Any, confirmed: dict[str, Any], assured: Any, has: dict[str, Any],
             max_days: dict[str, int], in_review: Any, soon_days: int) -> np.ndarray:
    """Verdict codes from day numbers (date.toordinal(); 0 = never): arrays for many offers or scalars for one."""
    due = np.asarray(review_due, dtype=np.int64)
    checked = np.asarray(assured, dtype=np.int64)
    deadline = np.where(due > 0, due, 0)  # never checked: due since ever
    for fact in FACTS:
        fact_day = np.maximum(np.asarray(confirmed[fact], dtype=np.int64), checked)
        fact_due = np.where(fact_day > 0, fact_day + max_days[fact], 0)
        deadline = np.where(np.asarray(has[fact], dtype=bool), np.minimum(deadline, fact_due), deadline)
    result = np.where(deadline < today, OVERDUE, np.where(deadline - today <= soon_days, SOON, CURRENT))
    return np.where(np.asarray(in_review, dtype=bool), IN_REVIEW, result)


@dataclass(frozen=True)
class Inputs:
    """What a verdict needs besides an offer's own dates: today, the limits and the offers in doubt right now."""

    today: int
    max_days: dict[str, int]
    soon_days: int
    doubt: frozenset[int] = frozenset()
    # Shorter maximum ages for the offers of some categories: {slug: {fact: days}}.
    by_category: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()

    @classmethod
    def of(cls, session: Session, config: Any) -> Inputs:
        """Today's inputs from the app's settings and open reports and broken links, re-read every few seconds."""
        cache = current_app.extensions.setdefault("atlas.freshness", {})
        today = validity.today().toordinal()
        found = cache.get("inputs")
        if found is not None and found[1].today == today and time.monotonic() - found[0] < INPUTS_TTL:
            return found[1]
        inputs = cls(today, max_days(config), int(config["CURATION_DUE_SOON_DAYS"]), frozenset(in_review_ids(session)),
                     tuple((slug, tuple(sorted(limits.items()))) for slug, limits in category_limits(config).items()))
        cache["inputs"] = (time.monotonic(), inputs)
        return inputs


def max_days(config: Any) -> dict[str, int]:
    """The maximum age of each volatile fact in days (configurable per fact)."""
    return DEFAULT_MAX_DAYS | {k: int(v) for k, v in (config.get("FRESHNESS_FACT_MAX_DAYS") or {}).items()}


def category_limits(config: Any) -> dict[str, dict[str, int]]:
    """Per category slug, the facts whose maximum age differs from the default (FRESHNESS_FACT_MAX_DAYS_BY_CATEGORY)."""
    return {slug: {fact: int(days) for fact, days in limits.items() if fact in FACTS}
            for slug, limits in (config.get("FRESHNESS_FACT_MAX_DAYS_BY_CATEGORY") or {}).items()}


def max_days_for(config: Any, slugs: Iterable[str]) -> dict[str, int]:
    """The maximum ages for an offer in these categories (and their parents): the strictest limit wins."""
    return strictest(max_days(config), category_limits(config), set(slugs))


def strictest(defaults: dict[str, int], by_category: dict[str, dict[str, int]], slugs: set[str]) -> dict[str, int]:
    """Each fact's default maximum age, lowered by the limits of the categories in `slugs`."""
    limits = dict(defaults)
    for slug, own in by_category.items():
        if slug in slugs:
            limits = {fact: min(days, own.get(fact, days)) for fact, days in limits.items()}
    return limits


def open_review_kinds(session: Session, service_id: int) -> set[str]:
    """Kinds of the open tasks of one offer and its organisation (one query: an offer page asks once)."""
    organization = select(Service.organization_id).where(Service.id == service_id).scalar_subquery()
    return set(session.scalars(select(ReviewTask.kind).distinct().where(
        ReviewTask.resolved_at.is_(None),
        (ReviewTask.service_id == service_id) | (ReviewTask.organization_id == organization))))


def in_review_ids(session: Session, service_ids: Iterable[int] | None = None) -> set[int]:
    """Offers with an open report or broken link, their own or their organisation's (one or two queries).

    With `service_ids`, only the tasks of those offers and their organisations are read: an offer page costs the
    same with 5 open tasks as with 5,000.
    """
    doubt = select(ReviewTask.service_id, ReviewTask.organization_id).where(
        ReviewTask.resolved_at.is_(None), ReviewTask.kind.in_(DOUBT_KINDS))
    members = select(Service.id)
    if service_ids is not None:
        ids = sorted(set(service_ids))
        if not ids:
            return set()
        their_orgs = select(Service.organization_id).where(Service.id.in_(ids))
        doubt = doubt.where(ReviewTask.service_id.in_(ids) | ReviewTask.organization_id.in_(their_orgs))
        members = members.where(Service.id.in_(ids))
    rows = session.execute(doubt).all()
    found = {sid for sid, _org in rows if sid is not None}
    orgs = {org for _sid, org in rows if org is not None}
    if orgs:  # an organisation's report or broken link puts each of its offers in doubt
        found |= set(session.scalars(members.where(Service.organization_id.in_(orgs))))
    if service_ids is not None:
        found &= set(ids)
    return found


def has_fact(service: Service, fact: str) -> bool:
    """True when the offer states the fact at all (an unset fact never goes stale); same rule as the search index."""
    if fact == "waiting_time":
        return bool(service.waiting_time)
    if fact == "intake_status":
        return service.intake_status not in (None, "unbekannt")
    return bool(service.schedules) or any(sal.location is not None and sal.location.schedules
                                          for sal in service.service_at_locations)


def fact_confirmed(service: Service, fact: str) -> date | None:
    """When a fact was last confirmed: its own date or the last whole check, whichever is later."""
    dates = [d for d in (getattr(service, f"{fact}_confirmed_at"), service.assured_date) if d is not None]
    return max(dates) if dates else None


def stale_facts(service: Service, today: date, max_days: dict[str, int]) -> list[tuple[str, date | None]]:
    """The offer's set facts older than their maximum age, each with the date it was last confirmed (None: never)."""
    stale = []
    for fact in FACTS:
        if not has_fact(service, fact):
            continue
        confirmed = fact_confirmed(service, fact)
        if confirmed is None or (today - confirmed).days > max_days[fact]:
            stale.append((fact, confirmed))
    return stale


def stale_line(fact: str, confirmed: date | None, today: date) -> str:
    """One queue line for a stale fact: "Wartezeit seit 4 Monaten nicht bestätigt"."""
    name = str(FACT_LABELS[fact])
    if confirmed is None:
        return str(_l("%(fact)s noch nie bestätigt", fact=name))
    months = (today.year - confirmed.year) * 12 + today.month - confirmed.month - (today.day < confirmed.day)
    if months < 1:
        days = (today - confirmed).days
        return ngettext("%(fact)s seit %(num)s Tag nicht bestätigt", "%(fact)s seit %(num)s Tagen nicht bestätigt",
                        days, fact=name)
    return ngettext("%(fact)s seit %(num)s Monat nicht bestätigt", "%(fact)s seit %(num)s Monaten nicht bestätigt",
                    months, fact=name)


def day(value: date | str | None) -> int:
    """A date (or ISO string) as a day number; 0 for none."""
    if not value:
        return 0
    return (value if isinstance(value, date) else date.fromisoformat(str(value)[:10])).toordinal()


def label(code: int) -> str:
    """The verdict in the UI language."""
    return str(LABELS[int(code)])


def init_app(app: Flask) -> None:
    """Make the verdict's label available to templates."""
    app.jinja_env.globals["freshness_label"] = label
    app.jinja_env.globals["stale_line"] = stale_line
