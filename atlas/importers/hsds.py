"""The HSDS 3.0 tables and columns atlas exchanges (tabular data package and JSON), with the DE-profile additions.

Columns after the HSDS ones are atlas profile fields; INTERNAL columns appear only in internal exports.
"""

from __future__ import annotations

import uuid

from .. import vocab

PROFILE_URI = "https://atlas.example/hsds-profile/de-atlas"
NAMESPACE = uuid.UUID("6f1c9a52-3a1e-4d0c-9a54-2a7f3b0e9c11")
TAXONOMY_ID = "atlas-kategorien"

# file name -> (HSDS columns, profile columns, internal-only columns)
TABLES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "organizations.csv": (
        ["id", "name", "alternate_name", "description", "email", "website", "legal_status"],
        ["sector", "assured_date"],
        ["visibility", "internal_note", "is_employer", "owner_email", "deputy_email"],
    ),
    "services.csv": (
        ["id", "organization_id", "name", "alternate_name", "description", "url", "email", "status",
         "application_process", "fees_description", "eligibility_description", "minimum_age", "maximum_age",
         "alert", "assured_date", "last_modified"],
        ["summary_plain", "target_group", "waiting_time", "waiting_time_confirmed_at", "intake_status",
         "intake_status_confirmed_at", "opening_hours_confirmed_at", "delivery_format", "setting", "short_notice",
         "supra_regional", "valid_from", "valid_to"],
        ["assurer_email", "visibility", "internal_note", "owner_email", "deputy_email"],
    ),
    "locations.csv": (
        ["id", "organization_id", "location_type", "name", "description", "transportation", "latitude", "longitude",
         "url"],
        ["address_precision", "geo_precision", "gemeinde"],
        ["visibility"],
    ),
    "addresses.csv": (
        ["id", "location_id", "address_1", "address_2", "city", "region", "state_province", "postal_code", "country",
         "address_type"], [], []),
    "service_at_location.csv": (["id", "service_id", "location_id", "description"], [], []),
    "phones.csv": (
        ["id", "organization_id", "service_id", "location_id", "number", "extension", "type", "description"],
        [], ["visibility"]),
    "contacts.csv": ([], [], ["id", "organization_id", "service_id", "name", "title", "department", "email", "phone"]),
    "schedules.csv": (
        ["id", "service_id", "location_id", "freq", "byday", "opens_at", "closes_at", "valid_from", "valid_to",
         "description"], [], []),
    "languages.csv": (["id", "service_id", "location_id", "name", "code", "note"], [], []),
    "accessibility.csv": (["id", "location_id", "description", "details", "url"], [], []),
    "cost_options.csv": (["id", "service_id", "option", "amount", "currency", "amount_description"], ["code"], []),
    "service_areas.csv": (["id", "service_id", "name", "description", "extent", "extent_type"], ["jobcenter"], []),
    "taxonomies.csv": (["id", "name", "description", "uri", "version"], [], []),
    "taxonomy_terms.csv": (
        ["id", "code", "name", "description", "parent_id", "taxonomy", "taxonomy_id", "language", "term_uri"], [], []),
    "attributes.csv": (["id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value", "label"], [], []),
}

# Offer facets exchanged as HSDS attributes, one taxonomy each.
FACETS: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "access_routes": ("atlas-zugang", "Zugang", vocab.ACCESS_ROUTES),
    "legal_domains": ("atlas-rechtskreis", "Rechtskreis", vocab.LEGAL_DOMAINS),
    "contact_channels": ("atlas-kontaktwege", "Kontaktwege", vocab.CONTACT_CHANNELS),
    "accessibility": ("atlas-barrierefreiheit", "Barrierefreiheit", vocab.ACCESSIBILITY),
}
FACET_BY_TAXONOMY = {taxonomy: field for field, (taxonomy, _label, _vocab) in FACETS.items()}
STATUS_FROM_HSDS = {hsds: code for code, hsds in vocab.STATUS_HSDS.items()}
DATE_FIELDS = {"assured_date", "waiting_time_confirmed_at", "intake_status_confirmed_at",
               "opening_hours_confirmed_at", "valid_from", "valid_to"}
BOOL_FIELDS = {"short_notice", "supra_regional", "is_employer"}


def columns(table: str, internal: bool) -> list[str]:
    """The columns of a table in an export."""
    hsds, profile, internal_cols = TABLES[table]
    return hsds + profile + (internal_cols if internal else [])


def child_id(parent: str, kind: str, number: int) -> str:
    """A stable UUID for a row that has no UUID of its own (phone, address, schedule ...)."""
    return str(uuid.uuid5(NAMESPACE, f"{parent}:{kind}:{number}"))
