"""Commands: check-links (by hand or from cron), scheduler (the checker's own process), link-digest."""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ..cli import _database_error, _require_schema
from ..db import get_session
from .. import validity
from . import workers
from .digest import DigestError, build_digests, render, send_digests
from .process import exec_scheduler
from .runner import Runner


class _Progress:
    """A click progress bar whose length is known only once the run has selected its links."""

    def __init__(self) -> None:
        self.bar: Any = None

    def start(self, total: int) -> None:
        click.echo(f"{total} link(s) to check.", err=True)
        if total:
            self.bar = click.progressbar(length=total, label="Checking links", file=sys.stderr, show_pos=True)
            self.bar.__enter__()

    def step(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.command("check-links")
@with_appcontext
@click.option("--due", "mode", flag_value="due", default=True, help="Check links that are due (default).")
@click.option("--all", "mode", flag_value="all", help="Check every link now.")
@click.option("--new", "mode", flag_value="new", help="Only links from recently saved entries not checked yet.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Check at most N links.")
def check_links_command(mode: str, limit: int | None) -> None:
    """Find the URLs in all entries and check them; Ctrl+C stops cleanly and keeps what was checked."""
    _require_schema()
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    progress = _Progress()
    started = time.monotonic()
    session = get_session()
    try:
        with workers.started(current_app.config):
            run = Runner(session, current_app.config, stop=stop, progress=progress.step,
                         progress_total=progress.start).run(mode, limit=limit)
    except SQLAlchemyError as exc:
        raise _database_error(exc) from None
    finally:
        progress.close()
        signal.signal(signal.SIGINT, previous)
    counts = ", ".join(f"{state} {n}" for state, n in sorted(run.counts.items())) or "nothing"
    click.echo(f"Run {run.id} ({run.kind}, {run.status}): {run.checked} link(s) checked in "
               f"{time.monotonic() - started:.1f} s: {counts}. New links found: {run.new_links}.")


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the link checker's schedule until Ctrl+C or SIGTERM (one at a time, without the web stack)."""
    _require_schema()
    exec_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]


@click.command("link-digest")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Print the e-mails instead of sending them.")
def link_digest_command(dry_run: bool) -> None:
    """E-mail each owner their review queue: links, reports, overdue and stale entries, offers ending soon."""
    _require_schema()
    session = get_session()
    config = current_app.config
    if dry_run:
        today = validity.today()
        digests = build_digests(session, config, today)
        for digest in digests:
            message = render(digest, config, today)
            click.echo(f"To: {message['To']}\nSubject: {message['Subject']}\n\n{message.get_content()}\n")
        click.echo(f"{len(digests)} e-mail(s) would be sent.")
        return
    try:
        sent = send_digests(session, config, validity.today())
    except DigestError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{sent} e-mail(s) sent.")


COMMANDS = (check_links_command, scheduler_command, link_digest_command)
