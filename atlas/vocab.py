"""Controlled vocabularies: stable codes with German and English labels."""

from __future__ import annotations

# Each vocabulary maps a stable code (stored in the database, used in seeds,
# imports and the API) to its (German, English) labels. Codes never change;
# labels may.

STATUS = {
    "aktiv": ("aktiv", "active"),
    "pausiert": ("pausiert", "paused"),
    "beendet": ("beendet", "ended"),
    "unklar": ("unklar", "unclear"),
}

# HSDS 3.0 service.status for export.
STATUS_HSDS = {
    "aktiv": "active",
    "pausiert": "temporarily closed",
    "beendet": "defunct",
    "unklar": "inactive",
}

VISIBILITY = {
    "public": ("öffentlich", "public"),
    "internal": ("intern", "internal"),
}

ROLES = {
    "coordinator": ("Koordination", "coordinator"),
    "staff": ("Lots*in / Mitarbeitende", "staff"),
}

COST_OPTIONS = {
    "kostenlos": ("kostenlos", "free of charge"),
    "gkv_gutschein": ("mit GKV-Gutschein", "health-insurance voucher"),
    "avgs": ("über das Jobcenter (AVGS)", "activation voucher (AVGS)"),
    "kostentraeger": ("Kostenübernahme durch Leistungsträger", "paid by a benefit agency"),
    "zuzahlung": ("Zuzahlung", "co-payment"),
    "selbstzahler": ("kostenpflichtig", "self-pay"),
    "spende": ("auf Spendenbasis", "by donation"),
}

ACCESS_ROUTES = {
    "direkt": ("direkt, ohne Anmeldung", "walk-in"),
    "termin": ("nach Terminvereinbarung", "by appointment"),
    "ueberweisung": ("mit Überweisung", "referral needed"),
    "antrag": ("mit Antrag", "application needed"),
    "gutschein": ("mit Gutschein", "with voucher"),
    "ueber_jobcenter": ("über das Jobcenter", "via the Jobcenter"),
}

LEGAL_DOMAINS = {
    "sgb2": ("SGB II", "SGB II"),
    "sgb3": ("SGB III", "SGB III"),
    "sgb5": ("SGB V", "SGB V"),
    "sgb6": ("SGB VI", "SGB VI"),
    "sgb8": ("SGB VIII", "SGB VIII"),
    "sgb9": ("SGB IX", "SGB IX"),
    "sgb12": ("SGB XII", "SGB XII"),
    "asylblg": ("AsylbLG", "AsylbLG"),
    "kommunal": ("kommunal", "municipal"),
    "privat": ("privat", "private"),
}

CONTACT_CHANNELS = {
    "persoenlich": ("persönlich", "in person"),
    "hausbesuch": ("Hausbesuch / aufsuchend", "home visit / outreach"),
    "telefonisch": ("telefonisch", "by phone"),
    "online": ("online / Video", "online / video"),
    "email": ("E-Mail / schriftlich", "e-mail / in writing"),
}

ACCESSIBILITY = {
    "stufenlos": ("stufenloser Zugang", "step-free access"),
    "aufzug": ("Aufzug", "lift"),
    "rollstuhl_wc": ("rollstuhlgerechtes WC", "wheelchair-accessible toilet"),
    "behindertenparkplatz": ("Behindertenparkplatz", "accessible parking"),
    "leichte_sprache": ("Leichte Sprache", "easy-to-read language"),
    "gebaerdensprache": ("Gebärdensprache", "sign language"),
    "induktionsschleife": ("Induktionsschleife", "hearing loop"),
    "blindenleitsystem": ("Leitsystem für blinde Menschen", "tactile guidance"),
}

INTAKE_STATUS = {
    "offen": ("nimmt neue Klient*innen auf", "accepting new clients"),
    "warteliste": ("Warteliste", "waiting list"),
    "aufnahmestopp": ("Aufnahmestopp", "not accepting"),
    "unbekannt": ("unbekannt", "unknown"),
}

DELIVERY_FORMAT = {
    "einzel": ("Einzelangebot", "individual"),
    "gruppe": ("Gruppenangebot", "group"),
    "beides": ("einzeln und in der Gruppe", "individual and group"),
}

SETTING = {
    "ambulant": ("ambulant", "outpatient"),
    "teilstationaer": ("teilstationär", "day patient"),
    "stationaer": ("stationär", "inpatient / residential"),
}

