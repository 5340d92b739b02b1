"""Stale volatile facts in the owner's review queue, and what saving a changed fact does to its confirmed-on date."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from conftest import csrf_token
from curation_support import load, submit

from atlas import validity
from atlas.audit import set_actor
from atlas.curation.queue import review_queue
from atlas.db import get_session
from atlas.models import Organization, Service, TaxonomyTerm, User

DAY = date(2026, 12, 3)
SLUG = "schuldnerberatung"


@pytest.fixture
def clock(monkeypatch):
    """An injected clock: every "today" (Europe/Berlin) is DAY."""
    monkeypatch.setattr(validity, "today", lambda: DAY)
    return DAY


def kim(session):
    return session.scalar(sa.select(User).where(User.email == "koordination@atlas.example"))


def stale_offer(app, checked_days: int = 130) -> int:
    """Kim's offer, wholly checked 130 days ago (the check is not due) with a waiting time confirmed then."""
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        me = kim(session)
        org = Organization(name="Träger mit Wartezeit", owner=me, assured_date=DAY)
        svc = Service(name="Beratung mit Wartezeit", organization=org, owner=me,
                      assured_date=DAY - timedelta(days=checked_days), waiting_time="etwa 6 Wochen",
                      waiting_time_confirmed_at=DAY - timedelta(days=130), intake_status="offen",
                      intake_status_confirmed_at=DAY - timedelta(days=10),
                      categories=[session.scalar(sa.select(TaxonomyTerm).where(TaxonomyTerm.slug == SLUG))])
        session.add_all([org, svc])
        session.commit()
        return svc.id


def queue_lines(app, sid: int) -> list:
    with app.app_context():
        session = get_session()
        return [(i.group, i.stale) for i in review_queue(session, kim(session), DAY) if i.entry.id == sid]


def test_a_stale_waiting_time_puts_the_offer_in_the_queue_until_confirmed(app, coordinator_client, clock):
    sid = stale_offer(app)
    assert queue_lines(app, sid) == [("overdue", [("waiting_time", DAY - timedelta(days=130))])]
    page = coordinator_client.get("/verwaltung/pruefliste").get_data(as_text=True)
    assert "Wartezeit seit 4 Monaten nicht bestätigt" in page
    token = csrf_token(coordinator_client, f"/verwaltung/angebote/{sid}")
    version = load(app, Service, sid, "version_id")["version_id"]
    response = coordinator_client.post(f"/verwaltung/angebote/{sid}/bestaetigt/wartezeit",
                                       data={"csrf_token": token, "version_id": version})
    assert response.status_code == 302
    assert queue_lines(app, sid) == []
    assert "Wartezeit seit" not in coordinator_client.get("/verwaltung/pruefliste").get_data(as_text=True)


def test_angaben_pruefen_confirms_the_facts_too(app, coordinator_client, clock):
    sid = stale_offer(app)
    token = csrf_token(coordinator_client, f"/verwaltung/angebote/{sid}")
    version = load(app, Service, sid, "version_id")["version_id"]
    response = coordinator_client.post(f"/verwaltung/angebote/{sid}/pruefen",
                                       data={"csrf_token": token, "version_id": version, "geprueft": "besteht"})
    assert response.status_code == 302
    assert load(app, Service, sid, "assured_date")["assured_date"] == DAY
    assert queue_lines(app, sid) == []


def test_an_unset_fact_never_goes_stale_and_a_due_check_carries_the_lines(app, clock):
    sid = stale_offer(app, checked_days=400)
    assert queue_lines(app, sid) == [("overdue", [("waiting_time", DAY - timedelta(days=130))])]
    with app.app_context():
        session = get_session()
        session.get(Service, sid).waiting_time = None
        session.commit()
    assert queue_lines(app, sid) == [("overdue", [])]  # still due for its whole check, no stale fact


def test_saving_a_changed_intake_status_confirms_it_today(app, coordinator_client, clock):
    sid = stale_offer(app)
    path = f"/verwaltung/angebote/{sid}"
    assert submit(coordinator_client, path, {"intake_status": "warteliste"}).status_code == 302
    got = load(app, Service, sid, "intake_status", "intake_status_confirmed_at", "waiting_time_confirmed_at")
    assert got == {"intake_status": "warteliste", "intake_status_confirmed_at": DAY,
                   "waiting_time_confirmed_at": DAY - timedelta(days=130)}  # the unchanged fact keeps its date
    history = coordinator_client.get(f"/verwaltung/angebote/{sid}/verlauf").get_data(as_text=True)
    assert "Warteliste" in history


