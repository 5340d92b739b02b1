"""Coordinator dashboard /verwaltung/links: counts, filters, per-link detail and actions, CSV/JSON export.

Staff may look (read-only: it helps them judge an entry); only coordinators act.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..audit import set_actor
from ..auth import role_required
from ..db import get_session
from ..models import Location, Organization, Service, utcnow
from ..params import ParamError, int_arg, str_arg
from . import advice, discovery, flags, scheduler, verdict
from .models import STATES, CheckRun, Link, LinkCheck, LinkUsage
from .runner import check_links
from .urls import UrlError, normalise, url_key
from .verdict import KIND_CLASS

bp = Blueprint("checker", __name__, url_prefix="/verwaltung/links")
PAGE_SIZE = 50
SEVERITY = {"broken": 0, "manual_check": 1, "warning": 2, "new": 3, "ok": 4, "ignored": 5}
NOTE_LIMIT = 2000


# -- reading -------------------------------------------------------------------------------------------------
def _filters() -> dict[str, str]:
    state, kind = str_arg("zustand", 20), str_arg("art", 40)
    if state and state not in STATES:
        raise ParamError(_("Unbekannter Zustand „%(value)s“.", value=state))
    if kind and kind not in KIND_CLASS:
        raise ParamError(_("Unbekannte Art „%(value)s“.", value=kind))
    return {"zustand": state, "art": kind, "q": str_arg("q", 200)}


def _query(filters: dict[str, str]) -> Any:
    stmt = select(Link).where(exists(select(LinkUsage.id).where(LinkUsage.link_id == Link.id)))
    if filters["zustand"]:
        stmt = stmt.where(Link.state == filters["zustand"])
    if filters["art"]:
        stmt = stmt.where(Link.kind.is_(None) if filters["art"] == "ok" else Link.kind == filters["art"])
    if filters["q"]:
        pattern = "%" + filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(Link.url.ilike(pattern, escape="\\"))
    order = case(*[(Link.state == s, n) for s, n in SEVERITY.items()], else_=9)
    return stmt.order_by(order, Link.url)


def _counts(session: Session) -> tuple[dict[str, int], list[tuple[str, int]]]:
    used = exists(select(LinkUsage.id).where(LinkUsage.link_id == Link.id))
    states = dict(session.execute(select(Link.state, func.count()).where(used).group_by(Link.state)).all())
    kinds = session.execute(select(Link.kind, func.count()).where(used, Link.kind.is_not(None))
                            .group_by(Link.kind).order_by(func.count().desc())).all()
    return {s: states.get(s, 0) for s in STATES}, [(k, n) for k, n in kinds]


def _entries(session: Session, links: list[Link]) -> dict[int, list[dict[str, Any]]]:
    """The records using each link, with names and (for offers) the staff page."""
    ids = [link.id for link in links]
    usages: list[LinkUsage] = []
    for i in range(0, len(ids), 500):
        usages += session.scalars(select(LinkUsage).where(LinkUsage.link_id.in_(ids[i:i + 500]))).all()
    wanted: dict[str, set[int]] = defaultdict(set)
    for usage in usages:
        wanted[usage.entity_type].add(usage.entity_id)
    names: dict[tuple[str, int], str] = {}
    if wanted["service"]:
        for sid, name, org in session.execute(select(Service.id, Service.name, Organization.name)
                                              .join(Service.organization).where(Service.id.in_(wanted["service"]))):
            names[("service", sid)] = f"{name} ({org})"
    if wanted["organization"]:
        for oid, name in session.execute(select(Organization.id, Organization.name)
                                         .where(Organization.id.in_(wanted["organization"]))):
            names[("organization", oid)] = name
    if wanted["location"]:
        for lid, name, org in session.execute(select(Location.id, Location.name, Organization.name)
                                              .join(Location.organization).where(Location.id.in_(wanted["location"]))):
            label = name or _("Standort")
            names[("location", lid)] = f"{label} ({org})"
    result: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for usage in sorted(usages, key=lambda u: (u.entity_type, u.entity_id, u.field)):
        result[usage.link_id].append({
            "entity_type": usage.entity_type, "entity_id": usage.entity_id, "field": usage.field,
            "field_label": advice.field_label(usage.entity_type, usage.field),
            "name": names.get((usage.entity_type, usage.entity_id), f"{usage.entity_type} {usage.entity_id}"),
            "url": url_for("staff.service", service_id=usage.entity_id) if usage.entity_type == "service" else None,
            "raw_url": usage.raw_url,
        })
    return result


def _row(link: Link, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"link": link, "entries": entries, "state_label": advice.state_label(link.state),
            "kind_label": advice.kind_label(link.kind) if link.kind else "",
            "advice": advice.kind_advice(link.kind) if link.state != "new" else _("Wird bald zum ersten Mal geprüft.")}


@bp.route("")
@role_required()
def dashboard() -> Any:
    """All links with problems first, filterable by state, finding and text."""
    session = get_session()
    filters = _filters()
    number = int_arg("seite", 1, 1)
    stmt = _query(filters)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    links = list(session.scalars(stmt.limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)))
    entries = _entries(session, links)
    states, kinds = _counts(session)
    runs = session.scalars(select(CheckRun).order_by(CheckRun.started_at.desc(), CheckRun.id.desc()).limit(5)).all()
    return render_template(
        "checker/dashboard.html", rows=[_row(link, entries.get(link.id, [])) for link in links], total=total,
        page_number=number, total_pages=max(1, math.ceil(total / PAGE_SIZE)), filters=filters, states=states,
        kinds=kinds, runs=runs, health=scheduler.status(session, current_app.config),
        service=scheduler.service_state(session, current_app.config),
        args={k: v for k, v in filters.items() if v}, state_label=advice.state_label, kind_label=advice.kind_label,
        all_kinds=list(KIND_CLASS),
    )


@bp.route("/<int:link_id>")
@role_required()
def detail(link_id: int) -> Any:
    """One link: where it is used, what the checks found, what to do."""
    session = get_session()
    link = session.get(Link, link_id) or abort(404)
    checks = session.scalars(select(LinkCheck).where(LinkCheck.link_id == link.id)
                             .order_by(LinkCheck.checked_at.desc(), LinkCheck.id.desc()).limit(20)).all()
    return render_template("checker/link.html", row=_row(link, _entries(session, [link]).get(link.id, [])),
                           checks=checks, state_label=advice.state_label, kind_label=advice.kind_label)


def _export_rows() -> list[dict[str, Any]]:
    session = get_session()
    links = list(session.scalars(_query(_filters()).limit(50000)))
    entries = _entries(session, links)
    return [{
        "id": link.id, "url": link.url, "state": link.state, "kind": link.kind or "ok", "detail": link.detail,
        "http_status": link.http_status, "final_url": link.final_url, "suggested_url": link.suggested_url,
        "consecutive_failures": link.consecutive_failures, "check_count": link.check_count,
        "first_failure_at": _iso(link.first_failure_at), "last_check_at": _iso(link.last_check_at),
        "last_success_at": _iso(link.last_success_at), "next_check_at": _iso(link.next_check_at),
        "note": link.note, "advice": str(advice.KIND_ADVICE.get(link.kind or "ok", "")),
        "entries": [{"type": e["entity_type"], "id": e["entity_id"], "name": e["name"], "field": e["field"]}
                    for e in entries.get(link.id, [])],
    } for link in links]


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


@bp.route("/export.json")
@role_required()
def export_json() -> Any:
    """The report (same filters as the page) as JSON."""
    rows = _export_rows()
    return {"generated_at": _iso(utcnow()), "count": len(rows), "links": rows}


def _cell(value: Any) -> Any:
    """Keep spreadsheet programs from running a cell as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.route("/export.csv")
