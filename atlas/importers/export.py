"""Exports: HSDS 3.0 tabular data package and JSON, CSV for Excel (formula-safe) and GeoJSON.

Public exports hold exactly what anonymous visitors may see (public_condition, public phones, protected
addresses reduced); internal exports add internal fields and entries, for coordinators only.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from flask import current_app, has_app_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from .. import vocab
from ..hsds import (
    CATEGORY_TAXONOMY,
    FACETS,
    PROFILE_URI,
    derived_id,
    internal_category,
    iso,
    organization_record,
    service_record,
    taxonomy_record,
)
from ..models import AuditLog, Location, Organization, Service
from ..privacy import shown_precision
from ..queries import public_condition, with_details
from .hsds import TABLES, columns

Tables = dict[str, list[dict[str, Any]]]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXPORT_FORMATS = ("hsds", "json", "csv", "xlsx", "geojson")


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# Where each nested HSDS object goes in the tabular package.
NESTED = {
    "organization": "organizations.csv", "locations": "locations.csv", "location": "locations.csv",
    "service_at_locations": "service_at_location.csv", "addresses": "addresses.csv", "phones": "phones.csv",
    "contacts": "contacts.csv", "schedules": "schedules.csv", "languages": "languages.csv",
    "accessibility": "accessibility.csv", "cost_options": "cost_options.csv", "service_areas": "service_areas.csv",
    "required_documents": "required_documents.csv", "attributes": "attributes.csv",
    "taxonomy_term": "taxonomy_terms.csv", "taxonomy_detail": "taxonomies.csv", "funding": "funding.csv",
    "programs": "programs.csv", "program": "programs.csv", "organization_identifiers": "organization_identifiers.csv",
    "metadata": "metadata.csv",
}
# Every metadata cell is a value: an empty previous_value means "was empty" (HSDS requires the column).
KEEP_EMPTY = {"metadata.csv": {"missingValues": []}}
# Audit-log entity types exported as HSDS metadata, with the HSDS resource type.
METADATA_TYPES = {"organization": ("organization", "organizations.csv"), "service": ("service", "services.csv"),
                  "location": ("location", "locations.csv")}


def flatten_into(t: Tables, seen: dict[str, set[str]], table: str, obj: dict[str, Any]) -> None:
    """Add a nested HSDS object and everything below it to the package's tables (each id once)."""
    if obj["id"] not in seen[table]:
        seen[table].add(obj["id"])
        t[table].append({k: v for k, v in obj.items() if k not in NESTED})
    for key, child_table in NESTED.items():
        value = obj.get(key)
        for child in value if isinstance(value, list) else [value] if isinstance(value, dict) else []:
            flatten_into(t, seen, child_table, child)


