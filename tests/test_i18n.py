"""German first, English second: language choice and a complete, compiled English catalogue."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "atlas" / "translations" / "en" / "LC_MESSAGES"
METHODS = [("atlas/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def source_messages() -> set:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_every_ui_string_has_an_english_translation():
    catalog = read_po(open(CATALOG / "messages.po", "rb"))
    translated = {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog
                  if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)}
    missing = sorted(map(str, source_messages() - translated))
    assert not missing, "add English translations (python3 dev.py translations): " + "; ".join(missing[:20])


def test_compiled_catalogue_matches_source():
    def flat(messages):
        def first(value):
            return value if isinstance(value, str) else tuple(value)[0]
        return {first(m.id): str(tuple(m.string)) if not isinstance(m.string, str) else m.string
                for m in messages if m.id and (all(m.string) if not isinstance(m.string, str) else m.string)}

    po = flat(read_po(open(CATALOG / "messages.po", "rb")))
    mo = flat(read_mo(open(CATALOG / "messages.mo", "rb")))
    assert po == mo, "messages.mo is stale: run python3 dev.py translations"


def test_german_is_the_default(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="de">' in html and "Hilfe und Angebote in Ihrer Nähe" in html


def test_english_by_parameter_and_links_keep_it(client):
    html = client.get("/angebote?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html and "Offers" in html
    assert "lang=en" in html.split("Back to")[0] or 'href="/?lang=en"' in html
    assert not client.get_cookie("session"), "choosing a language must not set a cookie for the public"


def test_english_from_browser_preference(client):
    html = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert "Help and offers near you" in html


def test_unknown_language_falls_back_to_german(client):
    assert '<html lang="de">' in client.get("/?lang=xx").get_data(as_text=True)


def test_categories_are_translated(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "Help for your mind" in html and "Hilfe für die Seele" not in html and "Seelische Gesundheit" not in html


def test_templates_follow_a_language_forced_within_the_request(app):
    """Templates look their translations up once per request and language (atlas.i18n.translations)."""
    from flask import render_template_string
    from flask_babel import force_locale, refresh

    page = "{{ _('Angebote') }}|{{ ngettext('%(num)s Angebot', '%(num)s Angebote', 2) }}"
    with app.test_request_context("/?lang=de"):
        assert render_template_string(page) == "Angebote|2 Angebote"
        with force_locale("en"):
            assert render_template_string(page) == "Offers|2 offers"
        assert render_template_string(page) == "Angebote|2 Angebote"
    with app.test_request_context("/?lang=en"):
        assert render_template_string(page) == "Offers|2 offers"
        refresh()  # what a language change in the middle of a request does
        assert render_template_string(page) == "Offers|2 offers"


def test_dates_and_distances_are_kept_formatted_per_language(app):
    """Formatted dates and distances are cached (atlas.i18n._formatted), but never across languages."""
    from datetime import date, datetime

    from flask_babel import force_locale

    from atlas.i18n import datum, monat
    from atlas.plain import km

    with app.test_request_context("/?lang=de"):
        assert (datum(date(2026, 3, 5)), monat("2026-03-05"), km(1234.56), km(3.25)) == \
            ("05.03.2026", "März 2026", "1.234,6", "3,2")
        with force_locale("en"):
            assert (datum(date(2026, 3, 5)), monat("2026-03-05"), km(1234.56), km(3.25)) == \
                ("Mar 5, 2026", "March 2026", "1,234.6", "3.2")
        assert datum(datetime(2026, 3, 5, 23, 30)) == datum("2026-03-05T23:30:00Z") == "05.03.2026"
        assert (datum(None), km(None)) == ("", "")


def test_template_gettext_escapes_formats_and_works_in_loops(app):
    """atlas.i18n's template callables behave as Jinja's newstyle gettext, without copying the context per call."""
    from flask import render_template_string

    page = ("{% for name in ['<b>', 'Ärger'] %}{{ _('%(name)s – alles', name=name) }}|{% endfor %}"
            "{{ ngettext('%(num)s Angebot', '%(num)s Angebote', 3) }}|{{ _('100 %%') }}|"
            "{% trans n=2 %}{{ n }} Angebote{% endtrans %}|"
            "{% autoescape false %}{{ _('%(name)s – alles', name='<i>') }}{% endautoescape %}")
    with app.test_request_context("/?lang=de"):
        assert render_template_string(page) == \
            "&lt;b&gt; – alles|Ärger – alles|3 Angebote|100 %|2 Angebote|<i> – alles"
    with app.test_request_context("/?lang=en"):
        assert render_template_string(page).startswith("&lt;b&gt; – everything|Ärger – everything|3 offers|100 %|")


def test_translations_in_a_loop_do_not_copy_the_template_context(app, monkeypatch):
    from flask import render_template_string
    from jinja2.runtime import Context

    copies = []
    real = Context.derived
    monkeypatch.setattr(Context, "derived", lambda self, *a, **k: copies.append(1) or real(self, *a, **k))
    with app.test_request_context("/?lang=de"):
        # Jinja copies the context for a call in a loop or block that sets variables, as result pages do.
        html = render_template_string("{% for n in range(50) %}{% set days = n %}{{ _('Angebote') }}"
                                      "{{ ngettext('%(num)s Tag', '%(num)s Tage', days) }}{% endfor %}")
    assert html.count("Angebote") == 50 and "49 Tage" in html
    assert copies == []
