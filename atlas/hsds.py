"""HSDS 3.0 objects from the model: one serialiser for the API, the JSON export and the tabular package.

Every function is a pure function of the entity it is given (plus the caller's scope), so callers may cache
the result per entity version. Objects never carry `null`: HSDS 3.0 omits absent values. Objects without an
id of their own get a stable UUID derived from their entity and kind (see `derived_id`).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from . import vocab
from .models import Location, Organization, Phone, Schedule, Service, TaxonomyTerm
from .presenters import iso
from .privacy import location_position, public_text, shown_precision
from .sessions import hsds_schedules

PROFILE_URI = "https://atlas.example/hsds-profile/de-atlas"
NAMESPACE = uuid.UUID("6f1c9a52-3a1e-4d0c-9a54-2a7f3b0e9c11")
CATEGORY_TAXONOMY = "atlas-kategorien"
# Offer facets exchanged as HSDS attributes, one taxonomy each: field -> (taxonomy code, label, vocabulary).
FACETS: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "access_routes": ("atlas-zugang", "Zugang", vocab.ACCESS_ROUTES),
    "legal_domains": ("atlas-rechtskreis", "Rechtskreis", vocab.LEGAL_DOMAINS),
    "contact_channels": ("atlas-kontaktwege", "Kontaktwege", vocab.CONTACT_CHANNELS),
    "accessibility": ("atlas-barrierefreiheit", "Barrierefreiheit", vocab.ACCESSIBILITY),
}
TAXONOMY_DESCRIPTIONS = {
    CATEGORY_TAXONOMY: "Die Kategorien des Netzwerkatlas (zwei Ebenen: Bereich und Kategorie).",
    "atlas-zugang": "Wie man zu einem Angebot kommt (Atlas-Profil, Attribut eines Angebots).",
    "atlas-rechtskreis": "Der Rechtskreis, dem ein Angebot zugeordnet ist (Atlas-Profil).",
    "atlas-kontaktwege": "Auf welchen Wegen ein Angebot erreichbar ist (Atlas-Profil).",
    "atlas-barrierefreiheit": "Merkmale der Barrierefreiheit eines Angebots (Atlas-Profil).",
}
SERVICE_PROFILE_FIELDS = ("summary_plain", "target_group", "waiting_time_confirmed_at", "intake_status",
                          "intake_status_confirmed_at", "opening_hours_confirmed_at", "delivery_format", "setting",
                          "short_notice", "supra_regional", "valid_from", "valid_to")


def derived_id(*parts: str) -> str:
    """A stable UUID for an object the model keeps without a UUID of its own."""
    return str(uuid.uuid5(NAMESPACE, ":".join(parts)))


def taxonomy_id(code: str) -> str:
    """The UUID of one of the atlas's taxonomies (categories or a facet)."""
    return derived_id("taxonomy", code)


def term_id(slug: str) -> str:
    """The UUID of a category term."""
    return derived_id("term", slug)


def facet_term_id(taxonomy: str, code: str) -> str:
    """The UUID of a facet value (e.g. atlas-zugang / termin)."""
    return derived_id("term", taxonomy, code)


