"""The coordinator's desk in a real browser (Debian's Chromium) at 1366×900: the form that fits on a screen, restoring
after seeing the diff, working through the queue with the check view, assigning ten entries at once."""

from datetime import date

import pytest
import sqlalchemy as sa
from browser import browser_page, live_server, screenshot
from conftest import PASSWORD, service_id
from playwright.sync_api import expect

from atlas import validity
from atlas.audit import set_actor
from atlas.curation.models import ReviewCheck
from atlas.db import get_session
from atlas.models import AuditLog, Organization, Service, TaxonomyTerm, User

pytestmark = pytest.mark.browser
DESK = {"width": 1366, "height": 900}
MURAT = "murat.yilmaz@jobcenter-mk.example"
# The fields coordinators change most, by their id in the offer form, and the section that holds them.
MOST_EDITED = {
    "name": "wichtigste",
    "status": "wichtigste",
    "alert": "wichtigste",
    "waiting_time": "wichtigste",
    "intake_status": "wichtigste",
    "url": "kontakt",
    "email": "kontakt",
    "phones-0-number": "kontakt",
    "categories": "zielgruppe",
    "summary_plain": "texte",
    "owner_id": "intern",
}


def log_in(page):
    page.goto("/login")
    page.get_by_label("E-Mail-Adresse").fill("koordination@atlas.example")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    assert page.url.endswith("/verwaltung/")


def in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 40) <= DESK["height"]


def test_the_most_edited_fields_are_on_the_first_screen_or_one_click_away_and_saving_works_anywhere(app):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    with live_server(app) as url, browser_page(url, DESK) as page:
        log_in(page)
        page.goto(f"/verwaltung/angebote/{sid}")
        screenshot(page, "curation-form", full_page=False)
        save = page.locator(".save-bar button[type=submit]")
        for field_id, section in MOST_EDITED.items():
            page.evaluate("window.scrollTo(0, 0)")
            if not in_viewport(page, f"#{field_id}"):
                page.locator(f".save-bar a[href='#{section}']").click()  # the one click
                page.wait_for_timeout(50)
            assert in_viewport(page, f"#{field_id}"), f"{field_id} needs more than one click"
            assert in_viewport(page, ".save-bar button[type=submit]")
        for fraction in (0.25, 0.5, 0.75, 1.0):
            page.evaluate(f"window.scrollTo(0, document.body.scrollHeight * {fraction})")
            expect(save).to_be_in_viewport()
        page.locator("#summary_plain").fill("Hilfe bei Schulden, kostenlos.")
        expect(page.locator("[data-dirty]")).to_be_visible()
        save.click()
        expect(page.locator(".flash-success")).to_contain_text("Gespeichert.")
        assert page.console_errors == [] and page.blocked_requests == []
    with app.app_context():
        assert get_session().get(Service, sid).summary_plain == "Hilfe bei Schulden, kostenlos."


def test_edit_the_waiting_time_and_confirm_it_within_one_screen(app):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    with live_server(app) as url, browser_page(url, DESK) as page:
        log_in(page)
        page.goto(f"/verwaltung/angebote/{sid}")
        waiting = page.get_by_label("Wartezeit", exact=True)
        confirm = page.get_by_role("button", name="Wartezeit ist aktuell")
        expect(waiting).to_be_in_viewport()
        expect(confirm).to_be_in_viewport()
        waiting.fill("etwa 4 Wochen")
        confirm.click()
        expect(page.locator(".flash-success")).to_contain_text("Gespeichert.")
        expect(page.get_by_label("Wartezeit", exact=True)).to_have_value("etwa 4 Wochen")
        expect(page.get_by_label("Wartezeit bestätigt am")).to_have_value(validity.today().isoformat())
        # The searchable multi-select: typing narrows the categories, ticking counts.
        page.locator(".save-bar a[href='#zielgruppe']").click()
        page.get_by_label("In der Liste suchen").first.fill("Sucht")
        expect(page.get_by_label("Suchtberatung", exact=True)).to_be_visible()
        expect(page.get_by_label("Schuldnerberatung", exact=True)).to_be_hidden()
        assert page.console_errors == []
    with app.app_context():
        svc = get_session().get(Service, sid)
        assert (svc.waiting_time, svc.waiting_time_confirmed_at) == ("etwa 4 Wochen", validity.today())


