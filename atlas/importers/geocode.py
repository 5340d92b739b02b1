"""Background geocoding of imported sites: Nominatim (when configured) improves what the gazetteer placed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..geocoding import GeocodingError, fold, geocode_location, nominatim_from_config
from ..models import Address, GeocodeCache, Location


@dataclass
class GeocodeReport:
    """Progress of one geocode_pending run."""

    done: int = 0
    remaining: int = 0
    precision: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    stopped: str | None = None

    def summary(self) -> str:
        """One line for the CLI and logs."""
        by = ", ".join(f"{n} {p}" for p, n in sorted(self.precision.items())) or "keine"
        text = f"{self.done} Standort(e) verortet ({by}); {self.remaining} offen."
        return f"{text} Abgebrochen: {self.stopped}" if self.stopped else text


def pending_query(online: bool):
    """Physical sites without coordinates; with Nominatim also those the gazetteer placed only by postcode/town."""
    cond = Location.latitude.is_(None)
    if online:
        cond = or_(cond, (Location.geo_source == "gazetteer") & Address.address_1.is_not(None)
                   & (func.length(Address.address_1) > 0))
    return (select(Location).join(Address, Address.location_id == Location.id)
            .where(Location.location_type == "physical", Location.archived_at.is_(None), cond))


def _query_key(loc: Location) -> str:
    addr = loc.address
    return fold(" ".join(p for p in (addr.address_1, addr.postal_code, addr.city) if p))


def pending_locations(session: Session, online: bool) -> list[Location]:
    """Sites still to geocode, skipping those Nominatim already could not find (its cache remembers)."""
    locations = session.scalars(pending_query(online).options(selectinload(Location.address))
                                .order_by(Location.id)).all()
    if not online:
        return list(locations)
    missed = set(session.scalars(select(GeocodeCache.query).where(GeocodeCache.provider == "nominatim",
                                                                  GeocodeCache.latitude.is_(None))))
    return [loc for loc in locations if loc.latitude is None or _query_key(loc) not in missed]


def geocode_pending(session: Session, config: dict[str, Any], limit: int = 100,
                    progress: Callable[[int], None] | None = None) -> GeocodeReport:
    """Geocode up to `limit` pending sites; the caller commits. Stops cleanly when Nominatim fails."""
    online = nominatim_from_config(config) is not None
    pending = pending_locations(session, online)
    report = GeocodeReport(remaining=len(pending))
    for loc in pending[:limit]:
        try:
            note = geocode_location(session, config, loc, fallback=False)
        except GeocodingError as exc:
            report.stopped = str(exc)
            break
        if note:
            report.notes.append(f"Standort {loc.id}: {note}")
        report.done += 1
        report.remaining -= 1
        report.precision[loc.geo_precision] += 1
        if progress:
            progress(1)
    return report
