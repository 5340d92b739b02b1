"""The index follows the database: a change watermark, incremental catch-up, full rebuilds and drift reports.

The database is the truth. One indexer process (`flask --app atlas indexer`) follows it: it compares a cheap
watermark (the newest audit_log id and the newest updated_at of offers, organisations and locations) with what
the index holds and writes the difference in bounded batches (SEARCH_INDEX_BATCH offers per commit, a new
round at least every SEARCH_INDEX_BATCH_SECONDS), or builds the index when it is missing.

Web workers never write the index and never wait for a write. Before a search they check the watermark (at most
every SEARCH_SYNC_INTERVAL seconds, at once after their own commits); offers the index does not hold yet are
loaded from the database and laid over it, so an edit is searchable at once. While no usable index exists,
searches rank documents built from the database (slower, same results). No other module needs a hook: the
audit log and the timestamps are written anyway.
"""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, event, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .. import models as m
from ..priority import lower_thread_priority
from . import documents, semantic
from .index import IndexStore, Snapshot, toc_generation
from .models import SearchNeed, SearchSynonym

# Seconds between two embedding rounds when no index change woke one (such a round only looks at every offer
# when MEANING_FULL_SECONDS have passed).
SEMANTIC_POLL = 10.0
# The embedding round reads only the offers the index took in since its last round; every this many seconds, and
# when more than MEANING_IDS_MAX wait, it reads them all (a net under the change tracking, 0.2 s at 10,000 offers).
MEANING_FULL_SECONDS = 600.0
MEANING_IDS_MAX = 5000

TRACKED = ("service", "organization", "location")
TIMESTAMPED = {"service": m.Service, "organization": m.Organization, "location": m.Location}
AUDIT_CHUNK = 2000
# A catch-up that changes at least this many offers, and at least this share of the index, builds a new
# generation instead (one writer, no per-document delete look-ups, optionally on SEARCH_BUILD_PROCS cores).
BULK_MIN = 2000
BULK_SHARE = 0.5
RECENT_MAX = 2000
GAP_TTL = 300.0
GAPS_LISTED = 100  # readers name at most this many unseen audit ids in a statement (pending_offers)
RELEVANT = (m.Service, m.Organization, m.Location, m.Address, m.ServiceAtLocation, m.TaxonomyTerm, m.Region,
            m.Jobcenter, SearchSynonym, SearchNeed)

# Engines whose process committed a relevant change since the last check ("searchable at once" locally).
_dirty: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Watermark:
    """How far the database has changed, read in one cheap query."""

    audit_id: int
    updated: dict[str, str]
    synonyms: tuple[int | str, ...]  # count, newest id and time of the synonym rules and of the need table

    def covered_by(self, state: dict[str, Any] | None) -> bool:
        """True when an index state holds every change up to this watermark."""
        if not state or state.get("layout") != documents.layout_version():
            return False
        held = state.get("updated", {})
        return state.get("audit_id", 0) >= self.audit_id and all(held.get(t, "") >= self.updated[t] for t in TRACKED)


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="microseconds") if value else ""


def read_watermark(session: Session) -> Watermark:
    """The database's change watermark (indexed maxima only, so it stays cheap at any size).

    Read on a connection of its own: the caller's session may sit in an older snapshot of the database.
    """
    with session.get_bind().connect() as conn:
        watermark = _watermark(conn)
        conn.commit()  # not a ROLLBACK, which makes psycopg drop the connection's prepared statements (atlas.db)
        return watermark


