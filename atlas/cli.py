"""Command-line interface: flask --app atlas init-db | seed | create-user | create-token | tokens | reset-password | geocode."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from . import schema, vocab
from .audit import set_actor
from .auth import UserError, create_token, create_user, hash_password
from .db import get_engine, get_session, ping
from .geocoding import GeocodingError, geocode_location
from .models import Location, User
from .seed import SEEDS, SeedError, seed


def _database_error(exc: SQLAlchemyError) -> click.ClickException:
    """Turn a database failure into one clear line (no traceback, no password)."""
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(getattr(exc, "orig", exc)).strip() else type(exc).__name__
    url = get_engine().url.render_as_string(hide_password=True)
    if isinstance(exc, OperationalError):
        return click.ClickException(f"The database at {url} cannot be reached: {reason}")
    return click.ClickException(f"Database error at {url}: {reason}")


def _require_schema() -> None:
    """Refuse to work on a database whose schema is missing or outdated."""
    try:
        current = schema.current_revision(get_engine())
    except SQLAlchemyError as exc:
        raise _database_error(exc) from None
    if current != schema.head_revision():
        raise click.ClickException(
            f"The database schema is at {current or 'nothing'}, the code needs {schema.head_revision()}: "
            "run 'flask --app atlas init-db' first."
        )


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the database schema, or upgrade it to the newest version."""
    engine = get_engine()
    try:
        ping(engine)
        before = schema.current_revision(engine)
        schema.upgrade(engine)
    except SQLAlchemyError as exc:
        raise _database_error(exc) from None
    after = schema.current_revision(engine)
    if before == after:
        click.echo(f"Schema is up to date (revision {after}).")
    else:
        click.echo(f"Schema {'created' if before is None else 'upgraded from ' + before} at revision {after}.")
    _build_search_index()


@click.command("seed")
@with_appcontext
@click.option("--path", "seeds_dir", type=click.Path(file_okay=False, path_type=Path), default=SEEDS,
              show_default=True, help="Folder with taxonomy.json, regions.json, users.json and demo/*.json.")
@click.option("--no-demo", is_flag=True, help="Load only taxonomy, regions and users, not the demo offers.")
def seed_command(seeds_dir: Path, no_demo: bool) -> None:
    """Load the category taxonomy, regions and demo data; running it twice changes nothing."""
    _require_schema()
    session = get_session()
    try:
        report = seed(session, seeds_dir, demo=not no_demo)
        session.commit()
    except SeedError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        session.rollback()
        raise _database_error(exc) from None
    click.echo(f"Seed loaded: {report.summary()}.")
    _build_search_index()


def _build_search_index() -> None:
    """The first search index is built at set-up, not by a request (imported late: search imports this module)."""
    from .search import build_at_setup

    click.echo(build_at_setup())


def _new_password() -> str:
    return secrets.token_urlsafe(12)


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(list(vocab.ROLES)), help="coordinator edits, staff reads.")
@click.option("--name", default="", help="Display name.")
@click.option("--password", "password_mode", type=click.Choice(["prompt", "generate"]), default=None,
              help="Prompt for a password or generate one (default: prompt on a terminal, else generate).")
def create_user_command(email: str, role: str, name: str, password_mode: str | None) -> None:
    """Create a user who can log in; prints a generated password once."""
    _require_schema()
    mode = password_mode or ("prompt" if sys.stdin.isatty() else "generate")
    password = (click.prompt("Password", hide_input=True, confirmation_prompt=True) if mode == "prompt"
                else _new_password())
    session = get_session()
    set_actor(session, "cli")
    try:
        user = create_user(session, email, role, name, password)
        session.commit()
    except UserError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        session.rollback()
        raise _database_error(exc) from None
    click.echo(f"Created {user.role} {user.email}.")
    if mode == "generate":
        click.echo(f"Password: {password}")


@click.command("create-token")
@with_appcontext
@click.argument("email")
@click.option("--name", default="", help="What the token is for, e.g. 'Export-Skript'.")
def create_token_command(email: str, name: str) -> None:
    """Create an API token for a user (send it as 'Authorization: Bearer <token>'); shown only once."""
    _require_schema()
    session = get_session()
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with the e-mail address {email.strip().lower()}.")
    if not user.active:
        raise click.ClickException(f"The user {user.email} is deactivated.")
    token = create_token(session, user, name)
    session.commit()
    click.echo(token)


@click.group("tokens")
def tokens_group() -> None:
    """List and revoke API tokens."""


@tokens_group.command("list")
@with_appcontext
@click.option("--email", default=None, help="Only the tokens of this user.")
def tokens_list_command(email: str | None) -> None:
    """List API tokens: id, prefix, user, name, created, last used, revoked."""
    from .models import ApiToken
    _require_schema()
    session = get_session()
    stmt = select(ApiToken).join(ApiToken.user).order_by(ApiToken.id)
    if email:
        stmt = stmt.where(User.email == email.strip().lower())
    for t in session.scalars(stmt):
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
        state = f"revoked {t.revoked_at.isoformat(timespec='seconds')}" if t.revoked_at else "active"
        click.echo(f"{t.id}\t{t.prefix}…\t{t.user.email}\t{t.name or '-'}\t"
                   f"created {t.created_at.isoformat(timespec='seconds')}\tlast used {used}\t{state}")


@tokens_group.command("revoke")
@with_appcontext
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
def tokens_revoke_command(token_id: int) -> None:
    """Revoke an API token by its id (see `flask tokens list`)."""
    from .models import ApiToken, utcnow
    _require_schema()
    session = get_session()
    token = session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"There is no API token with id {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
    click.echo(f"Token {token.prefix}… of {token.user.email} is revoked.")


@click.command("reset-password")
@with_appcontext
@click.argument("email")
def reset_password_command(email: str) -> None:
    """Give a user a new generated password (printed once) and end all their log-ins."""
    _require_schema()
    session = get_session()
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"There is no user {email}.")
    password = _new_password()
    user.password_hash = hash_password(password)
    session.commit()
    click.echo(f"New password for {user.email}: {password}")


@click.command("geocode")
@with_appcontext
@click.option("--all", "redo_all", is_flag=True, help="Geocode every location, not only those without coordinates.")
@click.option("--fallback/--strict", default=False,
              help="When Nominatim fails, use the offline gazetteer (--fallback) or stop and change nothing (--strict, default).")
def geocode_command(redo_all: bool, fallback: bool) -> None:
    """Set coordinates of locations from their addresses (gazetteer offline, Nominatim when configured)."""
    _require_schema()
    session = get_session()
    set_actor(session, "cli:geocode")
    stmt = select(Location).where(Location.location_type == "physical")
    if not redo_all:
        stmt = stmt.where(Location.latitude.is_(None))
    locations = list(session.scalars(stmt))
    notes: list[str] = []
    try:
        with click.progressbar(locations, label="Geocoding", file=sys.stderr) as bar:
            for loc in bar:
                note = geocode_location(session, current_app.config, loc, fallback=fallback)
                if note:
                    notes.append(f"location {loc.id}: {note}")
        session.commit()
    except GeocodingError as exc:
        session.rollback()
        raise click.ClickException(f"{exc} Nothing was changed; use --fallback to use the offline gazetteer.") from None
    for note in notes:
        click.echo(note, err=True)
    click.echo(f"Geocoded {len(locations)} location(s).")


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (init_db_command, seed_command, create_user_command, create_token_command, geocode_command,
                    tokens_group, reset_password_command):
        app.cli.add_command(command)
