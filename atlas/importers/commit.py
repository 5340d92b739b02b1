"""The committer: apply a plan in the caller's transaction (all or nothing), attributed and idempotent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..audit import set_actor
from ..db import analyze_after_bulk
from ..duplicates import normalise_city
from ..geocoding import GeoResult, fold, fold_plain, gazetteer
from ..models import (
    Address,
    Contact,
    Location,
    Organization,
    Region,
    ReviewTask,
    Service,
    ServiceAtLocation,
    utcnow,
)
from ..review import open_task
from .bulk import BulkCreator
from ..sessions import apply_sessions
from .children import apply_phones, apply_schedules
from .mapping import remember
from .models import ImportRun
from .tabular import header_key
from .plan import LOCATION_FIELDS, ORG_FIELDS, SERVICE_FIELDS, Context, Plan, PlanRow, location_key
from .records import ContactData, ImportFileError, LocationData



@dataclass
class CommitReport:
    """What a committed import changed."""

    counts: Counter = field(default_factory=Counter)
    tasks: int = 0
    warnings: list[str] = field(default_factory=list)
    geocoded: Counter = field(default_factory=Counter)
    run_id: int | None = None

    @property
    def imported(self) -> int:
        """How many rows created or changed something."""
        c = self.counts
        return c["new"] + c["update"] + c["duplicate_created"]

    def summary(self) -> str:
        """One German line for flash messages and the CLI."""
        c = self.counts
        parts = [f"{c['new']} neu", f"{c['update']} aktualisiert", f"{c['unchanged']} unverändert"]
        if c["duplicate_created"]:
            parts.append(f"{c['duplicate_created']} trotz Dublettenverdacht angelegt")
        if c["duplicate_skipped"]:
            parts.append(f"{c['duplicate_skipped']} mögliche Dubletten übersprungen ({self.tasks} Prüfaufgaben)")
        if c["error"]:
            parts.append(f"{c['error']} fehlerhafte Zeilen übersprungen")
        return ", ".join(parts)


class Places:
    """Offline geocoding and Gemeinde lookup with per-run caches (no query per row)."""

    def __init__(self, session: Session) -> None:
        self.by_slug: dict[str, Region] = {}
        self.by_plz: dict[str, Region] = {}
        self.by_name: dict[str, Region] = {}
        for region in session.scalars(select(Region).where(Region.kind == "gemeinde")):
            self.by_slug[region.slug] = region
            for plz in region.postal_codes or []:
                self.by_plz.setdefault(plz, region)
            for key in (fold(region.name), fold_plain(region.name), normalise_city(region.name),
                        region.slug.replace("-", " ")):
                self.by_name.setdefault(key, region)
        self.cache: dict[tuple[str, str], GeoResult | None] = {}

    def gemeinde(self, slug: str | None, plz: str | None, city: str | None) -> Region | None:
        """The Gemeinde by slug, postcode or name."""
        return (self.by_slug.get(slug or "") or self.by_plz.get((plz or "").strip())
                or self.by_name.get(normalise_city(city)) or self.by_name.get(fold(city or "")))

    def locate(self, plz: str | None, city: str | None) -> GeoResult | None:
        """Postcode centroid, else the Gemeinde's centre, else the gazetteer's town."""
        key = ((plz or "").strip(), normalise_city(city))
        if key not in self.cache:
            found = gazetteer().postcode(key[0]) if len(key[0]) == 5 and key[0].isdigit() else None
            if found is None and city:
                region = self.gemeinde(None, None, city)
                if region is not None and region.latitude is not None:
                    found = GeoResult(region.latitude, region.longitude, "gemeinde", "gazetteer", region.name)
                else:
                    found = gazetteer().place(city, plz)
            self.cache[key] = found
        return self.cache[key]


class Committer:
    """Applies one plan; the caller commits or rolls back."""

    def __init__(self, session: Session, plan: Plan, licence: str | None, source_url: str | None) -> None:
        self.session = session
        self.plan = plan
        self.now = utcnow()
        self.ctx = plan.context or Context.load(session, plan.source, [r.record for r in plan.rows])
        self.places = Places(session)
        self.licence = licence or plan.licence
        self.source_url = source_url or plan.source_url
        self.orgs: dict[str, Organization] = dict(self.ctx.orgs_by_source)
        # Sites created or used in this run, by key (stored ones come from the context when a row needs them).
        self.locations: dict[str, Location] = {}
        wanted = {loc.uuid for r in plan.rows for loc in r.record.locations if loc.uuid}
        self.taken_location_uuids = set(session.scalars(select(Location.uuid).where(Location.uuid.in_(wanted)))) \
            if wanted else set()
        self.report = CommitReport()
        self.task_refs = set(session.execute(select(ReviewTask.service_id, ReviewTask.source_ref).where(
            ReviewTask.kind == "import_duplicate", ReviewTask.source_ref.like(f"import:{plan.source[:60]}:%"))).all())

    # -- attribution -------------------------------------------------------------------------------------

    def source_values(self, source_id: str, url: str | None = None) -> dict[str, Any]:
        """Attribution columns for a new entry."""
        return {"source_name": self.plan.source, "source_id": source_id[:200],
                "source_url": (url or self.source_url or None), "source_licence": self.licence,
                "imported_at": self.now}

    def _user(self, email: str | None):
        return self.ctx.users.get(email.lower()) if email else None

    def _deputy(self, email: str | None):
        # Deputies must be coordinators (the database refuses anyone else); the plan warned about it.
        user = self._user(email)
        return user if user is not None and user.role == "coordinator" else None

    # -- organisations -----------------------------------------------------------------------------------

    def organisation(self, row: PlanRow) -> Organization:
        """Create, update or reuse the row's organisation."""
        data = row.record.organization
        if row.org_action == "link":
            return self.session.get(Organization, row.organization_id)
        org = self.orgs.get(row.org_source_id)
        if org is None and row.organization_id is not None:
            org = self.session.get(Organization, row.organization_id)
        values = {k: v for k, v in data.fields.items() if k in ORG_FIELDS}
        if data.owner or data.deputy:
            values |= {"owner": self._user(data.owner), "deputy": self._deputy(data.deputy)}
        if org is None:
            source = self.source_values(row.org_source_id, row.record.fields.get("source_url"))
            org = Organization(name=data.name, **values, **source)
            if data.uuid and data.uuid not in self.ctx.uuids["organization"]:
                org.uuid = data.uuid
            if org.is_employer:
                org.visibility = "internal"
            self.session.add(org)
        elif row.org_action != "planned":
            _assign(org, {"name": data.name, **values})
            if org.source_name == self.plan.source:
                _assign(org, {"imported_at": self.now, "source_licence": self.licence})
        self.orgs[row.org_source_id] = org
        apply_phones(org.phones, data.phones)
        _replace(org.contacts, [_contact(c) for c in data.contacts], _contact_key)
        return org

    # -- offers ------------------------------------------------------------------------------------------

    def service(self, row: PlanRow, org: Organization) -> Service:
        """Create or update the row's offer with its categories, phones, hours, contacts and locations."""
        record = row.record
        values: dict[str, Any] = {"name": record.name, "organization": org}
        values |= {k: v for k, v in record.fields.items() if k in SERVICE_FIELDS}
        if record.owner or record.deputy:
            values |= {"owner": self._user(record.owner), "deputy": self._deputy(record.deputy)}
        categories = [self.ctx.terms[s] for s in row.categories]
        if row.service_id is None:
            svc = Service(**{k: v for k, v in values.items() if v is not None},
                          **self.source_values(row.source_id, record.fields.get("source_url")))
            if record.uuid and record.uuid not in self.ctx.uuids["service"]:
                svc.uuid = record.uuid
            svc.categories = categories
            self.session.add(svc)
        else:
            svc = self.ctx.service_for(row) or self.session.get(Service, row.service_id)
            _assign(svc, values)
            if svc.source_name == self.plan.source:
                _assign(svc, {"imported_at": self.now, "source_licence": self.licence})
            if categories and sorted(t.slug for t in svc.categories) != sorted(row.categories):
                svc.categories = categories
        if svc.import_hash != row.digest:
            svc.import_hash = row.digest
        if record.jobcenters:
            wanted = [self.ctx.jobcenters[j] for j in record.jobcenters if j in self.ctx.jobcenters]
            if sorted(j.slug for j in svc.jobcenters) != sorted(j.slug for j in wanted):
                svc.jobcenters = wanted
        apply_phones(svc.phones, record.phones)
        apply_schedules(svc.schedules, record.schedules)
        apply_sessions(svc.sessions, record.sessions)
        _replace(svc.contacts, [_contact(c) for c in record.contacts], _contact_key)
        if record.locations:
            wanted = {id(loc): (loc, data.link_description)
                      for data in record.locations for loc in (self.location(row, org, data),)}
            have = {id(sal.location): sal for sal in svc.service_at_locations}
            if set(have) != set(wanted):
                svc.service_at_locations[:] = [have.get(key) or ServiceAtLocation(location=loc)
                                               for key, (loc, _d) in wanted.items()]
            for sal in svc.service_at_locations:
                description = wanted[id(sal.location)][1]
                if description is not None and sal.description != description:
                    sal.description = description
        return svc

    def sites_without_offer(self, row: PlanRow, org: Organization) -> None:
        """Create or update the organisation's sites no offer of the file uses."""
        for data in row.record.site_only:
            self.location(row, org, data)

    location_key = staticmethod(location_key)

    def existing_location(self, row: PlanRow, data: LocationData) -> Location | None:
        """The stored (or in this run created) site for a site of the file: by source id, else by UUID."""
        key = self.location_key(row, data)
        return self.locations.get(key) or self.ctx.location_for(key, data)

    def location(self, row: PlanRow, org: Organization | None, data: LocationData) -> Location:
        """Create or update a site; coordinates from the source, else the offline gazetteer at once."""
        addr = data.address
        key = self.location_key(row, data)
        loc = self.existing_location(row, data)
        values = {k: v for k, v in data.fields.items() if k in LOCATION_FIELDS and v is not None}
        if loc is None:
            loc = Location(organization=org, **values, **self.source_values(key))
            if data.uuid and data.uuid not in self.taken_location_uuids:
                loc.uuid = data.uuid
                self.taken_location_uuids.add(data.uuid)
            self.session.add(loc)
            self.locations[key] = loc
        else:
            self.locations[key] = loc
            _assign(loc, values)
        if addr is not None:
            address_values = {"address_1": addr.address_1, "address_2": addr.address_2,
                              "postal_code": addr.postal_code, "city": addr.city or "", "region": addr.region,
                              "state_province": addr.state_province, "country": addr.country or "DE"}
            if loc.address is None:
                loc.address = Address(**address_values)
            else:
                _assign(loc.address, address_values)
        self._geocode(loc, data)
        apply_phones(loc.phones, data.phones)
        apply_schedules(loc.schedules, data.schedules)
        return loc

    def geo_values(self, data: LocationData, location_type: str) -> dict[str, Any]:
        """Gemeinde and coordinates of a new site: from the source, else the offline gazetteer."""
        addr = data.address
        values: dict[str, Any] = {}
        region = self.places.gemeinde(data.gemeinde, addr.postal_code if addr else None, addr.city if addr else None)
        if region is not None:
            values["gemeinde_id"] = region.id
        if data.latitude is not None:
            precision = data.fields.get("geo_precision") or ("exakt" if addr and addr.address_1 else "unbekannt")
            self.report.geocoded["import"] += 1
            return values | {"latitude": data.latitude, "longitude": data.longitude, "geo_precision": precision,
                             "geo_source": "import", "geocoded_at": self.now}
        if addr is None or location_type == "virtual":
            return values
        found = self.places.locate(addr.postal_code, addr.city)
        if found is None:
            self.report.geocoded["none"] += 1
            return values
        self.report.geocoded[found.precision] += 1
        return values | {"latitude": found.latitude, "longitude": found.longitude, "geo_precision": found.precision,
                         "geo_source": "gazetteer", "geocoded_at": self.now}

    def _geocode(self, loc: Location, data: LocationData) -> None:
        addr = data.address
        region = self.places.gemeinde(data.gemeinde, addr.postal_code if addr else None, addr.city if addr else None)
        if region is not None and loc.gemeinde_id != region.id:
            loc.gemeinde = region
        if data.latitude is not None:
            self.report.geocoded["import"] += 1
            if (loc.latitude, loc.longitude) == (data.latitude, data.longitude):
                return  # the stored position (and where it came from) stays
            precision = data.fields.get("geo_precision") or ("exakt" if addr and addr.address_1 else "unbekannt")
            _assign(loc, {"latitude": data.latitude, "longitude": data.longitude, "geo_precision": precision,
                          "geo_source": "import"})
            if loc.geocoded_at is None:
                loc.geocoded_at = self.now
            return
        if addr is None or loc.location_type == "virtual":
            return
        if loc.geo_source in ("nominatim", "manuell") and loc.latitude is not None:
            return  # a better position from earlier stays
        found = self.places.locate(addr.postal_code, addr.city)
        if found is None:
            self.report.geocoded["none"] += 1
            return
        _assign(loc, {"latitude": found.latitude, "longitude": found.longitude, "geo_precision": found.precision,
                      "geo_source": "gazetteer"})
        loc.geocoded_at = self.now
        self.report.geocoded[found.precision] += 1

    # -- duplicates --------------------------------------------------------------------------------------

    def duplicate_task(self, row: PlanRow) -> None:
        """Propose a skipped possible duplicate for merging: a review task on the existing entry."""
        existing = [h for h in row.matches if h.id > 0]
        if not existing:
            return
        entry = self.session.get(Service, existing[0].id)
        if entry is None:
            return
        ref = f"import:{self.plan.source}:{row.source_id}"[:100]
        if (entry.id, ref) in self.task_refs:
            return  # proposed before (open or already decided): an identical re-import asks nothing new
        self.task_refs.add((entry.id, ref))
        record = row.record
        street = next((f"{l.address.address_1 or ''} {l.address.postal_code or ''} {l.address.city}".strip()
                       for l in record.locations if l.address), "")
        detail = (f"Import „{self.plan.source}“ ({self.plan.file_name}, Nr. {record.row}): „{record.name}“"
                  f"{', ' + street if street else ''}. Gründe: {', '.join(existing[0].reasons)}. "
                  "Bitte prüfen und neue Angaben ggf. übernehmen.")
        open_task(self.session, "import_duplicate", entry, f"Mögliche Dublette aus Import „{self.plan.source}“",
                  detail=detail, source_ref=ref)
        self.report.tasks += 1


