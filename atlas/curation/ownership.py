"""Who is responsible for an entry: effective owner and deputy with their origin, checks, filters, bulk assignment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from ..models import Organization, Service, User
from .operations import Conflict, CurationError, link, touch

Entry = Organization | Service
# A select value meaning "leave as it is" in the bulk form (0 means "nobody").
UNCHANGED = -1


@dataclass
class Responsible:
    """An entry's effective owner and deputy, and the organisation they come from (None: set on the entry)."""

    owner: User | None
    owner_via: Organization | None
    deputy: User | None
    deputy_via: Organization | None

    @property
    def owner_can_act(self) -> bool:
        """True when the effective owner is an active coordinator (anyone else cannot work the queue)."""
        return self.owner is not None and self.owner.active and self.owner.role == "coordinator"


def responsible(entry: Entry) -> Responsible:
    """Owner and deputy as they apply: an offer without its own falls back to its organisation's."""
    if isinstance(entry, Organization):
        return Responsible(entry.owner, None, entry.deputy, None)
    org = entry.organization
    owner, owner_via = (entry.owner, None) if entry.owner_id else (org.owner, org if org.owner_id else None)
    deputy, deputy_via = (entry.deputy, None) if entry.deputy_id else (org.deputy, org if org.deputy_id else None)
    if deputy is not None and owner is not None and deputy.id == owner.id:
        deputy, deputy_via = None, None
    return Responsible(owner, owner_via, deputy, deputy_via)


def person_error(user: User | None, deputy: bool = False) -> str | None:
    """Why a person cannot take on an entry (German), None when they can."""
    if user is None:
        return "Diese Person gibt es nicht."
    if user.role != "coordinator":
        who = "Vertretung" if deputy else "Verantwortlich"
        return (
            f"{user.display_name} hat nicht die Rolle Koordination und kann nicht „{who}“ sein: "
            "nur Koordinator*innen können Einträge prüfen und ändern."
        )
    if not user.active:
        return f"Das Konto von {user.display_name} ist deaktiviert und kann keine Einträge übernehmen."
    return None


def _effective(model: Any, column: str) -> Any:
    """SQL expression: the entry's own owner_id/deputy_id, for an offer without one its organisation's."""
    if model is Service:
        org = aliased(Organization)
        inherited = select(getattr(org, column)).where(org.id == Service.organization_id).correlate(Service)
        return func.coalesce(getattr(Service, column), inherited.scalar_subquery())
    return getattr(Organization, column)


def effective_owner_id(model: Any) -> Any:
    """SQL expression: the id of the entry's effective owner."""
    return _effective(model, "owner_id")


def effective_deputy_id(model: Any) -> Any:
    """SQL expression: the id of the entry's effective deputy."""
    return _effective(model, "deputy_id")


def filter_people(stmt: Any, model: Any, own: str, owner_id: int, deputy_id: int) -> Any:
    """Narrow a list: own="ohne" (no own owner), "keine" (nobody who can act); by effective owner or deputy."""
    if own == "ohne":
        stmt = stmt.where(model.owner_id.is_(None))
    elif own == "keine":
        stmt = stmt.where(~acting_owner_exists(model))
    if owner_id:
        stmt = stmt.where(effective_owner_id(model) == owner_id)
    if deputy_id:
        stmt = stmt.where(effective_deputy_id(model) == deputy_id)
    return stmt


def acting_owner_exists(model: Any) -> Any:
    """SQL condition: the entry's effective owner is an active coordinator."""
    return (
        select(User.id)
        .where(User.id == effective_owner_id(model), User.role == "coordinator", User.active.is_(True))
        .correlate(model)
        .exists()
    )


def count_without_owner(session: Session) -> dict[str, int]:
    """Truthful numbers for the start page: offers nobody can act on, and offers relying on their organisation."""
    live = and_(Service.archived_at.is_(None))
    return {
        "nobody": session.scalar(
            select(func.count(Service.id)).where(live, ~acting_owner_exists(Service))
        )
        or 0,
        "inherited": session.scalar(
            select(func.count(Service.id)).where(live, Service.owner_id.is_(None))
        )
        or 0,
    }


@dataclass
class BulkResult:
    """What a bulk assignment changed, and which entries had changed meanwhile (then nothing is saved)."""

    changed: int = 0
    stale: list[Entry] | None = None


def bulk_assign(
    session: Session, model: Any, versions: dict[int, str], owner_id: int, deputy_id: int
) -> BulkResult:
    """Set owner and/or deputy (UNCHANGED leaves one as it is, 0 clears) on many entries, all or nothing.

    Raises Conflict (with .stale) when an entry changed since the list was shown, CurationError for a person
    who cannot take entries on. Every change is audited like a single edit.
    """
    if owner_id == UNCHANGED and deputy_id == UNCHANGED:
        raise CurationError("Bitte wählen Sie eine verantwortliche Person oder eine Vertretung.")
    for ident, is_deputy in ((owner_id, False), (deputy_id, True)):
        if ident not in (UNCHANGED, 0):
            message = person_error(session.get(User, ident), deputy=is_deputy)
            if message:
                raise CurationError(message)
    if owner_id > 0 and owner_id == deputy_id:
        raise CurationError("Vertretung und verantwortliche Person müssen verschieden sein.")
    entries = list(session.scalars(select(model).where(model.id.in_(versions)).order_by(model.id)))
    if len(entries) != len(versions):
        raise CurationError("Einige der gewählten Einträge gibt es nicht mehr. Bitte laden Sie die Liste neu.")
    stale = [e for e in entries if str(e.version_id) != str(versions[e.id])]
    if stale:
        error = Conflict()
        error.stale = stale  # type: ignore[attr-defined]
        raise error
    result = BulkResult()
    for entry in entries:
        owner = entry.owner_id if owner_id == UNCHANGED else (owner_id or None)
        deputy = entry.deputy_id if deputy_id == UNCHANGED else (deputy_id or None)
        if owner is not None and owner == deputy:
            deputy = None  # the new owner was the deputy: nobody deputises for oneself
        if (owner, deputy) == (entry.owner_id, entry.deputy_id):
            continue
        # Loading a person may autoflush; without it each entry gets one audit row holding both changes.
        with session.no_autoflush:
            if owner != entry.owner_id:
                link(entry, "owner", session.get(User, owner) if owner else None)
            if deputy != entry.deputy_id:
                link(entry, "deputy", session.get(User, deputy) if deputy else None)
        touch(entry)
        result.changed += 1
    return result


def people_with_entries(session: Session) -> list[User]:
    """Everyone who is owner or deputy of something, or a coordinator (the choices of the list filters)."""
    ids = select(Organization.owner_id).union(
        select(Organization.deputy_id), select(Service.owner_id), select(Service.deputy_id)
    )
    return list(
        session.scalars(
            select(User)
            .where(or_(User.role == "coordinator", User.id.in_(ids)))
            .order_by(func.lower(User.name), User.email)
        )
    )
