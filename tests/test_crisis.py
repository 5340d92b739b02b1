"""Crisis safety, explanations and "Ergebnisse auf Deutsch" (issue 17, parts 4 to 6)."""

from __future__ import annotations

import re

import pytest
from search_support import names, shared_app, shared_staff  # noqa: F401  (fixtures)

from atlas.search.crisis import EMERGENCY, DESPAIR, LIFE, VIOLENCE, detect
from atlas.search.language import query_languages, wished_languages
from atlas.search.query import SynonymTable, parse

API = "/api/v1/services"


@pytest.fixture(scope="module")
def app(shared_app):
    """These tests only read: they share one app, database and index."""
    return shared_app


@pytest.fixture(scope="module")
def staff(shared_staff):
    return shared_staff


@pytest.mark.parametrize("text, kind", [
    ("Suizidgedanken", LIFE), ("Suizitgedanken", LIFE), ("SELBSTMORD", LIFE), ("ich will nicht mehr leben", LIFE),
    ("Angst, dass sich mein Bruder etwas antut", LIFE), ("ritzt sich", LIFE), ("Selbstverletzung", LIFE),
    ("häusliche Gewalt", VIOLENCE), ("mein Mann schlaegt mich", VIOLENCE), ("vergewaltigt worden", VIOLENCE),
    ("Stalking Ex-Partner", VIOLENCE), ("psychiatrischer Notfall nachts", EMERGENCY), ("akute Psychose", EMERGENCY),
    ("bin verzweifelt", DESPAIR), ("halte es zu Hause nicht mehr aus", DESPAIR), ("ich kann nicht mehr", DESPAIR),
    ("I want to kill myself", LIFE), ("self-harm", LIFE), ("domestic violence", VIOLENCE),
    ("intihar", LIFE), ("İNTİHAR düşünceleri", LIFE), ("kocam beni dövüyor", VIOLENCE),
    ("أفكار انتحارية", LIFE), ("أريد أن أنتحر", LIFE), ("عنف أسري", VIOLENCE),
    ("не хочу жити", LIFE), ("домашнє насильство", VIOLENCE), ("думки про суїцид", LIFE),
    ("мысли о самоубийстве", LIFE), ("муж бьёт меня", VIOLENCE), ("муж бьет меня", VIOLENCE),
])
def test_danger_is_recognised_in_every_supported_language(text, kind):
    found = detect(text)
    assert found is not None and kind in found.kinds


@pytest.mark.parametrize("text", ["vergewaltigt worden", "sexueller Übergriff", "I was raped", "tecavüze uğradım",
                                  "изнасиловали", "Trauma nach Gewalt", "PTBS nach häuslicher Gewalt"])
def test_after_sexual_violence_or_a_named_trauma_trauma_help_comes_before_the_shelter(text):
    words = detect(text).words
    assert words[0] == "Traumaambulanz" and "Frauenhaus" not in words


@pytest.mark.parametrize("text", ["häusliche Gewalt", "mein Mann schlägt mich", "Stalking Ex-Partner"])
def test_other_violence_puts_the_shelter_and_protection_first(text):
    words = detect(text).words
    assert words[:3] == ("Gewalt", "Frauenhaus", "Schutz") and "Gewalterfahrung" not in words


@pytest.mark.parametrize("text", ["akute Psychose", "psychiatrischer Notfall nachts"])
def test_a_psychiatric_emergency_puts_the_emergency_admission_and_the_social_psychiatric_service_first(text):
    words = detect(text).words
    assert words[:2] == ("Notfall", "Notfallaufnahme") and "Sozialpsychiatrischer" in words
    assert "Krise" not in words  # housing "for women in crises" is no help in a psychosis


@pytest.mark.parametrize("text", [
    "Schuldnerberatung", "Gewaltfreie Kommunikation", "Gewaltprävention an Schulen", "kann nicht mehr arbeiten",
    "von Wohnungslosigkeit bedroht", "Alkoholmissbrauch", "Krisentelefon", "Hausarzt Iserlohn", "Sportverein Ritzenhoff",
    "debt advice", "🙂🙂🙂", "", "x" * 5000,
])
def test_everyday_searches_are_not_taken_for_a_crisis(text):
    assert detect(text) is None


