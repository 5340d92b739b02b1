"""Time-bound offers (issue 11, part 1): valid_from/valid_to hold everywhere, evaluated per request in Berlin."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import login, service_id

import atlas.search
from atlas import validity
from atlas.audit import set_actor
from atlas.db import get_session
from atlas.importers.export import Exporter
from atlas.models import Service, User

NAME = "Schuldnerberatung Lichtblick"
DAY = date(2027, 3, 15)


@pytest.fixture
def clock(monkeypatch):
    """An injected clock: set `clock.day` to move "today" (Europe/Berlin) for every check."""
    class Clock:
        day = DAY

    monkeypatch.setattr(validity, "today", lambda: Clock.day)
    return Clock


def set_period(app, start: date | None, end: date | None, name: str = NAME) -> int:
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        service = session.scalar(sa.select(Service).where(Service.name == name))
        service.valid_from, service.valid_to = start, end
        session.commit()
        atlas.search.sync(session)
        return service.id


def public_sightings(client, sid: int) -> dict[str, bool]:
    """Where an anonymous visitor meets the offer: list, search, detail page, API, map, export, count."""
    listing = client.get("/karte", query_string={"ansicht": "liste"}).get_data(as_text=True)
    searched = client.get("/angebote", query_string={"q": "Schuldnerberatung"}).get_data(as_text=True)
    api = client.get("/api/v1/services").get_json()
    found = client.get("/api/v1/services", query_string={"q": "Schuldnerberatung"}).get_json()
    markers = client.get("/karte/daten", query_string={"bbox": "50,6,53,9", "zoom": "16"}).get_json()
    with client.application.app_context():
        exported = [s["name"] for s in Exporter(get_session(), internal=False).service_records()]
    return {
        "list": NAME in listing,
        "search": NAME in searched,
        "detail": client.get(f"/angebote/{sid}").status_code == 200,
        "api": any(item["name"] == NAME for item in api["contents"]),
        "api_search": any(item["name"] == NAME for item in found["contents"]),
        "map": any(item[0] == sid for item in markers["items"]),
        "export": NAME in exported,
    }


def test_an_offer_is_public_only_within_its_period_without_any_write(app, clock):
    app.config["MAP_CACHE_SECONDS"] = 0  # in production a marker set may outlive midnight by these seconds
    client = app.test_client()
    sid = set_period(app, date(2027, 3, 16), date(2027, 3, 31))
    clock.day = date(2027, 3, 15)  # the day before it starts
    assert not any(public_sightings(client, sid).values())
    clock.day = date(2027, 3, 16)  # its first day: no edit, no re-index, no job
    assert all(public_sightings(client, sid).values())
    clock.day = date(2027, 3, 31)  # the last day still counts
    assert all(public_sightings(client, sid).values())
    clock.day = date(2027, 4, 1)
    assert not any(public_sightings(client, sid).values())


def test_the_home_page_count_follows_the_period(app, clock):
    client = app.test_client()

    def count() -> str:
        import re

        return re.search(r"(\d+)\s+Angebot", client.get("/").get_data(as_text=True)).group(1)

    before = int(count())
    set_period(app, None, date(2027, 3, 14))
    assert int(count()) == before - 1


def test_today_is_the_date_in_berlin(monkeypatch):
    """At 23:30 UTC on 31 March it is already 1 April in Berlin (summer time): an offer valid to 31 March has ended."""
    class Fixed(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2027, 3, 31, 23, 30, tzinfo=UTC).astimezone(tz)

    monkeypatch.setattr(validity, "datetime", Fixed)
    assert validity.today() == date(2027, 4, 1)
    assert validity.state(None, date(2027, 3, 31)) == "expired"
    assert validity.state(date(2027, 4, 1), None) is None


def test_staff_search_leaves_out_expired_offers_unless_asked_and_marks_them(app, clock):
    hit = f'id="treffer-{set_period(app, None, date(2027, 3, 1))}"'  # the name itself is split by <mark>
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    page = staff.get("/suche", query_string={"q": "Schuldnerberatung"}).get_data(as_text=True)
    assert hit not in page
    page = staff.get("/suche", query_string={"q": "Schuldnerberatung", "include_inactive": "1"}).get_data(as_text=True)
    assert hit in page and "abgelaufen am 01.03.2027" in page
    assert "Außerhalb der Gültigkeit: kann nicht ausgedruckt werden." in page
    detail = staff.get(f"/intern/angebote/{service_id(app, NAME)}").get_data(as_text=True)
    assert "abgelaufen am 01.03.2027" in detail and "nicht öffentlich und nicht in der Suche" in detail


def test_a_future_offer_is_marked_for_staff(app, clock):
    set_period(app, date(2027, 5, 1), None)
    staff = app.test_client()
    assert login(staff, "koordination@atlas.example").status_code == 302
    page = staff.get("/suche", query_string={"q": "Schuldnerberatung", "include_inactive": "1"}).get_data(as_text=True)
    assert "gilt erst ab 01.05.2027" in page
    listing = staff.get("/verwaltung/angebote").get_data(as_text=True)
    assert "gilt erst ab 01.05.2027" in listing



def test_staff_search_finds_an_offer_that_begins_soon_and_says_when(app, clock):
    """A course from 1 May is found in March by staff (people sign up ahead), marked, not printable; the public never."""
    hit = f'id="treffer-{set_period(app, date(2027, 5, 1), date(2027, 6, 30))}"'  # 47 days ahead
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    page = staff.get("/suche", query_string={"q": "Schuldnerberatung"}).get_data(as_text=True)
    assert hit in page and "gilt erst ab 01.05.2027" in page
    assert "Öffentlich und druckbar erst ab 01.05.2027." in page
    start = page.index(hit)
    following = page.find('id="treffer-', start + 1)
    card = page[start:following if following != -1 else page.index('class="shortlist"')]
    assert 'name="ids"' not in card  # it cannot go on a handout before its first day
    anonymous = app.test_client()
    assert NAME not in anonymous.get("/angebote", query_string={"q": "Schuldnerberatung"}).get_data(as_text=True)
    app.config["SEARCH_UPCOMING_DAYS"] = 30
    assert hit not in staff.get("/suche", query_string={"q": "Schuldnerberatung"}).get_data(as_text=True)


def test_staff_search_leaves_out_an_offer_that_begins_later(app, clock):
    hit = f'id="treffer-{set_period(app, date(2027, 7, 1), None)}"'  # 108 days ahead, beyond SEARCH_UPCOMING_DAYS
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    assert hit not in staff.get("/suche", query_string={"q": "Schuldnerberatung"}).get_data(as_text=True)
    api = staff.get("/api/v1/services", query_string={"q": "Schuldnerberatung"}).get_json()
    assert NAME not in [item["name"] for item in api["contents"]]

def own_everything(app) -> None:
    """Make the coordinator the owner of the offer, so it lands in their queue."""
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        kim = session.scalar(sa.select(User).where(User.email == "koordination@atlas.example"))
        service = session.scalar(sa.select(Service).where(Service.name == NAME))
        service.owner, service.assured_date = kim, DAY  # freshly verified: only the end brings it to the queue
        session.commit()


@pytest.mark.parametrize("notice, end, expected", [
    (30, DAY + timedelta(days=20), "Läuft am 04.04.2027 ab"),
    (30, DAY + timedelta(days=40), None),
    (60, DAY + timedelta(days=40), "Läuft am 24.04.2027 ab"),
    (30, DAY - timedelta(days=2), "Seit 13.03.2027 abgelaufen"),
])
def test_the_owner_is_told_before_an_offer_ends(app, clock, notice, end, expected):
    app.config["CURATION_EXPIRY_NOTICE_DAYS"] = notice
    own_everything(app)
    set_period(app, None, end)
    client = app.test_client()
    assert login(client, "koordination@atlas.example").status_code == 302
    queue = client.get("/verwaltung/pruefliste").get_data(as_text=True)
    if expected is None:
        assert NAME not in queue
    else:
        assert NAME in queue and expected in queue


def test_an_ended_offer_leaves_the_queue_once_it_is_ended(app, clock):
    own_everything(app)
    set_period(app, None, DAY - timedelta(days=2))
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        session.scalar(sa.select(Service).where(Service.name == NAME)).status = "beendet"
        session.commit()
    client = app.test_client()
    assert login(client, "koordination@atlas.example").status_code == 302
    assert NAME not in client.get("/verwaltung/pruefliste").get_data(as_text=True)


@pytest.mark.parametrize("then, expected", [
    (date(2027, 3, 15), "heute"), (date(2027, 3, 14), "vor 1 Tag"), (date(2027, 2, 20), "vor 23 Tagen"),
    (date(2027, 2, 15), "vor 1 Monat"), (date(2026, 1, 10), "vor 14 Monaten"), (date(2025, 3, 16), "vor 23 Monaten"),
    (date(2024, 3, 15), "vor 3 Jahren"),
])
def test_age_in_words(app, then, expected):
    with app.test_request_context():
        assert validity.ago(then, DAY) == expected


def test_a_staff_result_card_shows_dated_facts_and_an_overdue_check_in_words(app, clock):
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        service = session.scalar(sa.select(Service).where(Service.name == NAME))
        service.waiting_time, service.waiting_time_confirmed_at = "ca. 6 Wochen", date(2027, 1, 12)
        service.intake_status, service.intake_status_confirmed_at = "warteliste", date(2027, 2, 1)
        service.assured_date = date(2026, 1, 10)  # 14 months before the clock's day: beyond a 12-month interval
        interval = service.review_interval_months
        session.commit()
        atlas.search.sync(session)
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    page = staff.get("/suche", query_string={"q": "Schuldnerberatung"}).get_data(as_text=True)
    assert "Aufnahme: Warteliste · Stand 01.02.2027" in page
    assert "Wartezeit: ca. 6 Wochen · Stand 12.01.2027" in page
    assert "geprüft vor 14 Monaten (10.01.2026)" in page
    assert ("Prüfung überfällig" in page) == (interval <= 14)
