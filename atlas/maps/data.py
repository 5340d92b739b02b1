"""Map building blocks: folium map shells with vendored assets, and marker data that never holds raw HTML."""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

import folium
from branca.element import MacroElement
from flask_babel import gettext as _
from jinja2 import Template
from markupsafe import Markup
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from .. import validity
from ..models import (Address, AuditLog, Location, Organization, Phone, Region, Service, ServiceAtLocation,
                      TaxonomyTerm, address_line, service_taxonomy)
from ..privacy import public_position, shown_precision
from ..queries import ListFilters, services_query

# Marker colours per top-level category; each has at least 3:1 contrast against white and the light map background.
CATEGORY_COLORS = {
    "medizin": "#c0392b",
    "psyche": "#6c3483",
    "sucht": "#a04000",
    "reha": "#1f618d",
    "praevention": "#1e8449",
    "beratung": "#b9770e",
    "wohnen": "#7b241c",
    "teilhabe": "#117a65",
    "arbeit": "#2e4053",
    "familie": "#ad1457",
    "netzwerk": "#5d6d7e",
}
FALLBACK_COLOR = "#424949"
# Simple symbols shown next to category names (decorative: hidden from screen readers).
CATEGORY_SYMBOLS = {
    "medizin": "✚", "psyche": "❤", "sucht": "⚑", "reha": "♿", "praevention": "☀", "beratung": "✎",
    "wohnen": "⌂", "teilhabe": "☺", "arbeit": "⚒", "familie": "☂", "netzwerk": "⚙",
}


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0088 * 2 * math.asin(math.sqrt(min(1.0, a)))


class DataLayer(MacroElement):
    """Hands the folium map to a function of static/js/atlas-map.js together with the id of a JSON data element."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            atlasMap.{{ this.function }}({{ this._parent.get_name() }}, "{{ this.data_id }}");
        {% endmacro %}
    """)

    def __init__(self, function: str, data_id: str) -> None:
        super().__init__()
        self._name = "AtlasDataLayer"
        self.function = function
        self.data_id = data_id


def base_map(config: dict[str, Any], center: tuple[float, float] | None = None, zoom: int | None = None) -> folium.Map:
    """A folium map that loads nothing from the internet except the configured tile server."""
    fmap = folium.Map(location=list(center or config["MAP_CENTER"]), zoom_start=zoom or config["MAP_ZOOM"],
                      tiles=None, control_scale=True)
    # Assigned on the instance: folium's class-level lists point at CDNs and must stay untouched.
    fmap.default_js = []
    fmap.default_css = []
    fmap.options["max_zoom"] = config["MAP_TILE_MAX_ZOOM"]
    if config.get("MAP_TILE_URL"):
        folium.TileLayer(tiles=config["MAP_TILE_URL"], attr=config["MAP_TILE_ATTRIBUTION"],
                         max_zoom=config["MAP_TILE_MAX_ZOOM"], name="Karte").add_to(fmap)
    return fmap


@dataclass
class MapParts:
    """What a page embeds: the map container and its script."""

    html: Markup
    script: Markup


def render(fmap: folium.Map) -> MapParts:
    """The map's element and its settings as JSON; static/js/atlas-map.js builds it (no inline script: CSP)."""
    config: dict[str, Any] = {
        "id": fmap.get_name(), "center": fmap.location, "zoom": fmap.options.get("zoom"),
        "maxZoom": fmap.options.get("max_zoom"), "scale": bool(fmap.control_scale), "tiles": [], "layers": [],
        "text": control_texts()}
    for child in fmap._children.values():
        if isinstance(child, folium.TileLayer):
            config["tiles"].append({"url": child.tiles, "attribution": child.options.get("attribution"),
                                    "maxZoom": child.options.get("max_zoom")})
        elif isinstance(child, DataLayer):
            config["layers"].append([child.function, child.data_id])
    return MapParts(Markup('<div class="folium-map" id="%s"></div>') % config["id"], script_json(config))


def control_texts() -> dict[str, str]:
    """Labels of the map's controls in the UI language (Leaflet's own are English)."""
    return {"zoomIn": _("Karte vergrößern"), "zoomOut": _("Karte verkleinern"), "closePopup": _("Schließen")}


