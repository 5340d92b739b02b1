"""Dated sessions of courses, groups and events (Termine): the next date, "begins within N weeks", HSDS schedules.

A session is a local date with wall-clock times in Europe/Berlin. Whether it is still ahead is decided at request
time against Berlin's clock, so past sessions drop out by themselves and DST changes never move one by an hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from flask import Flask
from flask_babel import format_date
from flask_babel import gettext as _

from . import vocab
from .models import ServiceSession
from .opening import DAYS, TZ

MAX_SERIES = 60  # one "weekly until" row or one HSDS schedule becomes at most this many sessions
MAX_WEEKS = 52


def now() -> datetime:
    """The current time in Europe/Berlin (tests replace this)."""
    return datetime.now(TZ)


def _moment(at: datetime | None) -> tuple[date, str]:
    at = (at or now()).astimezone(TZ)
    return at.date(), at.strftime("%H:%M")


def _fields(item: Any) -> tuple[Any, date]:
    """A session as model or presented dict: its field getter and its date."""
    get = item.get if isinstance(item, dict) else lambda key: getattr(item, key)
    starts_on = get("starts_on")
    return get, starts_on if isinstance(starts_on, date) else date.fromisoformat(str(starts_on))


def is_upcoming(item: Any, at: datetime | None = None) -> bool:
    """True when the session (model or dict) has not ended yet (one without times counts until its day ends)."""
    day, clock = _moment(at)
    get, starts_on = _fields(item)
    return starts_on > day or (starts_on == day and (get("end_time") or get("start_time") or "24:00") > clock)


def window_days(weeks: int, at: datetime | None = None) -> list[str]:
    """ISO dates from today to `weeks` weeks ahead: the index's session days a "begins within" filter accepts."""
    day, _clock = _moment(at)
    return [(day + timedelta(days=offset)).isoformat() for offset in range(7 * weeks + 1)]


def index_days(sessions: Iterable[ServiceSession], today: date) -> list[str]:
    """The ISO dates of an offer's sessions from `today` on (past ones can never match again)."""
    return sorted({s.starts_on.isoformat() for s in sessions if s.starts_on >= today})


def weekly(start: date, until: date, limit: int = MAX_SERIES) -> list[date]:
    """Every 7th day from `start` through `until`, at most `limit` dates."""
    days, day = [], start
    while day <= until and len(days) < limit:
        days.append(day)
        day += timedelta(days=7)
    return days


# -- words -------------------------------------------------------------------------------------------------------

def when(item: Any, at: datetime | None = None, relative: bool = True) -> str:
    """"heute, 18:00–19:30 Uhr", "morgen, 10:00 Uhr" or "Di., 12.01.2027, 18:00–19:30 Uhr" (always so on paper)."""
    get, starts_on = _fields(item)
    today, _clock = _moment(at)
    if relative and starts_on == today:
        day = _("heute")
    elif relative and starts_on == today + timedelta(days=1):
        day = _("morgen")
    else:
        from .i18n import current_lang

        day = format_date(starts_on, format="EEE, dd.MM.yyyy" if current_lang() == "de" else "EEE, d MMM yyyy")
    start, end = get("start_time"), get("end_time")
    if start and end:
        return _("%(day)s, %(start)s–%(end)s Uhr", day=day, start=start, end=end)
    if start:
        return _("%(day)s, %(start)s Uhr", day=day, start=start)
    return day


# -- HSDS schedules ----------------------------------------------------------------------------------------------

@dataclass
class SessionData:
    """A session as read from a file."""

    starts_on: date
    start_time: str | None = None
    end_time: str | None = None
    place: str | None = None
    seats: str = "unbekannt"
    registration_note: str | None = None

    def key(self) -> tuple:
        """What identifies a session in a re-import: its date and start."""
        return (self.starts_on, self.start_time or "")

    def values(self) -> dict[str, Any]:
        """The stored fields."""
        return {"starts_on": self.starts_on, "start_time": self.start_time, "end_time": self.end_time,
                "place": self.place, "seats": self.seats, "registration_note": self.registration_note}


def _notes(seats: str, note: str | None) -> str | None:
    label = vocab.SESSION_SEATS[seats][0] if seats != "unbekannt" else ""
    return " – ".join(p for p in (label, note or "") if p) or None


def _split_notes(notes: str | None) -> tuple[str, str | None]:
    text = (notes or "").strip()
    for code, (german, english) in vocab.SESSION_SEATS.items():
        for word in (german, english):
            if code != "unbekannt" and text.lower().startswith(word.lower()):
                rest = text[len(word):].lstrip(" –-.:;,")
                return code, rest or None
    return "unbekannt", text or None


def hsds_schedules(sessions: Iterable[ServiceSession], service_uuid: str) -> list[dict[str, Any]]:
    """Sessions as HSDS schedules: a weekly run with the same times, place and notes becomes one schedule."""
    runs: list[list[ServiceSession]] = []
    for s in sorted(sessions, key=lambda s: (s.start_time or "", s.end_time or "", s.place or "", s.seats,
                                             s.registration_note or "", s.starts_on)):
        last = runs[-1][-1] if runs else None
        same = last is not None and all(getattr(last, f) == getattr(s, f) for f in
                                        ("start_time", "end_time", "place", "seats", "registration_note"))
        if same and s.starts_on - last.starts_on == timedelta(days=7):
            runs[-1].append(s)
        else:
            runs.append([s])
    out = []
    for run in sorted(runs, key=lambda r: (r[0].starts_on, r[0].start_time or "")):
        first = run[0]
        item: dict[str, Any] = {
            "id": first.uuid, "service_id": service_uuid, "freq": "WEEKLY", "byday": DAYS[first.starts_on.weekday()],
            "dtstart": first.starts_on.isoformat(), "until": run[-1].starts_on.isoformat(), "count": len(run),
            "timezone": _utc_offset(first.starts_on), "wkst": "MO", "opens_at": first.start_time,
            "closes_at": first.end_time, "description": first.place,
            "notes": _notes(first.seats, first.registration_note),
        }
        out.append({k: v for k, v in item.items() if v is not None})  # HSDS omits absent values
    return out


