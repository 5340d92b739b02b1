"""CLI: flask --app atlas import PATH ... | export PATH ... | geocode-pending."""

from __future__ import annotations

import hashlib
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ..audit import set_actor
from ..cli import _database_error, _require_schema
from ..db import get_session
from ..priority import lower_session_priority, lower_thread_priority
from . import REGISTRY, read_file
from .commit import commit_plan
from .export import EXPORT_FORMATS, export_to
from .geocode import geocode_pending
from .jobs import work
from .plan import effects_summary, plan_import
from .records import ImportFileError, ReadOptions
from .report import error_rows_csv, preview_lines
from .mapping import MappingQuestion, remembered
from .tabular import FIELD_LABELS, load_mapping


def read_options(config: dict[str, Any], mapping: dict[str, str] | None = None, sheet: str | None = None) -> ReadOptions:
    """Reader limits from the configuration."""
    return ReadOptions(max_bytes=int(config["IMPORT_MAX_BYTES"]), max_rows=int(config["IMPORT_MAX_ROWS"]),
                       mapping=mapping, sheet=sheet,
                       xlsx_max_uncompressed=int(config["IMPORT_XLSX_MAX_UNCOMPRESSED"]),
                       xlsx_max_ratio=int(config["IMPORT_XLSX_MAX_RATIO"]),
                       xlsx_max_members=int(config["IMPORT_XLSX_MAX_MEMBERS"]),
                       xlsx_max_shared_strings=int(config["IMPORT_XLSX_MAX_SHARED_STRINGS"]),
                       xlsx_max_shared_bytes=int(config["IMPORT_XLSX_MAX_SHARED_BYTES"]))


def path_digest(path: Path) -> str:
    """SHA-256 of a file, or of a folder's files in name order."""
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if item.is_file():
            digest.update(item.name.encode())
            digest.update(item.read_bytes())
    return digest.hexdigest()


@click.command("import")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(list(REGISTRY)), help="Format (default: guessed from the name).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='Column mapping: JSON {"Spalte": "feld"} or a CSV spalte;feld.')
@click.option("--source", help="Name of the source, e.g. 'Caritas EN 2026' (default: the file name).")
@click.option("--licence", help="Licence of the data, e.g. 'CC BY 4.0' (OSM and HSDS packages bring their own).")
@click.option("--source-url", help="Where the data came from (web address).")
@click.option("--sheet", help="Excel: the worksheet to read (default: the first).")
@click.option("--dry-run", is_flag=True, help="Only show what would happen; change nothing.")
@click.option("--strict", is_flag=True, help="Import nothing when any row has an error.")
@click.option("--create-duplicate", "create_duplicates", type=int, multiple=True, metavar="ROW",
              help="Create this row although it looks like a duplicate ('trotzdem anlegen'); repeatable.")
