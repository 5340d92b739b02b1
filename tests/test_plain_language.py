"""Public UI text uses everyday words: no listed jargon in public templates, labels or category names."""

from __future__ import annotations

import json
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from atlas import vocab
from atlas.plain import JARGON, PUBLIC_LABELS, jargon_in, public_label

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_TEMPLATES = ["base.html", "error.html", "public/index.html", "public/services.html", "public/service.html",
                    "public/_search_form.html", "public/_card.html", "public/_help.html",
                    "curation/report_form.html", "curation/report_thanks.html"]
PUBLIC_MODULES = ["atlas/opening.py", "atlas/search/public.py", "atlas/i18n.py"]
# Coded facts shown on public pages (their everyday label, or the normal one when there is none).
PUBLIC_VOCABULARIES = ["COST_OPTIONS", "ACCESS_ROUTES", "CONTACT_CHANNELS", "INTAKE_STATUS", "DELIVERY_FORMAT",
                       "SETTING", "ACCESSIBILITY", "PHONE_TYPES"]


def public_msgids() -> list[str]:
    ids: list[str] = []
    for name in PUBLIC_TEMPLATES:
        ids += [m[1] if isinstance(m[1], str) else m[1][0]
                for m in extract_from_file("jinja2", ROOT / "templates" / name,
                                           options={"extensions": "jinja2.ext.i18n"})]
    for name in PUBLIC_MODULES:
        ids += [m[1] if isinstance(m[1], str) else m[1][0] for m in extract_from_file("python", ROOT / name)]
    return ids


def test_the_jargon_detector_finds_each_listed_term():
    samples = {"ambulant": "Ambulant betreutes Wohnen", "stationär": "teilstationäre Hilfe",
               "Klient*innen": "nimmt neue Klient*innen auf", "Leistungsträger": "durch Leistungsträger",
               "Kostenübernahme": "Kostenübernahme möglich", "SGB": "nach SGB II", "§": "§ 45",
               "Maßnahme": "eine Maßnahme", "Eingliederung": "Eingliederungshilfe",
               "Leistungsberechtigte": "Leistungsberechtigte nach", "niedrigschwellig": "niedrigschwelliges Angebot",
               "Prävention": "Präventionskurs", "Tagesstruktur": "Tagesstruktur", "Teilhabe": "Teilhabeberatung"}
    assert set(samples) == set(JARGON)
    for term, text in samples.items():
        assert term in jargon_in(text), term
    assert jargon_in("Hilfe im Alltag in der eigenen Wohnung") == []


def test_public_template_strings_avoid_jargon():
    ids = public_msgids()
    assert len(ids) > 80  # the extraction really read the templates
    found = {i: jargon_in(i) for i in ids if jargon_in(i)}
    assert not found, f"public UI strings with jargon (use the plain words in atlas/plain.py): {found}"


def test_english_public_strings_avoid_jargon():
    catalog = read_po(open(ROOT / "atlas/translations/en/LC_MESSAGES/messages.po", "rb"))
    english = [catalog.get(i).string for i in set(public_msgids()) if catalog.get(i) and catalog.get(i).string]
    bad = [s for s in english if isinstance(s, str) and ("SGB" in s or "§" in s or "outpatient" in s.lower()
                                                         or "client" in s.lower())]
    assert not bad


def test_public_labels_avoid_jargon(app):
    with app.test_request_context("/"):
        for name in PUBLIC_VOCABULARIES:
            for code in getattr(vocab, name):
                assert not jargon_in(public_label(name, code)), (name, code, public_label(name, code))
    assert set(PUBLIC_LABELS) <= set(PUBLIC_VOCABULARIES)


def test_public_category_names_are_everyday_words():
    terms = json.loads((ROOT / "seeds/taxonomy.json").read_text(encoding="utf-8"))["terms"]
    for term in terms + [c for t in terms for c in t["children"]]:
        if term.get("internal_only"):
            continue
        assert term.get("name_plain") and term.get("name_plain_en"), term["slug"]
        assert not jargon_in(term["name_plain"]), term


def test_public_area_lists_follow_category_edits_at_once_and_hide_internal_areas(app, client):
    """Landing page, public list and map read the categories as cached plain rows (atlas.queries.plain_areas)."""
    from sqlalchemy import select

    from atlas.db import get_session
    from atlas.models import TaxonomyTerm

    before = client.get("/angebote").get_data(as_text=True)
    assert "Hilfe bei Geldsorgen" not in before
    with app.app_context():
        session = get_session()
        debt = session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.slug == "schuldnerberatung"))
        debt.name_plain = "Hilfe bei Geldsorgen"
        session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.slug == "netzwerk")).internal_only = True
        session.commit()
        hidden = session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.slug == "netzwerk")).public_label("de")
    for path in ("/angebote", "/", "/karte"):
        html = client.get(path).get_data(as_text=True)
        assert ("Hilfe bei Geldsorgen" in html) == (path == "/angebote"), path  # the others list areas only
        assert f">{hidden}<" not in html and "kategorie=netzwerk" not in html, path
    assert hidden in before or "kategorie=netzwerk" in before  # it was listed before it became internal
