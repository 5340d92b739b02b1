"""Load the taxonomy, regions and demo data from seeds/: validated first, then upserted idempotently."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import vocab
from .audit import set_actor
from .geocoding import offline_lookup
from .models import (
    Address,
    AuditLog,
    Contact,
    Jobcenter,
    Location,
    Organization,
    Phone,
    Region,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceSession,
    TaxonomyTerm,
    User,
    utcnow,
)
from .safetext import clean_url
from .sessions import weekly

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SOURCE = "demo"
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DAYS = set(vocab.WEEKDAYS)


class SeedError(ValueError):
    """A seed file is malformed; the message lists what is wrong and where."""


@dataclass
class SeedReport:
    """How many records a seed run created and changed."""

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    kept: Counter = field(default_factory=Counter)  # demo entries someone edited: left as they are

    def summary(self) -> str:
        """One line per kind of record."""
        kinds = sorted(set(self.created) | set(self.updated) | set(self.kept))
        if not kinds:
            return "nothing changed"
        return ", ".join(f"{k}: {self.created[k]} new, {self.updated[k]} updated"
                         + (f", {self.kept[k]} kept (edited by someone)" if self.kept[k] else "") for k in kinds)


def read_json(path: Path) -> dict[str, Any]:
    """Parse a seed file; a syntax error names the file, line and column."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeedError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise SeedError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise SeedError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise SeedError(f"{path}: expected a JSON object at the top level")
    return data


def _date(value: Any, where: str, errors: list[str]) -> None:
    if value is None:
        return
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        errors.append(f"{where}: {value!r} is not a date (YYYY-MM-DD)")


def _codes(values: Any, vocabulary: dict, where: str, errors: list[str]) -> None:
    if not isinstance(values, list):
        errors.append(f"{where}: expected a list")
        return
    bad = vocab.invalid_codes(vocabulary, values)
    if bad:
        errors.append(f"{where}: unknown code(s) {', '.join(map(str, bad))}")