def test_restore_an_older_state_after_seeing_its_diff(app):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    with live_server(app) as url, browser_page(url, DESK) as page:
        log_in(page)
        page.goto(f"/verwaltung/angebote/{sid}")
        page.get_by_label("Hinweis (Banner)").fill("Aufnahmestopp bis März")
        page.locator(".save-bar button[type=submit]").click()
        page.get_by_label("Hinweis (Banner)").fill("")
        page.locator(".save-bar button[type=submit]").click()
        page.get_by_role("link", name="Verlauf").first.click()
        page.get_by_role("link", name="Diesen Stand wiederherstellen …").nth(1).click()
        diff = page.locator("table.diff")
        expect(diff).to_contain_text("Hinweis (Banner)")
        expect(diff).to_contain_text("Aufnahmestopp bis März")
        with app.app_context():
            assert get_session().get(Service, sid).alert is None  # seeing the diff changed nothing
        screenshot(page, "curation-restore", full_page=False)
        page.get_by_role("button", name="Ja, diese Änderungen übernehmen").click()
        expect(page.locator(".flash-success")).to_contain_text("Version wiederhergestellt")
    with app.app_context():
        assert get_session().get(Service, sid).alert == "Aufnahmestopp bis März"


def give_kim_overdue_offers(app) -> list[str]:
    """Make the test coordinator owner of every offer, all overdue."""
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        kim = session.scalar(sa.select(User).where(User.email == "koordination@atlas.example"))
        names = []
        for svc in session.scalars(sa.select(Service).where(Service.status != "beendet").order_by(Service.id)):
            svc.owner, svc.assured_date = kim, date(2024, 1, 1)
            names.append(svc.name)
        session.commit()
        return names


def test_work_through_three_queue_items_with_the_check_view(app):
    give_kim_overdue_offers(app)
    with live_server(app) as url, browser_page(url, DESK) as page:
        log_in(page)
        page.goto("/verwaltung/pruefliste?art=angebote")
        screenshot(page, "curation-queue", full_page=False)
        done = []
        for round_ in range(3):
            first = page.locator("li.queue-item").first
            name = first.locator("h2 a").inner_text()
            first.get_by_role("link", name="Angaben prüfen").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text(name)
            expect(page.get_by_role("heading", name="Was veraltet")).to_be_visible()
            if round_ == 0:
                screenshot(page, "curation-check", full_page=False)
            page.get_by_role("button", name="Als geprüft vermerken").click()
            expect(page.get_by_role("alert")).to_contain_text("Bitte kreuzen Sie an, was Sie geprüft haben.")
            page.get_by_label("Das Angebot gibt es noch (Website, Anruf oder E-Mail)").check()
            page.get_by_label("Wartezeit erfragt").check()
            page.get_by_role("button", name="Als geprüft vermerken").click()
            expect(page.locator(".flash-success")).to_contain_text(name)
            assert "/verwaltung/pruefliste" in page.url
            expect(page.locator("li.queue-item h2 a", has_text=name)).to_have_count(0)
            done.append(name)
        # Confirming from the list still works, but asks what was checked.
        item = page.locator("li.queue-item").first
        item.locator("summary").click()
        item.get_by_role("checkbox").first.check()
        item.get_by_role("button", name="Als geprüft vermerken").click()
        expect(page.locator(".flash-success")).to_be_visible()
        # The deliberate empty submissions answered 400; anything else in the console would be a script error.
        assert [e for e in page.console_errors if "status of 400" not in e] == []
    with app.app_context():
        session = get_session()
        checks = session.scalars(sa.select(ReviewCheck).order_by(ReviewCheck.id)).all()
        assert [c.service.name for c in checks[:3]] == done and len(checks) == 4
        assert all(c.service.assured_date == validity.today() for c in checks)