def map_with_layers(config: dict[str, Any], layers: list[tuple[str, str]], center: tuple[float, float] | None = None,
                    zoom: int | None = None) -> MapParts:
    """A rendered map whose data layers (JS function, data element id) are filled by atlas-map.js."""
    fmap = base_map(config, center, zoom)
    for function, data_id in layers:
        DataLayer(function, data_id).add_to(fmap)
    if not config.get("MAP_TILE_URL"):
        DataLayer("placeLabels", "atlas-place-labels").add_to(fmap)
    return render(fmap)


def category_legend(categories: list[Any], lang: str, public: bool = False) -> list[dict[str, str]]:
    """Legend entries for top-level categories: slug, label (everyday names on public pages), colour, symbol."""
    return [{"slug": c.slug, "label": c.public_label(lang) if public else c.label(lang), "color": CATEGORY_COLORS.get(c.slug, FALLBACK_COLOR),
             "symbol": CATEGORY_SYMBOLS.get(c.slug, "●")} for c in categories]


# A marker is a plain tuple (no object per marker):
# (id, name, organisation, top category slug, lat, lon, address, protected, phone, distance km or None)
Marker = tuple


def marker_rows(session: Session, ids: Select, internal: bool) -> list[Any]:
    """One row per offer and physical location, straight from SQL (no ORM objects per marker)."""
    gem = aliased(Region)
    stmt = (
        select(Service.id, Service.name, Organization.id, Organization.name, Location.latitude, Location.longitude,
               gem.latitude, gem.longitude, Address.address_1, Address.address_2, Address.postal_code, Address.city,
               Location.address_precision)
        .join(Organization, Organization.id == Service.organization_id)
        .join(ServiceAtLocation, ServiceAtLocation.service_id == Service.id)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .outerjoin(Address, Address.location_id == Location.id)
        .outerjoin(gem, gem.id == Location.gemeinde_id)
        .where(Service.id.in_(ids), Location.location_type == "physical", Location.latitude.is_not(None),
               Location.archived_at.is_(None))
        .order_by(Service.id, Location.id)
    )
    if not internal:
        stmt = stmt.where(Location.visibility == "public")
    # Plain column rows: executed on the connection to skip the ORM's per-row loading machinery.
    return session.connection().execute(stmt).all()


def _top_category(session: Session, service_ids: Select) -> dict[int, str]:
    parent = aliased(TaxonomyTerm)
    stmt = (select(service_taxonomy.c.service_id, func.coalesce(parent.slug, TaxonomyTerm.slug))
            .join(TaxonomyTerm, TaxonomyTerm.id == service_taxonomy.c.taxonomy_term_id)
            .outerjoin(parent, parent.id == TaxonomyTerm.parent_id)
            .where(service_taxonomy.c.service_id.in_(service_ids))
            .order_by(service_taxonomy.c.service_id.desc(), TaxonomyTerm.sort_order.desc(), TaxonomyTerm.id.desc()))
    return dict(session.connection().execute(stmt).all())  # the last row per offer wins: its first category


def _first_phone(session: Session, service_ids: Select, internal: bool) -> dict[tuple, str]:
    org_ids = select(Service.organization_id).where(Service.id.in_(service_ids))
    stmt = (select(Phone.service_id, Phone.organization_id, Phone.number)
            .where(or_(Phone.service_id.in_(service_ids), Phone.organization_id.in_(org_ids)))
            .order_by(Phone.id.desc()))
    if not internal:
        stmt = stmt.where(Phone.visibility == "public")
    return {("s", sid) if sid else ("o", oid): number for sid, oid, number in session.connection().execute(stmt)}


def offer_ids(filters: ListFilters, internal: bool) -> Select:
    """The ids of the offers the caller may see that match the list filters."""
    return services_query(internal, filters).with_only_columns(Service.id).order_by(None)


def markers(session: Session, ids: Select, internal: bool,
            near: tuple[float, float] | None = None, radius_km: float | None = None) -> list[Marker]:
    """Markers for the offers in `ids` (already limited to what the caller may see), nearest or by name first."""
    rows = marker_rows(session, ids, internal)
    tops = _top_category(session, ids)
    phones = _first_phone(session, ids, internal)
    result = []
    for sid, name, oid, org, lat, lon, gem_lat, gem_lon, a1, a2, plz, city, precision in rows:
        position = public_position(lat, lon, precision, gem_lat, gem_lon, internal)
        if position is None:
            continue  # a protected site without a known Gemeinde centre gets no pin
        lat, lon = position
        dist = round(distance_km(near[0], near[1], lat, lon), 1) if near else None
        if radius_km is not None and dist is not None and dist > radius_km:
            continue
        result.append((sid, name, org, tops.get(sid, ""), round(lat, 5), round(lon, 5),
                       address_line(a1, a2, plz, city, shown_precision(precision, internal)), precision != "exakt",
                       phones.get(("s", sid)) or phones.get(("o", oid)) or "", dist))
    result.sort(key=lambda m: (m[9] or 0, m[1].casefold(), m[0]))
    return result


