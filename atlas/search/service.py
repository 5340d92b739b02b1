"""Run a search end to end: the index plus what it lacks yet, rank, load the page from the database, count misses."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from flask import current_app, has_request_context
from markupsafe import Markup, escape
from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from .. import freshness
from ..accounts import allow, client_key
from ..db import brief_wait
from ..hsds import api_service
from ..models import Location, Organization, Service, ServiceAtLocation, utcnow
from ..presenters import service_view
from ..queries import area_rows, load_shared, public_condition, with_details
from .analysis import highlight, snippet
from .explain import Explainer, Explanation, Reasons
from .language import query_languages, wished_languages
from .models import SearchMiss
from .params import SearchParams
from .query import Slot, SynonymTable, costless, phrase, normalise, parse, relatives, urgent
from . import crisis as crises, semantic
from .ranking import Match, Pin, Ranked, Ranker, Semantic
from .sync import Keeper, keeper
from .index import in_sorted
from .viewstore import ViewStore, code_fingerprint, path_for
from .synonyms import load_needs, load_rules


@dataclass
class Hit:
    """One found offer: its view (public fields only for public callers), distance, score and highlights."""

    view: dict[str, Any]
    distance_km: float | None
    score: float
    name: list[tuple[str, bool]]
    text: list[tuple[str, bool]]
    public: bool = True
    record: dict[str, Any] | None = None  # the HSDS service (API searches only)
    freshness: int = freshness.CURRENT  # the verdict (atlas.freshness); stale and doubtful hits rank lower
    crisis: bool = False  # shown first because the search signals danger
    why: Explanation = field(default_factory=Explanation)  # in the UI language (atlas.search.explain)


@dataclass
class SearchPage:
    """One page of search results."""

    params: SearchParams
    hits: list[Hit]
    total: int
    match: Match = field(default_factory=Match)
    crisis: crises.Crisis | None = None  # the danger the search text signals: numbers and crisis help come first

    @property
    def total_pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, math.ceil(self.total / self.params.per_page))


def synonym_table(session: Session, keep: Keeper) -> SynonymTable:
    """The compiled synonyms and need table, reloaded when the watermark says they changed."""
    version = keep.watermark.synonyms if keep.watermark else None
    cached = getattr(keep, "synonym_cache", None)
    if cached is None or cached[0] != version:
        cached = (version, SynonymTable(load_rules(session), load_needs(session)))
        keep.synonym_cache = cached  # type: ignore[attr-defined]
    return cached[1]


def rank(session: Session, params: SearchParams, internal: bool) -> Ranked | None:
    """The ids of one page of hits and the total (None when the text holds no searchable word and signals no crisis)."""
    crisis = crises.detect(params.text)
    keep = keeper()
    snap = keep.fresh_snapshot(session)
    config = current_app.config
    words = int(config["SEARCH_MAX_QUERY_WORDS"])
    table = synonym_table(session, keep)
    slots = need_typos(parse(params.text, table, words), table, snap, internal)
    if params.text.strip() and not slots and crisis is None:
        return None
    ranker = Ranker(snap, internal, freshness.Inputs.of(session, config), meaning(keep, snap, params, config),
                    urgent(params.text, words), crisis_pin(crisis, config), query_languages(params.text),
                    costless(params.text, words), int(config["SEARCH_UPCOMING_DAYS"]), category_parents(session),
                    wished_languages(params.text, words), relatives(slots))
    ranked = ranker.run(params, slots, float(config["SEARCH_DISTANCE_WEIGHT"]), float(config["SEARCH_DISTANCE_SCALE_KM"]))
    ranked.crisis = crisis
    ranked.needs = {slot.label: slot.categories for slot in slots if slot.categories}
    return ranked


def need_typos(slots: list[Slot], table: SynonymTable, snap: Any, internal: bool) -> list[Slot]:
    """A one-word part that no offer holds and that is a close typo of a need word meets that need
    ("Obdachlossigkeit" finds the homeless help, not only the two offers that spell "Obdachlosigkeit")."""
    found = []
    for slot in slots:
        words = slot.alternatives[0].words
        categories = table.need_typo(words[0]) \
            if not slot.categories and len(slot.alternatives) == 1 and len(words) == 1 else None
        # The index's words only for a candidate: after an edit, a worker's new snapshot merges them anew.
        if categories and not in_sorted(snap.vocabulary("words" if internal else "public_words"), words[0].text):
            # No readings: the word itself is still corrected to the closest word the offers hold, as before.
            slot = replace(slot, categories=categories)
        found.append(slot)
    return found


def category_parents(session: Session) -> Mapping[str, str]:
    """Each category's area (slug -> slug; areas are not keys), from the categories kept as reference data."""
    return _parents(area_rows(session))


