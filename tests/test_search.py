"""Search through the API and the staff page: German analysis, every filter, ranking, privacy, bad input."""

import re
from collections import Counter

import pytest
from search_support import names, pdf_streams, shared_app, shared_staff  # noqa: F401  (fixtures)
from sqlalchemy import event


API = "/api/v1/services"


@pytest.fixture(scope="module")
def app(shared_app):
    """These tests only read: they share one app, database and index."""
    return shared_app


@pytest.fixture(scope="module")
def staff(shared_staff):
    return shared_staff


def api(app, **params):
    return app.test_client().get(API, query_string=params)


def found(app, **params) -> list[str]:
    return names(api(app, **params))


# -- German analysis -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("Schulden", "Schuldnerberatung der Caritas"),
    ("Sucht", "Suchtberatungsstelle Iserlohn"),
    ("Beratung", "Familienberatung"),
    ("Suchtberatng", "Suchtberatungsstelle Iserlohn"),
    ("Schuldnerberatug", "Schuldnerberatung der Caritas"),
    ("Hartz IV", "Sozialberatung zum Bürgergeld"),
    ("Therapie", "Psychotherapeutische Sprechstunde"),
    ("Doktor", "Hausarztpraxis Dr. Becker"),
    ("Sport Iserlohn", "Reha-Sport und Lauftreff"),
    ("Schuldenberatung in Iserlohn mit Termin bald", "Schuldnerberatung der Caritas"),
])
def test_german_queries_find_the_right_offer(app, query, expected):
    assert expected in found(app, q=query)


@pytest.mark.parametrize("spelling", ["Lüdenscheid", "Luedenscheid", "Ludenscheid"])
def test_umlaut_spellings_find_the_same_offers(app, spelling):
    assert sorted(found(app, q=spelling)) == ["Familienberatung", "Psychotherapeutische Sprechstunde"]


def test_all_words_must_match_and_paused_offers_are_left_out(app):
    assert found(app, q="Sport Iserlohn") == ["Reha-Sport und Lauftreff"]
    assert "Pausierte Yogagruppe" not in found(app, q="Yoga")
    assert "Pausierte Yogagruppe" in found(app, q="Yoga", include_inactive="1")


def test_typos_are_reported_as_corrections(app):
    body = api(app, q="Suchtberatng").get_json()
    assert body["search"]["corrections"] == {"suchtberatng": "suchtberatung"}


def test_a_query_matching_only_some_words_is_relaxed(app):
    body = api(app, q="Schulden Zauberwort").get_json()
    assert body["search"]["relaxed"] is True
    assert "Schuldnerberatung der Caritas" in [i["name"] for i in body["contents"]]
    # Counted within the filters: full matches outside the chosen category do not empty the list.
    filtered = api(app, q="Sucht Iserlohn", category="schuldnerberatung", place_in_text="0").get_json()
    assert filtered["search"]["relaxed"] is True
    assert [i["name"] for i in filtered["contents"]] == ["Schuldnerberatung der Caritas"]


def test_few_full_matches_of_a_longer_query_are_followed_by_offers_lacking_one_word(app, staff):
    body = api(app, q="Sucht Beratung Iserlohn", place_in_text="0").get_json()
    assert body["search"]["widened"] is True and body["search"]["relaxed"] is False
    assert names(api(app, q="Sucht Beratung Iserlohn", place_in_text="0"))[:2] == [
        "Suchtberatungsstelle Iserlohn", "Schuldnerberatung der Caritas"]  # the full match first, then "Sucht" lacking
    html = staff.get("/suche", query_string={"q": "Sucht Beratung Iserlohn", "place_in_text": "0"}).get_data(as_text=True)
    assert "Nur wenige Angebote passen zu allen Suchwörtern" in html
    # Two words stay strict, and nothing widens when no offer lacks just one word.
    assert api(app, q="Sucht Iserlohn", place_in_text="0").get_json()["search"]["widened"] is False
    narrow = api(app, q="Beratung Sucht Alkohol").get_json()
    assert narrow["search"]["widened"] is False and narrow["total_items"] == 1


