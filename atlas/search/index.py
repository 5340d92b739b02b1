"""The search engine boundary: a Whoosh index directory with generations, a writer lock, and reads as numpy arrays.

Nothing outside this module imports Whoosh, so the engine can be replaced by rewriting this file alone.
Layout of the index directory (SEARCH_INDEX_DIR):

    CURRENT           name of the generation searches use (replaced atomically)
    write.lock        fcntl lock held by the one process that writes (the OS releases it when that process dies)
    gen-<n>/          a Whoosh index plus state.json (what the index holds: see atlas.search.sync)

Only the indexer process writes. Readers never take a lock and never write: they read a generation's state, then
open its last committed table of contents (retrying when a commit removes it under them), so a snapshot holds
at least what its state says. `MemorySegment` gives documents built from the database the same read interface,
for searches while no index exists and for the changes the index does not hold yet.
"""

from __future__ import annotations

import bisect
import fcntl
import heapq
import itertools
import json
import os
import re
import shutil
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import fields as wf
from whoosh import index as windex
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.index import EmptyIndexError
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

TEXT_FIELDS = ("title", "tags", "parts")
ENGINE = "whoosh"
EMPTY_IDS = np.zeros(0, dtype=np.int64)
EMPTY_TF = np.zeros(0, dtype=np.float32)
TOC_RE = re.compile(r"^_MAIN_(\d+)\.toc$")
OPEN_ATTEMPTS = 5
TABLES = "tables"  # per generation: one saved _SegmentTable per segment, named by the segment's id
TABLE_SUFFIX = ".arrays"
# A new segment this large without a saved table: readers keep their last snapshot for up to TABLE_WAIT_SECONDS
# while the writer saves it, rather than decode it inside a request (about a second at 15,000 offers).
TABLE_WAIT_DOCS = 1000
TABLE_WAIT_SECONDS = 10.0
# Terms kept per segment, field and prefix: the most any caller asks for. Segments never change, so the list
# outlives the snapshot; before, each new generation (an edit a second) made every worker walk Whoosh's term
# files again for every prefix its searches used (about a fifth of a search's time after an edit).
PREFIX_TERMS = 200
PREFIX_CACHE = 20_000
BUILD_BATCH = 100  # documents per job a parallel build hands to one of its processes


@dataclass
class IndexDoc:
    """One offer as the index stores it: analysed terms per field and plain attributes for filters and sorting."""

    sid: int
    terms: dict[str, list[str]]
    attrs: dict[str, Any] = field(default_factory=dict)
    sets: dict[str, list[str]] = field(default_factory=dict)
    points: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    name: str = ""


class IndexBusy(RuntimeError):
    """Another process is writing the index and did not finish in time."""


def _schema() -> wf.Schema:
    split = SpaceSeparatedTokenizer()
    text = {name: wf.TEXT(analyzer=split, phrase=False) for name in TEXT_FIELDS}
    return wf.Schema(sid=wf.ID(unique=True), meta=wf.STORED, **text)


def _whoosh_doc(doc: IndexDoc) -> dict[str, Any]:
    # Plain words are only a vocabulary (typo tolerance, suggestions): stored with the document, not as postings,
    # which would cost about 40 % more indexing time.
    meta = {"sid": doc.sid, "attrs": doc.attrs, "sets": doc.sets, "points": doc.points, "name": doc.name,
            "len": {f: len(doc.terms.get(f, ())) for f in TEXT_FIELDS}, "words": doc.terms.get("words", [])}
    return {"sid": str(doc.sid), "meta": meta, **{f: " ".join(doc.terms.get(f, ())) for f in TEXT_FIELDS}}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


