"""Background import jobs: web uploads are planned and committed by the import worker, never in a web request.

The web page enqueues an `ImportJob` and polls its state; `flask --app atlas import-worker` (started by dev.py
beside the web server and the scheduler) claims queued jobs one at a time. Job state lives in the database; the
live row counter of a running job is written to `progress.json` in the upload folder, because the commit holds
its transaction (on SQLite the database's write lock) until it is done. A job's plan is kept as `preview.json`
(what the preview page shows, paged) and the error rows as `fehler.csv`, both next to the upload.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..audit import set_actor
from ..db import get_session
from ..models import User, utcnow
from . import FORMAT_LABELS, read_file
from .commit import commit_plan
from .mapping import MappingQuestion, remembered
from .models import ImportJob
from .plan import Plan, effects_summary, plan_import
from .records import ImportFileError
from .report import error_rows_csv, row_reason
from .tabular import header_key, parse_mapping

log = logging.getLogger(__name__)
PROGRESS_EVERY = 0.5  # seconds between two progress writes


def upload_root(app: Flask | None = None) -> Path:
    """Folder in the instance path where uploads wait for their commit (never in the database)."""
    return Path((app or current_app).instance_path) / "imports"


def enqueue(session: Session, token: str, kind: str, user: User | None, options: dict[str, Any] | None = None) -> ImportJob:
    """Queue a plan or commit job for an upload; the caller commits."""
    job = ImportJob(token=token, kind=kind, user_id=user.id if user else None, options=options or {})
    session.add(job)
    return job


def latest(session: Session, token: str) -> ImportJob | None:
    """The newest job of an upload."""
    return session.scalar(select(ImportJob).where(ImportJob.token == token).order_by(ImportJob.id.desc()).limit(1))


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file of the upload folder, None when missing or half-written."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_json(path: Path, data: Any) -> None:
    """Write atomically (the page may read at any moment)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)


class Progress:
    """Counts rows and writes progress.json now and then."""

    def __init__(self, folder: Path, phase: str, total: int) -> None:
        self.path, self.phase, self.total, self.done, self.last = folder / "progress.json", phase, total, 0, 0.0
        self.write()

    def __call__(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self.last >= PROGRESS_EVERY or self.done >= self.total:
            self.write()

    def write(self) -> None:
        self.last = time.monotonic()
        write_json(self.path, {"phase": self.phase, "done": min(self.done, self.total), "total": self.total})


def plan_upload(session: Session, folder: Path, progress: Callable[[str, int], Callable[[int], None]] | None = None
                ) -> tuple[Plan, dict[str, Any]]:
    """Read and plan an upload with its stored settings and the source's remembered mapping."""
    from .cli import path_digest, read_options

    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    mapping = remembered(session, meta["source"])
    mapping |= parse_mapping(meta["mapping"], "Zuordnungsdatei") if meta.get("mapping") else {}
    mapping |= {header_key(k): v for k, v in (meta.get("columns") or {}).items()}
    path = folder / meta["file"]
    result = read_file(path, meta["format"] or None, read_options(current_app.config, mapping, meta.get("sheet")))
    counter = progress("Prüfen", len(result.records)) if progress else None
    plan = plan_import(session, result, meta["source"], meta["original_name"], path_digest(path), progress=counter)
    return plan, meta


def preview_data(plan: Plan) -> dict[str, Any]:
    """What the preview page shows of a plan, as JSON (rows in file order)."""
    rows = []
    for row in plan.rows:
        record = row.record
        place = next((loc.address.city for loc in record.locations if loc.address), "")
        rows.append({"row": row.row, "action": row.action, "action_label": row.action_label, "label": record.label,
                     "organization": record.organization.name if record.organization.name != record.label else None,
                     "place": place, "reason": row_reason(row), "warnings": row.warnings,
                     "matches": [{"id": m.id, "name": m.name, "reasons": m.reasons} for m in row.matches]})
    return {"source": plan.source, "format": plan.format, "format_label":
            FORMAT_LABELS.get(plan.format.split("-")[0], plan.format), "file_hash": plan.file_hash,
            "licence": plan.licence, "counts": dict(plan.counts()), "warnings": plan.warnings,
            "mapping": plan.mapping, "effects": effects_summary(plan.effects) if plan.effects else [],
            "guesses": [_guess(g) for g in plan.guesses], "rows": rows}


def _guess(g: Any) -> dict[str, Any]:
    return {"index": g.index, "header": g.header, "field": g.field, "confidence": g.confidence,
            "percent": g.percent, "how": g.how, "samples": g.samples}


def run_plan(session: Session, job: ImportJob, folder: Path) -> str:
    """Plan the upload and keep the preview (or the mapping question) next to it."""
    def progress(phase: str, total: int) -> Progress:
        return Progress(folder, phase, total)

    write_json(folder / "progress.json", {"phase": "Lesen", "done": 0, "total": 0})
    try:
        plan, _meta = plan_upload(session, folder, progress)
    except MappingQuestion as exc:
        write_json(folder / "preview.json", {"question": str(exc), "guesses": [_guess(g) for g in exc.guesses]})
        return "Frage zur Zuordnung"
    write_json(folder / "preview.json", preview_data(plan))
    (folder / "fehler.csv").write_text(error_rows_csv(plan), encoding="utf-8", newline="")
    session.rollback()  # planning changes nothing
    return plan.summary()


def run_commit(session: Session, job: ImportJob, folder: Path) -> str:
    """Plan the upload again and commit it in one transaction, if it is still the previewed file."""
    plan, meta = plan_upload(session, folder)
    options = job.options or {}
    if plan.file_hash != options.get("checksum"):
        raise ImportFileError("Die Datei hat sich seit der Vorschau geändert. Bitte laden Sie sie erneut hoch "
                              "und prüfen Sie die Vorschau.")
    forced = set(options.get("create", []))
    if options.get("all_duplicates"):
        forced |= {r.row for r in plan.rows if r.action == "duplicate"}
    user = session.get(User, job.user_id) if job.user_id else None
    progress = Progress(folder, "Übernehmen", len(plan.rows))
    report = commit_plan(session, plan, actor=user.email if user else "import-worker",
                         user_id=user.id if user else None, create_duplicates=forced,
                         strict=bool(options.get("strict")), licence=meta.get("licence"), source_url=meta.get("url"),
                         progress=progress)
    session.commit()
    progress.done = progress.total
    progress.write()
    return " ".join([report.summary(), *report.warnings])


def claim(session: Session) -> ImportJob | None:
    """Take the oldest queued job (safe with several workers: the state change is conditional)."""
    job_id = session.scalar(select(ImportJob.id).where(ImportJob.state == "queued").order_by(ImportJob.id).limit(1))
    if job_id is None:
        return None
    taken = session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.state == "queued")
                            .values(state="running", started_at=utcnow(), heartbeat_at=utcnow())).rowcount
    session.commit()
    return session.get(ImportJob, job_id) if taken else None