@click.option("--errors-csv", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rows with errors to this CSV (to fix and import again).")
@click.option("--all-rows", is_flag=True, help="List every row, not only problems (default for up to 100 rows).")
def import_command(path: Path, fmt: str | None, mapping: Path | None, source: str | None, licence: str | None,
                   source_url: str | None, sheet: str | None, dry_run: bool, strict: bool,
                   create_duplicates: tuple[int, ...], errors_csv: Path | None, all_rows: bool) -> None:
    """Import organisations and offers from a file: plan first, then commit in one transaction."""
    _require_schema()
    session = get_session()
    config = current_app.config
    lower_thread_priority(int(config["IMPORT_NICE"]))  # a bulk import must not slow the web pages down
    lower_session_priority(int(config["IMPORT_NICE"]))  # only when started on its own (systemd-run, setsid)
    source = (source or path.stem).strip()[:120]
    try:
        user_mapping = remembered(session, source) | (load_mapping(mapping) if mapping else {})
        options = read_options(config, user_mapping, sheet)
        result = read_file(path, fmt, options)
        with click.progressbar(length=len(result.records), label="Planning", file=sys.stderr) as bar:
            plan = plan_import(session, result, source, path.name, path_digest(path), progress=bar.update)
    except MappingQuestion as exc:
        raise click.ClickException(f"{exc} Mit --mapping zuordnung.json, z. B. {{\"Spalte\": \"name\"}} "
                                   f"(Felder: {', '.join(sorted(FIELD_LABELS))}).") from None
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _database_error(exc) from None
    if plan.guesses:
        click.echo("Zuordnung der Spalten:")
        for column, target in plan.mapping.items():
            click.echo(f"  „{column}“ → {target}")
    for warning in plan.warnings:
        click.echo(f"Hinweis: {warning}", err=True)
    for line in preview_lines(plan, all_rows or len(plan.rows) <= 100):
        click.echo(line)
    click.echo(f"Plan ({plan.format}, Quelle „{source}“): {plan.summary()}.")
    for line in effects_summary(plan.effects):
        click.echo(f"  {line}")
    if errors_csv and plan.errors:
        errors_csv.write_text(error_rows_csv(plan), encoding="utf-8", newline="")
        click.echo(f"Error rows written to {errors_csv}.")
    if dry_run:
        click.echo("Dry run: nothing was changed.")
        if strict and plan.errors:
            raise click.ClickException(f"{len(plan.errors)} row(s) with errors; --strict would import nothing.")
        return
    try:
        with click.progressbar(length=len(plan.rows), label="Importing", file=sys.stderr) as bar:
            report = commit_plan(session, plan, actor=f"import:{source}", strict=strict, licence=licence,
                                 source_url=source_url, create_duplicates=create_duplicates, progress=bar.update)
        session.commit()
    except ImportFileError as exc:
        session.rollback()
        raise click.ClickException(f"{exc} Nothing was changed.") from None
    except SQLAlchemyError as exc:
        session.rollback()
        raise _database_error(exc) from None
    click.echo(f"Imported: {report.summary()}.")
    for warning in report.warnings:
        click.echo(f"Hinweis: {warning}", err=True)
    if report.counts["error"] and not report.imported:
        raise click.ClickException("Nothing was imported: every row had an error or was held back.")
    if report.geocoded:
        click.echo("Coordinates: " + ", ".join(f"{n} {k}" for k, n in sorted(report.geocoded.items())) +
                   ". Run 'flask --app atlas geocode-pending' to refine them with Nominatim when configured.")


@click.command("export")
@with_appcontext
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS),
              help="hsds: tabular data package (folder or .zip); json: HSDS JSON; csv: for Excel (formula-safe); "
                   "xlsx: Excel workbook with text cells; geojson.")
@click.option("--internal", is_flag=True, help="Include internal entries and fields (coordinators only).")
def export_command(path: Path, fmt: str | None, internal: bool) -> None:
    """Export the atlas in an open format (public data unless --internal)."""
    _require_schema()
    suffix = path.suffix.lower()
    fmt = fmt or {".zip": "hsds", "": "hsds", ".json": "json", ".csv": "csv", ".xlsx": "xlsx", ".geojson": "geojson"}.get(suffix)
    if fmt is None:
        raise click.ClickException(f"Cannot guess the format from {path.name}; use --format.")
    try:
        target, count = export_to(get_session(), path, fmt, internal)
    except OSError as exc:
        raise click.ClickException(f"Cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"Exported {count} offer(s) ({'internal' if internal else 'public'} data) to {target}.")


@click.command("geocode-pending")
@with_appcontext
@click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="At most this many sites per run (Nominatim allows one request per second).")
def geocode_pending_command(limit: int) -> None:
    """Geocode imported sites: fill missing coordinates, refine gazetteer positions with Nominatim."""
    _require_schema()
    session = get_session()
    set_actor(session, "cli:geocode-pending")
    with click.progressbar(length=limit, label="Geocoding", file=sys.stderr) as bar:
        report = geocode_pending(session, current_app.config, limit, progress=bar.update)
    session.commit()
    for note in report.notes:
        click.echo(note, err=True)
    click.echo(report.summary())
    if report.stopped:
        raise click.ClickException("Nominatim failed; what was geocoded before is saved. Try again later.")


@click.command("import-worker")
@with_appcontext
@click.option("--once", is_flag=True, help="Run the queued jobs, then stop (for cron or tests).")
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between looks at the queue.")
def import_worker_command(once: bool, poll: float) -> None:
    """Plan and commit the imports uploaded on the web pages (run one worker beside the web server)."""
    _require_schema()
    app = current_app._get_current_object()
    lower_thread_priority(int(app.config["IMPORT_NICE"]))  # as the CLI import: web requests get the CPU first
    lower_session_priority(int(app.config["IMPORT_NICE"]))  # as a service it leads a session of its own
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_args: stop.set())
    count = work(app, once=once, poll=poll, should_stop=stop.is_set)
    click.echo(f"Import worker: {count} job(s) done.")
