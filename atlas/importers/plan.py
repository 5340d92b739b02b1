"""The planner (dry run): decide per record new, update, unchanged, possible duplicate or error, touching nothing."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..duplicates import Candidate, DuplicateIndex, Hit, address_keys, normalise_city, normalise_name, normalise_phone
from ..duplicates import normalise_url
from ..geocoding import fold
from ..models import Jobcenter, Location, Organization, Region, Service, ServiceAtLocation, TaxonomyTerm, User
from ..sessions import sessions_differ
from .children import match_phones, match_schedules
from .records import (
    OPTIONAL_CATEGORY,
    ImportRecord,
    LocationData,
    ReadResult,
    record_digest,
)
from .screen import screen_record

ACTIONS = {
    "new": "neu",
    "update": "aktualisieren",
    "unchanged": "unverändert",
    "duplicate": "mögliche Dublette",
    "error": "Fehler",
}
SERVICE_FIELDS = ("alternate_name", "description", "url", "email", "status", "alert", "application_process",
                  "fees_description", "eligibility_description", "minimum_age", "maximum_age", "summary_plain",
                  "target_group", "waiting_time", "intake_status", "delivery_format", "setting", "short_notice",
                  "supra_regional", "valid_from", "valid_to", "visibility", "internal_note", "assured_date",
                  "waiting_time_confirmed_at", "intake_status_confirmed_at", "opening_hours_confirmed_at",
                  "cost_options", "access_routes", "legal_domains", "contact_channels", "accessibility", "languages",
                  "interpretation_services", "accreditations", "licenses", "required_documents")
ORG_FIELDS = ("alternate_name", "description", "email", "website", "legal_status", "sector", "visibility",
              "internal_note", "is_employer", "assured_date", "tax_status", "tax_id", "year_incorporated", "logo", "uri")
LOCATION_FIELDS = ("name", "description", "transportation", "accessibility_description", "url", "location_type",
                   "address_precision", "visibility", "external_identifier", "external_identifier_type")
# Latitude and longitude bounds of Germany, to spot swapped coordinates.
GERMANY = (47.2, 55.1, 5.8, 15.1)
FIELD_NAMES = {"name": "Name", "description": "Beschreibung", "url": "Web", "email": "E-Mail",
               "internal_note": "interne Notiz", "categories": "Kategorien", "phones": "Telefon",
               "address": "Adresse", "organization": "Träger", "status": "Status", "visibility": "Sichtbarkeit",
               "languages": "Sprachen", "schedules": "Öffnungszeiten",
               "sessions": "Termine"}


@dataclass
class PlanRow:
    """What the import would do with one record, and why."""

    record: ImportRecord
    action: str
    source_id: str
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    service_id: int | None = None
    organization_id: int | None = None
    org_action: str = "new"
    org_source_id: str = ""
    matches: list[Hit] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    # Digest of the record; same_record: the stored offer was imported from exactly this record.
    digest: str = ""
    same_record: bool = False

    @property
    def row(self) -> int:
        """The row number in the source."""
        return self.record.row

    @property
    def action_label(self) -> str:
        """The action in German."""
        return ACTIONS[self.action]

    @property
    def kind(self) -> str:
        """"service" for offers, "organization" for organisations without offers."""
        return "service" if self.record.name is not None or not self.record.organization.name else "organization"


@dataclass
class Plan:
    """The dry-run result of one file."""

    source: str
    format: str
    file_name: str
    file_hash: str
    rows: list[PlanRow]
    warnings: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    licence: str | None = None
    source_url: str | None = None
    # The lookups loaded while planning, reused by the committer in the same session.
    context: Context | None = field(default=None, repr=False, compare=False)
    # The column-mapping step's guesses (tables only), remembered for the source on commit.
    guesses: list[Any] = field(default_factory=list)
    # Per entity type: how many would be new, changed, unchanged or removed (see entity_effects).
    effects: dict[str, Counter] = field(default_factory=dict)

    def counts(self) -> Counter:
        """How many rows per action."""
        return Counter(r.action for r in self.rows)

    @property
    def errors(self) -> list[PlanRow]:
        """Rows that cannot be imported."""
        return [r for r in self.rows if r.action == "error"]

    def summary(self) -> str:
        """One German line: "3 neu, 1 aktualisieren, 1 Fehler"."""
        counts = self.counts()
        return ", ".join(f"{counts[a]} {label}" for a, label in ACTIONS.items() if counts[a]) or "keine Zeilen"


def file_digest(data: bytes) -> str:
    """SHA-256 of the uploaded bytes (to refuse a commit when the file changed since the preview)."""
    return hashlib.sha256(data).hexdigest()


def derived_id(*parts: str) -> str:
    """A stable id for sources without ids: a hash of normalised name and address."""
    return "auto:" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


class Categories:
    """Resolves categories by slug, German or English name, alias (name without its bracket, the abbreviation in
    it) and, for typos, by similar spelling ("Meinten Sie …?"); case, umlauts and punctuation are ignored."""

    AUTO = 92  # similarity (per cent) from which a misspelt category is taken, with a warning
    SUGGEST = 70  # similarity from which an unknown category gets a "Meinten Sie …?"

    def __init__(self, terms: list[TaxonomyTerm]) -> None:
        self.by_key: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for term in terms:
            self.names[term.slug] = term.name
            keys = [term.slug, term.name, term.name_en]
            for name in (term.name, term.name_en):
                bracket = re.match(r"^(.+?)\s*\((.+)\)\s*$", name or "")
                if bracket:  # "Integrationsfachdienst (IFD)": also "Integrationsfachdienst" and "IFD"
                    keys += [bracket[1], bracket[2]]
            for key in keys:
                if key and fold(key):
                    self.by_key.setdefault(fold(key), term.slug)

    def resolve(self, tokens: list[str]) -> tuple[list[str], list[str], list[str], list[str]]:
        """Return slugs, unknown required tokens (with a suggestion), unknown optional tokens and warnings."""
        slugs, unknown, optional, notes = [], [], [], []
        for token in tokens:
            required = not token.startswith(OPTIONAL_CATEGORY)
            token = token.removeprefix(OPTIONAL_CATEGORY)
            found, missing = self._split(token)
            for piece in missing:
                slug, score = self.similar(piece)
                if slug and score >= self.AUTO:
                    found.append(slug)
                    notes.append(f"Kategorie „{piece}“ als „{self.names[slug]}“ übernommen (ähnlich geschrieben).")
                elif required:
                    unknown.append(f"„{piece}“" + (f" – Meinten Sie „{self.names[slug]}“?" if slug and score >= self.SUGGEST
                                                   else ""))
                else:
                    optional.append(piece)
            slugs += [s for s in found if s not in slugs]
        return slugs, unknown, optional, notes

    def similar(self, token: str) -> tuple[str | None, float]:
        """The most similarly written category and the similarity in per cent."""
        key = fold(token)
        if not key or not self.by_key:
            return None, 0.0
        best = process.extractOne(key, list(self.by_key), scorer=fuzz.ratio)
        return (self.by_key[best[0]], best[1]) if best else (None, 0.0)

    def _split(self, token: str) -> tuple[list[str], list[str]]:
        """Resolve "a, b / c": the longest run of comma/slash pieces that names a category wins."""
        whole = self.by_key.get(fold(token))
        if whole:
            return [whole], []
        pieces = [p.strip() for p in re.split(r"[,/]", token) if p.strip()]
        found, missing, i = [], [], 0
        while i < len(pieces):
            for j in range(len(pieces), i, -1):
                slug = self.by_key.get(fold(", ".join(pieces[i:j])))
                if slug:
                    found.append(slug)
                    i = j
                    break
            else:
                missing.append(pieces[i])
                i += 1
        return found, missing


class Lazy:
    """Stored entries by key (source id or UUID), each loaded only when a row needs it: most rows of a re-import
    are recognised by their digest and never load their entry."""

    def __init__(self, session: Session, model: Any, ids: dict[str, int], options: tuple = ()) -> None:
        self.session, self.model, self.ids, self.options = session, model, ids, options
        self.cache: dict[int, Any] = {}

    def get(self, key: str | None, default: Any = None) -> Any:
        """The entry for a key, loaded with its children on first use."""
        entry_id = self.ids.get(key or "")
        if entry_id is None:
            return default
        if entry_id not in self.cache:
            self.cache[entry_id] = self.session.get(self.model, entry_id, options=list(self.options))
        return self.cache[entry_id]

    def __contains__(self, key: object) -> bool:
        return key in self.ids


def _ids(session: Session, model: Any, key: Any, condition: Any) -> dict[str, int]:
    return {k: i for k, i in session.execute(select(key, model.id).where(condition)) if k}


def _ids_by_uuid(session: Session, model: Any, uuids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = sorted(uuids)
    for start in range(0, len(wanted), 500):
        found |= _ids(session, model, model.uuid, model.uuid.in_(wanted[start:start + 500]))
    return found


@dataclass
class Context:
    """Everything the planner and committer look up, loaded once per run with a few queries."""

    categories: Categories
    terms: dict[str, TaxonomyTerm]
    jobcenters: dict[str, Jobcenter]
    users: dict[str, User]
    services_by_source: Lazy
    orgs_by_source: dict[str, Organization]
    orgs_by_name: dict[str, list[int]]
    uuids: dict[str, dict[str, int]]
    index: DuplicateIndex
    services_by_uuid: Lazy | None = None
    orgs_by_uuid: dict[str, Organization] = field(default_factory=dict)
    locations_by_source: Lazy | None = None
    locations_by_uuid: Lazy | None = None
    # Stored offer id -> digest of the record it was last imported from.
    digests: dict[int, str] = field(default_factory=dict)
    # Postcodes and place names of the atlas's Gemeinden, to warn about sites outside its regions.
    region_postcodes: set[str] = field(default_factory=set)
    region_places: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session, source: str, records: list[ImportRecord]) -> Context:
        """Load lookups for one source's import."""
        terms = list(session.scalars(select(TaxonomyTerm)))
        wanted = {r.uuid for r in records if r.uuid} | {r.organization.uuid for r in records if r.organization.uuid}
        site_uuids = {loc.uuid for r in records for loc in (*r.locations, *r.site_only) if loc.uuid}
        service_options = (selectinload(Service.categories), selectinload(Service.phones),
                           selectinload(Service.schedules), selectinload(Service.sessions),
                           selectinload(Service.contacts),
                           selectinload(Service.jobcenters), selectinload(Service.organization),
                           selectinload(Service.service_at_locations).selectinload(ServiceAtLocation.location)
                           .selectinload(Location.address))
        in_source = Service.source_name == source
        service_ids = _ids(session, Service, Service.source_id, in_source)
        uuid_ids = _ids_by_uuid(session, Service, {r.uuid for r in records if r.uuid})
        digests = dict(session.execute(select(Service.id, Service.import_hash).where(
            in_source | Service.id.in_(list(uuid_ids.values())), Service.import_hash.is_not(None))).all())
        orgs = session.scalars(select(Organization).where(Organization.source_name == source)
                               .options(selectinload(Organization.phones))).all()
        orgs_by_uuid = _by_uuid(session, Organization, wanted, (selectinload(Organization.phones),))
        site_options = (selectinload(Location.address), selectinload(Location.phones), selectinload(Location.schedules))
        site_ids = _ids(session, Location, Location.source_id, Location.source_name == source)
        by_name: dict[str, list[int]] = {}
        for org_id, name in session.execute(select(Organization.id, Organization.name)
                                            .where(Organization.archived_at.is_(None))):
            by_name.setdefault(normalise_name(name), []).append(org_id)
        uuids: dict[str, dict[str, int]] = {"service": uuid_ids,
                                            "organization": {u: o.id for u, o in orgs_by_uuid.items()}}
        return cls(
            categories=Categories(terms), terms={t.slug: t for t in terms},
            jobcenters={j.slug: j for j in session.scalars(select(Jobcenter))},
            users={u.email: u for u in session.scalars(select(User))},
            services_by_source=Lazy(session, Service, service_ids, service_options),
            orgs_by_source={o.source_id: o for o in orgs if o.source_id},
            orgs_by_name=by_name, uuids=uuids, index=DuplicateIndex.build(session, "service"),
            services_by_uuid=Lazy(session, Service, uuid_ids, service_options), orgs_by_uuid=orgs_by_uuid,
            locations_by_source=Lazy(session, Location, site_ids, site_options),
            locations_by_uuid=Lazy(session, Location, _ids_by_uuid(session, Location, site_uuids), site_options),
            digests=digests,
            **_region_keys(session),
        )

    def org_for(self, row: PlanRow) -> Organization | None:
        """The stored organisation a row's organisation is matched to (by source id, else by UUID)."""
        return self.orgs_by_source.get(row.org_source_id) or self.orgs_by_uuid.get(row.record.organization.uuid or "")

    def service_id_for(self, row: PlanRow) -> int | None:
        """The id of the stored offer a row is matched to (by source id, else by UUID), loading nothing."""
        return self.services_by_source.ids.get(row.source_id) or self.services_by_uuid.ids.get(row.record.uuid or "")

    def service_for(self, row: PlanRow) -> Service | None:
        """The stored offer a row is matched to (by source id, else by UUID)."""
        return self.services_by_source.get(row.source_id) or self.services_by_uuid.get(row.record.uuid)

    def location_for(self, key: str, data: LocationData) -> Location | None:
        """The stored site a site of the file is matched to (by source id, else by UUID)."""
        return self.locations_by_source.get(key) or self.locations_by_uuid.get(data.uuid)


