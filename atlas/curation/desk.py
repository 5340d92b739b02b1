"""Coordinator area: the start page, the review queue (paged, filtered, sorted) and the check view of one entry."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..auth import role_required
from ..checker.advice import state_label
from ..db import get_session
from ..i18n import current_lang
from ..models import Organization, Region, ReviewTask, Service, TaxonomyTerm, User
from ..params import int_arg, str_arg
from ..review import open_tasks_for
from . import checklist, vocab_label
from . import operations as ops
from .forms import NoteForm
from .models import PublicReport
from .ownership import count_without_owner, responsible
from .queue import GROUPS, SORTS, QueueFilter, narrow, queue_counts, queue_for
from .views import ENTRY_MODELS, _safe_back, acting, bp, edit_url, get_or_404, me, today

QUEUE_PAGE = 20


def _queue_for(person: User) -> list:
    return queue_for(get_session(), person, today(), current_app.config)


@bp.route("/")
@role_required("coordinator")
def start() -> Any:
    """The coordinator's start page: their review queue in numbers and the way to every tool."""
    session = get_session()
    items = _queue_for(me())
    live = Service.archived_at.is_(None)
    totals = {
        "services": session.scalar(select(func.count(Service.id)).where(live)) or 0,
        "organizations": session.scalar(
            select(func.count(Organization.id)).where(Organization.archived_at.is_(None))
        )
        or 0,
        "reports": session.scalar(select(func.count(PublicReport.id)).where(PublicReport.status == "offen"))
        or 0,
        "unassigned": session.scalar(
            select(func.count(ReviewTask.id)).where(
                ReviewTask.assignee_id.is_(None), ReviewTask.resolved_at.is_(None)
            )
        )
        or 0,
    } | count_without_owner(session)
    return render_template(
        "curation/start.html", counts=queue_counts(items), totals=totals, preview=items[:5], today=today()
    )


def _queue_filter() -> QueueFilter:
    due = str_arg("faellig_bis", 10)
    try:
        due_until = date.fromisoformat(due) if due else None
    except ValueError:
        due_until = None
    sort = str_arg("sortierung", 20)
    group = str_arg("gruppe", 20)
    kind = str_arg("art", 20)
    return QueueFilter(
        kind=kind if kind in ("angebote", "organisationen") else "",
        group=group if group in GROUPS else "",
        area=str_arg("bereich", 120),
        gemeinde=int_arg("gemeinde", 0, 0),
        due_until=due_until,
        sort=sort if sort in SORTS else "dringlichkeit",
    )


@bp.route("/pruefliste")
@role_required("coordinator")
def queue() -> Any:
    """The review queue of one coordinator (default: oneself): paged, filtered, most urgent first."""
    session = get_session()
    person = get_or_404(User, int_arg("person", current_user.id, 1))
    everything = _queue_for(person)
    filters = _queue_filter()
    items = narrow(everything, filters, today())
    number = int_arg("seite", 1, 1)
    pages = max(1, math.ceil(len(items) / QUEUE_PAGE))
    page_items = items[(number - 1) * QUEUE_PAGE : number * QUEUE_PAGE]
    lang = current_lang()
    return render_template(
        "curation/queue.html",
        items=page_items,
        total=len(items),
        counts=queue_counts(everything),
        person=person,
        coordinators=session.scalars(select(User).where(User.role == "coordinator").order_by(User.name)).all(),
        areas=[
            (t.slug, t.label(lang))
            for t in session.scalars(
                select(TaxonomyTerm).where(TaxonomyTerm.parent_id.is_(None)).order_by(TaxonomyTerm.sort_order)
            )
        ],
        gemeinden=session.scalars(select(Region).where(Region.kind == "gemeinde").order_by(Region.name)).all(),
        filters=filters,
        page_number=number,
        total_pages=pages,
        list_args={k: v for k, v in request.args.items() if k != "seite"},
        checklist_for=checklist.checklist_for,
        today=today(),
        note_form=NoteForm(),
    )


def _check_context(entry: Organization | Service) -> dict[str, Any]:
    session = get_session()
    labels = {
        "assured_date": _("Angaben insgesamt geprüft"),
        "waiting_time": _("Wartezeit"),
        "intake_status": _("Aufnahme"),
        "opening_hours": _("Öffnungszeiten"),
        "updated_at": _("Zuletzt geändert"),
    }
    if isinstance(entry, Service):
        labels["intake:" + entry.intake_status] = vocab_label("intake_status", entry.intake_status)
    return {
        "entry": entry,
        "is_service": isinstance(entry, Service),
        "facts": checklist.facts(entry, today(), labels),
        "links": checklist.link_states(session, entry),
        "reports": checklist.open_reports(session, entry),
        "tasks": open_tasks_for(session, entry),
        "points": checklist.checklist_for(entry),
        "checks": checklist.recent_checks(session, entry),
        "responsible": responsible(entry),
        "edit_url": edit_url(entry),
        "lang": current_lang(),
        "link_state_label": state_label,
        "next_url": _safe_back() or _safe_back(request.args.get("next", "")) or "",
    }


@bp.route("/<any(organisationen, angebote):kind>/<int:entry_id>/pruefen", methods=["GET", "POST"])
@role_required("coordinator")
def check(kind: str, entry_id: int) -> Any:
    """ "Angaben prüfen": what to look at for this entry, and recording what was checked."""
    session = get_session()
    entry = get_or_404(ENTRY_MODELS[kind], entry_id)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        form = NoteForm()
        try:
            if not form.validate():
                if form.csrf_token.errors:
                    abort(400)
                raise ops.CurationError(" ".join(form.note.errors))
            ops.check_version(entry, request.form.get("version_id"))
            checklist.record_check(
                session, entry, acting(session), today(), request.form.getlist("geprueft"), form.note.data
            )
            ops.commit(session)
            flash(_("„%(name)s“ als geprüft vermerkt (%(d)s).", name=entry.name, d=today().strftime("%d.%m.%Y")),
                  "success")
            return redirect(_safe_back() or url_for(".queue"))
        except ops.Conflict:
            session.rollback()
            status = 409
            errors.append(
                _("Der Eintrag wurde inzwischen von jemand anderem geändert. Bitte prüfen Sie den neuen Stand.")
            )
        except ops.CurationError as exc:
            session.rollback()
            status = 400
            errors.append(str(exc))
    context = _check_context(entry)
    ticked = set(request.form.getlist("geprueft"))
    return render_template("curation/check.html", errors=errors, ticked=ticked, **context), status


@bp.route("/aufgaben/<int:task_id>/erledigt", methods=["POST"])
@role_required("coordinator")
def resolve_task(task_id: int) -> Any:
    """Close a review task with an optional note."""
    session = get_session()
    task = get_or_404(ReviewTask, task_id)
    form = NoteForm()
    if not form.validate():
        flash(" ".join(form.note.errors), "error")
    elif task.resolved_at is None:
        ops.resolve_review_task(session, task, acting(session), form.note.data or None)
        session.commit()
        flash(_("Aufgabe erledigt."), "success")
    return redirect(_safe_back() or url_for(".queue", person=task.assignee_id or current_user.id))
