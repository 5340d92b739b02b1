"""Rows of a table (CSV, Excel, HTML, Markdown) to records: header synonyms, addresses, phones, hours."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from itertools import chain, islice
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .. import vocab
from ..geocoding import fold
from ..safetext import clean_url as safe_clean_url
from .mapping import SAMPLE_ROWS, ColumnGuess, check_name, detect
from .records import (
    AddressData,
    ContactData,
    ImportFileError,
    ImportRecord,
    LocationData,
    OrganizationData,
    PhoneData,
    ReadResult,
    ScheduleData,
)

# Target fields of a table column, with the header spellings seen in real exports (German and English).
SYNONYMS: dict[str, list[str]] = {
    "id": ["id", "nr", "nummer", "lfd nr", "laufende nummer", "kennung", "schluessel", "source id", "quell id",
           "datensatz id", "key"],
    "name": ["name", "angebot", "name des angebots", "angebotsname", "bezeichnung", "einrichtung", "titel",
             "beratungsstelle", "stelle", "dienst", "service", "service name", "title", "offer", "angebot einrichtung"],
    "organization": ["traeger", "trager", "organisation", "organization", "organisation name", "anbieter",
                     "institution", "verband", "traegerin", "provider", "organisation traeger", "org"],
    "alternate_name": ["kurzname", "abkuerzung", "alternativer name", "alternate name", "short name"],
    "description": ["beschreibung", "kurzbeschreibung", "inhalt", "angebotsbeschreibung", "was", "leistungen",
                    "description", "details", "summary"],
    "address": ["adresse", "anschrift", "postanschrift", "adresse vollstaendig", "address", "full address"],
    "street": ["strasse", "str", "strasse und hausnummer", "strasse hausnummer", "strasse hausnr", "street",
               "address 1", "address1", "street address", "addr street"],
    "house_number": ["hausnummer", "hausnr", "haus nr", "house number", "housenumber"],
    "postal_code": ["plz", "postleitzahl", "postal code", "postcode", "zip", "zip code", "zipcode"],
    "city": ["ort", "stadt", "gemeinde", "wohnort", "kommune", "stadt gemeinde", "city", "town", "place",
             "municipality"],
    "postal_city": ["plz ort", "plz und ort", "postleitzahl ort", "plz stadt"],
    "phone": ["telefon", "tel", "telefonnummer", "rufnummer", "fon", "telefon nr", "tel nr", "phone", "telephone",
              "phone number", "kontakt telefon"],
    "fax": ["fax", "telefax", "faxnummer"],
    "email": ["e mail", "email", "mail", "e mail adresse", "emailadresse", "email address", "kontakt e mail"],
    "url": ["web", "webseite", "website", "homepage", "internet", "internetseite", "internetadresse", "url", "link",
            "webadresse", "web address"],
    "categories": ["kategorie", "kategorien", "bereich", "bereiche", "themen", "thema", "rubrik", "angebotsart",
                   "category", "categories", "type"],
    "notes": ["notizen", "notiz", "bemerkungen", "bemerkung", "anmerkungen", "anmerkung", "kommentar",
              "interne notiz", "intern", "hinweise intern", "notes", "note", "comments", "remarks"],
    "opening_hours": ["oeffnungszeiten", "sprechzeiten", "erreichbarkeit", "zeiten", "opening hours", "hours"],
    "target_group": ["zielgruppe", "fuer wen", "zielgruppen", "target group", "audience"],
    "languages": ["sprachen", "sprache", "languages", "language"],
    "fees": ["kosten", "gebuehren", "fees", "costs"],
    "latitude": ["breitengrad", "breite", "lat", "latitude", "y"],
    "longitude": ["laengengrad", "laenge", "lon", "lng", "long", "longitude", "x"],
    "contact": ["ansprechpartner", "ansprechpartnerin", "ansprechperson", "kontaktperson", "ansprechpartner in",
                "contact", "contact person"],
    "visibility": ["sichtbarkeit", "oeffentlich", "visibility", "public"],
}
FIELDS = {*SYNONYMS, "ignore"}
# Columns our own error download adds; they are never data.
IGNORED = {"importzeile", "importfehler"}
FIELD_LABELS = {
    "id": "Kennung", "name": "Name", "organization": "Träger", "alternate_name": "Kurzname",
    "description": "Beschreibung", "address": "Adresse", "street": "Straße", "house_number": "Hausnummer",
    "postal_code": "PLZ", "city": "Ort", "postal_city": "PLZ und Ort", "phone": "Telefon", "fax": "Fax",
    "email": "E-Mail", "url": "Web", "categories": "Kategorien", "notes": "Notizen (intern)",
    "opening_hours": "Öffnungszeiten", "target_group": "Zielgruppe", "languages": "Sprachen", "fees": "Kosten",
    "latitude": "Breitengrad", "longitude": "Längengrad", "contact": "Ansprechperson", "visibility": "Sichtbarkeit",
    "ignore": "nicht übernehmen",
}
# Spreadsheet formulas and DDE payloads: =..., @..., +SUM(...), -cmd|...
FORMULA = re.compile(r"^\s*[=@]|^\s*[+\-]\s*[A-Za-z_][A-Za-z0-9_.]*\s*[(|!]")
PLZ_CITY = re.compile(r"(?:D-)?(?P<plz>\d{5})\s+(?P<city>[^,\n]+)")
PHONE_SPLIT = re.compile(r"\s*(?:[;\n]|,(?!\d)|\boder\b|\bu\.\b|\bund\b)\s*")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_PREFIX = re.compile(r"^(tel|telefon|fon|mobil|fax)\.?:?\s*", re.IGNORECASE)
MOBILE = re.compile(r"^(\+49\s*|0)1[5-7]")
CATEGORY_SPLIT = re.compile(r"[;|\n]")
LANGUAGE_SPLIT = re.compile(r"[,;/\n]|\bund\b")
HOURS_LEFTOVER = re.compile(r"[\s,;.]|uhr|und", re.IGNORECASE)
DAY_CODES = {"mo": "MO", "di": "TU", "mi": "WE", "do": "TH", "fr": "FR", "sa": "SA", "so": "SU",
             "tu": "TU", "we": "WE", "th": "TH", "su": "SU"}
DAY_ORDER = list(vocab.WEEKDAYS)
HOURS = re.compile(
    r"(?P<days>[A-Za-zäÄ]{2}\.?(?:\s*(?:-|–|bis|,|\+|und|&)\s*[A-Za-zäÄ]{2}\.?)*)\.?\s*:?\s*"
    r"(?P<open>\d{1,2}(?:[:.]\d{2})?)\s*(?:uhr)?\s*(?:-|–|bis)\s*(?P<close>\d{1,2}(?:[:.]\d{2})?)\s*(?:uhr)?",
    re.IGNORECASE)


def header_key(text: Any) -> str:
    """Fold a header cell for synonym lookup ("E-Mail-Adresse:" -> "e mail adresse")."""
    return " ".join(fold(str(text or "")).split())


SYNONYM_INDEX = {header_key(s): target for target, spellings in SYNONYMS.items() for s in spellings}
FOLDED_SYNONYMS = {target: [header_key(s) for s in spellings] for target, spellings in SYNONYMS.items()}


def load_mapping(path: Path) -> dict[str, str]:
    """Read a user mapping file: JSON {"Spalte": "feld"} or a CSV with the columns spalte;feld."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportFileError(f"Die Zuordnungsdatei {path.name} gibt es nicht.") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"Die Zuordnungsdatei {path.name} ist nicht in UTF-8 gespeichert.") from None
    return parse_mapping(text, path.name)


