"""Exports: HSDS 3.0 tabular data package and JSON, CSV for Excel (formula-safe) and GeoJSON.

Public exports hold exactly what anonymous visitors may see (public_condition, public phones, protected
addresses reduced); internal exports add internal fields and entries, for coordinators only.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import vocab
from ..models import Location, Organization, Phone, Schedule, Service, TaxonomyTerm
from ..presenters import iso
from ..privacy import location_position, public_text, shown_precision
from ..queries import public_condition, with_details
from .hsds import FACETS, NAMESPACE, PROFILE_URI, TABLES, TAXONOMY_ID, child_id, columns

Tables = dict[str, list[dict[str, Any]]]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXPORT_FORMATS = ("hsds", "json", "csv", "geojson")


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(parts)))


def _internal_category(term: TaxonomyTerm) -> bool:
    return term.internal_only or bool(term.parent and term.parent.internal_only)


class Exporter:
    """Collects the exported entries once and renders them in each format."""

    def __init__(self, session: Session, internal: bool) -> None:
        self.session = session
        self.internal = internal
        stmt = with_details(select(Service).join(Service.organization)).options(
            selectinload(Service.contacts), selectinload(Service.owner), selectinload(Service.deputy),
            selectinload(Service.assured_by),
            selectinload(Service.organization).options(selectinload(Organization.contacts),
                                                       selectinload(Organization.owner),
                                                       selectinload(Organization.deputy)))
        stmt = stmt.where(public_condition()) if not internal else stmt
        self.services: list[Service] = list(session.scalars(stmt.order_by(Service.id)))
        org_stmt = select(Organization).options(
            selectinload(Organization.phones), selectinload(Organization.contacts), selectinload(Organization.owner),
            selectinload(Organization.deputy),
            selectinload(Organization.locations).options(selectinload(Location.address), selectinload(Location.phones),
                                                         selectinload(Location.schedules),
                                                         selectinload(Location.gemeinde)))
        if not internal:
            org_stmt = org_stmt.where(Organization.visibility == "public", Organization.archived_at.is_(None))
        self.organizations: list[Organization] = list(session.scalars(org_stmt.order_by(Organization.id)))
        org_ids = {o.id for o in self.organizations}
        self.services = [s for s in self.services if s.organization_id in org_ids]
        self.locations: list[Location] = [
            loc for org in self.organizations for loc in sorted(org.locations, key=lambda x: x.id)
            if loc.archived_at is None and (internal or loc.visibility == "public")]
        self.location_ids = {loc.id for loc in self.locations}

    # -- HSDS tables -------------------------------------------------------------------------------------

    def tables(self) -> Tables:
        """All package tables as lists of rows with exactly the export's columns."""
        t: Tables = defaultdict(list)
        for org in self.organizations:
            t["organizations.csv"].append(self._organisation(org))
            self._phones(t, org.phones, "organization_id", org.uuid)
            self._contacts(t, org.contacts, "organization_id", org.uuid)
        for loc in self.locations:
            self._location(t, loc)
        used_terms: dict[str, dict[str, Any]] = {}
        for svc in self.services:
            self._service(t, svc, used_terms)
        t["taxonomies.csv"] = self._taxonomies()
        t["taxonomy_terms.csv"] = sorted(used_terms.values(), key=lambda r: (r["taxonomy_id"], r["code"]))
        return {name: [{c: _value(row.get(c)) for c in columns(name, self.internal)} for row in t.get(name, [])]
                for name in TABLES if columns(name, self.internal)}

    def _organisation(self, org: Organization) -> dict[str, Any]:
        row = {c: getattr(org, c, None) for c in ("name", "alternate_name", "description", "email", "website",
                                                   "legal_status", "sector", "assured_date")}
        row["id"] = org.uuid
        if self.internal:
            row |= {"visibility": org.visibility, "internal_note": org.internal_note, "is_employer": org.is_employer,
                    "owner_email": org.owner.email if org.owner else None,
                    "deputy_email": org.deputy.email if org.deputy else None}
        return row

    def _phones(self, t: Tables, phones: list[Phone], key: str, parent: str) -> None:
        for n, p in enumerate(sorted(phones, key=lambda x: x.id), start=1):
            if not self.internal and p.visibility != "public":
                continue
            t["phones.csv"].append({"id": child_id(parent, "phone", n), key: parent, "number": p.number,
                                    "extension": p.extension, "type": p.type, "description": p.description,
                                    "visibility": p.visibility})

    def _contacts(self, t: Tables, contacts: list, key: str, parent: str) -> None:
        if not self.internal:
            return
        for n, c in enumerate(sorted(contacts, key=lambda x: x.id), start=1):
            t["contacts.csv"].append({"id": child_id(parent, "contact", n), key: parent, "name": c.name,
                                      "title": c.title, "department": c.department, "email": c.email, "phone": c.phone})

    def _schedules(self, t: Tables, schedules: list[Schedule], key: str, parent: str) -> None:
        for n, s in enumerate(sorted(schedules, key=lambda x: x.id), start=1):
            t["schedules.csv"].append({"id": child_id(parent, "schedule", n), key: parent, "freq": s.freq,
                                       "byday": s.byday, "opens_at": s.opens_at, "closes_at": s.closes_at,
                                       "valid_from": s.valid_from, "valid_to": s.valid_to,
                                       "description": s.description})

    def _location(self, t: Tables, loc: Location) -> None:
        precision = shown_precision(loc.address_precision, self.internal)
        position = location_position(loc, self.internal)
        text = public_text(loc, self.internal)
        t["locations.csv"].append({
            "id": loc.uuid, "organization_id": loc.organization.uuid, "location_type": loc.location_type,
            "name": text["name"], "description": text["description"], "transportation": text["transportation"],
            "latitude": position[0] if position else None, "longitude": position[1] if position else None,
            "url": text["url"], "address_precision": loc.address_precision,
            "geo_precision": loc.geo_precision if precision == "exakt" else precision,
            "gemeinde": loc.gemeinde.slug if loc.gemeinde else None, "visibility": loc.visibility})
        addr = loc.address
        if addr is not None:
            t["addresses.csv"].append({
                "id": child_id(loc.uuid, "address", 1), "location_id": loc.uuid, "address_1": addr.street(precision),
                "address_2": addr.address_2 if precision == "exakt" else None, "city": addr.city,
                "region": addr.region, "state_province": addr.state_province,
                "postal_code": None if precision == "gemeinde" else addr.postal_code, "country": addr.country,
                "address_type": "physical" if loc.location_type != "postal" else "postal"})
        if text["accessibility_description"]:
            t["accessibility.csv"].append({"id": child_id(loc.uuid, "accessibility", 1), "location_id": loc.uuid,
                                           "description": text["accessibility_description"]})
        self._phones(t, loc.phones, "location_id", loc.uuid)
        self._schedules(t, loc.schedules, "location_id", loc.uuid)

    def _service(self, t: Tables, svc: Service, used_terms: dict[str, dict[str, Any]]) -> None:
        row = {c: getattr(svc, c) for c in (
            "name", "alternate_name", "description", "url", "email", "application_process", "fees_description",
            "eligibility_description", "minimum_age", "maximum_age", "alert", "assured_date", "summary_plain",
            "target_group", "waiting_time", "waiting_time_confirmed_at", "intake_status",
            "intake_status_confirmed_at", "opening_hours_confirmed_at", "delivery_format", "setting",
            "short_notice", "supra_regional", "valid_from", "valid_to")}
        row |= {"id": svc.uuid, "organization_id": svc.organization.uuid, "status": vocab.STATUS_HSDS[svc.status],
                "last_modified": svc.updated_at}
        if self.internal:
            row |= {"assurer_email": svc.assured_by.email if svc.assured_by else None, "visibility": svc.visibility,
                    "internal_note": svc.internal_note, "owner_email": svc.owner.email if svc.owner else None,
                    "deputy_email": svc.deputy.email if svc.deputy else None}
        t["services.csv"].append(row)
        for sal in sorted(svc.service_at_locations, key=lambda x: x.location_id):
            if sal.location_id in self.location_ids:
                t["service_at_location.csv"].append({"id": _uuid("sal", svc.uuid, sal.location.uuid),
                                                     "service_id": svc.uuid, "location_id": sal.location.uuid,
                                                     "description": sal.description})
        self._phones(t, svc.phones, "service_id", svc.uuid)
        self._schedules(t, svc.schedules, "service_id", svc.uuid)
        self._contacts(t, svc.contacts, "service_id", svc.uuid)
        for n, code in enumerate(svc.languages or [], start=1):
            t["languages.csv"].append({"id": child_id(svc.uuid, "language", n), "service_id": svc.uuid,
                                       "name": vocab.label(vocab.LANGUAGES, code), "code": code})
        for n, code in enumerate(svc.cost_options or [], start=1):
            t["cost_options.csv"].append({"id": child_id(svc.uuid, "cost", n), "service_id": svc.uuid,
                                          "option": vocab.label(vocab.COST_OPTIONS, code), "currency": "EUR",
                                          "code": code})
        for n, jc in enumerate(sorted(svc.jobcenters, key=lambda j: j.slug), start=1):
            t["service_areas.csv"].append({"id": child_id(svc.uuid, "area", n), "service_id": svc.uuid,
                                           "name": jc.name, "description": jc.short_name, "jobcenter": jc.slug})
        for term in svc.categories:
            if not self.internal and _internal_category(term):
                continue
            term_row = used_terms.setdefault(f"cat:{term.slug}", {
                "id": _uuid("term", term.slug), "code": term.slug, "name": term.name, "description": term.description,
                "parent_id": _uuid("term", term.parent.slug) if term.parent else None, "taxonomy": "atlas",
                "taxonomy_id": TAXONOMY_ID, "language": "de"})
            self._attribute(t, svc, term_row, "Kategorie")
        for field, (taxonomy, label, vocabulary) in FACETS.items():
            for code in getattr(svc, field) or []:
                term_row = used_terms.setdefault(f"{taxonomy}:{code}", {
                    "id": _uuid("term", taxonomy, code), "code": code, "name": vocab.label(vocabulary, code),
                    "taxonomy": label, "taxonomy_id": taxonomy, "language": "de"})
                self._attribute(t, svc, term_row, label)

    def _attribute(self, t: Tables, svc: Service, term_row: dict[str, Any], label: str) -> None:
        t["attributes.csv"].append({"id": _uuid("attribute", svc.uuid, term_row["id"]), "link_id": svc.uuid,
                                    "taxonomy_term_id": term_row["id"], "link_type": "service",
                                    "link_entity": "service", "label": label})

    def _taxonomies(self) -> list[dict[str, Any]]:
        rows = [{"id": TAXONOMY_ID, "name": "Kategorien des Netzwerkatlas", "uri": PROFILE_URI + "#kategorien",
                 "version": "1"}]
        rows += [{"id": taxonomy, "name": label, "uri": PROFILE_URI + "#" + taxonomy, "version": "1"}
                 for taxonomy, label, _v in FACETS.values()]
        return rows

    # -- renderings --------------------------------------------------------------------------------------

    def datapackage(self) -> dict[str, Any]:
        """datapackage.json for the tables (HSDS 3.0 names plus the atlas DE profile columns)."""
        resources = []
        for name in TABLES:
            cols = columns(name, self.internal)
            if not cols:
                continue
            resources.append({"name": name.removesuffix(".csv"), "path": name, "profile": "tabular-data-resource",
                              "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                              "schema": {"fields": [{"name": c, "type": _field_type(c)} for c in cols],
                                         "primaryKey": "id"}})
        return {"name": "atlas-hsds-export", "title": "Netzwerkatlas – Export (Open Referral HSDS 3.0)",
                "profile": "tabular-data-package", "hsds_version": "3.0", "hsds_profile": PROFILE_URI,
                "created": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
                "atlas_scope": "internal" if self.internal else "public", "resources": resources}

    def write_package(self, target: Path) -> Path:
        """Write the tabular data package as a folder, or as a .zip when the target ends with .zip."""
        tables = self.tables()
        files = {name: _csv_text(columns(name, self.internal), rows) for name, rows in tables.items()}
        files["datapackage.json"] = json.dumps(self.datapackage(), ensure_ascii=False, indent=2)
        if target.suffix.lower() == ".zip":
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, text in files.items():
                    archive.writestr(name, text)
        else:
            target.mkdir(parents=True, exist_ok=True)
            for name, text in files.items():
                (target / name).write_text(text, encoding="utf-8")
        return target

    def hsds_json(self) -> list[dict[str, Any]]:
        """Services with nested organisation, locations, phones, schedules and attributes."""
        t = self.tables()
        group = lambda table, key: _group(t.get(table, []), key)  # noqa: E731
        orgs = {o["id"]: o for o in t["organizations.csv"]}
        locations = {loc["id"]: loc for loc in t["locations.csv"]}
        terms = {x["id"]: x for x in t["taxonomy_terms.csv"]}
        phones = {k: group("phones.csv", k) for k in ("organization_id", "service_id", "location_id")}
        schedules = {k: group("schedules.csv", k) for k in ("service_id", "location_id")}
        contacts = {k: group("contacts.csv", k) for k in ("organization_id", "service_id")}
        addresses, access = group("addresses.csv", "location_id"), group("accessibility.csv", "location_id")
        sal = group("service_at_location.csv", "service_id")
        children = {name: group(f"{name}.csv", "service_id") for name in ("languages", "cost_options", "service_areas")}
        attributes = group("attributes.csv", "link_id")
        result = []
        for svc in t["services.csv"]:
            sid = svc["id"]
            org = orgs[svc["organization_id"]]
            item = dict(svc) | {
                "organization": dict(org) | {"phones": phones["organization_id"].get(org["id"], []),
                                             **({"contacts": contacts["organization_id"].get(org["id"], [])}
                                                if self.internal else {})},
                "phones": phones["service_id"].get(sid, []), "schedules": schedules["service_id"].get(sid, []),
                "service_at_locations": [
                    {"id": link["id"], "description": link["description"],
                     "location": dict(locations[link["location_id"]]) | {
                         "addresses": addresses.get(link["location_id"], []),
                         "accessibility": access.get(link["location_id"], []),
                         "phones": phones["location_id"].get(link["location_id"], []),
                         "schedules": schedules["location_id"].get(link["location_id"], [])}}
                    for link in sal.get(sid, [])],
                "attributes": [dict(a) | {"taxonomy_term": terms.get(a["taxonomy_term_id"])}
                               for a in attributes.get(sid, [])],
                **{name: rows.get(sid, []) for name, rows in children.items()},
            }
            if self.internal:
                item["contacts"] = contacts["service_id"].get(sid, [])
            result.append(item)
        return result

    def excel_csv(self) -> str:
        """One row per offer, `;`-separated with a UTF-8 BOM, every cell safe against formula injection."""
        header = ["ID", "Name", "Träger", "Beschreibung", "Kategorien", "Straße", "PLZ", "Ort", "Weitere Standorte",
                  "Telefon", "E-Mail", "Web", "Öffnungszeiten", "Zielgruppe", "Sprachen", "Kosten", "Status",
                  "Zuletzt geprüft"]
        if self.internal:
            header += ["Sichtbarkeit", "Interne Notiz", "Verantwortlich"]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        for svc in self.services:
            locations = [loc for loc in svc.locations if loc.id in self.location_ids]
            lines = [self._address(loc) for loc in locations]
            first = lines[0] if lines else ("", "", "")
            phones = [p.number for p in [*svc.phones, *svc.organization.phones,
                                         *(p for loc in locations for p in loc.phones)]
                      if self.internal or p.visibility == "public"]
            hours = [f"{s.byday} {s.opens_at or ''}-{s.closes_at or ''}".strip(" -")
                     for s in [*svc.schedules, *(s for loc in locations for s in loc.schedules)]]
            cats = [t.name for t in svc.categories if self.internal or not _internal_category(t)]
            row = [svc.uuid, svc.name, svc.organization.name, svc.description, ", ".join(cats), *first,
                   " | ".join(", ".join(p for p in (a, f"{b} {c}".strip()) if p) for a, b, c in lines[1:]),
                   "; ".join(dict.fromkeys(phones)), svc.email or svc.organization.email or "",
                   svc.url or svc.organization.website or "", "; ".join(hours), svc.target_group,
                   ", ".join(vocab.label(vocab.LANGUAGES, c) for c in svc.languages or []),
                   ", ".join(vocab.label(vocab.COST_OPTIONS, c) for c in svc.cost_options or []),
                   vocab.label(vocab.STATUS, svc.status), _value(svc.assured_date)]
            if self.internal:
                owner = svc.effective_owner
                row += [vocab.label(vocab.VISIBILITY, svc.visibility), svc.internal_note,
                        owner.email if owner else ""]
            writer.writerow([safe_cell(v) for v in row])
        return "\ufeff" + buffer.getvalue()

    def _address(self, loc: Location) -> tuple[str, str, str]:
        addr = loc.address
        if addr is None:
            return ("", "", "")
        precision = shown_precision(loc.address_precision, self.internal)
        return (addr.street(precision) or "", "" if precision == "gemeinde" else (addr.postal_code or ""), addr.city)

    def geojson(self) -> dict[str, Any]:
        """A FeatureCollection with one point per offer and site (public positions for public exports)."""
        t = self.tables()
        locations = {loc["id"]: loc for loc in t["locations.csv"]}
        addresses = {a["location_id"]: a for a in t["addresses.csv"]}
        by_uuid = {s.uuid: s for s in self.services}
        features = []
        for link in t["service_at_location.csv"]:
            loc = locations[link["location_id"]]
            if loc["latitude"] is None:
                continue
            svc = by_uuid[link["service_id"]]
            addr = addresses.get(loc["id"], {})
            features.append({
                "type": "Feature", "id": link["id"],
                "geometry": {"type": "Point", "coordinates": [loc["longitude"], loc["latitude"]]},
                "properties": {
                    "service_id": svc.uuid, "name": svc.name, "organization": svc.organization.name,
                    "categories": [c.slug for c in svc.categories if self.internal or not _internal_category(c)],
                    "location": loc["name"], "address_1": addr.get("address_1"), "postal_code": addr.get("postal_code"),
                    "city": addr.get("city"), "url": svc.url or svc.organization.website,
                    "address_protected": loc["address_precision"] != "exakt",
                    "geo_precision": loc["geo_precision"]}})
        return {"type": "FeatureCollection", "features": features}