# -- filters --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("params, expected", [
    ({"category": "suchtberatung"}, {"Suchtberatungsstelle Iserlohn"}),
    ({"category": "sucht"}, {"Suchtberatungsstelle Iserlohn"}),
    ({"category": "beratung", "q": "Familie"}, {"Familienberatung"}),
    ({"gemeinde": "luedenscheid"}, {"Familienberatung", "Psychotherapeutische Sprechstunde"}),
    ({"kreis": "ennepe-ruhr-kreis"}, {"Schuldnerberatung Lichtblick", "Frauenschutz Lichtblick"}),
    ({"cost": "gutschein"}, {"Psychotherapeutische Sprechstunde"}),
    ({"cost": "kostenlos", "q": "Beratung", "kreis": "maerkischer-kreis"},
     {"Schuldnerberatung der Caritas", "Suchtberatungsstelle Iserlohn", "Familienberatung"}),
    ({"channel": "hausbesuch"}, {"Suchtberatungsstelle Iserlohn"}),
    ({"channel": "online,email"}, {"Familienberatung"}),
    ({"accessibility": "stufenlos"}, {"Suchtberatungsstelle Iserlohn", "Schuldnerberatung Lichtblick"}),
    ({"language": "ar"}, {"Hausarztpraxis Dr. Becker"}),
    ({"easy_language": "1"}, {"Suchtberatungsstelle Iserlohn"}),
    ({"accepting": "1"}, {"Schuldnerberatung der Caritas", "Schuldnerberatung Lichtblick"}),
    ({"short_notice": "1"}, {"Suchtberatungsstelle Iserlohn", "Krisentelefon rund um die Uhr"}),
    ({"jobcenter": "jc-mk", "q": "Schulden"}, {"Schuldnerberatung der Caritas"}),
])
def test_each_filter_works_with_or_without_text(app, params, expected):
    assert set(found(app, per_page=100, **params)) == expected


def test_radius_filter_shows_distance_on_every_hit_and_sorts_by_it(app):
    body = api(app, near="58636", radius_km="5").get_json()
    hits = [(i["name"], i["atlas"]["search"]["distance_km"]) for i in body["contents"]]
    assert [n for n, _d in hits] == ["Schuldnerberatung der Caritas", "Suchtberatungsstelle Iserlohn",
                                     "Reha-Sport und Lauftreff", "Krisentelefon rund um die Uhr"]
    distances = [d for _n, d in hits[:3]]
    assert distances == sorted(distances) and all(0 < d <= 5 for d in distances)
    assert hits[3][1] is None  # supra-regional: no distance, kept unless excluded
    assert body["search"]["origin"]["label"] == "58636 Iserlohn"
    assert "Krisentelefon rund um die Uhr" not in found(app, near="58636", radius_km="5",
                                                        include_supra_regional="0")
    assert found(app, near="Iserlohn", radius_km="5", include_supra_regional="0") == \
        found(app, near="51.3633,7.6814", radius_km="5", include_supra_regional="0")
    wide = found(app, near="58636", radius_km="20", include_supra_regional="0")
    assert "Familienberatung" in wide and "Schuldnerberatung Lichtblick" not in wide


# -- ranking ----------------------------------------------------------------------------------------------------------

def test_relevance_puts_name_matches_first(app):
    assert found(app, q="Schulden")[:2] == ["Schuldnerberatung der Caritas", "Schuldnerberatung Lichtblick"] or \
        found(app, q="Schulden")[:2] == ["Schuldnerberatung Lichtblick", "Schuldnerberatung der Caritas"]


def test_distance_is_blended_into_relevance(app):
    assert found(app, q="Schuldnerberatung", near="58452")[0] == "Schuldnerberatung Lichtblick"
    assert found(app, q="Schuldnerberatung", near="58636")[0] == "Schuldnerberatung der Caritas"


