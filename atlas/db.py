"""Database engine and the per-app-context SQLAlchemy session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql import Executable

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations get stable constraint names."""

    metadata = MetaData(naming_convention=NAMING)


class ConfigError(click.ClickException):
    """Configuration that cannot work; the CLI prints just the message and exits with 1."""


def database_url(app: Flask) -> str:
    """Return the configured database URL, defaulting to SQLite in the instance folder."""
    url = app.config.get("DATABASE_URL") or f"sqlite:///{app.instance_path}/atlas.sqlite"
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is not a valid SQLAlchemy URL: {url!r}") from exc
    if parsed.drivername == "postgresql":
        # psycopg 3 is the supported driver; plain postgresql:// would ask for psycopg2.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


# Seconds a SQLite connection waits for the file's write lock before "database is locked".
SQLITE_BUSY_SECONDS = 15


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "begin", _note_begin)
        event.listen(engine, "before_cursor_execute", _note_statement)
        return engine
    except (ImportError, ArgumentError, NoSuchModuleError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        raise ConfigError(f"DATABASE_URL {shown} cannot be used ({exc}); atlas supports sqlite:/// and "
                          "postgresql:// URLs.") from None


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


WROTE = "atlas.wrote"


def _note_begin(conn: Connection) -> None:
    conn.info[WROTE] = False


def _note_statement(conn: Connection, _cursor, statement: str, *_args) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        conn.info[WROTE] = True  # anything but a plain SELECT counts as a write, so doubt ends in ROLLBACK


def read_only(session: Session) -> bool:
    """True when the session's open transaction has run SELECTs only and holds no unflushed changes."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    try:
        connection = session.connection()
    except SQLAlchemyError:  # a failed flush the page caught: only a rollback ends that transaction
        return False
    return not connection.info.get(WROTE, True)


def init_app(app: Flask) -> None:
    """Create the engine lazily-configured session factory and register the teardown."""
    engine = make_engine(database_url(app))
    app.extensions["atlas.engine"] = engine
    app.extensions["atlas.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(close_session)


def get_engine() -> Engine:
    """Return the current app's engine."""
    return current_app.extensions["atlas.engine"]


def get_session() -> Session:
    """Return the session for the current app context, creating it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["atlas.sessionmaker"]()
    return g.db_session


def close_session(exc: BaseException | None = None) -> None:
    """Close the app context's session, rolling back anything uncommitted."""
    session = g.pop("db_session", None)
    if session is None:
        return
    if exc is None and session.get_bind().dialect.name == "postgresql" and read_only(session):
        # psycopg drops every prepared statement of a connection at ROLLBACK (and sends DEALLOCATE ALL), so ending
        # each page's reads that way made PostgreSQL plan every statement anew: planning the offer versions' query
        # took 0.54 of its 0.74 ms. COMMIT ends a read-only transaction just as well and keeps the plans.
        try:
            session.commit()
        except SQLAlchemyError:
            pass  # a lost connection: closing below discards it, and the page has been answered
    session.close()


# Tables a bulk import fills; PostgreSQL plans badly on them until it has statistics (autovacuum comes late).
BULK_TABLES = ("organization", "service", "location", "address", "service_at_location", "service_taxonomy",
               "service_jobcenter", "phone", "contact", "schedule", "review_task", "audit_log")
BULK_ROWS = 200


def analyze_after_bulk(session: Session, rows: int) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk change of `rows` rows (in the caller's transaction)."""
    if rows >= BULK_ROWS and session.get_bind().dialect.name == "postgresql":
        for table in BULK_TABLES:
            session.execute(text(f'ANALYZE "{table}"'))


@contextmanager
def brief_wait(engine: Engine, wait_ms: int = 200) -> Iterator[Connection]:
    """A connection whose writes wait at most `wait_ms` for a lock, then fail with OperationalError.

    For bookkeeping a page view does on the side (a session's last-seen time, a token's last use, a search without
    hits): on SQLite a bulk import holds the only write lock for its whole commit, and such a page waited 15 s for
    it and then failed with a 500. The caller commits, or catches OperationalError and goes on without the write;
    what it did not commit is rolled back.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_ms)}" if sqlite
                             else f"SET lock_timeout = '{int(wait_ms)}ms'")
        conn.commit()  # no transaction open: a Session bound to the connection begins and commits its own
        try:
            yield conn
        finally:
            conn.rollback()
            # The connection goes back to the pool: later users wait as long as ever.
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_SECONDS * 1000}" if sqlite
                                 else "RESET lock_timeout")
            conn.commit()


def try_write(engine: Engine, statement: Executable) -> bool:
    """Run one bookkeeping write if the database is free within a moment (see brief_wait); False when it was busy."""
    try:
        with brief_wait(engine) as conn:
            conn.execute(statement)
            conn.commit()
    except OperationalError:
        return False
    return True


def ping(engine: Engine) -> None:
    """Run a trivial query; raises if the database cannot be reached."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
