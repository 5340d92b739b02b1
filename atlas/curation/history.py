"""An entry's history from the audit log: readable diffs, changes since a form was opened, restoring a version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, and_, cast, or_, select
from sqlalchemy.orm import Session

from .. import vocab
from ..i18n import current_lang, datum
from ..models import (
    AuditLog,
    Contact,
    Jobcenter,
    Location,
    Organization,
    Phone,
    Region,
    Schedule,
    ServiceSession,
    Service,
    TaxonomyTerm,
    User,
)
from .labels import ACTION_LABELS, CODED_FIELDS, ENTITY_LABELS, field_label
from .operations import CurationError, same_value, touch

Record = Organization | Service | Location
# Child tables whose rows belong to an entry, by the foreign key that points at it.
CHILDREN = {
    "service": {
        "phone": "service_id",
        "schedule": "service_id",
        "service_session": "service_id",
        "contact": "service_id",
        "service_at_location": "service_id",
    },
    "organization": {"phone": "organization_id", "contact": "organization_id", "location": "organization_id"},
    "location": {
        "address": "location_id",
        "phone": "location_id",
        "schedule": "location_id",
        "service_at_location": "location_id",
    },
}
# Fields a version restore brings back: content, not bookkeeping (ids, verification, archive state, ownership).
NOT_RESTORED = {
    "id",
    "uuid",
    "created_at",
    "updated_at",
    "version_id",
    "archived_at",
    "assured_date",
    "assured_by_id",
    "owner_id",
    "deputy_id",
    "imported_at",
    "geocoded_at",
}
COLLECTION_MODELS = {"categories": TaxonomyTerm, "jobcenters": Jobcenter}
DATE_FIELDS = {
    "assured_date",
    "starts_on",
    "valid_from",
    "valid_to",
    "waiting_time_confirmed_at",
    "intake_status_confirmed_at",
    "opening_hours_confirmed_at",
}
DATETIME_FIELDS = {"archived_at", "imported_at", "geocoded_at", "created_at", "resolved_at"}
REFERENCES = {
    "owner_id": User,
    "deputy_id": User,
    "assured_by_id": User,
    "organization_id": Organization,
    "gemeinde_id": Region,
    "location_id": Location,
    "service_id": Service,
}
RESTORABLE_ROWS = {"phone": Phone, "schedule": Schedule, "service_session": ServiceSession, "contact": Contact}


@dataclass
class Change:
    """One field of one audit row, formatted for people."""

    field: str
    label: str
    before: str
    after: str


@dataclass
class HistoryRow:
    """One audit row: who did what to which record, with its field changes."""

    row: AuditLog
    what: str
    action: str
    changes: list[Change]
    restorable: bool
    row_restorable: bool


def entity_type(record: Record) -> str:
    """The audit entity type of a record."""
    return record.__tablename__


def child_ids(record: Record) -> dict[str, set[int]]:
    """Ids of the record's current child rows, by audit entity type."""
    if isinstance(record, Service):
        return {
            "phone": {p.id for p in record.phones},
            "schedule": {s.id for s in record.schedules},
            "service_session": {s.id for s in record.sessions},
            "contact": {c.id for c in record.contacts},
            "service_at_location": {s.id for s in record.service_at_locations},
        }
    if isinstance(record, Organization):
        return {
            "phone": {p.id for p in record.phones},
            "contact": {c.id for c in record.contacts},
            "location": {loc.id for loc in record.locations},
        }
    return {
        "address": {record.address.id} if record.address else set(),
        "phone": {p.id for p in record.phones},
        "schedule": {s.id for s in record.schedules},
    }


