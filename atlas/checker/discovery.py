"""Find every external URL stored in entries and keep the link and link_usage tables in line with them.

URL columns are found by name (…url, …website, …link; not source_url), so a URL field added to an entry model
later is checked without code changes; free-text fields are searched for http(s) addresses. Discovery is
incremental: a sync can read only the records changed since a watermark (updated_at), so saving an entry needs no
hook: the scheduler's frequent small job picks new URLs up and checks them first.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, inspect, select, tuple_
from sqlalchemy.orm import Session

from ..models import Location, Organization, Service
from ..review import resolve_by_source
from .models import CheckRun, Link, LinkUsage
from .urls import UrlError, host_of, normalise, url_key, urls_in_text

SOURCES: dict[str, Any] = {"organization": Organization, "service": Service, "location": Location}
URL_COLUMN = re.compile(r"(^|_)(url|website|homepage|link)$")
NOT_CONTENT = {"source_url"}  # provenance of an import, not something a visitor follows
TEXT_FIELDS = {
    "organization": ("description",),
    "service": ("description", "application_process", "fees_description", "eligibility_description", "alert"),
    "location": ("description", "accessibility_description", "transportation"),
}
# Changes committed a little out of order still get seen by the next incremental sync.
OVERLAP = timedelta(minutes=5)
CHUNK = 500

Place = tuple[str, int]  # (entity_type, entity_id)
Use = tuple[str, str, str]  # (field, raw text, normalised url or the raw text when invalid)


@dataclass
class SyncReport:
    """What a sync changed."""

    new_links: list[Link] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    entities: int = 0
    watermark: datetime | None = None


def url_fields(model: Any) -> list[str]:
    """Columns of a model that hold one URL each."""
    return [a.key for a in inspect(model).column_attrs if URL_COLUMN.search(a.key) and a.key not in NOT_CONTENT]


def text_fields(entity_type: str, model: Any) -> list[str]:
    """Free-text columns searched for URLs."""
    keys = {a.key for a in inspect(model).column_attrs}
    return [f for f in TEXT_FIELDS.get(entity_type, ()) if f in keys]


def extract(entity_type: str, row: Any) -> set[Use]:
    """URLs of one record: (field, raw text, normalised URL); invalid values of URL fields are kept as they are."""
    model = SOURCES[entity_type]
    found: set[Use] = set()
    for name in url_fields(model):
        raw = (getattr(row, name) or "").strip()
        if raw:
            try:
                found.add((name, raw, normalise(raw)))
            except UrlError:
                found.add((name, raw, raw[:2000]))
    for name in text_fields(entity_type, model):
        for raw in urls_in_text(getattr(row, name)):
            try:
                found.add((name, raw, normalise(raw)))
            except UrlError:
                continue
    return found


def last_watermark(session: Session) -> datetime | None:
    """Newest watermark of a finished run (where the next incremental sync starts)."""
    return session.scalar(select(func.max(CheckRun.watermark)).where(CheckRun.status.in_(("done", "interrupted"))))


def sync(session: Session, since: datetime | None = None, only: dict[str, list[int]] | None = None) -> SyncReport:
    """Align usages with the entries: all of them, those updated after `since`, or the given ids; caller commits."""
    report = SyncReport()
    desired: dict[Place, set[Use]] = {}
    for entity_type, model in SOURCES.items():
        if only is not None and not only.get(entity_type):
            continue
        columns = sorted(set(url_fields(model)) | set(text_fields(entity_type, model)))
        stmt = select(model.id, model.updated_at, model.archived_at, *[getattr(model, c) for c in columns])
        if only is not None:
            stmt = stmt.where(model.id.in_(only[entity_type]))
        elif since is not None:
            stmt = stmt.where(model.updated_at > since - OVERLAP)
        for row in session.execute(stmt):
            if row.updated_at and (report.watermark is None or row.updated_at > report.watermark):
                report.watermark = row.updated_at
            desired[(entity_type, row.id)] = set() if row.archived_at else extract(entity_type, row)
    report.entities = len(desired)
    existing = _existing(session, None if since is None and only is None else list(desired))
    _apply(session, desired, existing, report, full=since is None and only is None)
    return report


def sync_entity(session: Session, entity: Organization | Service | Location) -> SyncReport:
    """Register the URLs of one saved record now (new ones are checked by the next small scheduler run)."""
    entity_type = next(name for name, model in SOURCES.items() if isinstance(entity, model))
    session.flush()
    return sync(session, only={entity_type: [entity.id]})


def _existing(session: Session, places: list[Place] | None) -> dict[Place, dict[tuple[str, str, int], LinkUsage]]:
    """Current usages (all, or of the given records), keyed by place and (field, raw, link_id)."""
    found: dict[Place, dict[tuple[str, str, int], LinkUsage]] = defaultdict(dict)
    batches: list[Any] = [None] if places is None else [places[i:i + CHUNK] for i in range(0, len(places), CHUNK)]
    for batch in batches:
        stmt = select(LinkUsage)
        if batch is not None:
            stmt = stmt.where(tuple_(LinkUsage.entity_type, LinkUsage.entity_id).in_(batch))
        for usage in session.scalars(stmt):
            found[(usage.entity_type, usage.entity_id)][(usage.field, usage.raw_url, usage.link_id)] = usage
    return found


def _links_for(session: Session, urls: set[str], report: SyncReport) -> dict[str, Link]:
    """Links for normalised URLs, creating the missing ones (state "new", checked first)."""
    keys = {url_key(u): u for u in urls}
    links: dict[str, Link] = {}
    key_list = list(keys)
    for i in range(0, len(key_list), CHUNK):
        for link in session.scalars(select(Link).where(Link.url_key.in_(key_list[i:i + CHUNK]))):
            links[link.url] = link
    for key, url in keys.items():
        if url not in links:
            link = Link(url_key=key, url=url, host=host_of(url)[:300] if "://" in url else "", state="new",
                        check_count=0, consecutive_failures=0, redirect_count=0)
            session.add(link)
            links[url] = link
            report.new_links.append(link)
    session.flush()
    return links


def _apply(session: Session, desired: dict[Place, set[Use]],
           existing: dict[Place, dict[tuple[str, str, int], LinkUsage]], report: SyncReport, full: bool) -> None:
    links = _links_for(session, {use[2] for uses in desired.values() for use in uses}, report)
    touched: set[int] = set()
    places = set(desired) | (set(existing) if full else set())
    for place in places:
        want = {(f, raw, links[url].id) for f, raw, url in desired.get(place, set())}
        have = existing.get(place, {})
        for key, usage in have.items():
            if key not in want:
                touched.add(usage.link_id)
                session.delete(usage)
                report.removed += 1
        for f, raw, link_id in want - set(have):
            session.add(LinkUsage(link_id=link_id, entity_type=place[0], entity_id=place[1], field=f,
                                  raw_url=raw[:2000]))
            report.added += 1
    session.flush()
    orphan = ~exists(select(LinkUsage.id).where(LinkUsage.link_id == Link.id))
    candidates = select(Link.id).where(orphan)
    if not full:
        candidates = candidates.where(Link.id.in_(list(touched) or [-1]))
    gone = list(session.scalars(candidates))
    for i in range(0, len(gone), CHUNK):
        batch = gone[i:i + CHUNK]
        for link_id in batch:
            resolve_by_source(session, f"link:{link_id}", None, "Der Link steht in keinem Eintrag mehr.")
        session.execute(delete(Link).where(Link.id.in_(batch)).execution_options(synchronize_session=False))
    session.expire_all()
