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
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.utils import secure_filename

from ..auth import role_required
from ..db import get_session
from ..models import Service
from . import FORMAT_LABELS, REGISTRY, read_file
from .cli import path_digest, read_options
from .commit import commit_plan
from .export import Exporter
from .models import ImportRun
from .plan import Plan, effects_summary, plan_import
from .records import ImportFileError
from .report import error_rows_csv, row_reason
from .mapping import MappingQuestion, remembered
from .tabular import FIELD_LABELS, header_key, parse_mapping

bp = Blueprint("importers", __name__, url_prefix="/verwaltung")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,40}$")
PREVIEW_NEW_ROWS = 200
# Licences whose terms require naming the source wherever the data is shown.
ATTRIBUTION = re.compile(r"odbl|cc[ -]?by|dl-de/by|namensnennung|attribution", re.IGNORECASE)


def upload_root() -> Path:
    """Folder in the instance path where uploads wait for their commit (never in the database)."""
    return Path(current_app.instance_path) / "imports"


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


def _plan(folder: Path) -> tuple[Plan, dict[str, Any]]:
    """Read and plan the stored upload again (plans are never kept between requests)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    mapping = remembered(get_session(), meta["source"])
    mapping |= parse_mapping(meta["mapping"], "Zuordnungsdatei") if meta.get("mapping") else {}
    mapping |= {header_key(k): v for k, v in (meta.get("columns") or {}).items()}
    path = folder / meta["file"]
    result = read_file(path, meta["format"] or None, read_options(current_app.config, mapping, meta.get("sheet")))
    plan = plan_import(get_session(), result, meta["source"], meta["original_name"], path_digest(path))
    return plan, meta


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
    return _plan_and_show(folder, meta, token, form, discard_on_error=True)


def _plan_and_show(folder: Path, meta: dict[str, Any], token: str, form: dict, discard_on_error: bool) -> Any:
    """Save the upload's settings, plan it and show the preview, or the mapping step's question."""
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    try:
        plan, meta = _plan(folder)
    except MappingQuestion as exc:
        return _render_question(exc, meta, token)
    except ImportFileError as exc:
        if discard_on_error:
            shutil.rmtree(folder, ignore_errors=True)
        return _render_upload(str(exc), 400, form)
    return _render_preview(plan, meta, token)


def _render_question(question: MappingQuestion, meta: dict[str, Any], token: str) -> Any:
    return render_template("importers/mapping.html", question=str(question), guesses=question.guesses, meta=meta,
                           token=token, fields=FIELD_LABELS), 200


@bp.post("/import/<token>/zuordnung")
@role_required("coordinator")
def remap(token: str) -> Any:
    """Take the coordinator's column mapping and plan the stored file again."""
    folder = _folder(token)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    columns = {}
    for key, name in request.form.items():
        index = key.removeprefix("spalte-")
        target = request.form.get(f"feld-{index}", "")
        if key.startswith("spalte-") and index.isdigit() and name.strip() and target in FIELD_LABELS:
            columns[name.strip()[:300]] = target
    meta["columns"] = columns
    return _plan_and_show(folder, meta, token, {}, discard_on_error=False)


def _render_preview(plan: Plan, meta: dict[str, Any], token: str) -> Any:
    shown, hidden_new = [], 0
    for row in plan.rows:
        if row.action == "new" and sum(1 for r in shown if r.action == "new") >= PREVIEW_NEW_ROWS:
            hidden_new += 1
        else:
            shown.append(row)
    return render_template("importers/preview.html", plan=plan, meta=meta, token=token, rows=shown,
                           hidden_new=hidden_new, counts=plan.counts(), reason=row_reason,
                           effects=effects_summary(plan.effects) if plan.effects else [], fields=FIELD_LABELS,
                           format_label=FORMAT_LABELS.get(plan.format.split("-")[0], plan.format))


@bp.get("/import/<token>/fehler.csv")
@role_required("coordinator")
def error_rows(token: str) -> Response:
    """The rows with errors as a CSV to fix and upload again."""
    try:
        plan, meta = _plan(_folder(token))
    except ImportFileError as exc:
        abort(400, description=str(exc))
    name = f"{Path(meta['file']).stem}-fehler.csv"
    return Response(error_rows_csv(plan), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/import/<token>/uebernehmen")
@role_required("coordinator")
def commit(token: str) -> Any:
    """Re-plan the stored file and commit it in one transaction, if it is still the previewed file."""
    folder = _folder(token)
    session = get_session()
    try:
        plan, meta = _plan(folder)
    except ImportFileError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".upload"))
    if plan.file_hash != request.form.get("pruefsumme"):
        flash(_("Die Datei hat sich seit der Vorschau geändert. Bitte laden Sie sie erneut hoch und prüfen Sie "
                "die Vorschau."), "error")
        return redirect(url_for(".upload"))
    forced = {int(v) for v in request.form.getlist("anlegen") if v.isdigit()}
    try:
        report = commit_plan(session, plan, actor=current_user.email, user_id=current_user.id,
                             create_duplicates=forced, strict=request.form.get("streng") == "1",
                             licence=meta.get("licence"), source_url=meta.get("url"))
        session.commit()
    except ImportFileError as exc:
        session.rollback()
        flash(f"{exc} " + _("Es wurde nichts geändert."), "error")
        return _render_preview(plan, meta, token)
    except SQLAlchemyError:
        session.rollback()
        current_app.logger.exception("import commit failed")
        flash(_("Die Datenbank hat den Import abgelehnt; es wurde nichts geändert. Bitte versuchen Sie es erneut."),
              "error")
        return _render_preview(plan, meta, token)
    shutil.rmtree(folder, ignore_errors=True)
    flash(_("Import abgeschlossen: %(summary)s.", summary=report.summary()), "success")
    return redirect(url_for(".upload"))


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
