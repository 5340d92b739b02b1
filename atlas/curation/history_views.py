"""Coordinator area: history pages, restoring versions and rows, merging duplicates."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request
from flask_babel import gettext as _

from ..auth import role_required
from ..db import get_session
from ..models import AuditLog, Location, Organization, Service
from . import history as hist
from . import operations as ops
from .forms import MergeForm, VersionForm
from .labels import field_label
from ..review import open_tasks_for
from .views import Record, acting, bp, edit_url, get_or_404, history_url


def _history_page(record: Record) -> Any:
    session = get_session()
    rows = hist.history(session, record)
    merged = [r for r in rows if any(c.field in ("merged_from", "merged_into") for c in r.changes)]
    partners = []
    for r in merged:
        for key in ("merged_from", "merged_into"):
            pair = (r.row.changes or {}).get(key)
            if pair and isinstance(pair[1], dict) and isinstance(pair[1].get("id"), int):
                other = session.get(type(record), pair[1]["id"])
                if other is not None:
                    partners.append(other)
    return render_template(
        "curation/history.html",
        record=record,
        rows=rows,
        edit_url=edit_url(record),
        history_url=history_url,
        partners=partners,
        version_form=VersionForm(data={"version_id": getattr(record, "version_id", "")}),
    )


@bp.route("/organisationen/<int:org_id>/verlauf")
@role_required("coordinator")
def organization_history(org_id: int) -> Any:
    """Who changed what and when on an organisation."""
    return _history_page(get_or_404(Organization, org_id))


@bp.route("/angebote/<int:service_id>/verlauf")
@role_required("coordinator")
def service_history(service_id: int) -> Any:
    """Who changed what and when on an offer."""
    return _history_page(get_or_404(Service, service_id))


@bp.route("/standorte/<int:location_id>/verlauf")
@role_required("coordinator")
def location_history(location_id: int) -> Any:
    """Who changed what and when on a location."""
    return _history_page(get_or_404(Location, location_id))


@bp.route("/verlauf/<int:audit_id>/wiederherstellen", methods=["GET", "POST"])
@role_required("coordinator")
def restore_version(audit_id: int) -> Any:
    """Show what restoring the state after one change would do; on confirmation restore it, as a new change."""
    session = get_session()
    row = get_or_404(AuditLog, audit_id)
    record = (
        hist.owner_of(session, row) if row.entity_type in ("organization", "service", "location") else None
    )
    if record is None:
        abort(404)
    if request.method == "GET":
        try:
            changes = hist.restore_preview(session, record, audit_id)
        except ops.CurationError:
            abort(404)
        return render_template(
            "curation/restore.html",
            record=record,
            row=row,
            changes=changes,
            history_url=history_url(record),
            version_form=VersionForm(data={"version_id": getattr(record, "version_id", "")}),
        )
    form = VersionForm()
    try:
        if not form.validate():
            abort(400)
        if not isinstance(record, Location):
            ops.check_version(record, form.version_id.data)
        acting(session)
        changed = hist.restore_version(session, record, audit_id)
        ops.commit(session)
        if changed:
            flash(
                _(
                    "Version wiederhergestellt: %(fields)s.",
                    fields=", ".join(field_label(f) for f in changed),
                ),
                "success",
            )
        else:
            flash(_("Der Eintrag entspricht bereits dieser Version."), "success")
    except ops.Conflict:
        session.rollback()
        flash(_("Der Eintrag wurde inzwischen geändert. Bitte prüfen Sie den Verlauf erneut."), "error")
    except ops.CurationError as exc:
        session.rollback()
        flash(str(exc), "error")
    return redirect(history_url(record))


@bp.route("/verlauf/<int:audit_id>/zeile-wiederherstellen", methods=["POST"])
@role_required("coordinator")
def restore_row(audit_id: int) -> Any:
    """Re-create a removed phone number, opening hours row or contact person."""
    session = get_session()
    row = get_or_404(AuditLog, audit_id)
    record = hist.owner_of(session, row)
    if record is None or not VersionForm().validate():
        abort(404 if record is None else 400)
    try:
        acting(session)
        hist.restore_row(session, audit_id)
        if not isinstance(record, Location):
            ops.touch(record)
        ops.commit(session)
        flash(_("Zeile wiederhergestellt."), "success")
    except (ops.CurationError, ops.Conflict) as exc:
        session.rollback()
        flash(str(exc) or _("Das ging nicht."), "error")
    return redirect(history_url(record))


def _merge_page(model: Any, keep_id: int, dup_id: int) -> Any:
    session = get_session()
    keep, dup = get_or_404(model, keep_id), get_or_404(model, dup_id)
    if keep.id == dup.id:
        abort(404)
    form = MergeForm(
        data=None
        if request.method == "POST"
        else {"version_id": keep.version_id, "duplicate_version_id": dup.version_id}
    )
    if request.method == "POST" and form.validate():
        try:
            ops.check_version(keep, form.version_id.data)
            ops.check_version(dup, form.duplicate_version_id.data)
            acting(session)
            ops.merge(session, keep, dup)
            ops.commit(session)
            flash(
                _(
                    "Zusammengeführt: „%(dup)s“ ist jetzt Teil von „%(keep)s“ und archiviert.",
                    dup=dup.name,
                    keep=keep.name,
                ),
                "success",
            )
            return redirect(edit_url(keep))
        except ops.Conflict:
            session.rollback()
            flash(
                _("Einer der Einträge wurde inzwischen geändert. Bitte prüfen Sie beide noch einmal."),
                "error",
            )
            form.version_id.data, form.duplicate_version_id.data = keep.version_id, dup.version_id
        except ops.CurationError as exc:
            session.rollback()
            flash(str(exc), "error")
    tasks = {e.id: len(open_tasks_for(session, e)) for e in (keep, dup)}
    return render_template(
        "curation/merge.html",
        keep=keep,
        dup=dup,
        form=form,
        tasks=tasks,
        kind="service" if model is Service else "organization",
    )


@bp.route("/organisationen/<int:keep_id>/zusammenfuehren/<int:dup_id>", methods=["GET", "POST"])
@role_required("coordinator")
def merge_organizations(keep_id: int, dup_id: int) -> Any:
    """Merge a duplicate organisation into the kept one."""
    return _merge_page(Organization, keep_id, dup_id)


@bp.route("/angebote/<int:keep_id>/zusammenfuehren/<int:dup_id>", methods=["GET", "POST"])
@role_required("coordinator")
def merge_services(keep_id: int, dup_id: int) -> Any:
    """Merge a duplicate offer into the kept one."""
    return _merge_page(Service, keep_id, dup_id)
