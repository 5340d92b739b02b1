"""Maps: marker data from SQL (data), clustering on the server (clustering), and the map pages (views)."""

from __future__ import annotations

from .data import (CATEGORY_COLORS, FALLBACK_COLOR, category_legend, distance_km, fit_bounds, map_with_layers,
                   marker_data, markers, offer_ids, place_labels, script_json)
from .views import bp, offer_map, search_map

__all__ = ["CATEGORY_COLORS", "FALLBACK_COLOR", "bp", "category_legend", "distance_km", "fit_bounds",
           "map_with_layers", "marker_data", "markers", "offer_ids", "offer_map", "place_labels", "script_json",
           "search_map"]
