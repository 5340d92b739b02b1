"""Duplicate detection for organisations and offers: similar names in the same place, same phone, web or address.

Build a DuplicateIndex once (a few bulk queries) and ask it many times; find_duplicates() is the one-off shortcut
the curation forms use.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

import phonenumbers
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from .geocoding import fold, fold_plain
from .models import Address, Location, Organization, Phone, Service, ServiceAtLocation

Kind = Literal["organization", "service"]

# Name similarity (0-100) from which a name counts as "similar"; without a place on both sides it must be higher.
NAME_THRESHOLD = 85
NAME_THRESHOLD_NO_PLACE = 93
# A candidate is proposed from this combined score on; an address alone (many offers share a house) stays below.
MIN_SCORE = 0.6
# Words in which two similar names differ ("Kühn" / "Weber", "Nord" / "Süd", "A1" / "B1") must be at least this
# similar for the names to count as similar; in names of practices (usually a person's name) nearly identical.
DIFF_THRESHOLD = 75
DIFF_THRESHOLD_PERSON = 92
PERSON_WORDS = re.compile(r"praxis|arzt|aerztin|hebamme|therapeut|anwalt|kanzlei|psychotherapie")
# Contact details both sides have but do not share lower the score (two practices in one street).
CONTRADICTION = {"phone": 0.6, "url": 0.7, "address": 0.75}
# For offers, shared contact details without a similar name are the same Träger's other offer, not a duplicate.
WITHOUT_NAME = {"organization": 1.0, "service": 0.5}
# Weight of each signal per kind; signals combine like independent evidence: 1 - prod(1 - w).
WEIGHTS = {
    "organization": {"name": 0.9, "phone": 0.75, "url": 0.75, "address": 0.5},
    "service": {"name": 0.9, "phone": 0.6, "url": 0.65, "address": 0.4},
}

LEGAL_FORMS = re.compile(
    r"\b(e v|ev|eingetragener verein|g?gmbh|mbh|g?ug|haftungsbeschraenkt|gbr|kdoer|adoer|"
    r"gemeinnuetzige|gemeinnuetziger|gemeinnuetziges)\b"
)
TRAILING_FORMS = re.compile(r"\s+(g?ag|kg|eg|co kg|ohg)$")
STREET_WORD = re.compile(r"(strasse|str)\b")
PLAIN_PHONE = re.compile(r"\+?[\d\s/()\-.]+")


@dataclass
class DuplicateMatch:
    """An existing entry that may be the same as the one being entered or imported."""

    entity: Organization | Service
    score: float
    reasons: list[str]


@dataclass
class Hit:
    """A match by id, before the entity is loaded (what bulk callers such as the importer use)."""

    id: int
    name: str
    score: float
    reasons: list[str]


@lru_cache(maxsize=65536)
def normalise_name(name: str | None) -> str:
    """Fold a name and drop legal forms (e. V., gGmbH ...), so "Lichtblick e. V." equals "Lichtblick"."""
    text = fold(name or "")
    text = LEGAL_FORMS.sub(" ", text)
    text = TRAILING_FORMS.sub("", text)
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def normalise_city(city: str | None) -> str:
    """Fold a town name without suffixes in brackets or after a comma ("Witten (Ruhr)" -> "witten")."""
    if not city:
        return ""
    city = re.sub(r"\s*\(.*?\)\s*", " ", city).split(",")[0]
    return fold_plain(city)


@lru_cache(maxsize=65536)
def normalise_phone(number: str | None, region: str = "DE") -> str | None:
    """Return a phone number in E.164 (+492302...), or its digits when it cannot be parsed; None when empty."""
    if not number or not number.strip():
        return None
    text = number.strip()
    if region == "DE" and PLAIN_PHONE.fullmatch(text) and "(0)" not in text:
        # Fast path, same result as phonenumbers for plain German numbers (most of a 10,000-row import).
        digits = re.sub(r"\D", "", text)
        if text.startswith("+") and 8 <= len(digits) <= 15:
            return "+" + digits
        if digits.startswith("00") and 10 <= len(digits) <= 17:
            return "+" + digits[2:]
        if digits.startswith("0") and not digits.startswith("00") and 6 <= len(digits) <= 16:
            return "+49" + digits[1:]
    try:
        parsed = phonenumbers.parse(number, region)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = re.sub(r"\D", "", number)
    return digits or None


def normalise_url(url: str | None) -> str | None:
    """Return host and path without scheme, "www.", fragment and trailing slash; None when empty."""
    if not url or not url.strip():
        return None
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.lower()
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = re.sub(r"/(index\.(html?|php))?$", "", parts.path.rstrip("/")) if parts.path else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path.rstrip('/')}{query}" or None


def normalise_street(street: str | None) -> str:
    """Fold a street line: "Marktstraße 5" and "Markt Str. 5" both become "marktstr5"."""
    if not street:
        return ""
    text = STREET_WORD.sub("str", fold(street))
    return text.replace(" ", "")


def sorted_tokens(key: str) -> str:
    """Words in alphabetical order: plain similarity of such keys equals rapidfuzz's token_sort_ratio."""
    return " ".join(sorted(key.split()))