def test_the_api_puts_crisis_help_and_the_numbers_first(app):
    client = app.test_client()
    body = client.get(API, query_string={"q": "Schulden, ich will nicht mehr leben", "sort": "name"}).get_json()
    first = body["contents"][0]
    assert first["name"] == "Krisentelefon rund um die Uhr" and first["atlas"]["search"]["crisis_help"] is True
    assert first["atlas"]["search"]["why"].startswith("Hilfe in einer Krise")
    rest = body["contents"][1:]
    assert rest and all(not item["atlas"]["search"]["crisis_help"] for item in rest)
    assert {"Schuldnerberatung der Caritas", "Schuldnerberatung Lichtblick"} <= {item["name"] for item in rest}
    numbers = [n["number"] for n in body["crisis"]["numbers"]]
    assert body["crisis"]["kinds"] == [LIFE] and numbers[0] == "112" and "0800 111 0 111" in numbers
    violence = client.get(API, query_string={"q": "mein Mann schlägt mich"}).get_json()["crisis"]
    assert {"110", "116 016", "112"} <= {n["number"] for n in violence["numbers"]}
    plain = client.get(API, query_string={"q": "Schulden"}).get_json()
    assert plain["crisis"] is None and not any(i["atlas"]["search"]["crisis_help"] for i in plain["contents"])
    assert "Krisentelefon rund um die Uhr" not in names(client.get(API, query_string={"q": "Schulden"}))


def test_a_crisis_without_a_searchable_word_still_finds_crisis_help(app):
    body = app.test_client().get(API, query_string={"q": "ich kann nicht mehr"}).get_json()
    assert body["crisis"]["kinds"] == [DESPAIR]
    assert body["contents"][0]["name"] == "Krisentelefon rund um die Uhr"


def test_the_public_page_shows_numbers_and_crisis_help_first_even_for_an_unknown_place(app):
    client = app.test_client()
    html = client.get("/angebote", query_string={"q": "Suizid"}).get_data(as_text=True)
    box = html.index('class="crisis-box"')
    assert box < html.index('id="ergebnisse"')
    assert 'href="tel:112"' in html and 'href="tel:08001110111"' in html
    assert "Sie sind nicht allein" in html and "Das erste Angebot unten hilft in einer Krise." in html
    card = html[html.index('id="ergebnisse"'):]
    assert card.index("Krisentelefon rund um die Uhr") < card.index("</li>")
    assert "crisis-why" in card[:card.index("</li>")] and "Hilfe in einer Krise" in card[:card.index("</li>")]
    unknown = client.get("/angebote", query_string={"q": "Suizid", "ort": "Gibtesnichtdorf"})
    assert unknown.status_code == 400 and 'class="crisis-box"' in unknown.get_data(as_text=True)
    assert 'class="crisis-box"' not in client.get("/angebote", query_string={"q": "Schulden"}).get_data(as_text=True)


def test_the_staff_page_says_why_the_crisis_help_comes_first(staff):
    html = staff.get("/suche", query_string={"q": "häusliche Gewalt"}).get_data(as_text=True)
    assert "Die Suche deutet auf eine akute Gefahr hin." in html and 'href="tel:116016"' in html
    assert html.index('class="crisis-box"') < html.index("Krisentelefon rund um die Uhr")


def test_a_deployment_can_set_its_own_numbers(app):
    app.config["CRISIS_NUMBERS"] = [{"name": "Krisendienst Märkischer Kreis", "number": "02351 123 456",
                                     "note": "Mo–Fr 8–16 Uhr", "kinds": ["leben", "krise"]}]
    try:
        body = app.test_client().get(API, query_string={"q": "Suizid"}).get_json()
        html = app.test_client().get("/angebote", query_string={"q": "Suizid"}).get_data(as_text=True)
    finally:
        app.config["CRISIS_NUMBERS"] = None
    assert [n["number"] for n in body["crisis"]["numbers"]] == ["02351 123 456"]
    box = html[html.index('class="crisis-box"'):html.index("</section>", html.index('class="crisis-box"'))]
    assert 'href="tel:02351123456"' in box and 'href="tel:112"' not in box


