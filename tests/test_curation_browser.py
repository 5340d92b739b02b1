"""The coordinator's edit form in a real browser (Debian's Chromium): create, fail validation, fix, save, history, public page."""

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from browser import ARTIFACTS, browser_page, live_server, screenshot
from conftest import PASSWORD
from playwright.sync_api import expect

from atlas.audit import set_actor
from atlas.curation.reports import create_report
from atlas.db import get_session
from atlas.models import Organization, Service, User

pytestmark = pytest.mark.browser
DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"


def readme_screenshot(page, name: str, full_page: bool = True) -> Path:
    """Screenshot into test-artifacts/; with ATLAS_UPDATE_SCREENSHOTS=1 the visible part also into docs/img/."""
    if full_page:
        path = screenshot(page, name)
    else:  # the long edit form: its top (with the error summary) is what matters
        path = ARTIFACTS / f"{name}.png"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(path))
    if os.environ.get("ATLAS_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMG / path.name))
    return path


def give_the_coordinator_some_work(app):
    """Make the test coordinator responsible for the Lichtblick entries, with a public report waiting."""
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        kim = session.scalar(sa.select(User).where(User.email == "koordination@atlas.example"))
        org = session.scalar(
            sa.select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V.")
        )
        org.owner = kim
        debts = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        debts.owner = kim
        session.flush()
        create_report(session, debts, "veraltet", "Die Sprechzeiten stimmen nicht mehr.", None)
        session.commit()


def test_create_an_offer_with_a_failed_and_a_fixed_save(app):
    give_the_coordinator_some_work(app)
    with live_server(app) as url, browser_page(url) as page:
        page.goto("/login")
        page.get_by_label("E-Mail-Adresse").fill("koordination@atlas.example")
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.get_by_role("link", name="Verwaltung").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Verwaltung: Einträge aktuell halten")
        readme_screenshot(page, "curation-start")

        page.get_by_role("link", name="Neues Angebot").first.click()
        page.get_by_label("Organisation", exact=True).select_option(label="Beratungsstelle Lichtblick e. V.")
        page.locator("#name").fill("Gesprächskreis Depression Witten")
        page.get_by_label("Webadresse").fill("javascript:alert(1)")
        page.locator("#phones-0-number").fill("123")
        page.get_by_label("Hinweis (Banner)").fill("Neue Gruppe ab Januar")
        page.get_by_role("button", name="Speichern").click()

        summary = page.get_by_role("alert").filter(has_text="Bitte prüfen Sie die markierten Angaben")
        expect(summary).to_be_visible()
        expect(summary).to_contain_text("Nur Adressen mit http:// oder https:// sind erlaubt.")
        expect(summary).to_contain_text("Bitte mindestens eine Kategorie ankreuzen.")
        expect(page.get_by_label("Webadresse")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Hinweis (Banner)")).to_have_value("Neue Gruppe ab Januar")
        readme_screenshot(page, "curation-validation", full_page=False)

        page.get_by_label("Webadresse").fill("www.selbsthilfe-witten.example/depression")
        page.locator("#phones-0-number").fill("02302 4567890")
        page.get_by_label("Selbsthilfegruppe und Kontaktstelle").check()
        page.get_by_role("checkbox", name=re.compile("^Haus am Markt")).check()
        page.get_by_role("button", name="Speichern").click()
        expect(page.get_by_role("status").first).to_contain_text("angelegt")
        expect(page.get_by_label("Webadresse")).to_have_value(
            "https://www.selbsthilfe-witten.example/depression"
        )
        expect(page.locator("#phones-0-number")).to_have_value("+49 2302 4567890")

        page.get_by_role("link", name="Verlauf").first.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Gesprächskreis Depression Witten")
        expect(page.get_by_text("Kim Koordination: Angebot angelegt")).to_be_visible()
        expect(page.get_by_role("rowheader", name="Hinweis (Banner)").first).to_be_visible()
        readme_screenshot(page, "curation-history")

        page.get_by_role("link", name="Zurück zum Bearbeiten").click()
        page.get_by_role("link", name="Öffentliche Ansicht").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Gesprächskreis Depression Witten")
        expect(page.get_by_text("Neue Gruppe ab Januar")).to_be_visible()
        expect(page.get_by_role("link", name="Stimmt etwas nicht? Fehler melden")).to_be_visible()
        # The failed save answers 400 on purpose (Chromium logs that status); nothing else may appear.
        assert [e for e in page.console_errors if "status of 400" not in e] == []
        assert page.blocked_requests == []


def test_public_report_in_the_browser(app):
    app.config["REPORT_MIN_SECONDS"] = 0
    with live_server(app) as url, browser_page(url) as page:
        page.goto("/angebote?q=Schuldnerberatung")
        page.get_by_role("link", name="Schuldnerberatung Lichtblick").click()
        page.get_by_role("link", name="Stimmt etwas nicht? Fehler melden").click()
        page.get_by_label("Angabe veraltet").check()
        page.get_by_label("Was sollen wir wissen? (freiwillig)").fill("Die Sprechzeiten haben sich geändert.")
        readme_screenshot(page, "curation-report")
        page.get_by_role("button", name="Meldung senden").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Danke für Ihre Meldung")
        assert page.context.cookies() == []
        assert page.console_errors == [] and page.blocked_requests == []