def _watermark(conn: Any) -> Watermark:
    row = conn.execute(select(
        select(func.max(m.AuditLog.id)).scalar_subquery(),
        *(select(func.max(model.updated_at)).scalar_subquery() for model in TIMESTAMPED.values()),
        select(func.count(SearchSynonym.id)).scalar_subquery(),
        select(func.max(SearchSynonym.id)).scalar_subquery(),
        select(func.count(SearchNeed.id)).scalar_subquery(),
        select(func.max(SearchNeed.id)).scalar_subquery(),
        # Saving replaces every row: on SQLite the ids start again at 1, so a table of the same length edited in
        # place (a category moved first) is only told apart by its time.
        select(func.max(SearchSynonym.updated_at)).scalar_subquery(),
        select(func.max(SearchNeed.updated_at)).scalar_subquery(),
    )).one()
    return Watermark(int(row[0] or 0), {t: _iso(v) for t, v in zip(TRACKED, row[1:4])},
                     (*(int(value or 0) for value in row[4:8]), *(_iso(value) for value in row[8:10])))


def _initial_state(session: Session, wm: Watermark, count: int, skew: float) -> dict[str, Any]:
    """State of a fresh build: everything up to the watermark read before loading is in it."""
    now = time.time()
    state = {"layout": documents.layout_version(), "audit_id": wm.audit_id, "gaps": {}, "updated": dict(wm.updated),
             "recent": {}, "floor": {}, "built_at": now, "synced_at": now, "documents": count}
    for kind, model in TIMESTAMPED.items():
        if wm.updated[kind]:
            newest = datetime.fromisoformat(wm.updated[kind])
            rows = session.execute(select(model.id, model.updated_at).where(
                model.updated_at >= newest - timedelta(seconds=skew), model.updated_at <= newest)).all()
            _remember(state, kind, [(rid, _iso(at)) for rid, at in rows], wm.updated[kind])
    return state


def _remember(state: dict[str, Any], kind: str, rows: list[tuple[int, str]], newest: str) -> None:
    """Note rows already indexed within the clock-skew window, so they are not indexed twice.

    A bulk write puts thousands of rows into the window, often all with one timestamp. Then no row is noted:
    the newest instant becomes the "floor", and scans start just after it for as long as it lies inside their
    window (later rows are noted one by one again). Every row at that instant was read in this same scan, so
    none is missed; noting only some of them made the next edit re-index the rest (92,000 offers after a
    100,000-offer import).
    """
    recent = state.setdefault("recent", {})
    if len(rows) > RECENT_MAX:
        state.setdefault("floor", {})[kind] = newest
        return
    recent.update({f"{kind}:{rid}": at for rid, at in rows})


def _values(changes: dict[str, Any], key: str) -> list[int]:
    pair = changes.get(key) or []
    return [int(v) for v in pair if isinstance(v, int)]


def _services_for(session: Session, kind: str, ids: set[int]) -> set[int]:
    """Offers whose index document depends on the given records."""
    if not ids:
        return set()
    ids_list = sorted(ids)
    if kind == "service":
        return set(ids)
    if kind == "organization":
        return set(session.scalars(select(m.Service.id).where(m.Service.organization_id.in_(ids_list))))
    if kind == "location":
        return set(session.scalars(select(m.ServiceAtLocation.service_id).where(m.ServiceAtLocation.location_id.in_(ids_list))))
    if kind == "taxonomy_term":
        terms = set(ids) | set(session.scalars(select(m.TaxonomyTerm.id).where(m.TaxonomyTerm.parent_id.in_(ids_list))))
        return set(session.scalars(select(m.service_taxonomy.c.service_id)
                                   .where(m.service_taxonomy.c.taxonomy_term_id.in_(sorted(terms)))))
    if kind == "region":
        regions = set(ids) | set(session.scalars(select(m.Region.id).where(m.Region.parent_id.in_(ids_list))))
        locations = set(session.scalars(select(m.Location.id).where(m.Location.gemeinde_id.in_(sorted(regions)))))
        return _services_for(session, "location", locations)
    if kind == "jobcenter":
        return set(session.scalars(select(m.service_jobcenter.c.service_id)
                                   .where(m.service_jobcenter.c.jobcenter_id.in_(ids_list))))
    return set()