def distinct_words_agree(name: str, others: set[str]) -> bool:
    """True when the words in which two names differ are still alike (a typo, a word run together, not another
    surname, town or level); in names of practices they must be nearly identical."""
    mine = name.split()
    for other in others:
        theirs = other.split()
        only_mine = [w for w in mine if w not in theirs]
        only_theirs = [w for w in theirs if w not in mine]
        if not only_mine or not only_theirs:
            return True  # one name contains the other ("Hausarztpraxis Dr. Becker" / "Hausarztpraxis Becker")
        if any(ch.isdigit() for w in (*only_mine, *only_theirs) for ch in w):
            continue  # "Gruppe 10" / "Gruppe 100", "Kurs A1" / "Kurs B1": numbers are never typos
        similarity = max(fuzz.ratio(" ".join(sorted(only_mine)), " ".join(sorted(only_theirs))),
                         fuzz.ratio("".join(only_mine), "".join(only_theirs)))
        person = PERSON_WORDS.search(name) or PERSON_WORDS.search(other)
        if similarity >= (DIFF_THRESHOLD_PERSON if person else DIFF_THRESHOLD):
            return True
    return False


def address_keys(street: str | None, postal_code: str | None, city: str | None) -> set[str]:
    """Keys under which an address is indexed: street with postcode and street with town."""
    s = normalise_street(street)
    if not s:
        return set()
    keys = set()
    if postal_code and postal_code.strip():
        keys.add(f"{s}|{postal_code.strip()}")
    c = normalise_city(city)
    if c:
        keys.add(f"{s}|{c}")
    return keys


@dataclass
class Candidate:
    """One existing (or already planned) entry in normalised form."""

    id: int
    name: str
    keys: set[str] = field(default_factory=set)
    cities: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)