def _region_keys(session: Session) -> dict[str, set[str]]:
    postcodes: set[str] = set()
    places: set[str] = set()
    for name, codes in session.execute(select(Region.name, Region.postal_codes).where(Region.kind == "gemeinde")):
        postcodes.update(codes or [])
        places.add(normalise_city(name))
    return {"region_postcodes": postcodes, "region_places": places}


def _by_uuid(session: Session, model: Any, uuids: set[str], options: tuple) -> dict[str, Any]:
    """Entries whose UUID the file names, loaded in chunks."""
    found: dict[str, Any] = {}
    wanted = sorted(uuids)
    for start in range(0, len(wanted), 500):
        stmt = select(model).where(model.uuid.in_(wanted[start:start + 500])).options(*options)
        found |= {e.uuid: e for e in session.scalars(stmt)}
    return found


def _address_parts(record: ImportRecord) -> tuple[str | None, str | None, str | None]:
    for loc in record.locations:
        if loc.address is not None:
            return loc.address.address_1, loc.address.postal_code, loc.address.city
    return None, None, None


def service_source_id(record: ImportRecord) -> str:
    """The record's id in its source, or one derived from its normalised name, organisation and address."""
    if record.source_id:
        return record.source_id
    street, plz, city = _address_parts(record)
    return derived_id(normalise_name(record.name), normalise_name(record.organization.name),
                      sorted(address_keys(street, plz, city))[0] if address_keys(street, plz, city)
                      else normalise_city(city))


