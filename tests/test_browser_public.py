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


def test_a_crisis_search_shows_the_numbers_first_on_a_small_phone(app):
    from axe import axe_problems

    with live_server(app) as url, browser_page(url, viewport={"width": 360, "height": 640}) as page:
        page.goto("/angebote?q=ich+will+nicht+mehr+leben")
        box = page.locator(".crisis-box")
        expect(box.get_by_role("heading", level=2)).to_have_text("Sie sind nicht allein. Hier bekommen Sie sofort Hilfe.")
        call = box.locator('a[href="tel:112"]')
        geometry = call.bounding_box()
        assert geometry["y"] + geometry["height"] <= 640 and geometry["height"] >= 44  # on the first screen, big
        call.focus()
        expect(call).to_be_focused()
        first = page.locator("#ergebnisse > li").first
        expect(first.get_by_role("link").first).to_have_text("Krisentelefon rund um die Uhr")
        expect(first.locator(".why")).to_contain_text("Hilfe in einer Krise")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert axe_problems(page) == []
        screenshot(page, "public-crisis-phone")


def test_the_front_page_fields_line_up_on_a_desktop_screen(app):
    with live_server(app) as url, browser_page(url, viewport={"width": 1280, "height": 900}) as page:
        page.goto("/")
        what, where = page.locator("#q").bounding_box(), page.locator("#ort").bounding_box()
        button = page.locator("form.public-search button[type=submit]").bounding_box()
        middle = [box["y"] + box["height"] / 2 for box in (what, where, button)]
        assert max(middle) - min(middle) <= 3
        assert where["x"] > what["x"] and button["x"] > where["x"]  # one row: what, where, search


def test_a_printed_offer_page_says_only_what_stays_true_on_paper(app):
    from conftest import service_id

    with live_server(app) as url, browser_page(url) as page:
        page.goto(f"/angebote/{service_id(app, 'Schuldnerberatung Lichtblick')}")
        assert page.locator(".route").count() and page.locator(".open-state").count()  # on screen: route and "jetzt"
        page.emulate_media(media="print")
        assert page.locator(".route").first.is_hidden() and page.locator(".open-state").first.is_hidden()
        suffix = page.locator("a.shows-url").first.evaluate("a => getComputedStyle(a, '::after').content")
        assert suffix in ("none", "normal")  # a link that shows its address does not print it twice
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