def _services_from_audit(session: Session, rows: list[Any]) -> set[int]:
    """Map audit rows (any changed record) to the offers they affect."""
    by_kind: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        kind, changes = row.entity_type, row.changes or {}
        if kind == "address":
            located = _values(changes, "location_id") or list(session.scalars(
                select(m.Address.location_id).where(m.Address.id == row.entity_id)))
            by_kind["location"].update(located)
        elif kind == "service_at_location":
            by_kind["service"].update(_values(changes, "service_id") or list(session.scalars(
                select(m.ServiceAtLocation.service_id).where(m.ServiceAtLocation.id == row.entity_id))))
            by_kind["location"].update(_values(changes, "location_id"))
        else:
            by_kind[kind].add(row.entity_id)
    affected: set[int] = set()
    for kind, ids in by_kind.items():
        affected |= _services_for(session, kind, ids)
    return affected


def _audit_changes(session: Session, state: dict[str, Any]) -> tuple[set[int], bool]:
    """Offers touched by audit rows the index has not seen; True when more rows are waiting."""
    last = int(state.get("audit_id", 0))
    gaps = {int(k): v for k, v in state.get("gaps", {}).items()}
    condition = m.AuditLog.id > last
    if gaps:
        condition = or_(condition, m.AuditLog.id.in_(sorted(gaps)))
    rows = list(session.execute(
        select(m.AuditLog.id, m.AuditLog.entity_type, m.AuditLog.entity_id, m.AuditLog.changes)
        .where(condition).order_by(m.AuditLog.id).limit(AUDIT_CHUNK)))
    seen = {r.id for r in rows}
    now = time.time()
    newest = max((r.id for r in rows if r.id > last), default=last)
    # An id below the newest that is not visible yet belongs to a transaction that has not committed (PostgreSQL):
    # look for it again until it shows up or GAP_TTL passes.
    if newest - last <= 50_000:
        for missing in set(range(last + 1, newest)) - seen:
            gaps.setdefault(missing, now)
    gaps = {k: v for k, v in gaps.items() if k not in seen and now - v < GAP_TTL}
    state["audit_id"] = newest
    state["gaps"] = {str(k): v for k, v in sorted(gaps.items())[:10_000]}
    return _services_from_audit(session, rows), len(rows) == AUDIT_CHUNK


def _pending_services(session: Session, state: dict[str, Any]) -> int:
    """How many offers have audit rows of their own the index has not seen (one count over the id range)."""
    return session.scalar(select(func.count(func.distinct(m.AuditLog.entity_id))).where(
        m.AuditLog.id > int(state.get("audit_id", 0)), m.AuditLog.entity_type == "service")) or 0


def _timestamp_changes(session: Session, state: dict[str, Any], skew: float, wm: Watermark) -> set[int]:
    """Offers whose own, organisation's or location's updated_at moved (also catches bulk SQL updates)."""
    updated = state.setdefault("updated", {})
    recent: dict[str, str] = state.setdefault("recent", {})
    affected: set[int] = set()
    for kind, model in TIMESTAMPED.items():
        since = updated.get(kind, "")
        if since and wm.updated[kind] <= since:
            continue  # nothing newer in this table: skip the scan
        stmt = select(model.id, model.updated_at)
        if since:
            lower = datetime.fromisoformat(since) - timedelta(seconds=skew)
            floor = state.get("floor", {}).get(kind)
            if floor and datetime.fromisoformat(floor) >= lower:
                stmt = stmt.where(model.updated_at > datetime.fromisoformat(floor))  # its rows are all indexed
            else:
                stmt = stmt.where(model.updated_at >= lower)
        rows = [(rid, _iso(at)) for rid, at in session.execute(stmt)]
        changed = {rid for rid, iso in rows if recent.get(f"{kind}:{rid}") != iso}
        newest = max([since] + [iso for _rid, iso in rows])
        _remember(state, kind, rows, newest)
        updated[kind] = newest
        if changed:
            affected |= _services_for(session, kind, changed)
    horizon = {k: (datetime.fromisoformat(v) - timedelta(seconds=skew)).isoformat(timespec="microseconds")
               for k, v in updated.items() if v}
    state["recent"] = {k: v for k, v in state["recent"].items() if v >= horizon.get(k.split(":")[0], "")}
    return affected


