"""Finding 3: anonymous search hints (corrections, relaxed, scores) come from public offers only; finding 8: misses."""

from __future__ import annotations

import sqlalchemy as sa

from atlas.db import get_session
from atlas.search.models import SearchMiss


def api(client, **params):
    return client.get("/api/v1/services", query_string=params).get_json()


def test_typo_of_an_internal_offer_word_is_not_corrected_for_anonymous_callers(app, client, staff_client):
    # "Arbeitskreis" words exist only in internal/employer/ended sentinel offers; "Stammtisch" only in an internal one.
    anon = api(app.test_client(), q="Stammtish")
    assert anon["search"]["corrections"] == {} and anon["total_items"] == 0
    staff = staff_client.get("/api/v1/services", query_string={"q": "Stammtish"}).get_json()
    assert staff["search"]["corrections"] == {"stammtish": "stammtisch"}


def test_relaxed_does_not_tell_whether_a_word_exists_in_a_non_public_offer(app):
    client = app.test_client()
    internal_word = api(client, q="Schulden Stammtisch")
    unknown_word = api(client, q="Schulden Zauberwort")
    assert internal_word["search"] == unknown_word["search"] | {"corrections": internal_word["search"]["corrections"]}
    assert [i["name"] for i in internal_word["contents"]] == [i["name"] for i in unknown_word["contents"]]


def test_anonymous_flood_of_misses_is_limited_per_sender(app):
    client = app.test_client()
    for n in range(60):
        client.get("/api/v1/services", query_string={"q": f"nichtsda{n:03d}x"})
    with app.app_context():
        count = get_session().scalar(sa.select(sa.func.count(SearchMiss.id)))
    assert count == app.config["SEARCH_MISSES_PER_SENDER"]


def test_full_miss_list_lets_old_entries_age_out(make_app, app):
    small = make_app(SEARCH_MISSES_MAX=5, SEARCH_MISSES_PER_SENDER=1000)
    client = small.test_client()
    for n in range(8):
        client.get("/api/v1/services", query_string={"q": f"altlast{n:03d}x"})
    client.get("/api/v1/services", query_string={"q": "echtefrage"})
    with small.app_context():
        queries = set(get_session().scalars(sa.select(SearchMiss.query)))
    assert len(queries) == 5 and "echtefrage" in queries and "altlast000x" not in queries
