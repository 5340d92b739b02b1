"""Verification, volatile facts, review intervals, the review queue and its ordering, lifecycle."""

import re
from datetime import date, timedelta

import sqlalchemy as sa
from conftest import csrf_token, service_id
from curation_support import ident, load, submit

from atlas import validity
from atlas.audit import set_actor
from atlas.curation.queue import add_months, review_queue
from atlas.db import get_session
from atlas.models import Organization, ReviewTask, Service, TaxonomyTerm, User, utcnow
from atlas.review import open_task

TODAY = validity.today()


def kim(session):
    return session.scalar(sa.select(User).where(User.email == "koordination@atlas.example"))


def make_service(session, org, name, owner, assured, slug="schuldnerberatung"):
    svc = Service(
        name=name,
        organization=org,
        owner=owner,
        assured_date=assured,
        categories=[session.scalar(sa.select(TaxonomyTerm).where(TaxonomyTerm.slug == slug))],
    )
    session.add(svc)
    return svc


def build_queue(app):
    """Kim's entries: one long overdue, one never verified, one due soon, one fine, and three flagged tasks."""
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        me = kim(session)
        org = Organization(name="Kims Träger", owner=me, assured_date=TODAY)
        session.add(org)
        long_overdue = make_service(session, org, "A lange überfällig", me, TODAY - timedelta(days=500))
        psych = make_service(
            session, org, "B Psychotherapie überfällig", me, TODAY - timedelta(days=200), "psychotherapie"
        )
        never = make_service(session, org, "C nie geprüft", me, None)
        soon = make_service(session, org, "D bald fällig", me, add_months(TODAY, -12) + timedelta(days=10))
        fine = make_service(session, org, "E frisch geprüft", me, TODAY)
        session.flush()
        manual = open_task(session, "manual", fine, "Notiz prüfen")
        manual.created_at = utcnow() - timedelta(days=40)
        report = open_task(
            session, "public_report", fine, "Fehlermeldung: Angabe veraltet", source_ref="report:x"
        )
        report.created_at = utcnow() - timedelta(days=3)
        link = open_task(session, "link_broken", soon, "Link defekt")
        link.created_at = utcnow() - timedelta(days=1)
        session.commit()
        return {s.name: s.id for s in (long_overdue, psych, never, soon, fine)}


def test_review_queue_is_sorted_by_urgency(app):
    build_queue(app)
    with app.app_context():
        session = get_session()
        items = review_queue(session, kim(session), TODAY)
        order = [(i.group, i.task.title if i.task else i.entry.name) for i in items]
    assert order == [
        ("flagged", "Fehlermeldung: Angabe veraltet"),  # a visitor's report, older than the broken link
        ("flagged", "Link defekt"),
        ("flagged", "Notiz prüfen"),  # a note waits, although it is the oldest
        ("overdue", "A lange überfällig"),
        ("overdue", "B Psychotherapie überfällig"),  # 6-month interval of mental health
        ("overdue", "C nie geprüft"),
        ("due_soon", "D bald fällig"),
    ]


def test_start_page_counts_and_queue_page(app, coordinator_client):
    build_queue(app)
    html = coordinator_client.get("/verwaltung/").get_data(as_text=True)
    counts = re.findall(r"<strong>(\d+)</strong> (gemeldet|überfällig|bald fällig)", html)
    assert counts == [("3", "gemeldet"), ("3", "überfällig"), ("1", "bald fällig")]
    page = coordinator_client.get("/verwaltung/pruefliste").get_data(as_text=True)
    assert (
        page.index("Fehlermeldung: Angabe veraltet")
        < page.index("Link defekt")
        < page.index("A lange überfällig")
        < page.index("C nie geprüft")
        < page.rindex("D bald fällig")
    )
    assert "E frisch geprüft" in page  # as the entry of the flagged tasks
    assert "Noch nie geprüft." in page


def test_other_coordinators_queue_can_be_opened(app, coordinator_client):
    anna = ident(app, User, email="anna.becker@jobcenter-en.example")
    page = coordinator_client.get(f"/verwaltung/pruefliste?person={anna}").get_data(as_text=True)
    assert "Prüfliste von Anna Becker" in page and "Frauenschutz Lichtblick" in page