def parse_mapping(text: str, name: str = "Zuordnung") -> dict[str, str]:
    """Parse and check mapping text (JSON object or two-column CSV)."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileError(f"{name}: fehlerhaftes JSON in Zeile {exc.lineno} ({exc.msg}).") from None
        pairs = list(data.items())
    else:
        dialect = ";" if text.count(";") >= text.count(",") else ","
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=dialect) if any(c.strip() for c in r)]
        if rows and header_key(rows[0][0]) in ("spalte", "column") and len(rows[0]) > 1:
            rows = rows[1:]
        bad = [i + 1 for i, r in enumerate(rows) if len(r) < 2]
        if bad:
            raise ImportFileError(f"{name}: Zeile {bad[0]} braucht zwei Spalten (Spalte in der Datei; Feld).")
        pairs = [(r[0], r[1]) for r in rows]
    mapping: dict[str, str] = {}
    for column, target in pairs:
        if not isinstance(target, str) or target.strip() not in FIELDS:
            raise ImportFileError(f"{name}: unbekanntes Feld {target!r} für die Spalte „{column}“. "
                                  f"Erlaubt: {', '.join(sorted(FIELDS))}.")
        mapping[header_key(column)] = target.strip()
    return mapping


def map_columns(header: list[str], user_mapping: dict[str, str] | None,
                samples: list[list[str]]) -> tuple[dict[int, str], list[str], list[ColumnGuess]]:
    """Map each column to a field by header meaning and content; a missing or doubtful name column is a question."""
    user = {header_key(k): v for k, v in (user_mapping or {}).items()}
    user |= {key: "ignore" for key in map(header_key, header) if key in IGNORED and key not in user}
    guesses = detect(header, samples, FOLDED_SYNONYMS, user, header_key)
    check_name(guesses, FIELD_LABELS)
    unused = [g.header for g in guesses if g.header and not g.field and g.how != "festgelegt"]
    warnings = [f"Diese Spalten werden nicht übernommen: {', '.join(unused)}. "
                "In der Zuordnung lassen sie sich einem Feld zuweisen."] if unused else []
    return {g.index: g.field for g in guesses if g.field}, warnings, guesses


def map_header(header: list[str], user_mapping: dict[str, str] | None) -> tuple[dict[int, str], list[str]]:
    """Assign each column a target field by its header alone; returns {column index: field} and warnings."""
    columns, warnings, _guesses = map_columns(header, user_mapping, [])
    return columns, warnings


def mapping_labels(guesses: list[ColumnGuess]) -> dict[str, str]:
    """The detected mapping for previews: header -> "Name (85 %, Wort „name“)"."""
    return {g.header: f"{FIELD_LABELS[g.field]} ({g.percent} %, {g.how})" if g.field else FIELD_LABELS["ignore"]
            for g in guesses if g.header}


def cell_text(value: Any) -> str:
    """A cell as trimmed text (numbers without a trailing .0, dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def records_from_rows(fmt: str, header: list[str], rows: Iterable[tuple[int, list[Any]]],
                      user_mapping: dict[str, str] | None, max_rows: int,
                      row_errors: dict[int, list[str]] | None = None) -> ReadResult:
    """Turn a header and numbered rows into records; problems of a row become that row's errors."""
    iterator = iter(rows)
    head = list(islice(iterator, SAMPLE_ROWS))
    columns, warnings, guesses = map_columns(header, user_mapping, [[cell_text(c) for c in cells] for _n, cells in head])
    records: list[ImportRecord] = []
    for number, cells in chain(head, iterator):
        if not any(cell_text(c) for c in cells):
            continue
        if len(records) >= max_rows:
            raise ImportFileError(f"Die Datei hat mehr als {max_rows} Zeilen; bitte in kleinere Dateien aufteilen.")
        record = record_from_cells(number, header, columns, cells)
        record.errors[:0] = (row_errors or {}).get(number, [])
        records.append(record)
    if not records:
        raise ImportFileError("Die Datei enthält nur eine Kopfzeile und keine Daten.")
    mapping = mapping_labels(guesses)
    return ReadResult(fmt, records, columns=[str(h) for h in header], warnings=warnings, mapping=mapping,
                      guesses=guesses)


def record_from_cells(number: int, header: list[str], columns: dict[int, str], cells: list[Any]) -> ImportRecord:
    """Build one record from a row's cells."""
    values: dict[str, str] = {}
    errors: list[str] = []
    for i, target in columns.items():
        text = cell_text(cells[i]) if i < len(cells) else ""
        if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
            text = text[1:]  # our own exports escape such cells with an apostrophe
        if not text:
            continue
        if FORMULA.match(text):
            shown = text if len(text) <= 30 else text[:29] + "…"
            errors.append(f"Spalte „{header[i]}“ enthält eine Formel („{shown}“); Formeln werden nicht übernommen. "
                          "Bitte die Werte statt der Formeln speichern.")
            continue
        values[target] = f"{values[target]}\n{text}" if target in values else text
    raw = {str(header[i]): cell_text(cells[i]) if i < len(cells) else "" for i in range(len(header))}
    record = build_record(number, values, raw)
    record.errors[:0] = errors
    return record


def build_record(number: int, v: dict[str, str], raw: dict[str, Any]) -> ImportRecord:
    """Map target-field values (all text) to a record."""
    name = v.get("name") or v.get("organization")
    org = OrganizationData(name=v.get("organization") or name)
    record = ImportRecord(row=number, name=name, organization=org, source_id=v.get("id"), raw=raw)
    if not name:
        record.errors.append("Kein Name: die Spalte für den Namen ist leer.")
    for target, attr in (("description", "description"), ("alternate_name", "alternate_name"),
                         ("target_group", "target_group"), ("fees", "fees_description")):
        if v.get(target):
            record.fields[attr] = v[target]
    if v.get("notes"):
        record.fields["internal_note"] = v["notes"]
    if v.get("email"):
        email = v["email"].removeprefix("mailto:").strip()
        if EMAIL.match(email):
            record.fields["email"] = email.lower()
        else:
            record.warnings.append(f"„{v['email']}“ ist keine E-Mail-Adresse und wird nicht übernommen.")
    if v.get("url"):
        url = clean_url(v["url"])
        if url:
            record.fields["url"] = url
            org.fields["website"] = url
        else:
            record.warnings.append(f"„{v['url']}“ ist keine Webadresse (http/https) und wird nicht übernommen.")
    record.phones = split_phones(v.get("phone", ""), record.warnings)
    record.phones += [PhoneData(p.number, type="fax") for p in split_phones(v.get("fax", ""), record.warnings)]
    # Commas are split later by the planner, because category names contain commas themselves.
    record.categories = [c.strip() for c in CATEGORY_SPLIT.split(v.get("categories", "")) if c.strip()]
    if v.get("contact"):
        record.contacts.append(ContactData(name=v["contact"][:200]))
    if v.get("visibility"):
        visibility = parse_visibility(v["visibility"])
        if visibility is None:
            record.errors.append(f"Sichtbarkeit „{v['visibility']}“ verstehe ich nicht (öffentlich oder intern).")
        else:
            record.fields["visibility"] = visibility
            org.fields["visibility"] = visibility
    if v.get("languages"):
        record.fields["languages"] = language_codes(v["languages"], record.warnings)
    location = build_location(v, record)
    if location is not None:
        record.locations.append(location)
    if v.get("opening_hours"):
        schedules = parse_hours(v["opening_hours"])
        if schedules:
            (location.schedules if location is not None else record.schedules).extend(schedules)
        else:
            note = f"Öffnungszeiten (nicht erkannt): {v['opening_hours']}"
            record.fields["internal_note"] = "\n".join(p for p in (record.fields.get("internal_note"), note) if p)
            record.warnings.append(f"Öffnungszeiten „{v['opening_hours']}“ nicht erkannt; in die interne Notiz übernommen.")
    return record


def build_location(v: dict[str, str], record: ImportRecord) -> LocationData | None:
    """The row's site from split or one-column address parts and optional coordinates."""
    street, plz, city = v.get("street"), v.get("postal_code"), v.get("city")
    if street and v.get("house_number"):
        street = f"{street} {v['house_number']}"
    if v.get("postal_city"):
        match = PLZ_CITY.search(v["postal_city"])
        plz, city = (match["plz"], match["city"].strip()) if match else (plz, city or v["postal_city"])
    if v.get("address") and not (street and (plz or city)):
        parsed = split_address(v["address"])
        street, plz, city = street or parsed.address_1, plz or parsed.postal_code, city or parsed.city
    lat, lon = parse_coordinates(v.get("latitude"), v.get("longitude"), record.errors)
    if not (street or plz or city or lat is not None):
        return None
    if plz:
        plz = plz.strip()
        if re.fullmatch(r"\d{4}", plz):
            # Excel drops the leading zero of 01xxx-09xxx; say so, the row may simply be wrong.
            record.warnings.append(f"Postleitzahl „{plz}“ hat nur vier Ziffern; als „0{plz}“ gelesen.")
            plz = "0" + plz
        if not re.fullmatch(r"\d{5}", plz):
            record.warnings.append(f"Postleitzahl „{plz}“ hat nicht fünf Ziffern.")
            plz = plz[:10] if len(plz) >= 3 else None
    if street and not city:
        record.errors.append("Adresse ohne Ort: bitte den Ort angeben.")
    address = AddressData(address_1=street, postal_code=plz, city=city) if city else None
    return LocationData(address=address, latitude=lat, longitude=lon)


def split_address(text: str) -> AddressData:
    """Split "Marktstraße 5, 58452 Witten" (or "58452 Witten, Marktstraße 5", or with line breaks)."""
    text = " ".join(text.replace("\n", ", ").split())
    match = PLZ_CITY.search(text)
    if match:
        rest = (text[:match.start()] + " " + text[match.end():]).strip(" ,;")
        return AddressData(address_1=rest or None, postal_code=match["plz"], city=match["city"].strip(" ,;"))
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) >= 2:
        return AddressData(address_1=", ".join(parts[:-1]), city=parts[-1])
    return AddressData(city=text) if not re.search(r"\d", text) else AddressData(address_1=text)


