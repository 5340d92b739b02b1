"""Geocoding: an offline gazetteer of German postcodes and places, Nominatim when configured."""

from __future__ import annotations

import csv
import gzip
import re
import statistics
import threading
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from geopy.exc import GeopyError
from geopy.geocoders import Nominatim
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import GeocodeCache, Location, Region, utcnow

GAZETTEER_FILE = Path(__file__).resolve().parent.parent / "seeds" / "gazetteer" / "plz_de.csv.gz"
PLZ_RE = re.compile(r"^\d{5}$")


class GeocodingError(RuntimeError):
    """The online geocoder failed; the message says how, in German."""


@dataclass(frozen=True)
class GeoResult:
    """Coordinates with their precision, source and a human-readable label."""

    latitude: float
    longitude: float
    precision: str
    source: str
    label: str
    note: str | None = None


def fold(text: str) -> str:
    """Normalise a place name: lower case, umlauts as ae/oe/ue, ß as ss, no punctuation."""
    text = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def fold_plain(text: str) -> str:
    """Like fold(), but umlauts lose their dots (Lüdenscheid -> ludenscheid), as people type them."""
    return fold(unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode())


class Gazetteer:
    """German postcodes and places with centroids (GeoNames, CC BY 4.0), loaded from seeds/."""

    def __init__(self, path: Path = GAZETTEER_FILE) -> None:
        self.by_plz: dict[str, list[tuple[str, str, float, float, int]]] = defaultdict(list)
        by_place: dict[tuple[str, str], list[tuple[float, float, str]]] = defaultdict(list)
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                lat, lon, acc = float(row["latitude"]), float(row["longitude"]), int(row["accuracy"])
                self.by_plz[row["postal_code"]].append((row["place"], row["state"], lat, lon, acc))
                if acc >= 4:
                    by_place[(row["place"], row["state"])].append((lat, lon, row["postal_code"]))
        self.places: dict[str, list[tuple[str, str, float, float, list[str]]]] = defaultdict(list)
        for (place, state), pts in by_place.items():
            entry = (
                place,
                state,
                round(statistics.fmean(p[0] for p in pts), 5),
                round(statistics.fmean(p[1] for p in pts), 5),
                sorted({p[2] for p in pts}),
            )
            for key in {fold(place), fold_plain(place), fold(re.sub(r"\s*\(.*\)$", "", place))}:
                self.places[key].append(entry)

    def postcode(self, plz: str) -> GeoResult | None:
        """Return the centroid of a five-digit postcode."""
        rows = self.by_plz.get(plz.strip())
        if not rows:
            return None
        best = max(r[4] for r in rows)
        rows = [r for r in rows if r[4] == best]
        lat = statistics.fmean(r[2] for r in rows)
        lon = statistics.fmean(r[3] for r in rows)
        return GeoResult(round(lat, 5), round(lon, 5), "plz", "gazetteer", f"{plz} {rows[0][0]}")

    def place(self, name: str, postal_code: str | None = None) -> GeoResult | None:
        """Return the centroid of a town; among namesakes prefer the one with the postcode, then the largest."""
        candidates = self.places.get(fold(name)) or self.places.get(fold_plain(name)) or []
        if not candidates:
            return None
        exact = [c for c in candidates if fold(c[0]) == fold(name)] or candidates
        if postal_code:
            exact = [c for c in exact if postal_code in c[4]] or exact
        place, _state, lat, lon, _plz = max(exact, key=lambda c: len(c[4]))
        return GeoResult(lat, lon, "gemeinde", "gazetteer", place)

    def lookup(self, query: str) -> GeoResult | None:
        """Resolve free text that is a postcode, a town, or 'PLZ Town'."""
        query = query.strip()
        match = re.match(r"^(\d{5})\b\s*(.*)$", query)
        if match:
            return self.postcode(match.group(1)) or (self.place(match.group(2)) if match.group(2) else None)
        return self.place(query)


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """Return the process-wide gazetteer (loaded once, about 0.2 s)."""
    return Gazetteer()