def commit_plan(session: Session, plan: Plan, *, actor: str, user_id: int | None = None,
                create_duplicates: Iterable[int] = (), strict: bool = False, licence: str | None = None,
                source_url: str | None = None, progress: Callable[[int], None] | None = None) -> CommitReport:
    """Apply a plan; error rows are skipped (or, with strict, nothing is done). The caller commits."""
    if strict and plan.errors:
        raise ImportFileError(f"{len(plan.errors)} Zeile(n) mit Fehlern; im strengen Modus wird nichts übernommen.")
    forced = set(create_duplicates)
    set_actor(session, actor, user_id)
    committer = Committer(session, plan, licence, source_url)
    counts = committer.report.counts
    fresh: list[PlanRow] = []
    remember_digests(session, [r for r in plan.rows if r.action == "unchanged" and r.service_id and not r.same_record])
    with session.no_autoflush:
        for n, row in enumerate(plan.rows, start=1):
            if row.action in ("error", "unchanged"):
                counts[row.action] += 1
            elif row.action == "duplicate" and row.row not in forced:
                counts["duplicate_skipped"] += 1
                committer.duplicate_task(row)
            else:
                counts["duplicate_created" if row.action == "duplicate" else row.action] += 1
                if row.kind == "service" and row.service_id is None:
                    fresh.append(row)  # new offers are inserted in batches below
                    continue
                org = committer.organisation(row)
                if row.kind == "service":
                    committer.service(row, org)
                committer.sites_without_offer(row, org)
            if progress:
                progress(1)
            if n % 500 == 0:
                session.flush()
        session.flush()
        BulkCreator(committer).create(fresh)
    if progress and fresh:
        progress(len(fresh))
    link_parents(session, [r for r in plan.rows if r.action != "error"], committer.report)
    if plan.guesses:
        remember(session, plan.source, plan.guesses, header_key)
    run = ImportRun(source=plan.source, file_name=plan.file_name[:300], format=plan.format, file_hash=plan.file_hash,
                    licence=committer.licence, actor=actor, user_id=user_id, started_at=committer.now,
                    finished_at=utcnow(), rows=len(plan.rows), counts=dict(counts))
    session.add(run)
    session.flush()
    analyze_after_bulk(session, len(plan.rows) - counts["error"] - counts["unchanged"])
    committer.report.run_id = run.id
    return committer.report


