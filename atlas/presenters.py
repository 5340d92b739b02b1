"""Turn models into HSDS-shaped dicts: the public view holds public fields only, the internal view adds the rest."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from . import vocab
from .models import Location, Organization, Phone, Schedule, Service, ServiceSession, TaxonomyTerm
from .privacy import location_position, public_text, shown_precision
from .sessions import is_upcoming


def iso(value: date | datetime | None) -> str | None:
    """Return an ISO date or datetime string (datetimes with millisecond precision and Z)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds") + "Z"
    return value.isoformat()


def coded(vocabulary: dict[str, tuple[str, str]], codes: list[str] | None, lang: str) -> list[dict[str, str]]:
    """Return codes with their labels in a UI language."""
    return [{"code": c, "label": vocab.label(vocabulary, c, lang)} for c in codes or []]


def phone_view(phone: Phone, lang: str) -> dict[str, Any]:
    """HSDS phone."""
    return {
        "id": phone.id,
        "number": phone.number,
        "extension": phone.extension,
        "type": phone.type,
        "description": phone.description,
        "type_label": vocab.label(vocab.PHONE_TYPES, phone.type, lang),
    }


def visible_phones(phones: list[Phone], internal: bool, lang: str) -> list[dict[str, Any]]:
    """Phones the caller may see (internal direct lines only for staff)."""
    return [phone_view(p, lang) for p in phones if internal or p.visibility == "public"]


def schedule_view(schedule: Schedule, lang: str) -> dict[str, Any]:
    """HSDS schedule plus a readable German/English text."""
    days = [vocab.label(vocab.WEEKDAYS, d.strip(), lang) for d in schedule.byday.split(",") if d.strip()]
    hours = f"{schedule.opens_at}–{schedule.closes_at}" if schedule.opens_at and schedule.closes_at else ""
    return {
        "id": schedule.id,
        "freq": schedule.freq,
        "byday": schedule.byday,
        "opens_at": schedule.opens_at,
        "closes_at": schedule.closes_at,
        "valid_from": iso(schedule.valid_from),
        "valid_to": iso(schedule.valid_to),
        "description": schedule.description,
        "text": " ".join(p for p in (", ".join(days), hours, schedule.description and f"({schedule.description})") if p),
    }


def location_view(location: Location, internal: bool, lang: str) -> dict[str, Any]:
    """HSDS location with its address; protected sites are reduced to what the public may see."""
    precision = shown_precision(location.address_precision, internal)
    position = location_position(location, internal)
    text = public_text(location, internal)
    addr = location.address
    address = None
    if addr is not None:
        address = {
            "address_1": addr.street(precision),
            "address_2": addr.address_2 if precision == "exakt" else None,
            "city": addr.city,
            "region": addr.region,
            "state_province": addr.state_province,
            "postal_code": None if precision == "gemeinde" else addr.postal_code,
            "country": addr.country,
            "address_type": "physical",
        }
    view = {
        "id": location.uuid,
        "location_type": location.location_type,
        "name": text["name"],
        "description": text["description"],
        "transportation": text["transportation"],
        "latitude": position[0] if position else None,
        "longitude": position[1] if position else None,
        "url": text["url"],
        "addresses": [address] if address else [],
        "address_line": addr.one_line(precision) if addr else None,
        "address_protected": location.address_precision != "exakt",
        "accessibility": (
            [{"description": text["accessibility_description"]}] if text["accessibility_description"] else []
        ),
        "phones": visible_phones(location.phones, internal, lang),
        "schedules": [schedule_view(s, lang) for s in location.schedules],
        "gemeinde": location.gemeinde.name if location.gemeinde else None,
    }
    if internal:
        view |= {
            "internal_id": location.id,
            "exact_latitude": location.latitude,
            "exact_longitude": location.longitude,
            "geo_precision": location.geo_precision,
            "geo_source": location.geo_source,
            "address_precision": location.address_precision,
            "visibility": location.visibility,
        }
    return view


def term_view(term: TaxonomyTerm, lang: str) -> dict[str, Any]:
    """HSDS taxonomy_term."""
    return {
        "id": term.slug,
        "code": term.slug,
        "name": term.label(lang),
        "parent_id": term.parent.slug if term.parent else None,
        "parent_name": term.parent.label(lang) if term.parent else None,
        "taxonomy": "atlas",
        "language": lang,
    }


def organization_view(org: Organization, internal: bool, lang: str) -> dict[str, Any]:
    """HSDS organization."""
    view = {
        "id": org.uuid,
        "name": org.name,
        "alternate_name": org.alternate_name,
        "description": org.description,
        "email": org.email,
        "website": org.website,
        "legal_status": org.legal_status,
        "phones": visible_phones(org.phones, internal, lang),
    }
    if internal:
        view |= _internal_entry_fields(org) | {
            "internal_id": org.id,
            "sector": org.sector,
            "is_employer": org.is_employer,
            "contacts": [_contact(c) for c in org.contacts],
        }
    return view


def _contact(contact: Any) -> dict[str, Any]:
    return {k: getattr(contact, k) for k in ("name", "title", "department", "email", "phone")}


