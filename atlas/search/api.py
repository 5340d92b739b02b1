"""GET /api/v1/services with search parameters: the same search as /suche, in the HSDS paging envelope."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from werkzeug.datastructures import MultiDict

from ..db import get_session
from ..i18n import current_lang
from . import crisis
from .language import query_languages
from .params import parse_search_params
from .service import api_item, search

# Without any of these the API keeps its plain list behaviour (sorted by name, SQL filters only).
SEARCH_KEYS = {"q", "search", "near", "place_in_text", "radius_km", "kreis", "cost", "channel", "accessibility", "language",
               "easy_language", "accepting", "short_notice", "current_only", "verified_within_months",
               "starts_within_weeks", "include_inactive", "include_archived", "include_supra_regional", "sort"}


def search_requested(args: MultiDict) -> bool:
    """True when the request asks for the search engine rather than the plain list."""
    return any(args.get(key, "").strip() for key in SEARCH_KEYS)


def search_response(internal: bool) -> dict[str, Any]:
    """One page of search results; public callers get public offers and fields only."""
    session = get_session()
    params = parse_search_params(request.args, session, internal)
    page = search(session, params, internal, current_lang(), hsds=True)
    return {
        "total_items": page.total,
        "total_pages": page.total_pages,
        "page_number": params.page,
        "size": params.per_page,
        "first_page": params.page == 1,
        "last_page": params.page >= page.total_pages,
        "empty": not page.hits,
        "contents": [api_item(hit, internal, current_lang()) for hit in page.hits],
        "search": {
            "origin": {"label": params.origin.label, "latitude": params.origin.latitude,
                       "longitude": params.origin.longitude} if params.origin else None,
            "radius_km": params.radius_km,
            "place_from_text": params.place_from_text or None,  # "Hausarzt Lüdenscheid": Lüdenscheid became `near`
            "sort": params.effective_sort,
            "corrections": page.match.corrections,
            "relaxed": page.match.relaxed,
            "widened": page.match.widened,  # few offers hold every word; those holding all but one follow
            "by_meaning": page.match.by_meaning,
            # The offers are described in German; a query in another language says which one it seemed to be.
            "query_languages": list(query_languages(params.text)),
            # A language the search asks the help to be in ("auf Türkisch"): offers where it is spoken rank first.
            "languages_wished": list(page.match.wished),
            "results_language": "de",
        },
        # A search that signals danger: the numbers to call; hits marked `crisis_help` come first.
        "crisis": crisis.api_view(page.crisis, current_app.config["CRISIS_NUMBERS"]),
    }
