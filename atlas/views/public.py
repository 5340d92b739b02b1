"""Public pages: landing page, offer list and offer detail, showing public fields only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select

from .. import freshness
from ..checker import HINT_KINDS
from ..db import get_session
from ..i18n import current_lang
from ..models import Service
from ..maps import offer_map
from ..queries import plain_areas, public_condition, public_labels
from ..search import public as public_search
from ..search.service import load_views

bp = Blueprint("public", __name__)


@bp.route("/")
def index() -> Any:
    """Landing page: what the atlas is, categories to start from, crisis numbers."""
    session = get_session()
    total = session.scalar(select(func.count(Service.id)).join(Service.organization).where(public_condition())) or 0
    return render_template("public/index.html", categories=plain_areas(session, internal=False), total=total,
                           q=public_search.PublicQuery(), radii=public_search.RADII)


@bp.route("/angebote")
def services() -> Any:
    """Public search: the staff engine over public offers, with a place typed into the text or given apart."""
    session = get_session()
    result = public_search.run(session, request.args, current_lang())
    status = 400 if result.error else 200
    categories = plain_areas(session, internal=False)
    name = public_labels(session, current_lang()).get(result.query.category, "")
    return render_template("public/services.html", result=result, q=result.query, radii=public_search.RADII,
                           categories=categories, category_name=name), status


@bp.route("/angebote/<int:service_id>")
def service(service_id: int) -> Any:
    """Public detail page of one offer; internal or archived offers do not exist here."""
    session = get_session()
    lang = current_lang()
    # The presented offer comes from the search's view cache, keyed by the versions of the offer, its organisation
    # and its locations: an unchanged offer costs one query instead of about fifteen lazy loads.
    found = load_views(session, [service_id], internal=False, include_archived=False, lang=lang).get(service_id)
    if found is None:
        abort(404)
    view = found[0]
    names = public_labels(session, lang)
    categories = [names[t["code"]] for t in view["taxonomy_terms"] if t["code"] in names]
    kinds = freshness.open_review_kinds(session, service_id)
    # One notice: a report or a broken link asks the reader to check first; a changed link or an overdue review
    # only says that the details are being checked (both used to show, one under the other).
    notice = "checking" if kinds & set(freshness.DOUBT_KINDS) else "hint" if kinds & set(HINT_KINDS) else None
    return render_template("public/service.html", s=view, offer_map=offer_map(view), categories=categories,
                           notice=notice)
