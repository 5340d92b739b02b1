"""Open Referral HSDS 3.0: a tabular data package (datapackage.json + CSVs, as a folder or .zip) and HSDS JSON."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from .. import vocab
from ..sessions import is_series, series_sessions
from .files import check_size, decode_text, human_size, load_json, read_bytes
from .hsds import (
    BOOL_FIELDS,
    CATEGORY_TAXONOMIES,
    DATE_FIELDS,
    FACET_BY_TAXONOMY,
    FACETS,
    SERVICE_PROFILE_FIELDS,
    STATUS_FROM_HSDS,
    TABLES,
    TAXONOMY_ID,
)
from .records import (
    AddressData,
    ContactData,
    ImportFileError,
    ImportRecord,
    OPTIONAL_CATEGORY,
    LocationData,
    OrganizationData,
    PhoneData,
    ReadOptions,
    ReadResult,
    ScheduleData,
)

Tables = dict[str, list[dict[str, Any]]]
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SCALARS = (str, int, float, bool, type(None))


# -- loading -------------------------------------------------------------------------------------------------

def read(path: Path, options: ReadOptions) -> ReadResult:
    """Read an HSDS package (folder, datapackage.json or .zip) or HSDS JSON into records."""
    if path.suffix.lower() == ".csv":
        raise ImportFileError(
            f"„{path.name}“ ist nur eine Tabelle eines HSDS-Datenpakets. Bitte das ganze Paket importieren: den "
            "Ordner oder die ZIP-Datei mit datapackage.json, organizations.csv, services.csv, locations.csv usw.")
    if path.is_dir() or path.name == "datapackage.json" or path.suffix.lower() == ".zip":
        tables, licence, warnings, rows = load_package(path, options)
        result = tables_to_records(tables, "hsds", rows)
        result.licence = licence
    else:
        data, warnings = load_json(read_bytes(path, options.max_bytes), "HSDS-JSON-Datei")
        services = services_from_json(data)
        if len(services) > options.max_rows:
            raise ImportFileError(f"Die Datei hat mehr als {options.max_rows} Angebote; bitte aufteilen.")
        result = tables_to_records(flatten(services), "hsds-json")
    result.warnings[:0] = warnings
    return result


def services_from_json(data: Any) -> list[dict[str, Any]]:
    """Accept a list of services, the API's page envelope ({contents: [...]}), {services: [...]} or one service."""
    if isinstance(data, dict):
        for key in ("contents", "services", "items"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            data = [data] if "name" in data else None
    if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
        raise ImportFileError("Die JSON-Datei enthält keine HSDS-Angebote (erwartet: eine Liste von "
                              "„service“-Objekten mit „name“ und „organization“).")
    return data


def load_package(path: Path, options: ReadOptions) -> tuple[Tables, str | None, list[str], dict[str, dict]]:
    """Read every CSV of a tabular data package; returns tables, licence, warnings and source line numbers."""
    check_size(path, options.max_bytes)
    files: dict[str, bytes] = {}
    if path.suffix.lower() == ".zip":
        files = _zip_members(path, options)
    else:
        folder = path if path.is_dir() else path.parent
        for member in folder.iterdir():
            if member.suffix.lower() in (".csv", ".json") and member.is_file():
                files[member.name] = member.read_bytes()
    warnings: list[str] = []
    licence = None
    names: dict[str, str] = {}
    if "datapackage.json" in files:
        package, _w = load_json(files["datapackage.json"], "datapackage.json")
        licence = _licence(package)
        for resource in package.get("resources", []) if isinstance(package, dict) else []:
            if isinstance(resource, dict) and isinstance(resource.get("path"), str):
                names[PurePosixPath(resource["path"]).name] = PurePosixPath(resource["path"]).name
    else:
        warnings.append("Im Paket fehlt datapackage.json; die CSV-Dateien werden an ihren HSDS-Namen erkannt.")
    known = {n for n in files if n in TABLES or n.removesuffix(".csv") + "s.csv" in TABLES}
    if "services.csv" not in files and "organizations.csv" not in files:
        raise ImportFileError("Das ist kein HSDS-Datenpaket: services.csv und organizations.csv fehlen. "
                              f"Gefunden: {', '.join(sorted(files)) or 'nichts'}.")
    tables: Tables = {}
    lines: dict[str, dict] = {}
    for name in sorted(known | {n for n in files if n.endswith(".csv")}):
        table = name if name in TABLES else name.removesuffix(".csv") + "s.csv"
        text, w = decode_text(files[name], name)
        warnings += [f"{name}: {x}" for x in w]
        reader = csv.DictReader(io.StringIO(text), strict=True)
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise ImportFileError(f"{name}, Zeile {reader.line_num}: kein gültiges CSV ({exc}); "
                                  "ist die Datei abgeschnitten?") from None
        tables[table] = rows
        lines[table] = {id(r): i + 2 for i, r in enumerate(rows)}
    return tables, licence, warnings, lines


def _zip_members(path: Path, options: ReadOptions) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ImportFileError("Die ZIP-Datei ist beschädigt oder unvollständig.") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        total = sum(m.file_size for m in members)
        if len(members) > options.xlsx_max_members or total > options.xlsx_max_uncompressed:
            raise ImportFileError(f"Die ZIP-Datei würde entpackt {human_size(total)} in {len(members)} Dateien "
                                  "ergeben; das ist zu viel. Sie wird nicht geöffnet.")
        return {PurePosixPath(m.filename).name: archive.read(m) for m in members
                if m.filename.lower().endswith((".csv", ".json"))}


def _licence(package: Any) -> str | None:
    licences = package.get("licenses") or ([package["license"]] if package.get("license") else [])
    for item in licences:
        if isinstance(item, dict):
            return item.get("title") or item.get("name") or item.get("type")
        if isinstance(item, str):
            return item
    return None


# -- nested JSON to tables -----------------------------------------------------------------------------------

def _scalars(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if isinstance(v, SCALARS)}


def flatten(services: list[dict[str, Any]]) -> Tables:
    """Turn nested HSDS services (our export or our API) into the package's tables."""
    t: Tables = defaultdict(list)
    seen: dict[str, set] = defaultdict(set)

    def add(table: str, row: dict[str, Any], key: str | None = None) -> None:
        if key is not None:
            if key in seen[table]:
                return
            seen[table].add(key)
        t[table].append(row)

    for n, s in enumerate(services, start=1):
        org = s.get("organization") if isinstance(s.get("organization"), dict) else {}
        org_id = org.get("id") or s.get("organization_id") or f"org-{n}"
        extra = s.get("atlas") if isinstance(s.get("atlas"), dict) else {}
        org_row = _scalars(org) | {"id": org_id}
        if isinstance(org.get("source"), dict):
            org_row.pop("source", None)
        if org_id not in seen["organizations.csv"]:
            add("organizations.csv", org_row, org_id)
            _children(add, org, "organization_id", org_id)
            _other_lists(add, org, ORG_LISTS)
        sid = s.get("id") or f"service-{n}"
        row = _scalars(extra) | _scalars(s) | {"id": sid, "organization_id": org_id, "_index": n}
        if extra.get("status_code"):
            row["status"] = extra["status_code"]
        for owner_key in ("owner", "deputy"):
            if extra.get(owner_key) and not row.get(f"{owner_key}_email"):
                row[f"{owner_key}_email"] = extra[owner_key]
        add("services.csv", row)
        _children(add, s, "service_id", sid)
        _other_lists(add, s, SERVICE_LISTS)
        for facet in FACET_BY_TAXONOMY.values():
            for item in extra.get(facet) or []:
                code = item.get("code") if isinstance(item, dict) else item
                add("attributes.csv", {"link_id": sid, "link_entity": "service", "taxonomy_term_id": f"{facet}:{code}",
                                       "_facet": facet, "_code": code})
        for jc in extra.get("jobcenters") or []:
            add("service_areas.csv", {"service_id": sid, "jobcenter": jc})
        for term in s.get("taxonomy_terms") or []:
            if isinstance(term, dict):
                add("attributes.csv", {"link_id": sid, "link_entity": "service",
                                       "taxonomy_term_id": term.get("id") or term.get("code")})
                add("taxonomy_terms.csv", _scalars(term) | {"taxonomy_id": term.get("taxonomy_id") or TAXONOMY_ID},
                    term.get("id") or term.get("code"))
        for attribute in s.get("attributes") or []:
            if isinstance(attribute, dict):
                term = attribute.get("taxonomy_term") if isinstance(attribute.get("taxonomy_term"), dict) else {}
                term_id = attribute.get("taxonomy_term_id") or term.get("id")
                add("attributes.csv", _scalars(attribute) | {"link_id": sid, "taxonomy_term_id": term_id})
                if term:
                    add("taxonomy_terms.csv", _scalars(term), term_id)
        for m, sal in enumerate(s.get("service_at_locations") or [], start=1):
            loc = sal.get("location") if isinstance(sal, dict) and isinstance(sal.get("location"), dict) else None
            if loc is None:
                continue
            loc_id = loc.get("id") or f"{sid}:loc-{m}"
            loc_row = _scalars(loc) | {"id": loc_id, "organization_id": loc.get("organization_id") or org_id}
            if "exact_latitude" in loc:  # our internal API view keeps exact coordinates apart
                loc_row["latitude"], loc_row["longitude"] = loc.get("exact_latitude"), loc.get("exact_longitude")
            add("locations.csv", loc_row, loc_id)
            add("service_at_location.csv", {"id": sal.get("id"), "service_id": sid, "location_id": loc_id,
                                            "description": sal.get("description")})
            if loc_id in seen["_loc_children"]:
                continue
            seen["_loc_children"].add(loc_id)
            for address in loc.get("addresses") or []:
                add("addresses.csv", _scalars(address) | {"location_id": loc_id})
            for item in loc.get("accessibility") or []:
                add("accessibility.csv", _scalars(item) | {"location_id": loc_id})
            _children(add, loc, "location_id", loc_id)
    return dict(t)


# Nested lists flatten() reads itself; any other list of objects becomes its own (reported) table.
CHILD_LISTS = {"phones", "schedules", "contacts", "languages", "cost_options", "service_areas", "required_documents"}
SERVICE_LISTS = CHILD_LISTS | {"attributes", "service_at_locations", "taxonomy_terms"}
ORG_LISTS = CHILD_LISTS | {"locations"}


def _other_lists(add, obj: dict[str, Any], handled: set[str]) -> None:
    for key, value in obj.items():
        if key not in handled and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                add(f"{key}.csv", _scalars(item))


def _children(add, obj: dict[str, Any], key: str, parent_id: str) -> None:
    for table, name in (("phones.csv", "phones"), ("schedules.csv", "schedules"), ("contacts.csv", "contacts"),
                        ("languages.csv", "languages"), ("cost_options.csv", "cost_options"),
                        ("service_areas.csv", "service_areas"), ("required_documents.csv", "required_documents")):
        for item in obj.get(name) or []:
            if isinstance(item, dict):
                add(table, _scalars(item) | {key: parent_id})
                if name == "contacts" and item.get("id"):
                    for phone in item.get("phones") or []:
                        if isinstance(phone, dict):
                            add("phones.csv", _scalars(phone) | {"contact_id": item["id"]})


# -- tables to records ---------------------------------------------------------------------------------------

def _text(value: Any, limit: int | None = None) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return (text[:limit] if limit else text) or None


def _int(value: Any, field: str, errors: list[str]) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return int(float(text))
    except ValueError:
        errors.append(f"{field} „{text}“ ist keine Zahl.")
        return None


def _float(value: Any) -> float | None:
    text = _text(value)
    return float(text.replace(",", ".")) if text is not None else None


def _check_period(start: date | None, end: date | None, errors: list[str]) -> bool:
    """False (with a German message) when "valid to" lies before "valid from"."""
    if start is not None and end is not None and end < start:
        errors.append(f"„gültig bis“ ({end:%d.%m.%Y}) liegt vor „gültig ab“ ({start:%d.%m.%Y}).")
        return False
    return True


def _date(value: Any, field: str, errors: list[str]) -> date | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        errors.append(f"{field} „{text}“ ist kein Datum (JJJJ-MM-TT).")
        return None


def _bool(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "ja", "yes", "wahr")


def _code(value: Any, vocabulary: dict, field: str, errors: list[str]) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if text not in vocabulary:
        errors.append(f"{field} „{text}“ ist unbekannt (erlaubt: {', '.join(vocabulary)}).")
        return None
    return text


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if _text(row.get(key)):
            grouped[str(row[key]).strip()].append(row)
    return grouped


def _without(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    return [r for r in rows if not any(_text(r.get(k)) for k in keys)]


def tables_to_records(t: Tables, fmt: str, lines: dict[str, dict] | None = None) -> ReadResult:
    """Assemble one record per service (plus one per organisation without services) from HSDS tables."""
    lines = lines or {}
    get = lambda name: t.get(name, [])  # noqa: E731
    orgs = {str(o.get("id")).strip(): o for o in get("organizations.csv") if _text(o.get("id"))}
    locations = {str(loc.get("id")).strip(): loc for loc in get("locations.csv") if _text(loc.get("id"))}
    by = {
        "addresses": _group(get("addresses.csv"), "location_id"),
        "accessibility": _group(get("accessibility.csv"), "location_id"),
        "sal": _group(get("service_at_location.csv"), "service_id"),
        # A phone or schedule row names several owners in HSDS (service, location, organisation): it is stored
        # once, with the most specific one.
        "svc_phones": _group(get("phones.csv"), "service_id"),
        "org_phones": _group(_without(get("phones.csv"), "service_id", "location_id"), "organization_id"),
        "loc_phones": _group(_without(get("phones.csv"), "service_id"), "location_id"),
        "svc_schedules": _group(get("schedules.csv"), "service_id"),
        "loc_schedules": _group(_without(get("schedules.csv"), "service_id"), "location_id"),
        "svc_contacts": _group(get("contacts.csv"), "service_id"),
        "org_contacts": _group(get("contacts.csv"), "organization_id"),
        "languages": _group(get("languages.csv"), "service_id"),
        "costs": _group(get("cost_options.csv"), "service_id"),
        "areas": _group(get("service_areas.csv"), "service_id"),
        "attributes": _group(get("attributes.csv"), "link_id"),
        "documents": _group(get("required_documents.csv"), "service_id"),
        "contact_phones": _group(get("phones.csv"), "contact_id"),
    }
    terms = {str(x.get("id")).strip(): x for x in get("taxonomy_terms.csv") if _text(x.get("id"))}
    records: list[ImportRecord] = []
    seen_ids: dict[str, int] = {}
    used_orgs: set[str] = set()
    service_lines = lines.get("services.csv", {})
    for n, s in enumerate(get("services.csv"), start=1):
        row = service_lines.get(id(s)) or s.get("_index") or n
        record = _service_record(s, int(row), orgs, locations, by, terms)
        sid = record.source_id
        if sid in seen_ids:
            record.errors.insert(0, f"Doppelte ID „{sid}“ (schon in Nr. {seen_ids[sid]}).")
        elif sid:
            seen_ids[sid] = record.row
        used_orgs.add(record.organization.source_id or "")
        records.append(record)
    org_lines = lines.get("organizations.csv", {})
    for n, (org_id, org) in enumerate(orgs.items(), start=1):
        if org_id not in used_orgs:
            errors: list[str] = []
            data = _organisation(org, by, errors)
            records.append(ImportRecord(row=int(org_lines.get(id(org)) or n), name=None, organization=data,
                                        errors=errors, raw=dict(org)))
    _attach_site_only(records, locations, by, get("service_at_location.csv"))
    if not records:
        raise ImportFileError("Die Datei enthält keine Angebote und keine Organisationen.")
    return ReadResult(fmt, records, columns=list(TABLES["services.csv"][0]),
                      mapping={"(Format)": "Open Referral HSDS 3.0"}, warnings=not_taken_over(t))


def not_taken_over(t: Tables) -> list[str]:
    """Every table, column and row the atlas does not keep, by name and count ("funding: 3 Zeilen …")."""
    found = []
    for table, rows in sorted(t.items()):
        name = table.removesuffix(".csv")
        if table not in TAKEN:
            if rows:
                found.append(f"{name}: {_rows(len(rows))} nicht übernommen (der Atlas führt diese Tabelle nicht).")
            continue
        for column in sorted({k for r in rows for k in r if not k.startswith("_")} - TAKEN[table]):
            count = sum(1 for r in rows if _text(r.get(column)) is not None and isinstance(r.get(column), SCALARS))
            if count:
                found.append(f"{name}.{column}: {count} {'Wert' if count == 1 else 'Werte'} nicht übernommen.")
    skipped = {
        "attributes": (sum(1 for r in t.get("attributes.csv", []) if (_text(r.get("link_entity")) or "service")
                           != "service"), "für Organisationen oder Standorte (nur Angebote haben Kategorien)"),
        "service_areas": (sum(1 for r in t.get("service_areas.csv", []) if not _text(r.get("jobcenter"))),
                          "ohne Jobcenter (Gebiete führt der Atlas als Jobcenter-Zuständigkeit)"),
        "addresses": (len(t.get("addresses.csv", [])) - len(_group(t.get("addresses.csv", []), "location_id")),
                      "als zweite Adresse eines Standorts (der Atlas führt eine Adresse je Standort)"),
        "contacts": (len(_without(t.get("contacts.csv", []), "service_id", "organization_id")),
                     "nur an einem Standort (der Atlas führt Kontakte bei Angebot oder Organisation)"),
        "languages": (len(_without(t.get("languages.csv", []), "service_id")), "ohne Angebot"),
    }
    found += [f"{name}: {_rows(count)} {why} nicht übernommen." for name, (count, why) in skipped.items() if count]
    return found


def _rows(count: int) -> str:
    return f"{count} {'Zeile' if count == 1 else 'Zeilen'}"


# The columns the reader takes over (or derives, like last_modified); the rest is reported.
_ENTRY = {"id", "visibility", "internal_note", "owner_email", "deputy_email", "assured_date"}
TAKEN: dict[str, set[str]] = {
    "organizations.csv": _ENTRY | {"name", "alternate_name", "description", "email", "website", "url", "tax_status",
                                   "tax_id", "year_incorporated", "legal_status", "logo", "uri", "sector",
                                   "is_employer", "parent_organization_id"},
    "services.csv": _ENTRY | {"organization_id", "name", "alternate_name", "description", "url", "email", "status",
                              "interpretation_services", "application_process", "fees_description", "wait_time",
                              "waiting_time", "accreditations", "eligibility_description", "minimum_age",
                              "maximum_age", "licenses", "alert", "last_modified",
                              *SERVICE_PROFILE_FIELDS},
    "locations.csv": {"id", "location_type", "url", "organization_id", "name", "description", "transportation",
                      "latitude", "longitude", "external_identifier", "external_identifier_type", "address_precision",
                      "geo_precision", "gemeinde", "gemeinde_name", "city", "visibility", "address_protected"},
    "addresses.csv": {"id", "location_id", "address_1", "address_2", "city", "region", "state_province", "postal_code",
                      "country", "address_type"},
    "service_at_location.csv": {"id", "service_id", "location_id", "description"},
    "phones.csv": {"id", "location_id", "service_id", "organization_id", "contact_id", "number", "extension", "type",
                   "description", "visibility"},
    "contacts.csv": {"id", "organization_id", "service_id", "location_id", "name", "title", "department", "email",
                     "phone"},
    "schedules.csv": {"id", "service_id", "location_id", "valid_from", "valid_to", "dtstart", "until", "count",
                      "wkst", "freq", "interval", "byday", "byweekno", "bymonthday", "description", "opens_at",
                      "closes_at", "schedule_link", "attending_type", "notes"},
    "languages.csv": {"id", "service_id", "location_id", "name", "code"},
    "accessibility.csv": {"id", "location_id", "description"},
    "cost_options.csv": {"id", "service_id", "option", "currency", "code"},
    "service_areas.csv": {"id", "service_id", "name", "description", "extent", "extent_type", "uri", "jobcenter"},
    "required_documents.csv": {"id", "service_id", "document"},
    "taxonomies.csv": {"id", "name", "description", "uri", "version"},
    "taxonomy_terms.csv": {"id", "code", "name", "description", "parent_id", "taxonomy", "language", "taxonomy_id",
                           "term_uri", "parent_name", "taxonomy_detail"},
    "attributes.csv": {"id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value", "label"},
}


def _attach_site_only(records: list[ImportRecord], locations: dict, by: dict, links: list[dict[str, Any]]) -> None:
    """Sites no offer uses travel with the first record of their organisation (or are reported)."""
    used = {_text(x.get("location_id")) for x in links}
    first: dict[str, ImportRecord] = {}
    for record in records:
        first.setdefault(record.organization.source_id or "", record)
    for lid, loc in locations.items():
        if lid in used:
            continue
        record = first.get(_text(loc.get("organization_id")) or "")
        if record is None:
            if records:
                records[0].warnings.append(f"Standort „{loc.get('name') or lid}“ ohne Angebot: seine Organisation "
                                           f"„{loc.get('organization_id')}“ fehlt in organizations.csv; nicht übernommen.")
            continue
        record.site_only.append(_location(loc, by, record.errors, record.warnings))


def _organisation(o: dict[str, Any], by: dict, errors: list[str]) -> OrganizationData:
    oid = _text(o.get("id"))
    fields: dict[str, Any] = {k: _text(o.get(k)) for k in ("alternate_name", "description", "email", "legal_status",
                                                          "sector", "internal_note", "tax_status", "tax_id", "logo",
                                                          "uri") if k in o}
    if _text(o.get("year_incorporated")):
        fields["year_incorporated"] = _int(o.get("year_incorporated"), "Gründungsjahr", errors)
    if "website" in o or "url" in o:
        fields["website"] = _text(o.get("website") or o.get("url"))
    if _text(o.get("visibility")):
        fields["visibility"] = _code(o.get("visibility"), vocab.VISIBILITY, "Sichtbarkeit", errors) or "public"
    if "is_employer" in o:
        fields["is_employer"] = _bool(o.get("is_employer"))
    if _text(o.get("assured_date")):
        fields["assured_date"] = _date(o.get("assured_date"), "Prüfdatum", errors)
    parent = _text(o.get("parent_organization_id"))
    data = OrganizationData(name=_text(o.get("name"), 300), source_id=oid, uuid=oid, fields=fields,
                            parent_uuid=parent if parent and parent != oid else None,
                            owner=_text(o.get("owner_email")), deputy=_text(o.get("deputy_email")))
    if not data.name:
        errors.append(f"Die Organisation „{oid}“ hat keinen Namen.")
    data.phones = [_phone(p, errors) for p in by["org_phones"].get(oid or "", []) if _text(p.get("number"))]
    data.contacts = [_contact(c, by) for c in by["org_contacts"].get(oid or "", []) if _text(c.get("name"))]
    return data


def _phone(p: dict[str, Any], errors: list[str]) -> PhoneData:
    kind = _text(p.get("type")) or "voice"
    if kind not in vocab.PHONE_TYPES:
        errors.append(f"Telefon-Typ „{kind}“ ist unbekannt (erlaubt: {', '.join(vocab.PHONE_TYPES)}).")
        kind = "voice"
    visibility = _text(p.get("visibility")) or "public"
    extension = _text(p.get("extension"), 20)
    if extension and re.fullmatch(r"\d+\.0", extension):
        extension = extension[:-2]  # HSDS extensions are numbers; "12.0" is extension 12
    number, embedded = phone_parts(_text(p.get("number")) or "")
    return PhoneData(number=number[:50], extension=extension or embedded, type=kind, description=_text(p.get("description"), 300),
                     visibility=visibility if visibility in vocab.VISIBILITY else "public",
                     uuid=_uuid(p.get("id")))


EXTENSION = re.compile(r"\s*(?:,|;)?\s*(?:ext\.?|extension|x|durchwahl|dw\.?|app\.?)\s*(\d{1,6})\s*$", re.I)


def phone_parts(text: str) -> tuple[str, str | None]:
    """A phone number without stray quotes, and an extension written into it ("… ext. 12", "… Durchwahl 12")."""
    number = text.strip().strip("\"'„“”‚‘’").strip()
    found = EXTENSION.search(number)
    if found:
        return number[:found.start()].strip(), found.group(1)
    return number, None


def _uuid(value: Any) -> str | None:
    """An HSDS id kept on child rows when it is a UUID (other ids are not stored)."""
    text = _text(value)
    return text.lower() if text and UUID.match(text) else None


def _contact(c: dict[str, Any], by: dict) -> ContactData:
    phone = _text(c.get("phone"), 50)
    if phone is None:
        phone = next((phone_parts(_text(p.get("number")) or "")[0][:50] or None
                      for p in by["contact_phones"].get(_text(c.get("id")) or "", [])), None)
    return ContactData(name=_text(c.get("name"), 200) or "", title=_text(c.get("title"), 200),
                       department=_text(c.get("department"), 200), email=_text(c.get("email"), 254),
                       phone=phone, uuid=_uuid(c.get("id")))


def _schedule(h: dict[str, Any], errors: list[str]) -> ScheduleData | None:
    byday = (_text(h.get("byday")) or "").replace(" ", "").upper()
    if not byday or not set(byday.split(",")) <= set(vocab.WEEKDAYS):
        errors.append(f"Öffnungszeit mit Wochentagen „{byday}“ verstehe ich nicht (MO,TU,WE,TH,FR,SA,SU).")
        return None
    times = []
    for key in ("opens_at", "closes_at"):
        value = _text(h.get(key))
        if value and not TIME.match(value):
            errors.append(f"Uhrzeit „{value}“ ist ungültig (HH:MM).")
            return None
        times.append(value[:5] if value else None)
    if times[0] and times[1] and times[0] >= times[1]:
        errors.append(f"Öffnungszeit {times[0]}–{times[1]}: Beginn muss vor dem Ende liegen.")
        return None
    freq = (_text(h.get("freq")) or "WEEKLY").upper()
    extra: dict[str, Any] = {"dtstart": _date(h.get("dtstart"), "dtstart", errors),
                             "until": _date(h.get("until"), "until", errors),
                             "count": _int(h.get("count"), "count", errors),
                             "interval": _int(h.get("interval"), "interval", errors)}
    for key, limit in (("wkst", 2), ("byweekno", 200), ("bymonthday", 200), ("notes", None),
                       ("attending_type", 100), ("schedule_link", 2000)):
        extra[key] = _text(h.get(key), limit)
    start, end = _date(h.get("valid_from"), "gültig ab", errors), _date(h.get("valid_to"), "gültig bis", errors)
    if not _check_period(start, end, errors):
        return None
    return ScheduleData(byday=byday, opens_at=times[0], closes_at=times[1], description=_text(h.get("description"), 300),
                        freq=freq if freq in ("WEEKLY", "MONTHLY") else "WEEKLY",
                        valid_from=start, valid_to=end, uuid=_uuid(h.get("id")),
                        extra={k: v for k, v in extra.items() if v is not None})


def _location(loc: dict[str, Any], by: dict, errors: list[str], warnings: list[str]) -> LocationData:
    lid = _text(loc.get("id"))
    fields: dict[str, Any] = {k: _text(loc.get(k)) for k in ("name", "description", "transportation", "url",
                                                             "external_identifier", "external_identifier_type")
                              if _text(loc.get(k))}
    fields["location_type"] = _code(loc.get("location_type") or "physical", vocab.LOCATION_TYPES, "Standort-Typ",
                                    errors) or "physical"
    for key, vocabulary, label in (("address_precision", vocab.ADDRESS_PRECISION, "Adressgenauigkeit"),
                                   ("geo_precision", vocab.GEO_PRECISION, "Koordinatengenauigkeit"),
                                   ("visibility", vocab.VISIBILITY, "Sichtbarkeit")):
        if _text(loc.get(key)):
            fields[key] = _code(loc.get(key), vocabulary, label, errors)
    if loc.get("address_protected") is True and "address_precision" not in fields:
        fields["address_precision"] = "gemeinde"
    access = [_text(a.get("description")) for a in by["accessibility"].get(lid or "", []) if _text(a.get("description"))]
    if access:
        fields["accessibility_description"] = "\n".join(access)
    data = LocationData(source_id=lid, uuid=lid, fields={k: v for k, v in fields.items() if v is not None},
                        gemeinde=_text(loc.get("gemeinde")))
    try:
        lat, lon = _float(loc.get("latitude")), _float(loc.get("longitude"))
    except ValueError:
        errors.append(f"Koordinaten „{loc.get('latitude')}“, „{loc.get('longitude')}“ sind keine Zahlen.")
        lat = lon = None
    if (lat is None) != (lon is None):
        errors.append("Standort hat nur Breiten- oder nur Längengrad.")
    elif lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        warnings.append(f"Standort „{loc.get('name') or lid}“: Koordinaten außerhalb des gültigen Bereichs "
                        f"(latitude {lat:g}, longitude {lon:g}); sie werden verworfen und die Position aus der "
                        "Adresse bestimmt.")
    else:
        data.latitude, data.longitude = lat, lon
    # One address per site: the physical one when the file gives several.
    addresses = sorted(by["addresses"].get(lid or "", []), key=lambda x: _text(x.get("address_type")) == "postal")
    if addresses:
        a = addresses[0]
        plz = _text(a.get("postal_code"), 10)
        if plz and len(plz) < 3:
            errors.append(f"Postleitzahl „{plz}“ ist zu kurz.")
            plz = None
        data.address = AddressData(address_1=_text(a.get("address_1"), 300), address_2=_text(a.get("address_2"), 300),
                                   postal_code=plz, city=_text(a.get("city"), 200) or "",
                                   region=_text(a.get("region"), 200), state_province=_text(a.get("state_province"), 200),
                                   country=(_text(a.get("country")) or "DE")[:2].upper())
        if not data.address.city:
            errors.append("Adresse ohne Ort (city).")
    data.phones = [_phone(p, errors) for p in by["loc_phones"].get(lid or "", []) if _text(p.get("number"))]
    data.schedules = [s for s in (_schedule(h, errors) for h in by["loc_schedules"].get(lid or "", [])) if s]
    return data


def _service_record(s: dict[str, Any], row: int, orgs: dict, locations: dict, by: dict, terms: dict) -> ImportRecord:
    errors: list[str] = []
    warnings: list[str] = []
    sid = _text(s.get("id"))
    org_id = _text(s.get("organization_id"))
    if org_id and org_id not in orgs:
        errors.append(f"Organisation „{org_id}“ fehlt in organizations.csv.")
    org = _organisation(orgs.get(org_id or "", {"id": org_id}), by, errors) if org_id in orgs else \
        OrganizationData(name=None, source_id=org_id)
    fields: dict[str, Any] = {}
    for key in ("alternate_name", "description", "url", "email", "application_process", "fees_description",
                "eligibility_description", "alert", "summary_plain", "target_group", "waiting_time", "internal_note",
                "interpretation_services", "accreditations", "licenses"):
        if key in s:
            fields[key] = _text(s.get(key))
    if "wait_time" in s:  # HSDS 3.0 name of the atlas's waiting time
        fields["waiting_time"] = _text(s.get("wait_time"))
    status = _text(s.get("status"))
    if status:
        code = STATUS_FROM_HSDS.get(status.lower(), status if status in vocab.STATUS else None)
        if code is None:
            errors.append(f"Status „{status}“ ist unbekannt (HSDS: active, inactive, defunct, temporarily closed).")
        fields["status"] = code or "aktiv"
    for key in ("minimum_age", "maximum_age"):
        if _text(s.get(key)) is not None:
            fields[key] = _int(s.get(key), "Mindestalter" if key == "minimum_age" else "Höchstalter", errors)
    for key in DATE_FIELDS:
        if _text(s.get(key)):
            fields[key] = _date(s.get(key), key, errors)
    _check_period(fields.get("valid_from"), fields.get("valid_to"), errors)
    for key in BOOL_FIELDS - {"is_employer"}:
        if key in s:
            fields[key] = _bool(s.get(key))
    for key, vocabulary, label in (("intake_status", vocab.INTAKE_STATUS, "Aufnahmestatus"),
                                   ("delivery_format", vocab.DELIVERY_FORMAT, "Form"),
                                   ("setting", vocab.SETTING, "Setting"),
                                   ("visibility", vocab.VISIBILITY, "Sichtbarkeit")):
        if _text(s.get(key)):
            fields[key] = _code(s.get(key), vocabulary, label, errors)
    record = ImportRecord(row=row, name=_text(s.get("name"), 300), organization=org, source_id=sid, uuid=sid,
                          errors=errors, warnings=warnings, raw={k: v for k, v in s.items() if not k.startswith("_")},
                          owner=_text(s.get("owner_email")), deputy=_text(s.get("deputy_email")))
    if not record.name:
        errors.append("Das Angebot hat keinen Namen.")
    record.fields = fields
    for sal in by["sal"].get(sid or "", []):
        loc = locations.get(_text(sal.get("location_id")) or "")
        if loc is None:
            errors.append(f"Standort „{sal.get('location_id')}“ fehlt in locations.csv.")
            continue
        owner = _text(loc.get("organization_id"))
        if owner and org_id and owner != org_id:
            warnings.append(f"Standort „{loc.get('name') or loc.get('id')}“ gehört laut locations.csv zur "
                            f"Organisation „{owner}“{'' if owner in orgs else ' (fehlt in organizations.csv)'}; "
                            "er wird mit dem Angebot der Organisation des Angebots zugeordnet.")
        data = _location(loc, by, errors, warnings)
        data.link_description = _text(sal.get("description"))
        record.locations.append(data)
    record.phones = [_phone(p, errors) for p in by["svc_phones"].get(sid or "", []) if _text(p.get("number"))]
    given = by["svc_schedules"].get(sid or "", [])
    # A bounded weekly run (dtstart with until or count) is a course's dates, not opening hours.
    record.schedules = [h for h in (_schedule(x, errors) for x in given if not is_series(x)) if h]
    record.sessions = [d for x in given if is_series(x) for d in series_sessions(x, errors)]
    record.contacts = [_contact(c, by) for c in by["svc_contacts"].get(sid or "", []) if _text(c.get("name"))]
    documents = [_text(d.get("document"), 2000) for d in by["documents"].get(sid or "", [])]
    if documents or "required_documents" in s:
        record.fields["required_documents"] = [d for d in documents if d]
    languages = []
    for item in by["languages"].get(sid or "", []):
        code = _text(item.get("code"))
        if code in vocab.LANGUAGES:
            languages.append(code)
        else:
            warnings.append(f"Sprache „{code or item.get('name')}“ ist nicht in der Liste und wird nicht übernommen.")
    record.fields["languages"] = languages
    costs = []
    labels = {label.lower(): code for code, (label, _en) in vocab.COST_OPTIONS.items()}
    for item in by["costs"].get(sid or "", []):
        code = _text(item.get("code")) or labels.get((_text(item.get("option")) or "").lower())
        if code in vocab.COST_OPTIONS:
            costs.append(code)
        else:
            warnings.append(f"Kostenart „{item.get('option')}“ ist unbekannt und wird nicht übernommen.")
    record.fields["cost_options"] = costs
    record.jobcenters = [j for j in (_text(a.get("jobcenter")) for a in by["areas"].get(sid or "", [])) if j]
    _attributes(record, by["attributes"].get(sid or "", []), terms)
    return record


def _attributes(record: ImportRecord, attributes: list[dict[str, Any]], terms: dict) -> None:
    """Categories from our taxonomy, facets from the atlas-* taxonomies, other taxonomies best effort."""
    facets: dict[str, list[str]] = defaultdict(list)
    for attribute in attributes:
        term_id = _text(attribute.get("taxonomy_term_id")) or ""
        term = terms.get(term_id, {})
        taxonomy = _text(term.get("taxonomy_id")) or _text(term.get("taxonomy")) or ""
        facet = attribute.get("_facet") or FACET_BY_TAXONOMY.get(taxonomy)
        if facet is None and ":" in term_id and term_id.split(":", 1)[0] in FACET_BY_TAXONOMY.values():
            facet = term_id.split(":", 1)[0]
        if facet:
            code = attribute.get("_code") or _text(term.get("code")) or term_id.split(":", 1)[-1]
            if code not in facets[facet]:
                facets[facet].append(code)
            continue
        code = _text(term.get("code")) or term_id
        if taxonomy in CATEGORY_TAXONOMIES:
            record.categories.append(code)
        else:
            # A foreign taxonomy: the planner maps it when it can and only warns when it cannot.
            record.categories.append(f"{OPTIONAL_CATEGORY}{_text(term.get('name')) or code}")
    for facet, codes in facets.items():
        vocabulary = FACETS[facet][2]
        unknown = [c for c in codes if c not in vocabulary]
        if unknown:
            record.warnings.append(f"Unbekannte Werte für {facet}: {', '.join(unknown)}; nicht übernommen.")
        record.fields[facet] = [c for c in codes if c in vocabulary]