def location_key(row: PlanRow, data: LocationData) -> str:
    """A site's id in its source, or one derived from its organisation and address."""
    if data.source_id:
        return data.source_id
    addr = data.address
    keys = sorted(address_keys(addr.address_1, addr.postal_code, addr.city)) if addr else []
    return derived_id("loc", row.org_source_id, keys[0] if keys else
                      normalise_city(addr.city if addr else None) or str(data.latitude))


def org_source_id(record: ImportRecord) -> str:
    """The organisation's id in its source, or one derived from its normalised name."""
    return record.organization.source_id or derived_id("org", normalise_name(record.organization.name))


def plan_import(session: Session, result: ReadResult, source: str, file_name: str, file_hash: str,
                progress: Callable[[int], None] | None = None) -> Plan:
    """Plan an import without changing anything: one PlanRow per record."""
    ctx = Context.load(session, source, result.records)
    plan = Plan(source=source, format=result.format, file_name=file_name, file_hash=file_hash, rows=[],
                warnings=list(result.warnings), mapping=result.mapping, columns=result.columns,
                licence=result.licence, source_url=result.source_url, context=ctx, guesses=result.guesses)
    seen: dict[str, int] = {}
    planned_orgs: set[str] = set()
    for record in result.records:
        screen_record(record)
        plan.rows.append(_plan_row(record, ctx, seen, planned_orgs))
        if progress:
            progress(1)
    plan.effects = entity_effects(ctx, plan.rows)
    return plan


