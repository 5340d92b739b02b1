"""Importers and exports: bring in existing overviews (CSV, Excel, HSDS, GeoJSON, OSM, HTML, Markdown) and give
data back in open formats. Every import is planned (dry run) before it is committed in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask

from . import csv_format, geojson_format, hsds_format, html_format, markdown_format, osm_format, xlsx_format
from .hsds import TABLES
from .models import ImportRun
from .records import ImportFileError, ReadOptions, ReadResult

__all__ = ["REGISTRY", "ImportFileError", "ImportRun", "ReadOptions", "ReadResult", "detect_format", "read_file"]

Reader = Callable[[Path, ReadOptions], ReadResult]

REGISTRY: dict[str, Reader] = {
    "csv": csv_format.read,
    "xlsx": xlsx_format.read,
    "hsds": hsds_format.read,
    "geojson": geojson_format.read,
    "osm": osm_format.read,
    "html": html_format.read,
    "markdown": markdown_format.read,
}
FORMAT_LABELS = {
    "csv": "CSV (Excel, Webtools)",
    "xlsx": "Excel (.xlsx)",
    "hsds": "Open Referral HSDS 3.0 (Datenpaket oder JSON)",
    "geojson": "GeoJSON",
    "osm": "OpenStreetMap (Overpass JSON)",
    "html": "HTML-Tabelle",
    "markdown": "Markdown- oder Wiki-Tabelle",
}
EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".zip": "hsds",
    ".geojson": "geojson", ".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown",
    ".wiki": "markdown", ".mediawiki": "markdown",
}


def detect_format(path: Path) -> str:
    """Guess the format from the name and, for .json, from the first kilobytes."""
    if path.is_dir() or path.name == "datapackage.json":
        return "hsds"
    suffix = path.suffix.lower()
    if suffix == ".json":
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace")
        if '"FeatureCollection"' in head:
            return "geojson"
        if '"elements"' in head or "Overpass" in head or '"osm3s"' in head:
            return "osm"
        return "hsds"
    if suffix == ".csv" and path.name in TABLES:
        with path.open("rb") as fh:
            head = fh.readline(4096).decode("utf-8", "replace").lower()
        if head.startswith(("id,", "\ufeffid,")) and "_id" in head:
            return "hsds"  # one table of an HSDS package: the reader explains what to import instead
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    raise ImportFileError(f"Das Format der Datei „{path.name}“ ist unbekannt. Bitte das Format angeben "
                          f"({', '.join(REGISTRY)}).")


def read_file(path: Path, fmt: str | None, options: ReadOptions) -> ReadResult:
    """Read a file with the given or detected format's reader."""
    fmt = fmt or detect_format(path)
    if fmt not in REGISTRY:
        raise ImportFileError(f"Unbekanntes Format „{fmt}“ (möglich: {', '.join(REGISTRY)}).")
    return REGISTRY[fmt](path, options)


def init_app(app: Flask) -> None:
    """Register the commands, the coordinator pages and the public attribution helper."""
    from . import views
    from .cli import export_command, geocode_pending_command, import_command, import_worker_command

    for command in (import_command, export_command, geocode_pending_command, import_worker_command):
        app.cli.add_command(command)
    app.register_blueprint(views.bp)
    app.add_template_global(views.import_attribution)