@lru_cache(maxsize=8)
def _parents(rows: tuple[tuple, ...]) -> Mapping[str, str]:
    slugs = {row[0]: row[2] for row in rows}
    return MappingProxyType({slug: slugs[parent] for _id, parent, slug, *_rest in rows if parent in slugs})


def crisis_pin(crisis: crises.Crisis | None, config: Any) -> Pin | None:
    """Crisis help first: the configured crisis categories, ordered by the words of the signalled danger."""
    if crisis is None or not config["SEARCH_CRISIS_CATEGORIES"]:
        return None
    words = tuple(word for text in crisis.words for word in phrase(text))
    return Pin(tuple(config["SEARCH_CRISIS_CATEGORIES"]), words, int(config["SEARCH_CRISIS_PINNED"]))


def meaning(keep: Keeper, snap: Any, params: SearchParams, config: Any) -> Semantic | None:
    """The semantic side of a text search, or None (lexical only: no model, no vectors yet, or no text)."""
    if not params.text.strip() or snap.size == 0:
        return None
    vector = semantic.query_vector(params.text, config)  # None at once without the model: no store is read
    if vector is None:
        return None
    store = semantic.store_for(keep.store.root)
    if not semantic.ready(store, snap, config):
        return None
    cosine = store.scores(snap.sid, vector)
    if cosine is None:
        return None
    weight = float(config["SEARCH_SEMANTIC_WEIGHT"])
    if params.origin is not None:
        # The meaning's best offers are chosen region-wide; near a given place they are mostly far away.
        weight *= float(config["SEARCH_SEMANTIC_PLACE_FACTOR"])
    share = float(config["SEARCH_SEMANTIC_FEEDBACK_SHARE"])
    return Semantic(cosine, weight, int(config["SEARCH_SEMANTIC_TOP"]), float(config["SEARCH_SEMANTIC_MARGIN"]),
                    lambda docs: store.feedback(snap.sid, vector, docs, share), int(config["SEARCH_SEMANTIC_FEEDBACK"]))


def search(session: Session, params: SearchParams, internal: bool, lang: str, hsds: bool = False) -> SearchPage:
    """Search offers; public callers get public offers and fields only (checked in the index and again in SQL).

    With hsds, each hit also carries its HSDS service record (for the API), cached like the view."""
    ranked = rank(session, params, internal)
    if ranked is None:
        # Only symbols, emoji or one-letter words: nothing to search for, so nothing is found.
        record_miss(session, params.text, limited=not internal)
        return SearchPage(params, [], 0, Match(no_words=True))
    views = load_views(session, ranked.sids, internal, params.include_archived, lang, hsds)
    terms = frozenset(ranked.match.terms)
    hits = []
    verdicts = ranked.freshness or [freshness.CURRENT] * len(ranked.sids)
    pinned = ranked.pinned or [False] * len(ranked.sids)
    words = ranked.words or [[] for _ in ranked.sids]
    relatives = ranked.for_relatives or [False] * len(ranked.sids)
    explainer = Explainer(params.text, ranked.match.wished)
    searched = bool(params.text.strip())
    for sid, score, distance, verdict, first, held, helps in zip(ranked.sids, ranked.scores, ranked.distances,
                                                                  verdicts, pinned, words, relatives):
        if sid not in views:
            continue
        view, public, record = views[sid]
        text = view["atlas"]["summary_plain"] or view["description"] or ""
        reasons = Reasons(tuple(held), first, searched and not held and not first, distance, params.origin is not None,
                          tuple(c for word in held for c in ranked.needs.get(word, ())), helps)
        hits.append(Hit(view, distance, score, highlight(view["name"], terms) if terms else [(view["name"], False)],
                        highlight(snippet(text, terms), terms) if terms else [(snippet(text, terms), False)],
                        public=public, record=record, freshness=verdict, crisis=first,
                        why=explainer.explain(view, reasons)))
    if params.text.strip() and ranked.total == 0:
        record_miss(session, params.text, limited=not internal)
    return SearchPage(params, hits, ranked.total, ranked.match, ranked.crisis)


