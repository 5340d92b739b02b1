"""Single-instance guards: an exclusive file lock per instance folder, and a database lease across machines."""

from __future__ import annotations

import fcntl
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import CheckerLease

LEASE = "scheduler"


class AlreadyRunning(RuntimeError):
    """Another scheduler process holds the lock."""


class ProcessLock:
    """fcntl.flock on a file: held until the process exits (the OS releases it even after a crash)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while the lock is held
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise AlreadyRunning(holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def hold(session: Session, holder: str, now: datetime, seconds: float, name: str = LEASE) -> bool:
    """Take or renew the lease for `holder`; False while another holder's lease has not expired. Commits."""
    until = now + timedelta(seconds=seconds)
    result = session.execute(update(CheckerLease).where(
        CheckerLease.name == name, or_(CheckerLease.holder == holder, CheckerLease.expires_at < now))
        .values(holder=holder, expires_at=until))
    if result.rowcount:
        session.commit()
        return True
    if session.get(CheckerLease, name) is not None:
        session.rollback()
        return False
    session.add(CheckerLease(name=name, holder=holder, expires_at=until))
    try:
        session.commit()
    except IntegrityError:  # another process inserted it first
        session.rollback()
        return False
    return True


def release(session: Session, holder: str, now: datetime, name: str = LEASE) -> None:
    """Give the lease up so a standby scheduler can take over at once. Commits."""
    session.execute(update(CheckerLease).where(CheckerLease.name == name, CheckerLease.holder == holder)
                    .values(expires_at=now))
    session.commit()
