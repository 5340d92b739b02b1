"""Search: German full-text and nearby search over a Whoosh index that follows the database.

`sync(session)` brings the index up to date after a commit (searches also do it by themselves);
`flask --app atlas reindex` rebuilds it from scratch.
"""

from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import with_appcontext

from ..cli import _require_schema
from ..db import get_session
from . import models  # noqa: F401  (registers the tables)
from .sync import init_keeper, keeper, sync
from .views import bp

__all__ = ["bp", "init_app", "sync"]


@click.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild the search index from the database (searches go on meanwhile on the old one)."""
    _require_schema()
    started = time.perf_counter()
    try:
        count = keeper().rebuild(get_session())
    except TimeoutError as exc:
        raise click.ClickException(f"Search index not rebuilt: {exc}.") from None
    except OSError as exc:
        raise click.ClickException(f"Search index not rebuilt: {keeper().store.root} is not writable ({exc}).") from None
    click.echo(f"Search index rebuilt: {count} offers in {time.perf_counter() - started:.1f} s "
               f"({keeper().store.root}).")


def init_app(app: Flask) -> None:
    """Create the index keeper and register the CLI command; no files are touched until the first search."""
    init_keeper(app)
    app.cli.add_command(reindex_command)
