"""Backups: `flask --app atlas backup PATH` and `restore PATH` (SQLite online backup, PostgreSQL pg_dump).

A backup is written to PATH.partial and renamed when complete, so a failed backup leaves no half file; a restore
checks the backup's schema first and is all-or-nothing, then rebuilds the search index.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from . import schema
from .cli import _database_error
from .db import get_engine, get_session, ping
from .search.sync import keeper

SQLITE_MAGIC = b"SQLite format 3\0"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(click.ClickException):
    """A backup or restore that cannot be done; nothing was changed."""


def _reachable(engine: Engine) -> str | None:
    """Ping the database and return its schema revision (one clear line when it cannot be reached)."""
    try:
        ping(engine)
        return schema.current_revision(engine)
    except SQLAlchemyError as exc:
        raise _database_error(exc) from None


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it (not visible in ps)."""
    env = os.environ.copy()
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    """The path of pg_dump/pg_restore, or a clear message how to get it."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found: install the PostgreSQL client tools of your server's version "
                          "(Debian: apt-get install postgresql-client) and try again.")
    return path


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()] or [f"exit code {result.returncode}"]
        raise BackupError(f"{what} failed: {lines[0].removeprefix(Path(args[0]).name + ': ')}")
    return result


def _discard(partial: Path) -> None:
    """Remove a half-written backup (a read-only folder has none to remove)."""
    try:
        partial.unlink(missing_ok=True)
    except OSError:
        pass


def _write_error(path: Path, exc: BaseException) -> BackupError:
    reason = getattr(exc, "strerror", None) or str(exc)
    if "full" in reason.lower() or getattr(exc, "errno", None) == 28:
        reason = "the disk is full"
    return BackupError(f"Cannot write the backup {path}: {reason}. Nothing was written.")


def backup_sqlite(engine: Engine, partial: Path) -> None:
    """Copy the live SQLite database page by page (consistent even while the atlas writes)."""
    source = sqlite3.connect(engine.url.database, timeout=15)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            target.close()
    finally:
        source.close()


def backup_postgres(engine: Engine, partial: Path) -> None:
    """pg_dump in its custom format (compressed; pg_restore can restore it into an empty database)."""
    uri, env = _libpq(engine.url)
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}", uri], env,
         "pg_dump")


def backup(engine: Engine, path: Path) -> str:
    """Write a backup of the database to path (atomically); returns its schema revision."""
    revision = _reachable(engine)
    if revision is None:
        raise BackupError("The database is empty (no schema): there is nothing to back up.")
    if path.is_dir():
        raise BackupError(f"{path} is a folder; give a file name, e.g. {path / 'atlas-backup.db'}.")
    partial = path.with_name(path.name + ".partial")
    try:
        _discard(partial)
        if engine.dialect.name == "sqlite":
            backup_sqlite(engine, partial)
        elif engine.dialect.name == "postgresql":
            backup_postgres(engine, partial)
        else:
            raise BackupError(f"Backups of {engine.dialect.name} databases are not supported; use its own tools.")
        partial.replace(path)
    except (OSError, sqlite3.Error) as exc:
        _discard(partial)
        raise _write_error(path, exc) from None
    except BackupError:
        _discard(partial)
        raise
    return revision


def backup_kind(path: Path) -> str:
    """"sqlite" or "pg_dump" by the file's first bytes."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise BackupError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "pg_dump"
    raise BackupError(f"{path} is not an atlas backup (neither an SQLite database nor a pg_dump file).")


def backup_revision(path: Path, kind: str) -> str:
    """The schema revision stored inside a backup file."""
    if kind == "sqlite":
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise BackupError(f"{path} is not a readable atlas backup: {exc}.") from None
    else:
        out = _run([_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)],
                   os.environ.copy(), "Reading the backup").stdout
        match = re.search(r"^COPY \S*alembic_version .*?;\n(\S+)\n", out, re.M)
        row = (match[1],) if match else None
    if not row:
        raise BackupError(f"{path} holds no atlas schema revision; it is not an atlas backup.")
    return row[0]


def check_known(revision: str) -> None:
    """Refuse backups made by a newer atlas (a schema this code cannot read)."""
    script = ScriptDirectory.from_config(schema.alembic_config())
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(f"The backup has schema revision {revision}, which this atlas does not know (it knows "
                          f"up to {schema.head_revision()}): it comes from a newer atlas; upgrade atlas first. "
                          "Nothing was changed.")


def restore_sqlite(engine: Engine, path: Path) -> None:
    """Copy the backup into the live database in one transaction (others see old or new, never half)."""
    engine.dispose()
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(engine.url.database, timeout=15)
        try:
            source.backup(target)
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise BackupError(f"Cannot restore into {engine.url.database}: {exc}. Nothing was changed.") from None
    finally:
        source.close()


def restore_postgres(engine: Engine, path: Path) -> None:
    """pg_restore in a single transaction: on any error the database stays as it was."""
    engine.dispose()
    uri, env = _libpq(engine.url)
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", f"--dbname={uri}", str(path)], env, "pg_restore (nothing was changed)")


def restore(engine: Engine, path: Path, replace: bool) -> str:
    """Replace the database with a backup; returns the backup's schema revision."""
    kind = backup_kind(path)
    dialect = engine.dialect.name
    if (kind, dialect) not in (("sqlite", "sqlite"), ("pg_dump", "postgresql")):
        raise BackupError(f"{path} is a {'SQLite' if kind == 'sqlite' else 'PostgreSQL'} backup, but DATABASE_URL "
                          f"points at {dialect}: restore it into a database of the same kind.")
    revision = backup_revision(path, kind)
    check_known(revision)
    if _reachable(engine) is not None and not replace:
        raise BackupError("The database already holds an atlas; add --replace to overwrite it with the backup "
                          "(make a backup of it first).")
    (restore_sqlite if kind == "sqlite" else restore_postgres)(engine, path)
    return revision


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=True, path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent backup of the database to PATH (SQLite: online backup; PostgreSQL: pg_dump)."""
    revision = backup(get_engine(), path)
    click.echo(f"Backup written to {path} ({path.stat().st_size // 1024} KiB, schema revision {revision}).")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a database that already holds an atlas.")
def restore_command(path: Path, replace: bool) -> None:
    """Restore a backup made by `backup`, upgrade its schema if older, and rebuild the search index."""
    engine = get_engine()
    revision = restore(engine, path, replace)
    if revision != schema.head_revision():
        schema.upgrade(engine)
        click.echo(f"Schema upgraded from {revision} to {schema.head_revision()}.")
    try:
        count = keeper().rebuild(get_session())
    except (OSError, TimeoutError) as exc:
        raise click.ClickException(f"Restored, but the search index was not rebuilt ({exc}): "
                                   "run 'flask --app atlas reindex'.") from None
    click.echo(f"Restored {path} (schema revision {revision}); search index rebuilt with {count} offers.")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
