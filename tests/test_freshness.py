"""One freshness verdict per offer (issue 11, parts 2 and 3): the rules, ranking demotion, the filter, the cards."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from conftest import login

import atlas.search
from atlas import freshness, validity
from atlas.audit import set_actor
from atlas.db import get_session
from atlas.models import Service
from atlas.review import open_task

DAY = date(2027, 3, 15)
T = DAY.toordinal()
LIMITS = {"waiting_time": 120, "intake_status": 120, "opening_hours": 365}
NONE = {f: 0 for f in freshness.FACTS}
NO = {f: False for f in freshness.FACTS}


def judge(review_due=T + 100, confirmed=NONE, assured=T - 30, has=NO, doubt=False) -> int:
    return int(freshness.verdicts(T, review_due, confirmed, assured, has, LIMITS, doubt, 30))


def test_the_rules_on_single_offers():
    assert judge() == freshness.CURRENT
    assert judge(review_due=T + 20) == freshness.SOON
    assert judge(review_due=T - 1) == freshness.OVERDUE
    assert judge(review_due=0, assured=0) == freshness.OVERDUE  # never checked
    waiting = NO | {"waiting_time": True}
    assert judge(has=waiting, confirmed=NONE | {"waiting_time": T - 130}, assured=T - 200) == freshness.OVERDUE
    # a later whole check confirms the fact too
    assert judge(has=waiting, confirmed=NONE | {"waiting_time": T - 130}, assured=T - 10) == freshness.CURRENT
    assert judge(has=waiting, confirmed=NONE | {"waiting_time": T - 100}, assured=T - 200) == freshness.SOON
    assert judge(has=NO, confirmed=NONE | {"waiting_time": T - 900}) == freshness.CURRENT  # no waiting time given
    assert judge(doubt=True) == freshness.IN_REVIEW


def test_the_rules_on_arrays_match_the_single_answers():
    due = [T + 100, T + 20, T - 1, 0]
    got = freshness.verdicts(T, due, {f: [0] * 4 for f in freshness.FACTS}, [T - 30, T - 30, T - 30, 0],
                             {f: [False] * 4 for f in freshness.FACTS}, LIMITS, [False, False, False, True], 30)
    assert got.tolist() == [freshness.CURRENT, freshness.SOON, freshness.OVERDUE, freshness.IN_REVIEW]


@pytest.fixture
def two_offers(app, monkeypatch):
    """Two offers that match "Lichtblick" alike: one freshly checked, one checked 23 months ago."""
    monkeypatch.setattr(validity, "today", lambda: DAY)
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        fresh = session.scalar(sa.select(Service).where(Service.name == "Frauenschutz Lichtblick"))
        stale = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        fresh.assured_date, stale.assured_date = DAY - timedelta(days=10), DAY - timedelta(days=700)
        session.commit()
        atlas.search.sync(session)
        return fresh.id, stale.id


def order(client, **params) -> list[int]:
    body = client.get("/api/v1/services", query_string={"q": "Lichtblick"} | params).get_json()
    return [item["atlas"]["id"] for item in body["contents"]], body


def test_a_stale_offer_ranks_lower_says_why_and_can_be_filtered_out(app, two_offers):
    fresh, stale = two_offers
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    ids, body = order(staff)
    assert ids.index(fresh) < ids.index(stale)
    verdicts = {item["atlas"]["id"]: item["atlas"]["search"]["freshness"] for item in body["contents"]}
    assert verdicts[stale] == "ueberfaellig" and verdicts[fresh] == "aktuell"
    ids, _ = order(staff, current_only="1")
    assert fresh in ids and stale not in ids
    page = staff.get("/suche", query_string={"q": "Lichtblick"}).get_data(as_text=True)
    assert "geprüft vor 23 Monaten" in page and "Prüfung überfällig (deshalb zurückgestuft)" in page


def test_an_open_report_or_broken_link_marks_the_offer_as_being_checked(app, two_offers):
    fresh, stale = two_offers
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        open_task(session, "link_broken", session.get(Service, fresh), "Link defekt", source_ref="link:x")
        session.commit()
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    ids, body = order(staff)
    verdicts = {item["atlas"]["id"]: item["atlas"]["search"]["freshness"] for item in body["contents"]}
    assert verdicts[fresh] == "in_pruefung"  # no re-index needed: doubt is read per query
    assert fresh not in order(staff, current_only="1")[0]
    page = staff.get("/suche", query_string={"q": "Lichtblick"}).get_data(as_text=True)
    assert "Angaben werden geprüft (deshalb zurückgestuft)" in page


def test_bad_filter_values_get_a_german_400(app):
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    response = staff.get("/api/v1/services", query_string={"q": "Lichtblick", "current_only": "vielleicht"})
    assert response.status_code == 400 and "current_only" in response.get_data(as_text=True)


def test_public_pages_say_when_checked_and_that_details_are_being_checked(app, two_offers):
    fresh, _stale = two_offers
    client = app.test_client()
    page = client.get(f"/angebote/{fresh}").get_data(as_text=True)
    assert "im März 2027" in page and "werden gerade überprüft" not in page
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        open_task(session, "public_report", session.get(Service, fresh), "Fehlermeldung", source_ref="report:1")
        session.commit()
    page = client.get(f"/angebote/{fresh}").get_data(as_text=True)
    assert "Einige Angaben werden gerade überprüft. Bitte fragen Sie vorher nach." in page
    assert page.count("werden gerade überprüft") == 1  # one notice, not two saying the same
    listing = client.get("/angebote", query_string={"q": "Lichtblick"}).get_data(as_text=True)
    assert "zuletzt geprüft im März 2027" in listing and "werden gerade überprüft" in listing
    assert "Fehlermeldung" not in page + listing  # what was reported stays internal


@pytest.mark.parametrize("kind, on_organisation, notice", [
    ("link_changed", False, "Einige Angaben zu diesem Angebot werden gerade überprüft."),
    ("overdue", True, "Einige Angaben zu diesem Angebot werden gerade überprüft."),
    ("link_broken", False, "Einige Angaben werden gerade überprüft. Bitte fragen Sie vorher nach."),
    ("link_broken", True, "Einige Angaben werden gerade überprüft. Bitte fragen Sie vorher nach."),
    ("public_report", True, "Einige Angaben werden gerade überprüft. Bitte fragen Sie vorher nach."),
    ("manual", False, None),
])
def test_the_offer_page_shows_one_notice_for_its_open_tasks(app, two_offers, kind, on_organisation, notice):
    """A report or broken link asks the reader to check first; a changed link or an overdue review only says so."""
    fresh, _stale = two_offers
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        service = session.get(Service, fresh)
        open_task(session, kind, service.organization if on_organisation else service, "Aufgabe", source_ref="t:1")
        session.commit()
    page = app.test_client().get(f"/angebote/{fresh}").get_data(as_text=True)
    assert page.count("werden gerade überprüft") == (1 if notice else 0)
    assert notice is None or notice in page


def test_a_category_can_have_a_stricter_limit_for_a_fact(app, monkeypatch):
    """FRESHNESS_FACT_MAX_DAYS_BY_CATEGORY: 30 days for the waiting time of debt counselling, 120 for the rest."""
    monkeypatch.setattr(validity, "today", lambda: DAY)
    app.config["FRESHNESS_FACT_MAX_DAYS_BY_CATEGORY"] = {"schuldnerberatung": {"waiting_time": 30}}
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        debt = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        other = session.scalar(sa.select(Service).where(Service.name == "Frauenschutz Lichtblick"))
        assert "schuldnerberatung" in {t.slug for t in debt.categories}
        assert "schuldnerberatung" not in {t.slug for t in other.categories}
        for service in (debt, other):
            service.assured_date = DAY - timedelta(days=200)
            service.waiting_time, service.waiting_time_confirmed_at = "ca. 2 Wochen", DAY - timedelta(days=40)
        session.commit()
        atlas.search.sync(session)
        limits = freshness.max_days_for(app.config, ["schuldnerberatung", "beratung"])
        assert limits["waiting_time"] == 30 and limits["intake_status"] == 120
        debt_id, other_id = debt.id, other.id
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    _ids, body = order(staff)
    verdicts = {item["atlas"]["id"]: item["atlas"]["search"]["freshness"] for item in body["contents"]}
    assert verdicts[debt_id] == "ueberfaellig" and verdicts[other_id] == "aktuell"


def test_the_staff_card_names_link_problems_with_their_age(app, two_offers):
    from datetime import datetime

    from atlas.checker.models import Link, LinkUsage
    from atlas.models import Organization, utcnow

    fresh, stale = two_offers
    with app.app_context():
        session = get_session()
        down = utcnow() - timedelta(days=3)
        site = Link(url_key="a" * 64, url="https://frauenschutz.example/", host="frauenschutz.example", state="broken",
                    first_failure_at=down)
        manual = Link(url_key="b" * 64, url="https://lichtblick.example/", host="lichtblick.example",
                      state="manual_check", first_failure_at=datetime(2026, 1, 1))
        fine = Link(url_key="c" * 64, url="https://ok.example/", host="ok.example", state="broken",
                    first_failure_at=down, override_state="ok")  # a coordinator said it is fine
        session.add_all([site, manual, fine])
        session.flush()
        org = session.get(Service, stale).organization_id
        session.add_all([LinkUsage(link_id=site.id, entity_type="service", entity_id=fresh, field="url", raw_url=site.url),
                         LinkUsage(link_id=manual.id, entity_type="organization", entity_id=org, field="website",
                                   raw_url=manual.url),
                         LinkUsage(link_id=fine.id, entity_type="service", entity_id=stale, field="description",
                                   raw_url=fine.url)])
        session.commit()
        assert session.get(Organization, org) is not None
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    page = staff.get("/suche", query_string={"q": "Lichtblick"}).get_data(as_text=True)
    cards = {int(m): html for html in page.split('<li class="card result">')[1:]
             for m in [html.split('id="treffer-')[1].split('"')[0]]}
    assert "⚠ </span>Website seit 3 Tagen nicht erreichbar" in cards[fresh]
    assert "Website bitte von Hand prüfen" in cards[stale]  # its organisation's site
    assert "nicht erreichbar" not in cards[stale]  # the link marked as fine says nothing


def test_offers_in_doubt_for_a_few_ids_read_only_their_tasks(app):
    """The offer page asks for one offer: its own and its organisation's tasks count, other offers' tasks stay unread."""
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        offers = session.scalars(sa.select(Service).order_by(Service.id)).all()
        by_org: dict[int, list[Service]] = {}
        for offer in offers:
            by_org.setdefault(offer.organization_id, []).append(offer)
        org_offers = next(group for group in by_org.values() if len(group) >= 2)
        own = next(o for o in offers if o.organization_id != org_offers[0].organization_id)
        calm = next(o for o in offers if o.organization_id not in (org_offers[0].organization_id, own.organization_id))
        open_task(session, "link_broken", org_offers[0].organization, "Link kaputt", source_ref="link:org")
        open_task(session, "public_report", own, "Fehlermeldung", source_ref="report:own")
        open_task(session, "overdue", calm, "überfällig", source_ref="overdue:calm")  # not a doubt
        session.commit()
        statements: list[str] = []
        sa.event.listen(session.get_bind(), "before_cursor_execute", lambda *args: statements.append(args[2]))
        assert freshness.in_review_ids(session, [org_offers[1].id]) == {org_offers[1].id}
        assert freshness.in_review_ids(session, [own.id, calm.id]) == {own.id}
        assert freshness.in_review_ids(session, [calm.id]) == set() and freshness.in_review_ids(session, []) == set()
        read = [sql for sql in statements if "FROM review_task" in sql]
        assert read and all("review_task.service_id IN" in sql for sql in read)  # never all open tasks
        everything = freshness.in_review_ids(session)
        assert {o.id for o in org_offers} | {own.id} <= everything and calm.id not in everything
