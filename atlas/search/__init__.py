"""Search: German full-text and nearby search over a Whoosh index that follows the database.

`flask --app atlas indexer` is the one process that writes the index (it follows the database continuously);
`flask --app atlas reindex` rebuilds it from scratch; `sync(session)` writes pending changes at once.
Web workers only read (see atlas.search.sync).
"""

from __future__ import annotations

import signal
import threading
import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..cli import _require_schema
from ..db import get_session
from ..priority import lower_session_priority, lower_thread_priority
from . import language, models  # noqa: F401  (models registers the tables)
from .sync import init_keeper, keeper, run_indexer, sync
from .views import bp

__all__ = ["bp", "build_at_setup", "init_app", "sync"]


@click.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild the search index from the database (searches go on meanwhile on the old one)."""
    _require_schema()
    started = time.perf_counter()
    try:
        count = keeper().rebuild(get_session())
        keeper().write_tables()
    except TimeoutError as exc:
        raise click.ClickException(f"Search index not rebuilt: {exc}.") from None
    except OSError as exc:
        raise click.ClickException(f"Search index not rebuilt: {keeper().store.root} is not writable ({exc}).") from None
    click.echo(f"Search index rebuilt: {count} offers in {time.perf_counter() - started:.1f} s "
               f"({keeper().store.root}).")


@click.command("indexer")
@click.option("--once", is_flag=True, help="Catch up once and exit instead of following the database.")
@with_appcontext
def indexer_command(once: bool) -> None:
    """Follow the database and keep the search index up to date (run exactly one per machine, beside the web server)."""
    _require_schema()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        count = keeper().sync(get_session())
        click.echo(f"Search index up to date: {count} offers written ({keeper().store.root}).")
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stop.set())
    nice = lower_thread_priority(int(app.config["INDEXER_NICE"]))  # 0 or less leaves the priority as it is
    session = lower_session_priority(int(app.config["INDEXER_NICE"]))  # a service leads a session of its own
    session_note = "" if session is None else f", its session {session}"
    click.echo(f"Search indexer follows the database ({keeper().store.root}, CPU priority nice {nice}"
               f"{session_note}); stop with Ctrl+C.")
    run_indexer(app, stop)


def build_at_setup() -> str:
    """Build the index after init-db or seed so the first search already finds it (the indexer keeps it fresh)."""
    try:
        count = keeper().sync(get_session())
    except (OSError, TimeoutError) as exc:
        return f"Search index not updated ({exc}); the indexer will do it."
    return f"Search index up to date ({count} offers written)."


def init_app(app: Flask) -> None:
    """Create the index keeper and register the CLI commands; no files are touched here."""
    init_keeper(app)
    app.jinja_env.globals["crisis_numbers"] = lambda found: found.numbers(app.config["CRISIS_NUMBERS"])
    app.jinja_env.globals.update(query_languages=language.query_languages, native_results=language.NATIVE,
                                 right_to_left=language.RIGHT_TO_LEFT, wished_language_names=language.wished_names)
    app.cli.add_command(reindex_command)
    app.cli.add_command(indexer_command)
