"""Reusable queries: which offers a caller may see, and simple list filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, inspect, or_, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from .models import (
    Contact,
    Jobcenter,
    Location,
    Organization,
    Phone,
    Region,
    Schedule,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
    service_jobcenter,
    service_taxonomy,
)
from . import reference, validity
from .validity import in_force_condition

_PUBLIC: dict[date, ColumnElement[bool]] = {}


def public_condition() -> ColumnElement[bool]:
    """SQL condition for offers anonymous visitors may see (today: validity is checked per call, not stored)."""
    day = validity.today()
    condition = _PUBLIC.get(day)
    if condition is None:
        # Built once a day: the expression is immutable, and building it took 0.7 ms of every public search.
        condition = _public_condition(day)
        _PUBLIC.clear()
        _PUBLIC[day] = condition
    return condition


def _public_condition(day: date) -> ColumnElement[bool]:
    parent = aliased(TaxonomyTerm)
    internal_category = (
        select(service_taxonomy.c.service_id)
        .join(TaxonomyTerm, TaxonomyTerm.id == service_taxonomy.c.taxonomy_term_id)
        .outerjoin(parent, parent.id == TaxonomyTerm.parent_id)
        .where(service_taxonomy.c.service_id == Service.id,
               or_(TaxonomyTerm.internal_only.is_(True), parent.internal_only.is_(True)))
    )
    return and_(
        Service.visibility == "public",
        Service.archived_at.is_(None),
        Service.status != "beendet",
        in_force_condition(day),
        Organization.visibility == "public",
        Organization.archived_at.is_(None),
        ~exists(internal_category),
    )


def with_details(stmt: Select, internal: bool = False, shared: bool = True, joined: bool = False) -> Select:
    """Eager-load what list pages and the API render, avoiding one query per row (with internal: staff fields too).

    With shared=False the phones, times and contacts are left out: `load_shared` reads them for a list of loaded
    offers in one statement per table instead of one per owner (offer, organisation, place). With joined, the
    offer's own lists are joined into its statement (for one offer: four statements fewer; for many, rows would
    multiply) and the result needs `.unique()`."""
    # Single-valued links (organisation, place, address, Gemeinde chain, parent area, people) are joined into the
    # statement that loads their owner; only lists (phones, times, categories ...) take a statement of their own.
    # A page of offers whose views are not cached yet took 25 statements for staff and 17 for the public before.
    organization = joinedload(Service.organization)
    if internal:
        # Contacts, owners and who checked an offer: only staff views read them (8 lazy loads per offer otherwise,
        # 40 queries for a page of 20 in /suche).
        people = (joinedload(Service.owner), joinedload(Service.deputy), joinedload(Service.assured_by))
        org_people = (joinedload(Organization.owner), joinedload(Organization.deputy),
                      joinedload(Organization.assured_by))
        if shared:
            people += (selectinload(Service.contacts),)
            org_people += (selectinload(Organization.contacts),)
        stmt = stmt.options(*people, organization.options(*org_people))
    # The HSDS address names the Bundesland: the Gemeinde's chain up to it (Kreis, Bezirk, Land).
    place = (joinedload(Location.address),
             joinedload(Location.gemeinde).joinedload(Region.parent).joinedload(Region.parent).joinedload(Region.parent))
    if shared:
        place += (selectinload(Location.phones), selectinload(Location.schedules))
    many = joinedload if joined else selectinload
    options = [
        organization,
        many(Service.categories).joinedload(TaxonomyTerm.parent),
        many(Service.service_at_locations).joinedload(ServiceAtLocation.location).options(*place),
        many(Service.sessions),
        many(Service.jobcenters),
    ]
    if shared:
        options += [organization.selectinload(Organization.phones), selectinload(Service.phones),
                    selectinload(Service.schedules)]
    return stmt.options(*options)


# Lists that several kinds of owner hold through one table: (table, ((owner kind, foreign key, collection), ...)).
SHARED = (
    (Phone, (("service", "service_id", "phones"), ("organization", "organization_id", "phones"),
             ("location", "location_id", "phones"))),
    (Schedule, (("service", "service_id", "schedules"), ("location", "location_id", "schedules"))),
    (Contact, (("service", "service_id", "contacts"), ("organization", "organization_id", "contacts"))),
)


@lru_cache(maxsize=None)
def _shared_statement(model: type) -> Select:
    """Rows of `model` belonging to any of the owners given as the parameters "service", "organization", "location"."""
    links = next(links for table, links in SHARED if table is model)
    owned = (getattr(model, key).in_(bindparam(kind, expanding=True)) for kind, key, _attr in links)
    return select(model).where(or_(*owned)).order_by(model.id)


# Offers per round of load_shared: keeps a statement's parameters well below SQLite's limit of 32,766.
SHARED_CHUNK = 200


def load_shared(session: Session, services: list[Service], internal: bool) -> None:
    """Phones, times and (for staff) contacts of offers, their organisations and places, one statement per table.

    For offers loaded by with_details(shared=False): the same lists selectinload gives, in three statements (two
    for the public) instead of seven (five) per SHARED_CHUNK offers; lists the session has loaded already are
    kept, as selectinload does.
    """
    for start in range(0, len(services), SHARED_CHUNK):
        _load_shared(session, services[start:start + SHARED_CHUNK], internal)


def _load_shared(session: Session, services: list[Service], internal: bool) -> None:
    owners: dict[str, dict[int, Any]] = {
        "service": {s.id: s for s in services},
        "organization": {s.organization.id: s.organization for s in services},
        "location": {sal.location.id: sal.location for s in services for sal in s.service_at_locations},
    }
    for model, links in SHARED:
        if model is Contact and not internal:
            continue
        wanted = {kind: {oid: obj for oid, obj in owners[kind].items() if attr in inspect(obj).unloaded}
                  for kind, _key, attr in links}
        if not any(wanted.values()):
            continue
        found: dict[tuple[str, int], list] = {}
        params = {kind: list(wanted[kind]) for kind, _key, _attr in links}
        for row in session.scalars(_shared_statement(model), params):
            for kind, key, _attr in links:
                if getattr(row, key) in wanted[kind]:
                    found.setdefault((kind, getattr(row, key)), []).append(row)
        for kind, _key, attr in links:
            for oid, obj in wanted[kind].items():
                set_committed_value(obj, attr, found.get((kind, oid), []))


@dataclass
class ListFilters:
    """Filters of the simple offer list (the full search comes with the search module)."""

    text: str = ""
    category: str = ""
    gemeinde: str = ""
    kreis: str = ""
    jobcenter: str = ""
    include_archived: bool = False


def services_query(internal: bool, filters: ListFilters) -> Select:
    """Return a SELECT of the offers a caller may see, filtered and sorted by name."""
    stmt = select(Service).join(Service.organization)
    if not internal:
        stmt = stmt.where(public_condition())
    elif not filters.include_archived:
        stmt = stmt.where(Service.archived_at.is_(None))
    if filters.text:
        like = f"%{filters.text.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(Service.name).like(like), func.lower(Service.description).like(like),
                              func.lower(Organization.name).like(like), func.lower(Service.summary_plain).like(like)))
    if filters.category:
        term = aliased(TaxonomyTerm)
        stmt = stmt.where(exists(
            select(service_taxonomy.c.service_id).join(term, term.id == service_taxonomy.c.taxonomy_term_id)
            .outerjoin(TaxonomyTerm, TaxonomyTerm.id == term.parent_id)
            .where(service_taxonomy.c.service_id == Service.id,
                   or_(term.slug == filters.category, TaxonomyTerm.slug == filters.category))))
    if filters.gemeinde:
        stmt = stmt.where(exists(
            select(ServiceAtLocation.id).join(Location).join(Region, Region.id == Location.gemeinde_id)
            .where(ServiceAtLocation.service_id == Service.id, Region.slug == filters.gemeinde)))
    if filters.kreis:
        kreis = aliased(Region)
        stmt = stmt.where(exists(
            select(ServiceAtLocation.id).join(Location).join(Region, Region.id == Location.gemeinde_id)
            .join(kreis, kreis.id == Region.parent_id)
            .where(ServiceAtLocation.service_id == Service.id, kreis.slug == filters.kreis)))
    if filters.jobcenter:
        stmt = stmt.where(exists(
            select(service_jobcenter.c.service_id).join(Jobcenter)
            .where(service_jobcenter.c.service_id == Service.id, Jobcenter.slug == filters.jobcenter)))
    return stmt.order_by(func.lower(Service.name), Service.id)


def page(session: Session, stmt: Select, number: int, size: int,
         internal: bool = False) -> tuple[list[Service], int]:
    """Return one page of a SELECT and the total count."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.scalars(with_details(stmt, internal, shared=False).limit(size).offset((number - 1) * size)))
    load_shared(session, rows, internal)
    return rows, total


