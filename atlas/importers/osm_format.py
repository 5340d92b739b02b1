"""OpenStreetMap Overpass JSON; tags become categories through the rules in osm_tags.json (documented there)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .files import load_json, read_bytes
from .records import ImportFileError, ImportRecord, ReadOptions, ReadResult
from .tabular import build_record

TAGS_FILE = Path(__file__).with_name("osm_tags.json")
OSM_URL = "https://www.openstreetmap.org/{type}/{id}"
# OSM keys (in order of preference) for each table field understood by tabular.build_record.
KEYS = {
    "name": ("name", "official_name", "short_name"),
    "organization": ("operator", "name"),
    "street": ("addr:street",),
    "house_number": ("addr:housenumber",),
    "postal_code": ("addr:postcode",),
    "city": ("addr:city", "addr:place"),
    "phone": ("contact:phone", "phone"),
    "fax": ("contact:fax", "fax"),
    "email": ("contact:email", "email"),
    "url": ("contact:website", "website", "url"),
    "opening_hours": ("opening_hours",),
    "description": ("description",),
}


@lru_cache(maxsize=1)
def rules() -> tuple[dict[str, Any], ...]:
    """The tag rules from osm_tags.json."""
    return tuple(json.loads(TAGS_FILE.read_text(encoding="utf-8"))["rules"])


def licence() -> str:
    """The attribution OSM data needs."""
    return json.loads(TAGS_FILE.read_text(encoding="utf-8"))["licence"]


def _matches(tags: dict[str, str], wanted: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        have = tags.get(key)
        if have is None:
            return False
        values = set(have.split(";"))
        if value != "*" and not values & ({value} if isinstance(value, str) else set(value)):
            return False
    return True


def categories_for(tags: dict[str, str]) -> list[str]:
    """The categories of the first matching rule, or an empty list."""
    for rule in rules():
        if _matches(tags, rule["tags"]):
            return list(rule["categories"])
    return []


def looks_like_osm(tags: dict[str, Any]) -> bool:
    """True for properties that carry OSM tags (e.g. a GeoJSON export of overpass turbo)."""
    return any(k in tags for k in ("amenity", "healthcare", "social_facility", "office", "club", "leisure")) or \
        str(tags.get("@id", tags.get("id", ""))).startswith(("node/", "way/", "relation/"))


def element_record(number: int, tags: dict[str, Any], lat: float | None, lon: float | None,
                   osm_type: str | None, osm_id: Any) -> ImportRecord:
    """Build a record from one OSM element's tags and position."""
    tags = {str(k): str(v) for k, v in tags.items() if v is not None}
    values = {}
    for field, keys in KEYS.items():
        for key in keys:
            if tags.get(key):
                values[field] = tags[key]
                break
    if lat is not None:
        values["latitude"], values["longitude"] = str(lat), str(lon)
    record = build_record(number, values, raw=tags)
    record.categories = categories_for(tags)
    if osm_type and osm_id is not None:
        record.source_id = f"{osm_type}/{osm_id}"
        record.fields["source_url"] = OSM_URL.format(type=osm_type, id=osm_id)
        if record.locations:
            record.locations[0].source_id = record.source_id
    if not record.categories:
        shown = ", ".join(f"{k}={v}" for k, v in tags.items()
                          if k in ("amenity", "healthcare", "social_facility", "office", "club", "leisure"))
        record.errors.append(f"Keine Kategorie für die OSM-Merkmale „{shown or 'keine'}“ "
                             "(Zuordnung in atlas/importers/osm_tags.json).")
    return record


def read(path: Path, options: ReadOptions) -> ReadResult:
    """Read an Overpass API JSON answer (use `out center;` so ways and relations have a position)."""
    data, warnings = load_json(read_bytes(path, options.max_bytes), "Overpass-JSON-Datei")
    elements = data.get("elements") if isinstance(data, dict) else None
    if not isinstance(elements, list):
        raise ImportFileError("Das ist keine Overpass-Antwort: die Liste „elements“ fehlt.")
    records = []
    for number, element in enumerate(elements, start=1):
        if not isinstance(element, dict) or not element.get("tags"):
            continue  # nodes of ways and untagged members carry no offer
        if len(records) >= options.max_rows:
            raise ImportFileError(f"Die Datei hat mehr als {options.max_rows} Einträge; bitte aufteilen.")
        center = element.get("center") or {}
        lat = element.get("lat", center.get("lat"))
        lon = element.get("lon", center.get("lon"))
        record = element_record(number, element["tags"], lat, lon, element.get("type"), element.get("id"))
        if lat is None and element.get("type") != "node":
            record.warnings.append("Weg/Relation ohne Mittelpunkt (Overpass-Abfrage mit „out center;“ stellen); "
                                   "Koordinaten kommen aus der Adresse.")
        records.append(record)
    if not records:
        raise ImportFileError("Die Overpass-Antwort enthält keine Objekte mit Merkmalen (tags).")
    return ReadResult("osm", records, columns=["name", "operator", "addr:street", "addr:housenumber",
                                               "addr:postcode", "addr:city", "phone", "website", "email"],
                      warnings=warnings, mapping={"(Format)": "OpenStreetMap (Overpass JSON)"}, licence=licence(),
                      source_url="https://www.openstreetmap.org/copyright")