def _usable(state: dict[str, Any] | None, wm: Watermark) -> bool:
    """True when an index with this state can serve searches (current layout, not ahead of the database)."""
    return bool(state) and state.get("layout") == documents.layout_version() and \
        wm.audit_id >= int(state.get("audit_id", 0))


@dataclass(frozen=True)
class Pending:
    """What readers lay over the index: offers changed since its state, and whether a bulk write was left out."""

    offers: set[int]
    bulk: bool


def pending_offers(session: Session, state: dict[str, Any], wm: Watermark, limit: int) -> Pending:
    """Offers people changed since an index state, newest first and at most about `limit` (read only).

    Readers use it to lay fresh documents over the index. It looks at audit rows the index has not seen and at
    rows whose updated_at is newer than the newest one the index holds; the indexer also re-checks a clock-skew
    window and catches what this cheaper look leaves out. A writer with more than `limit` rows waiting (an
    import, a bulk script) is left to the indexer, and so is a bulk write without audit rows: laying hundreds of
    offers over the index cost every web worker 100-300 ms at each look while an import ran, and the edits of
    the people working meanwhile fell out of the newest `limit` rows within a second.
    """
    gaps = [int(k) for k in state.get("gaps", {})]
    condition = m.AuditLog.id > int(state.get("audit_id", 0))
    if len(gaps) > GAPS_LISTED:
        # Read as one range (rows the index holds come along, which costs an offer's document at most): a
        # statement naming thousands of ids, as after an import on PostgreSQL, took most of a worker's time.
        condition = m.AuditLog.id >= min(gaps)
    elif gaps:
        condition = or_(condition, m.AuditLog.id.in_(gaps))
    writers = session.execute(select(m.AuditLog.actor, func.count(m.AuditLog.id)).where(condition)
                              .group_by(m.AuditLog.actor)).all()
    bulky = sorted(actor for actor, count in writers if count > limit)
    stmt = select(m.AuditLog.id, m.AuditLog.entity_type, m.AuditLog.entity_id, m.AuditLog.changes).where(condition)
    if bulky:
        stmt = stmt.where(m.AuditLog.actor.not_in(bulky))
    affected = _services_from_audit(session, list(session.execute(stmt.order_by(m.AuditLog.id.desc()).limit(limit))))
    held = state.get("updated", {})
    bulk = bool(bulky)
    for kind, model in TIMESTAMPED.items():
        since = held.get(kind, "")
        if since and wm.updated[kind] <= since:
            continue
        stmt = select(model.id).order_by(model.updated_at.desc()).limit(limit + 1)
        if since:
            stmt = stmt.where(model.updated_at > datetime.fromisoformat(since))
        ids = set(session.scalars(stmt))
        if len(ids) > limit:
            bulk = True
            continue
        affected |= _services_for(session, kind, ids)
    return Pending(affected, bulk)


def _too_much(pending: Pending, limit: int) -> bool:
    """True when documents built from the database are cheaper to build anew than to lay over."""
    return pending.bulk or len(pending.offers) >= limit


# Below this many offers a second build process costs more than it saves.
PARALLEL_MIN = 5000


def build_procs(setting: int, count: int) -> int:
    """Processes for building `count` documents: the setting, where 0 means one per core, at most two."""
    if count <= PARALLEL_MIN:
        return 1
    if setting > 0:
        return setting
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(2, cores))