class Place(NamedTuple):
    """A Gemeinde as plain data for filter lists and map labels."""

    id: int
    slug: str
    name: str
    latitude: float | None
    longitude: float | None


def public_gemeinden(session: Session) -> tuple[Place, ...]:
    """Gemeinden that have at least one location, for filter lists (reference data: see atlas.reference)."""
    return reference.cached(session, "gemeinden", _gemeinden)


def _gemeinden(session: Session) -> tuple[Place, ...]:
    return tuple(Place(*row) for row in session.execute(
        select(Region.id, Region.slug, Region.name, Region.latitude, Region.longitude)
        .where(Region.kind == "gemeinde", exists(select(Location.id).where(Location.gemeinde_id == Region.id)))
        .order_by(Region.name)))


@dataclass(frozen=True)
class Choice:
    """One entry of a list (an area or a region) as plain data, with its sub-entries."""

    slug: str
    name: str
    name_en: str = ""
    children: tuple[Choice, ...] = ()
    name_plain: str = ""
    name_plain_en: str = ""
    internal_only: bool = False

    def label(self, lang: str = "de") -> str:
        """The name in a UI language (as TaxonomyTerm.label)."""
        return self.name_en if lang == "en" and self.name_en else self.name

    def public_label(self, lang: str = "de") -> str:
        """The everyday name for the public pages, else the name (as TaxonomyTerm.public_label)."""
        return (self.name_plain_en if lang == "en" else self.name_plain) or self.label(lang)


