"""Read-only JSON API in the shape of the Open Referral HSDS 3.0 API reference."""

from __future__ import annotations

import math
import re
from typing import Any

from flask import Blueprint, abort, current_app, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .auth import csrf, is_staff
from .db import get_session
from .i18n import current_lang
from .models import Service
from .hsds import PROFILE_URI, api_service, category_term
from .params import int_arg, parse_id, str_arg
from .queries import ListFilters, page, public_condition, services_query, top_categories, with_details
from .search.api import search_requested, search_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# HSDS ids are UUIDs; imported ones may be other short source ids, never control characters or huge strings.
UUID_LIKE = re.compile(r"[A-Za-z0-9._:-]{1,36}")
csrf.exempt(bp)


@bp.before_request
def reject_bad_token() -> Any:
    """A request with an Authorization header that did not authenticate is refused, not treated as public."""
    if request.headers.get("Authorization") and not is_staff():
        return {"error": {"status": 401, "message": _("Das API-Token ist ungültig oder widerrufen.")}}, 401
    return None


@bp.after_request
def no_store_for_staff(response: Any) -> Any:
    """Internal answers must not be cached by shared caches."""
    response.headers["Cache-Control"] = "private, no-store" if is_staff() else "public, max-age=60"
    response.headers["Vary"] = "Authorization, Cookie, Accept-Language"
    return response


@bp.route("/")
def root() -> Any:
    """HSDS API root: version and profile."""
    return {"version": "3.0", "profile": PROFILE_URI, "openapi_url": None,
            "services_url": url_for("api.services", _external=True)}


@bp.route("/services")
def services() -> Any:
    """A page of services with the HSDS paging envelope; public callers get public data only."""
    internal = is_staff()
    if search_requested(request.args):
        return search_response(internal)
    size = int_arg("per_page", current_app.config["PER_PAGE"], 1, current_app.config["API_MAX_PER_PAGE"], clamp=True)
    number = int_arg("page", 1, 1)
    filters = ListFilters(text=str_arg("q") or str_arg("search"), category=str_arg("category", 120),
                          gemeinde=str_arg("gemeinde", 120), jobcenter=str_arg("jobcenter", 120))
    rows, total = page(get_session(), services_query(internal, filters), number, size)
    total_pages = max(1, math.ceil(total / size))
    lang = current_lang()
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": number,
        "size": size,
        "first_page": number == 1,
        "last_page": number >= total_pages,
        "empty": not rows,
        "contents": [api_service(s, internal, lang) for s in rows],
    }


@bp.route("/services/<service_id>")
def service(service_id: str) -> Any:
    """One service by its HSDS id (UUID) or its numeric atlas id."""
    stmt = with_details(select(Service).join(Service.organization))
    number = parse_id(service_id)
    if number is None and not UUID_LIKE.fullmatch(service_id):
        abort(404, _("Es gibt kein Angebot mit dieser ID."))
    key = Service.id == number if number is not None else Service.uuid == service_id
    stmt = stmt.where(key)
    if not is_staff():
        stmt = stmt.where(public_condition())
    found = get_session().scalar(stmt)
    if found is None:
        abort(404, _("Es gibt kein Angebot mit dieser ID."))
    return api_service(found, is_staff(), current_lang())


@bp.route("/taxonomy_terms")
def taxonomy_terms() -> Any:
    """The category taxonomy, both levels, as HSDS taxonomy terms."""
    lang = current_lang()
    terms = []
    for top in top_categories(get_session(), is_staff()):
        terms.append(category_term(top, lang))
        terms.extend(category_term(c, lang) for c in top.children if is_staff() or not c.internal_only)
    return {"total_items": len(terms), "total_pages": 1, "page_number": 1, "size": len(terms),
            "first_page": True, "last_page": True, "empty": not terms, "contents": terms}