def parse_coordinates(lat_text: str | None, lon_text: str | None, errors: list[str]) -> tuple[float | None, float | None]:
    """Parse decimal coordinates (comma or point); out-of-range values are row errors."""
    if not lat_text and not lon_text:
        return None, None
    try:
        lat = float(str(lat_text).replace(",", "."))
        lon = float(str(lon_text).replace(",", "."))
    except (TypeError, ValueError):
        errors.append(f"Koordinaten „{lat_text or ''}“, „{lon_text or ''}“ sind keine Zahlen.")
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        errors.append(f"Koordinaten außerhalb des gültigen Bereichs (Breite {lat:g}, Länge {lon:g}; "
                      "erlaubt sind −90 bis 90 und −180 bis 180).")
        return None, None
    return lat, lon


def clean_url(text: str) -> str | None:
    """The first word of a cell as an http(s) URL (the shared rule in atlas.safetext); None for anything else."""
    return safe_clean_url(text.strip().split()[0] if text and text.strip() else "")


def split_phones(text: str, warnings: list[str]) -> list[PhoneData]:
    """Split a cell with several numbers ("02302 123; 0171 456") into phones."""
    phones = []
    for part in PHONE_SPLIT.split(text or ""):
        part = PHONE_PREFIX.sub("", part.strip())
        if not part:
            continue
        if sum(ch.isdigit() for ch in part) < 5:
            warnings.append(f"Telefonnummer „{part}“ ist zu kurz und wird nicht übernommen.")
            continue
        phones.append(PhoneData(number=part[:50], type="cell" if MOBILE.match(part) else "voice"))
    return phones


