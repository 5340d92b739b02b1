"""The public offer page for a participant: call, address and the way there first; open now in Europe/Berlin."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from public_support import demo_app  # noqa: F401  (fixture)

from atlas.db import get_session
from atlas.models import Location, Service, ServiceAtLocation
from atlas.opening import holiday_name, opening_state, route_url

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = [{"freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "12:00"},
            {"freq": "WEEKLY", "byday": "TH", "opens_at": "14:00", "closes_at": "18:00"}]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


@pytest.fixture(scope="module")
def ctx(demo_app):
    with demo_app.test_request_context("/"):
        yield


@pytest.mark.parametrize("now, open_now, text", [
    ("2026-12-02T09:30", True, "Jetzt geöffnet – bis 12:00 Uhr"),          # Wednesday morning
    ("2026-12-02T07:15", False, "Jetzt geschlossen – öffnet heute um 08:00 Uhr"),
    ("2026-12-02T12:00", False, "Jetzt geschlossen – öffnet morgen um 08:00 Uhr"),
    ("2026-12-03T12:30", False, "Jetzt geschlossen – öffnet heute um 14:00 Uhr"),  # Thursday afternoon slot
    ("2026-12-04T13:00", False, "Jetzt geschlossen – öffnet am Montag um 08:00 Uhr"),  # Friday → Monday
    ("2026-12-25T09:00", False, "Heute ist Feiertag (Erster Weihnachtstag): geschlossen – öffnet am Montag um 08:00 Uhr"),
    ("2026-06-03T10:00", True, "Jetzt geöffnet"),                          # day before Fronleichnam
    ("2026-06-04T10:00", False, "Heute ist Feiertag (Fronleichnam)"),      # NRW holiday, not everywhere
])
def test_open_now_in_berlin_with_nrw_holidays(ctx, now, open_now, text):
    state = opening_state(WEEKDAYS, at(now))
    assert state.open_now is open_now and state.text.startswith(text), state.text


def test_open_now_uses_berlin_time_across_daylight_saving_changes(ctx):
    # 07:30 UTC is 08:30 in Berlin in winter (open) and 09:30 in summer (open); 06:30 UTC is 07:30 in winter.
    utc = ZoneInfo("UTC")
    assert opening_state(WEEKDAYS, datetime(2026, 3, 27, 7, 30, tzinfo=utc)).open_now  # Friday before the switch
    assert not opening_state(WEEKDAYS, datetime(2026, 3, 27, 6, 30, tzinfo=utc)).open_now
    assert opening_state(WEEKDAYS, datetime(2026, 3, 30, 6, 30, tzinfo=utc)).open_now  # Monday after: 08:30 CEST
    assert not opening_state(WEEKDAYS, datetime(2026, 10, 26, 6, 30, tzinfo=utc)).open_now  # 07:30 CET again


def test_hours_that_cannot_say_open_give_no_state(ctx):
    assert opening_state([]) is None
    assert opening_state([{"freq": "WEEKLY", "byday": "MO", "opens_at": None, "closes_at": None}]) is None
    assert opening_state([{"freq": "MONTHLY", "byday": "MO", "opens_at": "08:00", "closes_at": "10:00"}]) is None
    limited = [dict(WEEKDAYS[0], valid_to="2026-11-30")]
    assert opening_state(limited, at("2026-12-02T09:00")).text == "Jetzt geschlossen"


def test_nrw_holidays_are_known():
    assert holiday_name(at("2026-11-01").date()) == "Allerheiligen"
    assert holiday_name(at("2026-11-02").date()) == ""


def test_route_link_hands_the_address_to_the_device_or_a_configured_router(demo_app):
    with demo_app.test_request_context("/"):
        assert route_url("Annenstraße 112, 58453 Witten") == "geo:0,0?q=Annenstra%C3%9Fe%20112%2C%2058453%20Witten"
        assert route_url(None) is None
    demo_app.config["ROUTING_URL"] = "https://routing.example.org/?to={address}"
    try:
        with demo_app.test_request_context("/"):
            assert route_url("A 1, 58453 Witten") == "https://routing.example.org/?to=A%201%2C%2058453%20Witten"
    finally:
        demo_app.config["ROUTING_URL"] = None


def offer(demo_app, **where) -> Service:
    with demo_app.app_context():
        session = get_session()
        stmt = sa.select(Service).where(Service.visibility == "public", Service.status == "aktiv")
        for key, value in where.items():
            stmt = stmt.where(getattr(Service, key) == value)
        return session.scalars(stmt).first().id


def test_offer_page_puts_call_address_and_way_first(demo_app):
    sid = offer(demo_app, name="Suchtmedizinische Sprechstunde und Substitution")
    html = demo_app.test_client().get(f"/angebote/{sid}").get_data(as_text=True)
    order = [html.index(marker) for marker in ("Kurz erklärt", "So erreichen Sie das Angebot", 'href="tel:',
                                                "Annenstraße 112", "Weg dorthin", "Gut zu wissen",
                                                "Ausführliche Beschreibung")]
    assert order == sorted(order)
    assert 'href="geo:0,0?q=Annenstra%C3%9Fe%20112' in html
    assert re.search(r"Jetzt (geöffnet|geschlossen)|Heute ist Feiertag", html)
    assert "ambulant" not in html.split("Gut zu wissen")[1].split("Ausführliche Beschreibung")[0].lower()


def test_protected_sites_get_no_route_link(demo_app):
    with demo_app.app_context():
        session = get_session()
        sid = session.scalars(sa.select(Service.id).join(ServiceAtLocation).join(Location).where(
            Location.address_precision == "gemeinde", Location.visibility == "public", Service.visibility == "public",
            Service.status == "aktiv")).first()
    html = demo_app.test_client().get(f"/angebote/{sid}").get_data(as_text=True)
    assert "zum Schutz der Besucherinnen" in html and "geo:" not in html


def test_costs_are_not_said_twice(demo_app):
    with demo_app.app_context():
        session = get_session()
        sid = session.scalars(sa.select(Service.id).where(Service.fees_description.ilike("kostenlos%"))).first()
    if sid is None:
        pytest.skip("demo data has no offer whose fee text repeats 'kostenlos'")
    html = demo_app.test_client().get(f"/angebote/{sid}").get_data(as_text=True)
    costs = html.split("<dt>Kosten</dt>")[1].split("</dd>")[0]
    assert costs.lower().count("kostenlos") == 1, costs
