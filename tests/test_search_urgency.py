"""Time words (issue 17, part 2): "bald", "sofort", "heute" ask for soon, not for an offer containing the word."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from search_support import load_search_data, module_app

import atlas.search
from atlas.audit import set_actor
from atlas.db import get_session
from atlas.models import Service
from atlas.search.query import SynonymTable, parse, urgent


@pytest.fixture(scope="module")
def app(tmp_path_factory, password_hash):
    """The search test data (two debt counselling offers) in its own database: this module edits it."""
    yield from module_app(tmp_path_factory, "urgency", "_urgency", lambda app: load_search_data(app, password_hash))


def test_time_words_are_a_wish_not_a_word():
    table = SynonymTable([])
    assert [s.label for s in parse("Schuldnerberatung bald", table, 12)] == ["schuldnerberatung"]
    assert [s.label for s in parse("heute Nacht keinen Schlafplatz", table, 12)] == ["nacht", "schlafplatz"]
    assert [s.label for s in parse("sofort", table, 12)] == ["sofort"]  # alone it is all there is to search
    assert urgent("Termin SOFORT", 12) and urgent("Hilfe heute", 12) and not urgent("Schuldnerberatung", 12)


def test_soon_ranks_offers_with_short_notice_or_open_intake_first_among_equals(app):
    client = app.test_client()
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        caritas = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung der Caritas"))
        lichtblick = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        for service in (caritas, lichtblick):
            service.intake_status, service.short_notice = "warteliste", False
        session.commit()
        atlas.search.sync(session)

    def order(q: str) -> list[str]:
        body = client.get("/api/v1/services", query_string={"q": q}).get_json()
        return [item["name"] for item in body["contents"] if item["name"].startswith("Schuldnerberatung")]

    plain = order("Schuldnerberatung")
    assert len(plain) == 2
    later = plain[1]
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        session.scalar(sa.select(Service).where(Service.name == later)).short_notice = True
        session.commit()
        atlas.search.sync(session)
    assert order("Schuldnerberatung")[1] == later  # without a time word nothing moves
    assert order("Schuldnerberatung bald")[0] == later
    assert order("Schuldnerberatung sofort")[0] == later