def parse_visibility(text: str) -> str | None:
    """"öffentlich"/"ja"/"public" -> public, "intern"/"nein"/"internal" -> internal."""
    key = header_key(text)
    if key in ("oeffentlich", "ja", "public", "yes", "x", "1", "true"):
        return "public"
    if key in ("intern", "nein", "internal", "no", "0", "false", "nur intern"):
        return "internal"
    return None


LANGUAGE_INDEX = {header_key(label): code for code, labels in vocab.LANGUAGES.items() for label in (*labels, code)}


def language_codes(text: str, warnings: list[str]) -> list[str]:
    """Languages by code or German/English name; unknown ones are reported and left out."""
    codes: list[str] = []
    for part in LANGUAGE_SPLIT.split(text):
        key = header_key(part)
        if not key:
            continue
        code = LANGUAGE_INDEX.get(key)
        if code is None:
            warnings.append(f"Sprache „{part.strip()}“ ist nicht in der Liste und wird nicht übernommen.")
        elif code not in codes:
            codes.append(code)
    return codes


def _time(text: str) -> str | None:
    hours, _, minutes = text.replace(".", ":").partition(":")
    h, m = int(hours), int(minutes or 0)
    return f"{h:02d}:{m:02d}" if 0 <= h <= 24 and 0 <= m < 60 and (h, m) <= (24, 0) else None


