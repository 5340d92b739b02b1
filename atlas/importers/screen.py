"""Checks every reader's records pass before planning: the shared URL rule and no hidden control characters."""

from __future__ import annotations

from typing import Any

from ..safetext import clean_url, control_characters
from .records import ImportRecord


def _screen_url(fields: dict[str, Any], key: str, warnings: list[str]) -> None:
    value = fields.get(key)
    if value is None or value == "":
        return
    url = clean_url(str(value))
    if url is None:
        warnings.append(f"„{str(value)[:80]}“ ist keine Webadresse (http/https) und wird nicht übernommen.")
        fields.pop(key)
    else:
        fields[key] = url


def screen_record(record: ImportRecord) -> None:
    """Drop (with a warning) every URL the shared rule refuses; refuse names with control characters."""
    _screen_url(record.fields, "url", record.warnings)
    _screen_url(record.fields, "source_url", record.warnings)
    _screen_url(record.organization.fields, "website", record.warnings)
    for loc in record.locations:
        _screen_url(loc.fields, "url", record.warnings)
    for label, name in (("Name", record.name), ("Name der Organisation", record.organization.name)):
        hidden = control_characters(name)
        if hidden:
            record.errors.append(f"{label} enthält unsichtbare Steuerzeichen ({', '.join(sorted(set(hidden)))}).")
