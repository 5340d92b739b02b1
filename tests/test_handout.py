"""The handout tells the truth (issue 11, part 4): waiting time, intake and check dates, distance, hours per site,
no doubled texts, the data's date, and no offer split across two PDF pages."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from conftest import login
from search_support import pdf_streams

from atlas.audit import set_actor
from atlas.db import get_session
from atlas.models import Address, Location, Organization, Region, Schedule, Service, ServiceAtLocation, TaxonomyTerm

NAME = "Schuldnerberatung Lichtblick"


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF written with the built-in font (one content stream per page)."""
    pages = []
    for content in pdf_streams(data):
        strings = re.findall(r"\(((?:\\.|[^\\)])*)\)\s*Tj", content)
        if strings:
            pages.append(" ".join(s.replace("\\(", "(").replace("\\)", ")") for s in strings))
    return pages


def pdf_lines(data: bytes) -> list[str]:
    """The printed lines of a PDF written with the built-in font: text pieces joined by their baseline."""
    lines: dict[tuple[int, str], list[str]] = {}
    for page, content in enumerate(pdf_streams(data)):
        for y, text in re.findall(r"BT [\d.]+ ([\d.]+) Td \(((?:\\.|[^\\)])*)\) Tj", content):
            lines.setdefault((page, y), []).append(text.replace("\\(", "(").replace("\\)", ")"))
    return ["".join(parts) for parts in lines.values()]


def prepare(app) -> int:
    """The Lichtblick debt counselling with dated facts, a second site with its own hours and a doubled cost text."""
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        service = session.scalar(sa.select(Service).where(Service.name == NAME))
        service.waiting_time, service.waiting_time_confirmed_at = "ca. 6 Wochen", date(2026, 11, 2)
        service.intake_status, service.intake_status_confirmed_at = "warteliste", date(2026, 11, 3)
        service.assured_date = date(2026, 10, 1)
        service.cost_options, service.fees_description = ["kostenlos"], "Kostenlos."
        home = service.locations[0]
        home.schedules = [Schedule(byday="MO,TU", opens_at="09:00", closes_at="12:00")]
        witten = session.scalar(sa.select(Region).where(Region.slug == "witten"))
        second = Location(organization=service.organization, name="Außenstelle Annen", latitude=witten.latitude,
                          longitude=witten.longitude + 0.02, geo_precision="exakt", geo_source="manuell",
                          gemeinde=witten, address=Address(address_1="Annenstraße 5", city="Witten",
                                                           postal_code="58453"),
                          schedules=[Schedule(byday="TH", opens_at="14:00", closes_at="16:00")])
        service.service_at_locations.append(ServiceAtLocation(location=second))
        session.commit()
        return service.id


def test_the_handout_names_dates_distance_and_hours_per_site(app):
    sid = prepare(app)
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    html = staff.get("/suche/merkliste", query_string={"ids": sid, "near": "Witten"}).get_data(as_text=True)
    for expected in ("Wartezeit:", "ca. 6 Wochen (Stand 02.11.2026)", "Aufnahme:", "(Stand 03.11.2026)",
                     "Angaben geprüft am:", "01.10.2026", "Entfernung:", "km von Witten",
                     "Haus am Markt: Montag", "Außenstelle Annen: Donnerstag", "Gedruckt am", "Stand der Angaben:"):
        assert expected in html, expected
    entry = html[html.index('class="handout-item"'):html.index('</article>')]
    assert len(re.findall("kostenlos", entry, re.I)) == 1  # "Kostenlos" once, not "kostenlos. Kostenlos."
    plain = staff.get("/suche/merkliste", query_string={"ids": sid, "near": "Witten", "sprache": "leicht"})
    for expected in ("Wie lange warten Sie?", "Nimmt das Angebot neue Leute auf?", "Wie weit ist es?", "Geprüft am:"):
        assert expected in plain.get_data(as_text=True), expected
    app.config["SEARCH_PDF_FONT"] = None  # the built-in font keeps the text readable in the file
    pdf = staff.get("/suche/merkliste.pdf", query_string={"ids": sid, "near": "Witten"})
    text = " ".join(pdf_pages(pdf.data))
    for expected in ("ca. 6 Wochen (Stand 02.11.2026)", "Angaben gepr", "km von Witten", "Außenstelle Annen: ",
                     "Gedruckt am", "Stand der Angaben: "):
        assert expected.encode("latin-1").decode("latin-1") in text, expected
    assert "Wartezeit: ca. 6 Wochen (Stand 02.11.2026)" in pdf_lines(pdf.data)  # label and value share a line
    easy = pdf_lines(staff.get("/suche/merkliste.pdf", query_string={"ids": sid, "near": "Witten", "sprache": "leicht"}).data)
    assert "Wie lange warten Sie?" in easy and "ca. 6 Wochen (Stand 02.11.2026)" in easy  # Leichte Sprache: own lines