class Keeper:
    """One process's view of the index. Web workers only read; `Indexer` (the indexer process) writes."""

    def __init__(self, app: Flask) -> None:
        root = app.config.get("SEARCH_INDEX_DIR") or Path(app.instance_path) / "search-index"
        self.store = IndexStore(root, int(app.config["SEARCH_CACHE_MB"]))
        self.interval = float(app.config["SEARCH_SYNC_INTERVAL"])
        self.skew = float(app.config["SEARCH_CLOCK_SKEW"])
        self.overlay_max = int(app.config["SEARCH_OVERLAY_MAX"])
        self.batch = int(app.config["SEARCH_INDEX_BATCH"])
        self.batch_seconds = float(app.config["SEARCH_INDEX_BATCH_SECONDS"])
        self.procs = int(app.config["SEARCH_BUILD_PROCS"])
        self._mutex = threading.Lock()
        self._last_check = 0.0
        self._view: tuple[tuple[Any, ...], Snapshot] | None = None
        self._memory: Snapshot | None = None
        self.watermark: Watermark | None = None
        self.fallback = False
        self._tables_done: tuple[str, int] | None = None
        # Offers the index took in since the meaning's last round; None: look at every offer (start, rebuild).
        self._for_meaning: set[int] | None = None
        self._meaning_lock = threading.Lock()
        self.meaning_checked_all = float("-inf")  # when the embedding round last looked at every offer

    # -- reading (every search) --------------------------------------------------------------------------------

    def fresh_snapshot(self, session: Session, force: bool = False) -> Snapshot:
        """What a search ranks: the index plus fresh documents for offers it does not hold yet. Never writes."""
        engine = session.get_bind()
        local = _dirty.pop(engine, False) if isinstance(engine, Engine) else False
        view = self._view
        if view is not None and not (force or local) and time.monotonic() - self._last_check < self.interval:
            return view[1]
        self._last_check = time.monotonic()
        wm = read_watermark(session)
        self.watermark = wm
        with self._mutex:
            base = self._base(session, wm)
            key = (id(base), base.generation, wm)
            if self._view is None or self._view[0] != key:
                self._view = (key, self._with_changes(session, base, wm))
            return self._view[1]

    def _base(self, session: Session, wm: Watermark) -> Snapshot:
        """The published index when it can serve, else documents built from the database (the slower path)."""
        try:
            snap = self.store.snapshot(refresh=True)
        except (OSError, ValueError):
            current_app.logger.exception("search index at %s cannot be read; searching the database", self.store.root)
            snap = None
        if snap is not None and _usable(snap.state, wm):
            self._memory, self.fallback = None, False
            return snap
        self.fallback = True
        memory = self._memory
        if memory is None or not _usable(memory.state, wm) or \
                _too_much(pending_offers(session, memory.state or {}, wm, self.overlay_max), self.overlay_max):
            with Session(bind=session.get_bind()) as work:
                wm_before = _watermark(work.connection())
                ids = documents.all_service_ids(work)
                state = _initial_state(work, wm_before, len(ids), self.skew)
                memory = self._memory = self.store.memory_snapshot(list(documents.iter_documents(work, ids)), state)
        return memory

    def _with_changes(self, session: Session, base: Snapshot, wm: Watermark) -> Snapshot:
        if wm.covered_by(base.state):
            return base
        with Session(bind=session.get_bind()) as work:
            changed = pending_offers(work, base.state or {}, wm, self.overlay_max).offers
            view = base
            if changed:
                view = base.with_changes(list(documents.iter_documents(work, sorted(changed))), changed)
            work.commit()  # reads only: not a ROLLBACK, which drops psycopg's prepared statements (atlas.db)
            return view

    # -- writing (the indexer process, `flask reindex`, set-up) -------------------------------------------------

    def step(self, session: Session) -> int:
        """One bounded round of the indexer: build the index if it is missing or unusable, else apply a batch."""
        wm = read_watermark(session)
        state = self.store.read_state()
        if not _usable(state, wm):
            return self.rebuild(session)
        if wm.covered_by(state):
            return 0
        with self.store.write_lock(wait=1.0) as acquired:
            if not acquired:
                return 0
            return self.sync_locked(session, self.batch_seconds)

    def sync(self, session: Session, budget: float | None = None) -> int:
        """Apply every database change the index lacks now (CLI and tests; requests never call it)."""
        with self.store.write_lock(wait=60.0) as acquired:
            if not acquired:
                raise TimeoutError("another process holds the search index lock for more than 60 s")
            state = self.store.read_state()
            if not _usable(state, read_watermark(session)):
                count = self._rebuild_locked(session)
            else:
                count = self.sync_locked(session, budget)
        self.write_tables()
        return count

    def write_tables(self) -> int:
        """Save the segment tables the published index lacks, so fresh web workers load instead of decode them.

        Writers only (the indexer after each round, `sync`, `reindex`); one look at the table of contents when
        nothing changed. Returns the number of tables written.
        """
        name = self.store.current_name()
        if name is None:
            return 0
        mark = (name, toc_generation(self.store.root / name))
        if mark == self._tables_done:
            return 0
        with self.store.write_lock(wait=1.0) as acquired:
            if not acquired:
                return 0  # a writer is busy: the next round saves them
            written = self.store.write_tables(name)
        self._tables_done = mark
        return written

    def sync_locked(self, session: Session, budget: float | None) -> int:
        """Catch up from the index's state (caller holds the writer lock); stops after `budget` seconds.

        The offers of all pending audit rows are collected before any is written: a bulk import touches each
        offer several times (offer, organisation, site, address, link), and chunk by chunk it was indexed as
        often. When the changed offers are many compared with the index, a new generation is built instead.
        """
        deadline = time.monotonic() + budget if budget else None
        total = 0
        with Session(bind=session.get_bind()) as work:
            if self._bulk(_pending_services(work, self.store.read_state() or {})):
                return self._rebuild_locked(work)  # known from one count: no need to read the backlog first
            while True:
                state = self.store.read_state() or {}
                before = json.loads(json.dumps(state))
                affected: set[int] = set()
                while True:
                    found, more = _audit_changes(work, state)
                    affected |= found
                    if not more or (deadline and time.monotonic() > deadline):
                        break
                if not more:
                    affected |= _timestamp_changes(work, state, self.skew, read_watermark(work))
                if self._bulk(len(affected)):
                    return total + self._rebuild_locked(work)
                total += self._apply(work, before, state, affected)
                if not more or (deadline and time.monotonic() > deadline):
                    return total

    def _bulk(self, changed: int) -> bool:
        """True when rebuilding is cheaper than changing documents one by one (a bulk import's catch-up)."""
        return changed >= max(BULK_MIN, BULK_SHARE * self.store.doc_count())

    def _apply(self, work: Session, before: dict[str, Any], state: dict[str, Any], affected: set[int]) -> int:
        """Write the changed offers in commits of at most `batch` offers; only the last one moves the state on."""
        ids = sorted(affected)
        chunks = [ids[i:i + self.batch] for i in range(0, len(ids), self.batch)] or [[]]
        for number, chunk in enumerate(chunks):
            docs = list(documents.iter_documents(work, chunk))
            found = {d.sid for d in docs}
            last = number == len(chunks) - 1
            target = state if last else before  # a crash between commits redoes the rest from the old state
            target["synced_at"] = time.time()
            self.store.apply(docs, [i for i in chunk if i not in found], target)
        self.note_for_meaning(ids)
        return len(ids)

    def note_for_meaning(self, ids: Collection[int] | None) -> None:
        """Tell the embedding round which offers changed (None: every offer may have)."""
        with self._meaning_lock:
            if ids is None or self._for_meaning is None or len(self._for_meaning) + len(ids) > MEANING_IDS_MAX:
                self._for_meaning = None
            else:
                self._for_meaning.update(ids)

    def take_for_meaning(self) -> set[int] | None:
        """The offers changed since the last call (None: look at every offer), and start a new set."""
        with self._meaning_lock:
            taken, self._for_meaning = self._for_meaning, set()
        return taken

    def _build(self, session: Session) -> tuple[str, int]:
        """Write a new generation of every offer (not yet published); returns its name and document count."""
        with Session(bind=session.get_bind()) as work:
            wm = read_watermark(work)
            ids = documents.all_service_ids(work)
            state = _initial_state(work, wm, len(ids), self.skew)
            procs = build_procs(self.procs, len(ids))
            name = self.store.create_generation(documents.iter_documents(work, ids), state, procs=procs)
        # Before publishing: every web worker then maps the tables instead of decoding the new segments itself
        # (0.5-1 s per worker at 15,000 offers, inside a request, on every rebuild an import caused).
        try:
            self.store.write_tables(name)
        except OSError:
            current_app.logger.exception("search index: tables of %s not saved; workers decode them", name)
        return name, len(ids)

    def rebuild(self, session: Session) -> int:
        """Build a new index from scratch while searches go on, then switch to it; returns the document count."""
        name, count = self._build(session)
        with self.store.write_lock(wait=60.0) as acquired:
            if not acquired:
                self.store.discard(name)
                raise TimeoutError("another process holds the search index lock for more than 60 s")
            self.store.publish(name)
        self.note_for_meaning(None)
        return count

    def _rebuild_locked(self, session: Session) -> int:
        name, count = self._build(session)
        self.store.publish(name)
        self.note_for_meaning(None)
        return count

    # -- reporting ---------------------------------------------------------------------------------------------

    def status(self, session: Session) -> dict[str, Any]:
        """Index drift for /healthz: documents and pending changes compared with the database."""
        state = self.store.read_state()
        db_count = session.scalar(select(func.count(m.Service.id))) or 0
        if state is None:
            return {"engine": "whoosh", "present": False, "documents": 0, "database": db_count, "drift": db_count,
                    "pending_changes": None, "in_sync": db_count == 0}
        count = self.store.doc_count()
        pending = session.scalar(select(func.count(m.AuditLog.id)).where(m.AuditLog.id > int(state.get("audit_id", 0))))
        wm = read_watermark(session)
        return {"engine": "whoosh", "present": True, "documents": count, "database": db_count,
                "drift": db_count - count, "pending_changes": int(pending or 0),
                "in_sync": count == db_count and wm.covered_by(state),
                "layout_current": state.get("layout") == documents.layout_version(),
                "lag_seconds": None if wm.covered_by(state) else round(time.time() - state.get("synced_at", 0), 1),
                "synced_at": datetime.fromtimestamp(state.get("synced_at", 0)).isoformat(timespec="seconds")}


