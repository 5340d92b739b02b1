"""Turn offers from the database into index documents: public text only, plus attributes for filters."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from .. import freshness, sessions, validity, vocab
from ..curation.queue import add_months
from ..models import Location, Organization, Region, Service, ServiceAtLocation, TaxonomyTerm
from ..privacy import location_position
from .analysis import ANALYSIS_VERSION, analyse, fold, spelling
from .index import IndexDoc

BIT_VOCABS = {"cost": vocab.COST_OPTIONS, "channel": vocab.CONTACT_CHANNELS, "access": vocab.ACCESSIBILITY,
              "lang": vocab.LANGUAGES}
BIT_FIELDS = {"cost": "cost_options", "channel": "contact_channels", "access": "accessibility", "lang": "languages"}
STATUS_CODES = list(vocab.STATUS)


def layout_version() -> str:
    """Identifies the document layout; an index written with another layout is rebuilt."""
    codes = "|".join(",".join(v) for v in BIT_VOCABS.values()) + "|" + ",".join(STATUS_CODES)
    codes += "|positions:atlas.privacy-1"  # public points come from atlas.privacy (changed: rebuild)
    codes += "|validity-1"  # valid_from/valid_to as day numbers, checked against today at query time
    codes += "|freshness-1"  # review due day and the facts' confirmation days (atlas.freshness)
    codes += "|sessions-1"  # the days of dated sessions, matched against a date window at query time
    codes += "|files-1"  # segments as plain files: readers copied each compound segment file into memory
    codes += "|intake-stop-1"  # offers taking nobody new move down a little (ranking.INTAKE_STOP)
    return f"{ANALYSIS_VERSION}-{hashlib.sha1(codes.encode()).hexdigest()[:10]}"


def bit(name: str, code: str) -> int:
    """The bit of a vocabulary code in a document's mask (0 for an unknown code)."""
    codes = list(BIT_VOCABS[name])
    return 1 << codes.index(code) if code in codes else 0


def mask(name: str, codes: list[str] | None) -> int:
    """The bit mask of a list of codes."""
    value = 0
    for code in codes or []:
        value |= bit(name, code)
    return value


def stamp(value: datetime | None) -> float:
    """A naive UTC datetime as seconds since the epoch (0 for None)."""
    return value.replace(tzinfo=UTC).timestamp() if value else 0.0


def load_services(session: Session, ids: list[int]) -> list[Service]:
    """Offers with everything the index needs, in one round trip per list."""
    if not ids:
        return []
    # Single-valued links are joined into their owner's statement (7 statements instead of 13): every web worker
    # loads each edited offer this way to lay it over the index, so an edit a second cost each of them 13 round trips.
    stmt = select(Service).where(Service.id.in_(ids)).options(
        joinedload(Service.organization),
        selectinload(Service.categories).joinedload(TaxonomyTerm.parent),
        selectinload(Service.jobcenters),
        selectinload(Service.schedules),
        selectinload(Service.sessions),
        selectinload(Service.service_at_locations).joinedload(ServiceAtLocation.location).options(
            joinedload(Location.address), joinedload(Location.gemeinde).joinedload(Region.parent),
            selectinload(Location.schedules)),
    )
    return list(session.scalars(stmt))


def all_service_ids(session: Session) -> list[int]:
    """Every offer id, ascending."""
    return list(session.scalars(select(Service.id).order_by(Service.id)))


def iter_documents(session: Session, ids: list[int], chunk: int = 500) -> Iterator[IndexDoc]:
    """Index documents for offers, loaded in chunks so memory stays flat."""
    for start in range(0, len(ids), chunk):
        for service in load_services(session, ids[start:start + chunk]):
            yield document(service)
        session.expunge_all()


def _public_location(loc: Location) -> bool:
    return loc.visibility == "public" and loc.archived_at is None


def _places(loc: Location) -> list[str]:
    """Place words of a public location: town, Gemeinde, Kreis and (unless protected) the postcode."""
    words = []
    if loc.address is not None:
        words.append(loc.address.city or "")
        if loc.address_precision != "gemeinde" and loc.address.postal_code:
            words.append(loc.address.postal_code)
    if loc.gemeinde is not None:
        words.append(loc.gemeinde.name)
        kreis = loc.gemeinde.ancestor("kreis")
        if kreis is not None:
            words.append(kreis.name)
    return words