def test_a_place_in_the_text_becomes_the_place(app, staff):
    body = api(app, q="Schuldnerberatung Witten").get_json()
    assert body["search"]["place_from_text"] == "Witten" and body["search"]["origin"]["label"].endswith("Witten")
    assert body["contents"][0]["name"] == "Schuldnerberatung Lichtblick"  # the one in Witten, not the word
    assert all(i["atlas"]["search"]["distance_km"] is not None for i in body["contents"][:2])
    assert api(app, q="Schuldnerberatung Iserlohn").get_json()["contents"][0]["name"] == "Schuldnerberatung der Caritas"
    as_word = api(app, q="Schuldnerberatung Witten", place_in_text="0").get_json()
    assert as_word["search"]["place_from_text"] is None and as_word["search"]["origin"] is None
    assert api(app, q="Schuldnerberatung Witten", near="58636").get_json()["search"]["place_from_text"] is None
    html = staff.get("/suche", query_string={"q": "Schuldnerberatung Witten"}).get_data(as_text=True)
    assert "Den Ort „Witten“ haben wir aus dem Suchtext genommen" in html and "place_in_text=0" in html
    assert '<input id="near" name="near" type="text" value="Witten"' in html


def test_sort_orders(app):
    by_name = found(app, kreis="maerkischer-kreis", sort="name")
    assert by_name == sorted(by_name, key=str.casefold)
    body = api(app, kreis="maerkischer-kreis", near="58706", sort="distance").get_json()
    distances = [i["atlas"]["search"]["distance_km"] for i in body["contents"]]
    assert body["contents"][0]["name"] == "Hausarztpraxis Dr. Becker" and distances == sorted(distances)
    verified = api(app, kreis="maerkischer-kreis", sort="verified").get_json()["contents"]
    dates = [i["assured_date"] for i in verified if i.get("assured_date")]
    assert dates == sorted(dates, reverse=True) and verified[0]["name"] == "Schuldnerberatung der Caritas"
    assert "assured_date" not in verified[-1]  # HSDS omits absent values


def test_hits_say_why_they_matched(app):
    item = api(app, q="Schulden").get_json()["contents"][0]
    assert "<mark>Schuldnerberatung</mark>" in item["atlas"]["search"]["highlights"]["name"]


# -- privacy ------------------------------------------------------------------------------------------------------

def test_public_callers_see_public_offers_and_fields_only(app, staff):
    assert found(app, q="Geheimtipp") == []
    assert names(staff.get(API, query_string={"q": "Geheimtipp"})) == ["Geheimtipp Schuldenhilfe"]
    text = api(app, q="Lichtblick", per_page=50).get_data(as_text=True)
    assert "SENTINEL" not in text and "Schuldnerberatung Lichtblick" in text
    # Internal notes are never indexed, so they cannot be found (or probed) by anyone.
    assert found(app, q="Kaffeekasse") == []
    assert names(staff.get(API, query_string={"q": "Kaffeekasse"})) == []


def test_protected_sites_are_measured_from_the_gemeinde_for_the_public(app, staff):
    secret = {"near": "51.4512,7.3011", "radius_km": "0.5", "include_supra_regional": "0"}
    assert "Frauenschutz Lichtblick" not in found(app, **secret)
    assert "Frauenschutz Lichtblick" in names(staff.get(API, query_string=secret))


def test_api_without_search_parameters_keeps_the_plain_list(app):
    body = api(app).get_json()
    assert "search" not in body and body["total_items"] >= 10
    assert body["contents"][0]["name"] <= body["contents"][1]["name"]


# -- bad input ------------------------------------------------------------------------------------------------------

HOSTILE = ['"', "*", "~", "AND", "Schulden AND", "OR NOT", "(", "((Sucht", "Sucht)", "x" * 10_000,
           "Schulden " * 2000, "😀🙂", "'; DROP TABLE service; --", "<script>alert(1)</script>", "\x00\x01", "%",
           "Sucht~2", "title:Sucht", "Sucht^3", "ä" * 300, "[a-z]+", "\\", "{{7*7}}", "?"]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_fail(app, staff, query):
    response = api(app, q=query)
    assert response.status_code == 200
    assert isinstance(response.get_json()["contents"], list)
    page = staff.get("/suche", query_string={"q": query})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    if query == "{{7*7}}":
        assert "{{7*7}}" in html  # shown as typed, never evaluated


