"""Roles on the server: every /verwaltung route is for coordinators only; staff read but change nothing; CSRF everywhere."""

import pytest
import sqlalchemy as sa
from conftest import csrf_token, login, service_id
from flask import url_for

from atlas.db import get_session
from atlas.models import Jobcenter, Location, Organization, Region, TaxonomyTerm, User

ARGS = {"kind": "angebote", "action": "archivieren", "fact": "wartezeit"}


def curation_urls(app):
    """Every rule of the coordinator area (this issue's blueprint under /verwaltung) with sample arguments and methods."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.rule.startswith("/verwaltung") and rule.endpoint.startswith("curation."):
                url = url_for(rule.endpoint, **{arg: ARGS.get(arg, 1) for arg in rule.arguments})
                found.append((url, sorted(rule.methods - {"HEAD", "OPTIONS"})))
    return found


def test_the_area_has_all_its_routes(app):
    urls = dict(curation_urls(app))
    assert len(urls) >= 35
    assert "/verwaltung/angebote/1/verlauf" in urls and "/verwaltung/nutzer/1/uebergabe" in urls


def test_anonymous_visitors_are_sent_to_the_login(app, client):
    token = csrf_token(client, "/login")
    for url, methods in curation_urls(app):
        for method in methods:
            response = client.open(
                url, method=method, data={"csrf_token": token} if method == "POST" else None
            )
            assert response.status_code == 302, (method, url, response.status_code)
            assert "/login" in response.headers["Location"], (method, url)


def test_staff_may_not_open_or_change_anything(app, staff_client):
    token = csrf_token(staff_client, "/intern/")
    for url, methods in curation_urls(app):
        for method in methods:
            response = staff_client.open(
                url, method=method, data={"csrf_token": token} if method == "POST" else None
            )
            assert response.status_code == 403, (method, url, response.status_code)


def test_staff_pages_show_no_edit_links_to_staff(app, staff_client):
    html = staff_client.get(f"/intern/angebote/{service_id(app, 'Schuldnerberatung Lichtblick')}").get_data(
        as_text=True
    )
    assert "/verwaltung/" not in html


@pytest.mark.parametrize(
    "path", ["/verwaltung/angebote/neu", "/verwaltung/organisationen/neu", "/verwaltung/nutzer/neu"]
)
def test_post_without_csrf_token_is_refused(coordinator_client, path):
    response = coordinator_client.post(path, data={"name": "Ohne Token", "email": "x@example.org"})
    assert response.status_code == 400


def test_coordinator_sees_the_area_and_the_nav_link(coordinator_client):
    html = coordinator_client.get("/verwaltung/").get_data(as_text=True)
    assert "Ihre Prüfliste" in html
    assert 'href="/verwaltung/"' in coordinator_client.get("/intern/").get_data(as_text=True)


def test_deactivated_coordinator_is_logged_out(app, client):
    login(client, "koordination@atlas.example")
    with app.app_context():
        session = get_session()
        session.scalar(sa.select(User).where(User.email == "koordination@atlas.example")).active = False
        session.commit()
    assert client.get("/verwaltung/").status_code == 302


def test_every_page_of_the_area_answers_in_german_and_english(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    with app.app_context():
        session = get_session()
        ids = {
            model.__tablename__: session.scalar(sa.select(sa.func.min(model.id)))
            for model in (Organization, Location, TaxonomyTerm, Region, Jobcenter, User)
        }
    paths = [
        "/verwaltung/",
        "/verwaltung/pruefliste",
        "/verwaltung/meldungen",
        "/verwaltung/organisationen",
        "/verwaltung/organisationen/neu",
        f"/verwaltung/organisationen/{ids['organization']}",
        f"/verwaltung/organisationen/{ids['organization']}?dubletten=1",
        "/verwaltung/angebote",
        "/verwaltung/angebote/neu",
        f"/verwaltung/angebote/{sid}",
        f"/verwaltung/angebote/{sid}/verlauf",
        f"/verwaltung/organisationen/{ids['organization']}/verlauf",
        f"/verwaltung/standorte/{ids['location']}",
        f"/verwaltung/standorte/{ids['location']}/verlauf",
        f"/verwaltung/organisationen/{ids['organization']}/standorte/neu",
        "/verwaltung/kategorien",
        "/verwaltung/kategorien/neu",
        f"/verwaltung/kategorien/{ids['taxonomy_term']}",
        "/verwaltung/regionen",
        "/verwaltung/regionen/neu",
        f"/verwaltung/regionen/{ids['region']}",
        "/verwaltung/jobcenter/neu",
        f"/verwaltung/jobcenter/{ids['jobcenter']}",
        "/verwaltung/nutzer",
        "/verwaltung/nutzer/neu",
        f"/verwaltung/nutzer/{ids['user']}",
        f"/verwaltung/nutzer/{ids['user']}/uebergabe",
        f"/verwaltung/angebote/{sid}/zusammenfuehren/{service_id(app, 'Frauenschutz Lichtblick')}",
    ]
    for lang in ("de", "en"):
        for path in paths:
            response = coordinator_client.get(path + ("&" if "?" in path else "?") + f"lang={lang}")
            assert response.status_code == 200, (lang, path)