ENTITIES = {"organization": "Organisationen", "service": "Angebote", "location": "Standorte",
            "phone": "Telefonnummern", "schedule": "Öffnungszeiten"}
EFFECTS = {"new": "neu", "update": "geändert", "unchanged": "unverändert", "removed": "entfernt",
           "duplicate": "als mögliche Dublette zurückgehalten"}


def entity_effects(ctx: Context, rows: list[PlanRow]) -> dict[str, Counter]:
    """What a commit would do per entity type (organisations, offers, sites, phones, opening hours).

    A row that is unchanged itself but brings a new or changed site becomes an update.
    """
    effects = {kind: Counter() for kind in ENTITIES}
    seen_orgs: set[str] = set()
    seen_sites: set[str] = set()
    for row in rows:
        if row.action == "error":
            continue
        record = row.record
        if row.same_record:  # nothing of it changes: count from the file, load nothing
            _unchanged(effects, row, record, seen_orgs, seen_sites)
            continue
        if row.kind == "service":
            effects["service"][row.action] += 1
            if row.action == "duplicate":
                continue
            service = ctx.service_for(row)
            match_phones(service.phones if service else [], record.phones).count(effects["phone"])
            match_schedules(service.schedules if service else [], record.schedules).count(effects["schedule"])
        if row.org_action != "link" and row.org_source_id not in seen_orgs:
            seen_orgs.add(row.org_source_id)
            org = ctx.org_for(row)
            effects["organization"]["new" if org is None else "update" if _org_changes(org, record) else "unchanged"] += 1
            match_phones(org.phones if org else [], record.organization.phones).count(effects["phone"])
        site_changed = False
        for data in (*record.locations, *record.site_only):
            key = location_key(row, data)
            if key in seen_sites:
                continue
            seen_sites.add(key)
            site = ctx.location_for(key, data)
            state = "new" if site is None else "update" if location_changes(site, data) else "unchanged"
            effects["location"][state] += 1
            site_changed |= state != "unchanged"
            match_phones(site.phones if site else [], data.phones).count(effects["phone"])
            match_schedules(site.schedules if site else [], data.schedules).count(effects["schedule"])
        if site_changed and row.action == "unchanged":
            row.action = "update"
            row.changes.append("Standort")
    return effects