def keeper(app: Flask | None = None) -> Keeper:
    """The current app's index keeper."""
    return (app or current_app).extensions["atlas.search"]


def sync(session: Session, budget: float | None = None) -> int:
    """Write every committed database change into the index now (the indexer does this continuously)."""
    return keeper().sync(session, budget)


def run_indexer(app: Flask, stop: threading.Event | None = None, poll: float | None = None) -> None:
    """The indexer loop: follow the database in bounded batches until `stop` is set (or forever)."""
    stop = stop or threading.Event()
    keep = keeper(app)
    poll = float(app.config["SEARCH_INDEX_POLL"]) if poll is None else poll
    wake = threading.Event()
    meaning = None
    if semantic.enabled(app.config):
        # Embedding takes seconds per batch; in a thread of its own no edit ever waits behind it.
        meaning = threading.Thread(target=follow_meaning, args=(app, keep, stop, wake), name="atlas-meaning",
                                   daemon=True)
        meaning.start()
    try:
        while not stop.is_set():
            with app.app_context():
                with Session(bind=app.extensions["atlas.engine"]) as session:
                    try:
                        changed = keep.step(session)
                        changed += keep.write_tables()
                    except (OSError, TimeoutError, SQLAlchemyError) as exc:
                        app.logger.warning("search indexer: %s", exc)
                        changed = 0
            if changed:
                wake.set()
            else:
                stop.wait(poll)
    finally:
        stop.set()
        wake.set()
        if meaning is not None:
            meaning.join(timeout=30)