class Exporter:
    """Collects the exported entries once and renders them in each format."""

    def __init__(self, session: Session, internal: bool) -> None:
        self.session = session
        self.internal = internal
        # Contacts and owners are loaded for both exports: the internal columns read them, the public ones do not.
        stmt = with_details(select(Service).join(Service.organization), internal=True)
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
        self._metadata: dict[str, list[dict[str, Any]]] | None = None

    # -- HSDS tables -------------------------------------------------------------------------------------

    def organisation_records(self) -> list[dict[str, Any]]:
        """Every exported organisation with its sites (offer-less sites included)."""
        return [organization_record(org, self.internal, with_locations=True) for org in self.organizations]

    def service_records(self) -> list[dict[str, Any]]:
        """Every exported offer as an HSDS service, with its change history as HSDS metadata."""
        records = [service_record(svc, self.internal) for svc in self.services]
        history = self.metadata()
        for record in records:
            if history.get(record["id"]):
                record["metadata"] = history[record["id"]]
        return records

    def tables(self) -> Tables:
        """All package tables as lists of rows with exactly the export's columns."""
        t: Tables = defaultdict(list)
        seen: dict[str, set[str]] = defaultdict(set)
        history = self.metadata()
        for org in self.organisation_records():
            flatten_into(t, seen, "organizations.csv", org)
        for record in self.service_records():
            flatten_into(t, seen, "services.csv", record)
        for resource_id, rows in history.items():
            for row in rows:
                flatten_into(t, seen, "metadata.csv", row)
        for code, label in [(CATEGORY_TAXONOMY, "Kategorien des Netzwerkatlas"),
                            *((taxonomy, label) for taxonomy, label, _v in FACETS.values())]:
            flatten_into(t, seen, "taxonomies.csv", taxonomy_record(code, label))
        t["taxonomies.csv"].sort(key=lambda r: r["name"])
        t["taxonomy_terms.csv"].sort(key=lambda r: (r["taxonomy_id"], r["code"]))
        return {name: [{c: _value(row.get(c)) for c in columns(name, self.internal)} for row in t.get(name, [])]
                for name in TABLES}

    def metadata(self) -> dict[str, list[dict[str, Any]]]:
        """HSDS metadata from the audit log: the last change of each exported entry, one row per field.

        Public exports name no person and carry only the fields the public export holds.
        """
        if self._metadata is not None:
            return self._metadata
        uuids = {"organization": {o.id: o.uuid for o in self.organizations},
                 "service": {s.id: s.uuid for s in self.services},
                 # A protected site's history would reveal its street and pin: public exports leave it out.
                 "location": {loc.id: loc.uuid for loc in self.locations if self.internal or not loc.is_protected}}
        last: dict[tuple[str, int], AuditLog] = {}
        for kind, ids in uuids.items():
            for chunk in _chunks(list(ids), 500):
                for entry in self.session.scalars(select(AuditLog).where(
                        AuditLog.entity_type == kind, AuditLog.entity_id.in_(chunk)).order_by(AuditLog.id)):
                    last[(kind, entry.entity_id)] = entry
        result: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for (kind, entity_id), entry in sorted(last.items(), key=lambda x: (x[0][0], x[0][1])):
            resource_type, table = METADATA_TYPES[kind]
            allowed = set(columns(table, self.internal))
            resource_id = uuids[kind][entity_id]
            for field, change in sorted((entry.changes or {}).items()):
                if field not in allowed or not isinstance(change, list) or len(change) != 2:
                    continue
                result[resource_id].append({
                    "id": derived_id("metadata", str(entry.id), field), "resource_id": resource_id,
                    "resource_type": resource_type, "last_action_date": iso(entry.at),
                    "last_action_type": entry.action, "field_name": field, "previous_value": _text(change[0]),
                    "replacement_value": _text(change[1]),
                    "updated_by": (entry.user.email if entry.user else entry.actor) if self.internal else "Netzwerkatlas"})
        self._metadata = dict(result)
        return self._metadata

    # -- renderings --------------------------------------------------------------------------------------

    def datapackage(self) -> dict[str, Any]:
        """datapackage.json: every HSDS 3.0 table (all columns, then the DE-profile columns) and the data licence."""
        resources = []
        for name in TABLES:
            cols = columns(name, self.internal)
            resources.append({"name": name.removesuffix(".csv"), "path": name, "profile": "tabular-data-resource",
                              "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                              "schema": {"fields": [{"name": c, "type": _field_type(c)} for c in cols],
                                         "primaryKey": "id", **KEEP_EMPTY.get(name, {})}})
        licence = export_licence()
        return {"name": "atlas-hsds-export", "title": "Netzwerkatlas – Export (Open Referral HSDS 3.0)",
                "profile": "tabular-data-package", "hsds_version": "3.0", "hsds_profile": PROFILE_URI,
                "licenses": [licence],
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
        """Services as HSDS 3.0 JSON (the same objects the API serves, plus their metadata)."""
        return self.service_records()

    def sheet(self) -> tuple[list[str], list[list[Any]]]:
        """One row per offer with every field of the model (spreadsheet exports: CSV and xlsx)."""
        header = [label for label, _get in SHEET_COLUMNS]
        if self.internal:
            header += [label for label, _get in INTERNAL_SHEET_COLUMNS]
        rows = []
        for svc in self.services:
            locations = [loc for loc in svc.locations if loc.id in self.location_ids]
            lines = [self._address(loc) for loc in locations]
            phones = [p.number + (f"-{p.extension}" if p.extension else "")
                      for p in [*svc.phones, *svc.organization.phones, *(p for loc in locations for p in loc.phones)]
                      if self.internal or p.visibility == "public"]
            hours = [f"{s.byday} {s.opens_at or ''}-{s.closes_at or ''}".strip(" -")
                     for s in [*svc.schedules, *(s for loc in locations for s in loc.schedules)]]
            ctx = {"svc": svc, "first": lines[0] if lines else ("", "", ""), "more": lines[1:],
                   "phones": list(dict.fromkeys(phones)), "hours": hours,
                   "categories": [t.name for t in svc.categories if self.internal or not internal_category(t)]}
            row = [get(ctx) for _label, get in SHEET_COLUMNS]
            if self.internal:
                row += [get(ctx) for _label, get in INTERNAL_SHEET_COLUMNS]
            rows.append(row)
        return header, rows

    def excel_csv(self) -> str:
        """The sheet as `;`-separated CSV with a UTF-8 BOM, every cell safe against formula injection."""
        header, rows = self.sheet()
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([safe_cell(v) for v in row])
        return "\ufeff" + buffer.getvalue()

    def xlsx(self, target: Path | io.BytesIO) -> None:
        """The sheet as an Excel workbook: every cell typed text (phone numbers and codes show as typed, a
        leading = is text, never a formula), dates as dates, numbers as numbers."""
        header, rows = self.sheet()
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Angebote")
        sheet.freeze_panes = "A2"
        sheet.append([_text_cell(sheet, h, bold=True) for h in header])
        for row in rows:
            sheet.append([_text_cell(sheet, v) for v in row])
        workbook.save(target)

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
                    "categories": [c.slug for c in svc.categories if self.internal or not internal_category(c)],
                    "location": loc["name"], "address_1": addr.get("address_1"), "postal_code": addr.get("postal_code"),
                    "city": addr.get("city"), "url": svc.url or svc.organization.website,
                    "address_protected": loc["address_precision"] != "exakt",
                    "geo_precision": loc["geo_precision"]}})
        return {"type": "FeatureCollection", "features": features}