class IndexStore:
    """An index directory shared by the processes of one machine; holds this process's read caches."""

    def __init__(self, root: str | Path, cache_mb: int = 64) -> None:
        self.root = Path(root)
        self.cache_bytes = cache_mb * 1024 * 1024
        self._mutex = threading.RLock()
        self._snapshot: Snapshot | None = None
        self._retired: list[Any] = []
        self._tables: dict[str, _SegmentTable] = {}
        self._postings: OrderedDict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._postings_size = 0
        self._vocab: dict[tuple[str, str], frozenset[str]] = {}
        self._table_wait: float | None = None  # since when a large new segment's table is awaited
        self._prefixes: dict[tuple[str, str, str], tuple[str, ...]] = {}

    # -- layout and state ---------------------------------------------------------------------------------

    def current_name(self) -> str | None:
        """The published generation, None when there is no index yet."""
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return name if name and (self.root / name / "state.json").exists() else None

    def read_state(self, name: str | None = None) -> dict[str, Any] | None:
        """The state stored with a generation (what it holds), None without an index."""
        name = name or self.current_name()
        if not name:
            return None
        try:
            return json.loads((self.root / name / "state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    @contextmanager
    def write_lock(self, wait: float = 0.0) -> Iterator[bool]:
        """Hold the single-writer lock; yields False when another process holds it longer than `wait` seconds."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "write.lock", os.O_CREAT | os.O_RDWR, 0o644)
        deadline = time.monotonic() + wait
        acquired = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    acquired = True
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(0.05)
            if acquired:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()} {time.time():.0f}\n".encode())
            yield acquired
        finally:
            if acquired:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # -- writing --------------------------------------------------------------------------------------------

    def create_generation(self, docs: Iterable[IndexDoc], state: dict[str, Any], procs: int = 1) -> str:
        """Write a complete new, unpublished generation (no lock needed: nobody else knows the directory)."""
        name = f"gen-{time.time_ns()}"
        path = self.root / name
        path.mkdir(parents=True)
        ix = windex.create_in(str(path), _schema())
        writer = (ix.writer(procs=procs, limitmb=128, multisegment=True, batchsize=BUILD_BATCH, compound=False)
                  if procs > 1 else ix.writer(limitmb=128, compound=False))
        try:
            for doc in docs:
                writer.add_document(**_whoosh_doc(doc))
            writer.commit()
        except BaseException:
            writer.cancel()
            shutil.rmtree(path, ignore_errors=True)
            raise
        finally:
            ix.close()
        _write_json(path / "state.json", state)
        return name

    def publish(self, name: str) -> None:
        """Make a generation the one searches use (caller holds the lock); keeps the previous one for open readers."""
        previous = self.current_name()
        tmp = self.root / f".CURRENT.{os.getpid()}.tmp"
        tmp.write_text(name, encoding="utf-8")
        os.replace(tmp, self.root / "CURRENT")
        for old in self.root.glob("gen-*"):
            if old.name not in (name, previous):
                shutil.rmtree(old, ignore_errors=True)

    def discard(self, name: str) -> None:
        """Delete an unpublished generation."""
        shutil.rmtree(self.root / name, ignore_errors=True)

    def apply(self, upserts: list[IndexDoc], deletes: Iterable[int], state: dict[str, Any]) -> None:
        """Change documents in the published generation and store its new state (caller holds the lock)."""
        name = self.current_name()
        if name is None:
            raise FileNotFoundError("no published search index")
        ix = windex.open_dir(str(self.root / name))
        try:
            writer = ix.writer(timeout=10.0, compound=False)
            try:
                for sid in deletes:
                    writer.delete_by_term("sid", str(sid))
                for doc in upserts:
                    writer.update_document(**_whoosh_doc(doc))
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
        finally:
            ix.close()
        _write_json(self.root / name / "state.json", state)

    def write_state(self, state: dict[str, Any]) -> None:
        """Store a new state without changing documents (caller holds the lock)."""
        name = self.current_name()
        if name:
            _write_json(self.root / name / "state.json", state)

    # -- reading ----------------------------------------------------------------------------------------------

    def doc_count(self) -> int:
        """Live documents in the published generation (reads only the table of contents)."""
        name = self.current_name()
        if name is None:
            return 0
        ix = windex.open_dir(str(self.root / name))
        try:
            return ix.doc_count()
        finally:
            ix.close()

    def snapshot(self, refresh: bool = True) -> Snapshot | None:
        """The current read view; with refresh, reopened when the indexer committed since (never writes)."""
        with self._mutex:
            if self._snapshot is not None and not refresh:
                return self._snapshot
            for attempt in range(OPEN_ATTEMPTS):
                try:
                    return self._open_current()
                except (FileNotFoundError, EmptyIndexError):
                    # A commit removed the table of contents or a segment between listing and opening: the
                    # newer one is complete, so look again; after that keep serving the last good snapshot.
                    if attempt == OPEN_ATTEMPTS - 1:
                        if self._snapshot is not None:
                            return self._snapshot
                        raise
                    time.sleep(0.01 * (attempt + 1))
            return self._snapshot

    def _open_current(self) -> Snapshot | None:
        name = self.current_name()
        if name is None:
            return None
        snap = self._snapshot
        if snap is not None and snap.name == name and snap.generation == toc_generation(self.root / name):
            return snap
        # The state first: the documents opened afterwards hold at least what it says.
        state = self.read_state(name)
        ix = windex.open_dir(str(self.root / name))
        reader = ix.reader()
        leaves = reader.leaf_readers() if reader.doc_count_all() else []
        if snap is not None and self._awaits_tables(name, leaves):
            reader.close()
            return snap
        self._snapshot = Snapshot(self, name, ix.latest_generation(),
                                  [(leaf.segment().segment_id(), leaf, base) for leaf, base in leaves],
                                  reader=reader, state=state)
        if snap is not None and snap.reader is not None:
            self._retired.append(snap.reader)
        while len(self._retired) > 2:
            self._retired.pop(0).close()
        live = {seg for seg, _leaf, _base in self._snapshot.leaves}
        self._tables = {k: v for k, v in self._tables.items() if k in live}
        self._vocab = {k: v for k, v in self._vocab.items() if k[0] in live}
        self._prefixes = {k: v for k, v in self._prefixes.items() if k[0] in live}
        return self._snapshot

    def _awaits_tables(self, name: str, leaves: list[tuple[Any, int]]) -> bool:
        """True while a large new segment has no saved table yet and the wait has not run out."""
        folder = self.root / name / TABLES
        missing = any(segid not in self._tables and leaf.doc_count_all() >= TABLE_WAIT_DOCS
                      and not (folder / f"{segid}{TABLE_SUFFIX}").exists()
                      for segid, leaf in ((leaf.segment().segment_id(), leaf) for leaf, _base in leaves))
        if not missing:
            self._table_wait = None
            return False
        now = time.monotonic()
        if self._table_wait is None:
            self._table_wait = now
        return now - self._table_wait < TABLE_WAIT_SECONDS

    def memory_snapshot(self, docs: list[IndexDoc], state: dict[str, Any]) -> Snapshot:
        """A read view of documents built from the database, for searches while no usable index exists."""
        segment = MemorySegment(docs)
        return Snapshot(self, "memory", 0, [(segment.segid, segment, 0)], state=state)

    def _table(self, segid: str, leaf: Any, name: str) -> _SegmentTable:
        if isinstance(leaf, MemorySegment):
            return leaf.table
        table = self._tables.get(segid)
        if table is None:
            table = _SegmentTable.load(self.root / name / TABLES / f"{segid}{TABLE_SUFFIX}") or _SegmentTable(leaf)
            self._tables[segid] = table
        return table

    def write_tables(self, name: str) -> int:
        """Save the table of each segment of a generation that has none yet (writers only); returns how many.

        Segments never change, so a table stays right for as long as its segment exists; tables of segments
        that merges removed are deleted.
        """
        folder = self.root / name / TABLES
        folder.mkdir(exist_ok=True)
        live, written = set(), 0
        ix = windex.open_dir(str(self.root / name))
        try:
            with ix.reader() as reader:
                for leaf, _base in reader.leaf_readers() if reader.doc_count_all() else []:
                    segid = leaf.segment().segment_id()
                    live.add(segid)
                    target = folder / f"{segid}{TABLE_SUFFIX}"
                    if not target.exists():
                        _SegmentTable(leaf).save(target)
                        written += 1
        finally:
            ix.close()
        for stale in folder.iterdir():
            if stale.stem not in live or stale.suffix != TABLE_SUFFIX:
                stale.unlink(missing_ok=True)
        return written

    def _leaf_postings(self, segid: str, leaf: Any, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(leaf, MemorySegment):
            return leaf.arrays(fieldname, term)
        key = (segid, fieldname, term)
        cached = self._postings.get(key)
        if cached is not None:
            self._postings.move_to_end(key)
            return cached
        arrays = _read_postings(leaf, fieldname, term)
        self._postings[key] = arrays
        self._postings_size += arrays[0].nbytes + arrays[1].nbytes + 100
        while self._postings_size > self.cache_bytes and self._postings:
            _key, (a, b) = self._postings.popitem(last=False)
            self._postings_size -= a.nbytes + b.nbytes + 100
        return arrays

    def _leaf_prefix(self, segid: str, leaf: Any, fieldname: str, prefix: str) -> tuple[str, ...]:
        """The first PREFIX_TERMS terms of a segment's field that start with a prefix, in order."""
        key = (segid, fieldname, prefix)
        cached = self._prefixes.get(key)
        if cached is None:
            cached = tuple(t.decode("utf-8") for t in itertools.islice(leaf.expand_prefix(fieldname, prefix),
                                                                       PREFIX_TERMS))
            if isinstance(leaf, MemorySegment):
                return cached  # an overlay of fresh documents lives for one snapshot only
            if len(self._prefixes) >= PREFIX_CACHE:
                self._prefixes.clear()
            self._prefixes[key] = cached
        return cached

    def _leaf_vocabulary(self, segid: str, leaf: Any, fieldname: str) -> frozenset[str]:
        if isinstance(leaf, MemorySegment):
            return leaf.vocabulary(fieldname)
        key = (segid, fieldname)
        if key not in self._vocab:
            self._vocab[key] = frozenset(t.decode("utf-8") for t in leaf.lexicon(fieldname))
        return self._vocab[key]


def in_sorted(values: list[str], value: str) -> bool:
    """Whether a sorted list holds a value (bisection)."""
    index = bisect.bisect_left(values, value)
    return index < len(values) and values[index] == value


def toc_generation(path: Path) -> int:
    """The newest committed generation of a Whoosh index directory (from its _MAIN_<n>.toc file names)."""
    gens = [int(m.group(1)) for m in map(TOC_RE.match, os.listdir(path)) if m]
    return max(gens, default=-1)


def _read_postings(leaf: Any, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    """All postings of a term in one segment, deleted documents included (the snapshot masks them)."""
    try:
        matcher = leaf.postings(fieldname, term)
    except TermNotFound:
        return EMPTY_IDS, EMPTY_TF
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        # Whole blocks at a time, decoded with numpy: the pinned codec stores (id deltas, weights, values) per block.
        ids_parts, weight_parts = [], []
        while matcher.is_active():
            matcher._read_data()
            deltas, weights = matcher._data[0], matcher._data[1]
            count = len(deltas)
            ids_parts.append(np.cumsum(np.array(deltas, dtype=np.int64)))
            if weights is None:
                weight_parts.append(np.ones(count, dtype=np.float32))
            elif isinstance(weights, float):
                weight_parts.append(np.full(count, weights, dtype=np.float32))
            else:
                weight_parts.append(np.array(weights, dtype=np.float32))
            matcher._next_block()
        if not ids_parts:
            return EMPTY_IDS, EMPTY_TF
        return np.concatenate(ids_parts), np.concatenate(weight_parts)
    ids: list[int] = []
    weights_list: list[float] = []
    while matcher.is_active():
        ids.append(matcher.id())
        weights_list.append(matcher.weight())
        matcher.next()
    return np.array(ids, dtype=np.int64), np.array(weights_list, dtype=np.float32)


class MemorySegment:
    """Documents held in memory with the read interface of a Whoosh segment (postings, stored fields, terms)."""

    _ids = itertools.count()

    def __init__(self, docs: list[IndexDoc]) -> None:
        self.segid = f"mem-{os.getpid()}-{next(self._ids)}"
        self.metas = [_whoosh_doc(doc)["meta"] for doc in docs]
        collected: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
        for docnum, doc in enumerate(docs):
            for fieldname in TEXT_FIELDS:
                for term, count in Counter(doc.terms.get(fieldname, ())).items():
                    ids, tf = collected.setdefault((fieldname, term), ([], []))
                    ids.append(docnum)
                    tf.append(count)
        self._postings = {k: (np.array(i, dtype=np.int64), np.array(t, dtype=np.float32))
                          for k, (i, t) in collected.items()}
        self._terms = {f: frozenset(t for (fn, t) in collected if fn == f) for f in TEXT_FIELDS}
        self.table = _SegmentTable(self)

    def segment_id(self) -> str:
        """Unique per segment, like a Whoosh segment id."""
        return self.segid

    def doc_count_all(self) -> int:
        """Documents in the segment."""
        return len(self.metas)

    def has_deletions(self) -> bool:
        """Memory segments are never changed, only replaced."""
        return False

    def stored_fields(self, docnum: int) -> dict[str, Any]:
        """The stored fields of a document, as Whoosh returns them."""
        return {"meta": self.metas[docnum]}

    def arrays(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers and term frequencies of a term."""
        return self._postings.get((fieldname, term), (EMPTY_IDS, EMPTY_TF))

    def vocabulary(self, fieldname: str) -> frozenset[str]:
        """Every term of a field."""
        return self._terms.get(fieldname, frozenset())

    def expand_prefix(self, fieldname: str, prefix: str) -> Iterator[bytes]:
        """Terms starting with a prefix, as bytes like Whoosh's reader."""
        return (t.encode("utf-8") for t in sorted(self.vocabulary(fieldname)) if t.startswith(prefix))


class _SegmentTable:
    """The stored attributes of one immutable segment as arrays (deletions are applied by the snapshot).

    Decoding a segment's stored documents is most of a fresh process's first search (9.8 s at 100,000 offers), so
    the indexer saves each segment's table once (`IndexStore.write_tables`) and readers map that file read-only:
    every worker shares the same pages of the page cache instead of holding its own copy.
    """

    def __init__(self, leaf: Any) -> None:
        metas = [leaf.stored_fields(i).get("meta") or {} for i in range(leaf.doc_count_all())]
        self.size = len(metas)
        self.sid = np.array([m.get("sid", -1) for m in metas], dtype=np.int64)
        keys = sorted({k for m in metas for k in m.get("attrs", {})})
        self.attrs = {k: np.array([m.get("attrs", {}).get(k, 0) for m in metas]) for k in keys}
        self.lengths = {f: np.array([m.get("len", {}).get(f, 0) for m in metas], dtype=np.float32) for f in TEXT_FIELDS}
        # Names as UTF-8 bytes: their byte order is the code point order of the strings, so numpy sorts them.
        self.name_bytes = np.array([m.get("name", "").encode("utf-8") for m in metas], dtype=bytes)
        # Each document's plain words as numbers into one vocabulary (a compact file, and typo hints for
        # anonymous callers can take the words of live public offers only).
        numbers: dict[str, int] = {}
        offsets, ids = [0], []
        for meta in metas:
            ids.extend(numbers.setdefault(word, len(numbers)) for word in meta.get("words", ()))
            offsets.append(len(ids))
        self.vocab = list(numbers)
        self.word_offsets = np.array(offsets, dtype=np.int64)
        self.word_ids = np.array(ids, dtype=np.int32)
        self.public = np.array([bool(m.get("attrs", {}).get("public")) for m in metas], dtype=bool)
        self.words: frozenset[str] = frozenset(self.vocab)
        sets: dict[str, dict[str, list[int]]] = {}
        points: dict[str, tuple[list[int], list[float], list[float]]] = {}
        for docnum, meta in enumerate(metas):
            for set_name, values in meta.get("sets", {}).items():
                members = sets.setdefault(set_name, {})
                for value in values:
                    members.setdefault(value, []).append(docnum)
            for variant, pts in meta.get("points", {}).items():
                docs, lats, lons = points.setdefault(variant, ([], [], []))
                for lat, lon in pts:
                    docs.append(docnum)
                    lats.append(lat)
                    lons.append(lon)
        self.sets = {s: {v: np.array(d, dtype=np.int64) for v, d in m.items()} for s, m in sets.items()}
        self.points = {v: (np.array(d, dtype=np.int64), np.array(a, dtype=np.float64), np.array(o, dtype=np.float64))
                       for v, (d, a, o) in points.items()}

    @property
    def names(self) -> list[str]:
        """Each document's name (its sort key)."""
        return [n.decode("utf-8") for n in self.name_bytes.tolist()]

    def public_words(self, alive: np.ndarray) -> list[str]:
        """The plain words of this segment's live public documents (`alive`: its slice of the snapshot's mask)."""
        keep = self.public & alive
        if not keep.any():
            return []
        entries = np.repeat(keep, np.diff(self.word_offsets))
        return [self.vocab[i] for i in np.unique(self.word_ids[entries]).tolist()]

    def _arrays(self) -> dict[str, np.ndarray]:
        """Every array of the table under a flat name (what `save` writes)."""
        arrays = {"sid": self.sid, "name_bytes": self.name_bytes, "word_offsets": self.word_offsets,
                  "word_ids": self.word_ids, "public": self.public}
        arrays |= {f"attrs/{k}": v for k, v in self.attrs.items()}
        arrays |= {f"lengths/{k}": v for k, v in self.lengths.items()}
        for set_name, members in self.sets.items():
            for number, docs in enumerate(members.values()):
                arrays[f"sets/{set_name}/{number}"] = docs
        for variant, columns in self.points.items():
            for number, column in enumerate(columns):
                arrays[f"points/{variant}/{number}"] = column
        return arrays

    def save(self, path: Path) -> None:
        """Write the table as one file of arrays for readers to map (atomically: a reader sees all of it or none).

        Layout: 8 bytes header length, a JSON header (array names, dtypes, shapes, offsets; vocabulary; set
        values), then the arrays, each at an offset divisible by 8.
        """
        arrays = self._arrays()
        placed, offset = {}, 0
        for key, array in arrays.items():
            placed[key] = [array.dtype.str, list(array.shape), offset]
            offset += -(-array.nbytes // 8) * 8
        header = json.dumps({"size": self.size, "arrays": placed, "vocab": self.vocab,
                             "sets": {s: list(m) for s, m in self.sets.items()}}).encode("utf-8")
        start = -(-(8 + len(header)) // 8) * 8
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as out:
            out.write(len(header).to_bytes(8, "little") + header)
            out.write(b"\0" * (start - 8 - len(header)))
            for key, array in arrays.items():
                out.seek(start + placed[key][2])
                out.write(np.ascontiguousarray(array).tobytes())
            out.truncate(start + offset)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> _SegmentTable | None:
        """The saved table mapped read-only (the page cache holds it once for all workers), or None when there is
        none or it cannot be read: then the reader decodes the segment."""
        try:
            with path.open("rb") as source:
                length = int.from_bytes(source.read(8), "little")
                if length > path.stat().st_size - 8:
                    return None
                header = json.loads(source.read(length))
            start = -(-(8 + length) // 8) * 8
            # A plain ndarray view of the mapping: np.memmap results run Python hooks on every numpy operation.
            raw = np.asarray(np.memmap(path, dtype=np.uint8, mode="r")) if path.stat().st_size > start \
                else np.zeros(0, np.uint8)
            arrays = {}
            for key, (dtype, shape, offset) in header["arrays"].items():
                kind = np.dtype(dtype)
                count = int(np.prod(shape)) if shape else 1
                arrays[key] = raw[start + offset:start + offset + count * kind.itemsize].view(kind).reshape(shape)
            table = cls.__new__(cls)
            table.size = header["size"]
            table.vocab = header["vocab"]
            for key in ("sid", "name_bytes", "word_offsets", "word_ids", "public"):
                setattr(table, key, arrays[key])
            table.attrs = _group(arrays, "attrs")
            table.lengths = _group(arrays, "lengths")
            table.sets = {s: {value: arrays[f"sets/{s}/{n}"] for n, value in enumerate(values)}
                          for s, values in header["sets"].items()}
            table.points = {v: tuple(arrays[f"points/{v}/{n}"] for n in range(3))
                            for v in {k.split("/")[1] for k in arrays if k.startswith("points/")}}
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None
        table.words = frozenset(table.vocab)
        return table


def _join(parts: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
    """The parts one after another; a single part as it is (no copy)."""
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else empty


def _group(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays saved under "<prefix>/<key>", by key."""
    return {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


class Snapshot:
    """An immutable read view of one index generation: documents as arrays, postings on demand."""

    def __init__(self, store: IndexStore, name: str, generation: int, leaves: list[tuple[str, Any, int]],
                 reader: Any = None, state: dict[str, Any] | None = None, hidden: Iterable[int] = (),
                 overlay: MemorySegment | None = None, base: Snapshot | None = None) -> None:
        self.verdict_cache: tuple[Any, Any] | None = None  # (freshness inputs, verdicts): ranking.Ranker.verdicts
        self.store = store
        self.name = name
        self.generation = generation
        self.reader = reader
        self.state = state
        self.leaves = leaves
        self.overlay = overlay
        # The snapshot this one lays fresh documents over: its term lists are reused (they are the expensive part).
        self.base = base
        tables = [store._table(segid, leaf, name) for segid, leaf, _base in self.leaves]
        self._tables = tables
        self.size = sum(t.size for t in tables)
        alive = [np.ones(t.size, dtype=bool) for t in tables]
        for mask, (_segid, leaf, _base) in zip(alive, self.leaves):
            if leaf.has_deletions():
                deleted = getattr(leaf, "deleted_docs_set", None)
                if deleted is None:
                    deleted = [d for d in range(len(mask)) if leaf.is_deleted(d)]
                mask[np.fromiter(deleted, dtype=np.int64, count=len(deleted))] = False
        self.alive = np.concatenate(alive) if alive else np.zeros(0, dtype=bool)
        # One segment's arrays are used as they are (mapped from its saved table, shared by the workers).
        self.sid = _join([t.sid for t in tables], EMPTY_IDS)
        hidden_ids = np.fromiter(hidden, dtype=np.int64)
        if len(hidden_ids):
            # Offers that changed since the index was written: their indexed documents are replaced by fresh ones.
            indexed = np.concatenate([np.full(t.size, leaf is not overlay)
                                      for t, (_s, leaf, _b) in zip(tables, self.leaves)])
            self.alive &= ~(indexed & np.isin(self.sid, hidden_ids))
        keys = sorted({k for t in tables for k in t.attrs})
        self.attrs = {k: _join([t.attrs.get(k, np.zeros(t.size)) for t in tables], EMPTY_TF) for k in keys}
        self.lengths = {f: _join([t.lengths[f] for t in tables], EMPTY_TF) for f in TEXT_FIELDS}
        live_count = int(self.alive.sum())
        self.avg_length = {f: float(self.lengths[f][self.alive].mean()) if live_count else 1.0 for f in TEXT_FIELDS}
        bases = [base for _segid, _leaf, base in self.leaves]
        collected: dict[str, dict[str, list[np.ndarray]]] = {}
        for table, base in zip(tables, bases):
            for set_name, members in table.sets.items():
                target = collected.setdefault(set_name, {})
                for value, docs in members.items():
                    target.setdefault(value, []).append(docs + base if base else docs)
        self.sets: dict[str, dict[str, np.ndarray]] = {
            s: {v: _join(parts, EMPTY_IDS) for v, parts in m.items()} for s, m in collected.items()}
        variants = {v for t in tables for v in t.points}
        self.points: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for variant in variants:
            pieces = [(t.points[variant][0] + base if base else t.points[variant][0], t.points[variant][1],
                       t.points[variant][2]) for t, base in zip(tables, bases) if variant in t.points]
            self.points[variant] = tuple(_join([p[i] for p in pieces], EMPTY_TF) for i in range(3))  # type: ignore[assignment]
        self._prefix_cache: dict[tuple[str, str], list[str]] = {}
        self._vocabulary: dict[str, list[str]] = {}
        self._by_sid: dict[int, int] | None = None
        self._name_rank: np.ndarray | None = None
        self._leaf_counts: dict[frozenset[str], np.ndarray] = {}

    def leaf_counts(self, leaves: frozenset[str]) -> np.ndarray:
        """How many of the categories `leaves` each document has (its own, not the parent areas); kept per snapshot."""
        counts = self._leaf_counts.get(leaves)
        if counts is None:
            members = [docs for slug, docs in self.sets.get("category", {}).items() if slug in leaves]
            every = np.concatenate(members) if members else EMPTY_IDS
            counts = self._leaf_counts[leaves] = np.bincount(every, minlength=self.size)[:self.size]
        return counts

    def with_changes(self, docs: list[IndexDoc], changed: Iterable[int]) -> Snapshot:
        """This view with the given offers replaced by fresh documents (offers without a document are gone)."""
        segment = MemorySegment(docs)
        base = [leaf for leaf in self.leaves if leaf[1] is not self.overlay]
        size = sum(self.store._table(segid, leaf, self.name).size for segid, leaf, _base in base)
        return Snapshot(self.store, self.name, self.generation, base + [(segment.segid, segment, size)],
                        reader=self.reader, state=self.state, hidden=changed, overlay=segment,
                        base=self.base or self)

    @property
    def live_count(self) -> int:
        """Documents that are not deleted."""
        return int(self.alive.sum())

    def postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers and term frequencies of a term (deleted documents included: mask with `alive`)."""
        parts_ids, parts_tf = [], []
        with self.store._mutex:
            for segid, leaf, base in self.leaves:
                ids, tf = self.store._leaf_postings(segid, leaf, fieldname, term)
                if len(ids):
                    parts_ids.append(ids + base if base else ids)
                    parts_tf.append(tf)
        if not parts_ids:
            return EMPTY_IDS, EMPTY_TF
        if len(parts_ids) == 1:
            return parts_ids[0], parts_tf[0]
        return np.concatenate(parts_ids), np.concatenate(parts_tf)

    def expand_prefix(self, fieldname: str, prefix: str, limit: int = 200) -> list[str]:
        """Terms of a field that start with a prefix (at most `limit`); "words" is the plain-word vocabulary."""
        key = (fieldname, prefix)
        if self.base is not None and self.overlay is not None and fieldname != "words":
            fresh = {t for t in self.overlay.vocabulary(fieldname) if t.startswith(prefix)}
            return sorted(set(self.base.expand_prefix(fieldname, prefix, limit)) | fresh)[:limit]
        if fieldname == "words":
            vocabulary = self.vocabulary("words")
            start = bisect.bisect_left(vocabulary, prefix)
            return list(itertools.takewhile(lambda w: w.startswith(prefix), vocabulary[start:start + limit]))
        if key not in self._prefix_cache:
            found: set[str] = set()
            with self.store._mutex:
                for segid, leaf, _base in self.leaves:
                    found.update(self.store._leaf_prefix(segid, leaf, fieldname, prefix))
            if len(self._prefix_cache) > 5000:
                self._prefix_cache.clear()
            self._prefix_cache[key] = sorted(found)[:PREFIX_TERMS]
        return self._prefix_cache[key][:limit]

    def vocabulary(self, fieldname: str) -> list[str]:
        """Every term of a field, sorted; "words" gives the plain words of all documents (typos, suggestions),
        "public_words" those of live public offers (what anonymous callers' hints may come from)."""
        if fieldname not in self._vocabulary and self.base is not None and self.overlay is not None:
            known = self.base.vocabulary(fieldname)
            extra = self.overlay.table.words if fieldname == "words" else self.overlay.vocabulary(fieldname)
            new = sorted(w for w in extra if not in_sorted(known, w))
            self._vocabulary[fieldname] = list(heapq.merge(known, new)) if new else known
        if fieldname not in self._vocabulary:
            terms: set[str] = set()
            if fieldname == "words":
                terms = set().union(*(t.words for t in self._tables))
            elif fieldname == "public_words":
                bases = [base for _segid, _leaf, base in self.leaves]
                for table, base in zip(self._tables, bases):
                    terms.update(table.public_words(self.alive[base:base + table.size]))
            else:
                with self.store._mutex:
                    for segid, leaf, _base in self.leaves:
                        terms |= self.store._leaf_vocabulary(segid, leaf, fieldname)
            self._vocabulary[fieldname] = sorted(terms)
        return self._vocabulary[fieldname]

    def sids_with_words(self, words: Iterable[str]) -> dict[str, int]:
        """For each plain word ("words" vocabulary), one live offer that holds it; words no offer holds stay out."""
        wanted, found = set(words), {}
        for table, (_segid, _leaf, base) in zip(self._tables, self.leaves):
            for word in [w for w in wanted if w in table.words and w not in found]:
                entries = np.flatnonzero(table.word_ids == table.vocab.index(word))
                docs = np.searchsorted(table.word_offsets, entries, side="right") - 1
                live = [d for d in docs.tolist() if self.alive[base + d]]
                if live:
                    found[word] = int(self.sid[base + live[0]])
        return found

    def doc_for_sid(self, sid: int) -> int | None:
        """The live document number of an offer."""
        if self._by_sid is None:
            live = np.flatnonzero(self.alive)
            self._by_sid = dict(zip(self.sid[live].tolist(), live.tolist()))
        return self._by_sid.get(sid)

    def live_sids(self) -> np.ndarray:
        """Offer ids of every live document."""
        return self.sid[self.alive]

    @property
    def names(self) -> list[str]:
        """Each document's name (its sort key)."""
        return [n for t in self._tables for n in t.names]

    def name_rank(self) -> np.ndarray:
        """Each document's position in name order (computed on first use)."""
        if self._name_rank is None:
            names = _join([t.name_bytes for t in self._tables], np.zeros(0, dtype="S1"))
            order = np.argsort(names, kind="stable")  # UTF-8 byte order is the names' code point order
            rank = np.empty(self.size, dtype=np.int64)
            rank[np.array(order, dtype=np.int64)] = np.arange(self.size)
            self._name_rank = rank
        return self._name_rank