def follow_meaning(app: Flask, keep: Keeper, stop: threading.Event, wake: threading.Event) -> None:
    """The indexer's embedding loop: at the lowest CPU priority, a round after each change or every SEMANTIC_POLL s."""
    if int(app.config["INDEXER_NICE"]) > 0:
        lower_thread_priority(19)  # the least urgent work of all: the words are searchable already
    while not stop.is_set():
        wake.clear()
        with app.app_context():
            with Session(bind=app.extensions["atlas.engine"]) as session:
                try:
                    embedded = embed_round(app, session, keep)
                except (OSError, SQLAlchemyError) as exc:
                    app.logger.warning("semantic search: %s", exc)
                    embedded = 0
        if not embedded:  # while offers wait for their vector, the next round follows at once
            wake.wait(SEMANTIC_POLL)


def embed_round(app: Flask, session: Session, keep: Keeper) -> int:
    """One bounded round of embedding offers for the semantic search; a model failure leaves the search lexical.

    Only the offers the index took in since the last round are read, except at the start, after a rebuild, while
    a round left work undone, and every MEANING_FULL_SECONDS (a net under the change tracking): then all are.
    """
    only = keep.take_for_meaning()
    if only is not None and time.monotonic() - keep.meaning_checked_all > MEANING_FULL_SECONDS:
        only = None
    if only is not None and not only:
        return 0
    started = time.monotonic()
    try:
        done, left = semantic.refresh_some(session, semantic.store_for(keep.store.root), app.config,
                                           float(app.config["SEARCH_SEMANTIC_BATCH_SECONDS"]), only)
    except (RuntimeError, OSError, SQLAlchemyError) as exc:
        keep.note_for_meaning(only)  # nothing was saved: the same offers wait for the next round
        if isinstance(exc, RuntimeError):  # no model: nothing to embed with; /healthz reports the lexical mode
            app.logger.warning("semantic search: %s", exc)
            return 0
        raise
    if left:
        keep.note_for_meaning(None)
    elif only is None:
        keep.meaning_checked_all = started
    return done


