"""Staff pages (login required): start page, offer list and detail with internal fields."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, render_template
from sqlalchemy import func, select

from ..auth import role_required
from ..db import get_session
from ..i18n import current_lang
from ..models import AuditLog, Organization, Service
from ..params import int_arg, str_arg
from ..presenters import service_view
from ..review import open_tasks_for
from ..validity import in_force
from ..maps import offer_map
from ..queries import ListFilters, load_shared, page, public_gemeinden, services_query, top_categories, with_details

bp = Blueprint("staff", __name__, url_prefix="/intern")


@bp.route("/")
@role_required()
def dashboard() -> Any:
    """Start page for staff: counts of offers by state."""
    session = get_session()
    active = select(func.count(Service.id)).where(Service.archived_at.is_(None))
    year_ago = date.today() - timedelta(days=365)
    counts = {
        "services": session.scalar(active) or 0,
        "internal": session.scalar(active.where(Service.visibility == "internal")) or 0,
        "organizations": session.scalar(select(func.count(Organization.id)).where(Organization.archived_at.is_(None))) or 0,
        "unverified": session.scalar(active.where((Service.assured_date.is_(None)) | (Service.assured_date < year_ago))) or 0,
    }
    return render_template("staff/dashboard.html", counts=counts)


@bp.route("/angebote")
@role_required()
def services() -> Any:
    """All offers, internal ones included, with the same filters as the public list."""
    session = get_session()
    filters = ListFilters(text=str_arg("q"), category=str_arg("kategorie", 120), gemeinde=str_arg("gemeinde", 120),
                          jobcenter=str_arg("jobcenter", 120))
    number = int_arg("seite", 1, 1)
    size = 50
    rows, total = page(session, services_query(True, filters), number, size, internal=True)
    lang = current_lang()
    return render_template(
        "staff/services.html", services=[service_view(s, internal=True, lang=lang) for s in rows],
        total=total, page_number=number, total_pages=max(1, math.ceil(total / size)), filters=filters,
        categories=top_categories(session, internal=True), gemeinden=public_gemeinden(session),
    )


@bp.route("/angebote/<int:service_id>")
@role_required()
def service(service_id: int) -> Any:
    """One offer with every internal field, its contacts and its recent history."""
    session = get_session()
    found = session.scalar(with_details(select(Service), internal=True, shared=False).where(Service.id == service_id))
    if found is None:
        abort(404)
    load_shared(session, [found], internal=True)
    history = session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "service", AuditLog.entity_id == found.id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(20)).all()
    view = service_view(found, internal=True, lang=current_lang())
    return render_template("staff/service.html", s=view, public=found.is_public and in_force(found), history=history,
                           tasks=open_tasks_for(session, found), offer_map=offer_map(view))
