"""German field labels shared by the forms and the readable history."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .. import vocab
from ..models import REVIEW_KINDS
from .models import REPORT_STATUS, REPORT_TOPICS

FIELD_LABELS = {
    "name": _l("Name"),
    "alternate_name": _l("Weiterer Name / Abkürzung"),
    "description": _l("Beschreibung"),
    "email": _l("E-Mail-Adresse"),
    "website": _l("Website"),
    "url": _l("Webadresse"),
    "legal_status": _l("Rechtsform"),
    "sector": _l("Bereich / Sektor"),
    "is_employer": _l("Arbeitgeber (nur intern)"),
    "uuid": _l("Kennung"),
    "visibility": _l("Sichtbarkeit"),
    "internal_note": _l("Interne Notiz"),
    "owner_id": _l("Verantwortlich"),
    "deputy_id": _l("Vertretung"),
    "assured_date": _l("Angaben geprüft am"),
    "assured_by_id": _l("Geprüft von"),
    "archived_at": _l("Archiviert am"),
    "source_name": _l("Quelle"),
    "source_id": _l("Kennung in der Quelle"),
    "source_url": _l("Adresse der Quelle"),
    "source_licence": _l("Lizenz der Quelle"),
    "imported_at": _l("Importiert am"),
    "organization_id": _l("Organisation"),
    "summary_plain": _l("Kurz erklärt (einfache Sprache)"),
    "status": _l("Stand"),
    "valid_from": _l("Gültig ab"),
    "valid_to": _l("Gültig bis"),
    "alert": _l("Hinweis (Banner)"),
    "fees_description": _l("Kosten (Text)"),
    "cost_options": _l("Kosten"),
    "access_routes": _l("Zugang"),
    "legal_domains": _l("Rechtskreis"),
    "contact_channels": _l("Kontaktwege"),
    "accessibility": _l("Barrierefreiheit"),
    "languages": _l("Sprachen"),
    "target_group": _l("Zielgruppe"),
    "eligibility_description": _l("Voraussetzungen"),
    "minimum_age": _l("Mindestalter"),
    "maximum_age": _l("Höchstalter"),
    "application_process": _l("So geht es los"),
    "waiting_time": _l("Wartezeit"),
    "waiting_time_confirmed_at": _l("Wartezeit bestätigt am"),
    "intake_status": _l("Aufnahme"),
    "intake_status_confirmed_at": _l("Aufnahme bestätigt am"),
    "opening_hours_confirmed_at": _l("Öffnungszeiten bestätigt am"),
    "delivery_format": _l("Form"),
    "setting": _l("Setting"),
    "short_notice": _l("kurzfristig verfügbar"),
    "supra_regional": _l("überregional"),
    "categories": _l("Kategorien"),
    "jobcenters": _l("Jobcenter"),
    "location_type": _l("Art des Standorts"),
    "transportation": _l("Anfahrt (ÖPNV)"),
    "accessibility_description": _l("Barrierefreiheit (Text)"),
    "latitude": _l("Breitengrad"),
    "longitude": _l("Längengrad"),
    "geo_precision": _l("Genauigkeit der Koordinaten"),
    "geo_source": _l("Herkunft der Koordinaten"),
    "geocoded_at": _l("Verortet am"),
    "address_precision": _l("Öffentlich sichtbare Adresse"),
    "gemeinde_id": _l("Gemeinde"),
    "location_id": _l("Standort"),
    "service_id": _l("Angebot"),
    "address_1": _l("Straße und Hausnummer"),
    "address_2": _l("Adresszusatz"),
    "postal_code": _l("PLZ"),
    "city": _l("Ort"),
    "region": _l("Kreis"),
    "state_province": _l("Bundesland"),
    "country": _l("Land"),
    "number": _l("Nummer"),
    "extension": _l("Durchwahl"),
    "type": _l("Art"),
    "title": _l("Funktion"),
    "department": _l("Abteilung"),
    "phone": _l("Telefon"),
    "freq": _l("Rhythmus"),
    "byday": _l("Wochentage"),
    "opens_at": _l("von"),
    "closes_at": _l("bis"),
    "slug": _l("Kurzname (Adresse)"),
    "name_en": _l("Name (Englisch)"),
    "parent_id": _l("Übergeordnet"),
    "review_interval_months": _l("Prüfintervall (Monate)"),
    "internal_only": _l("nur intern"),
    "sort_order": _l("Reihenfolge"),
    "kind": _l("Art"),
    "ags": _l("Amtlicher Schlüssel (AGS)"),
    "postal_codes": _l("Postleitzahlen"),
    "short_name": _l("Kurzname"),
    "role": _l("Rolle"),
    "password_hash": _l("Passwort"),
    "active": _l("aktiv"),
    "merged_from": _l("Zusammengeführt aus"),
    "merged_into": _l("Zusammengeführt in"),
    "starts_on": _l("Datum"),
    "start_time": _l("Beginn"),
    "end_time": _l("Ende"),
    "place": _l("Ort"),
    "seats": _l("Plätze"),
    "registration_note": _l("Anmeldung"),
}

ENTITY_LABELS = {
    "organization": _l("Organisation"),
    "service": _l("Angebot"),
    "location": _l("Standort"),
    "address": _l("Adresse"),
    "phone": _l("Telefonnummer"),
    "contact": _l("Ansprechperson"),
    "schedule": _l("Öffnungszeit"),
    "service_session": _l("Termin"),
    "service_at_location": _l("Angebot am Standort"),
    "taxonomy_term": _l("Kategorie"),
    "region": _l("Region"),
    "jobcenter": _l("Jobcenter"),
    "user": _l("Nutzer*in"),
}

ACTION_LABELS = {"create": _l("angelegt"), "update": _l("geändert"), "delete": _l("entfernt")}

# Vocabulary behind a coded field, for showing labels instead of codes.
CODED_FIELDS = {
    "status": vocab.STATUS,
    "intake_status": vocab.INTAKE_STATUS,
    "visibility": vocab.VISIBILITY,
    "delivery_format": vocab.DELIVERY_FORMAT,
    "setting": vocab.SETTING,
    "location_type": vocab.LOCATION_TYPES,
    "address_precision": vocab.ADDRESS_PRECISION,
    "geo_precision": vocab.GEO_PRECISION,
    "geo_source": vocab.GEO_SOURCES,
    "role": vocab.ROLES,
    "kind": vocab.REGION_KINDS,
    "type": vocab.PHONE_TYPES,
    "seats": vocab.SESSION_SEATS,
    **vocab.LIST_FIELDS,
}


def field_label(name: str) -> str:
    """Return the German (or English) label of a field, the name itself when unknown."""
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else name


def review_kind_label(kind: str, lang: str = "de") -> str:
    """Return the label of a review task kind."""
    labels = REVIEW_KINDS.get(kind)
    return (labels[1] if lang == "en" else labels[0]) if labels else kind


def topic_label(topic: str, lang: str = "de") -> str:
    """Return the label of a report topic."""
    return vocab.label(REPORT_TOPICS, topic, lang)


def report_status_label(status: str, lang: str = "de") -> str:
    """Return the label of a report status."""
    return vocab.label(REPORT_STATUS, status, lang)
