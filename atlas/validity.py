"""Time-bound offers: an offer with `valid_from`/`valid_to` is in force only between them (dates in Europe/Berlin).

Evaluated whenever a page, API answer, search, map, handout or export is made, so an offer disappears from
public view on the day after its `valid_to` and appears on its `valid_from` without any job running.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import ColumnElement, and_, or_

from .models import Service
from .opening import TZ


def today() -> date:
    """Today's date in Europe/Berlin (what "valid until 31 March" means to the people who wrote it)."""
    return datetime.now(TZ).date()


def in_force_condition(day: date | None = None) -> ColumnElement[bool]:
    """SQL: the offer's validity period includes `day` (today in Berlin when not given)."""
    day = day or today()
    return and_(or_(Service.valid_from.is_(None), Service.valid_from <= day),
                or_(Service.valid_to.is_(None), Service.valid_to >= day))


def _as_date(value: date | str | None) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def state(valid_from: date | str | None, valid_to: date | str | None, day: date | None = None) -> str | None:
    """"future" before valid_from, "expired" after valid_to, None while in force."""
    day = day or today()
    start, end = _as_date(valid_from), _as_date(valid_to)
    if start is not None and day < start:
        return "future"
    if end is not None and day > end:
        return "expired"
    return None


def in_force(service: Service, day: date | None = None) -> bool:
    """True when the offer's validity period includes `day`."""
    return state(service.valid_from, service.valid_to, day) is None


def _getter(entry: dict | Service) -> Any:
    """Field access alike for an offer and its view."""
    return entry.get if isinstance(entry, dict) else lambda key: getattr(entry, key)


def entry_state(entry: dict | Service) -> str | None:
    """state() of an offer or its view: "future", "expired" or None."""
    get = _getter(entry)
    return state(get("valid_from"), get("valid_to"))


def validity_note(entry: dict | Service) -> str:
    """Staff's mark for an offer outside its period ("abgelaufen am 31.01.2026", "gilt erst ab 01.03.2027"), or ""."""
    from .i18n import datum

    get = _getter(entry)
    found = entry_state(entry)
    if found == "expired":
        return _("abgelaufen am %(d)s", d=datum(get("valid_to")))
    if found == "future":
        return _("gilt erst ab %(d)s", d=datum(get("valid_from")))
    return ""


def ago(value: date | str | None, day: date | None = None) -> str:
    """How long ago a date was, in words ("vor 14 Monaten"); months up to two years, so age is easy to compare."""
    then = _as_date(value)
    if then is None:
        return ""
    day = day or today()
    days = (day - then).days
    months = (day.year - then.year) * 12 + day.month - then.month - (day.day < then.day)
    if days <= 0:
        return _("heute")
    if months < 1:
        return ngettext("vor %(num)s Tag", "vor %(num)s Tagen", days)
    if months < 24:
        return ngettext("vor %(num)s Monat", "vor %(num)s Monaten", months)
    return ngettext("vor %(num)s Jahr", "vor %(num)s Jahren", months // 12)


def init_app(app: Flask) -> None:
    """Make the staff marks available to templates."""
    app.jinja_env.globals["validity_note"] = validity_note
    app.jinja_env.globals["validity_state"] = entry_state
    app.jinja_env.globals["ago"] = ago
