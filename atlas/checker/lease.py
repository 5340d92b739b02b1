"""Single-instance guards: an exclusive file lock per instance folder, and a database lease across machines.

Lease holders (and check runs) are recorded as "host:pid[:nonce]", so a process can tell whether a holder
ran on its own machine and, with the lock file, whether that process is gone.
"""

from __future__ import annotations

import fcntl
import os
import socket
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
        # The pid the file named when we took the lock: that process no longer holds it, so it has ended.
        self.previous: int | None = None

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
        text = handle.read().strip()
        self.previous = int(text) if text.isdigit() else None
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


def parse_holder(holder: str) -> tuple[str, int | None]:
    """(host, pid) of a "host:pid[:nonce]" holder; pid None when it cannot be read."""
    parts = holder.split(":")
    pid = parts[1] if len(parts) > 1 else ""
    return parts[0], int(pid) if pid.isdigit() else None


def process_of(holder: str) -> str:
    """The "host:pid" part of a holder (how check runs name their process)."""
    return ":".join(holder.split(":")[:2])


def alive_here(pid: int) -> bool:
    """True when a process with this pid runs on this machine (a zombie counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def gone(holder: str, ended_pid: int | None) -> bool:
    """True when the holder's process ran on this machine and has ended (lock file or pid)."""
    host, pid = parse_holder(holder)
    if host != socket.gethostname() or pid is None:
        return False
    return pid == ended_pid or not alive_here(pid)


def holder_of(session: Session, name: str = LEASE) -> tuple[str, datetime] | None:
    """The current (holder, expires_at) of the lease, if any."""
    row = session.get(CheckerLease, name)
    return (row.holder, row.expires_at) if row is not None else None


def take_over(session: Session, holder: str, previous: str, now: datetime, seconds: float,
              name: str = LEASE) -> bool:
    """Take the lease from a holder known to be gone, without waiting for it to expire. Commits."""
    result = session.execute(
        update(CheckerLease).where(CheckerLease.name == name, CheckerLease.holder == previous)
        .values(holder=holder, expires_at=now + timedelta(seconds=seconds)))
    session.commit()
    return bool(result.rowcount)