def test_assign_ten_entries_to_a_new_owner(app):
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        org = session.scalar(sa.select(Organization).where(Organization.name == "Telefonseelsorge-Test"))
        term = session.scalar(sa.select(TaxonomyTerm).where(TaxonomyTerm.slug == "krisenhilfe"))
        for number in range(1, 6):
            session.add(Service(name=f"Gesprächsgruppe {number}", organization=org, categories=[term]))
        session.commit()
        murat = session.scalar(sa.select(User).where(User.email == MURAT))
    with live_server(app) as url, browser_page(url, DESK) as page:
        log_in(page)
        page.goto("/verwaltung/angebote?eigene=ohne")
        boxes = page.locator("input[name=eintrag]")
        assert boxes.count() >= 10
        bar = page.locator("form#bulk")
        assert bar.evaluate("b => getComputedStyle(b).position") == "static"  # nothing ticked: it covers no row
        for i in range(10):
            boxes.nth(i).check()
        assert bar.evaluate("b => getComputedStyle(b).position") == "sticky"
        assert in_viewport(page, "form#bulk button[type=submit]")  # ticked: the button is at hand
        page.get_by_label("Neue verantwortliche Person").select_option(value=str(murat.id))
        screenshot(page, "curation-bulk", full_page=False)
        page.get_by_role("button", name="Angekreuzten zuweisen").click()
        expect(page.locator(".flash-success")).to_contain_text("10 Einträge neu zugewiesen.")
        page.get_by_label("Verantwortlich (auch geerbt)").select_option(label="Murat Yılmaz")
        page.get_by_label("Zuständigkeit").select_option(value="")
        page.get_by_role("button", name="Anzeigen").click()
        expect(page.get_by_role("status")).to_contain_text("10 Angebote")
    with app.app_context():
        session = get_session()
        assert session.scalar(sa.select(sa.func.count(Service.id)).where(Service.owner_id == murat.id)) == 10
        rows = session.scalar(
            sa.select(sa.func.count(AuditLog.id)).where(
                AuditLog.entity_type == "service", AuditLog.actor == "koordination@atlas.example"
            )
        )
        assert rows == 10


@pytest.mark.parametrize("kind", ["organisation", "location"])
def test_organisation_and_location_forms_fit_the_same_way(app, kind):
    with app.app_context():
        session = get_session()
        org = session.scalar(sa.select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V."))
        path = f"/verwaltung/organisationen/{org.id}" if kind == "organisation" else (
            f"/verwaltung/standorte/{org.locations[0].id}")
    fields = {
        "organisation": {"name": "wichtigste", "website": "wichtigste", "email": "wichtigste",
                         "assured_date": "wichtigste", "phones-0-number": "kontakt", "description": "texte",
                         "owner_id": "intern", "deputy_id": "intern", "visibility": "intern"},
        "location": {"name": "wichtigste", "address_1": "wichtigste", "postal_code": "wichtigste",
                     "city": "wichtigste", "gemeinde_id": "wichtigste", "phones-0-number": "zeiten",
                     "transportation": "texte", "visibility": "intern"},
    }[kind]
    with live_server(app) as url, browser_page(url, DESK) as page:
        log_in(page)
        page.goto(path)
        for field_id, section in fields.items():
            page.evaluate("window.scrollTo(0, 0)")
            if not in_viewport(page, f"#{field_id}"):
                page.locator(f".save-bar a[href='#{section}']").click()
                page.wait_for_timeout(50)
            assert in_viewport(page, f"#{field_id}"), f"{field_id} needs more than one click"
        for fraction in (0.3, 0.6, 1.0):
            page.evaluate(f"window.scrollTo(0, document.body.scrollHeight * {fraction})")
            expect(page.locator(".save-bar button[type=submit]")).to_be_in_viewport()
        page.locator(".save-bar button[type=submit]").click()
        expect(page.locator(".flash-success").first).to_be_visible()
        assert page.console_errors == []


def test_lists_scroll_sideways_on_a_phone_instead_of_breaking_words(app):
    with live_server(app) as url, browser_page(url, {"width": 360, "height": 740}) as page:
        log_in(page)
        for path in ("/verwaltung/nutzer", "/verwaltung/angebote"):
            page.goto(path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 360, path  # the page never widens
            box = page.locator(".table-scroll").first
            assert box.evaluate("b => b.scrollWidth > b.clientWidth"), path  # the list scrolls in its box
        page.goto("/verwaltung/nutzer")
        lines = page.eval_on_selector_all("table.list tbody td:nth-child(2)", """cells => cells.map(c => {
            const range = document.createRange(); range.selectNodeContents(c); return range.getClientRects().length; })""")
        assert lines and max(lines) <= 2  # "Lots*in / Mitarbeitende" may wrap once; no word broken letter by letter
