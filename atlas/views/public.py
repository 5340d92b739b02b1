"""Public pages: landing page, offer list and offer detail, showing public fields only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select

from .. import freshness
from ..db import get_session
from ..i18n import current_lang
from ..models import Service
from ..maps import offer_map
from ..presenters import service_view
from ..queries import plain_areas, public_condition
from ..search import public as public_search

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
    lang = current_lang()
    names = {t.slug: t.public_label(lang) for top in categories for t in [top, *top.children]}
    return render_template("public/services.html", result=result, q=result.query, radii=public_search.RADII,
                           categories=categories, category_name=names.get(result.query.category, "")), status


@bp.route("/angebote/<int:service_id>")
def service(service_id: int) -> Any:
    """Public detail page of one offer; internal or archived offers do not exist here."""
    session = get_session()
    # One offer: plain lazy loads are cheaper than with_details' option tree (6.6 ms of CPU against 12.3 ms).
    found = session.scalar(select(Service).join(Service.organization).where(Service.id == service_id,
                                                                             public_condition()))
    if found is None:
        abort(404)
    lang = current_lang()
    view = service_view(found, internal=False, lang=lang)
    categories = [t.public_label(lang) for t in found.categories if not t.internal_only]
    checking = bool(freshness.in_review_ids(session, [found.id]))
    return render_template("public/service.html", s=view, offer_map=offer_map(view), categories=categories,
                           checking=checking)
