"""Presented offers shared by the web processes of one machine: a small SQLite file beside the search index.

Each web worker keeps the views it built in memory (atlas.search.service.ViewCache). Without a shared store,
four workers built every view four times, and a worker that gunicorn replaced (max_requests) began with none:
a page of 20 views the worker had not built yet cost 8-10 ms of CPU, against under a millisecond read from here.
The file is a cache, never the source of anything: entries are keyed by the offer's versions like the memory
cache (and by the code's fingerprint), expire after the same VIEW_TTL, and any error (a full disk, a locked or broken file) only means the view
is built again. Only JSON is stored (orjson), never pickled objects.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)

# Seconds a reader or writer waits for another process's write; a store that is busy longer is skipped.
BUSY_SECONDS = 0.05
# Seconds between two sweeps of expired entries by one process.
SWEEP_SECONDS = 30.0
SCHEMA = "CREATE TABLE IF NOT EXISTS view (key TEXT PRIMARY KEY, built REAL NOT NULL, value BLOB NOT NULL)"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of the atlas package's code and translations: views are stored under it, so an upgrade that
    changes how offers are presented never serves views the old code built (they expire unread)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".mo") and p.is_file()):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def path_for(index_root: Path) -> Path:
    """Where the machine's view store lives: beside the search index (one per machine, like the index)."""
    return index_root.parent / f"{index_root.name}-views.sqlite"


class ViewStore:
    """Views by key for every process on this machine; entries older than `ttl` seconds are not returned."""

    def __init__(self, path: Path, ttl: float) -> None:
        self.path, self.ttl = Path(path), ttl
        self._local = threading.local()
        self._swept = 0.0
        self.broken = False
        self.clock = time.time  # wall-clock seconds: entries are shared between processes

    def _db(self) -> sqlite3.Connection | None:
        """This thread's connection (a forked worker opens its own: connections must not cross a fork)."""
        found = getattr(self._local, "conn", None)
        if found is not None and found[0] == os.getpid():
            return found[1]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            # A cache: losing the last writes at a power cut costs nothing, waiting for the disk on each would.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(SCHEMA)
        except (sqlite3.OperationalError, OSError) as exc:  # cannot open or create it (permissions, a full disk)
            log.warning("view store %s cannot be used (%s); each process builds its own views", self.path, exc)
            self.broken = True
            return None
        except sqlite3.DatabaseError as exc:  # a file that is no database: started again
            self._failed("open", exc)
            return None
        self._local.conn = (os.getpid(), conn)
        return conn

    def get_many(self, keys: Iterable[str]) -> dict[str, tuple[Any, float]]:
        """Stored views by key with their age in seconds; missing, expired or unreadable ones are left out."""
        wanted = list(keys)
        if not wanted or self.broken:
            return {}
        oldest = self.clock() - self.ttl
        db = self._db()
        if db is None:
            return {}
        try:
            rows = db.execute(
                f"SELECT key, built, value FROM view WHERE built > ? AND key IN ({','.join('?' * len(wanted))})",
                (oldest, *wanted)).fetchall()
        except sqlite3.Error as exc:
            self._failed("read", exc)
            return {}
        now = self.clock()
        found = {}
        for key, built, value in rows:
            try:
                found[key] = (tuple(orjson.loads(value)), max(0.0, now - built))
            except orjson.JSONDecodeError:
                continue
        return found

    def put_many(self, items: dict[str, Any]) -> None:
        """Store views (tuples of JSON data) under their keys; a busy or broken store is skipped."""
        if not items or self.broken:
            return
        db = self._db()
        if db is None:
            return
        now = self.clock()
        try:
            rows = [(key, now, orjson.dumps(value)) for key, value in items.items()]
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR REPLACE INTO view (key, built, value) VALUES (?, ?, ?)", rows)
                if now - self._swept > SWEEP_SECONDS:
                    self._swept = now
                    db.execute("DELETE FROM view WHERE built < ?", (now - self.ttl,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except (sqlite3.Error, TypeError) as exc:
            self._failed("write", exc)

    def _failed(self, action: str, exc: Exception) -> None:
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
            return  # another process is writing: this view is built (or stored) next time
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            # A broken file (not a cache entry): start again with an empty one.
            log.warning("view store %s unreadable (%s); starting it again", self.path, exc)
            self._reset()
            return
        log.info("view store %s: %s failed (%s); building views instead", self.path, action, exc)

    def _reset(self) -> None:
        found = getattr(self._local, "conn", None)
        if found is not None:
            found[1].close()
            self._local.conn = None
        try:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        except OSError:
            self.broken = True