def _internal_entry_fields(entry: Organization | Service) -> dict[str, Any]:
    return {
        "visibility": entry.visibility,
        "internal_note": entry.internal_note,
        "owner": entry.owner.email if entry.owner else None,
        "deputy": entry.deputy.email if entry.deputy else None,
        "assured_by": entry.assured_by.email if entry.assured_by else None,
        "archived_at": iso(entry.archived_at),
        "source": {"name": entry.source_name, "id": entry.source_id, "url": entry.source_url,
                   "licence": entry.source_licence, "imported_at": iso(entry.imported_at)},
    }


SESSIONS_SHOWN = 12


def session_view(item: ServiceSession, lang: str) -> dict[str, Any]:
    """A dated session with its labels (its "when" is worded at render time: "heute", "morgen")."""
    return {"id": item.uuid, "starts_on": iso(item.starts_on), "start_time": item.start_time,
            "end_time": item.end_time, "place": item.place, "seats": item.seats,
            "seats_label": "" if item.seats == "unbekannt" else vocab.label(vocab.SESSION_SEATS, item.seats, lang),
            "registration_note": item.registration_note}


def session_fields(items: list[ServiceSession], lang: str) -> dict[str, Any]:
    """The sessions still ahead (the first SESSIONS_SHOWN) and how many more there are."""
    ahead = [s for s in items if is_upcoming(s)]
    return {"sessions": [session_view(s, lang) for s in ahead[:SESSIONS_SHOWN]],
            "sessions_more": max(0, len(ahead) - SESSIONS_SHOWN)}


def service_view(service: Service, internal: bool, lang: str = "de") -> dict[str, Any]:
    """HSDS 3.0 service with its organisation, locations and the atlas DE profile fields."""
    locations = [loc for loc in service.locations if internal or (loc.visibility == "public" and loc.archived_at is None)]
    view: dict[str, Any] = {
        "id": service.uuid,
        "name": service.name,
        "alternate_name": service.alternate_name,
        "description": service.description,
        "url": service.url,
        "email": service.email,
        "status": vocab.STATUS_HSDS[service.status],
        "alert": service.alert,
        "application_process": service.application_process,
        "fees_description": service.fees_description,
        "eligibility_description": service.eligibility_description,
        "minimum_age": service.minimum_age,
        "maximum_age": service.maximum_age,
        "assured_date": iso(service.assured_date),
        "last_modified": iso(service.updated_at),
        "organization": organization_view(service.organization, internal, lang),
        "phones": visible_phones(service.phones, internal, lang),
        "schedules": [schedule_view(s, lang) for s in service.schedules],
        "service_at_locations": [{"id": f"{service.uuid}:{loc.uuid}", "location": location_view(loc, internal, lang)}
                                 for loc in locations],
        "languages": [{"code": c, "name": vocab.label(vocab.LANGUAGES, c, lang)} for c in service.languages or []],
        "cost_options": [{"option": vocab.label(vocab.COST_OPTIONS, c, lang), "code": c, "currency": "EUR"}
                         for c in service.cost_options or []],
        "service_areas": [{"name": jc.name, "description": jc.short_name, "extent_type": None} for jc in service.jobcenters],
        "taxonomy_terms": [term_view(t, lang) for t in service.categories if internal or not t.internal_only],
        "atlas": {
            "id": service.id,
            "status_code": service.status,
            "status_label": vocab.label(vocab.STATUS, service.status, lang),
            "summary_plain": service.summary_plain,
            "valid_from": iso(service.valid_from),
            "valid_to": iso(service.valid_to),
            "cost_options": coded(vocab.COST_OPTIONS, service.cost_options, lang),
            "access_routes": coded(vocab.ACCESS_ROUTES, service.access_routes, lang),
            "legal_domains": coded(vocab.LEGAL_DOMAINS, service.legal_domains, lang),
            "contact_channels": coded(vocab.CONTACT_CHANNELS, service.contact_channels, lang),
            "accessibility": coded(vocab.ACCESSIBILITY, service.accessibility, lang),
            "target_group": service.target_group,
            "waiting_time": service.waiting_time,
            "waiting_time_confirmed_at": iso(service.waiting_time_confirmed_at),
            "intake_status": service.intake_status,
            "intake_status_label": vocab.label(vocab.INTAKE_STATUS, service.intake_status, lang),
            "intake_status_confirmed_at": iso(service.intake_status_confirmed_at),
            "opening_hours_confirmed_at": iso(service.opening_hours_confirmed_at),
            "delivery_format": service.delivery_format,
            "delivery_format_label": vocab.label(vocab.DELIVERY_FORMAT, service.delivery_format, lang),
            "setting": service.setting,
            "setting_label": vocab.label(vocab.SETTING, service.setting, lang),
            "short_notice": service.short_notice,
            "supra_regional": service.supra_regional,
            "jobcenters": [jc.slug for jc in service.jobcenters],
            **session_fields(service.sessions, lang),
        },
    }
    if internal:
        view["atlas"] |= _internal_entry_fields(service) | {
            "contacts": [_contact(c) for c in service.contacts],
            "review_interval_months": service.review_interval_months,
            "version": service.version_id,
        }
        view["assurer_email"] = service.assured_by.email if service.assured_by else None
    return view
