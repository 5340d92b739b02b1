"""Coverage for coordinators: active offers per Gemeinde and category, aggregated in SQL; nearest offer with numpy.

Only the Gemeinden of the atlas's regions (the Kreise and Gemeinden of its Jobcenters; all Gemeinden when no
Jobcenter has regions) are rows, so a clinic's town far away is never a "gap"; offers anywhere still count as the
nearest one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from ..models import Location, Region, Service, ServiceAtLocation, TaxonomyTerm, jobcenter_region, service_taxonomy
from ..queries import ListFilters, services_query
from ..validity import in_force_condition

EARTH_KM = 6371.0088


@dataclass
class Cell:
    """One Gemeinde and category: offers located there, distance to the nearest one (when none is there), gap."""

    count: int
    nearest: float | None
    gap: bool


@dataclass
class Row:
    """One Gemeinde of the atlas's regions with its cells by category slug."""

    region: Region
    kreis: str
    cells: dict[str, Cell] = field(default_factory=dict)


def atlas_gemeinden(session: Session) -> list[Region]:
    """The Gemeinden (with coordinates) the atlas serves: those of its Jobcenters' regions, else all."""
    gemeinden = list(session.scalars(select(Region).where(Region.kind == "gemeinde", Region.latitude.is_not(None))
                                     .order_by(Region.name)))
    served = set(session.scalars(select(jobcenter_region.c.region_id)))
    if not served:
        return gemeinden
    return [g for g in gemeinden if g.id in served or g.parent_id in served
            or (g.parent is not None and g.parent.parent_id in served)]


def _active_sites():
    """(gemeinde, term, parent term, service, lat, lon) of active, in-force offers at physical, current locations."""
    active = services_query(True, ListFilters()).where(Service.status == "aktiv", in_force_condition()) \
        .with_only_columns(Service.id).order_by(None)
    return (select(Location.gemeinde_id, TaxonomyTerm.id, TaxonomyTerm.parent_id, Service.id,
                   Location.latitude, Location.longitude)
            .select_from(Service)
            .join(service_taxonomy, service_taxonomy.c.service_id == Service.id)
            .join(TaxonomyTerm, TaxonomyTerm.id == service_taxonomy.c.taxonomy_term_id)
            .join(ServiceAtLocation, ServiceAtLocation.service_id == Service.id)
            .join(Location, Location.id == ServiceAtLocation.location_id)
            .where(Service.id.in_(active), Location.location_type == "physical", Location.archived_at.is_(None),
                   Location.latitude.is_not(None)))


def _counts(session: Session, gemeinde_ids: list[int]) -> dict[tuple[int, int], int]:
    """Distinct active offers per (Gemeinde, category id), for top-level categories and sub-categories."""
    sites = _active_sites().subquery()
    gem, term, parent, sid = sites.c[0], sites.c[1], sites.c[2], sites.c[3]
    result: dict[tuple[int, int], int] = {}
    for column in (term, func.coalesce(parent, term)):
        stmt = (select(gem, column, func.count(distinct(sid))).where(gem.in_(gemeinde_ids)).group_by(gem, column))
        result.update({(g, t): n for g, t, n in session.connection().execute(stmt)})
    return result


def _points(session: Session) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Distinct site coordinates (radians) per category id, top-level categories holding their children's."""
    sites = _active_sites().subquery()
    stmt = select(sites.c[1], sites.c[2], sites.c[4], sites.c[5]).distinct()
    collected: dict[int, tuple[list[float], list[float]]] = {}
    for term, parent, lat, lon in session.connection().execute(stmt):
        for key in {term, parent or term}:
            lats, lons = collected.setdefault(key, ([], []))
            lats.append(lat)
            lons.append(lon)
    return {k: (np.radians(np.array(a)), np.radians(np.array(o))) for k, (a, o) in collected.items()}


def nearest_km(lat: float, lon: float, points: tuple[np.ndarray, np.ndarray] | None) -> float | None:
    """Great-circle distance to the nearest of many points (vectorised haversine), None without points."""
    if points is None or not len(points[0]):
        return None
    p1, l1 = math.radians(lat), math.radians(lon)
    lats, lons = points
    a = np.sin((lats - p1) / 2) ** 2 + math.cos(p1) * np.cos(lats) * np.sin((lons - l1) / 2) ** 2
    return float(2 * EARTH_KM * np.arcsin(np.sqrt(np.minimum(1.0, a.min()))))


def coverage_rows(session: Session, categories: list[TaxonomyTerm], gap_km: float) -> list[Row]:
    """Rows for the atlas's Gemeinden with a cell per category; distances only where no offer is located."""
    gemeinden = atlas_gemeinden(session)
    counts = _counts(session, [g.id for g in gemeinden])
    points = _points(session)
    rows = []
    for gem in gemeinden:
        kreis = gem.ancestor("kreis")
        row = Row(gem, kreis.name if kreis else "")
        for term in categories:
            count = counts.get((gem.id, term.id), 0)
            nearest = None if count else nearest_km(gem.latitude, gem.longitude, points.get(term.id))
            row.cells[term.slug] = Cell(count, None if nearest is None else round(nearest, 1),
                                        count == 0 and (nearest is None or nearest > gap_km))
        rows.append(row)
    return rows


def selectable(tops: list[TaxonomyTerm], slug: str) -> TaxonomyTerm | None:
    """The top-level category or sub-category with this slug."""
    for top in tops:
        for term in (top, *top.children):
            if term.slug == slug:
                return term
    return None


def csv_rows(rows: list[Row], categories: list[TaxonomyTerm], lang: str, number: Any) -> list[list[str]]:
    """The table for spreadsheets: per category the offers there, the nearest distance (km) and the gap flag."""
    header = ["Gemeinde", "Kreis"]
    for term in categories:
        label = term.label(lang)
        header += [f"{label}: Angebote vor Ort", f"{label}: nächstes Angebot (km)", f"{label}: Lücke"]
    lines = [header]
    for row in rows:
        line = [row.region.name, row.kreis]
        for term in categories:
            cell = row.cells[term.slug]
            line += [str(cell.count), "" if cell.nearest is None else number(cell.nearest), "ja" if cell.gap else "nein"]
        lines.append(line)
    return lines


def region_bounds(rows: list[Row]) -> list[list[float]] | None:
    """Bounds of the atlas's Gemeinden, to open the map on the region."""
    if not rows:
        return None
    lats = [r.region.latitude for r in rows]
    lons = [r.region.longitude for r in rows]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]
