"""Coordinator pages: upload a file, review the plan, commit it; download error rows and exports."""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.utils import secure_filename

from ..auth import role_required
from ..db import get_session
from ..models import Service
from ..params import parse_id
from . import FORMAT_LABELS, REGISTRY
from .export import Exporter
from .jobs import enqueue, latest, read_json, upload_root
from .models import ImportJob, ImportRun
from .plan import ACTIONS
from .records import ImportFileError
from .tabular import FIELD_LABELS, parse_mapping

bp = Blueprint("importers", __name__, url_prefix="/verwaltung")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,40}$")
PREVIEW_PAGE_ROWS = 100
# Licences whose terms require naming the source wherever the data is shown.
ATTRIBUTION = re.compile(r"odbl|cc[ -]?by|dl-de/by|namensnennung|attribution", re.IGNORECASE)


def _cleanup(root: Path) -> None:
    """Delete uploads older than IMPORT_UPLOAD_TTL_HOURS."""
    limit = time.time() - float(current_app.config["IMPORT_UPLOAD_TTL_HOURS"]) * 3600
    for folder in root.glob("*"):
        if folder.is_dir() and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)


def _folder(token: str) -> Path:
    if not TOKEN.match(token):
        abort(404)
    folder = upload_root() / token
    if not (folder / "meta.json").is_file():
        abort(404, description=_("Diese Vorschau ist abgelaufen. Bitte laden Sie die Datei erneut hoch."))
    return folder


def _render_upload(error: str | None = None, status: int = 200, form: dict | None = None) -> Any:
    runs = get_session().scalars(select(ImportRun).order_by(ImportRun.started_at.desc(), ImportRun.id.desc())
                                 .limit(10)).all()
    return render_template("importers/upload.html", error=error, runs=runs, formats=FORMAT_LABELS,
                           form=form or {}, max_mb=current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024),
                           fields=FIELD_LABELS), status


@bp.get("/import")
@role_required("coordinator")
def upload() -> Any:
    """The upload form, the last imports and the export buttons."""
    return _render_upload()


@bp.post("/import")
@role_required("coordinator")
def preview() -> Any:
    """Store the upload under a random token, plan it and show the preview."""
    file = request.files.get("datei")
    form = {k: request.form.get(k, "").strip() for k in ("quelle", "format", "lizenz", "url", "blatt")}
    if file is None or not file.filename:
        return _render_upload(_("Bitte wählen Sie eine Datei aus."), 400, form)
    fmt = form["format"] if form["format"] in REGISTRY else ""
    name = secure_filename(file.filename) or "upload"
    mapping_text = None
    mapping_file = request.files.get("zuordnung")
    if mapping_file is not None and mapping_file.filename:
        try:
            mapping_text = mapping_file.read(256 * 1024).decode("utf-8-sig")
            parse_mapping(mapping_text, mapping_file.filename)
        except UnicodeDecodeError:
            return _render_upload(_("Die Zuordnungsdatei ist nicht in UTF-8 gespeichert."), 400, form)
        except ImportFileError as exc:
            return _render_upload(str(exc), 400, form)
    root = upload_root()
    root.mkdir(parents=True, exist_ok=True)
    _cleanup(root)
    token = secrets.token_urlsafe(18)
    folder = root / token
    folder.mkdir()
    file.save(folder / name)
    meta = {"file": name, "original_name": file.filename[:300], "format": fmt,
            "source": (form["quelle"] or Path(name).stem)[:120], "licence": form["lizenz"][:200] or None,
            "url": form["url"][:2000] if re.match(r"^https?://\S+$", form["url"]) else None,
            "sheet": form["blatt"][:100] or None, "mapping": mapping_text,
            "user": current_user.email}
    return _enqueue(folder, meta, token, "plan")


def _enqueue(folder: Path, meta: dict[str, Any], token: str, kind: str, options: dict | None = None) -> Any:
    """Save the upload's settings and hand the work to the import worker; the page then follows the job."""
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    for stale in ("preview.json", "progress.json", "fehler.csv"):
        if kind == "plan":
            (folder / stale).unlink(missing_ok=True)
    session = get_session()
    enqueue(session, token, kind, current_user, options)
    session.commit()
    return redirect(url_for(".job", token=token))


def _meta(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))


@bp.get("/import/<token>")
@role_required("coordinator")
def job(token: str) -> Any:
    """The upload's page: progress while the worker runs, then the preview (paged) or the mapping question."""
    folder = _folder(token)
    meta = _meta(folder)
    current = latest(get_session(), token)
    if current is None:
        abort(404)
    preview = read_json(folder / "preview.json")
    if current.state == "failed":
        if current.kind == "commit" and preview and "rows" in preview:
            flash(f"{current.message} " + _("Es wurde nichts geändert."), "error")
            return _render_preview(preview, meta, token)
        shutil.rmtree(folder, ignore_errors=True)  # the upload cannot be imported: nothing is kept
        return _render_upload(current.message, 400, {})
    if current.state in ("queued", "running") or current.kind == "commit":
        return render_template("importers/progress.html", job=current, meta=meta, token=token,
                               status=_status(folder, current))
    if preview is None:
        abort(404)
    if "question" in preview:
        return render_template("importers/mapping.html", question=preview["question"], guesses=preview["guesses"],
                               meta=meta, token=token, fields=FIELD_LABELS)
    return _render_preview(preview, meta, token)


