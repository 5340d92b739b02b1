"""What the public may learn about a site: one function for its position, one for its text fields.

Every public consumer (public and embed maps, API, exports, search distances, handouts) asks these functions, so a
protected site (address_precision "strasse" or "gemeinde") cannot leak its house through one forgotten path.
"""

from __future__ import annotations

import math
from typing import Any

# "nur Straße": the pin is the centre of a grid cell of about 450 m x 420 m, never the house itself.
STREET_GRID_LAT = 0.004
STREET_GRID_LON = 0.006
# Text fields of a location that may name or describe the protected place, by precision.
HIDDEN_TEXT = {
    "exakt": frozenset(),
    "strasse": frozenset({"name", "description", "url"}),
    "gemeinde": frozenset({"name", "description", "url", "transportation", "accessibility_description"}),
}
LOCATION_TEXT_FIELDS = ("name", "description", "url", "transportation", "accessibility_description")


def generalise(lat: float, lon: float) -> tuple[float, float]:
    """The centre of the street-level grid cell a point lies in."""
    cell_lat = (math.floor(lat / STREET_GRID_LAT) + 0.5) * STREET_GRID_LAT
    cell_lon = (math.floor(lon / STREET_GRID_LON) + 0.5) * STREET_GRID_LON
    return round(cell_lat, 5), round(cell_lon, 5)


def public_position(lat: float | None, lon: float | None, precision: str | None, centre_lat: float | None,
                    centre_lon: float | None, internal: bool = False) -> tuple[float, float] | None:
    """Where a site may be shown: exact, street-level generalised, the Gemeinde centre, or nowhere (None).

    Staff (internal) see the stored point. A protected site without a known Gemeinde centre gets no pin at all.
    """
    if lat is None or lon is None:
        return None
    if internal or precision == "exakt":
        return lat, lon
    if precision == "strasse":
        return generalise(lat, lon)
    if centre_lat is None or centre_lon is None:
        return None
    return centre_lat, centre_lon


def location_position(location: Any, internal: bool = False) -> tuple[float, float] | None:
    """public_position for a Location object (its Gemeinde's centre read from the relationship)."""
    gem = location.gemeinde
    return public_position(location.latitude, location.longitude, location.address_precision,
                           gem.latitude if gem is not None else None, gem.longitude if gem is not None else None,
                           internal)


def shown_precision(precision: str | None, internal: bool) -> str:
    """The address precision a caller sees: staff everything, the public what the site allows."""
    if internal:
        return "exakt"
    return precision if precision in HIDDEN_TEXT else "gemeinde"


def public_text(location: Any, internal: bool = False) -> dict[str, Any]:
    """A location's text fields as the caller may see them (None where they could name a protected place)."""
    hidden = HIDDEN_TEXT[shown_precision(location.address_precision, internal)]
    return {name: None if name in hidden else getattr(location, name) for name in LOCATION_TEXT_FIELDS}
