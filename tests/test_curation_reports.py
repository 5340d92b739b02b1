"""Public "Fehler melden": no account, no cookie, no personal data; spam and rate limits; lands in the owner's queue."""

import re
import time

import sqlalchemy as sa
from conftest import csrf_token, service_id
from curation_support import one

from atlas.curation.models import PublicReport
from atlas.curation.reports import form_token
from atlas.db import get_session
from atlas.models import ReviewTask, User


def aged_token(app, sid, seconds=10):
    """A form token as if the page had been open for some seconds."""
    with app.test_request_context():
        return form_token(sid, time.time() - seconds)


def send(app, client, sid, ip="192.0.2.1", **fields):
    data = {
        "topic": "veraltet",
        "message": "Die Telefonnummer stimmt nicht mehr.",
        "token": aged_token(app, sid),
    } | fields
    return client.post(f"/angebote/{sid}/fehler-melden", data=data, environ_base={"REMOTE_ADDR": ip})


def test_every_public_offer_page_links_to_the_report_form(app, client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    assert f'href="/angebote/{sid}/fehler-melden"' in client.get(f"/angebote/{sid}").get_data(as_text=True)
    html = client.get(f"/angebote/{sid}/fehler-melden").get_data(as_text=True)
    for topic in ("Angabe veraltet", "Angebot existiert nicht mehr", "Link funktioniert nicht", "Sonstiges"):
        assert topic in html
    assert "keine persönlichen Daten" in html
    assert (
        client.get(f"/angebote/{service_id(app, 'SENTINEL-INTERNAL-SERVICE')}/fehler-melden").status_code
        == 404
    )


def test_a_report_lands_in_the_owners_queue_without_any_cookie(app, client, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    anonymous = app.test_client()
    page = anonymous.get(f"/angebote/{sid}/fehler-melden")
    assert "Set-Cookie" not in page.headers
    response = send(app, anonymous, sid)
    assert response.status_code == 200 and "Danke für Ihre Meldung" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers and not anonymous.get_cookie("session")
    with app.app_context():
        session = get_session()
        report = session.scalar(sa.select(PublicReport))
        assert (report.topic, report.message, report.status) == (
            "veraltet",
            "Die Telefonnummer stimmt nicht mehr.",
            "offen",
        )
        assert report.client_hash and "192.0.2" not in report.client_hash
        task = session.scalar(sa.select(ReviewTask).where(ReviewTask.kind == "public_report"))
        assert task.service_id == sid and task.source_ref == f"report:{report.id}"
        assert task.assignee.email == "lena.hoffmann@drv-westfalen.example", "the offer's owner"
    lena = one(app, sa.select(User.id).where(User.email == "lena.hoffmann@drv-westfalen.example"))
    queue = coordinator_client.get(f"/verwaltung/pruefliste?person={lena}").get_data(as_text=True)
    assert "Fehlermeldung: Angabe veraltet" in queue and "Die Telefonnummer stimmt nicht mehr." in queue


def test_resolving_the_task_resolves_the_report_with_a_note(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    send(app, app.test_client(), sid)
    task_id = one(app, sa.select(ReviewTask.id).where(ReviewTask.kind == "public_report"))
    token = csrf_token(coordinator_client, "/verwaltung/meldungen")
    response = coordinator_client.post(
        f"/verwaltung/aufgaben/{task_id}/erledigt", data={"csrf_token": token, "note": "Nummer korrigiert."}
    )
    assert response.status_code == 302
    with app.app_context():
        report = get_session().scalar(sa.select(PublicReport))
        assert report.status == "erledigt" and report.resolution == "Nummer korrigiert."
        assert report.resolved_by.email == "koordination@atlas.example"
    html = coordinator_client.get("/verwaltung/meldungen?status=erledigt").get_data(as_text=True)
    assert "Nummer korrigiert." in html


def test_resolving_from_the_report_list_closes_the_task(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    send(app, app.test_client(), sid, topic="existiert_nicht", message="")
    report_id = one(app, sa.select(PublicReport.id))
    html = coordinator_client.get("/verwaltung/meldungen").get_data(as_text=True)
    assert "Angebot existiert nicht mehr" in html
    coordinator_client.post(
        f"/verwaltung/meldungen/{report_id}/erledigt",
        data={"csrf_token": csrf_token(coordinator_client, "/verwaltung/meldungen"), "note": "Geprüft"},
    )
    assert (
        one(app, sa.select(ReviewTask.resolution_note).where(ReviewTask.kind == "public_report")) == "Geprüft"
    )


def test_invalid_reports_keep_the_input_and_explain(app, client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    response = send(app, client, sid, topic="", message="<b>Text</b> bleibt")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Bitte wählen Sie, was nicht stimmt." in html
    assert "&lt;b&gt;Text&lt;/b&gt; bleibt" in html and 'aria-invalid="true"' in html
    response = send(app, client, sid, topic="sonstiges", message="   ")
    assert response.status_code == 400 and "Bitte beschreiben Sie kurz" in response.get_data(as_text=True)
    response = send(app, client, sid, message="x" * 2001)
    assert response.status_code == 400 and "höchstens 2000 Zeichen" in response.get_data(as_text=True)
    assert one(app, sa.select(sa.func.count(PublicReport.id))) == 0


def test_spam_protection_without_third_parties(app, client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    honeypot = send(app, client, sid, homepage="http://spam.example")
    assert honeypot.status_code == 400
    too_fast = send(app, client, sid, token=aged_token(app, sid, seconds=0))
    assert too_fast.status_code == 400 and "sehr schnell" in too_fast.get_data(as_text=True)
    forged = send(app, client, sid, token="abc.def")
    assert forged.status_code == 400 and "ungültig" in forged.get_data(as_text=True)
    other_offer = send(app, client, sid, token=aged_token(app, service_id(app, "Frauenschutz Lichtblick")))
    assert other_offer.status_code == 400
    expired = send(app, client, sid, token=aged_token(app, sid, seconds=5 * 3600))
    assert expired.status_code == 400 and "abgelaufen" in expired.get_data(as_text=True)
    assert one(app, sa.select(sa.func.count(PublicReport.id))) == 0


def test_rate_limit_per_sender_and_hashes_are_erased_later(app):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    client = app.test_client()
    for _ in range(5):
        assert send(app, client, sid, ip="198.51.100.7").status_code == 200
    limited = send(app, client, sid, ip="198.51.100.7")
    assert limited.status_code == 429 and "sehr viele Meldungen" in limited.get_data(as_text=True)
    assert send(app, client, sid, ip="198.51.100.8").status_code == 200, "another sender is not affected"
    with app.app_context():
        session = get_session()
        for report in session.scalars(sa.select(PublicReport)):
            report.created_at = report.created_at.replace(year=report.created_at.year - 1)
        session.commit()
    assert send(app, client, sid, ip="198.51.100.7").status_code == 200
    assert (
        one(app, sa.select(sa.func.count(PublicReport.id)).where(PublicReport.client_hash.is_not(None))) == 1
    )


def test_report_form_markup_is_accessible(app, client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    html = client.get(f"/angebote/{sid}/fehler-melden").get_data(as_text=True)
    assert re.search(r'<label for="topic-veraltet">Angabe veraltet</label>', html)
    assert 'aria-describedby="message-help"' in html and 'class="hp" aria-hidden="true"' in html