def run(app: Flask, job_id: int) -> None:
    """Run one claimed job and record its outcome."""
    session = get_session()
    job = session.get(ImportJob, job_id)
    folder = upload_root(app) / job.token
    try:
        if not (folder / "meta.json").is_file():
            raise ImportFileError("Die hochgeladene Datei ist nicht mehr da (abgelaufen). Bitte erneut hochladen.")
        set_actor(session, "import-worker", None)
        message = (run_plan if job.kind == "plan" else run_commit)(session, job, folder)
        state = "done"
    except ImportFileError as exc:
        session.rollback()
        message, state = str(exc), "failed"
    except Exception:  # noqa: BLE001 - the job must end, whatever happened; the log has the details
        session.rollback()
        log.exception("import job %s failed", job_id)
        message, state = "Der Import ist mit einem internen Fehler abgebrochen; es wurde nichts geändert.", "failed"
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
        state=state, message=message[:4000], finished_at=utcnow()))
    session.commit()


def recover(session: Session) -> int:
    """Jobs left running by a stopped worker end as failed (their transaction was rolled back)."""
    count = session.execute(update(ImportJob).where(ImportJob.state == "running").values(
        state="failed", finished_at=utcnow(),
        message="Der Import-Prozess wurde unterbrochen; es wurde nichts geändert. Bitte erneut starten.")).rowcount
    session.commit()
    return count


def work(app: Flask, once: bool = False, poll: float = 1.0, should_stop: Callable[[], bool] = lambda: False) -> int:
    """Process queued jobs; with once, until the queue is empty. Returns the number of jobs run."""
    done = 0
    with app.app_context():
        recover(get_session())
    while not should_stop():
        with app.app_context():
            job = claim(get_session())
            if job is not None:
                run(app, job.id)
                done += 1
                continue
        if once:
            break
        time.sleep(poll)
    return done


__all__ = ["enqueue", "latest", "read_json", "upload_root", "work"]