@pytest.mark.parametrize("params, message", [
    ({"near": "58636", "radius_km": "zehn"}, "muss eine Zahl in Kilometern sein"),
    ({"near": "58636", "radius_km": "0"}, "größer als 0"),
    ({"near": "58636", "radius_km": "nan"}, "muss eine Zahl in Kilometern sein"),
    ({"radius_km": "5"}, "brauchen wir einen Ort"),
    ({"near": "99999"}, "Die Postleitzahl „99999“ kennen wir nicht"),
    ({"near": "Atlantis"}, "Den Ort „Atlantis“ kennen wir nicht"),
    ({"near": "95.1,7.0"}, "außerhalb des gültigen Bereichs"),
    ({"q": "x", "page": "zwei"}, "ganze Zahl"),
    ({"q": "x", "category": "gibt-es-nicht"}, "kein gültiger Wert für „category“"),
    ({"cost": "umsonst"}, "Erlaubt: kostenlos"),
    ({"q": "x", "sort": "zufall"}, "Die Sortierung „zufall“ gibt es nicht"),
    ({"q": "x", "sort": "distance"}, "Entfernung brauchen wir einen Ort"),
    ({"accepting": "vielleicht"}, "muss 1 (ja) oder 0 (nein) sein"),
])
def test_bad_parameters_get_a_clear_german_400(app, staff, params, message):
    response = api(app, **params)
    assert response.status_code == 400
    assert message in response.get_json()["error"]["message"]
    page = staff.get("/suche", query_string=params)
    assert page.status_code == 400 and message in page.get_data(as_text=True)


def test_radius_and_paging_are_clamped(app):
    body = api(app, near="58636", radius_km="100000", per_page="5000", page="0").get_json()
    assert body["search"]["radius_km"] == 200 and body["size"] == 200 and body["page_number"] == 1
    far = api(app, q="Beratung", page="9999").get_json()
    assert far["contents"] == [] and far["empty"] is True and far["total_items"] > 0


# -- zero results, synonyms, suggestions ---------------------------------------------------------------------------

def test_suggestions_for_the_search_box(app, staff):
    values = [s["value"] for s in staff.get("/suche/vorschlaege", query_string={"q": "Schuld"}).get_json()["suggestions"]]
    assert "Schuldnerberatung" in values
    assert [s["value"] for s in staff.get("/suche/vorschlaege", query_string={"q": "Sport Iser"}).get_json()
            ["suggestions"]][:1] == ["Sport Iserlohn"]
    assert staff.get("/suche/vorschlaege", query_string={"q": "S"}).get_json() == {"suggestions": []}
    assert app.test_client().get("/suche/vorschlaege?q=Schuld").status_code == 302


# -- the staff page -----------------------------------------------------------------------------------------------

def test_search_page_needs_login_and_shows_results_with_distance(app, staff):
    assert app.test_client().get("/suche?q=Schulden").status_code == 302
    html = staff.get("/suche", query_string={"q": "Schulden", "near": "58636"}).get_data(as_text=True)
    assert "<mark>Schuldnerberatung</mark>" in html and "km entfernt" in html
    assert "Geheimtipp" in html and "Nicht öffentlich: kann nicht ausgedruckt werden." in html  # staff see internal
    assert 'name="ids" value="' in html and 'action="/suche/merkliste"' in html
    karte = staff.get("/suche", query_string={"q": "Schulden", "ansicht": "karte"}).get_data(as_text=True)
    assert 'id="suchkarte"' in karte and 'id="atlas-markers"' in karte  # the map of the hits (tests/test_maps.py)
    assert "Schuldnerberatung der Caritas" in karte  # the list stays
    assert "Angebote suchen" in staff.get("/suche").get_data(as_text=True)



# -- the handout ------------------------------------------------------------------------------------------------

def _ids(app, *names_):
    from search_support import sid
    return ",".join(str(sid(app, n)) for n in names_)


def test_print_view_shows_public_fields_only(app, staff):
    ids = _ids(app, "Schuldnerberatung der Caritas", "Frauenschutz Lichtblick", "Geheimtipp Schuldenhilfe")
    html = staff.get("/suche/merkliste", query_string={"ids": ids}).get_data(as_text=True)
    assert "Schuldnerberatung der Caritas" in html and "Frauenschutz Lichtblick" in html
    assert "Geheimtipp" not in html and "1 Angebot ist nicht öffentlich" in html
    for expected in ("Hohler Weg 9, 58636 Iserlohn", "Bus 1 bis Stadtbahnhof", "+49 2371 5550100", "Montag, Mittwoch",
                     "kostenlos", "data:image/svg+xml", f"/angebote/{ids.split(',')[0]}"):
        assert expected in html, expected
    assert "SENTINEL" not in html and "Kaffeekasse" not in html  # protected address, transport hint, notes
    assert "Die genaue Adresse wird zum Schutz nicht veröffentlicht" in html
    assert app.test_client().get(f"/suche/merkliste?ids={ids}").status_code == 302