def _joined(values: list[Any], sep: str = ", ") -> str:
    return sep.join(str(v) for v in values if v)


def _labels(vocabulary: dict[str, tuple[str, str]], codes: list[str] | None) -> str:
    return ", ".join(vocab.label(vocabulary, c) for c in codes or [])


def _yes(value: bool | None) -> str:
    return "ja" if value else "nein"


def _more_sites(lines: list[tuple[str, str, str]]) -> str:
    return " | ".join(", ".join(p for p in (a, f"{b} {c}".strip()) if p) for a, b, c in lines)


# Spreadsheet columns: German label and how to get the value from the row context (svc, first, more, phones ...).
SHEET_COLUMNS: list[tuple[str, Any]] = [
    ("ID", lambda c: c["svc"].uuid), ("Name", lambda c: c["svc"].name),
    ("Träger", lambda c: c["svc"].organization.name), ("Kurzname", lambda c: c["svc"].alternate_name),
    ("Beschreibung", lambda c: c["svc"].description), ("In einfacher Sprache", lambda c: c["svc"].summary_plain),
    ("Kategorien", lambda c: _joined(c["categories"])), ("Straße", lambda c: c["first"][0]),
    ("PLZ", lambda c: c["first"][1]), ("Ort", lambda c: c["first"][2]),
    ("Weitere Standorte", lambda c: _more_sites(c["more"])), ("Telefon", lambda c: _joined(c["phones"], "; ")),
    ("E-Mail", lambda c: c["svc"].email or c["svc"].organization.email),
    ("Web", lambda c: c["svc"].url or c["svc"].organization.website),
    ("Öffnungszeiten", lambda c: _joined(c["hours"], "; ")), ("Zielgruppe", lambda c: c["svc"].target_group),
    ("Voraussetzungen", lambda c: c["svc"].eligibility_description),
    ("Mindestalter", lambda c: c["svc"].minimum_age), ("Höchstalter", lambda c: c["svc"].maximum_age),
    ("Anmeldung", lambda c: c["svc"].application_process),
    ("Zugang", lambda c: _labels(vocab.ACCESS_ROUTES, c["svc"].access_routes)),
    ("Rechtskreis", lambda c: _labels(vocab.LEGAL_DOMAINS, c["svc"].legal_domains)),
    ("Kontaktwege", lambda c: _labels(vocab.CONTACT_CHANNELS, c["svc"].contact_channels)),
    ("Barrierefreiheit", lambda c: _labels(vocab.ACCESSIBILITY, c["svc"].accessibility)),
    ("Sprachen", lambda c: _labels(vocab.LANGUAGES, c["svc"].languages)),
    ("Dolmetschen", lambda c: c["svc"].interpretation_services),
    ("Kosten", lambda c: _labels(vocab.COST_OPTIONS, c["svc"].cost_options)),
    ("Kostenhinweis", lambda c: c["svc"].fees_description),
    ("Benötigte Unterlagen", lambda c: _joined(c["svc"].required_documents or [], "; ")),
    ("Wartezeit", lambda c: c["svc"].waiting_time), ("Wartezeit geprüft am", lambda c: c["svc"].waiting_time_confirmed_at),
    ("Aufnahme", lambda c: vocab.label(vocab.INTAKE_STATUS, c["svc"].intake_status)),
    ("Aufnahme geprüft am", lambda c: c["svc"].intake_status_confirmed_at),
    ("Öffnungszeiten geprüft am", lambda c: c["svc"].opening_hours_confirmed_at),
    ("Form", lambda c: vocab.label(vocab.DELIVERY_FORMAT, c["svc"].delivery_format) if c["svc"].delivery_format else ""),
    ("Setting", lambda c: vocab.label(vocab.SETTING, c["svc"].setting) if c["svc"].setting else ""),
    ("Kurzfristig", lambda c: _yes(c["svc"].short_notice)), ("Überregional", lambda c: _yes(c["svc"].supra_regional)),
    ("Jobcenter", lambda c: _joined(sorted(j.name for j in c["svc"].jobcenters))),
    ("Laufzeit ab", lambda c: c["svc"].valid_from), ("Laufzeit bis", lambda c: c["svc"].valid_to),
    ("Hinweis", lambda c: c["svc"].alert), ("Akkreditierungen", lambda c: c["svc"].accreditations),
    ("Zulassungen", lambda c: c["svc"].licenses), ("Status", lambda c: vocab.label(vocab.STATUS, c["svc"].status)),
    ("Zuletzt geprüft", lambda c: c["svc"].assured_date), ("Zuletzt geändert", lambda c: c["svc"].updated_at),
]
INTERNAL_SHEET_COLUMNS: list[tuple[str, Any]] = [
    ("Sichtbarkeit", lambda c: vocab.label(vocab.VISIBILITY, c["svc"].visibility)),
    ("Interne Notiz", lambda c: c["svc"].internal_note),
    ("Verantwortlich", lambda c: c["svc"].effective_owner.email if c["svc"].effective_owner else ""),
    ("Vertretung", lambda c: c["svc"].deputy.email if c["svc"].deputy else ""),
    ("Ansprechpersonen", lambda c: _joined([x.name for x in c["svc"].contacts], "; ")),
]


