"""Public pages: landing page, offer list and offer detail, showing public fields only."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, abort, render_template
from sqlalchemy import func, select

from ..db import get_session
from ..i18n import current_lang
from ..models import Service
from ..params import int_arg, str_arg
from ..presenters import service_view
from ..maps import offer_map
from ..queries import ListFilters, page, public_condition, public_gemeinden, services_query, top_categories, with_details

bp = Blueprint("public", __name__)


@bp.route("/")
def index() -> Any:
    """Landing page: what the atlas is, categories to start from, crisis numbers."""
    session = get_session()
    total = session.scalar(select(func.count(Service.id)).join(Service.organization).where(public_condition())) or 0
    return render_template("public/index.html", categories=top_categories(session, internal=False), total=total)


def list_filters() -> ListFilters:
    """Read the list filters from the query string."""
    return ListFilters(text=str_arg("q"), category=str_arg("kategorie", 120), gemeinde=str_arg("gemeinde", 120))


@bp.route("/angebote")
def services() -> Any:
    """Public list of offers, filterable by text, category and Gemeinde."""
    session = get_session()
    filters = list_filters()
    number = int_arg("seite", 1, 1)
    size = 25
    rows, total = page(session, services_query(False, filters), number, size)
    lang = current_lang()
    return render_template(
        "public/services.html",
        services=[service_view(s, internal=False, lang=lang) for s in rows],
        total=total, page_number=number, total_pages=max(1, math.ceil(total / size)), filters=filters,
        categories=top_categories(session, internal=False), gemeinden=public_gemeinden(session),
    )


@bp.route("/angebote/<int:service_id>")
def service(service_id: int) -> Any:
    """Public detail page of one offer; internal or archived offers do not exist here."""
    session = get_session()
    found = session.scalar(with_details(select(Service).join(Service.organization)
                                        .where(Service.id == service_id, public_condition())))
    if found is None:
        abort(404)
    view = service_view(found, internal=False, lang=current_lang())
    return render_template("public/service.html", s=view, offer_map=offer_map(view))