def safe_cell(value: Any) -> str:
    """A cell for spreadsheets: text starting with = + - @ tab or CR gets a leading apostrophe."""
    text = "" if value is None else str(_value(value))
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_text(cols: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("true" if v is True else "false" if v is False else "" if v is None else v)
                         for k, v in row.items()})
    return buffer.getvalue()


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get(key):
            grouped[row[key]].append(row)
    return grouped


def _field_type(column: str) -> str:
    if column in ("latitude", "longitude"):
        return "number"
    if column in ("minimum_age", "maximum_age"):
        return "integer"
    if column in ("short_notice", "supra_regional", "is_employer"):
        return "boolean"
    if column.endswith(("_date", "_at", "valid_from", "valid_to")) and column not in ("opens_at", "closes_at"):
        return "date"
    if column == "last_modified":
        return "datetime"
    return "string"


def export_to(session: Session, target: Path, fmt: str, internal: bool) -> tuple[Path, int]:
    """Write an export file (or package folder) and return its path and the number of offers."""
    exporter = Exporter(session, internal)
    if fmt == "hsds":
        exporter.write_package(target)
    elif fmt == "json":
        target.write_text(json.dumps(exporter.hsds_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    elif fmt == "csv":
        target.write_text(exporter.excel_csv(), encoding="utf-8", newline="")
    elif fmt == "geojson":
        target.write_text(json.dumps(exporter.geojson(), ensure_ascii=False), encoding="utf-8")
    else:
        raise ValueError(f"unknown export format {fmt!r} (possible: {', '.join(EXPORT_FORMATS)})")
    return target, len(exporter.services)