def _text_cell(sheet: Any, value: Any, bold: bool = False) -> WriteOnlyCell:
    """A cell that shows exactly its value: text stays text (even "=..." or "+49 ..."), never a formula."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # openpyxl would store "=..." as a formula
        cell.number_format = "@"
    else:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, datetime):
            cell.number_format = "DD.MM.YYYY HH:MM"
        elif isinstance(value, date):
            cell.number_format = "DD.MM.YYYY"
    if bold:
        cell.font = Font(bold=True)
    return cell


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


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def export_licence() -> dict[str, str]:
    """The licence the exported data is published under (EXPORT_LICENCE_* settings)."""
    config = current_app.config if has_app_context() else {}
    return {"name": config.get("EXPORT_LICENCE_NAME", "CC-BY-4.0"),
            "title": config.get("EXPORT_LICENCE_TITLE", "Creative Commons Attribution 4.0"),
            "path": config.get("EXPORT_LICENCE_URL", "https://creativecommons.org/licenses/by/4.0/")}


def _field_type(column: str) -> str:
    if column in ("latitude", "longitude", "minimum_age", "maximum_age", "extension", "year_incorporated", "count",
                  "interval", "amount", "timezone"):
        return "number"
    if column in ("short_notice", "supra_regional", "is_employer"):
        return "boolean"
    if column.endswith(("_date", "_at", "valid_from", "valid_to")) and column not in ("opens_at", "closes_at"):
        return "date"
    if column in ("last_modified", "last_action_date"):
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
    elif fmt == "xlsx":
        exporter.xlsx(target)
    elif fmt == "geojson":
        target.write_text(json.dumps(exporter.geojson(), ensure_ascii=False), encoding="utf-8")
    else:
        raise ValueError(f"unknown export format {fmt!r} (possible: {', '.join(EXPORT_FORMATS)})")
    return target, len(exporter.services)
