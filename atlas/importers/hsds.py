"""The HSDS 3.0 tables and columns atlas exchanges (tabular data package and JSON), with the DE-profile additions.

Columns after the HSDS ones are atlas profile fields; INTERNAL columns appear only in internal exports.
"""

from __future__ import annotations

from .. import vocab
from ..hsds import CATEGORY_TAXONOMY, FACETS, SERVICE_PROFILE_FIELDS, taxonomy_id

__all__ = ["FACETS", "SERVICE_PROFILE_FIELDS"]

# file name -> (HSDS 3.0 columns, DE-profile columns, internal-only columns)
TABLES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "organizations.csv": (
        ["id", "name", "alternate_name", "description", "email", "website", "tax_status", "tax_id",
         "year_incorporated", "legal_status", "logo", "uri", "parent_organization_id"],
        ["sector", "assured_date"],
        ["visibility", "internal_note", "is_employer", "owner_email", "deputy_email"],
    ),
    "programs.csv": (["id", "organization_id", "name", "alternate_name", "description"], [], []),
    "services.csv": (
        ["id", "organization_id", "program_id", "name", "alternate_name", "description", "url", "email", "status",
         "interpretation_services", "application_process", "fees_description", "wait_time", "fees",
         "accreditations", "eligibility_description", "minimum_age", "maximum_age", "assured_date", "assurer_email",
         "licenses", "alert", "last_modified"],
        list(SERVICE_PROFILE_FIELDS),
        ["visibility", "internal_note", "owner_email", "deputy_email"],
    ),
    "locations.csv": (
        ["id", "location_type", "url", "organization_id", "name", "alternate_name", "description", "transportation",
         "latitude", "longitude", "external_identifier", "external_identifier_type"],
        ["address_precision", "geo_precision", "gemeinde"],
        ["visibility"],
    ),
    "addresses.csv": (
        ["id", "location_id", "attention", "address_1", "address_2", "city", "region", "state_province",
         "postal_code", "country", "address_type"], [], []),
    "service_at_location.csv": (["id", "service_id", "location_id", "description"], [], []),
    "phones.csv": (
        ["id", "location_id", "service_id", "organization_id", "contact_id", "service_at_location_id", "number",
         "extension", "type", "description"], [], ["visibility"]),
    "contacts.csv": (
        ["id", "organization_id", "service_id", "service_at_location_id", "location_id", "name", "title",
         "department", "email"], [], []),
    "schedules.csv": (
        ["id", "service_id", "location_id", "service_at_location_id", "valid_from", "valid_to", "dtstart",
         "timezone", "until", "count", "wkst", "freq", "interval", "byday", "byweekno", "bymonthday", "byyearday",
         "description", "opens_at", "closes_at", "schedule_link", "attending_type", "notes"], [], []),
    "funding.csv": (["id", "organization_id", "service_id", "source"], [], []),
    "service_areas.csv": (["id", "service_id", "name", "description", "extent", "extent_type", "uri"],
                          ["jobcenter"], []),
    "required_documents.csv": (["id", "service_id", "document", "uri"], [], []),
    "languages.csv": (["id", "service_id", "location_id", "phone_id", "name", "code", "note"], [], []),
    "accessibility.csv": (["id", "location_id", "description", "details", "url"], [], []),
    "cost_options.csv": (
        ["id", "service_id", "valid_from", "valid_to", "option", "currency", "amount", "amount_description"],
        ["code"], []),
    "organization_identifiers.csv": (
        ["id", "organization_id", "identifier_scheme", "identifier_type", "identifier"], [], []),
    "taxonomies.csv": (["id", "name", "description", "uri", "version"], [], []),
    "taxonomy_terms.csv": (
        ["id", "code", "name", "description", "parent_id", "taxonomy", "language", "taxonomy_id", "term_uri"], [], []),
    "attributes.csv": (["id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value"], [], []),
    "metadata.csv": (
        ["id", "resource_id", "resource_type", "last_action_date", "last_action_type", "field_name", "previous_value",
         "replacement_value", "updated_by"], [], []),
}
TAXONOMY_ID = CATEGORY_TAXONOMY
FACET_BY_TAXONOMY = {taxonomy: field for field, (taxonomy, _label, _vocab) in FACETS.items()}
FACET_BY_TAXONOMY |= {taxonomy_id(taxonomy): field for taxonomy, field in list(FACET_BY_TAXONOMY.items())}
CATEGORY_TAXONOMIES = {"", "atlas", CATEGORY_TAXONOMY, taxonomy_id(CATEGORY_TAXONOMY), "Kategorien des Netzwerkatlas"}
STATUS_FROM_HSDS = {hsds: code for code, hsds in vocab.STATUS_HSDS.items()}
DATE_FIELDS = {"assured_date", "waiting_time_confirmed_at", "intake_status_confirmed_at",
               "opening_hours_confirmed_at", "valid_from", "valid_to"}
BOOL_FIELDS = {"short_notice", "supra_regional", "is_employer"}


def columns(table: str, internal: bool) -> list[str]:
    """The columns of a table in an export."""
    hsds, profile, internal_cols = TABLES[table]
    return hsds + profile + (internal_cols if internal else [])
