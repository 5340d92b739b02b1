"""The link dashboard in a real browser: log in, filter, open a link, take over a permanent redirect."""

import pytest
import sqlalchemy as sa
from browser import browser_page, live_server, screenshot
from checker_sites import FAST_CONFIG, FakeWeb, Reply, Router, html
from conftest import PASSWORD
from playwright.sync_api import expect

from atlas.checker.runner import Runner
from atlas.db import get_session
from atlas.models import Organization, Service

pytestmark = pytest.mark.browser


def test_coordinator_fixes_a_moved_page_from_the_dashboard(app):
    app.config.update(FAST_CONFIG)
    router = Router({"/alt": Reply(301, headers={"Location": "/neu"}), "/neu": Reply(200, body=html("Neu", "Hier.")),
                     "/weg": Reply(404)})
    with FakeWeb(router) as web:
        with app.app_context():
            session = get_session()
            offer = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
            offer.url = web.url("/alt")
            session.scalar(sa.select(Organization).where(
                Organization.name == "Beratungsstelle Lichtblick e. V.")).website = web.url("/weg")
            session.commit()
            Runner(session, app.config).run("all")
        with live_server(app) as url, browser_page(url, viewport={"width": 390, "height": 844}) as page:
            page.goto("/login")
            page.get_by_label("E-Mail-Adresse").fill("koordination@atlas.example")
            page.get_by_label("Passwort").fill(PASSWORD)
            page.get_by_role("button", name="Anmelden").click()
            page.get_by_role("link", name="Linkprüfung").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Linkprüfung")
            # No scheduler holds the lease here: coordinators read what to do, not a command line.
            expect(page.get_by_role("alert")).to_contain_text(
                "Die automatische Prüfung läuft nicht – bitte die IT informieren.")
            screenshot(page, "checker-dashboard-phone", full_page=False)
            page.get_by_label("Befund").select_option("redirect_permanent")
            page.get_by_role("button", name="Anzeigen").click()
            expect(page.get_by_role("link", name=web.url("/alt"))).to_be_visible()
            expect(page.get_by_role("link", name=web.url("/weg"))).to_have_count(0)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390  # the table scrolls inside its box, the page does not
            page.set_viewport_size({"width": 1280, "height": 900})
            screenshot(page, "checker-dashboard")
            page.set_viewport_size({"width": 390, "height": 844})
            page.get_by_role("link", name=web.url("/alt")).click()
            expect(page.get_by_text("Die Adresse ist dauerhaft umgezogen.")).to_be_visible()
            screenshot(page, "checker-link")
            page.get_by_role("button", name="Neue Adresse übernehmen").click()
            expect(page.get_by_role("status")).to_contain_text("Die Adresse wurde in 1 Feld(ern) geändert")
            expect(page.get_by_role("heading", level=1)).to_have_text(web.url("/neu"))
            assert page.console_errors == []
            assert page.blocked_requests == []