def marker_data(items: list[Marker], detail_url: str, categories: dict[str, str],
                near: tuple[float, float] | None = None, radius_km: float | None = None) -> dict[str, Any]:
    """The data the map script reads: plain strings in compact arrays, small enough for thousands of markers.

    points: [lat, lon, category slug, item index]; items: [id, name, organisation, address, protected, phone, km].
    """
    return {
        "points": [[m[4], m[5], m[3], i] for i, m in enumerate(items)],
        "items": [[m[0], m[1], m[2], m[6], m[7], m[8], m[9]] for m in items],
        "url": detail_url, "categories": categories, "colors": CATEGORY_COLORS, "fallback": FALLBACK_COLOR,
        "near": list(near) if near else None, "radius_km": radius_km,
    }


def script_json(data: Any) -> Markup:
    """JSON for a <script type="application/json"> element: compact, and '<', '>', '&' escaped so nothing ends it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def fit_bounds(points: list[list[Any]], center: tuple[float, float], core_km: float = 60) -> list[list[float]] | None:
    """Bounds of the points near the region's centre, so one far-away clinic does not shrink the region to a dot."""
    core = [p for p in points if distance_km(center[0], center[1], p[0], p[1]) <= core_km] or points
    if not core:
        return None
    return [[min(p[0] for p in core), min(p[1] for p in core)], [max(p[0] for p in core), max(p[1] for p in core)]]


def place_labels(regions: list[Any]) -> list[list[Any]]:
    """Gemeinde names at their centres, so a map without tiles still shows where things are."""
    return [[r.latitude, r.longitude, r.name] for r in regions if r.latitude is not None]


def data_version(session: Session) -> str:
    """A short version of everything a map shows (indexed maxima only, so it stays cheap at any size)."""
    row = session.connection().execute(select(
        select(func.max(AuditLog.id)).scalar_subquery(),
        *(select(func.max(model.updated_at)).scalar_subquery() for model in (Service, Organization, Location)),
        # Deleting an offer writes an audit row; counting the offers instead read every row (2 ms at 10,000 offers
        # on PostgreSQL, a tenth of a map request, and growing with the atlas).
        select(func.max(Service.id)).scalar_subquery(),
    )).one()
    # The day is part of it: offers enter and leave the public map at midnight without any write (atlas.validity).
    return hashlib.sha1(repr((tuple(row), validity.today())).encode()).hexdigest()[:16]


@dataclass
class MarkerSet:
    """All markers of one filter set as arrays (for clustering) plus their list entries, in list order."""

    version: str
    items: list[Marker]
    lat: np.ndarray
    lon: np.ndarray
    # Answers computed from this set that every page view would compute alike (the map's opening sections).
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    built_at: float = field(default_factory=time.time, compare=False)  # when its data was read (wall clock)

    @classmethod
    def of(cls, version: str, items: list[Marker], built_at: float | None = None) -> MarkerSet:
        """Arrays from the marker tuples."""
        return cls(version, items, np.array([m[4] for m in items], dtype=np.float64),
                   np.array([m[5] for m in items], dtype=np.float64), built_at=built_at or time.time())

    def fit(self, center: tuple[float, float]) -> list[list[float]] | None:
        """Bounds to open the map with (see fit_bounds), from the arrays."""
        if not self.items:
            return None
        near = _distance_array(center, self.lat, self.lon) <= 60
        lat, lon = (self.lat[near], self.lon[near]) if near.any() else (self.lat, self.lon)
        return [[float(lat.min()), float(lon.min())], [float(lat.max()), float(lon.max())]]