def compact(obj: Any) -> Any:
    """Drop None values recursively: HSDS omits absent values instead of sending null."""
    if isinstance(obj, dict):
        return {k: compact(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [compact(v) for v in obj]
    return obj


def phone_id(phone: Phone) -> str:
    """The HSDS id of a phone."""
    return phone.uuid or derived_id("phone", str(phone.id))


def schedule_id(schedule: Schedule) -> str:
    """The HSDS id of a schedule."""
    return schedule.uuid or derived_id("schedule", str(schedule.id))


def _extension(value: str | None) -> int | None:
    # HSDS phone.extension is a number; a non-numeric extension goes into the description.
    return int(value) if value and value.isdigit() else None


def phone_record(phone: Phone, internal: bool, **link: str) -> dict[str, Any]:
    """HSDS phone (type per RFC 6350)."""
    description = phone.description
    if phone.extension and not phone.extension.isdigit():
        description = "; ".join(p for p in (description, f"Durchwahl {phone.extension}") if p)
    return compact({"id": phone_id(phone), **link, "number": phone.number, "extension": _extension(phone.extension),
                    "type": phone.type, "description": description,
                    "visibility": phone.visibility if internal else None})


def phones(items: list[Phone], internal: bool, **link: str) -> list[dict[str, Any]]:
    """The phones the caller may see (direct staff lines only internally)."""
    return [phone_record(p, internal, **link) for p in sorted(items, key=lambda x: x.id)
            if internal or p.visibility == "public"]


def schedule_record(s: Schedule, **link: str) -> dict[str, Any]:
    """HSDS schedule (RFC 5545 recurrence fields)."""
    return compact({"id": schedule_id(s), **link, "freq": s.freq, "byday": s.byday, "opens_at": s.opens_at,
                    "closes_at": s.closes_at, "valid_from": iso(s.valid_from), "valid_to": iso(s.valid_to),
                    "dtstart": iso(s.dtstart), "until": iso(s.until), "count": s.count, "interval": s.interval,
                    "wkst": s.wkst, "byweekno": s.byweekno, "bymonthday": s.bymonthday, "description": s.description,
                    "notes": s.notes, "attending_type": s.attending_type, "schedule_link": s.schedule_link})


def schedules(items: list[Schedule], **link: str) -> list[dict[str, Any]]:
    """Schedules in a stable order."""
    return [schedule_record(s, **link) for s in sorted(items, key=lambda x: x.id)]


def contacts(owner: Any, internal: bool, **link: str) -> list[dict[str, Any]]:
    """Named contact persons of an organisation or offer: staff personal data, internal only (never loaded else)."""
    if not internal:
        return []
    result = []
    for c in sorted(owner.contacts, key=lambda x: x.id):
        cid = c.uuid or derived_id("contact", str(c.id))
        result.append(compact({
            "id": cid, **link, "name": c.name, "title": c.title, "department": c.department, "email": c.email,
            "phones": [{"id": derived_id("contact-phone", cid), "contact_id": cid, "number": c.phone}] if c.phone else []}))
    return result


def address_record(location: Location, precision: str) -> dict[str, Any] | None:
    """HSDS address; None when the caller may not see a street (HSDS requires address_1 and postal_code)."""
    addr = location.address
    if addr is None:
        return None
    street = addr.street(precision)
    land = location.gemeinde.ancestor("bundesland") if location.gemeinde else None
    state = addr.state_province or (land.name if land else None)
    if not street or not addr.postal_code or not addr.city or not state:
        return None
    return compact({
        "id": derived_id(location.uuid, "address", "1"), "location_id": location.uuid, "address_1": street,
        "address_2": addr.address_2 if precision == "exakt" else None, "city": addr.city, "region": addr.region,
        "state_province": state, "postal_code": addr.postal_code, "country": addr.country,
        "address_type": "postal" if location.location_type == "postal" else "physical"})


def location_record(location: Location, internal: bool) -> dict[str, Any]:
    """HSDS location with address, accessibility, phones and schedules; protected sites reduced for the public."""
    precision = shown_precision(location.address_precision, internal)
    position = location_position(location, internal)
    text = public_text(location, internal)
    address = address_record(location, precision)
    protected = precision == "gemeinde"
    return compact({
        "id": location.uuid, "organization_id": location.organization.uuid, "location_type": location.location_type,
        "name": text["name"], "description": text["description"], "transportation": text["transportation"],
        "latitude": position[0] if position else None, "longitude": position[1] if position else None,
        "url": text["url"], "external_identifier": location.external_identifier,
        "external_identifier_type": location.external_identifier_type,
        "addresses": [address] if address else [],
        "accessibility": ([{"id": derived_id(location.uuid, "accessibility", "1"), "location_id": location.uuid,
                            "description": text["accessibility_description"]}]
                          if text["accessibility_description"] else []),
        "phones": phones(location.phones, internal, location_id=location.uuid),
        "schedules": schedules(location.schedules, location_id=location.uuid),
        # DE profile
        "address_precision": location.address_precision, "geo_precision": "gemeinde" if protected else location.geo_precision,
        "gemeinde": location.gemeinde.slug if location.gemeinde else None,
        "gemeinde_name": location.gemeinde.name if location.gemeinde else None,
        "city": location.address.city if location.address else None,
        "visibility": location.visibility if internal else None,
    })


def organization_record(org: Organization, internal: bool, with_locations: bool = False) -> dict[str, Any]:
    """HSDS organization (locations nested only for the package's walk over organisations)."""
    record = {
        "id": org.uuid, "name": org.name, "alternate_name": org.alternate_name,
        # HSDS requires a description; an empty one says "none recorded".
        "description": org.description or "", "email": org.email, "website": org.website,
        "legal_status": org.legal_status, "tax_status": org.tax_status, "tax_id": org.tax_id,
        "year_incorporated": org.year_incorporated, "logo": org.logo, "uri": org.uri,
        "parent_organization_id": org.parent_organization.uuid if org.parent_organization_id else None,
        "phones": phones(org.phones, internal, organization_id=org.uuid),
        "contacts": contacts(org, internal, organization_id=org.uuid),
        "sector": org.sector, "assured_date": iso(org.assured_date),
    }
    if with_locations:
        record["locations"] = [location_record(loc, internal) for loc in sorted(org.locations, key=lambda x: x.id)
                               if loc.archived_at is None and (internal or loc.visibility == "public")]
    if internal:
        record |= {"visibility": org.visibility, "internal_note": org.internal_note, "is_employer": org.is_employer,
                   "owner_email": org.owner.email if org.owner else None,
                   "deputy_email": org.deputy.email if org.deputy else None}
    return compact(record)


def internal_category(term: TaxonomyTerm) -> bool:
    """Employer categories and their children are never public."""
    return term.internal_only or bool(term.parent and term.parent.internal_only)


def taxonomy_record(code: str, label: str) -> dict[str, Any]:
    """HSDS taxonomy for one of the atlas's taxonomies."""
    return {"id": taxonomy_id(code), "name": label, "description": TAXONOMY_DESCRIPTIONS[code],
            "uri": f"{PROFILE_URI}#{code}", "version": "1"}


def category_term(term: TaxonomyTerm, lang: str = "de") -> dict[str, Any]:
    """HSDS taxonomy_term for a category (description required: a generated one when none is stored)."""
    parent = term.parent
    description = term.description or (f"{parent.label(lang)}: {term.label(lang)}" if parent else term.label(lang))
    return compact({"id": term_id(term.slug), "code": term.slug, "name": term.label(lang), "description": description,
                    "parent_id": term_id(parent.slug) if parent else None, "taxonomy": "Kategorien des Netzwerkatlas",
                    "taxonomy_id": taxonomy_id(CATEGORY_TAXONOMY), "language": lang,
                    "taxonomy_detail": taxonomy_record(CATEGORY_TAXONOMY, "Kategorien des Netzwerkatlas")})


def facet_term(field: str, code: str, lang: str = "de") -> dict[str, Any]:
    """HSDS taxonomy_term for a facet value."""
    taxonomy, label, vocabulary = FACETS[field]
    name = vocab.label(vocabulary, code, lang)
    return {"id": facet_term_id(taxonomy, code), "code": code, "name": name, "description": f"{label}: {name}",
            "taxonomy": label, "taxonomy_id": taxonomy_id(taxonomy), "language": lang,
            "taxonomy_detail": taxonomy_record(taxonomy, label)}


def attributes(service: Service, internal: bool, lang: str = "de") -> list[dict[str, Any]]:
    """Categories and facets of an offer as HSDS attributes, each with its taxonomy term."""
    terms = [category_term(t, lang) for t in service.categories if internal or not internal_category(t)]
    terms += [facet_term(field, code, lang) for field in FACETS for code in getattr(service, field) or []
              if code in FACETS[field][2]]
    return [{"id": derived_id("attribute", service.uuid, term["id"]), "link_id": service.uuid,
             "taxonomy_term_id": term["id"], "link_type": "service", "link_entity": "service",
             "value": term["code"], "taxonomy_term": term} for term in terms]


def service_record(service: Service, internal: bool, lang: str = "de") -> dict[str, Any]:
    """HSDS 3.0 service with organisation, locations and the DE-profile fields; public fields only when public."""
    sid = service.uuid
    locations = [loc for loc in service.locations if internal or (loc.visibility == "public" and loc.archived_at is None)]
    record: dict[str, Any] = {
        "id": sid, "organization_id": service.organization.uuid, "name": service.name,
        "alternate_name": service.alternate_name, "description": service.description, "url": service.url,
        "email": service.email, "status": vocab.STATUS_HSDS[service.status],
        "interpretation_services": service.interpretation_services, "application_process": service.application_process,
        "fees_description": service.fees_description, "wait_time": service.waiting_time,
        "accreditations": service.accreditations, "licenses": service.licenses,
        "eligibility_description": service.eligibility_description, "minimum_age": service.minimum_age,
        "maximum_age": service.maximum_age, "assured_date": iso(service.assured_date),
        "assurer_email": (service.assured_by.email if service.assured_by else None) if internal else None,
        "alert": service.alert, "last_modified": iso(service.updated_at),
        "organization": organization_record(service.organization, internal),
        "phones": phones(service.phones, internal, service_id=sid),
        # Opening hours, then the dated sessions as bounded weekly runs (dtstart, until, count).
        "schedules": schedules(service.schedules, service_id=sid) + hsds_schedules(service.sessions, sid),
        "service_at_locations": [
            compact({"id": derived_id("sal", sid, loc.uuid), "service_id": sid, "location_id": loc.uuid,
                     "description": sal.description, "location": location_record(loc, internal)})
            for sal, loc in sorted(((sal, sal.location) for sal in service.service_at_locations
                                    if sal.location in locations), key=lambda p: p[1].id)],
        "languages": [{"id": derived_id(sid, "language", code), "service_id": sid,
                       "name": vocab.label(vocab.LANGUAGES, code, lang), "code": code} for code in service.languages or []],
        "cost_options": [{"id": derived_id(sid, "cost", code), "service_id": sid, "currency": "EUR",
                          "option": vocab.label(vocab.COST_OPTIONS, code, lang), "code": code}
                         for code in service.cost_options or []],
        "service_areas": [{"id": derived_id(sid, "area", jc.slug), "service_id": sid, "name": jc.name,
                           "description": jc.short_name or jc.name, "jobcenter": jc.slug}
                          for jc in sorted(service.jobcenters, key=lambda j: j.slug)],
        "required_documents": [{"id": derived_id(sid, "document", str(n)), "service_id": sid, "document": doc}
                               for n, doc in enumerate(service.required_documents or [], start=1)],
        "contacts": contacts(service, internal, service_id=sid),
        "attributes": attributes(service, internal, lang),
        # DE profile (documented in docs/hsds-profile/)
        **{name: iso(v) if isinstance(v, date) else v
           for name in SERVICE_PROFILE_FIELDS for v in (getattr(service, name),)},
    }
    if internal:
        record |= {"visibility": service.visibility, "internal_note": service.internal_note,
                   "owner_email": service.owner.email if service.owner else None,
                   "deputy_email": service.deputy.email if service.deputy else None}
    return compact(record)


def api_service(service: Service, internal: bool, lang: str = "de") -> dict[str, Any]:
    """An API item: the HSDS service plus `atlas`, labels in the request language for display (DE profile)."""
    record = service_record(service, internal, lang)
    extras = {
        "id": service.id,
        "status_code": service.status,
        "status_label": vocab.label(vocab.STATUS, service.status, lang),
        "intake_status_label": vocab.label(vocab.INTAKE_STATUS, service.intake_status, lang),
        "delivery_format_label": vocab.label(vocab.DELIVERY_FORMAT, service.delivery_format, lang)
        if service.delivery_format else None,
        "setting_label": vocab.label(vocab.SETTING, service.setting, lang) if service.setting else None,
        "cost_options": _coded(vocab.COST_OPTIONS, service.cost_options, lang),
        **{field: _coded(FACETS[field][2], getattr(service, field), lang) for field in FACETS},
        "jobcenters": [jc.slug for jc in sorted(service.jobcenters, key=lambda j: j.slug)],
    }
    if internal:
        extras |= {"version": service.version_id, "review_interval_months": service.review_interval_months,
                   "archived_at": iso(service.archived_at),
                   "source": compact({"name": service.source_name, "id": service.source_id, "url": service.source_url,
                                      "licence": service.source_licence, "imported_at": iso(service.imported_at)})}
    record["atlas"] = compact(extras)
    return record


def _coded(vocabulary: dict[str, tuple[str, str]], codes: list[str] | None, lang: str) -> list[dict[str, str]]:
    return [{"code": c, "label": vocab.label(vocabulary, c, lang)} for c in codes or []]
