"""Validate atlas output against the official HSDS 3.0 JSON Schemas (vendored) and the atlas DE profile."""

from __future__ import annotations

import csv
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CORE = Path(__file__).parent / "data" / "hsds-3.0"
PROFILE = Path(__file__).parent.parent / "docs" / "hsds-profile"
BASE = "https://hsds.invalid/schema/"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@cache
def schemas(profile: bool) -> dict[str, dict[str, Any]]:
    """The core schemas by file name, with the DE profile's merge patches applied when asked."""
    found = {}
    for path in sorted(CORE.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        patch_path = PROFILE / path.name
        if profile and patch_path.exists():
            schema = merge_patch(schema, json.loads(patch_path.read_text(encoding="utf-8")))
        found[path.name] = schema
    return found


@cache
def validator(name: str, profile: bool = False) -> Draft202012Validator:
    """A draft 2020-12 validator (with format checks) for one schema file, refs resolved among the files."""
    registry = Registry().with_resources(
        (BASE + file, Resource(contents=schema, specification=DRAFT202012))
        for file, schema in schemas(profile).items())
    return Draft202012Validator({"$ref": BASE + name}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(name: str, instance: Any, profile: bool = False) -> list[str]:
    """Readable validation errors of one object against schema file `name` (e.g. service.json)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator(name, profile).iter_errors(instance)]


def list_errors(name: str, items: list[Any], profile: bool = False) -> list[str]:
    """Errors of every object in a list, prefixed with its position."""
    return [f"[{n}] {e}" for n, item in enumerate(items) for e in errors(name, item, profile)]


TABLE_SCHEMAS = {
    "organizations.csv": "organization.json", "services.csv": "service.json", "locations.csv": "location.json",
    "addresses.csv": "address.json", "service_at_location.csv": "service_at_location.json",
    "phones.csv": "phone.json", "contacts.csv": "contact.json", "schedules.csv": "schedule.json",
    "languages.csv": "language.json", "accessibility.csv": "accessibility.json",
    "service_areas.csv": "service_area.json", "cost_options.csv": "cost_option.json",
    "taxonomies.csv": "taxonomy.json", "taxonomy_terms.csv": "taxonomy_term.json", "attributes.csv": "attribute.json",
    "metadata.csv": "metadata.json", "funding.csv": "funding.json", "programs.csv": "program.json",
    "required_documents.csv": "required_document.json",
    "organization_identifiers.csv": "organization_identifier.json",
}


def core_columns(table: str) -> list[str]:
    """The HSDS columns of a tabular file: the schema's non-array, non-object properties."""
    schema = schemas(False)[TABLE_SCHEMAS[table]]
    return [k for k, v in schema["properties"].items() if v.get("type") not in ("array", "object") and "$ref" not in v]


def _typed(value: str, spec: dict[str, Any]) -> Any:
    kind = spec.get("type")
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


def table_errors(files: dict[str, str], profile: bool = False, package: dict[str, Any] | None = None) -> list[str]:
    """Errors of every row of a tabular package (CSV text by file name).

    Empty cells count as absent unless the package's table schema declares no missing values for that table.
    """
    found = []
    keep_empty = {r["path"] for r in (package or {}).get("resources", [])
                  if r.get("schema", {}).get("missingValues") == []}
    for table, text in files.items():
        name = TABLE_SCHEMAS.get(table)
        if name is None:
            continue
        schema = schemas(profile)[name]
        props = schema["properties"]
        required = set(schema.get("required", [])) | set(schema.get("tabular_required") or [])
        for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            obj = {k: _typed(v, props.get(k, {})) for k, v in row.items() if v != "" or table in keep_empty}
            found += [f"{table}:{n}: {e}" for e in errors(name, obj, profile)]
            found += [f"{table}:{n}: {k} is required" for k in required - obj.keys()]
    return found