def test_changed_but_not_confirmed_keeps_the_old_date(app, coordinator_client, clock):
    sid = stale_offer(app)
    path = f"/verwaltung/angebote/{sid}"
    form = coordinator_client.get(path).get_data(as_text=True)
    for fact in ("waiting_time", "intake_status", "opening_hours"):
        assert f'<label for="{fact}_unconfirmed">noch nicht bestätigt (nur geändert)</label>' in form
    changes = {"waiting_time": "etwa 3 Monate", "waiting_time_unconfirmed": "y"}
    assert submit(coordinator_client, path, changes).status_code == 302
    got = load(app, Service, sid, "waiting_time", "waiting_time_confirmed_at")
    assert got == {"waiting_time": "etwa 3 Monate", "waiting_time_confirmed_at": DAY - timedelta(days=130)}
    assert queue_lines(app, sid)[0][1] == [("waiting_time", DAY - timedelta(days=130))]


def test_saving_unchanged_values_keeps_every_date(app, coordinator_client, clock):
    sid = stale_offer(app)
    path = f"/verwaltung/angebote/{sid}"
    assert submit(coordinator_client, path, {"schedules-0-byday": ["MO"], "schedules-0-opens_at": "9:00",
                                             "schedules-0-closes_at": "12:00"}).status_code == 302
    assert load(app, Service, sid, "opening_hours_confirmed_at")["opening_hours_confirmed_at"] == DAY
    with app.app_context():
        session = get_session()
        session.get(Service, sid).opening_hours_confirmed_at = DAY - timedelta(days=50)
        session.commit()
    before = load(app, Service, sid, "waiting_time_confirmed_at", "intake_status_confirmed_at",
                  "opening_hours_confirmed_at")
    assert submit(coordinator_client, path, {"name": "Beratung mit Wartezeit (neu)"}).status_code == 302
    assert load(app, Service, sid, *before) == before


def test_a_date_typed_by_hand_wins_over_today(app, coordinator_client, clock):
    sid = stale_offer(app)
    changes = {"waiting_time": "etwa 2 Wochen", "waiting_time_confirmed_at": "01.11.2026"}
    assert submit(coordinator_client, f"/verwaltung/angebote/{sid}", changes).status_code == 302
    assert load(app, Service, sid, "waiting_time_confirmed_at")["waiting_time_confirmed_at"] == date(2026, 11, 1)


@pytest.mark.parametrize("age", [119, 120, 121, 400])
def test_queue_rule_and_search_verdict_agree(age):
    from atlas import freshness

    confirmed = DAY - timedelta(days=age)
    svc = Service(name="x", waiting_time="6 Wochen", waiting_time_confirmed_at=confirmed, intake_status="unbekannt")
    limits = freshness.DEFAULT_MAX_DAYS
    stale = freshness.stale_facts(svc, DAY, limits)
    verdict = freshness.verdicts(DAY.toordinal(), DAY.toordinal() + 300,
                                 {"waiting_time": confirmed.toordinal(), "intake_status": 0, "opening_hours": 0}, 0,
                                 {"waiting_time": True, "intake_status": False, "opening_hours": False},
                                 limits, False, 0)
    assert bool(stale) == (int(verdict) == freshness.OVERDUE)
    assert bool(stale) == (age > 120)


def test_a_category_limit_makes_a_fact_stale_sooner_in_the_queue_as_in_the_search(app, coordinator_client, clock):
    """FRESHNESS_FACT_MAX_DAYS_BY_CATEGORY holds for the queue too: 100 days are too old for this category's waiting
    time when its limit is 90, while the default (120) would still accept them."""
    sid = stale_offer(app)
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        session.get(Service, sid).waiting_time_confirmed_at = DAY - timedelta(days=100)
        session.get(Service, sid).assured_date = DAY - timedelta(days=100)
        session.commit()
    assert "Wartezeit seit" not in coordinator_client.get("/verwaltung/pruefliste").get_data(as_text=True)
    app.config["FRESHNESS_FACT_MAX_DAYS_BY_CATEGORY"] = {SLUG: {"waiting_time": 90}}
    assert "Wartezeit seit 3 Monaten nicht bestätigt" in coordinator_client.get("/verwaltung/pruefliste").get_data(
        as_text=True)