def _days(text: str) -> list[str] | None:
    days: list[str] = []
    tokens = re.findall(r"[A-Za-zäÄ]{2}|-|–|bis", text)
    i = 0
    while i < len(tokens):
        code = DAY_CODES.get(tokens[i].lower())
        if code is None:
            return None
        if i + 2 < len(tokens) and tokens[i + 1] in ("-", "–", "bis"):
            end = DAY_CODES.get(tokens[i + 2].lower())
            if end is None:
                return None
            a, b = DAY_ORDER.index(code), DAY_ORDER.index(end)
            days.extend(DAY_ORDER[a:b + 1] if a <= b else [])
            i += 3
        else:
            days.append(code)
            i += 1
    return days or None


def parse_hours(text: str) -> list[ScheduleData]:
    """Parse "Mo-Fr 9-12 Uhr, Di 14:00-16:00" into schedules; empty when the text is not understood."""
    schedules: list[ScheduleData] = []
    for match in HOURS.finditer(text):
        days, opens, closes = _days(match["days"]), _time(match["open"]), _time(match["close"])
        if not days or not opens or not closes or opens >= closes:
            return []
        schedules.append(ScheduleData(byday=",".join(d for d in DAY_ORDER if d in days), opens_at=opens,
                                      closes_at=closes))
    leftover = HOURS_LEFTOVER.sub("", HOURS.sub("", text))
    return schedules if schedules and not leftover else []


