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
