"""The coordinator dashboard /verwaltung/links: access, filters, actions (CSRF, audited edits), exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
import sqlalchemy as sa
from checker_sites import FAST_CONFIG, FakeWeb, Reply, Router, html
from conftest import csrf_token

from atlas.checker import discovery, lease
from atlas.checker.models import Link, LinkUsage
from atlas.checker.runner import Runner
from atlas.checker.scheduler import cron_trigger
from atlas.db import get_session
from atlas.i18n import datum
from atlas.models import AuditLog, Organization, ReviewTask, Service, utcnow

PAGE = html("Schuldnerberatung Lichtblick", "Wir beraten Menschen mit Schulden kostenlos und vertraulich. " * 8)


@pytest.fixture
def router() -> Router:
    return Router({"/": Reply(200, body=PAGE), "/schulden": Reply(404),
                   "/alt": Reply(301, headers={"Location": "/neu"}), "/neu": Reply(200, body=PAGE)})


@pytest.fixture
def web(router):
    with FakeWeb(router) as server:
        yield server


@pytest.fixture
def checked(app, web):
    """The sentinel offer's page is broken (404 twice, an hour apart), the organisation's site redirects."""
    app.config.update(FAST_CONFIG | {"CHECK_HARD_BROKEN_AFTER_HOURS": 0})
    with app.app_context():
        session = get_session()
        org = session.scalar(sa.select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V."))
        svc = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        org.website, svc.url = web.url("/alt"), web.url("/schulden")
        session.commit()
        for _ in range(2):
            Runner(session, app.config).run("all")
    return app


def link_id(app, url: str) -> int:
    with app.app_context():
        return get_session().scalar(sa.select(Link.id).where(Link.url == url))


def post(client, path: str, page: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page)} | data)


def test_anonymous_visitors_are_sent_to_log_in(checked, client):
    response = client.get("/verwaltung/links")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_staff_may_look_but_not_act(checked, web, staff_client):
    page = staff_client.get("/verwaltung/links").get_data(as_text=True)
    assert web.url("/schulden") in page and "Linkprüfung" in page
    lid = link_id(checked, web.url("/schulden"))
    detail = staff_client.get(f"/verwaltung/links/{lid}").get_data(as_text=True)
    assert "Jetzt prüfen" not in detail and "Adresse ändern" not in detail
    token = csrf_token(staff_client, "/intern/")
    assert staff_client.post(f"/verwaltung/links/{lid}/ok", data={"csrf_token": token}).status_code == 403
    assert 'href="/verwaltung/links"' not in staff_client.get("/intern/").get_data(as_text=True)


def test_dashboard_counts_filters_entries_and_advice(checked, web, coordinator_client):
    page = coordinator_client.get("/verwaltung/links").get_data(as_text=True)
    assert 'href="/verwaltung/links"' in page  # the coordinator's navigation entry
    assert "Schuldnerberatung Lichtblick (Beratungsstelle Lichtblick e. V.)" in page
    assert "Die Seite gibt es nicht mehr." in page
    assert re.search(r"<strong>1</strong> defekt", page)
    broken = coordinator_client.get("/verwaltung/links?zustand=broken").get_data(as_text=True)
    assert web.url("/schulden") in broken and web.url("/alt") not in broken
    moved = coordinator_client.get("/verwaltung/links?art=redirect_permanent").get_data(as_text=True)
    assert web.url("/alt") in moved and web.url("/schulden") not in moved
    assert web.url("/alt") in coordinator_client.get("/verwaltung/links?q=alt").get_data(as_text=True)
    bad = coordinator_client.get("/verwaltung/links?zustand=kaputt")
    assert bad.status_code == 400 and "Unbekannter Zustand" in bad.get_data(as_text=True)


def test_dashboard_explains_the_checker_in_plain_german(app, coordinator_client):
    """Before any check and without a scheduler: say so plainly, no command lines, no "0 noch nicht geprüft"."""
    with app.app_context():
        session = get_session()
        discovery.sync(session)
        session.commit()
        waiting = session.scalar(sa.select(sa.func.count()).select_from(Link))
    page = coordinator_client.get("/verwaltung/links").get_data(as_text=True)
    assert "Die automatische Prüfung läuft nicht – bitte die IT informieren." in page
    assert "Es wurde noch kein Link geprüft." in page
    assert f"{waiting} Links warten auf die erste Prüfung." in page
    assert "noch nicht geprüft</a>" not in page and "flask" not in page and "scheduler" not in page
    english = coordinator_client.get("/verwaltung/links?lang=en").get_data(as_text=True)
    assert "The automatic check is not running – please tell IT." in english


def test_dashboard_names_the_next_round_while_the_scheduler_runs(checked, coordinator_client):
    checked.config["CHECK_SCHEDULE"] = "17 * * * *"
    with checked.app_context():
        lease.hold(get_session(), "other-host:4242:abc", utcnow(), 300)  # a live scheduler renews this
    trigger = cron_trigger("17 * * * *", checked.config["BABEL_DEFAULT_TIMEZONE"])

    def next_round() -> str:
        """The time as the page words it; after the day's last round, with its date (the page was right, the
        test failed every evening between the last round and midnight in Berlin)."""
        now = datetime.now(trigger.timezone)
        fire = trigger.get_next_fire_time(None, now)
        when = fire.strftime("%H:%M")
        if fire.date() != now.date():
            with checked.test_request_context():
                when = f"{datum(fire)}, {when}"
        return when

    before = next_round()
    page = coordinator_client.get("/verwaltung/links").get_data(as_text=True)
    assert any(f"Die automatische Prüfung läuft – nächste Runde {t}." in page for t in (before, next_round()))
    assert "läuft nicht" not in page and "Es wurde noch kein Link geprüft." not in page
    assert re.search(r"<strong>1</strong> defekt", page) and "noch nicht geprüft</a>" not in page
    with checked.app_context():
        lease.release(get_session(), "other-host:4242:abc", utcnow())  # stopped: the lease lapses at once
    assert "läuft nicht – bitte die IT informieren" in coordinator_client.get("/verwaltung/links").get_data(
        as_text=True)


def test_detail_shows_history_and_usages(checked, web, coordinator_client):
    lid = link_id(checked, web.url("/schulden"))
    page = coordinator_client.get(f"/verwaltung/links/{lid}").get_data(as_text=True)
    assert "Internetseite des Angebots" in page and "nicht gefunden (404)" in page
    assert page.count("<td>404</td>") == 2
    assert coordinator_client.get("/verwaltung/links/999999").status_code == 404


def test_actions_need_a_csrf_token(checked, web, coordinator_client):
    lid = link_id(checked, web.url("/schulden"))
    assert coordinator_client.post(f"/verwaltung/links/{lid}/ok").status_code == 400


def test_check_now(checked, web, router, coordinator_client):
    router["/schulden"] = Reply(200, body=PAGE)
    lid = link_id(checked, web.url("/schulden"))
    response = post(coordinator_client, f"/verwaltung/links/{lid}/pruefen", f"/verwaltung/links/{lid}")
    assert response.status_code == 302
    assert "Geprüft: in Ordnung." in coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    with checked.app_context():
        assert get_session().get(Link, lid).state == "ok"
        assert get_session().scalar(sa.select(sa.func.count(ReviewTask.id)).where(
            ReviewTask.source_ref == f"link:{lid}", ReviewTask.resolved_at.is_(None))) == 0


def test_edit_url_in_place_updates_every_entry_through_the_audited_orm(checked, web, coordinator_client):
    old = web.url("/schulden")
    lid = link_id(checked, old)
    new = web.url("/") + "schuldnerberatung"
    response = post(coordinator_client, f"/verwaltung/links/{lid}/adresse", f"/verwaltung/links/{lid}", url=new)
    assert response.status_code == 302
    with checked.app_context():
        session = get_session()
        svc = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        assert svc.url == new
        audit = session.scalars(sa.select(AuditLog).where(AuditLog.entity_type == "service",
                                                          AuditLog.entity_id == svc.id).order_by(AuditLog.id)).all()[-1]
        assert audit.actor == "koordination@atlas.example" and audit.changes["url"] == [old, new]
        assert session.get(Link, lid) is None  # the old address is no longer used anywhere
        assert session.scalar(sa.select(Link).where(Link.url == new)).state == "new"
        open_ = session.scalar(sa.select(sa.func.count(ReviewTask.id)).where(
            ReviewTask.source_ref == f"link:{lid}", ReviewTask.resolved_at.is_(None)))
        assert open_ == 0


def test_edit_url_refuses_bad_addresses(checked, web, coordinator_client):
    lid = link_id(checked, web.url("/schulden"))
    response = post(coordinator_client, f"/verwaltung/links/{lid}/adresse", f"/verwaltung/links/{lid}",
                    url="mailto:info@example.org")
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Die neue Adresse wurde nicht gespeichert: Nur Internetadressen" in page
    with checked.app_context():
        assert get_session().scalar(sa.select(Service.url).where(Service.name == "Schuldnerberatung Lichtblick")) \
            == web.url("/schulden")


def test_accept_permanent_redirect(checked, web, coordinator_client):
    lid = link_id(checked, web.url("/alt"))
    response = post(coordinator_client, f"/verwaltung/links/{lid}/weiterleitung", f"/verwaltung/links/{lid}")
    assert response.status_code == 302
    with checked.app_context():
        session = get_session()
        org = session.scalar(sa.select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V."))
        assert org.website == web.url("/neu")
    lid_broken = link_id(checked, web.url("/schulden"))
    none = post(coordinator_client, f"/verwaltung/links/{lid_broken}/weiterleitung",
                f"/verwaltung/links/{lid_broken}")
    assert "keine dauerhafte Weiterleitung" in coordinator_client.get(none.headers["Location"]).get_data(as_text=True)


def test_mark_ok_holds_for_the_same_finding(checked, web, coordinator_client):
    lid = link_id(checked, web.url("/schulden"))
    post(coordinator_client, f"/verwaltung/links/{lid}/ok", f"/verwaltung/links/{lid}")
    with checked.app_context():
        session = get_session()
        link = session.get(Link, lid)
        assert (link.state, link.override_by) == ("ok", "koordination@atlas.example")
        assert session.scalar(sa.select(sa.func.count(ReviewTask.id)).where(
            ReviewTask.source_ref == f"link:{lid}", ReviewTask.resolved_at.is_(None))) == 0
        Runner(session, checked.config).run("manual", link_ids=[lid], sync=False)
        assert session.get(Link, lid).state == "ok"  # still 404: the coordinator's decision holds


def test_ignore_until_the_state_changes(checked, web, router, coordinator_client):
    lid = link_id(checked, web.url("/schulden"))
    post(coordinator_client, f"/verwaltung/links/{lid}/ignorieren", f"/verwaltung/links/{lid}")
    with checked.app_context():
        session = get_session()
        assert session.get(Link, lid).state == "ignored"
        Runner(session, checked.config).run("manual", link_ids=[lid], sync=False)
        assert session.get(Link, lid).state == "ignored"
        router["/schulden"] = Reply(200, body=PAGE)
        Runner(session, checked.config).run("manual", link_ids=[lid], sync=False)
        link = session.get(Link, lid)
        assert (link.state, link.override_state) == ("ok", None)


def test_note(checked, web, coordinator_client):
    lid = link_id(checked, web.url("/schulden"))
    post(coordinator_client, f"/verwaltung/links/{lid}/notiz", f"/verwaltung/links/{lid}",
         note="Träger ist informiert (Telefonat 3.3.)")
    assert "Träger ist informiert" in coordinator_client.get(f"/verwaltung/links/{lid}").get_data(as_text=True)
    too_long = post(coordinator_client, f"/verwaltung/links/{lid}/notiz", f"/verwaltung/links/{lid}", note="x" * 2001)
    assert "zu lang" in coordinator_client.get(too_long.headers["Location"]).get_data(as_text=True)


def test_exports(checked, web, coordinator_client):
    with checked.app_context():
        session = get_session()
        org = session.scalar(sa.select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V."))
        org.name = "=HYPERLINK(\"http://böse\")"
        session.scalar(sa.select(Link).where(Link.url == web.url("/alt"))).note = "=1+1"
        session.commit()
    data = coordinator_client.get("/verwaltung/links/export.json").get_json()
    assert data["count"] == 2
    broken = next(row for row in data["links"] if row["state"] == "broken")
    assert broken["kind"] == "http_404" and broken["entries"][0]["field"] == "url"
    only = coordinator_client.get("/verwaltung/links/export.json?zustand=broken").get_json()
    assert [row["url"] for row in only["links"]] == [web.url("/schulden")]
    response = coordinator_client.get("/verwaltung/links/export.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert {row["url"] for row in rows} == {web.url("/schulden"), web.url("/alt")}
    moved = next(row for row in rows if row["url"] == web.url("/alt"))
    assert moved["suggested_url"] == web.url("/neu")
    assert moved["entries"].startswith("organization ") and '=HYPERLINK("http://böse")' in moved["entries"]
    assert moved["note"] == "'=1+1"  # a cell that would start a formula is neutralised


def test_checker_info_page_is_public(client):
    page = client.get("/pruefdienst").get_data(as_text=True)
    assert "Netzwerkatlas-Pruefdienst" in page and "robots.txt" in page


def test_usages_point_at_existing_entries(checked):
    with checked.app_context():
        session = get_session()
        for usage in session.scalars(sa.select(LinkUsage)):
            model = {"service": Service, "organization": Organization}[usage.entity_type]
            assert session.get(model, usage.entity_id) is not None