def _distance_array(center: tuple[float, float], lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Haversine distances in km from one point to many."""
    p1, p2 = math.radians(center[0]), np.radians(lat)
    a = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lon - center[1]) / 2) ** 2
    return 6371.0088 * 2 * np.arcsin(np.sqrt(np.minimum(1.0, a)))


class SharedMarkers:
    """Marker sets shared by the web workers of one machine through files: one worker builds, the others read.

    While edits arrive, every worker rebuilt the same marker set every MAP_CACHE_SECONDS (150 ms of SQL and
    Python at 10,000 offers, a fifth of the workers' CPU under load); reading a built one takes a few ms. A lock
    per set makes the others wait for the one building (in their background threads, or a request with nothing
    to serve yet, which would otherwise build it too). Files are compressed and at most FILES are kept.
    """

    FILES = 16

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: tuple[Any, ...], version: str, ttl: float, build: Callable[[], MarkerSet]) -> MarkerSet:
        """The shared set when it is of `version` or younger than `ttl`, else `build()`'s, saved for the others."""
        path = self.folder / f"{hashlib.sha1(repr(key).encode()).hexdigest()[:24]}.markers"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open(path.with_suffix(".lock"), "a+b")  # noqa: SIM115  (closed below)
        except OSError:
            return build()  # a read-only instance folder: each worker builds its own
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            found = self._read(path, version, ttl)
            if found is not None:
                return found
            value = build()
            self._write(path, value)
            return value

    @staticmethod
    def _read(path: Path, version: str, ttl: float) -> MarkerSet | None:
        try:
            saved = orjson.loads(zlib.decompress(path.read_bytes()))
            saved_version, built, items = str(saved["version"]), float(saved["built"]), saved["items"]
            if saved_version != version and time.time() - built >= ttl:
                return None
            return MarkerSet.of(saved_version, [tuple(item) for item in items], built)
        except (OSError, zlib.error, ValueError, TypeError, KeyError, IndexError):
            return None  # missing or damaged: built again

    def _write(self, path: Path, value: MarkerSet) -> None:
        data = zlib.compress(orjson.dumps({"version": value.version, "built": value.built_at, "items": value.items}), 1)
        try:
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            saved = sorted(self.folder.glob("*.markers"), key=lambda p: p.stat().st_mtime)
            for old in saved[:-self.FILES]:
                old.unlink(missing_ok=True)
                old.with_suffix(".lock").unlink(missing_ok=True)
        except OSError:
            pass  # the next worker builds it again


class MarkerCache:
    """Per-process values (marker sets) by key, kept while the data version holds.

    When the data moved, a value younger than `ttl` is still served, which bounds the cost of busy editing (a new
    version every second). An older one is rebuilt in a background thread while requests go on with it (one
    rebuild per key at a time), so no request waits for a rebuild once a value exists; `ttl` 0 rebuilds at once.
    The version in the ETag is always the one of the data actually served.
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._values: OrderedDict[tuple[Any, ...], tuple[str, float, Any]] = OrderedDict()
        self._building: set[tuple[Any, ...]] = set()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], version: str, ttl: float, build: Callable[[], Any],
            background: Callable[[Callable[[], None]], None] | None = None) -> tuple[str, Any]:
        """(version, value) for `key`: cached, or fresh from `build()`; `background(job)` runs a job in a thread."""
        with self._lock:
            cached = self._values.get(key)
            if cached is not None and (cached[0] == version or time.monotonic() - cached[1] < ttl):
                self._values.move_to_end(key)
                return cached[0], cached[2]
            if cached is None or ttl <= 0 or background is None:
                served, start = None, False
            else:  # the data moved and the value is older than ttl: serve it while one thread rebuilds it
                served, start = (cached[0], cached[2]), key not in self._building
                self._building.add(key)
        if served is None:
            return self._store(key, version, build())
        if start:
            background(lambda: self._rebuild(key, version, build))
        return served

    def _rebuild(self, key: tuple[Any, ...], version: str, build: Callable[[], Any]) -> None:
        try:
            self._store(key, version, build())
        finally:
            with self._lock:
                self._building.discard(key)

    def _store(self, key: tuple[Any, ...], version: str, value: Any) -> tuple[str, Any]:
        if isinstance(value, MarkerSet):  # perhaps another worker's, built a moment ago at an older version
            version, age = value.version, max(0.0, time.time() - value.built_at)
        else:
            age = 0.0
        with self._lock:
            self._values[key] = (version, time.monotonic() - age, value)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return version, value

    def clear(self) -> None:
        """Forget everything (benchmarks, tests)."""
        with self._lock:
            self._values.clear()