def test_a_place_the_atlas_does_not_know_is_named_and_the_rest_prints(app):
    sid = prepare(app)
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    response = staff.get("/suche/merkliste", query_string={"ids": sid, "near": "Atlantis"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Den Ort „Atlantis“ kennen wir nicht." in html
    assert "Die Entfernungen fehlen deshalb." in html and "Entfernung:" not in html and "Wartezeit:" in html


def test_no_offer_is_split_across_two_pdf_pages(app):
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        term = session.scalar(sa.select(TaxonomyTerm).where(TaxonomyTerm.slug == "selbsthilfe"))
        witten = session.scalar(sa.select(Region).where(Region.slug == "witten"))
        ids = []
        for i in range(14):
            org = Organization(name=f"Verein {i:02d}")
            loc = Location(organization=org, latitude=witten.latitude, longitude=witten.longitude,
                           geo_precision="exakt", geo_source="manuell", gemeinde=witten,
                           address=Address(address_1=f"Weg {i}", city="Witten", postal_code="58452"))
            service = Service(organization=org, name=f"Gruppe{i:02d}", categories=[term],
                              summary_plain="Wir treffen uns jede Woche. Wir reden über das, was uns bewegt. " * (1 + i % 6),
                              waiting_time="keine", service_at_locations=[ServiceAtLocation(location=loc)])
            session.add(service)
            session.flush()
            ids.append(service.id)
        session.commit()
    staff = app.test_client()
    assert login(staff, "lotsin@atlas.example").status_code == 302
    app.config["SEARCH_PDF_FONT"] = None
    pages = pdf_pages(staff.get("/suche/merkliste.pdf", query_string={"ids": ",".join(map(str, ids)),
                                                                        "sprache": "leicht"}).data)
    assert len(pages) >= 3
    for i, sid in enumerate(ids):
        start = [n for n, page in enumerate(pages) if f"Gruppe{i:02d}" in page]
        end = [n for n, page in enumerate(pages) if f"/angebote/{sid}" in page]
        assert start and start == end, (i, start, end)  # the name and the offer's last line share a page


def test_in_the_browser_the_card_and_the_downloaded_pdf_carry_the_facts(app):
    """A Lots*in's walk: the result card shows waiting time, intake, check and distance; the PDF says the same."""
    from pathlib import Path

    from browser import browser_page, live_server
    from playwright.sync_api import expect

    sid = prepare(app)
    app.config["SEARCH_PDF_FONT"] = None  # the built-in font keeps the text readable in the file
    with live_server(app) as url, browser_page(url) as page:
        page.goto("/login")
        page.get_by_label("E-Mail-Adresse").fill("lotsin@atlas.example")
        page.get_by_label("Passwort").fill("correct horse battery")
        page.get_by_role("button", name="Anmelden").click()
        page.goto("/suche?q=Schuldnerberatung&near=Witten")
        card = page.locator("li.result").filter(has=page.locator(f"#treffer-{sid}"))
        facts = card.locator(".facts-line")
        expect(facts).to_contain_text("Wartezeit: ca. 6 Wochen · Stand 02.11.2026")
        expect(facts).to_contain_text("Aufnahme: Warteliste · Stand 03.11.2026")
        expect(facts).to_contain_text("(01.10.2026)")
        expect(card.locator(".distance")).to_contain_text("km entfernt")
        card.get_by_label("Auf die Merkliste").check()
        with page.expect_download() as download:
            page.get_by_role("button", name="PDF herunterladen").click()
        text = " ".join(pdf_pages(Path(download.value.path()).read_bytes()))
        for expected in ("ca. 6 Wochen (Stand 02.11.2026)", "(Stand 03.11.2026)", "01.10.2026", "km von Witten"):
            assert expected in text, (expected, text[:800])
        assert page.console_errors == []


def test_the_printed_handout_sets_label_beside_value_and_easy_language_below(app):
    from browser import browser_page, live_server

    sid = prepare(app)
    with live_server(app) as url, browser_page(url) as page:
        page.goto("/login")
        page.get_by_label("E-Mail-Adresse").fill("lotsin@atlas.example")
        page.get_by_label("Passwort").fill("correct horse battery")
        page.get_by_role("button", name="Anmelden").click()
        page.emulate_media(media="print")
        tops = """item => [...item.querySelectorAll('dt')].map(dt => [dt.getBoundingClientRect().top,
                                                                dt.nextElementSibling.getBoundingClientRect().top])"""
        page.goto(f"/suche/merkliste?ids={sid}&near=Witten&sprache=de")
        pairs = page.locator(".handout-item").first.evaluate(tops)
        assert pairs and all(abs(dt - dd) < 1 for dt, dd in pairs)  # "Telefon:  +49 …" on one line
        page.goto(f"/suche/merkliste?ids={sid}&near=Witten&sprache=leicht")
        pairs = page.locator(".handout-item").first.evaluate(tops)
        assert pairs and all(dd > dt for dt, dd in pairs)  # the question above its answer
        assert page.console_errors == []
