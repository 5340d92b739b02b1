"""Participants' journeys on a phone and a desktop in Chromium, with axe-core checking WCAG 2.1 AA on every page."""

from __future__ import annotations

import pytest
from axe import axe_problems
from browser import browser_page, live_server, screenshot
from playwright.sync_api import expect
from public_support import demo_app  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def check_page(page) -> None:
    """No script error, no request leaving the machine, no cookie, no WCAG 2.1 AA problem."""
    assert page.console_errors == [], page.console_errors
    assert page.blocked_requests == []
    assert page.context.cookies() == []
    problems = axe_problems(page)
    assert not problems, f"{page.url}: {problems}"


def test_debt_counselling_near_58675_in_three_steps_on_a_phone(demo_app):
    with live_server(demo_app) as url, browser_page(url, viewport=PHONE) as page:
        page.goto("/")
        check_page(page)
        page.get_by_label("Was suchen Sie?").fill("Schuldnerberatung")          # 1
        page.get_by_label("Wo? Ort oder Postleitzahl").fill("58675")            # 2
        page.get_by_role("button", name="Suchen").click()                        # 3
        expect(page.locator(".result-count")).to_contain_text("in der Nähe von 58675 Hemer")
        first = page.locator(".offer-card").first
        expect(first.get_by_role("heading")).to_contain_text("Schuldnerberatung")
        expect(first.locator(".distance")).to_contain_text("km entfernt")
        # On a phone the first hit is visible without scrolling.
        box = first.bounding_box()
        assert box and box["y"] < PHONE["height"]
        screenshot(page, "public-search-phone", full_page=False)
        check_page(page)


def test_sport_in_luedenscheid_typed_into_one_box(demo_app):
    with live_server(demo_app) as url, browser_page(url, viewport=PHONE) as page:
        page.goto("/")
        page.get_by_label("Was suchen Sie?").fill("Sport Lüdenscheid")
        page.keyboard.press("Enter")
        expect(page.locator(".result-count")).to_contain_text("für „Sport“ in der Nähe von Lüdenscheid")
        expect(page.locator(".offer-card").first.locator(".distance")).to_be_visible()
        page.get_by_role("link", name="Ort entfernen").click()
        expect(page.locator(".result-count")).not_to_contain_text("in der Nähe")
        check_page(page)


def test_english_and_easy_language_survive_a_form(demo_app):
    with live_server(demo_app) as url, browser_page(url, viewport=PHONE) as page:
        page.goto("/")
        page.get_by_role("link", name="English").click()
        page.get_by_role("link", name="Easy-to-read language").click()
        expect(page.locator("body")).to_have_class("easy")
        page.get_by_label("What are you looking for?").fill("Schulden")
        page.keyboard.press("Enter")
        expect(page.locator(".result-count")).to_contain_text("offers for")
        assert "lang=en" in page.url and "leicht=1" in page.url
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator(".offer-card h3 a").first).to_have_attribute("lang", "de")
        check_page(page)
        page.locator(".offer-card h3 a").first.click()
        expect(page.get_by_role("heading", name="In short")).to_be_visible()
        assert "lang=en" in page.url and "leicht=1" in page.url
        check_page(page)
        page.get_by_role("link", name="Standard language").click()
        expect(page.locator("body")).not_to_have_class("easy")
        assert "leicht" not in page.url and "lang=en" in page.url


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_public_pages_pass_axe(demo_app, viewport):
    with live_server(demo_app) as url, browser_page(url, viewport=viewport) as page:
        for path in ("/", "/?leicht=1", "/angebote", "/angebote?q=Sucht+Iserlohn", "/angebote?q=Zahnspange&ort=Balve&umkreis=5",
                     "/angebote?ort=Atlantis", "/angebote/1", "/angebote/5?lang=en", "/gibt-es-nicht"):
            response = page.goto(path)
            if response.status >= 400:  # the page itself answers 400/404 on purpose; Chromium logs that
                page.console_errors[:] = [e for e in page.console_errors
                                          if f"status of {response.status}" not in e]
            check_page(page)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], path


def test_offer_page_on_a_phone(demo_app):
    with live_server(demo_app) as url, browser_page(url, viewport=PHONE) as page:
        page.goto("/angebote?q=Suchtmedizinische+Sprechstunde")
        page.locator(".offer-card", has_text="58453 Witten").locator("h3 a").first.click()
        reach = page.locator(".reach")
        expect(reach.get_by_role("link", name="Weg dorthin")).to_have_attribute("href", "geo:0,0?q=Annenstra%C3%9Fe%20112%2C%2058453%20Witten")
        expect(reach.locator("a.tel").first).to_have_attribute("href", "tel:+4923025554337")
        assert reach.bounding_box()["y"] < PHONE["height"] * 1.5
        screenshot(page, "public-offer-phone")
        page.get_by_role("button", name="Angaben als Text kopieren").click()
        expect(page.locator("[data-copy-status]")).to_contain_text("Kopiert")
        check_page(page)