LOCATION_TYPES = {
    "physical": ("Standort", "physical"),
    "virtual": ("online", "virtual"),
    "postal": ("Postanschrift", "postal"),
}

# How exactly a location's address may be shown to the public.
ADDRESS_PRECISION = {
    "exakt": ("exakte Adresse", "exact address"),
    "strasse": ("nur Straße", "street only"),
    "gemeinde": ("nur Gemeinde", "municipality only"),
}

# How exact the stored coordinates are.
GEO_PRECISION = {
    "exakt": ("Hausnummer", "rooftop"),
    "strasse": ("Straße", "street"),
    "plz": ("Postleitzahlgebiet", "postcode area"),
    "gemeinde": ("Gemeinde", "municipality"),
    "unbekannt": ("unbekannt", "unknown"),
}

GEO_SOURCES = {
    "manuell": ("von Hand gesetzt", "set by hand"),
    "nominatim": ("Nominatim", "Nominatim"),
    "gazetteer": ("Ortsverzeichnis (offline)", "offline gazetteer"),
    "import": ("aus Import übernommen", "from import"),
    "seed": ("Demodaten", "demo data"),
}

PHONE_TYPES = {
    "voice": ("Telefon", "Phone"),
    "fax": ("Fax", "Fax"),
    "cell": ("Mobil", "Mobile"),
    "text": ("SMS", "Text message"),
    "video": ("Video", "Video call"),
    "textphone": ("Schreibtelefon", "Textphone"),
}

REGION_KINDS = {
    "bundesland": ("Bundesland", "federal state"),
    "kreis": ("Kreis / kreisfreie Stadt", "district"),
    "gemeinde": ("Gemeinde", "municipality"),
}

# Places left at a dated session (course date, group meeting, event).
SESSION_SEATS = {
    "unbekannt": ("keine Angabe", "not stated"),
    "frei": ("Plätze frei", "places available"),
    "wenige": ("nur noch wenige Plätze", "few places left"),
    "ausgebucht": ("ausgebucht", "fully booked"),
}

WEEKDAYS = {
    "MO": ("Montag", "Monday"),
    "TU": ("Dienstag", "Tuesday"),
    "WE": ("Mittwoch", "Wednesday"),
    "TH": ("Donnerstag", "Thursday"),
    "FR": ("Freitag", "Friday"),
    "SA": ("Samstag", "Saturday"),
    "SU": ("Sonntag", "Sunday"),
}

LANGUAGES = {
    "de": ("Deutsch", "German"),
    "en": ("Englisch", "English"),
    "tr": ("Türkisch", "Turkish"),
    "ar": ("Arabisch", "Arabic"),
    "ru": ("Russisch", "Russian"),
    "uk": ("Ukrainisch", "Ukrainian"),
    "pl": ("Polnisch", "Polish"),
    "ro": ("Rumänisch", "Romanian"),
    "bg": ("Bulgarisch", "Bulgarian"),
    "fa": ("Persisch (Farsi)", "Persian"),
    "ku": ("Kurdisch", "Kurdish"),
    "it": ("Italienisch", "Italian"),
    "el": ("Griechisch", "Greek"),
    "fr": ("Französisch", "French"),
    "es": ("Spanisch", "Spanish"),
    "sq": ("Albanisch", "Albanian"),
    "sr": ("Serbisch", "Serbian"),
    "hr": ("Kroatisch", "Croatian"),
    "ti": ("Tigrinya", "Tigrinya"),
    "dgs": ("Deutsche Gebärdensprache", "German Sign Language"),
}

# Vocabularies stored as lists of codes on an offer.
LIST_FIELDS = {
    "cost_options": COST_OPTIONS,
    "access_routes": ACCESS_ROUTES,
    "legal_domains": LEGAL_DOMAINS,
    "contact_channels": CONTACT_CHANNELS,
    "accessibility": ACCESSIBILITY,
    "languages": LANGUAGES,
}


def label(vocab: dict[str, tuple[str, str]], code: str | None, lang: str = "de") -> str:
    """Return the label of a code in the given language, or the code itself."""
    if code is None:
        return ""
    labels = vocab.get(code)
    if labels is None:
        return code
    return labels[1] if lang == "en" else labels[0]


def invalid_codes(vocab: dict[str, tuple[str, str]], codes: list[str]) -> list[str]:
    """Return the codes that are not part of a vocabulary."""
    return [c for c in codes if c not in vocab]
