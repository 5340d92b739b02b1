"""Reference data most pages list (categories, regions, places with offers): read once per interval per process.

These tables change a few times a year, yet every public list, offer page, map and search form showed them, at one
query each (about a tenth of a web worker's CPU under load on PostgreSQL). A process reads them again after
REFERENCE_CACHE_SECONDS, and at once after it commits a change to them itself, so an edit shows at once to whoever
made it and within that time in every other worker and after an import.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from .models import Location, Region, TaxonomyTerm

MODELS = (TaxonomyTerm, Region, Location)
T = TypeVar("T")

# Per engine (tests run many apps in one process, each on its own database): name -> (read at, value).
_cache: weakref.WeakKeyDictionary[Engine, dict[str, tuple[float, Any]]] = weakref.WeakKeyDictionary()
# Per engine: how often this process forgot its lists; a value read while a change was committed is not kept.
_forgotten: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def cached(session: Session, name: str, load: Callable[[Session], T]) -> T:
    """`load(session)`, or its value read less than REFERENCE_CACHE_SECONDS ago in this process."""
    bind = session.get_bind()
    seconds = float(current_app.config["REFERENCE_CACHE_SECONDS"])
    if not isinstance(bind, Engine) or seconds <= 0 or session.info.get(_CHANGED):
        return load(session)  # a bound connection, caching off, or this session's own change not yet committed
    now = time.monotonic()
    with _lock:
        found = _cache.get(bind, {}).get(name)
        generation = _forgotten.get(bind, 0)
    if found is not None and now - found[0] < seconds:
        return found[1]
    value = load(session)
    with _lock:
        if _forgotten.get(bind, 0) == generation:
            _cache.setdefault(bind, {})[name] = (now, value)
    return value


_CHANGED = "atlas.reference.changed"


def changed(session: Session) -> None:
    """Note a change to reference data made without ORM objects (bulk inserts); forgotten at commit or rollback."""
    session.info[_CHANGED] = True


def forget(bind: Any) -> None:
    """Drop what this process holds for an engine (after its own change)."""
    if isinstance(bind, Engine):
        with _lock:
            _cache.pop(bind, None)
            _forgotten[bind] = _forgotten.get(bind, 0) + 1


def _after_flush(session: Session, _ctx: Any) -> None:
    if any(isinstance(o, MODELS) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        forget(session.get_bind())


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def install() -> None:
    """Forget cached reference data when this process commits a change to it."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
