"""Curation operations on a session (the caller commits): save, verify, archive, hand over, merge."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, inspect, or_, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import StaleDataError

from ..auth import UserError
from ..freshness import FACTS as FACT_NAMES  # noqa: F401  (read by the views as operations.FACT_NAMES)
from ..geocoding import find_gemeinde, gazetteer, gemeinde_for_postcode, geocode_location
from ..models import (
    Address,
    AuditLog,
    Jobcenter,
    Location,
    Organization,
    Region,
    ReviewTask,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
    User,
    utcnow,
)
from ..review import resolve_task
from .models import PublicReport

Entry = Organization | Service

SOURCE_FIELDS = ("source_name", "source_id", "source_url", "source_licence")
ENTRY_FIELDS = ("visibility", "internal_note", "assured_date", *SOURCE_FIELDS)
ORG_FIELDS = (
    "name",
    "alternate_name",
    "description",
    "email",
    "website",
    "legal_status",
    "sector",
    "is_employer",
    *ENTRY_FIELDS,
)
SERVICE_FIELDS = (
    "name",
    "alternate_name",
    "description",
    "summary_plain",
    "url",
    "email",
    "status",
    "valid_from",
    "valid_to",
    "alert",
    "fees_description",
    "cost_options",
    "access_routes",
    "legal_domains",
    "contact_channels",
    "accessibility",
    "languages",
    "target_group",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "application_process",
    "waiting_time",
    "waiting_time_confirmed_at",
    "intake_status",
    "intake_status_confirmed_at",
    "opening_hours_confirmed_at",
    "delivery_format",
    "setting",
    "short_notice",
    "supra_regional",
    *ENTRY_FIELDS,
)
LOCATION_FIELDS = (
    "location_type",
    "name",
    "description",
    "transportation",
    "accessibility_description",
    "url",
    "address_precision",
    "visibility",
    *SOURCE_FIELDS,
)
ADDRESS_FIELDS = ("address_1", "address_2", "postal_code", "city")
PHONE_FIELDS = ("number", "extension", "type", "description", "visibility")
SCHEDULE_FIELDS = ("byday", "opens_at", "closes_at", "freq", "valid_from", "valid_to", "description")
CONTACT_FIELDS = ("name", "title", "department", "email", "phone")
SESSION_FIELDS = ("starts_on", "start_time", "end_time", "place", "seats", "registration_note")
# Volatile facts with their own "confirmed on" date (URL word -> column).
FACTS = {
    "wartezeit": "waiting_time_confirmed_at",
    "aufnahme": "intake_status_confirmed_at",
    "oeffnungszeiten": "opening_hours_confirmed_at",
}
# Text fields a merge copies from the duplicate when the kept entry has none.
MERGE_FILL = {
    "organization": ("alternate_name", "description", "email", "website", "legal_status", "sector"),
    "service": (
        "alternate_name",
        "description",
        "summary_plain",
        "url",
        "email",
        "fees_description",
        "target_group",
        "eligibility_description",
        "application_process",
        "waiting_time",
        "alert",
        "minimum_age",
        "maximum_age",
        "delivery_format",
        "setting",
        "cost_options",
        "access_routes",
        "legal_domains",
        "contact_channels",
        "accessibility",
        "languages",
    ),
}


class Conflict(Exception):
    """Someone else saved the record since the form was loaded."""


class CurationError(ValueError):
    """An operation that cannot be done; the message (German) says why."""


@dataclass
class RowData:
    """One submitted row of a repeatable list (phone, hours, contact)."""

    id: int | None
    remove: bool
    values: dict[str, Any]
    blank: bool = False


def clean(value: Any) -> Any:
    """Empty text becomes None; everything else stays as typed."""
    return None if isinstance(value, str) and value == "" else value


def audit_mark(session: Session) -> int:
    """The newest audit row id: a form remembers it to find changes made while it was open."""
    return session.scalar(select(func.max(AuditLog.id))) or 0


def same_value(old: Any, new: Any) -> bool:
    """Equal, with lists (access routes, languages ...) compared as sets: their order carries no meaning."""
    if isinstance(old, list) and isinstance(new, list):
        return set(map(str, old)) == set(map(str, new))
    return old == new


def assign(obj: Any, values: dict[str, Any]) -> set[str]:
    """Set attributes that differ; return the names that changed."""
    changed = set()
    for key, value in values.items():
        value = clean(value)
        if not same_value(getattr(obj, key), value):
            setattr(obj, key, value)
            changed.add(key)
    return changed


def link(obj: Any, name: str, target: Any) -> None:
    """Set a many-to-one relationship and its foreign key together, so the audit log sees the change before flush."""
    setattr(obj, name, target)
    setattr(obj, f"{name}_id", target.id if target is not None else None)


def touch(entry: Entry) -> None:
    """Mark an entry as saved so its version increases even when only its lists changed."""
    entry.updated_at = utcnow()


def touch_if_changed(session: Session, entry: Entry) -> None:
    """Touch an entry only when the save changed something, so an unchanged save leaves no trace."""
    if session.new or session.deleted or any(session.is_modified(obj) for obj in session.dirty):
        touch(entry)


def check_version(entry: Entry, version: Any) -> None:
    """Raise Conflict when the form was loaded at another version than the stored one."""
    if str(entry.version_id) != str(version or ""):
        raise Conflict()


def commit(session: Session) -> None:
    """Commit; a concurrent update of the same row (StaleDataError) becomes a Conflict."""
    try:
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Conflict() from None


def discard(collection: list, obj: Any) -> None:
    """Remove a child row and delete it explicitly, so the audit log records the deletion (orphans are not)."""
    collection.remove(obj)
    session = object_session(obj)
    if session is not None and obj in session and inspect(obj).persistent:
        session.delete(obj)


def sync_rows(collection: list, rows: Iterable[RowData], factory: Callable[..., Any], **parent: Any) -> None:
    """Apply submitted rows to a child list: update by id, drop removed ones, add new ones (with the parent's key)."""
    existing = {obj.id: obj for obj in collection}
    for row in rows:
        obj = existing.get(row.id) if row.id is not None else None
        blank = row.blank or all(v in (None, "", []) for v in row.values.values())
        if obj is not None:
            if row.remove or blank:
                discard(collection, obj)
            else:
                assign(obj, row.values)
        elif not row.remove and not blank:
            collection.append(factory(**{k: clean(v) for k, v in row.values.items()}, **parent))


def set_people(session: Session, entry: Entry, owner_id: int, deputy_id: int) -> None:
    """Set owner and deputy by user id (0 for nobody)."""
    owner = session.get(User, owner_id) if owner_id else None
    deputy = session.get(User, deputy_id) if deputy_id else None
    if entry.owner_id != (owner.id if owner else None):
        link(entry, "owner", owner)
    if entry.deputy_id != (deputy.id if deputy else None):
        link(entry, "deputy", deputy)


def set_terms(session: Session, service: Service, category_ids: list[int], jobcenter_ids: list[int]) -> None:
    """Set categories and Jobcenters when the selection changed."""
    if {t.id for t in service.categories} != set(category_ids):
        service.categories = list(
            session.scalars(
                select(TaxonomyTerm).where(TaxonomyTerm.id.in_(category_ids)).order_by(TaxonomyTerm.slug)
            )
        )
    if {j.id for j in service.jobcenters} != set(jobcenter_ids):
        service.jobcenters = list(
            session.scalars(select(Jobcenter).where(Jobcenter.id.in_(jobcenter_ids)).order_by(Jobcenter.slug))
        )


def set_locations(session: Session, service: Service, location_ids: Iterable[int]) -> None:
    """Link an offer to exactly these locations."""
    wanted = set(location_ids)
    for sal in list(service.service_at_locations):
        if sal.location_id not in wanted:
            discard(service.service_at_locations, sal)
    have = {sal.location_id for sal in service.service_at_locations}
    for loc_id in sorted(wanted - have):
        service.service_at_locations.append(
            ServiceAtLocation(
                location=session.get(Location, loc_id), location_id=loc_id, service_id=service.id
            )
        )


@dataclass
class GeoOutcome:
    """What saving a location did to its pin, for the coordinator's information."""

    notes: list[str] = field(default_factory=list)
    geocoded: bool = False
    manual: bool = False


def _same_coordinate(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 5e-7)


def save_location(
    session: Session,
    config: dict[str, Any],
    loc: Location,
    values: dict[str, Any],
    address: dict[str, Any],
    gemeinde_id: int,
    lat: float | None,
    lon: float | None,
) -> GeoOutcome:
    """Apply a location form: fields, address, Gemeinde and pin (re-geocoded when the address changed)."""
    outcome = GeoOutcome()
    assign(loc, values)
    if loc.location_type == "virtual":
        if loc.address is not None:
            if inspect(loc.address).persistent:
                session.delete(loc.address)
            loc.address = None
        if loc.latitude is not None:
            loc.latitude, loc.longitude, loc.geo_precision, loc.geo_source = None, None, "unbekannt", None
        return outcome
    old_gemeinde_id = loc.gemeinde_id
    if loc.address is None:
        loc.address = Address(city=address["city"], country="DE")
    address_changed = (
        bool(assign(loc.address, address) & {"address_1", "postal_code", "city"}) or loc.id is None
    )
    plz = loc.address.postal_code
    if plz and gazetteer().postcode(plz) is None:
        outcome.notes.append(f"Die PLZ {plz} ist im Ortsverzeichnis unbekannt – bitte prüfen.")
    if gemeinde_id and not (address_changed and gemeinde_id == old_gemeinde_id):
        link(loc, "gemeinde", session.get(Region, gemeinde_id))
    else:
        derived = gemeinde_for_postcode(session, plz) or find_gemeinde(session, loc.address.city)
        link(loc, "gemeinde", derived or (session.get(Region, gemeinde_id) if gemeinde_id else None))
    kreis = loc.gemeinde.ancestor("kreis") if loc.gemeinde else None
    land = loc.gemeinde.ancestor("bundesland") if loc.gemeinde else None
    assign(
        loc.address, {"region": kreis.name if kreis else None, "state_province": land.name if land else None}
    )
    typed = lat is not None and lon is not None
    if typed and not (_same_coordinate(lat, loc.latitude) and _same_coordinate(lon, loc.longitude)):
        loc.latitude, loc.longitude = lat, lon
        loc.geo_precision, loc.geo_source, loc.geocoded_at = "exakt", "manuell", utcnow()
        outcome.manual = True
    elif address_changed or not typed or loc.latitude is None:
        note = geocode_location(session, config, loc)
        outcome.geocoded = note is None or loc.latitude is not None
        if note:
            outcome.notes.append(note)
    return outcome


def verify(session: Session, entry: Entry, user: User, today: date) -> int:
    """Record "Angaben geprüft" (today, by user) and close the entry's open overdue tasks; returns how many."""
    entry.assured_date = today
    link(entry, "assured_by", user)
    touch(entry)
    field_ = ReviewTask.service_id if isinstance(entry, Service) else ReviewTask.organization_id
    tasks = session.scalars(
        select(ReviewTask).where(
            field_ == entry.id, ReviewTask.kind == "overdue", ReviewTask.resolved_at.is_(None)
        )
    ).all()
    for task in tasks:
        resolve_task(task, user, "Angaben geprüft")
    return len(tasks)


def confirm_fact(service: Service, fact: str, today: date) -> None:
    """Set the confirmed-on date of one volatile fact (waiting time, intake status, opening hours)."""
    if fact not in FACTS:
        raise CurationError(f"Unbekannte Angabe: {fact}")
    setattr(service, FACTS[fact], today)
    touch(service)


def fact_state(service: Service) -> dict[str, tuple[Any, date | None]]:
    """Each volatile fact's value (opening hours: the offer's own time rows) and its confirmed-on date."""
    hours = sorted((tuple(getattr(s, f) for f in SCHEDULE_FIELDS) for s in service.schedules), key=repr)
    values = {"waiting_time": service.waiting_time, "intake_status": service.intake_status, "opening_hours": hours}
    return {fact: (value, getattr(service, f"{fact}_confirmed_at")) for fact, value in values.items()}


def confirm_changed_facts(service: Service, before: dict[str, tuple[Any, date | None]], unconfirmed: set[str],
                          today: date) -> list[str]:
    """Date a fact that was saved with a new value today, unless marked unconfirmed; returns the facts dated."""
    dated = []
    for fact, (value, confirmed) in fact_state(service).items():
        old_value, old_confirmed = before[fact]
        unset = value in (None, "", [], "unbekannt")  # an emptied or unknown fact confirms nothing
        # A date typed in by hand in the same save wins over today.
        if value == old_value or confirmed != old_confirmed or fact in unconfirmed or unset:
            continue
        setattr(service, f"{fact}_confirmed_at", today)
        dated.append(fact)
    return dated


def archive(entry: Entry | Location) -> None:
    """Archive: hidden everywhere except the coordinator area; nothing is deleted."""
    if entry.archived_at is None:
        entry.archived_at = utcnow()
        if not isinstance(entry, Location):
            touch(entry)


def unarchive(entry: Entry | Location) -> None:
    """Bring an archived record back."""
    if entry.archived_at is not None:
        entry.archived_at = None
        if not isinstance(entry, Location):
            touch(entry)


@dataclass
class HandOver:
    """What a hand-over moved."""

    owner: int = 0
    deputy: int = 0
    tasks: int = 0
    deputies_cleared: int = 0

    @property
    def total(self) -> int:
        """Everything that moved."""
        return self.owner + self.deputy + self.tasks


def responsibilities(session: Session, user: User) -> HandOver:
    """Count what a user is responsible for (entries as owner/deputy, open tasks)."""
    counts = HandOver()
    for model in (Organization, Service):
        counts.owner += session.scalar(select(func.count(model.id)).where(model.owner_id == user.id)) or 0
        counts.deputy += session.scalar(select(func.count(model.id)).where(model.deputy_id == user.id)) or 0
    counts.tasks = (
        session.scalar(
            select(func.count(ReviewTask.id)).where(
                ReviewTask.assignee_id == user.id, ReviewTask.resolved_at.is_(None)
            )
        )
        or 0
    )
    return counts


def hand_over(session: Session, source: User, target: User) -> HandOver:
    """Move all entries (as owner and as deputy) and open tasks of one user to another, in one transaction."""
    if source.id == target.id:
        raise CurationError("Bitte eine andere Person wählen.")
    if not target.active or target.role != "coordinator":
        raise CurationError("Übernehmen kann nur ein aktives Konto mit der Rolle Koordination.")
    result = HandOver()
    for model in (Organization, Service):
        for entry in session.scalars(
            select(model).where(or_(model.owner_id == source.id, model.deputy_id == source.id))
        ):
            if entry.owner_id == source.id:
                if entry.deputy_id == target.id:
                    link(entry, "deputy", None)
                    result.deputies_cleared += 1
                link(entry, "owner", target)
                result.owner += 1
            else:
                if entry.owner_id == target.id:
                    link(entry, "deputy", None)
                    result.deputies_cleared += 1
                else:
                    link(entry, "deputy", target)
                result.deputy += 1
            touch(entry)
    for task in session.scalars(
        select(ReviewTask).where(ReviewTask.assignee_id == source.id, ReviewTask.resolved_at.is_(None))
    ):
        link(task, "assignee", target)
        result.tasks += 1
    return result


def deactivate_user(session: Session, user: User, acting: User) -> None:
    """Deactivate an account; refused while it still owns entries or tasks (hand them over first)."""
    if user.id == acting.id:
        raise CurationError("Sie können Ihr eigenes Konto nicht deaktivieren.")
    if responsibilities(session, user).total:
        raise CurationError(
            "Dieses Konto ist noch für Einträge oder Aufgaben verantwortlich. Bitte zuerst übergeben."
        )
    user.active = False


def update_user(
    session: Session, user: User, acting: User, email: str, name: str, role: str, password_hash: str | None
) -> None:
    """Change a user's address, name, role or password; coordinators cannot demote themselves."""
    if user.id == acting.id and role != "coordinator":
        raise CurationError("Sie können Ihre eigene Rolle nicht ändern.")
    if role != "coordinator" and responsibilities(session, user).deputy:
        raise CurationError(
            "Diese Person ist noch Vertretung für Einträge und muss die Rolle Koordination behalten. "
            "Bitte übergeben Sie ihre Einträge zuerst."
        )
    if session.scalar(select(User.id).where(User.email == email, User.id != user.id)):
        raise UserError(f"Es gibt bereits ein Konto mit der Adresse {email}.")
    assign(user, {"email": email, "name": name or "", "role": role})
    if password_hash:
        user.password_hash = password_hash


def resolve_report(session: Session, report: PublicReport, user: User, note: str | None) -> None:
    """Close a public report and the review task it opened."""
    report.status = "erledigt"
    report.resolution = note
    report.resolved_at = utcnow()
    link(report, "resolved_by", user)
    for task in session.scalars(
        select(ReviewTask).where(
            ReviewTask.source_ref == f"report:{report.id}", ReviewTask.resolved_at.is_(None)
        )
    ):
        resolve_task(task, user, note)


def resolve_review_task(session: Session, task: ReviewTask, user: User, note: str | None) -> None:
    """Close a task; a task from a public report closes the report too."""
    resolve_task(task, user, note)
    if task.source_ref and task.source_ref.startswith("report:") and task.source_ref[7:].isdigit():
        report = session.get(PublicReport, int(task.source_ref[7:]))
        if report is not None and report.status != "erledigt":
            report.status, report.resolution, report.resolved_at = "erledigt", note, utcnow()
            link(report, "resolved_by", user)


def _merge_note(session: Session, entity_type: str, entity_id: int, key: str, other: Entry) -> None:
    user_id, actor = session.info.get("actor", (None, "system"))
    session.add(
        AuditLog(
            user_id=user_id,
            actor=actor,
            action="update",
            entity_type=entity_type,
            entity_id=entity_id,
            changes={key: [None, {"id": other.id, "name": other.name}]},
        )
    )


def _fill_blanks(keep: Entry, dup: Entry, fields: tuple[str, ...]) -> None:
    for name in fields:
        if getattr(keep, name) in (None, "", []) and getattr(dup, name) not in (None, "", []):
            setattr(keep, name, getattr(dup, name))


def merge(session: Session, keep: Entry, dup: Entry) -> None:
    """Move everything from a duplicate to the kept entry, archive the duplicate, note the merge in both histories."""
    if type(keep) is not type(dup) or keep.id == dup.id:
        raise CurationError(
            "Ein Eintrag kann nur mit einem anderen Eintrag derselben Art zusammengeführt werden."
        )
    if dup.archived_at is not None:
        raise CurationError("Der doppelte Eintrag ist bereits archiviert.")
    kind = "service" if isinstance(keep, Service) else "organization"
    if isinstance(keep, Organization):
        for svc in list(dup.services):
            link(svc, "organization", keep)
        for loc in list(dup.locations):
            link(loc, "organization", keep)
        for child in list(dup.phones):
            link(child, "organization", keep)
        for child in list(dup.contacts):
            link(child, "organization", keep)
        task_field = ReviewTask.organization_id
    else:
        for child in list(dup.phones):
            link(child, "service", keep)
        for child in list(dup.schedules):
            link(child, "service", keep)
        for child in list(dup.contacts):
            link(child, "service", keep)
        have = {sal.location_id for sal in keep.service_at_locations}
        for sal in list(dup.service_at_locations):
            if sal.location_id not in have:
                link(sal, "service", keep)
        keep.categories = sorted({*keep.categories, *dup.categories}, key=lambda t: t.slug)
        keep.jobcenters = sorted({*keep.jobcenters, *dup.jobcenters}, key=lambda j: j.slug)
        for report in session.scalars(select(PublicReport).where(PublicReport.service_id == dup.id)):
            link(report, "service", keep)
        task_field = ReviewTask.service_id
    for task in session.scalars(
        select(ReviewTask).where(task_field == dup.id, ReviewTask.resolved_at.is_(None))
    ):
        if isinstance(keep, Service):
            link(task, "service", keep)
        else:
            link(task, "organization", keep)
    _fill_blanks(keep, dup, MERGE_FILL[kind])
    dup.archived_at = utcnow()
    touch(keep)
    touch(dup)
    session.flush()
    _merge_note(session, kind, keep.id, "merged_from", dup)
    _merge_note(session, kind, dup.id, "merged_into", keep)