def _unchanged(effects: dict[str, Counter], row: PlanRow, record: ImportRecord, seen_orgs: set[str],
               seen_sites: set[str]) -> None:
    effects["service"]["unchanged"] += 1
    effects["phone"]["unchanged"] += len(record.phones)
    effects["schedule"]["unchanged"] += len(record.schedules)
    if row.org_action != "link" and row.org_source_id not in seen_orgs:
        seen_orgs.add(row.org_source_id)
        effects["organization"]["unchanged"] += 1
        effects["phone"]["unchanged"] += len(record.organization.phones)
    for data in (*record.locations, *record.site_only):
        key = location_key(row, data)
        if key not in seen_sites:
            seen_sites.add(key)
            effects["location"]["unchanged"] += 1
            effects["phone"]["unchanged"] += len(data.phones)
            effects["schedule"]["unchanged"] += len(data.schedules)


def location_changes(site: Location, data: LocationData) -> list[str]:
    """The fields of a stored site a re-import would change."""
    changed = [k for k, v in data.fields.items() if k in LOCATION_FIELDS and v is not None and getattr(site, k) != v]
    if data.address is not None:
        a, b = site.address, data.address
        if a is None or any((getattr(a, k) or None) != (getattr(b, k) or None)
                            for k in ("address_1", "address_2", "postal_code", "city", "region", "state_province")):
            changed.append("address")
    if data.latitude is not None and (site.latitude, site.longitude) != (data.latitude, data.longitude):
        changed.append("coordinates")
    if match_phones(site.phones, data.phones).differs:
        changed.append("phones")
    if match_schedules(site.schedules, data.schedules).differs:
        changed.append("schedules")
    return changed