def link_parents(session: Session, rows: list[PlanRow], report: CommitReport) -> None:
    """Set HSDS parent organisations once every organisation of the file exists (matched by UUID)."""
    wanted = {r.record.organization.uuid: r.record.organization.parent_uuid for r in rows
              if r.record.organization.parent_uuid and r.record.organization.uuid}
    if not wanted:
        return
    session.flush()
    ids = dict(session.execute(select(Organization.uuid, Organization.id).where(
        Organization.uuid.in_(list(wanted) + list(wanted.values())))).all())
    for org in session.scalars(select(Organization).where(Organization.uuid.in_(list(wanted)))):
        parent_id = ids.get(wanted[org.uuid])
        if parent_id is None:
            report.warnings.append(f"Übergeordnete Organisation „{wanted[org.uuid]}“ von „{org.name}“ gibt es "
                                   "weder in der Datei noch im Atlas; nicht verknüpft.")
        elif org.parent_organization_id != parent_id:
            org.parent_organization_id = parent_id


def remember_digests(session: Session, rows: list[PlanRow]) -> None:
    """Note the digest of rows found unchanged field by field, so the next identical import skips them unread."""
    if not rows:
        return
    table = Service.__table__
    # Technical bookkeeping: no new version, no new modification time, no audit entry.
    session.execute(update(table).where(table.c.id == bindparam("sid")).values(
        import_hash=bindparam("digest"), updated_at=table.c.updated_at),
        [{"sid": r.service_id, "digest": r.digest} for r in rows])


def _assign(obj: Any, values: dict[str, Any]) -> None:
    """Set only attributes that differ, so unchanged records are not touched (no audit noise)."""
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)


def _replace(collection: list, new: list, key: Callable) -> None:
    """Replace a child list when the source gives one and it differs; empty sources never erase data."""
    if new and sorted(map(key, collection)) != sorted(map(key, new)):
        collection[:] = new


def _contact(c: ContactData) -> Contact:
    return Contact(name=c.name, title=c.title, department=c.department, email=c.email, phone=c.phone, uuid=c.uuid)


def _contact_key(c: Any) -> tuple:
    return (c.name, c.title or "", c.department or "", c.email or "", c.phone or "")
