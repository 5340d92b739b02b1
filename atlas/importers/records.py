"""The common record shape every reader produces, and the problems a reader reports."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from ..sessions import SessionData


SCHEDULE_EXTRA = ("dtstart", "until", "count", "interval", "wkst", "byweekno", "bymonthday", "notes", "attending_type",
                  "schedule_link")
# Prefix of a category from a foreign taxonomy: mapped when possible, else only a warning.
OPTIONAL_CATEGORY = "?"


class ImportFileError(ValueError):
    """The whole file cannot be imported; the message says why, in German."""


@dataclass
class ReadOptions:
    """What a reader needs besides the file: limits and the user's column mapping."""

    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 20_000
    mapping: dict[str, str] | None = None
    sheet: str | None = None
    xlsx_max_uncompressed: int = 100 * 1024 * 1024
    xlsx_max_ratio: int = 200
    xlsx_max_members: int = 2_000
    # openpyxl holds the shared-strings table in memory: its bound keeps an import within the memory budget.
    xlsx_max_shared_strings: int = 500_000
    xlsx_max_shared_bytes: int = 32 * 1024 * 1024


@dataclass
class PhoneData:
    """A phone number as read from the source."""

    number: str
    type: str = "voice"
    description: str | None = None
    extension: str | None = None
    visibility: str = "public"
    uuid: str | None = None


@dataclass
class ScheduleData:
    """Weekly opening hours."""

    byday: str
    opens_at: str | None = None
    closes_at: str | None = None
    description: str | None = None
    freq: str = "WEEKLY"
    valid_from: date | None = None
    valid_to: date | None = None
    uuid: str | None = None
    # The rest of the RFC 5545 recurrence (dtstart, until, count, interval, wkst, byweekno, bymonthday, notes,
    # attending_type, schedule_link), kept as given.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ContactData:
    """A named contact person (always internal)."""

    name: str
    title: str | None = None
    department: str | None = None
    email: str | None = None
    phone: str | None = None
    uuid: str | None = None


@dataclass
class AddressData:
    """A postal address."""

    address_1: str | None = None
    address_2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    state_province: str | None = None
    country: str = "DE"


@dataclass
class LocationData:
    """A site; `fields` holds Location columns (name, description, transportation, address_precision ...)."""

    source_id: str | None = None
    uuid: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    address: AddressData | None = None
    latitude: float | None = None
    longitude: float | None = None
    gemeinde: str | None = None
    phones: list[PhoneData] = field(default_factory=list)
    schedules: list[ScheduleData] = field(default_factory=list)
    # The description of the offer at this site (HSDS service_at_location.description).
    link_description: str | None = None


@dataclass
class OrganizationData:
    """The organisation behind an offer; `fields` holds Organization columns."""

    name: str | None
    source_id: str | None = None
    uuid: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    phones: list[PhoneData] = field(default_factory=list)
    contacts: list[ContactData] = field(default_factory=list)
    owner: str | None = None
    deputy: str | None = None
    # HSDS parent_organization_id: linked after the commit's organisations exist.
    parent_uuid: str | None = None


@dataclass
class ImportRecord:
    """One offer (or an organisation without offers when name is None) as read from one row or object."""

    row: int
    name: str | None
    organization: OrganizationData
    source_id: str | None = None
    uuid: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    locations: list[LocationData] = field(default_factory=list)
    # Sites of the organisation that no offer in the file uses (they travel without an offer).
    site_only: list[LocationData] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    jobcenters: list[str] = field(default_factory=list)
    phones: list[PhoneData] = field(default_factory=list)
    schedules: list[ScheduleData] = field(default_factory=list)
    # Dated sessions (HSDS schedules that are bounded weekly runs): see atlas.sessions.
    sessions: list[SessionData] = field(default_factory=list)
    contacts: list[ContactData] = field(default_factory=list)
    owner: str | None = None
    deputy: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The name shown in previews."""
        return self.name or self.organization.name or "—"


@dataclass
class ReadResult:
    """What a reader found in a file."""

    format: str
    records: list[ImportRecord]
    columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    licence: str | None = None
    source_url: str | None = None
    # The column-mapping step's result for tables (see mapping.ColumnGuess).
    guesses: list[Any] = field(default_factory=list)


def record_digest(record: ImportRecord) -> str:
    """SHA-256 of what a record would write (not its row number, raw cells or messages)."""
    data = asdict(record)
    for key in ("row", "raw", "errors", "warnings"):
        data.pop(key)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()
