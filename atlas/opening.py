"""Open now and the way there: weekly hours in Europe/Berlin with NRW public holidays, and a route link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Iterable
from urllib.parse import quote
from zoneinfo import ZoneInfo

import holidays
from flask import Flask, current_app
from flask_babel import format_time
from flask_babel import gettext as _

TZ = ZoneInfo("Europe/Berlin")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
LOOKAHEAD_DAYS = 14


@dataclass(frozen=True)
class Slot:
    """One opening period on one weekday."""

    day: str
    opens: time
    closes: time
    valid_from: date | None = None
    valid_to: date | None = None

    def applies(self, day: date) -> bool:
        """True when this slot is in force on that date."""
        return (DAYS[day.weekday()] == self.day and (self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or day <= self.valid_to))


@dataclass(frozen=True)
class OpenState:
    """What a participant needs to know right now."""

    open_now: bool
    text: str
    holiday: str = ""


@lru_cache(maxsize=16)
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.Germany(subdiv="NW", years=year, language="de")


def holiday_name(day: date) -> str:
    """The name of an NRW public holiday on that date, or ""."""
    return _holidays(day.year).get(day, "")


def _time(value: Any) -> time | None:
    try:
        return time.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def slots(schedules: Iterable[dict[str, Any]]) -> list[Slot]:
    """Weekly slots with both times from presenter schedule dicts (monthly or time-less ones cannot say "open")."""
    found = []
    for s in schedules:
        opens, closes = _time(s.get("opens_at")), _time(s.get("closes_at"))
        if s.get("freq", "WEEKLY") != "WEEKLY" or opens is None or closes is None or opens >= closes:
            continue
        for day in (d.strip() for d in (s.get("byday") or "").split(",")):
            if day in DAYS:
                found.append(Slot(day, opens, closes, _date(s.get("valid_from")), _date(s.get("valid_to"))))
    return found


def _day_word(day: date, today: date) -> str:
    if day == today + timedelta(days=1):
        return _("morgen")
    names = (_("am Montag"), _("am Dienstag"), _("am Mittwoch"), _("am Donnerstag"), _("am Freitag"), _("am Samstag"),
             _("am Sonntag"))
    return names[day.weekday()]


def _clock(value: time) -> str:
    return format_time(value, format="HH:mm")


def _next_opening(found: list[Slot], now: datetime) -> tuple[date, time] | None:
    today = now.date()
    for offset in range(LOOKAHEAD_DAYS):
        day = today + timedelta(days=offset)
        if holiday_name(day):
            continue
        starts = sorted(s.opens for s in found if s.applies(day) and (offset or s.opens > now.time()))
        if starts:
            return day, starts[0]
    return None


def opening_state(schedules: Iterable[dict[str, Any]], now: datetime | None = None) -> OpenState | None:
    """Open or closed at `now` (Europe/Berlin), with the next opening; None when the hours cannot tell."""
    found = slots(schedules)
    if not found:
        return None
    now = (now or datetime.now(TZ)).astimezone(TZ)
    today, clock = now.date(), now.time()
    holiday = holiday_name(today)
    if not holiday:
        for slot in found:
            if slot.applies(today) and slot.opens <= clock < slot.closes:
                return OpenState(True, _("Jetzt geöffnet – bis %(time)s Uhr", time=_clock(slot.closes)))
    upcoming = _next_opening(found, now)
    prefix = _("Heute ist Feiertag (%(name)s): geschlossen", name=holiday) if holiday else _("Jetzt geschlossen")
    if upcoming is None:
        return OpenState(False, prefix, holiday)
    day, opens = upcoming
    if day == today:
        return OpenState(False, _("%(prefix)s – öffnet heute um %(time)s Uhr", prefix=prefix, time=_clock(opens)),
                         holiday)
    return OpenState(False, _("%(prefix)s – öffnet %(day)s um %(time)s Uhr", prefix=prefix,
                              day=_day_word(day, today), time=_clock(opens)), holiday)


def route_url(address: str | None) -> str | None:
    """A link that hands the public address to the device's maps app (or ROUTING_URL); nothing is requested before a tap."""
    if not address:
        return None
    template = current_app.config["ROUTING_URL"] or "geo:0,0?q={address}"
    return template.replace("{address}", quote(address, safe=""))


def init_app(app: Flask) -> None:
    """Make the open-now state and the route link available to templates."""
    app.jinja_env.globals["opening_state"] = opening_state
    app.jinja_env.globals["route_url"] = route_url
