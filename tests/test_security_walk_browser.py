"""Hostile-string × field × page walk in Chromium: every page type, public and staff, at phone width.

Every hostile payload sits in every field at once, so each page shows all of them in every field it renders. On each
page: script executions of a payload, Content-Security-Policy violations, javascript: links, raw bidi overrides and
horizontal overflow (findings 1 and 10) must all be 0.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from browser import browser_page, live_server, screenshot
from conftest import PASSWORD
from security_support import page_urls

from atlas.db import get_session
from atlas.models import Address, Contact, Location, Organization, Phone, Schedule, Service, TaxonomyTerm

pytestmark = pytest.mark.browser
PAYLOADS = ['<script>__xss(1)</script>', '<img src=x onerror=__xss(2)>', '"><svg onload=__xss(3)>', "'-__xss(4)-'",
            '</script><script>__xss(5)</script>', '{{7*7}}{% raw %}', '<a href="javascript:__xss(6)">j</a>',
            '\u202e58636 Witten\u2066', '${__xss(7)}']
HOSTILE = "".join(PAYLOADS)  # 190 characters: fits every name column
LONG_WORD = "Überlang" + "W" * 10_000
# (model, column, value, which rows): a hostile value into every text field that a page renders.
FIELDS = [
    (Service, "name", HOSTILE), (Service, "description", LONG_WORD + " " + HOSTILE), (Service, "summary_plain", HOSTILE),
    (Service, "alert", HOSTILE), (Service, "application_process", HOSTILE), (Service, "fees_description", HOSTILE),
    (Service, "target_group", HOSTILE), (Service, "waiting_time", HOSTILE), (Service, "internal_note", HOSTILE),
    (Service, "url", "javascript:__xss(8)"), (Service, "alternate_name", LONG_WORD[:300]),
    (Organization, "name", HOSTILE), (Organization, "description", LONG_WORD + HOSTILE),
    (Organization, "website", "javascript:__xss(9)"), (Organization, "internal_note", HOSTILE),
    (Location, "name", HOSTILE), (Location, "description", HOSTILE), (Location, "transportation", HOSTILE),
    (Location, "accessibility_description", LONG_WORD), (Address, "address_1", HOSTILE), (Address, "city", HOSTILE),
    (Phone, "description", HOSTILE), (Schedule, "description", HOSTILE), (Contact, "name", HOSTILE),
    (TaxonomyTerm, "description", HOSTILE),
]
WATCH = """
window.__xssCount = 0;
window.__xss = function () { window.__xssCount += 1; };
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""
INSPECT = """() => ({
  xss: window.__xssCount, csp: window.__csp,
  jsLinks: Array.from(document.querySelectorAll("a[href]")).filter(a => /^\\s*javascript:/i.test(a.getAttribute("href"))).length,
  rawBidi: /[\\u202a-\\u202e\\u2066-\\u2069]/.test(document.body.innerText),
  overflow: document.documentElement.scrollWidth - window.innerWidth,
})"""


def plant(app) -> int:
    """Write the hostile values behind the ORM's back (as old rows, imports or a direct SQL edit would)."""
    planted = 0
    with app.app_context():
        session = get_session()
        for model, column, value in FIELDS:
            planted += session.execute(sa.update(model).values({column: value})).rowcount
        session.commit()
    return planted


def browser_login(page, base: str) -> None:
    """Log in through the real form (the session is bound to the browser)."""
    page.goto(base + "/login")
    page.fill("#email", "koordination@atlas.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/verwaltung/")  # coordinators land on the coordinator area


def extra_states(app) -> list[str]:
    with app.app_context():
        sid = get_session().scalar(sa.select(Service.id).order_by(Service.id))
    return ["/karte?ansicht=liste", "/angebote?q=Schulden", "/suche?q=Schulden", f"/suche/merkliste?ids={sid}",
            "/suche?q=%3Cscript%3E__xss(10)%3C/script%3E", "/login?next=/%09/evil.example/", "/angebote?lang=en",
            "/intern/angebote?q=%22%3E%3Csvg%20onload=__xss(11)%3E"]


def walk(page, base: str, urls: list[str]) -> dict[str, dict]:
    problems = {}
    for url in urls:
        response = page.goto(base + url, wait_until="load")
        page.wait_for_timeout(50)
        found = page.evaluate(INSPECT)
        bad = {k: v for k, v in found.items() if (v if k != "overflow" else v > 1)}
        if response is not None and response.status >= 500:
            bad["status"] = response.status
        if bad:
            problems[url] = bad
    return problems


def test_hostile_walk_public_and_staff(app):
    assert plant(app) >= len(FIELDS)
    staff_urls = [url for _endpoint, url in page_urls(app)] + extra_states(app)
    public_urls = [url for endpoint, url in page_urls(app)
                   if endpoint.startswith(("public.", "maps.public", "maps.embed", "reports.", "auth.", "checker"))]
    public_urls += extra_states(app)[:3]
    with live_server(app) as base, browser_page(base, viewport={"width": 390, "height": 844}) as page:
        page.context.add_init_script(WATCH)
        anonymous = walk(page, base, public_urls)
        browser_login(page, base)
        staff = walk(page, base, staff_urls)
        page.goto(base + extra_states(app)[0])
        screenshot(page, "security-hostile-map-list")
    report = {"anonymous": anonymous, "staff": staff}
    print(json.dumps({"pages": len(public_urls) + len(staff_urls), "fields": len(FIELDS), "payloads": len(PAYLOADS)}))
    assert anonymous == {} and staff == {}, json.dumps(report, ensure_ascii=True)[:3000]
    assert len(staff_urls) > 50
