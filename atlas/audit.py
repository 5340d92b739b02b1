"""Audit log: every ORM change to a curated record is written, in the same transaction, with its before and after values."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, object_session

from . import models as m

AUDITED = (
    m.Organization,
    m.Service,
    m.Location,
    m.Address,
    m.Phone,
    m.Contact,
    m.Schedule,
    m.ServiceSession,
    m.ServiceAtLocation,
    m.TaxonomyTerm,
    m.Region,
    m.Jobcenter,
    m.User,
)
SKIPPED = {"created_at", "updated_at", "version_id", "last_login_at", "import_hash"}
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
        if isinstance(before, list) and isinstance(after, list) and sorted(map(str, before)) == sorted(map(str, after)):
            continue  # the same set in another order is no change
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


def _actor(target: Any) -> tuple[int | None, str]:
    session = object_session(target)
    return session.info.get("actor", (None, "system")) if session is not None else (None, "system")


def _write(connection: Any, target: Any, action: str, changes: dict[str, list[Any]]) -> None:
    user_id, actor = _actor(target)
    connection.execute(insert(m.AuditLog.__table__), {
        "at": m.utcnow(), "user_id": user_id, "actor": actor, "action": action,
        "entity_type": type(target).__tablename__, "entity_id": target.id, "changes": changes,
    })


def _pending_collections(target: Any) -> dict[str, list[Any]]:
    session = object_session(target)
    if session is None:
        return {}
    return session.info.get("audit_collections", {}).pop(id(target), (None, {}))[1]


def _after_insert(_mapper: Any, connection: Any, target: Any) -> None:
    if isinstance(target, AUDITED):
        _write(connection, target, "create", _column_changes(target, "create") | _pending_collections(target))


def _after_update(_mapper: Any, connection: Any, target: Any) -> None:
    # Runs inside the flush, after foreign keys set through relationships have been synced to their columns.
    if isinstance(target, AUDITED):
        changes = _column_changes(target, "update") | _pending_collections(target)
        if changes:
            _write(connection, target, "update", changes)


def _after_delete(_mapper: Any, connection: Any, target: Any) -> None:
    # Also fires for rows removed by delete-orphan cascades, which the session never lists as deleted.
    if isinstance(target, AUDITED):
        _write(connection, target, "delete", _column_changes(target, "delete"))


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    # Many-to-many changes may not touch the parent's row; remember them so they are logged either way.
    pending = session.info.setdefault("audit_collections", {})
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, AUDITED):
            changes = _collection_changes(obj)
            if changes:
                pending[id(obj)] = (obj, changes)


def _after_flush(session: Session, _ctx: Any) -> None:
    leftover = session.info.pop("audit_collections", {})
    for obj, changes in leftover.values():
        _write(session.connection(), obj, "update", changes)


def _after_rollback(session: Session) -> None:
    session.info.pop("audit_collections", None)


def install() -> None:
    """Register the hooks once per process: row events on every audited class, and the session's flush hooks."""
    if event.contains(Session, "before_flush", _before_flush):
        return
    for cls in AUDITED:
        event.listen(cls, "after_insert", _after_insert)
        event.listen(cls, "after_update", _after_update)
        event.listen(cls, "after_delete", _after_delete)
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