def related_rows(session: Session, record: Record, since: int = 0, limit: int | None = 300) -> list[AuditLog]:
    """Audit rows of a record and its child rows (also deleted ones) newer than `since`, newest first."""
    kind = entity_type(record)
    conditions = [and_(AuditLog.entity_type == kind, AuditLog.entity_id == record.id)]
    for child, ids in child_ids(record).items():
        if ids:
            conditions.append(and_(AuditLog.entity_type == child, AuditLog.entity_id.in_(ids)))
    text = cast(AuditLog.changes, String)
    for child, fk in CHILDREN[kind].items():
        # A cheap pre-filter on the JSON text; _points_at() checks exactly.
        conditions.append(and_(AuditLog.entity_type == child, text.like(f'%"{fk}": [%{record.id}%')))
    stmt = select(AuditLog).where(AuditLog.id > since, or_(*conditions)).order_by(AuditLog.id.desc())
    rows = []
    current = child_ids(record)
    for row in session.scalars(stmt):
        if (
            row.entity_type == kind
            or row.entity_id in current.get(row.entity_type, ())
            or _points_at(row, kind, record.id)
        ):
            rows.append(row)
            if limit and len(rows) >= limit:
                break
    return rows


def _points_at(row: AuditLog, kind: str, record_id: int) -> bool:
    fk = CHILDREN[kind].get(row.entity_type)
    pair = (row.changes or {}).get(fk) if fk else None
    return isinstance(pair, list) and record_id in pair


def format_value(session: Session, name: str, value: Any) -> str:
    """Show a stored (JSON) value to people: labels for codes, names for references, German dates."""
    lang = current_lang()
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("ja") if value else _("nein")
    if name in ("merged_from", "merged_into") and isinstance(value, dict):
        return f"{value.get('name')} (#{value.get('id')})"
    if name in REFERENCES and isinstance(value, int):
        obj = session.get(REFERENCES[name], value)
        shown = getattr(obj, "display_name", None) or getattr(obj, "name", None) if obj is not None else None
        return f"{shown} (#{value})" if shown else f"#{value}"
    if name in ("parent_id",) and isinstance(value, int):
        return f"#{value}"
    if name in COLLECTION_MODELS and isinstance(value, list):
        model = COLLECTION_MODELS[name]
        names = dict(session.execute(select(model.slug, model.name).where(model.slug.in_(value))).all())
        return ", ".join(names.get(slug, slug) for slug in value)
    if name in CODED_FIELDS:
        codes = value if isinstance(value, list) else [value]
        return ", ".join(vocab.label(CODED_FIELDS[name], str(c), lang) for c in codes)
    if name == "byday" and isinstance(value, str):
        return ", ".join(vocab.label(vocab.WEEKDAYS, d, lang) for d in value.split(",") if d)
    if name in DATE_FIELDS | DATETIME_FIELDS and isinstance(value, str):
        try:
            return datum(value) + (f" {value[11:16]}" if name in DATETIME_FIELDS and len(value) > 15 else "")
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def describe(session: Session, row: AuditLog, record_kind: str) -> HistoryRow:
    """Turn an audit row into a readable history row."""
    changes = [
        Change(k, field_label(k), format_value(session, k, v[0]), format_value(session, k, v[1]))
        for k, v in sorted((row.changes or {}).items())
        if isinstance(v, list) and len(v) == 2
    ]
    what = str(ENTITY_LABELS.get(row.entity_type, row.entity_type))
    restorable = row.entity_type == record_kind and any(
        c.field not in NOT_RESTORED | {"merged_from", "merged_into"} for c in changes
    )
    return HistoryRow(
        row,
        what,
        str(ACTION_LABELS.get(row.action, row.action)),
        changes,
        restorable,
        row.action == "delete" and row.entity_type in RESTORABLE_ROWS,
    )


def history(session: Session, record: Record, since: int = 0, limit: int | None = 300) -> list[HistoryRow]:
    """The readable history of a record, newest first."""
    kind = entity_type(record)
    return [describe(session, row, kind) for row in related_rows(session, record, since, limit)]


def _restorable_fields(record: Record) -> list[str]:
    columns = [c.key for c in record.__mapper__.column_attrs if c.key not in NOT_RESTORED]
    return columns + [k for k in COLLECTION_MODELS if hasattr(record, k)]