def area_rows(session: Session) -> tuple[tuple, ...]:
    """Every category as a plain row in display order (reference data: see atlas.reference)."""
    return reference.cached(session, "areas", _area_rows)


def _area_rows(session: Session) -> tuple[tuple, ...]:
    return tuple(map(tuple, session.execute(
        select(TaxonomyTerm.id, TaxonomyTerm.parent_id, TaxonomyTerm.slug, TaxonomyTerm.name, TaxonomyTerm.name_en,
               TaxonomyTerm.name_plain, TaxonomyTerm.name_plain_en, TaxonomyTerm.internal_only)
        .order_by(TaxonomyTerm.sort_order, TaxonomyTerm.id))))


@lru_cache(maxsize=16)
def area_tree(rows: tuple[tuple, ...], internal: bool) -> tuple[Choice, ...]:
    """Top-level areas with their sub-categories (internal-only areas for staff only); cached by the rows.

    Plain data for lists and filter forms: loading the same ~70 categories as ORM objects cost 2-6 ms of every
    page that shows them.
    """
    def choice(row: tuple, children: tuple[Choice, ...] = ()) -> Choice:
        _id, _parent, slug, name, name_en, plain, plain_en, internal_only = row
        return Choice(slug, name, name_en or "", children, plain or "", plain_en or "", bool(internal_only))

    return tuple(choice(top, tuple(choice(row) for row in rows if row[1] == top[0]))
                 for top in rows if top[1] is None and (internal or not top[7]))


def plain_areas(session: Session, internal: bool) -> tuple[Choice, ...]:
    """The areas with their sub-categories as plain data (see area_tree)."""
    return area_tree(area_rows(session), internal)


@lru_cache(maxsize=64)
def _public_labels(rows: tuple[tuple, ...], lang: str) -> MappingProxyType[str, str]:
    return MappingProxyType({c.slug: c.public_label(lang) for top in area_tree(rows, False) for c in (top, *top.children)
                             if not c.internal_only})


def public_labels(session: Session, lang: str) -> MappingProxyType[str, str]:
    """Every category's everyday name for public pages, by slug (cached by the rows)."""
    return _public_labels(area_rows(session), lang)


def top_categories(session: Session, internal: bool) -> list[TaxonomyTerm]:
    """Top-level categories with their children, internal-only ones for staff only."""
    stmt = select(TaxonomyTerm).where(TaxonomyTerm.parent_id.is_(None)).order_by(TaxonomyTerm.sort_order)
    if not internal:
        stmt = stmt.where(TaxonomyTerm.internal_only.is_(False))
    return list(session.scalars(stmt.options(selectinload(TaxonomyTerm.children))))