class NominatimClient:
    """geopy's Nominatim with a minimum delay between requests and a database cache."""

    _lock = threading.Lock()
    _last_call = 0.0

    def __init__(self, url: str, user_agent: str, timeout: float, min_delay: float) -> None:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        self.domain = parts.netloc + parts.path.rstrip("/")
        self.geocoder = Nominatim(domain=self.domain, scheme=parts.scheme, user_agent=user_agent, timeout=timeout)
        self.min_delay = min_delay
        self.timeout = timeout

    def _throttle(self) -> None:
        with NominatimClient._lock:
            wait = NominatimClient._last_call + self.min_delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            NominatimClient._last_call = time.monotonic()

    def search(self, session: Session, street: str, postal_code: str | None, city: str | None) -> GeoResult | None:
        """Geocode a street address, using and filling the cache; raises GeocodingError on failure."""
        key = fold(" ".join(p for p in (street, postal_code, city) if p))
        cached = session.scalar(select(GeocodeCache).where(GeocodeCache.provider == "nominatim", GeocodeCache.query == key))
        if cached is None:
            cached = GeocodeCache(provider="nominatim", query=key, **self._ask(street, postal_code, city))
            session.add(cached)
        if cached.latitude is None:
            return None
        return GeoResult(cached.latitude, cached.longitude, cached.precision or "strasse", "nominatim",
                         cached.display_name or key)

    def _ask(self, street: str, postal_code: str | None, city: str | None) -> dict[str, Any]:
        query = {k: v for k, v in {"street": street, "postalcode": postal_code, "city": city}.items() if v}
        self._throttle()
        try:
            found = self.geocoder.geocode(query, country_codes="de", exactly_one=True)
        except GeopyError as exc:
            kind = "Zeitüberschreitung" if "timed out" in str(exc).lower() or "timeout" in type(exc).__name__.lower() else "Fehler"
            raise GeocodingError(
                f"Nominatim ({self.domain}) antwortet nicht ({kind}: {type(exc).__name__}, Zeitlimit {self.timeout:g} s)."
            ) from exc
        if found is None:
            return {"latitude": None, "longitude": None, "precision": None, "display_name": None}
        precision = "exakt" if re.search(r"\d", street) else "strasse"
        return {"latitude": found.latitude, "longitude": found.longitude, "precision": precision,
                "display_name": found.address}


def nominatim_from_config(config: dict[str, Any]) -> NominatimClient | None:
    """Return a Nominatim client when NOMINATIM_URL is set, else None."""
    if not config.get("NOMINATIM_URL"):
        return None
    return NominatimClient(config["NOMINATIM_URL"], config["NOMINATIM_USER_AGENT"],
                           float(config["NOMINATIM_TIMEOUT"]), float(config["NOMINATIM_MIN_DELAY"]))


def geocode_address(
    session: Session, config: dict[str, Any], street: str | None, postal_code: str | None, city: str | None,
    fallback: bool = True,
) -> GeoResult | None:
    """Geocode an address: Nominatim for streets when configured, else (or on failure) the gazetteer."""
    note = None
    client = nominatim_from_config(config)
    if client and street:
        try:
            found = client.search(session, street, postal_code, city)
            if found:
                return found
            note = "Nominatim kennt diese Straße nicht; Koordinaten aus dem Ortsverzeichnis."
        except GeocodingError as exc:
            if not fallback:
                raise
            note = f"{exc} Koordinaten stattdessen aus dem Ortsverzeichnis."
    offline = offline_lookup(session, postal_code, city)
    if offline and note:
        return GeoResult(offline.latitude, offline.longitude, offline.precision, offline.source, offline.label, note)
    return offline


def offline_lookup(session: Session, postal_code: str | None, city: str | None) -> GeoResult | None:
    """Resolve a postcode or town offline: the gazetteer's PLZ, else a Gemeinde in the database, else the gazetteer's town."""
    gaz = gazetteer()
    if postal_code and PLZ_RE.match(postal_code.strip()):
        found = gaz.postcode(postal_code)
        if found:
            return found
    if city:
        region = find_gemeinde(session, city)
        if region and region.latitude is not None:
            return GeoResult(region.latitude, region.longitude, "gemeinde", "gazetteer", region.name)
        return gaz.place(city, postal_code)
    return None


def find_gemeinde(session: Session, name: str) -> Region | None:
    """Return the Gemeinde in the database whose name or slug matches, ignoring umlauts and suffixes."""
    wanted = {fold(name), fold_plain(name)}
    for region in session.scalars(select(Region).where(Region.kind == "gemeinde")):
        names = {fold(region.name), fold_plain(region.name), fold(re.sub(r"\s*\(.*\)$", "", region.name)),
                 region.slug.replace("-", " ")}
        if wanted & names:
            return region
    return None


def gemeinde_for_postcode(session: Session, postal_code: str | None) -> Region | None:
    """Return the Gemeinde in the database that lists a postcode."""
    if not postal_code:
        return None
    for region in session.scalars(select(Region).where(Region.kind == "gemeinde")):
        if postal_code in (region.postal_codes or []):
            return region
    return None


def geocode_location(session: Session, config: dict[str, Any], location: Location, fallback: bool = True) -> str | None:
    """Set a location's coordinates from its address; returns a note when a fallback was used."""
    addr = location.address
    if location.location_type == "virtual" or addr is None:
        return None
    found = geocode_address(session, config, addr.address_1, addr.postal_code, addr.city, fallback=fallback)
    if found is None:
        return f"Adresse „{addr.one_line()}“ konnte nicht verortet werden."
    location.latitude, location.longitude = found.latitude, found.longitude
    location.geo_precision, location.geo_source, location.geocoded_at = found.precision, found.source, utcnow()
    if location.gemeinde is None:
        location.gemeinde = gemeinde_for_postcode(session, addr.postal_code) or find_gemeinde(session, addr.city)
    return found.note