def _after_flush(session: Session, _ctx: Any) -> None:
    if any(isinstance(o, RELEVANT) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info["atlas_search_dirty"] = True


def _after_commit(session: Session) -> None:
    if session.info.pop("atlas_search_dirty", False):
        bind = session.get_bind()
        if isinstance(bind, Engine):
            _dirty[bind] = True


def install() -> None:
    """Mark this process's own commits so its next search checks the watermark at once."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)


def init_keeper(app: Flask) -> None:
    """Create the app's keeper (no files are touched until the first search)."""
    app.extensions["atlas.search"] = Keeper(app)
    install()


def status(session: Session) -> dict[str, Any]:
    """The search block of /healthz: index present, documents vs. database, pending changes (drift)."""
    try:
        body = keeper().status(session)
        # Counted in the database: /healthz must not refresh the search's view of the index (a search right after
        # it would then reuse that view for SEARCH_INDEX_POLL seconds instead of looking again).
        wanted = session.scalar(select(func.count(m.Service.id)).where(m.Service.archived_at.is_(None))) or 0
        body["semantic"] = semantic.health(semantic.store_for(keeper().store.root), current_app.config, wanted)
        return body
    except (OSError, ValueError) as exc:
        # Caught mid-swap or unreadable: the same keys as always, so monitors can read in_sync every time.
        return {"engine": "whoosh", "present": False, "in_sync": False, "pending_changes": None,
                "error": type(exc).__name__}
