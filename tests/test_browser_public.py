"""Public pages in a real browser (Debian's Chromium via Playwright), with no request leaving the machine."""

import pytest
from browser import browser_page, live_server, screenshot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_find_an_offer_by_keyboard_and_switch_language(app):
    with live_server(app) as url, browser_page(url) as page:
        page.goto("/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Hilfe und Angebote in Ihrer Nähe")
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Zum Inhalt springen")).to_be_focused()
        page.get_by_label("Was suchen Sie?").fill("Schulden")
        page.keyboard.press("Enter")
        expect(page.locator(".result-count")).to_contain_text("1 Angebot für „Schulden“")
        page.get_by_role("link", name="Schuldnerberatung Lichtblick").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Schuldnerberatung Lichtblick")
        expect(page.get_by_text("Marktstraße 5, 58452 Witten")).to_be_visible()
        assert "SENTINEL" not in page.content()
        screenshot(page, "public-offer")
        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", name="Full description")).to_be_visible()
        assert page.url.endswith("lang=en")
        assert page.console_errors == []
        assert page.blocked_requests == []
        assert page.context.cookies() == []


def test_small_phone_screen_has_no_horizontal_scroll(app):
    with live_server(app) as url, browser_page(url, viewport={"width": 360, "height": 640}) as page:
        page.goto("/angebote")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360