def _one(value: Any, vocabulary: dict, where: str, errors: list[str], nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if value not in vocabulary:
        errors.append(f"{where}: unknown value {value!r} (allowed: {', '.join(vocabulary)})")


def _hours(items: Any, where: str, errors: list[str]) -> None:
    for i, h in enumerate(items or []):
        at = f"{where}.opening_hours[{i}]"
        days = str(h.get("byday", "")).split(",")
        if not days or not set(days) <= DAYS:
            errors.append(f"{at}: byday {h.get('byday')!r} must list MO,TU,WE,TH,FR,SA,SU")
        _times(h, "opens_at", "closes_at", at, errors)


def _times(item: dict[str, Any], start: str, end: str, at: str, errors: list[str]) -> None:
    for k in (start, end):
        if item.get(k) is not None and not TIME_RE.match(str(item[k])):
            errors.append(f"{at}: {k} {item[k]!r} is not a time (HH:MM)")
    if item.get(start) and item.get(end) and item[start] >= item[end]:
        errors.append(f"{at}: {start} must be before {end}")


def _session_items(items: Any, where: str, errors: list[str]) -> None:
    for i, t in enumerate(items or []):
        at = f"{where}.sessions[{i}]"
        before = len(errors)
        _date(t.get("date") or t.get("weekly_from"), f"{at}.date", errors)
        _date(t.get("weekly_until"), f"{at}.weekly_until", errors)
        if not (t.get("date") or t.get("weekly_from")):
            errors.append(f"{at}: give a date (or weekly_from and weekly_until)")
        elif len(errors) == before and t.get("weekly_until") and t["weekly_until"] < t["weekly_from"]:
            errors.append(f"{at}: weekly_until is before weekly_from")
        _times(t, "start_time", "end_time", at, errors)
        _one(t.get("seats", "unbekannt"), vocab.SESSION_SEATS, f"{at}.seats", errors)


def _url(item: dict[str, Any], key: str, where: str, errors: list[str]) -> None:
    if item.get(key) and clean_url(item[key]) is None:
        errors.append(f"{where}.{key}: {item[key]!r} is not an http(s) address")


def _coords(loc: dict[str, Any], where: str, errors: list[str]) -> None:
    lat, lon = loc.get("latitude"), loc.get("longitude")
    if (lat is None) != (lon is None):
        errors.append(f"{where}: give both latitude and longitude or neither")
    elif lat is not None and not (isinstance(lat, int | float) and isinstance(lon, int | float)
                                  and -90 <= lat <= 90 and -180 <= lon <= 180):
        errors.append(f"{where}: coordinates {lat!r}, {lon!r} are out of range")


def validate_organisations(orgs: list[dict[str, Any]], known: dict[str, set[str]], where: str) -> list[str]:
    """Return every problem in a list of seed organisations (empty when valid)."""
    errors: list[str] = []
    keys: set[str] = set()
    for i, org in enumerate(orgs):
        at = f"{where}: organisations[{i}] ({org.get('key', '?')})" if isinstance(org, dict) else f"{where}[{i}]"
        if not isinstance(org, dict):
            errors.append(f"{at}: expected an object")
            continue
        for required in ("key", "name"):
            if not org.get(required) or not isinstance(org[required], str):
                errors.append(f"{at}: '{required}' is required text")
        if org.get("key") in keys:
            errors.append(f"{at}: duplicate key {org['key']!r}")
        keys.add(org.get("key"))
        _one(org.get("visibility", "public"), vocab.VISIBILITY, f"{at}.visibility", errors)
        if org.get("is_employer") and org.get("visibility") != "internal":
            errors.append(f"{at}: employer entries must have visibility 'internal'")
        errors.extend(_people_errors(org, at, known))
        _date(org.get("assured_date"), f"{at}.assured_date", errors)
        _url(org, "website", at, errors)
        loc_keys = set()
        for j, loc in enumerate(org.get("locations") or []):
            lat = f"{at}.locations[{j}]"
            loc_keys.add(loc.get("key"))
            _one(loc.get("location_type", "physical"), vocab.LOCATION_TYPES, f"{lat}.location_type", errors)
            _one(loc.get("address_precision") or "exakt", vocab.ADDRESS_PRECISION, f"{lat}.address_precision", errors)
            if loc.get("location_type", "physical") == "physical":
                if loc.get("gemeinde") not in known["gemeinden"]:
                    errors.append(f"{lat}: unknown gemeinde {loc.get('gemeinde')!r}")
                if not loc.get("city"):
                    errors.append(f"{lat}: 'city' is required for a physical location")
            _coords(loc, lat, errors)
            _url(loc, "url", lat, errors)
            _hours(loc.get("opening_hours"), lat, errors)
        for j, svc in enumerate(org.get("services") or []):
            errors.extend(_validate_service(svc, f"{at}.services[{j}] ({svc.get('key', '?')})", loc_keys, known))
    return errors


def _validate_service(svc: dict[str, Any], at: str, loc_keys: set, known: dict[str, set[str]]) -> list[str]:
    errors: list[str] = []
    for required in ("key", "name"):
        if not svc.get(required):
            errors.append(f"{at}: '{required}' is required")
    _one(svc.get("status", "aktiv"), vocab.STATUS, f"{at}.status", errors)
    _url(svc, "url", at, errors)
    _one(svc.get("visibility", "public"), vocab.VISIBILITY, f"{at}.visibility", errors)
    _one(svc.get("intake_status", "unbekannt"), vocab.INTAKE_STATUS, f"{at}.intake_status", errors)
    _one(svc.get("delivery_format"), vocab.DELIVERY_FORMAT, f"{at}.delivery_format", errors, nullable=True)
    _one(svc.get("setting"), vocab.SETTING, f"{at}.setting", errors, nullable=True)
    for name, vocabulary in vocab.LIST_FIELDS.items():
        _codes(svc.get(name, []), vocabulary, f"{at}.{name}", errors)
    unknown = [c for c in svc.get("categories", []) if c not in known["categories"]]
    if unknown or not svc.get("categories"):
        errors.append(f"{at}: unknown or missing categories {unknown}")
    bad_jc = [j for j in svc.get("jobcenters", []) if j not in known["jobcenters"]]
    if bad_jc:
        errors.append(f"{at}: unknown jobcenters {bad_jc}")
    missing = [k for k in svc.get("locations", []) if k not in loc_keys]
    if missing:
        errors.append(f"{at}: unknown location keys {missing}")
    for k in ("valid_from", "valid_to", "assured_date", "waiting_time_confirmed_at", "intake_status_confirmed_at",
              "opening_hours_confirmed_at"):
        _date(svc.get(k), f"{at}.{k}", errors)
    lo, hi = svc.get("minimum_age"), svc.get("maximum_age")
    if lo is not None and hi is not None and lo > hi:
        errors.append(f"{at}: minimum_age is above maximum_age")
    errors.extend(_people_errors(svc, at, known))
    _hours(svc.get("opening_hours"), at, errors)
    _session_items(svc.get("sessions"), at, errors)
    return errors


def _people_errors(item: dict[str, Any], at: str, known: dict[str, set[str]]) -> list[str]:
    """Owner and deputy must be known users; a deputy must be a coordinator (the database enforces it too)."""
    errors = []
    for who in ("owner", "deputy"):
        if item.get(who) and item[who].lower() not in known["users"]:
            errors.append(f"{at}.{who}: no user {item[who]!r} in users.json")
    if item.get("deputy") and item["deputy"].lower() in known["users"] - known["coordinators"]:
        errors.append(f"{at}.deputy: {item['deputy']!r} is not a coordinator")
    return errors


def assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set only the attributes that differ, so an unchanged record is not touched; True when any changed."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _upsert(session: Session, report: SeedReport, kind: str, model: type, where: Any, values: dict[str, Any]) -> Any:
    obj = session.scalar(select(model).where(where))
    if obj is None:
        obj = model(**values)
        session.add(obj)
        report.created[kind] += 1
    elif assign(obj, values):
        report.updated[kind] += 1
    return obj


def load_taxonomy(session: Session, data: dict[str, Any], report: SeedReport) -> None:
    """Create or update the category terms of taxonomy.json."""
    for i, top in enumerate(data["terms"]):
        parent = _term(session, report, top, None, i)
        for j, child in enumerate(top.get("children", [])):
            _term(session, report, child, parent, j)


def _term(session: Session, report: SeedReport, item: dict[str, Any], parent: TaxonomyTerm | None, order: int) -> TaxonomyTerm:
    values = {"slug": item["slug"], "name": item["name"], "name_en": item.get("name_en", ""),
              "name_plain": item.get("name_plain", ""), "name_plain_en": item.get("name_plain_en", ""),
              "description": item.get("description"), "parent": parent, "sort_order": order,
              "review_interval_months": item.get("review_interval_months"),
              "internal_only": bool(item.get("internal_only", False))}
    term = _upsert(session, report, "categories", TaxonomyTerm, TaxonomyTerm.slug == item["slug"], values)
    session.flush()
    return term


def load_regions(session: Session, data: dict[str, Any], report: SeedReport) -> None:
    """Create or update Bundesländer, Kreise, Gemeinden and Jobcenter from regions.json."""
    for land in data["bundeslaender"]:
        land_row = _upsert(session, report, "regions", Region, Region.slug == land["slug"],
                           {"slug": land["slug"], "name": land["name"], "kind": "bundesland", "ags": land.get("code")})
        for kreis in land["kreise"]:
            kreis_row = _upsert(session, report, "regions", Region, Region.slug == kreis["slug"],
                                {"slug": kreis["slug"], "name": kreis["name"], "kind": "kreis",
                                 "ags": kreis.get("ags"), "parent": land_row})
            for gem in kreis["gemeinden"]:
                _upsert(session, report, "regions", Region, Region.slug == gem["slug"],
                        {"slug": gem["slug"], "name": gem["name"], "kind": "gemeinde", "ags": gem.get("ags"),
                         "parent": kreis_row, "postal_codes": gem.get("postal_codes", []),
                         "latitude": gem.get("latitude"), "longitude": gem.get("longitude")})
    session.flush()
    for jc in data.get("jobcenters", []):
        regions = list(session.scalars(select(Region).where(Region.slug.in_(jc["kreise"])).order_by(Region.slug)))
        _upsert(session, report, "jobcenters", Jobcenter, Jobcenter.slug == jc["slug"],
                {"slug": jc["slug"], "name": jc["name"], "short_name": jc.get("short_name", ""), "regions": regions})


def load_users(session: Session, data: dict[str, Any], report: SeedReport) -> None:
    """Create the demo owners (without a usable password) unless they exist."""
    for item in data["users"]:
        email = item["email"].lower()
        if session.scalar(select(User).where(User.email == email)) is None:
            session.add(User(email=email, name=item["name"], role=item["role"], password_hash=None))
            report.created["users"] += 1


class _Context:
    """Lookups shared while loading organisations."""

    def __init__(self, session: Session) -> None:
        self.terms = {t.slug: t for t in session.scalars(select(TaxonomyTerm))}
        self.regions = {r.slug: r for r in session.scalars(select(Region))}
        self.jobcenters = {j.slug: j for j in session.scalars(select(Jobcenter))}
        self.users = {u.email: u for u in session.scalars(select(User))}
        self.edited = _edited_by_people(session)

    def user(self, email: str | None) -> User | None:
        return self.users.get(email.lower()) if email else None

    def kept(self, table: str, row: Any, *children: tuple[str, list[Any]]) -> bool:
        """True when someone other than the seed changed this demo row or one of its child rows."""
        if row is None or row.id is None:
            return False
        return row.id in self.edited[table] or any(
            child.id in self.edited[kind] for kind, rows in children for child in rows if child.id is not None)


# Tables of demo entries whose rows the seed never changes once a person (or the importer, the checker ...) has.
DEMO_TABLES = ("organization", "location", "address", "phone", "contact", "schedule", "service_session", "service",
               "service_at_location")


def _edited_by_people(session: Session) -> defaultdict[str, set[int]]:
    """Ids per table of rows with an audit entry by anyone but the seed."""
    edited: defaultdict[str, set[int]] = defaultdict(set)
    rows = session.execute(select(AuditLog.entity_type, AuditLog.entity_id).distinct()
                           .where(AuditLog.actor != "seed", AuditLog.entity_type.in_(DEMO_TABLES)))
    for table, entity_id in rows:
        edited[table].add(entity_id)
    return edited


def _entry_values(item: dict[str, Any], ctx: _Context) -> dict[str, Any]:
    return {
        "visibility": item.get("visibility", "public"),
        "internal_note": item.get("internal_note"),
        "owner": ctx.user(item.get("owner")),
        "deputy": ctx.user(item.get("deputy")),
        "assured_date": _d(item.get("assured_date")),
        "source_name": SOURCE,
        "source_licence": "CC0 (fiktive Demodaten)",
    }


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _replace_children(collection: list, new: list, key) -> bool:
    """Replace a child list when its content differs; True when replaced."""
    if sorted(map(key, collection)) == sorted(map(key, new)):
        return False
    collection[:] = new
    return True


def _phones(items: list[dict[str, Any]]) -> list[Phone]:
    return [Phone(number=p["number"], extension=p.get("extension"), type=p.get("type", "voice"),
                  description=p.get("description"), visibility=p.get("visibility", "public")) for p in items or []]


def _schedules(items: list[dict[str, Any]]) -> list[Schedule]:
    return [Schedule(byday=h["byday"], opens_at=h.get("opens_at"), closes_at=h.get("closes_at"),
                     description=h.get("description")) for h in items or []]


def _sessions(items: list[dict[str, Any]]) -> list[ServiceSession]:
    found = []
    for t in items or []:
        first = _d(t.get("date") or t.get("weekly_from"))
        days = weekly(first, _d(t["weekly_until"])) if t.get("weekly_until") else [first]
        found += [ServiceSession(starts_on=day, start_time=t.get("start_time"), end_time=t.get("end_time"),
                                 place=t.get("place"), seats=t.get("seats", "unbekannt"),
                                 registration_note=t.get("registration_note")) for day in days]
    return found


def _session_key(s: ServiceSession) -> tuple:
    return (s.starts_on, s.start_time or "", s.end_time or "", s.place or "", s.seats, s.registration_note or "")


def _phone_key(p: Phone) -> tuple:
    return (p.number, p.extension or "", p.type, p.description or "", p.visibility)


def _schedule_key(s: Schedule) -> tuple:
    return (s.byday, s.opens_at or "", s.closes_at or "", s.description or "")


def load_organisation(session: Session, item: dict[str, Any], ctx: _Context, report: SeedReport) -> None:
    """Create or update one organisation with its locations, offers, phones, contacts and hours."""
    values = _entry_values(item, ctx) | {
        "name": item["name"], "alternate_name": item.get("alternate_name"), "description": item.get("description"),
        "email": item.get("email"), "website": item.get("website"), "legal_status": item.get("legal_status"),
        "sector": item.get("sector"), "is_employer": bool(item.get("is_employer", False)), "source_id": item["key"],
    }
    where = (Organization.source_name == SOURCE) & (Organization.source_id == item["key"])
    org = session.scalar(select(Organization).where(where))
    if ctx.kept("organization", org, ("phone", org.phones if org else []), ("contact", org.contacts if org else [])):
        report.kept["organisations"] += 1
        _children(session, org, item, ctx, report)
        return
    org = _upsert(session, report, "organisations", Organization, where, values)
    changed = _replace_children(org.phones, _phones(item.get("phones")), _phone_key)
    contacts = [Contact(name=c["name"], title=c.get("title"), department=c.get("department"), email=c.get("email"),
                        phone=c.get("phone")) for c in item.get("contacts") or []]
    changed |= _replace_children(org.contacts, contacts, lambda c: (c.name, c.title or "", c.department or "",
                                                                   c.email or "", c.phone or ""))
    if changed and org.id is not None:
        report.updated["organisation children"] += 1
    _children(session, org, item, ctx, report)


def _children(session: Session, org: Organization, item: dict[str, Any], ctx: _Context, report: SeedReport) -> None:
    locations = {loc["key"]: _location(session, org, item["key"], loc, ctx, report) for loc in item.get("locations") or []}
    for svc in item.get("services") or []:
        _service(session, org, item["key"], svc, locations, ctx, report)


def _location(session: Session, org: Organization, org_key: str, item: dict[str, Any], ctx: _Context,
              report: SeedReport) -> Location:
    source_id = f"{org_key}/{item['key']}"
    physical = item.get("location_type", "physical") == "physical"
    gemeinde = ctx.regions.get(item.get("gemeinde") or "")
    lat, lon = item.get("latitude"), item.get("longitude")
    precision, geo_source = "unbekannt", None
    if physical and lat is not None:
        has_number = bool(re.search(r"\d", item.get("address_1") or ""))
        precision, geo_source = ("exakt" if has_number else "gemeinde"), "seed"
    elif physical:
        found = offline_lookup(session, item.get("postal_code"), item.get("city"))
        if found:
            lat, lon, precision, geo_source = found.latitude, found.longitude, found.precision, found.source
    values = {
        "organization": org, "location_type": item.get("location_type", "physical"), "name": item.get("name"),
        "description": item.get("description"), "transportation": item.get("transportation"),
        "accessibility_description": item.get("accessibility_description"), "url": item.get("url"),
        "latitude": lat, "longitude": lon, "geo_precision": precision, "geo_source": geo_source,
        "address_precision": item.get("address_precision") or "exakt", "gemeinde": gemeinde,
        "source_name": SOURCE, "source_id": source_id,
    }
    where = (Location.source_name == SOURCE) & (Location.source_id == source_id)
    loc = session.scalar(select(Location).where(where))
    if loc is not None and ctx.kept("location", loc, ("address", [loc.address] if loc.address else []),
                                    ("phone", loc.phones), ("schedule", loc.schedules)):
        report.kept["locations"] += 1
        return loc
    loc = _upsert(session, report, "locations", Location, where, values)
    if loc.geocoded_at is None and geo_source:
        loc.geocoded_at = utcnow()
    if physical:
        kreis = gemeinde.ancestor("kreis") if gemeinde else None
        land = gemeinde.ancestor("bundesland") if gemeinde else None
        addr_values = {"address_1": item.get("address_1"), "address_2": item.get("address_2"),
                       "postal_code": item.get("postal_code"), "city": item["city"],
                       "region": kreis.name if kreis else None, "state_province": land.name if land else None,
                       "country": "DE"}
        if loc.address is None:
            loc.address = Address(**addr_values)
        else:
            assign(loc.address, addr_values)
    _replace_children(loc.phones, _phones(item.get("phones")), _phone_key)
    _replace_children(loc.schedules, _schedules(item.get("opening_hours")), _schedule_key)
    return loc


def _service(session: Session, org: Organization, org_key: str, item: dict[str, Any], locations: dict[str, Location],
             ctx: _Context, report: SeedReport) -> None:
    source_id = f"{org_key}/{item['key']}"
    values = _entry_values(item, ctx) | {
        "organization": org, "source_id": source_id,
        "categories": sorted((ctx.terms[c] for c in item["categories"]), key=lambda t: t.slug),
        "jobcenters": sorted((ctx.jobcenters[j] for j in item.get("jobcenters", [])), key=lambda j: j.slug),
        "status": item.get("status", "aktiv"), "intake_status": item.get("intake_status", "unbekannt"),
        "short_notice": bool(item.get("short_notice", False)), "supra_regional": bool(item.get("supra_regional", False)),
    }
    for key in ("name", "alternate_name", "description", "summary_plain", "url", "email", "alert", "fees_description",
                "target_group", "eligibility_description", "minimum_age", "maximum_age", "application_process",
                "waiting_time", "delivery_format", "setting"):
        values[key] = item.get(key)
    for key in vocab.LIST_FIELDS:
        values[key] = list(item.get(key) or [])
    for key in ("valid_from", "valid_to", "waiting_time_confirmed_at", "intake_status_confirmed_at",
                "opening_hours_confirmed_at"):
        values[key] = _d(item.get(key))
    if not item.get("owner"):
        values["owner"], values["deputy"] = None, None
    svc = session.scalar(select(Service).where(Service.source_name == SOURCE, Service.source_id == source_id))
    if ctx.kept("service", svc, ("phone", svc.phones if svc else []), ("schedule", svc.schedules if svc else []),
                ("service_session", svc.sessions if svc else []),
                ("service_at_location", svc.service_at_locations if svc else [])):
        report.kept["services"] += 1
        return
    if svc is not None and sorted(t.slug for t in svc.categories) == [t.slug for t in values["categories"]]:
        values.pop("categories")
    if svc is not None and sorted(j.slug for j in svc.jobcenters) == [j.slug for j in values["jobcenters"]]:
        values.pop("jobcenters")
    svc = _upsert(session, report, "services", Service,
                  (Service.source_name == SOURCE) & (Service.source_id == source_id), values)
    wanted = [locations[k] for k in item.get("locations", [])]
    if sorted(id(sal.location) for sal in svc.service_at_locations) != sorted(map(id, wanted)):
        svc.service_at_locations[:] = [ServiceAtLocation(location=loc) for loc in wanted]
    _replace_children(svc.phones, _phones(item.get("phones")), _phone_key)
    _replace_children(svc.schedules, _schedules(item.get("opening_hours")), _schedule_key)
    _replace_children(svc.sessions, _sessions(item.get("sessions")), _session_key)


def demo_files(seeds_dir: Path) -> list[Path]:
    """The demo data files, in a stable order."""
    return sorted((seeds_dir / "demo").glob("*.json"))


def seed(session: Session, seeds_dir: Path = SEEDS, demo: bool = True) -> SeedReport:
    """Validate every seed file, then load them; the caller commits. Raises SeedError before any write."""
    taxonomy = read_json(seeds_dir / "taxonomy.json")
    regions = read_json(seeds_dir / "regions.json")
    users = read_json(seeds_dir / "users.json")
    files = [(p, read_json(p)) for p in demo_files(seeds_dir)] if demo else []
    known = _known(session, taxonomy, regions, users)
    errors: list[str] = []
    for path, data in files:
        if not isinstance(data.get("organisations"), list):
            errors.append(f"{path}: expected a list under 'organisations'")
            continue
        errors.extend(validate_organisations(data["organisations"], known, path.name))
    keys = Counter(o.get("key") for _p, d in files for o in d.get("organisations") or [] if isinstance(o, dict))
    errors.extend(f"organisation key {k!r} appears in {n} places" for k, n in keys.items() if n > 1)
    if errors:
        shown = "\n  ".join(errors[:25])
        more = f"\n  … and {len(errors) - 25} more" if len(errors) > 25 else ""
        raise SeedError(f"{len(errors)} problem(s) in the seed files, nothing was loaded:\n  {shown}{more}")
    set_actor(session, "seed")
    report = SeedReport()
    with session.no_autoflush:
        load_taxonomy(session, taxonomy, report)
        load_regions(session, regions, report)
        load_users(session, users, report)
    session.flush()
    ctx = _Context(session)
    with session.no_autoflush:
        for _path, data in files:
            for item in data["organisations"]:
                load_organisation(session, item, ctx, report)
    session.flush()
    return report


def _known(session: Session, taxonomy: dict, regions: dict, users: dict) -> dict[str, set[str]]:
    """Slugs and e-mails a demo file may refer to: from the seed files and from the database."""
    try:
        categories = {t["slug"] for t in taxonomy["terms"]} | {c["slug"] for t in taxonomy["terms"] for c in t.get("children", [])}
        gemeinden = {g["slug"] for land in regions["bundeslaender"] for k in land["kreise"] for g in k["gemeinden"]}
        jobcenters = {j["slug"] for j in regions.get("jobcenters", [])}
        emails = {u["email"].lower() for u in users["users"]}
        deputies = {u["email"].lower() for u in users["users"] if u.get("role") == "coordinator"}
    except (KeyError, TypeError) as exc:
        raise SeedError(f"taxonomy.json, regions.json or users.json lacks the expected structure ({exc!r})") from None
    categories |= set(session.scalars(select(TaxonomyTerm.slug)))
    gemeinden |= set(session.scalars(select(Region.slug).where(Region.kind == "gemeinde")))
    jobcenters |= set(session.scalars(select(Jobcenter.slug)))
    emails |= set(session.scalars(select(User.email)))
    deputies |= set(session.scalars(select(User.email).where(User.role == "coordinator")))
    return {"categories": categories, "gemeinden": gemeinden, "jobcenters": jobcenters, "users": emails,
            "coordinators": deputies}
