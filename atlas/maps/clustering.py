"""Server-side clustering: markers grouped on a grid whose cells shrink as the map zooms in (numpy, no objects)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# A cluster covers about this many screen pixels; Leaflet's tiles are 256 px wide at zoom 0.
CELL_PX = 64
# From this zoom on, markers are shown one by one (unless there are more than a response may carry).
SINGLE_ZOOM = 16
MAX_ZOOM = 20
# The largest area one request may ask for (degrees); the client never needs more for a regional atlas.
MAX_LAT_SPAN = 40.0
MAX_LON_SPAN = 80.0


class BBoxError(ValueError):
    """A bounding box that is not four numbers, inverted, outside the earth or too large."""


@dataclass(frozen=True)
class BBox:
    """A map section: south, west, north, east in degrees."""

    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Mask of the points inside the box."""
        return (lat >= self.south) & (lat <= self.north) & (lon >= self.west) & (lon <= self.east)


def parse_bbox(raw: str) -> BBox:
    """Read "south,west,north,east"; raises BBoxError with a German message."""
    parts = raw.split(",") if raw else []
    if len(parts) != 4:
        raise BBoxError("Der Kartenausschnitt (bbox) braucht vier Zahlen: Süd, West, Nord, Ost.")
    try:
        south, west, north, east = (float(p) for p in parts)
    except ValueError:
        raise BBoxError("Der Kartenausschnitt (bbox) enthält etwas, das keine Zahl ist.") from None
    if not all(math.isfinite(v) for v in (south, west, north, east)):
        raise BBoxError("Der Kartenausschnitt (bbox) enthält etwas, das keine Zahl ist.")
    if not (-90 <= south <= 90 and -90 <= north <= 90 and -180 <= west <= 180 and -180 <= east <= 180):
        raise BBoxError("Der Kartenausschnitt (bbox) liegt außerhalb der Erde (Breite ±90, Länge ±180).")
    if south >= north or west >= east:
        raise BBoxError("Der Kartenausschnitt (bbox) ist verdreht: Süd muss kleiner als Nord und West kleiner als Ost sein.")
    if north - south > MAX_LAT_SPAN or east - west > MAX_LON_SPAN:
        raise BBoxError("Der Kartenausschnitt (bbox) ist zu groß. Bitte zoomen Sie hinein.")
    return BBox(south, west, north, east)


def parse_zoom(raw: str) -> int:
    """A zoom level 0–20; raises BBoxError with a German message."""
    if not raw.isdigit() or int(raw) > MAX_ZOOM:
        raise BBoxError("Die Zoomstufe (zoom) muss eine ganze Zahl von 0 bis 20 sein.")
    return int(raw)


def _mercator_y(lat: np.ndarray) -> np.ndarray:
    """Latitude in Web-Mercator degrees, so grid cells are square on screen."""
    clipped = np.radians(np.clip(lat, -85.0, 85.0))
    return np.degrees(np.log(np.tan(np.pi / 4 + clipped / 2)))


@dataclass
class Clustered:
    """What a map section shows: clusters [lat, lon, count, south, west, north, east] and single markers."""

    clusters: list[list[float]]
    singles: np.ndarray
    zoom: int


def cluster(lat: np.ndarray, lon: np.ndarray, bbox: BBox, zoom: int, max_markers: int) -> Clustered:
    """Group the points inside the box on a zoom-dependent grid; never more than `max_markers` shapes in all.

    Cells are anchored at fixed grid lines, so panning does not make clusters jump. When a section still holds
    too many shapes, the grid gets coarser (as if zoomed out) until it fits.
    """
    inside = np.flatnonzero(bbox.contains(lat, lon))
    if zoom >= SINGLE_ZOOM and len(inside) <= max_markers:
        return Clustered([], inside, zoom)
    sub_lat, sub_lon = lat[inside], lon[inside]
    y = _mercator_y(sub_lat)
    level = min(zoom, SINGLE_ZOOM - 1)
    while True:
        cell = CELL_PX * 360.0 / (256.0 * 2 ** level)
        gx = np.floor((sub_lon + 180.0) / cell).astype(np.int64)
        gy = np.floor((y + 180.0) / cell).astype(np.int64)
        keys, inverse, counts = np.unique(gx * 1_000_003 + gy, return_inverse=True, return_counts=True)
        if len(keys) <= max_markers or level == 0:
            break
        level -= 1
    single_cells = counts == 1
    singles = inside[single_cells[inverse]]
    many = np.flatnonzero(~single_cells)
    if not len(many):
        return Clustered([], singles, level)
    sums_lat = np.bincount(inverse, weights=sub_lat, minlength=len(keys))
    sums_lon = np.bincount(inverse, weights=sub_lon, minlength=len(keys))
    south = np.full(len(keys), np.inf)
    west = np.full(len(keys), np.inf)
    north = np.full(len(keys), -np.inf)
    east = np.full(len(keys), -np.inf)
    np.minimum.at(south, inverse, sub_lat)
    np.minimum.at(west, inverse, sub_lon)
    np.maximum.at(north, inverse, sub_lat)
    np.maximum.at(east, inverse, sub_lon)
    columns = [np.round(values[many], 5).tolist() for values in (sums_lat / counts, sums_lon / counts)]
    columns.append(counts[many].tolist())
    columns += [np.round(values[many], 5).tolist() for values in (south, west, north, east)]
    return Clustered([list(row) for row in zip(*columns)], singles, level)
