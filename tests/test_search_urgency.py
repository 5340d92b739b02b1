"""Time and cost words (issue 17, part 2): "bald" asks for soon and "kostenlos" for free, not for an offer holding the word."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from search_support import load_search_data, module_app

import atlas.search
from atlas.audit import set_actor
from atlas.db import get_session
from atlas.models import Service
from atlas.search.query import SynonymTable, costless, parse, urgent


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


def test_cost_words_are_a_wish_not_a_word():
    table = SynonymTable([])
    assert [s.label for s in parse("Klamotten billig", table, 12)] == ["klamotten"]
    assert [s.label for s in parse("kostenlose Rechtsberatung", table, 12)] == ["rechtsberatung"]
    assert [s.label for s in parse("günstiger Sport", table, 12)] == ["sport"]
    assert [s.label for s in parse("ücretsiz avukat", table, 12)] == ["avukat"]
    assert [s.label for s in parse("umsonst", table, 12)] == ["umsonst"]  # alone it is all there is to search
    assert costless("Sport KOSTENLOS", 12) and costless("безкоштовна їжа", 12) and costless("طعام مجاني", 12)
    assert not costless("Schuldnerberatung", 12) and not costless("Kostenübernahme Reha", 12)


def test_a_cost_word_in_front_of_a_compound_is_a_wish_too():
    table = SynonymTable([])
    assert [s.label for s in parse("Billigticket Bus", table, 12)] == ["ticket", "bus"]
    assert [s.label for s in parse("Gratisessen", table, 12)] == ["essen"]
    assert costless("Billigticket", 12) and costless("Gratisessen Hagen", 12)
    assert [s.label for s in parse("Sozialticket", table, 12)] == ["sozialticket"] and not costless("Sozialticket", 12)


def test_free_or_cheap_ranks_offers_that_cost_nothing_first_among_equals(app):
    client = app.test_client()

    def search(q: str) -> list[dict]:
        body = client.get("/api/v1/services", query_string={"q": q}).get_json()
        return [item for item in body["contents"] if item["name"].startswith("Schuldnerberatung")]

    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        for service in session.scalars(sa.select(Service).where(Service.name.startswith("Schuldnerberatung"))):
            service.cost_options = ["selbstzahler"]
        session.commit()
        atlas.search.sync(session)
    plain = [item["name"] for item in search("Schuldnerberatung")]
    assert len(plain) == 2
    later = plain[1]
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        session.scalar(sa.select(Service).where(Service.name == later)).cost_options = ["spende"]
        session.commit()
        atlas.search.sync(session)
    assert [item["name"] for item in search("Schuldnerberatung")] == plain  # without a cost word nothing moves
    for q in ("Schuldnerberatung kostenlos", "billige Schuldnerberatung", "Schuldnerberatung umsonst"):
        first, second = search(q)
        assert first["name"] == later, q
        assert first["atlas"]["search"]["why"].endswith("auf Spendenbasis"), first["atlas"]["search"]["why"]
        assert "Spendenbasis" not in second["atlas"]["search"]["why"] and "kostenpflichtig" not in second["atlas"]["search"]["why"]
    assert "Spendenbasis" not in search("Schuldnerberatung")[1]["atlas"]["search"]["why"]