@role_required()
def export_csv() -> Any:
    """The report (same filters as the page) as CSV (UTF-8 with BOM, semicolons, for spreadsheet programs)."""
    rows = _export_rows()
    out = io.StringIO()
    columns = ["id", "url", "state", "kind", "detail", "http_status", "final_url", "suggested_url",
               "consecutive_failures", "check_count", "first_failure_at", "last_check_at", "last_success_at",
               "next_check_at", "note", "entries"]
    writer = csv.writer(out, delimiter=";")
    writer.writerow(columns)
    for row in rows:
        row["entries"] = " | ".join(f"{e['type']} {e['id']} {e['name']} ({e['field']})" for e in row["entries"])
        writer.writerow([_cell(row[c]) for c in columns])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=links.csv"})


# -- actions -------------------------------------------------------------------------------------------------
def _link_for_action(link_id: int) -> tuple[Session, Link]:
    session = get_session()
    link = session.get(Link, link_id) or abort(404)
    set_actor(session, current_user.email, current_user.id)
    return session, link


def _back(link_id: int) -> Any:
    return redirect(url_for("checker.detail", link_id=link_id))


@bp.route("/<int:link_id>/pruefen", methods=["POST"])
@role_required("coordinator")
def check_now(link_id: int) -> Any:
    """Check one link at once and show the result."""
    session, link = _link_for_action(link_id)
    check_links(session, current_app.config, [link.id])
    link = session.get(Link, link_id)
    flash(_("Geprüft: %(state)s.", state=advice.state_label(link.state if link else None)), "success")
    return _back(link_id)