def _render_preview(preview: dict[str, Any], meta: dict[str, Any], token: str) -> Any:
    action = request.args.get("aktion", "")
    action = action if action in ACTIONS else ""
    rows = [r for r in preview["rows"] if not action or r["action"] == action]
    pages = max(1, -(-len(rows) // PREVIEW_PAGE_ROWS))
    page = min(max(1, request.args.get("seite", 1, type=int) or 1), pages)
    shown = rows[(page - 1) * PREVIEW_PAGE_ROWS:page * PREVIEW_PAGE_ROWS]
    return render_template("importers/preview.html", plan=preview, meta=meta, token=token, rows=shown,
                           counts=preview["counts"], effects=preview["effects"], fields=FIELD_LABELS,
                           actions=ACTIONS, action=action, page=page, pages=pages,
                           total_rows=len(preview["rows"]))


def _status(folder: Path, current: ImportJob) -> dict[str, Any]:
    progress = read_json(folder / "progress.json") or {}
    return {"state": current.state, "kind": current.kind, "message": current.message,
            "phase": progress.get("phase") or ("Wartet" if current.state == "queued" else "Lesen"),
            "done": int(progress.get("done") or 0), "total": int(progress.get("total") or 0)}


@bp.get("/import/<token>/status")
@role_required("coordinator")
def status(token: str) -> Any:
    """The upload's job state and row counter, for the progress bar."""
    folder = _folder(token)
    current = latest(get_session(), token)
    if current is None:
        abort(404)
    return _status(folder, current)


@bp.post("/import/<token>/zuordnung")
@role_required("coordinator")
def remap(token: str) -> Any:
    """Take the coordinator's column mapping and plan the stored file again (in the worker)."""
    folder = _folder(token)
    meta = _meta(folder)
    columns = {}
    for key, name in request.form.items():
        index = key.removeprefix("spalte-")
        target = request.form.get(f"feld-{index}", "")
        if key.startswith("spalte-") and index.isdigit() and name.strip() and target in FIELD_LABELS:
            columns[name.strip()[:300]] = target
    meta["columns"] = columns
    return _enqueue(folder, meta, token, "plan")


@bp.get("/import/<token>/fehler.csv")
@role_required("coordinator")
def error_rows(token: str) -> Response:
    """The rows with errors as a CSV to fix and upload again (written by the worker with the preview)."""
    folder = _folder(token)
    path = folder / "fehler.csv"
    if not path.is_file():
        abort(404)
    name = f"{Path(_meta(folder)['file']).stem}-fehler.csv"
    return Response(path.read_text(encoding="utf-8"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/import/<token>/uebernehmen")
@role_required("coordinator")
def commit(token: str) -> Any:
    """Hand the commit to the import worker (it plans again and commits in one transaction)."""
    folder = _folder(token)
    current = latest(get_session(), token)
    if current is None or (current.kind == "commit" and current.state != "failed"):
        abort(404)  # committed (or being committed) already
    checksum = request.form.get("pruefsumme", "")
    preview = read_json(folder / "preview.json") or {}
    if checksum != preview.get("file_hash"):
        flash(_("Die Datei hat sich seit der Vorschau geändert. Bitte laden Sie sie erneut hoch und prüfen Sie "
                "die Vorschau."), "error")
        return redirect(url_for(".upload"))
    options = {"checksum": checksum, "strict": request.form.get("streng") == "1",
               "all_duplicates": request.form.get("alle_dubletten") == "1",
               "create": sorted({n for v in request.form.getlist("anlegen") if (n := parse_id(v)) is not None})}
    return _enqueue(folder, _meta(folder), token, "commit", options)


@bp.get("/export/<fmt>")
@role_required("coordinator")
def export(fmt: str) -> Response:
    """Download an export; ?intern=1 includes internal entries and fields."""
    internal = request.args.get("intern") == "1"
    exporter = Exporter(get_session(), internal)
    scope = "intern" if internal else "oeffentlich"
    if fmt == "csv":
        body, mimetype, ext = exporter.excel_csv(), "text/csv; charset=utf-8", "csv"
    elif fmt == "json":
        body, mimetype, ext = json.dumps(exporter.hsds_json(), ensure_ascii=False), "application/json", "json"
    elif fmt == "xlsx":
        buffer = io.BytesIO()
        exporter.xlsx(buffer)
        body, ext = buffer.getvalue(), "xlsx"
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif fmt == "geojson":
        body, mimetype, ext = json.dumps(exporter.geojson(), ensure_ascii=False), "application/geo+json", "geojson"
    elif fmt == "hsds":
        target = upload_root() / f"export-{secrets.token_hex(8)}.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
        exporter.write_package(target)
        body, mimetype, ext = target.read_bytes(), "application/zip", "zip"
        target.unlink()
    else:
        abort(404)
    name = f"netzwerkatlas-{scope}.{ext}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def import_attribution(service_id: int) -> str | None:
    """"Quelle: …" for the public page when the imported data's licence requires attribution, else None."""
    row = get_session().execute(select(Service.source_name, Service.source_licence, Service.source_url)
                                .where(Service.id == service_id)).first()
    if row is None or not row.source_licence or not ATTRIBUTION.search(row.source_licence):
        return None
    return _("Quelle: %(source)s (%(licence)s)", source=row.source_name, licence=row.source_licence)