class ViewCache:
    """Presented offers of this process by (offer, its versions, audience, language): a page costs two queries.

    The versions are the offer's version_id and the updated_at of the offer, its organisation and its locations;
    names of categories, regions and Jobcenters are reference data without versions, so entries also expire after
    VIEW_TTL seconds. Views this process has not built may come from the machine's ViewStore (built by another).
    """

    def __init__(self, size: int = 4000) -> None:
        self.size = size
        self._views: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            found = self._views.get(key)
            if found is None or time.monotonic() - found[0] > VIEW_TTL:
                return None
            self._views.move_to_end(key)
            return found[1]

    def put(self, key: tuple[Any, ...], value: Any, age: float = 0.0) -> None:
        """Keep a view; `age`: seconds since it was built (elsewhere), so it expires with the original."""
        with self._lock:
            self._views[key] = (time.monotonic() - age, value)
            while len(self._views) > self.size:
                self._views.popitem(last=False)


VIEW_TTL = 60.0


def _views() -> ViewCache:
    """This app's view cache (one per app: tests run several apps on different databases in one process)."""
    return current_app.extensions.setdefault("atlas.search.views", ViewCache())


def _store() -> ViewStore | None:
    """The view store this machine's processes share (beside the search index), or None when it is off."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("atlas.search.viewstore")
    if found is None:
        if not app.config["SEARCH_VIEW_STORE"]:
            return None
        found = app.extensions["atlas.search.viewstore"] = ViewStore(path_for(keeper().store.root), VIEW_TTL)
    return found


def _store_key(key: tuple[Any, ...]) -> str:
    # The code's fingerprint first: after an upgrade, workers must not read views in the old code's shape.
    return "|".join(map(str, (code_fingerprint(), *key)))


def _visible(internal: bool, include_archived: bool) -> Select:
    stmt = select(Service.id).join(Service.organization)
    if not internal:
        return stmt.where(public_condition())
    return stmt if include_archived else stmt.where(Service.archived_at.is_(None))


_IDS = bindparam("ids", expanding=True)


@lru_cache(maxsize=4)
def _details(internal: bool, joined: bool = False) -> Select:
    """The statement that loads offers with everything a view shows, by ids given as the parameter "ids"."""
    # Built once: SQLAlchemy computes a statement's cache key once per statement object, and for this tree of
    # loader options that took 1-3 ms of CPU per page whose views were not cached yet.
    return with_details(select(Service), internal, shared=False, joined=joined).where(Service.id.in_(_IDS))


def joins_lists(session: Session) -> bool:
    """True when one offer's lists are cheaper joined into its statement than read by select-in (PostgreSQL).

    SQLite materialises each joined category and Jobcenter list (a parenthesised join) by scanning the whole link
    table: 8.7 ms for one offer at 10,000 offers, against 3.6 ms with select-in. PostgreSQL: 9.3 against 13.4 ms
    for a cold offer page (docs/performance.md, 7 December 2026)."""
    return session.get_bind().dialect.name == "postgresql"


_VERSIONS: dict[tuple[bool, bool], tuple[Any, Select]] = {}


def _versions(internal: bool, include_archived: bool) -> Select:
    """The statement reading the versions of offers the caller may see, by "ids" (rebuilt with the public condition)."""
    condition = None if internal else public_condition()
    found = _VERSIONS.get((internal, include_archived))
    if found is not None and found[0] is condition:
        return found[1]
    located = (select(func.max(Location.updated_at)).join(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
               .where(ServiceAtLocation.service_id == Service.id).scalar_subquery())
    stmt = _visible(internal, include_archived).add_columns(
        Service.version_id, Service.updated_at, Organization.updated_at, located).where(Service.id.in_(_IDS))
    _VERSIONS[(internal, include_archived)] = (condition, stmt)
    return stmt


def load_views(session: Session, sids: list[int], internal: bool, include_archived: bool, lang: str,
               hsds: bool = False) -> dict[int, tuple[dict[str, Any], bool, dict[str, Any] | None]]:
    """Offers as (view, is public, HSDS record) by id, only those this caller may see; cached by version.

    Visibility is checked here in SQL (the index may lag a moment behind, and an offer page has no index at all)."""
    if not sids:
        return {}
    stmt = _versions(internal, include_archived)
    keys = {row[0]: (row[0], *row[1:], internal, lang, hsds) for row in session.execute(stmt, {"ids": sids})}
    cache = _views()
    found = {sid: hit for sid, key in keys.items() if (hit := cache.get(key)) is not None}
    missing = [sid for sid in keys if sid not in found]
    store = _store() if missing else None
    stored = {sid: _store_key(keys[sid]) for sid in missing} if store is not None else {}
    if store is not None:
        shared = store.get_many(stored.values())
        for sid in missing:
            if (hit := shared.get(stored[sid])) is not None:
                cache.put(keys[sid], hit[0], age=hit[1])
                found[sid] = hit[0]
        missing = [sid for sid in missing if sid not in found]
    if missing:
        joined = len(missing) == 1 and joins_lists(session)
        services = list(session.scalars(_details(internal, joined), {"ids": missing}).unique())
        load_shared(session, services, internal)
        for service in services:
            found[service.id] = (service_view(service, internal, lang), bool(service.is_public),
                                 api_service(service, internal, lang) if hsds else None)
            cache.put(keys[service.id], found[service.id])
        if store is not None:
            store.put_many({stored[service.id]: found[service.id] for service in services})
    return found


def record_miss(session: Session, text: str, limited: bool = True) -> None:
    """Count a search text that found nothing (only the normalised text, a count and the last time are stored).

    An anonymous sender (keyed address hash) adds at most SEARCH_MISSES_PER_SENDER new texts per hour; at the cap the
    least recently searched texts make room, so floods age out and genuine misses are still recorded.
    """
    query = normalise(text)
    if not query:
        return
    now = utcnow()
    try:
        with brief_wait(session.get_bind()) as conn, Session(bind=conn) as own:
            _count_miss(own, query, limited, now)
    except OperationalError:
        pass  # another write holds the lock (a bulk import): the search answers without counting this miss


def _count_miss(own: Session, query: str, limited: bool, now: datetime) -> None:
    """record_miss's writes in `own`, committed."""
    config = current_app.config
    try:
        changed = own.execute(update(SearchMiss).where(SearchMiss.query == query)
                              .values(count=SearchMiss.count + 1, last_seen_at=now)).rowcount
        if not changed:
            if limited and has_request_context() and not allow(own, client_key("search-miss"),
                                                   int(config["SEARCH_MISSES_PER_SENDER"]), 3600, now):
                own.commit()
                return
            surplus = (own.scalar(select(func.count(SearchMiss.id))) or 0) - int(config["SEARCH_MISSES_MAX"]) + 1
            if surplus > 0:
                oldest = (select(SearchMiss.id).order_by(SearchMiss.last_seen_at.is_not(None),
                                                        SearchMiss.last_seen_at, SearchMiss.count, SearchMiss.id)
                          .limit(surplus))
                own.execute(delete(SearchMiss).where(SearchMiss.id.in_(list(own.scalars(oldest)))))
            own.add(SearchMiss(query=query, count=1, last_seen_at=now))
        own.commit()
    except IntegrityError:
        own.rollback()
        own.execute(update(SearchMiss).where(SearchMiss.query == query)
                    .values(count=SearchMiss.count + 1, last_seen_at=now))
        own.commit()


def marked(segments: list[tuple[str, bool]]) -> Markup:
    """Highlight segments as HTML: every piece escaped, matches wrapped in <mark>."""
    return Markup("").join(Markup("<mark>%s</mark>") % piece if hit else escape(piece) for piece, hit in segments)


def api_item(hit: Hit, internal: bool, lang: str) -> dict[str, Any]:
    """A search hit in the API: the HSDS service plus distance, score and highlighted name and text."""
    item = dict(hit.record or {})
    item["atlas"] = dict(item.get("atlas") or {})  # the cached record stays unchanged
    item["atlas"]["search"] = {"distance_km": hit.distance_km, "score": hit.score,
                               "highlights": {"name": str(marked(hit.name)), "text": str(marked(hit.text))},
                               "freshness": freshness.CODES[hit.freshness], "crisis_help": hit.crisis,
                               "why": str(hit.why)}
    return item
