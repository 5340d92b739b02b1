"""Inline CSS and map scripts in Chromium: styled at once, nothing blocked by the CSP, first markers from the page."""

import re

import pytest
from browser import browser_page, live_server, wait_until

pytestmark = pytest.mark.browser
WATCH_CSP = """window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});"""


def offer_path(page) -> str:
    """An offer with a place (listed on the map page), so its page has a small map."""
    page.goto("/karte?ansicht=liste")
    return re.search(r'href="(/angebote/\d+)"', page.content()).group(1)


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}])
def test_public_pages_are_styled_and_the_csp_blocks_nothing(app, viewport):
    with live_server(app) as url, browser_page(url, viewport=viewport) as page:
        page.add_init_script(WATCH_CSP)
        for path in ("/", offer_path(page), "/karte", "/karte/embed"):
            page.goto(path)
            if path.startswith("/karte"):
                page.wait_for_selector(".leaflet-marker-icon", state="visible")
            else:
                header = page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor")
                assert header != "rgba(0, 0, 0, 0)", path  # atlas.css applied
            if path.startswith("/angebote/"):
                page.locator(".map-small").scroll_into_view_if_needed()
                assert wait_until(lambda: page.evaluate("performance.getEntriesByName('atlas-markers').length > 0"))
            assert page.evaluate("window.__csp") == [], path
        assert page.console_errors == [] and page.blocked_requests == []


@pytest.mark.parametrize("path", ["/karte", "/karte/embed"])
def test_first_markers_need_no_data_request(app, path):
    with live_server(app) as url, browser_page(url, viewport={"width": 390, "height": 844}) as page:
        asked = []
        page.route("**/karte/daten*", lambda route: asked.append(route.request.url) or route.abort())
        page.goto(path)
        page.wait_for_selector(".leaflet-marker-icon", state="visible")
        assert page.evaluate("performance.getEntriesByName('atlas-markers').length") == 1
        shown = page.locator(".leaflet-marker-icon").count()
        assert shown >= 1 and asked  # the exact section is still asked for; its failure leaves the first ones
        page.wait_for_selector("[data-error='1']", state="attached")
        assert page.locator(".leaflet-marker-icon").count() == shown
