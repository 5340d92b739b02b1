"""Audit log: every ORM change to a curated record is written with its before and after values."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from . import models as m

AUDITED = (
    m.Organization,
    m.Service,
    m.Location,
    m.Address,
    m.Phone,
    m.Contact,
    m.Schedule,
    m.ServiceAtLocation,
    m.TaxonomyTerm,
    m.Region,
    m.Jobcenter,
    m.User,
)
SKIPPED = {"created_at", "updated_at", "version_id", "last_login_at"}
SECRET = {"password_hash"}
# Many-to-many collections recorded by slug.
COLLECTIONS = {"categories", "jobcenters"}


def set_actor(session: Session, label: str, user_id: int | None = None) -> None:
    """Name who is changing data through this session (a user's e-mail, "seed", "cli" ...)."""
    session.info["actor"] = (user_id, label)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "slug"):
        return value.slug
    return value


def _column_changes(obj: Any, action: str) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SKIPPED or key == "id":
            continue
        hist = state.attrs[key].history
        if action == "update":
            if not hist.has_changes():
                continue
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
        else:
            value = getattr(obj, key)
            before, after = (None, value) if action == "create" else (value, None)
        if before == after or (action != "update" and (before if after is None else after) in (None, [], "")):
            continue
        if key in SECRET:
            before, after = ("***" if before else None), ("***" if after else None)
        changes[key] = [_plain(before), _plain(after)]
    return changes


def _collection_changes(obj: Any) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for key in COLLECTIONS & set(state.mapper.relationships.keys()):
        hist = state.attrs[key].history
        if hist.added or hist.deleted:
            after = sorted(_plain(v) for v in getattr(obj, key))
            before = sorted(set(after) - {_plain(v) for v in hist.added} | {_plain(v) for v in hist.deleted})
            changes[key] = [before, after]
    return changes


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    pending = session.info.setdefault("audit_pending", [])
    for action, objs in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objs:
            if not isinstance(obj, AUDITED):
                continue
            if action == "update" and not session.is_modified(obj):
                continue
            changes = _column_changes(obj, action)
            if action != "delete":
                changes |= _collection_changes(obj)
            if changes or action != "update":
                pending.append((obj, action, changes))


def _after_flush(session: Session, _ctx: Any) -> None:
    pending = session.info.pop("audit_pending", [])
    if not pending:
        return
    user_id, actor = session.info.get("actor", (None, "system"))
    rows = [
        {
            "at": m.utcnow(),
            "user_id": user_id,
            "actor": actor,
            "action": action,
            "entity_type": type(obj).__tablename__,
            "entity_id": inspect(obj).identity[0] if inspect(obj).identity else obj.id,
            "changes": changes,
        }
        for obj, action, changes in pending
    ]
    session.connection().execute(insert(m.AuditLog.__table__), rows)


def _after_rollback(session: Session) -> None:
    session.info.pop("audit_pending", None)


def install() -> None:
    """Register the session hooks once per process."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