class DuplicateIndex:
    """Normalised names, places, phones, web addresses and addresses of all entries of one kind."""

    def __init__(self, kind: Kind, candidates: Iterable[Candidate] = ()) -> None:
        self.kind = kind
        self.weights = WEIGHTS[kind]
        self.candidates: dict[int, Candidate] = {}
        # Per place: parallel lists of normalised names (words sorted), candidate ids and the names without spaces
        # in their own word order, for rapidfuzz.
        self.names_by_city: dict[str, tuple[list[str], list[int], list[str]]] = defaultdict(lambda: ([], [], []))
        self.all_names: tuple[list[str], list[int], list[str]] = ([], [], [])
        self.by_phone: dict[str, set[int]] = defaultdict(set)
        self.by_url: dict[str, set[int]] = defaultdict(set)
        self.by_address: dict[str, set[int]] = defaultdict(set)
        for candidate in candidates:
            self.add(candidate)

    def __len__(self) -> int:
        return len(self.candidates)

    def add(self, c: Candidate) -> None:
        """Index one more entry (e.g. one planned earlier in the same import)."""
        self.candidates[c.id] = c
        for plain in c.keys:
            for names, ids, joined in [self.names_by_city[city] for city in c.cities or {""}] + [self.all_names]:
                names.append(sorted_tokens(plain))
                ids.append(c.id)
                joined.append(plain.replace(" ", ""))
        for value, index in ((c.phones, self.by_phone), (c.urls, self.by_url), (c.addresses, self.by_address)):
            for v in value:
                index[v].add(c.id)

    @classmethod
    def build(cls, session: Session, kind: Kind) -> DuplicateIndex:
        """Load every non-archived entry of a kind with a handful of bulk queries."""
        return cls(kind, _load_candidates(session, kind))

    def find(self, name: str, city: str | None = None, phones: Iterable[str] = (), urls: Iterable[str] = (),
             postal_code: str | None = None, street: str | None = None, exclude_id: int | None = None,
             limit: int = 5) -> list[Hit]:
        """Return the most likely duplicates by id, best first."""
        signals: dict[int, dict[str, float | str]] = defaultdict(dict)
        self._name_signals(name, normalise_city(city), signals)
        mine = {"phone": {normalise_phone(p) for p in phones} - {None}, "url": {normalise_url(u) for u in urls} - {None},
                "address": address_keys(street, postal_code, city)}
        for signal, index in (("phone", self.by_phone), ("url", self.by_url), ("address", self.by_address)):
            for value in mine[signal]:
                for cid in index.get(value, ()):
                    signals[cid][signal] = 1.0
        hits = []
        for cid, found in signals.items():
            if cid == exclude_id:
                continue
            score, reasons = self._combine(found)
            score *= self._contradiction(self.candidates[cid], mine, found)
            if score >= MIN_SCORE:
                hits.append(Hit(cid, self.candidates[cid].name, round(score, 3), reasons))
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:limit]

    def _contradiction(self, c: Candidate, mine: dict[str, set], found: dict[str, float | str]) -> float:
        """Lower the score for contact details both sides have but do not share, and for offers without a name match."""
        factor = 1.0 if "name" in found else WITHOUT_NAME[self.kind]
        theirs = {"phone": c.phones, "url": c.urls, "address": c.addresses}
        for signal, weight in CONTRADICTION.items():
            if mine[signal] and theirs[signal] and signal not in found:
                factor *= weight
        return factor

    def _name_signals(self, name: str, city: str, signals: dict[int, dict]) -> None:
        plain = normalise_name(name)
        key = sorted_tokens(plain)
        if not key:
            return
        if city:
            pools = [(self.names_by_city.get(city), NAME_THRESHOLD, "city"),
                     (self.names_by_city.get(""), NAME_THRESHOLD_NO_PLACE, "")]
        else:
            pools = [(self.all_names, NAME_THRESHOLD_NO_PLACE, "")]
        for pool, cutoff, where in pools:
            if not pool or not pool[0]:
                continue
            names, ids, joined = pool
            found = {i: score for _c, score, i in process.extract(key, names, scorer=fuzz.ratio, processor=None,
                                                                  score_cutoff=cutoff, limit=None)}
            # Words run together or apart ("Arbeitslosen-Zentrum" / "Arbeitslosenzentrum").
            for _c, score, i in process.extract(plain.replace(" ", ""), joined, scorer=fuzz.ratio,
                                                processor=None, score_cutoff=cutoff, limit=None):
                found[i] = max(score, found.get(i, 0))
            for i, score in found.items():
                cid = ids[i]
                if not distinct_words_agree(plain, self.candidates[cid].keys):
                    continue
                if score > float(signals[cid].get("name", 0)):
                    signals[cid]["name"] = score
                    signals[cid]["where"] = where

    def _combine(self, found: dict[str, float | str]) -> tuple[float, list[str]]:
        rest = 1.0
        reasons: list[str] = []
        if "name" in found:
            similarity = float(found["name"])
            rest *= 1 - self.weights["name"] * similarity / 100
            place = " im selben Ort" if found.get("where") == "city" else ""
            reasons.append(f"gleicher Name{place}" if similarity >= 99.5
                           else f"ähnlicher Name{place} ({round(similarity)} %)")
        for signal, reason in (("phone", "gleiche Telefonnummer"), ("url", "gleiche Webadresse"),
                               ("address", "gleiche Adresse")):
            if signal in found:
                rest *= 1 - self.weights[signal]
                reasons.append(reason)
        return 1 - rest, reasons