def test_print_view_in_leichte_sprache(app, staff):
    ids = _ids(app, "Schuldnerberatung der Caritas", "Psychotherapeutische Sprechstunde")
    html = staff.get("/suche/merkliste", query_string={"ids": ids, "sprache": "leicht"}).get_data(as_text=True)
    for expected in ("Angebote für Sie", "Sie haben Schulden? Wir machen mit Ihnen einen Plan.", "Es kostet nichts.",
                     "Sie brauchen einen Gutschein.", "Hier ist es:", "Scannen Sie den Code mit dem Handy."):
        assert expected in html, expected


def test_pdf_download_with_qr_code(app, staff):
    ids = _ids(app, "Schuldnerberatung der Caritas", "Suchtberatungsstelle Iserlohn", "Geheimtipp Schuldenhilfe")
    app.config["SEARCH_PDF_FONT"] = None  # the built-in font keeps the text readable in the file for this check
    try:
        response = staff.get("/suche/merkliste.pdf", query_string={"ids": ids, "sprache": "leicht"})
    finally:
        app.config["SEARCH_PDF_FONT"] = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and "attachment" in response.headers["Content-Disposition"]
    text = "".join(pdf_streams(response.data))
    assert "Suchtberatungsstelle Iserlohn" in text and "Es kostet nichts." in text and "Geheimtipp" not in text
    assert text.count(" re") > 200  # the QR modules are drawn as filled squares
    unicode_pdf = staff.get("/suche/merkliste.pdf", query_string={"ids": ids})
    assert unicode_pdf.status_code == 200 and unicode_pdf.data.startswith(b"%PDF")
    assert staff.get("/suche/merkliste.pdf", query_string={"ids": "999999"}).status_code == 404


def test_a_page_of_hits_loads_its_offers_in_a_fixed_number_of_queries(app, staff):
    """Staff and public result pages load their offers' details in the same queries for 1 hit as for many."""
    engine = app.extensions["atlas.engine"]
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def loads(client, path: str) -> Counter:
        app.extensions.pop("atlas.search.views", None)  # every offer of the page comes from the database
        statements.clear()
        assert client.get(path).status_code == 200
        tables = Counter(m.group(1) for s in statements if (m := re.search(r'\bFROM "?(\w+)', s)))
        return Counter({t: n for t, n in tables.items()
                        if t in {"contact", "phone", "schedule", "location", "address", "organization", "user"}})

    few, many = "Schuldnerberatung der Caritas", "Beratung"
    assert 1 <= len(found(app, q=few)) and len(found(app, q=many)) >= 5
    event.listen(engine, "before_cursor_execute", record)
    app.config["SEARCH_VIEW_STORE"] = False  # nor from the views other processes stored
    store = app.extensions.pop("atlas.search.viewstore", None)
    try:
        for client, path in ((staff, "/suche?q="), (app.test_client(), API + "?q=")):
            one, several = loads(client, path + few), loads(client, path + many)
            # The same statements whatever the number of hits.
            assert all(several[t] <= one[t] for t in several), (path, one, several)
            assert several["contact"] <= (2 if client is staff else 0)
            # Single-valued links (organisation, place, address, people) are joined into their owner's statement;
            # what remains is the logged-in user and the version check of the cached views (its subquery on places).
            assert not any(counts[t] for counts in (one, several) for t in ("address", "organization")), (path, one)
            assert one["user"] == (1 if client is staff else 0) and one["location"] == 1, (path, one, several)
    finally:
        app.config["SEARCH_VIEW_STORE"] = True
        if store is not None:
            app.extensions["atlas.search.viewstore"] = store
        event.remove(engine, "before_cursor_execute", record)