def effects_summary(effects: dict[str, Counter]) -> list[str]:
    """One German line per entity type: "Standorte: 3 neu, 285 unverändert"."""
    lines = []
    for kind, label in ENTITIES.items():
        counts = effects.get(kind) or Counter()
        parts = [f"{counts[e]} {word}" for e, word in EFFECTS.items() if counts[e]]
        lines.append(f"{label}: {', '.join(parts) or 'keine'}")
    return lines


def _plan_row(record: ImportRecord, ctx: Context, seen: dict[str, int], planned_orgs: set[str]) -> PlanRow:
    sid = service_source_id(record) if record.name is not None else org_source_id(record)
    row = PlanRow(record=record, action="new", source_id=sid, warnings=list(record.warnings),
                  reasons=list(record.errors), org_source_id=org_source_id(record), digest=record_digest(record))
    key = ("svc:" if record.name is not None else "org:") + sid
    if key in seen:
        what = "ID" if record.source_id else "Zeile (gleicher Name und gleiche Adresse)"
        row.reasons.append(f"Doppelte {what} „{record.source_id or record.label}“ (schon in Nr. {seen[key]}).")
    else:
        seen[key] = record.row
    slugs, unknown, optional, notes = ctx.categories.resolve(record.categories)
    row.categories = slugs
    row.reasons += [f"Unbekannte Kategorie {u} (Kategorie-Kürzel oder Name aus der Kategorienliste angeben)."
                    for u in unknown]
    row.warnings += notes
    row.warnings += [f"Kategorie „{o}“ hat keine Entsprechung im Atlas und wird nicht übernommen." for o in optional]
    row.warnings += [f"Jobcenter „{j}“ ist unbekannt und wird nicht zugeordnet." for j in record.jobcenters
                     if j not in ctx.jobcenters]
    for who in (record.owner, record.deputy, record.organization.owner, record.organization.deputy):
        if who and who.lower() not in ctx.users:
            row.warnings.append(f"Verantwortliche Person „{who}“ hat kein Konto; wird nicht zugeordnet.")
    for who in (record.deputy, record.organization.deputy):
        user = ctx.users.get(who.lower()) if who else None
        if user is not None and user.role != "coordinator":
            row.warnings.append(f"Vertretung „{who}“ hat nicht die Rolle Koordination; wird nicht zugeordnet.")
    for loc in record.locations:
        if loc.latitude is not None and not (GERMANY[0] <= loc.latitude <= GERMANY[1]
                                             and GERMANY[2] <= loc.longitude <= GERMANY[3]):
            row.warnings.append(f"Die Koordinaten ({loc.latitude:g}, {loc.longitude:g}) liegen nicht in Deutschland – "
                                "Breite und Länge vertauscht?")
    for loc in record.locations if ctx.region_postcodes else []:
        addr = loc.address
        if addr and addr.city and (addr.postal_code or "") not in ctx.region_postcodes \
                and normalise_city(addr.city) not in ctx.region_places:
            row.warnings.append(f"„{' '.join(p for p in (addr.postal_code, addr.city) if p)}“ liegt außerhalb der "
                                "Regionen des Atlas; der Eintrag wird trotzdem übernommen.")
    if record.name is not None and not slugs and not unknown:
        row.warnings.append("Ohne Kategorie: das Angebot erscheint in keinem Kategorie-Filter.")
    _plan_organisation(row, record, ctx, planned_orgs)
    if row.reasons:
        row.action = "error"
        return row
    if record.name is None:
        row.action = row.org_action if row.org_action in ("new", "update") else "unchanged"
        if row.org_action == "update" and not _org_changes(ctx.org_for(row), record):
            row.action = "unchanged"
        return row
    existing_id = ctx.service_id_for(row)
    if existing_id is not None and ctx.digests.get(existing_id) == row.digest:
        row.service_id, row.action, row.same_record = existing_id, "unchanged", True
        return row
    existing = ctx.service_for(row) if existing_id is not None else None
    if existing is not None:
        row.service_id = existing.id
        row.changes = service_changes(existing, record, slugs)
        row.action = "update" if row.changes else "unchanged"
        return row
    street, plz, city = _address_parts(record)
    urls = [record.fields.get("url")] if record.fields.get("url") else []
    phones = [p.number for p in record.phones] + [p.number for loc in record.locations for p in loc.phones]
    row.matches = ctx.index.find(record.name or "", city, phones, urls, plz, street)
    if row.matches:
        row.action = "duplicate"
    ctx.index.add(Candidate(-record.row, f"{record.name} (Nr. {record.row} dieser Datei)",
                            keys={normalise_name(record.name)} - {""},
                            cities={normalise_city(city)} - {""},
                            phones={p for p in map(normalise_phone, phones) if p},
                            urls={u for u in map(normalise_url, urls) if u},
                            addresses=address_keys(street, plz, city)))
    return row


