"""Run a search end to end: the index plus what it lacks yet, rank, load the page from the database, count misses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Service
from ..presenters import service_view
from ..queries import public_condition, with_details
from .analysis import highlight, snippet
from .models import SearchMiss
from .params import SearchParams
from .query import SynonymTable, normalise, parse
from .ranking import Match, Ranked, Ranker
from .sync import Keeper, keeper
from .synonyms import load_rules


@dataclass
class Hit:
    """One found offer: its view (public fields only for public callers), distance, score and highlights."""

    view: dict[str, Any]
    distance_km: float | None
    score: float
    name: list[tuple[str, bool]]
    text: list[tuple[str, bool]]
    public: bool = True


@dataclass
class SearchPage:
    """One page of search results."""

    params: SearchParams
    hits: list[Hit]
    total: int
    match: Match = field(default_factory=Match)

    @property
    def total_pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, math.ceil(self.total / self.params.per_page))


def synonym_table(session: Session, keep: Keeper) -> SynonymTable:
    """The compiled synonyms, reloaded when the watermark says they changed."""
    version = keep.watermark.synonyms if keep.watermark else None
    cached = getattr(keep, "synonym_cache", None)
    if cached is None or cached[0] != version:
        cached = (version, SynonymTable(load_rules(session)))
        keep.synonym_cache = cached  # type: ignore[attr-defined]
    return cached[1]


def rank(session: Session, params: SearchParams, internal: bool) -> Ranked | None:
    """The ids of one page of hits and the total (None when the text holds no searchable word)."""
    keep = keeper()
    snap = keep.fresh_snapshot(session)
    config = current_app.config
    slots = parse(params.text, synonym_table(session, keep), int(config["SEARCH_MAX_QUERY_WORDS"]))
    if params.text.strip() and not slots:
        return None
    return Ranker(snap, internal).run(params, slots, float(config["SEARCH_DISTANCE_WEIGHT"]),
                                      float(config["SEARCH_DISTANCE_SCALE_KM"]))


def search(session: Session, params: SearchParams, internal: bool, lang: str) -> SearchPage:
    """Search offers; public callers get public offers and fields only (checked in the index and again in SQL)."""
    ranked = rank(session, params, internal)
    if ranked is None:
        # Only symbols, emoji or one-letter words: nothing to search for, so nothing is found.
        record_miss(session, params.text)
        return SearchPage(params, [], 0, Match(no_words=True))
    services = _load(session, ranked.sids, internal, params.include_archived)
    terms = frozenset(ranked.match.terms)
    hits = []
    for sid, score, distance in zip(ranked.sids, ranked.scores, ranked.distances):
        service = services.get(sid)
        if service is None:
            continue
        view = service_view(service, internal, lang)
        text = view["atlas"]["summary_plain"] or view["description"] or ""
        hits.append(Hit(view, distance, score, highlight(view["name"], terms) if terms else [(view["name"], False)],
                        highlight(snippet(text, terms), terms) if terms else [(snippet(text, terms), False)],
                        public=service.is_public))
    if params.text.strip() and ranked.total == 0:
        record_miss(session, params.text)
    return SearchPage(params, hits, ranked.total, ranked.match)


def _load(session: Session, sids: list[int], internal: bool, include_archived: bool) -> dict[int, Service]:
    """The page's offers from the database, re-checking visibility (the index may lag a moment behind)."""
    if not sids:
        return {}
    stmt = with_details(select(Service).join(Service.organization)).where(Service.id.in_(sids))
    if not internal:
        stmt = stmt.where(public_condition())
    elif not include_archived:
        stmt = stmt.where(Service.archived_at.is_(None))
    return {s.id: s for s in session.scalars(stmt)}


def record_miss(session: Session, text: str) -> None:
    """Count a search text that found nothing (only the normalised text and a count are stored)."""
    query = normalise(text)
    if not query:
        return
    with Session(bind=session.get_bind()) as own:
        try:
            changed = own.execute(update(SearchMiss).where(SearchMiss.query == query)
                                  .values(count=SearchMiss.count + 1)).rowcount
            if not changed:
                if (own.scalar(select(func.count(SearchMiss.id))) or 0) >= int(current_app.config["SEARCH_MISSES_MAX"]):
                    return
                own.add(SearchMiss(query=query, count=1))
            own.commit()
        except IntegrityError:
            own.rollback()
            own.execute(update(SearchMiss).where(SearchMiss.query == query).values(count=SearchMiss.count + 1))
            own.commit()


def marked(segments: list[tuple[str, bool]]) -> Markup:
    """Highlight segments as HTML: every piece escaped, matches wrapped in <mark>."""
    return Markup("").join(Markup("<mark>%s</mark>") % piece if hit else escape(piece) for piece, hit in segments)


def api_item(hit: Hit) -> dict[str, Any]:
    """A search hit in the API: the HSDS service plus distance, score and highlighted name and text."""
    view = dict(hit.view)
    view["atlas"] = dict(view["atlas"]) | {"search": {
        "distance_km": hit.distance_km, "score": hit.score,
        "highlights": {"name": str(marked(hit.name)), "text": str(marked(hit.text))}}}
    return view
