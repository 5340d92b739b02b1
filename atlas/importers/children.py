"""Phones and opening hours of a re-imported entry, matched one by one to the stored ones.

A child of the file is matched to a stored child by its HSDS id (the id the atlas exports: the stored UUID,
else the one derived from the row id), else by its natural key (number and extension of a phone; the
recurrence of a schedule). Matched children are kept (same database id) and changed in place only where a
field differs; the rest are added or removed. An empty list in the file leaves the stored children alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..duplicates import normalise_phone
from ..hsds import phone_id, schedule_id
from ..models import Phone, Schedule
from .records import SCHEDULE_EXTRA, PhoneData, ScheduleData

# The recurrence of a schedule: what identifies it when the file has no ids (its hours and notes may change).
RECURRENCE = ("freq", "byday", "interval", "bymonthday", "byweekno", "wkst", "dtstart", "until", "count")


@dataclass
class Matching:
    """How a file's children meet the stored ones."""

    unchanged: list[tuple[Any, Any]] = field(default_factory=list)
    changed: list[tuple[Any, Any]] = field(default_factory=list)
    new: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)

    def count(self, counter: Counter) -> None:
        """Add this matching's effect to a per-entity counter."""
        counter["unchanged"] += len(self.unchanged)
        counter["update"] += len(self.changed)
        counter["new"] += len(self.new)
        counter["removed"] += len(self.removed)

    @property
    def differs(self) -> bool:
        """Whether applying it would change anything."""
        return bool(self.changed or self.new or self.removed)


def phone_values(p: PhoneData | Phone) -> dict[str, Any]:
    """The stored fields of a phone."""
    return {"number": p.number, "type": p.type, "description": p.description or None,
            "extension": p.extension or None, "visibility": p.visibility}


def schedule_values(s: ScheduleData | Schedule) -> dict[str, Any]:
    """The stored fields of a schedule."""
    extra = s.extra if isinstance(s, ScheduleData) else {k: getattr(s, k) for k in SCHEDULE_EXTRA}
    values = {"byday": s.byday, "opens_at": s.opens_at or None, "closes_at": s.closes_at or None,
              "description": s.description or None, "freq": s.freq or "WEEKLY", "valid_from": s.valid_from,
              "valid_to": s.valid_to}
    return values | {k: _blank(extra.get(k)) for k in SCHEDULE_EXTRA}


def _blank(value: Any) -> Any:
    return None if value == "" else value


def _phone_natural(values: dict[str, Any]) -> tuple:
    return (normalise_phone(values["number"]) or values["number"], values["extension"] or "")


def _schedule_natural(values: dict[str, Any]) -> tuple:
    return tuple(str(values[k] or "") for k in RECURRENCE)


def _comparable(values: dict[str, Any]) -> tuple:
    return tuple(sorted((k, str(v) if v is not None else "") for k, v in values.items()))


Values = Callable[[Any], dict[str, Any]]


def match(stored: list, wanted: list, values: Values, natural: Callable[[dict], tuple],
          hsds_id: Callable[[Any], str]) -> Matching:
    """Pair the file's children with the stored ones: by HSDS id, then identical content, then natural key."""
    result = Matching()
    if not wanted:
        result.unchanged = [(s, None) for s in stored]
        return result
    left = list(stored)
    pairs: list[tuple[Any, Any]] = []
    rest: list[Any] = []
    ids = {hsds_id(s): s for s in left}
    for item in wanted:
        found = ids.pop(item.uuid, None) if item.uuid else None
        if found is not None and found in left:
            left.remove(found)
            pairs.append((found, item))
        else:
            rest.append(item)
    for key in (_comparable, natural):
        unmatched = []
        for item in rest:
            wanted_key = key(values(item))
            found = next((s for s in left if key(values(s)) == wanted_key), None)
            if found is None:
                unmatched.append(item)
            else:
                left.remove(found)
                pairs.append((found, item))
        rest = unmatched
    for have, item in pairs:
        same = _comparable(values(have)) == _comparable(values(item))
        (result.unchanged if same else result.changed).append((have, item))
    result.new, result.removed = rest, left
    return result


def match_phones(stored: list[Phone], wanted: list[PhoneData]) -> Matching:
    """Match a file's phones to an entry's stored phones."""
    return match(stored, wanted, phone_values, _phone_natural, _hsds_id(phone_id))


def match_schedules(stored: list[Schedule], wanted: list[ScheduleData]) -> Matching:
    """Match a file's opening hours to an entry's stored ones."""
    return match(stored, wanted, schedule_values, _schedule_natural, _hsds_id(schedule_id))


def _hsds_id(exported: Callable[[Any], str]) -> Callable[[Any], str]:
    # Children added in this run have no row id yet: only their own UUID identifies them.
    return lambda child: child.uuid or (exported(child) if child.id is not None else f"new:{id(child)}")


def apply_phones(collection: list[Phone], wanted: list[PhoneData]) -> None:
    """Bring an entry's phones in line with the file, one by one."""
    _apply(collection, match_phones(collection, wanted), phone_values, Phone)


def apply_schedules(collection: list[Schedule], wanted: list[ScheduleData]) -> None:
    """Bring an entry's opening hours in line with the file, one by one."""
    _apply(collection, match_schedules(collection, wanted), schedule_values, Schedule)


def _apply(collection: list, matching: Matching, values: Values, model: type) -> None:
    for have, item in matching.changed:
        for key, value in values(item).items():
            if getattr(have, key) != value:
                setattr(have, key, value)
    for gone in matching.removed:
        collection.remove(gone)
    for item in matching.new:
        collection.append(model(**values(item), uuid=item.uuid))