def current_plain(record: Record, name: str) -> Any:
    """A record's current value in the shape the audit log stores it."""
    value = getattr(record, name)
    if name in COLLECTION_MODELS:
        return sorted(v.slug for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def state_after(session: Session, record: Record, audit_id: int) -> dict[str, Any]:
    """The record's restorable values as they were right after an audit row (walking newer changes back)."""
    kind = entity_type(record)
    state = {name: current_plain(record, name) for name in _restorable_fields(record)}
    newer = session.scalars(
        select(AuditLog)
        .where(AuditLog.entity_type == kind, AuditLog.entity_id == record.id, AuditLog.id > audit_id)
        .order_by(AuditLog.id.desc())
    )
    for row in newer:
        for name, pair in (row.changes or {}).items():
            if name in state and isinstance(pair, list) and len(pair) == 2:
                state[name] = pair[0]
    return state


def _python_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in DATE_FIELDS and isinstance(value, str):
        return date.fromisoformat(value)
    if name in DATETIME_FIELDS and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def restore_preview(session: Session, record: Record, audit_id: int) -> list[Change]:
    """What restoring the state after an audit row would change: each field now and after the restore."""
    _own_row(session, record, audit_id)
    changes = []
    for name, value in state_after(session, record, audit_id).items():
        now = current_plain(record, name)
        if same_value(value, now) or (
            name in REFERENCES and value is not None and session.get(REFERENCES[name], value) is None
        ):
            continue
        changes.append(
            Change(name, field_label(name), format_value(session, name, now), format_value(session, name, value))
        )
    return changes


def _own_row(session: Session, record: Record, audit_id: int) -> None:
    row = session.get(AuditLog, audit_id)
    if row is None or row.entity_type != entity_type(record) or row.entity_id != record.id:
        raise CurationError("Diese Version gehört nicht zu diesem Eintrag.")


def restore_version(session: Session, record: Record, audit_id: int) -> list[str]:
    """Re-apply the values a record had right after an audit row, as a new (audited) change; returns changed fields."""
    _own_row(session, record, audit_id)
    wanted = state_after(session, record, audit_id)
    changed = []
    for name, value in wanted.items():
        if same_value(value, current_plain(record, name)):
            continue
        if name in COLLECTION_MODELS:
            model = COLLECTION_MODELS[name]
            items = list(
                session.scalars(select(model).where(model.slug.in_(value or [])).order_by(model.slug))
            )
            setattr(record, name, items)
        else:
            if name in REFERENCES and value is not None and session.get(REFERENCES[name], value) is None:
                continue
            setattr(record, name, _python_value(name, value))
        changed.append(name)
    if changed and not isinstance(record, Location):
        touch(record)
    return changed


def restore_row(session: Session, audit_id: int) -> Phone | Schedule | Contact:
    """Re-create a deleted phone number, opening hours row or contact person from its audit row."""
    row = session.get(AuditLog, audit_id)
    if row is None or row.action != "delete" or row.entity_type not in RESTORABLE_ROWS:
        raise CurationError("Diese Zeile kann nicht wiederhergestellt werden.")
    model = RESTORABLE_ROWS[row.entity_type]
    values = {
        k: _python_value(k, v[0])
        for k, v in (row.changes or {}).items()
        if isinstance(v, list) and k in model.__table__.columns and k != "id"
    }
    for fk in ("organization_id", "service_id", "location_id"):
        if values.get(fk) is not None and session.get(REFERENCES[fk], values[fk]) is None:
            raise CurationError("Der Eintrag, zu dem die Zeile gehörte, existiert nicht mehr.")
    obj = model(**values)
    session.add(obj)
    return obj


def owner_of(session: Session, row: AuditLog) -> Record | None:
    """The organisation, offer or location whose history page shows this row."""
    if row.entity_type in ("organization", "service", "location"):
        return session.get(
            {"organization": Organization, "service": Service, "location": Location}[row.entity_type],
            row.entity_id,
        )
    changes = row.changes or {}
    for fk, model in (("service_id", Service), ("location_id", Location), ("organization_id", Organization)):
        pair = changes.get(fk)
        if isinstance(pair, list):
            ident = pair[0] if pair[0] is not None else pair[1]
            if ident is not None:
                return session.get(model, ident)
    return None