def _utc_offset(day: date) -> float:
    """Berlin's UTC offset in hours on that day (HSDS "timezone"); the times themselves are local."""
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=TZ).utcoffset()
    return offset.total_seconds() / 3600 if offset else 0


def is_series(h: dict[str, Any]) -> bool:
    """True when an HSDS schedule is a run of dated sessions: a start, an end, weekly, one weekday, no week filters."""
    if not h.get("dtstart") or not (h.get("until") or h.get("count")):
        return False
    if (str(h.get("freq") or "WEEKLY")).upper() != "WEEKLY" or any(h.get(k) for k in ("byweekno", "bymonthday",
                                                                                         "byyearday")):
        return False
    byday = str(h.get("byday") or "").replace(" ", "").upper()
    return byday in DAYS or not byday


def series_sessions(h: dict[str, Any], errors: list[str]) -> list[SessionData]:
    """The sessions of an HSDS schedule that `is_series`; problems go to `errors` (German)."""
    try:
        start = date.fromisoformat(str(h["dtstart"])[:10])
        until = date.fromisoformat(str(h["until"])[:10]) if h.get("until") else None
        count = int(h["count"]) if h.get("count") not in (None, "") else None
        interval = int(h.get("interval") or 1)
    except (TypeError, ValueError):
        errors.append(f"Terminreihe mit Startdatum „{h.get('dtstart')}“: Datum oder Anzahl ist ungültig.")
        return []
    if until is not None and until < start:
        errors.append(f"Terminreihe: das Ende ({until.isoformat()}) liegt vor dem Beginn ({start.isoformat()}).")
        return []
    if interval < 1 or (count is not None and count < 1):
        errors.append("Terminreihe: Intervall und Anzahl müssen mindestens 1 sein.")
        return []
    byday = str(h.get("byday") or "").replace(" ", "").upper() or DAYS[start.weekday()]
    first = start + timedelta(days=(DAYS.index(byday) - start.weekday()) % 7)
    days, day = [], first
    while (until is None or day <= until) and (count is None or len(days) < count):
        if len(days) == MAX_SERIES:
            errors.append(f"Terminreihe ab {start.isoformat()}: mehr als {MAX_SERIES} Termine – bitte kürzer fassen.")
            return []
        days.append(day)
        day += timedelta(days=7 * interval)
    times = [str(h.get(k) or "")[:5] or None for k in ("opens_at", "closes_at")]
    if times[0] and times[1] and times[0] >= times[1]:
        errors.append(f"Termin {times[0]}–{times[1]}: das Ende muss nach dem Beginn liegen.")
        return []
    seats, note = _split_notes(h.get("notes"))
    place = str(h.get("description") or "").strip()[:300] or None
    return [SessionData(d, times[0], times[1], place, seats, (note or "")[:500] or None) for d in days]


def apply_sessions(stored: list[ServiceSession], wanted: list[SessionData]) -> None:
    """Make an offer's sessions equal the file's, matched by date and start time (an empty file list keeps them)."""
    if not wanted:
        return
    have = {(s.starts_on, s.start_time or ""): s for s in stored}
    keep = set()
    for data in wanted:
        row = have.get(data.key())
        if row is None:
            stored.append(ServiceSession(**data.values()))
            continue
        keep.add(data.key())
        for name, value in data.values().items():
            if getattr(row, name) != value:
                setattr(row, name, value)
    for key, row in have.items():
        if key not in keep:
            stored.remove(row)


def sessions_differ(stored: list[ServiceSession], wanted: list[SessionData]) -> bool:
    """Whether `apply_sessions` would change anything."""
    if not wanted:
        return False
    have = {(s.starts_on, s.start_time or ""): {k: getattr(s, k) for k in SessionData.__dataclass_fields__}
            for s in stored}
    return have != {d.key(): d.values() for d in wanted}


# -- templates ---------------------------------------------------------------------------------------------------

def ahead(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The sessions of a presented offer that are still ahead now (a cached view may hold one that just ended)."""
    return [s for s in (view.get("atlas") or {}).get("sessions") or [] if is_upcoming(s)]


def next_session(view: dict[str, Any]) -> str:
    """"Di., 12.01.2027, 18:00–19:30 Uhr · Turnhalle · Plätze frei" for the next session, or ""."""
    found = ahead(view)
    return describe_view(found[0]) if found else ""


def describe_view(item: dict[str, Any], relative: bool = True) -> str:
    """One line for a presented session: when, where, places left."""
    return " · ".join(p for p in (when(item, relative=relative), item.get("place") or "", item.get("seats_label") or "")
                      if p)


def init_app(app: Flask) -> None:
    """Make the session words available to templates."""
    app.jinja_env.globals["sessions_ahead"] = ahead
    app.jinja_env.globals["next_session"] = next_session
    app.jinja_env.globals["session_when"] = when