Cell = tuple[str, str | None]
Table = tuple[list[Cell], list[tuple[int, list[Cell]]]]


def records_from_tables(fmt: str, tables: list[Table], user_mapping: dict[str, str] | None,
                        max_rows: int) -> ReadResult:
    """Records from several tables of a page (HTML, Markdown, wiki); cells are (text, link) pairs.

    Tables without a name column (layout tables, legends) are skipped; in web and e-mail columns the link
    target wins over the link text ("Homepage" -> https://...).
    """
    result: ReadResult | None = None
    skipped = 0
    first_error: ImportFileError | None = None
    for header_cells, rows in tables:
        header = [text for text, _link in header_cells]
        try:
            columns, _warnings, _guesses = map_columns(header, user_mapping,
                                                       [[t for t, _l in cells] for _n, cells in rows[:SAMPLE_ROWS]])
        except ImportFileError as exc:
            first_error = first_error or exc
            skipped += 1
            continue
        plain_rows = [(number, [_link_or_text(cell, columns.get(i)) for i, cell in enumerate(cells)])
                      for number, cells in rows]
        remaining = max_rows - (len(result.records) if result else 0)
        part = records_from_rows(fmt, header, plain_rows, user_mapping, max(remaining, 0))
        if result is None:
            result = part
        else:
            result.records.extend(part.records)
            result.warnings.extend(w for w in part.warnings if w not in result.warnings)
            result.mapping.update(part.mapping)
    if result is None:
        raise first_error or ImportFileError("Die Datei enthält keine Tabelle.")
    if skipped:
        result.warnings.append(f"{skipped} Tabelle(n) ohne Spalte für den Namen wurden übersprungen.")
    return result


def _link_or_text(cell: tuple[str, str | None], target: str | None) -> str:
    text, link = cell
    if link and target == "url" and not clean_url(text):
        return link
    if link and target == "email" and "@" not in text and link.lower().startswith("mailto:"):
        return link[7:]
    return text
