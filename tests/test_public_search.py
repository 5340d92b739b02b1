"""The participants' search: the staff engine over public offers, a place in the text, German errors, no dead ends."""

from __future__ import annotations

import re

import pytest
from public_support import demo_app  # noqa: F401  (fixture)

from atlas.db import get_session
from atlas.search.places import split_place


@pytest.fixture(scope="module")
def client(demo_app):
    return demo_app.test_client()


def titles(html: str) -> list[str]:
    return [t.replace("&#34;", '"') for t in re.findall(r'<h3><a href="/angebote/\d+[^"]*"[^>]*>([^<]+)</a>', html)]


def page(client, **params):
    response = client.get("/angebote", query_string=params)
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("text, words, place", [
    ("Sport Lüdenscheid", "Sport", "Lüdenscheid"),
    ("Schuldnerberatung 58636", "Schuldnerberatung", "58636"),
    ("Schuldnerberatung in Hemer", "Schuldnerberatung", "Hemer"),
    ("Iserlohn Sucht", "Sucht", "Iserlohn"),
    ("Tafel luedenscheid", "Tafel", "Lüdenscheid"),
    ("Menden Selbsthilfe", "Selbsthilfe", "Menden (Sauerland)"),
    ("Wetter Ruhr Sport", "Sport", "Wetter (Ruhr)"),
    ("Iserlohner Tafel", "Tafel", "Iserlohn"),  # a town's adjective names the town
    ("Mendener Selbsthilfegruppe", "Selbsthilfegruppe", "Menden (Sauerland)"),
    ("Hattinger Sozialamt", "Sozialamt", "Hattingen"),
    ("Schuldnerberatung Herdecker", "Schuldnerberatung", "Herdecke"),
    ("Lüdenscheider Hausarzt", "Hausarzt", "Lüdenscheid"),
    ("Hemer", "", "Hemer"),  # a name that ends like an adjective stays the town
    ("Hagener Schuldnerberatung", "Schuldnerberatung", "Hagen"),
    ("Praxis Hager", "Praxis Hager", ""),  # only "-ingen" becomes "-inger": Hager is a name, not Hagen
    ("Schulden", "Schulden", ""),
    ("Psychotherapeut Angst", "Psychotherapeut Angst", ""),
])
def test_a_place_in_the_text_becomes_the_place(demo_app, text, words, place):
    with demo_app.app_context():
        found = split_place(get_session(), text)
    assert (found.text, found.place) == (words, place)


def test_a_misspelt_place_gets_a_suggestion(demo_app):
    with demo_app.app_context():
        found = split_place(get_session(), "Schuldnerberatung Hemr")
        plain = split_place(get_session(), "Hilfe Schulden")
    assert found.place == "" and found.suggestion == "Hemer"
    assert plain.suggestion == ""


def test_debt_counselling_ranks_first_not_a_to_z(client):
    status, html = page(client, q="Schulden")
    assert status == 200
    # debt counselling in any wording ("Schuldnerberatung", "Schuldner- und Insolvenzberatung"), not A to Z
    assert all("Schuldner" in t and "beratung" in t for t in titles(html)[:4]), titles(html)[:6]


@pytest.mark.parametrize("query, expected", [
    ("Schuldnerbratung", "Schuldnerberatung"),
    ("Selbsthilfegruppe Depression", "Depression"),
    ("Psychotherapeut Angst", "Psychotherapeutische"),
])
def test_stems_typos_and_compounds_find_offers(client, query, expected):
    status, html = page(client, q=query)
    assert status == 200 and any(expected in t for t in titles(html)[:3]), titles(html)[:5]


def test_sport_in_luedenscheid_is_ranked_by_distance_and_says_so(client):
    status, html = page(client, q="Sport Lüdenscheid")
    assert status == 200
    assert "in der Nähe von Lüdenscheid" in html and "aus Ihrer Eingabe genommen" in html
    distances = [float(d.replace(",", ".")) for d in re.findall(r"(\d+,\d) km entfernt", html)]
    assert distances and distances[0] < 15


def test_place_field_and_radius_limit_the_results(client):
    status, html = page(client, q="Schuldnerberatung", ort="58675", umkreis="15")
    assert status == 200 and "bis 15 km" in html
    distances = [float(d.replace(",", ".")) for d in re.findall(r"(\d+,\d) km entfernt", html)]
    assert distances and max(distances) <= 15


def test_misspelt_place_in_the_text_is_offered_as_a_link(client):
    status, html = page(client, q="Schuldnerberatung Hemr")
    assert status == 200 and "Meinten Sie den Ort Hemer?" in html
    assert "ort=Hemer" in html


def test_unknown_place_gets_a_german_400_with_suggestions(client):
    status, html = page(client, q="Sport", ort="Iserlon")
    assert status == 400 and "Den Ort „Iserlon“ kennen wir nicht" in html
    assert "Meinten Sie:" in html and "Iserlohn" in html


def test_zero_results_never_end_the_road(client):
    status, html = page(client, q="Zahnspange", ort="Balve", umkreis="5")
    assert status == 200 and "Leider haben wir dazu nichts gefunden." in html
    assert "umkreis=10" in html  # wider radius
    assert "0800 111 0 111" in html and "Jobcenter" in html  # crisis numbers and the Jobcenter
    assert "Geld, Schulden und Beratung" in html  # related areas in everyday words


@pytest.mark.parametrize("params, message", [
    ({"umkreis": "7"}, "Den Umkreis „7“ gibt es nicht"),
    ({"seite": "abc"}, "Die Seitenzahl „abc“ gibt es nicht"),
    ({"seite": "9" * 30}, "Die Seitenzahl"),
    ({"kategorie": "gibt-es-nicht"}, "Den Bereich „gibt-es-nicht“ gibt es nicht"),
    ({"kategorie": "arbeitgeber"}, "Den Bereich „arbeitgeber“ gibt es nicht"),
    ({"lang": "fr"}, "Die Sprache „fr“ gibt es hier nicht"),
    ({"leicht": "ja"}, "Leichte Sprache"),
])
def test_bad_public_parameters_get_a_german_400(client, params, message):
    status, html = page(client, **params)
    assert status == 400 and message in html


def test_internal_offers_never_appear(client):
    status, html = page(client, q="Arbeitgeber")
    assert status == 200
    assert "nur intern" not in html


def test_language_and_easy_language_survive_the_search_form(client):
    html = client.get("/?lang=en&leicht=1").get_data(as_text=True)
    form = html.split('class="public-search', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="lang" value="en">' in form
    assert '<input type="hidden" name="leicht" value="1">' in form
    assert 'class="easy"' in html
    results = client.get("/angebote?q=Schulden&lang=en&leicht=1").get_data(as_text=True)
    assert "offers for" in results and 'href="/angebote/' in results
    assert re.search(r'href="/angebote/\d+\?(lang=en&amp;leicht=1|leicht=1&amp;lang=en)"', results)


def test_german_offer_text_on_english_pages_is_marked_german(client):
    html = client.get("/angebote?q=Schulden&lang=en").get_data(as_text=True)
    assert re.search(r'<a href="/angebote/\d+[^"]*" lang="de">Schuldnerberatung', html)
    assert '<html lang="en">' in html


def test_map_is_linked_from_every_public_page(client):
    for path in ("/", "/angebote", "/angebote?q=Sucht"):
        html = client.get(path).get_data(as_text=True)
        assert 'href="/karte"' in html, path