@bp.route("/<int:link_id>/ok", methods=["POST"])
@role_required("coordinator")
def mark_ok(link_id: int) -> Any:
    """The coordinator looked: the link is fine (re-checked as usual; the same finding no longer warns)."""
    session, link = _link_for_action(link_id)
    verdict.mark_ok(link, current_user.email)
    flags.resolve_link_tasks(session, link, "Als in Ordnung markiert.", current_user)
    session.commit()
    flash(_("Der Link ist als in Ordnung markiert."), "success")
    return _back(link_id)


@bp.route("/<int:link_id>/ignorieren", methods=["POST"])
@role_required("coordinator")
def ignore(link_id: int) -> Any:
    """Dismiss the link until its verdict changes."""
    session, link = _link_for_action(link_id)
    verdict.ignore(link, current_user.email)
    flags.resolve_link_tasks(session, link, "Ignoriert.", current_user)
    session.commit()
    flash(_("Der Link wird ignoriert, bis sich sein Zustand ändert."), "success")
    return _back(link_id)


@bp.route("/<int:link_id>/notiz", methods=["POST"])
@role_required("coordinator")
def note(link_id: int) -> Any:
    """Save a note on the link."""
    session, link = _link_for_action(link_id)
    text = (request.form.get("note") or "").strip()
    if len(text) > NOTE_LIMIT:
        flash(_("Die Notiz ist zu lang (höchstens %(n)s Zeichen).", n=NOTE_LIMIT), "error")
        return _back(link_id)
    link.note = text or None
    session.commit()
    flash(_("Notiz gespeichert."), "success")
    return _back(link_id)


@bp.route("/<int:link_id>/adresse", methods=["POST"])
@role_required("coordinator")
def edit_url(link_id: int) -> Any:
    """Replace the URL in every field that contains it (audited like any other edit)."""
    session, link = _link_for_action(link_id)
    return _replace(session, link, request.form.get("url") or "")


@bp.route("/<int:link_id>/weiterleitung", methods=["POST"])
@role_required("coordinator")
def accept_redirect(link_id: int) -> Any:
    """Take over the target of a permanent redirect in every field that uses the link."""
    session, link = _link_for_action(link_id)
    if not link.suggested_url:
        flash(_("Für diesen Link gibt es keine dauerhafte Weiterleitung zu übernehmen."), "error")
        return _back(link_id)
    return _replace(session, link, link.suggested_url)


def _replace(session: Session, link: Link, raw: str) -> Any:
    try:
        new_url = normalise(raw)
    except UrlError as exc:
        flash(_("Die neue Adresse wurde nicht gespeichert: %(reason)s", reason=str(exc)), "error")
        return _back(link.id)
    if new_url == link.url:
        flash(_("Die Adresse ist unverändert."), "error")
        return _back(link.id)
    try:
        changed = replace_url(session, link, new_url, current_user)
        session.commit()
    except StaleDataError:
        session.rollback()
        flash(_("Ein Eintrag wurde gerade von jemand anderem geändert. Bitte versuchen Sie es noch einmal."),
              "error")
        return _back(link.id)
    new_link = session.scalar(select(Link).where(Link.url_key == url_key(new_url)))
    flash(_("Die Adresse wurde in %(n)s Feld(ern) geändert; sie wird in Kürze geprüft.", n=changed), "success")
    return redirect(url_for("checker.detail", link_id=new_link.id) if new_link else url_for("checker.dashboard"))


def replace_url(session: Session, link: Link, new_url: str, user: Any = None) -> int:
    """Write new_url into every record field that uses the link (through the ORM, so it is audited); caller commits."""
    only: dict[str, list[int]] = defaultdict(list)
    changed = 0
    for usage in list(link.usages):
        model = discovery.SOURCES[usage.entity_type]
        entity = session.get(model, usage.entity_id)
        value = getattr(entity, usage.field, None) if entity is not None else None
        if not value:
            continue
        if value.strip() == usage.raw_url:
            setattr(entity, usage.field, new_url)
        elif usage.raw_url in value:
            setattr(entity, usage.field, value.replace(usage.raw_url, new_url))
        else:
            continue
        changed += 1
        only[usage.entity_type].append(usage.entity_id)
    flags.resolve_link_tasks(session, link, f"Adresse geändert auf {new_url}"[:500], user)
    session.flush()
    discovery.sync(session, only=dict(only))
    return changed