def _plan_organisation(row: PlanRow, record: ImportRecord, ctx: Context, planned_orgs: set[str]) -> None:
    org = record.organization
    if not org.name:
        row.reasons.append("Kein Träger: die Organisation hat keinen Namen.")
        return
    existing = ctx.org_for(row)
    if existing is not None:
        row.org_action, row.organization_id = "update", existing.id
    elif row.org_source_id in planned_orgs:
        row.org_action = "planned"
    elif len(ctx.orgs_by_name.get(normalise_name(org.name), [])) == 1 and not org.uuid:
        row.org_action, row.organization_id = "link", ctx.orgs_by_name[normalise_name(org.name)][0]
    else:
        row.org_action = "new"
        planned_orgs.add(row.org_source_id)


def _org_changes(org: Organization | None, record: ImportRecord) -> list[str]:
    if org is None:
        return ["organization"]
    data = record.organization
    changed = ["name"] if org.name != data.name else []
    changed += [k for k, v in data.fields.items() if getattr(org, k, None) != v]
    if match_phones(org.phones, data.phones).differs:
        changed.append("phones")
    return changed


def service_changes(service: Service, record: ImportRecord, slugs: list[str]) -> list[str]:
    """German names of the fields a re-import would change (empty when nothing changes)."""
    changed: list[str] = []
    if service.name != record.name:
        changed.append("name")
    for key, value in record.fields.items():
        if key in SERVICE_FIELDS and getattr(service, key) != value:
            changed.append(key)
    if sorted(t.slug for t in service.categories) != sorted(slugs):
        changed.append("categories")
    if match_phones(service.phones, record.phones).differs:
        changed.append("phones")
    if match_schedules(service.schedules, record.schedules).differs:
        changed.append("schedules")
    if sessions_differ(service.sessions, record.sessions):
        changed.append("sessions")
    if record.jobcenters and sorted(j.slug for j in service.jobcenters) != sorted(set(record.jobcenters)):
        changed.append("jobcenters")
    # A site given without an address leaves the stored address alone (protected sites export none).
    have = {_address_key(sal.location) for sal in service.service_at_locations}
    want = {(l.address.address_1 or "", l.address.postal_code or "", l.address.city or "")
            for l in record.locations if l.address}
    if record.locations and (want - have or len(record.locations) != len(service.service_at_locations)):
        changed.append("address")
    links = {sal.location.uuid: sal.description for sal in service.service_at_locations}
    if any(d.link_description is not None and links.get(d.uuid) != d.link_description for d in record.locations):
        changed.append("service_at_location")
    if service.organization.name != record.organization.name:
        changed.append("organization")
    return [FIELD_NAMES.get(c, c) for c in changed]


def _address_key(location: Location) -> tuple:
    a = location.address
    return (a.address_1 or "", a.postal_code or "", a.city or "") if a else ("", "", "")