def test_every_hit_says_why_in_words(app, staff):
    item = app.test_client().get(API, query_string={"q": "Schulden", "near": "Iserlohn"}).get_json()["contents"][0]
    why = item["atlas"]["search"]["why"]
    assert re.fullmatch(r"passt zu „Schulden“ → Schuldnerberatung · \d+,\d km( · .+)?", why), why
    html = staff.get("/suche", query_string={"q": "Schulden", "near": "Iserlohn"}).get_data(as_text=True)
    assert "Warum gefunden:" in html and "passt zu „Schulden“ → Schuldnerberatung" in html
    english = app.test_client().get(API, query_string={"q": "Schulden"}, headers={"Accept-Language": "en"})
    assert english.get_json()["contents"][0]["atlas"]["search"]["why"].startswith("matches “Schulden”")


def test_the_explained_category_prefers_the_need_then_the_words_then_the_first():
    from atlas.search.explain import _category
    view = {"taxonomy_terms": [{"code": "jobcoaching", "parent_id": "arbeit", "name": "Jobcoaching (AVGS)"},
                               {"code": "ifd", "parent_id": "reha", "name": "Integrationsfachdienst (IFD)"}]}
    assert _category(view, ("job behalten",), ("ifd", "berufliche-reha")) == "Integrationsfachdienst (IFD)"
    assert _category(view, ("job behalten",), ("berufliche-reha", "reha")) == "Integrationsfachdienst (IFD)"  # area
    assert _category(view, ("jobcoaching",), ("sucht",)) == "Jobcoaching (AVGS)"  # no need category: the words
    assert _category(view, ("behalten",)) == "Jobcoaching (AVGS)"  # neither: the first


@pytest.mark.parametrize("text, languages", [
    ("borç danışmanlığı", ("tr",)), ("depresyon", ("tr",)), ("طبيب عام", ("ar",)), ("сімейний лікар", ("uk",)),
    ("семейный врач", ("ru",)), ("психотерапевт", ("uk", "ru")), ("debt advice", ("en",)),
    ("GP accepting new patients", ("en",)), ("Schuldnerberatung", ()), ("Hilfe in Hagen", ()),
    ("Ev. Krankenhaus Witten", ()), ("Job Coaching", ()), ("", ()),
])
def test_the_language_of_a_search_is_guessed_modestly(text, languages):
    assert query_languages(text) == languages


@pytest.mark.parametrize("text, languages", [
    ("Schuldnerberatung auf Türkisch", ("tr",)), ("Türkçe psikoterapi", ("tr",)), ("Arzt, der Arabisch spricht", ("ar",)),
    ("russischsprachige Psychotherapie", ("ru",)), ("помощь с долгами на русском", ("ru",)),
    ("debt advice in Ukrainian", ("uk",)), ("Hausarzt Englisch oder Polnisch", ("en", "pl")),
    ("Englisch lernen", ()), ("Türkisch Kurs", ()), ("Türkischkurs", ()), ("Schuldnerberatung", ()), ("Deutsch", ()),
])
def test_a_language_asked_for_is_recognised_but_not_learning_one(text, languages):
    assert wished_languages(text) == languages


@pytest.mark.parametrize("text, parts", [
    ("Schuldnerberatung auf Türkisch", ["schuldnerberatung"]), ("Arzt, der Arabisch spricht", ["arzt"]),
    ("Türkisch", ["turkisch"]),  # nothing else left: the name is the search
    ("Englisch lernen", ["englisch", "lernen"]), ("mit jemandem sprechen", ["jemandem", "sprechen"]),
])
def test_a_language_asked_for_is_no_word_an_offer_must_hold(text, parts):
    assert [slot.label for slot in parse(text, SynonymTable([], []), 32)] == parts


def test_results_say_they_are_in_german(app, staff):
    client = app.test_client()
    html = client.get("/angebote", query_string={"q": "طبيب عام"}).get_data(as_text=True)
    assert "Ergebnisse auf Deutsch" in html and '<span lang="ar" dir="rtl">' in html
    assert "Ergebnisse auf Deutsch" not in client.get("/angebote", query_string={"q": "Schulden"}).get_data(as_text=True)
    assert 'lang="tr"' in staff.get("/suche", query_string={"q": "borç danışmanlığı"}).get_data(as_text=True)
    body = client.get(API, query_string={"q": "debt advice"}).get_json()
    assert body["search"]["query_languages"] == ["en"] and body["search"]["results_language"] == "de"
