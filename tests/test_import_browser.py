"""The coordinator imports a CSV in a real browser: upload, review the preview, commit."""

from pathlib import Path

import pytest
from browser import browser_page, import_worker, live_server, screenshot
from conftest import PASSWORD
from playwright.sync_api import expect
from sqlalchemy import func, select

from atlas.db import get_session
from atlas.models import Service

pytestmark = pytest.mark.browser
CSV = Path(__file__).parent / "data" / "import" / "netzwerkkarte_en.csv"


def test_upload_review_and_commit_a_csv(app):
    with live_server(app) as url, import_worker(app), browser_page(url) as page:
        page.goto("/login")
        page.get_by_label("E-Mail").fill("koordination@atlas.example")
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.get_by_role("link", name="Import/Export").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Import und Export")
        page.get_by_label("Datei").set_input_files(str(CSV))
        page.get_by_label("Quelle (Name)").fill("Netzwerkkarte EN")
        page.get_by_role("button", name="Vorschau anzeigen").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Vorschau: netzwerkkarte_en.csv")
        table = page.locator("#vorschau")
        expect(table.locator("tr.action-new")).to_have_count(5)
        expect(table.locator("tr.action-error")).to_contain_text("Unbekannte Kategorie „Malkurse“")
        duplicate = table.locator("tr.action-duplicate")
        expect(duplicate).to_contain_text("gleiche Telefonnummer")
        expect(duplicate.get_by_role("link", name="Schuldnerberatung Lichtblick")).to_be_visible()
        screenshot(page, "import-preview")
        duplicate.get_by_label("trotzdem anlegen").check()
        page.get_by_role("button", name="Übernehmen").click()
        done = page.locator(".flash-success")
        expect(done).to_contain_text("Import abgeschlossen: 5 neu", timeout=20_000)
        expect(done).to_contain_text("1 trotz Dublettenverdacht angelegt")
        page.reload()  # the job's state is kept on the server
        expect(page.locator(".flash-success")).to_contain_text("Import abgeschlossen: 5 neu")
        page.get_by_role("link", name="Zu den letzten Importen").click()
        expect(page.locator("table.import-table")).to_contain_text("Netzwerkkarte EN")
        assert page.console_errors == []
        assert page.blocked_requests == []
    with app.app_context():
        assert get_session().scalar(select(func.count(Service.id)).where(Service.source_name == "Netzwerkkarte EN")) == 6


MESSY = Path(__file__).parent / "data" / "import" / "messy_de.csv"


def login_coordinator(page) -> None:
    page.goto("/login")
    page.get_by_label("E-Mail").fill("koordination@atlas.example")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_mapping_step_in_the_browser(app, viewport):
    with live_server(app) as url, import_worker(app), browser_page(url, viewport) as page:
        login_coordinator(page)
        page.goto("/verwaltung/import")
        page.get_by_label("Datei").set_input_files(str(MESSY))
        page.get_by_label("Quelle (Name)").fill("Liste Wohlfahrtsverbände")
        page.get_by_role("button", name="Vorschau anzeigen").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Vorschau: messy_de.csv", timeout=20_000)
        mapping = page.locator("#zuordnung")
        expect(mapping).to_contain_text("Inhalt: lange Texte")
        expect(mapping.get_by_label("Name der Einrichtung")).to_have_value("name")
        expect(mapping.get_by_label("Angebot", exact=True)).to_have_value("description")
        if viewport["width"] > 400:
            screenshot(page, "import-mapping")
        mapping.get_by_label("Kategorie").select_option("ignore")
        page.get_by_role("button", name="Zuordnung anwenden und neu prüfen").click()
        expect(page.locator("#zuordnung").get_by_label("Kategorie")).to_have_value("ignore", timeout=20_000)
        expect(page.locator("#vorschau")).to_contain_text("Ohne Kategorie")
        assert page.console_errors == [] and page.blocked_requests == []


def test_progress_bar_survives_a_reload(app, tmp_path):
    path = tmp_path / "grosse-liste.csv"
    lines = ["Name;Träger;Straße;PLZ;Ort;Kategorie"]
    lines += [f"Angebot {i};Träger {i % 50};Weg {i};58452;Witten;suchtberatung" for i in range(6000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with live_server(app) as url, browser_page(url) as page:
        login_coordinator(page)
        page.goto("/verwaltung/import")
        page.get_by_label("Datei").set_input_files(str(path))
        page.get_by_role("button", name="Vorschau anzeigen").click()
        progress = page.locator("#import-progress")
        expect(progress).to_contain_text("Wartet auf den Import-Prozess")  # queued: no worker yet
        page.reload()
        expect(progress).to_be_visible()
        with import_worker(app):
            moving = page.locator("#import-progress progress[value]")
            done = page.get_by_role("heading", name="Vorschau: grosse-liste.csv")
            expect(moving.or_(done)).to_be_visible(timeout=30_000)
            if moving.is_visible():
                screenshot(page, "import-progress", full_page=False)
            expect(done).to_be_visible(timeout=60_000)
        expect(page.locator(".stats")).to_contain_text("6000")
        assert page.console_errors == [] and page.blocked_requests == []