def spellings(session: Session, holders: dict[str, int], names: Iterable[str] = ()) -> dict[str, str]:
    """How offers spell plain index words ({word: id of an offer that holds it} -> {word: its spelling there}).

    The index keeps words folded (schuldgefuhlen); a suggestion should read as the offers write it. Only the public
    text `document` indexes is read, then the given category and place `names`; a word found nowhere stays out.
    """
    if not holders:
        return {}
    rows = session.execute(select(Service.id, Service.name, Service.alternate_name, Service.description,
                                  Service.summary_plain, Service.target_group, Service.eligibility_description,
                                  Service.fees_description, Service.application_process, Organization.name,
                                  Organization.alternate_name).join(Service.organization)
                           .where(Service.id.in_(set(holders.values())))).all()
    texts = {row[0]: " ".join(part for part in row[1:] if part) for row in rows}
    found = {word: spelling(word, texts.get(sid, "")) for word, sid in holders.items()}
    if None in found.values():  # a word of the offer's categories or places only (Iserlohn)
        joined = " ".join(names)
        found = {word: spelled or spelling(word, joined) for word, spelled in found.items()}
    return {word: spelled for word, spelled in found.items() if spelled}


def document(service: Service) -> IndexDoc:
    """The index document of one offer; only public text is indexed, so a search never reveals internal notes."""
    org = service.organization
    locations = [sal.location for sal in service.service_at_locations if sal.location.archived_at is None]
    public_locations = [loc for loc in locations if _public_location(loc)]
    categories = {t.slug: t for t in service.categories}
    for term in list(categories.values()):
        if term.parent is not None:
            categories[term.parent.slug] = term.parent
    title = analyse(" ".join(p for p in (service.name, service.alternate_name) if p))
    body = analyse(" ".join(p for p in (
        service.description, service.summary_plain, service.target_group, service.eligibility_description,
        service.fees_description, service.application_process, org.name, org.alternate_name) if p))
    tags = analyse(" ".join([t.name for t in categories.values()] + [t.name_en for t in categories.values() if t.name_en]
                            + [w for loc in public_locations for w in _places(loc)]))
    terms = {
        "title": title.stems, "tags": tags.stems,
        # The body is only searched through the parts field (all stems plus compound parts): one field less to index.
        "parts": title.parts + body.parts + tags.parts,
        "words": sorted({w for w in title.words + body.words + tags.words if len(w) >= 4 and not w.isdigit()}),
    }
    attrs = {
        "version": service.version_id or 0,
        "updated": stamp(service.updated_at),
        "org_updated": stamp(org.updated_at),
        "public": bool(service.is_public),
        "archived": service.archived_at is not None,
        "active": service.status == "aktiv",
        "status": STATUS_CODES.index(service.status) if service.status in STATUS_CODES else -1,
        "intake_open": service.intake_status == "offen",
        "intake_stop": service.intake_status == "aufnahmestopp",
        "short_notice": bool(service.short_notice),
        "supra": bool(service.supra_regional),
        "assured": service.assured_date.toordinal() if service.assured_date else 0,
        # Freshness inputs as day numbers (0: never): the verdict itself depends on today, so it is made per query.
        "review_due": freshness.day(add_months(service.assured_date, service.review_interval_months)
                                    if service.assured_date else None),
        "wait_conf": freshness.day(service.waiting_time_confirmed_at),
        "intake_conf": freshness.day(service.intake_status_confirmed_at),
        "hours_conf": freshness.day(service.opening_hours_confirmed_at),
        "has_wait": bool(service.waiting_time),
        "has_intake": service.intake_status not in (None, "unbekannt"),
        "has_hours": bool(service.schedules) or any(loc.schedules for loc in locations),
        # Day numbers, 0 when open-ended: the ranker compares them with today, so no re-index is needed at midnight.
        "valid_from": service.valid_from.toordinal() if service.valid_from else 0,
        "valid_to": service.valid_to.toordinal() if service.valid_to else 0,
        **{name: mask(name, getattr(service, column)) for name, column in BIT_FIELDS.items()},
    }
    sets = {
        "category": sorted(categories),
        "jobcenter": sorted(j.slug for j in service.jobcenters),
        "gemeinde_all": sorted({loc.gemeinde.slug for loc in locations if loc.gemeinde}),
        "gemeinde_pub": sorted({loc.gemeinde.slug for loc in public_locations if loc.gemeinde}),
        "kreis_all": sorted({k.slug for loc in locations if loc.gemeinde and (k := loc.gemeinde.ancestor("kreis"))}),
        "kreis_pub": sorted({k.slug for loc in public_locations if loc.gemeinde and (k := loc.gemeinde.ancestor("kreis"))}),
        # Past days never match a "begins within N weeks" window again, so they are left out.
        "session_day": sessions.index_days(service.sessions, validity.today()),
    }
    points = {
        "all": [(loc.latitude, loc.longitude) for loc in locations if loc.latitude is not None],
        "pub": [p for loc in public_locations if (p := location_position(loc)) is not None],
    }
    return IndexDoc(sid=service.id, terms=terms, attrs=attrs, sets=sets, points=points, name=fold(service.name))