def test_angaben_geprueft_records_date_and_person_and_closes_overdue_task(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    with app.app_context():
        session = get_session()
        open_task(session, "overdue", session.get(Service, sid), "Prüfung fällig")
        session.commit()
    token = csrf_token(coordinator_client, f"/verwaltung/angebote/{sid}")
    version = load(app, Service, sid, "version_id")["version_id"]
    response = coordinator_client.post(
        f"/verwaltung/angebote/{sid}/pruefen", data={"csrf_token": token, "version_id": version, "geprueft": "besteht"}
    )
    assert response.status_code == 302
    with app.app_context():
        svc = get_session().get(Service, sid)
        assert svc.assured_date == TODAY and svc.assured_by.email == "koordination@atlas.example"
        task = get_session().scalar(sa.select(ReviewTask).where(ReviewTask.service_id == sid))
        assert task.resolved_at is not None and task.resolution_note == "Angaben geprüft"


def test_verify_on_a_stale_page_changes_nothing(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    token = csrf_token(coordinator_client, f"/verwaltung/angebote/{sid}")
    response = coordinator_client.post(
        f"/verwaltung/angebote/{sid}/pruefen",
        data={"csrf_token": token, "version_id": "0", "geprueft": "besteht"},
        follow_redirects=True,
    )
    assert "inzwischen von jemand anderem geändert" in response.get_data(as_text=True)
    assert load(app, Service, sid, "assured_date")["assured_date"] == date(2026, 6, 1)


def test_each_volatile_fact_has_its_own_confirmation(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    token = csrf_token(coordinator_client, f"/verwaltung/angebote/{sid}")
    for fact, column in (
        ("wartezeit", "waiting_time_confirmed_at"),
        ("aufnahme", "intake_status_confirmed_at"),
        ("oeffnungszeiten", "opening_hours_confirmed_at"),
    ):
        version = load(app, Service, sid, "version_id")["version_id"]
        response = coordinator_client.post(
            f"/verwaltung/angebote/{sid}/bestaetigt/{fact}", data={"csrf_token": token, "version_id": version}
        )
        assert response.status_code == 302
        assert load(app, Service, sid, column)[column] == TODAY
    assert load(app, Service, sid, "assured_date")["assured_date"] == date(2026, 6, 1), (
        "facts do not verify the entry"
    )
    assert (
        coordinator_client.post(
            f"/verwaltung/angebote/{sid}/bestaetigt/unsinn", data={"csrf_token": token, "version_id": "1"}
        ).status_code
        == 404
    )


def test_category_review_interval_is_editable_and_inherited(app, coordinator_client):
    tid = ident(app, TaxonomyTerm, slug="psyche")
    page = coordinator_client.get(f"/verwaltung/kategorien/{tid}").get_data(as_text=True)
    assert (
        submit(
            coordinator_client, f"/verwaltung/kategorien/{tid}", {"review_interval_months": "3"}, html=page
        ).status_code
        == 302
    )
    with app.app_context():
        child = get_session().scalar(sa.select(TaxonomyTerm).where(TaxonomyTerm.slug == "psychotherapie"))
        assert child.effective_review_interval == 3
    assert "3 Monate (übernommen)" in coordinator_client.get("/verwaltung/kategorien").get_data(as_text=True)
    bad = submit(coordinator_client, f"/verwaltung/kategorien/{tid}", {"review_interval_months": "0"})
    assert bad.status_code == 400 and "Bitte zwischen 1 und 120 Monaten." in bad.get_data(as_text=True)


def test_archive_and_restore_an_offer(app, coordinator_client, client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    token = csrf_token(coordinator_client, f"/verwaltung/angebote/{sid}")
    version = load(app, Service, sid, "version_id")["version_id"]
    assert (
        coordinator_client.post(
            f"/verwaltung/angebote/{sid}/archivieren", data={"csrf_token": token, "version_id": version}
        ).status_code
        == 302
    )
    assert load(app, Service, sid, "archived_at")["archived_at"] is not None
    assert app.test_client().get(f"/angebote/{sid}").status_code == 404
    assert "Schuldnerberatung Lichtblick" not in coordinator_client.get("/verwaltung/angebote").get_data(
        as_text=True
    )
    assert "Schuldnerberatung Lichtblick" in coordinator_client.get("/verwaltung/angebote?archiv=1").get_data(
        as_text=True
    )
    version = load(app, Service, sid, "version_id")["version_id"]
    coordinator_client.post(
        f"/verwaltung/angebote/{sid}/wiederherstellen", data={"csrf_token": token, "version_id": version}
    )
    assert load(app, Service, sid, "archived_at")["archived_at"] is None
    assert app.test_client().get(f"/angebote/{sid}").status_code == 200


def test_status_beendet_leaves_the_public_map_and_hinweis_shows(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"alert": "Aufnahmestopp bis März"})
    assert "Aufnahmestopp bis März" in app.test_client().get(f"/angebote/{sid}").get_data(as_text=True)
    submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"status": "beendet", "valid_to": "2026-12-31"})
    assert app.test_client().get(f"/angebote/{sid}").status_code == 404


def test_archive_and_restore_a_location_and_an_organisation(app, coordinator_client):
    from atlas.models import Location

    lid = ident(app, Location, name="Haus am Markt")
    token = csrf_token(coordinator_client, f"/verwaltung/standorte/{lid}")
    coordinator_client.post(f"/verwaltung/standorte/{lid}/archivieren", data={"csrf_token": token})
    assert load(app, Location, lid, "archived_at")["archived_at"] is not None
    coordinator_client.post(f"/verwaltung/standorte/{lid}/wiederherstellen", data={"csrf_token": token})
    assert load(app, Location, lid, "archived_at")["archived_at"] is None
    oid = ident(app, Organization, name="Telefonseelsorge-Test")
    version = load(app, Organization, oid, "version_id")["version_id"]
    coordinator_client.post(
        f"/verwaltung/organisationen/{oid}/archivieren", data={"csrf_token": token, "version_id": version}
    )
    assert load(app, Organization, oid, "archived_at")["archived_at"] is not None
    assert (
        app.test_client().get(f"/angebote/{service_id(app, 'Krisentelefon rund um die Uhr')}").status_code
        == 404
    )
