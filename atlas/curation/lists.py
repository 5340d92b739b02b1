"""Coordinator area: the lists of organisations and offers, filtered by people, and bulk assignment of owners."""

from __future__ import annotations

import math
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..auth import role_required
from ..db import get_session
from ..models import AuditLog, Organization, Service
from ..params import int_arg, str_arg
from . import operations as ops
from . import ownership
from .views import _safe_back, acting, bp, people_choices

PER_PAGE = 50
LISTS = {
    "angebote": (Service, "curation/services.html", "curation.services"),
    "organisationen": (Organization, "curation/organizations.html", "curation.organizations"),
}


def people_args() -> dict[str, Any]:
    """The people filters of a list request: own ("ohne"/"keine"/""), owner and deputy ids."""
    own = str_arg("eigene", 10)
    return {
        "own": own if own in ("ohne", "keine") else "",
        "owner": int_arg("verantwortlich", 0, 0),
        "deputy": int_arg("vertretung", 0, 0),
    }


def _listing(kind: str, stmt: Any, http_status: int = 200, **context: Any) -> Any:
    session = get_session()
    model, template, endpoint = LISTS[kind]
    people = people_args()
    stmt = ownership.filter_people(stmt, model, people["own"], people["owner"], people["deputy"])
    number = int_arg("seite", 1, 1)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(PER_PAGE).offset((number - 1) * PER_PAGE)).all()
    args = {k: v for k, v in request.args.items() if k != "seite"}
    return render_template(
        template,
        rows=rows,
        total=total,
        page_number=number,
        total_pages=max(1, math.ceil(total / PER_PAGE)),
        people=people,
        people_list=ownership.people_with_entries(session),
        assign_choices=people_choices(session),
        responsible=ownership.responsible,
        list_args=args,
        kind=kind,
        endpoint=endpoint,
        **context,
    ), http_status


def _services_stmt() -> tuple[Any, dict[str, Any]]:
    q, archived, status = str_arg("q"), request.args.get("archiv") == "1", str_arg("status", 20)
    stmt = (
        select(Service)
        .join(Service.organization)
        .options(
            selectinload(Service.organization).selectinload(Organization.owner),
            selectinload(Service.organization).selectinload(Organization.deputy),
            selectinload(Service.owner),
            selectinload(Service.deputy),
        )
        .order_by(func.lower(Service.name), Service.id)
    )
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Service.name).like(like), func.lower(Organization.name).like(like)))
    if status:
        stmt = stmt.where(Service.status == status)
    if not archived:
        stmt = stmt.where(Service.archived_at.is_(None))
    return stmt, {"q": q, "archived": archived, "status": status}


def _organizations_stmt() -> tuple[Any, dict[str, Any]]:
    q, archived = str_arg("q"), request.args.get("archiv") == "1"
    stmt = (
        select(Organization)
        .options(selectinload(Organization.owner), selectinload(Organization.deputy))
        .order_by(func.lower(Organization.name), Organization.id)
    )
    if q:
        stmt = stmt.where(func.lower(Organization.name).like(f"%{q.lower()}%"))
    if not archived:
        stmt = stmt.where(Organization.archived_at.is_(None))
    return stmt, {"q": q, "archived": archived}


STATEMENTS = {"angebote": _services_stmt, "organisationen": _organizations_stmt}


@bp.route("/angebote")
@role_required("coordinator")
def services() -> Any:
    """All offers with their effective owner and deputy; filter by text, status and people."""
    stmt, context = _services_stmt()
    return _listing("angebote", stmt, **context)


@bp.route("/organisationen")
@role_required("coordinator")
def organizations() -> Any:
    """All organisations with owner and deputy; filter by name and people."""
    stmt, context = _organizations_stmt()
    return _listing("organisationen", stmt, **context)


def _selected() -> dict[int, str]:
    """The ticked entries of a bulk form as {id: version the list showed} ("12:3" per checkbox)."""
    chosen = {}
    for raw in request.form.getlist("eintrag"):
        ident, _sep, version = raw.partition(":")
        if ident.isdigit() and version.isdigit():
            chosen[int(ident)] = version
    return chosen


def _person(name: str) -> int:
    raw = request.form.get(name, "")
    return int(raw) if raw.lstrip("-").isdigit() else ownership.UNCHANGED


@bp.route("/<any(organisationen, angebote):kind>/zuweisen", methods=["POST"])
@role_required("coordinator")
def bulk_assign(kind: str) -> Any:
    """Give many entries a new owner and/or deputy at once; a changed entry stops all (409, nothing saved)."""
    session = get_session()
    model = LISTS[kind][0]
    chosen = _selected()
    back = _safe_back() or url_for(LISTS[kind][2])
    if not chosen:
        flash(_("Bitte kreuzen Sie mindestens einen Eintrag an."), "error")
        return redirect(back)
    try:
        acting(session)
        result = ownership.bulk_assign(session, model, chosen, _person("owner_id"), _person("deputy_id"))
        ops.commit(session)
    except ops.Conflict as exc:
        session.rollback()
        stale = [(e, _last_change(session, kind, e)) for e in getattr(exc, "stale", [])]
        stmt, context = STATEMENTS[kind]()
        return _listing(kind, stmt, http_status=409, stale_entries=stale, **context)
    except ops.CurationError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    flash(
        ngettext(
            "%(num)d Eintrag neu zugewiesen.", "%(num)d Einträge neu zugewiesen.", result.changed
        ),
        "success",
    )
    return redirect(back)


def _last_change(session: Any, kind: str, entry: Any) -> AuditLog | None:
    entity = "service" if kind == "angebote" else "organization"
    return session.scalar(
        select(AuditLog)
        .where(AuditLog.entity_type == entity, AuditLog.entity_id == entry.id)
        .order_by(AuditLog.id.desc())
        .limit(1)
    )