def _load_candidates(session: Session, kind: Kind) -> list[Candidate]:
    """Read names, phones, web addresses and addresses of all entries of a kind (no per-entry queries)."""
    locations: dict[int, tuple[int, str, set[str]]] = {}
    rows = session.execute(
        select(Location.id, Location.organization_id, Address.address_1, Address.postal_code, Address.city)
        .join(Address, Address.location_id == Location.id)
        .where(Location.archived_at.is_(None)))
    for loc_id, org_id, street, plz, city in rows:
        locations[loc_id] = (org_id, normalise_city(city), address_keys(street, plz, city))
    phones_by = {"organization": defaultdict(set), "service": defaultdict(set), "location": defaultdict(set)}
    for org_id, svc_id, loc_id, number in session.execute(
            select(Phone.organization_id, Phone.service_id, Phone.location_id, Phone.number)):
        normal = normalise_phone(number)
        if normal is None:
            continue
        if org_id is not None:
            phones_by["organization"][org_id].add(normal)
        elif svc_id is not None:
            phones_by["service"][svc_id].add(normal)
        else:
            phones_by["location"][loc_id].add(normal)
    if kind == "organization":
        return _organisation_candidates(session, locations, phones_by)
    return _service_candidates(session, locations, phones_by)


def _organisation_candidates(session: Session, locations: dict, phones_by: dict) -> list[Candidate]:
    candidates: dict[int, Candidate] = {}
    for org_id, name, alt, website in session.execute(
            select(Organization.id, Organization.name, Organization.alternate_name, Organization.website)
            .where(Organization.archived_at.is_(None))):
        c = Candidate(org_id, name, keys={k for k in (normalise_name(name), normalise_name(alt)) if k},
                      phones=set(phones_by["organization"].get(org_id, ())))
        if normalise_url(website):
            c.urls.add(normalise_url(website))
        candidates[org_id] = c
    for loc_id, (org_id, city, keys) in locations.items():
        c = candidates.get(org_id)
        if c is not None:
            if city:
                c.cities.add(city)
            c.addresses |= keys
            c.phones |= phones_by["location"].get(loc_id, set())
    return list(candidates.values())


def _service_candidates(session: Session, locations: dict, phones_by: dict) -> list[Candidate]:
    candidates: dict[int, Candidate] = {}
    for svc_id, name, alt, url in session.execute(
            select(Service.id, Service.name, Service.alternate_name, Service.url)
            .where(Service.archived_at.is_(None))):
        c = Candidate(svc_id, name, keys={k for k in (normalise_name(name), normalise_name(alt)) if k},
                      phones=set(phones_by["service"].get(svc_id, ())))
        if normalise_url(url):
            c.urls.add(normalise_url(url))
        candidates[svc_id] = c
    for svc_id, loc_id in session.execute(select(ServiceAtLocation.service_id, ServiceAtLocation.location_id)):
        c = candidates.get(svc_id)
        loc = locations.get(loc_id)
        if c is not None and loc is not None:
            if loc[1]:
                c.cities.add(loc[1])
            c.addresses |= loc[2]
            c.phones |= phones_by["location"].get(loc_id, set())
    return list(candidates.values())


def find_duplicates(session: Session, kind: Kind, name: str, city: str | None = None,
                    phones: Iterable[str] = (), urls: Iterable[str] = (), postal_code: str | None = None,
                    street: str | None = None, exclude_id: int | None = None, limit: int = 5) -> list[DuplicateMatch]:
    """Return existing organisations or offers that may be the same as the one described, best first."""
    if kind not in WEIGHTS:
        raise ValueError(f"kind must be 'organization' or 'service', not {kind!r}")
    index = DuplicateIndex.build(session, kind)
    hits = index.find(name, city, phones, urls, postal_code, street, exclude_id, limit)
    model = Organization if kind == "organization" else Service
    return [DuplicateMatch(session.get(model, h.id), h.score, h.reasons) for h in hits]
