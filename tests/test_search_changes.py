"""Search features that change data: archiving, verification dates, zero-result counts, synonyms, health."""

from datetime import timedelta

from conftest import csrf_token
from search_support import coordinator, names, search_app, staff  # noqa: F401  (fixtures)
from sqlalchemy import select

from atlas import validity
from atlas.db import get_session
from atlas.models import Service, TaxonomyTerm, utcnow
from atlas.search.models import SearchMiss

API = "/api/v1/services"


def api(app, **params):
    return app.test_client().get(API, query_string=params)


def found(app, **params) -> list[str]:
    return names(api(app, **params))

def test_verified_within_months(search_app):
    with search_app.app_context():
        session = get_session()
        for name, days in (("Familienberatung", 30), ("Psychotherapeutische Sprechstunde", 400)):
            service = session.scalar(select(Service).where(Service.name == name))
            service.assured_date = validity.today() - timedelta(days=days)
        session.commit()
    assert found(search_app, gemeinde="luedenscheid", verified_within_months="6") == ["Familienberatung"]
    assert len(found(search_app, gemeinde="luedenscheid", verified_within_months="24")) == 2


def test_archived_offers_only_for_staff_who_ask(search_app, staff):
    with search_app.app_context():
        session = get_session()
        session.scalar(select(Service).where(Service.name == "Familienberatung")).archived_at = utcnow()
        session.commit()
    assert found(search_app, q="Familienberatung") == []
    assert found(search_app, q="Familienberatung", include_archived="1") == []
    assert "Familienberatung" in names(staff.get(API, query_string={"q": "Familienberatung", "include_archived": "1"}))
    assert "Familienberatung" not in names(staff.get(API, query_string={"q": "Familienberatung"}))


def test_zero_result_searches_are_counted_and_listed_for_coordinators(search_app, staff, coordinator):
    api(search_app, q="Zauberlehrling")
    api(search_app, q="  ZAUBERLEHRLING! ")
    staff.get("/suche", query_string={"q": "zauberlehrling"})
    api(search_app, q="Schulden")
    with search_app.app_context():
        rows = {m.query: m.count for m in get_session().scalars(select(SearchMiss))}
    assert rows == {"zauberlehrling": 3}
    assert staff.get("/verwaltung/suchen-ohne-treffer").status_code == 403
    page = coordinator.get("/verwaltung/suchen-ohne-treffer").get_data(as_text=True)
    assert "zauberlehrling" in page and ">3<" in page
    token = csrf_token(coordinator, "/verwaltung/suchen-ohne-treffer")
    with search_app.app_context():
        miss_id = get_session().scalar(select(SearchMiss.id))
    coordinator.post("/verwaltung/suchen-ohne-treffer", data={"id": miss_id, "csrf_token": token})
    with search_app.app_context():
        assert get_session().scalar(select(SearchMiss.id)) is None


def test_coordinators_edit_synonyms_and_they_apply_at_once(search_app, staff, coordinator):
    assert staff.get("/verwaltung/synonyme").status_code == 403
    assert "Bürgergeld, Hartz IV" in coordinator.get("/verwaltung/synonyme").get_data(as_text=True)
    assert found(search_app, q="Kummerkasten") == []
    token = csrf_token(coordinator, "/verwaltung/synonyme")
    bad = coordinator.post("/verwaltung/synonyme", data={"rules": "Kummerkasten\n", "csrf_token": token})
    assert bad.status_code == 400 and "Zeile 1" in bad.get_data(as_text=True)
    ok = coordinator.post("/verwaltung/synonyme", data={"rules": "Kummerkasten => Krisentelefon\nArzt, Doktor",
                                                        "csrf_token": token, "action": "save"})
    assert ok.status_code == 302
    assert found(search_app, q="Kummerkasten") == ["Krisentelefon rund um die Uhr"]
    assert found(search_app, q="Hartz IV") == []
    coordinator.post("/verwaltung/synonyme", data={"csrf_token": token, "action": "reset"})
    assert found(search_app, q="Hartz IV") == ["Sozialberatung zum Bürgergeld"]


def test_coordinators_edit_the_need_table_and_it_applies_at_once(search_app, staff, coordinator):
    assert staff.get("/verwaltung/bedarfe").status_code == 403
    page = coordinator.get("/verwaltung/bedarfe").get_data(as_text=True)
    assert "Tafel, Lebensmittel" in page and "<code>materielle-hilfen</code>" in page
    # The shipped table: "Inkasso" stands in no offer, but it is a need debt counselling meets.
    assert sorted(found(search_app, q="Inkasso")) == ["Schuldnerberatung Lichtblick", "Schuldnerberatung der Caritas"]
    assert found(search_app, q="Liebeskummer") == []
    token = csrf_token(coordinator, "/verwaltung/bedarfe")
    bad = coordinator.post("/verwaltung/bedarfe", data={"needs": "Tafel => materielle-hilfe\nLiebeskummer",
                                                        "csrf_token": token, "action": "save"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Zeile 1: Die Kategorie „materielle-hilfe“ gibt es nicht." in text
    assert "Meinten Sie „materielle-hilfen“" in text and "Zeile 2: Bitte so schreiben" in text
    assert sorted(found(search_app, q="Inkasso")) == ["Schuldnerberatung Lichtblick", "Schuldnerberatung der Caritas"]
    ok = coordinator.post("/verwaltung/bedarfe", data={"needs": "Liebeskummer, Herzschmerz => familienberatung",
                                                       "csrf_token": token, "action": "save"})
    assert ok.status_code == 302
    assert found(search_app, q="Liebeskummer") == ["Familienberatung"]
    assert found(search_app, q="Inkasso") == []
    coordinator.post("/verwaltung/bedarfe", data={"csrf_token": token, "action": "reset"})
    assert len(found(search_app, q="Inkasso")) == 2 and found(search_app, q="Liebeskummer") == []


def test_healthz_reports_the_index(search_app):
    client = search_app.test_client()
    before = client.get("/healthz").get_json()["search"]
    assert before["present"] is False
    api(search_app, q="Schulden")
    assert client.get("/healthz").get_json()["search"]["present"] is False  # a search never builds the index
    assert search_app.test_cli_runner().invoke(args=["indexer", "--once"]).exit_code == 0
    after = client.get("/healthz").get_json()
    assert after["status"] == "ok"
    assert after["search"]["present"] is True and after["search"]["drift"] == 0 and after["search"]["in_sync"] is True


def test_presented_offers_follow_edits_of_their_organisation_and_location(search_app):
    from atlas.models import Location

    def first(query: str) -> dict:
        hits = api(search_app, q=query).get_json()["contents"]
        return next(h for h in hits if h["name"] == "Schuldnerberatung der Caritas")

    shown = first("Schuldnerberatung")  # now cached by its versions
    assert shown["name"] == "Schuldnerberatung der Caritas"
    with search_app.app_context():
        session = get_session()
        service = session.scalar(select(Service).where(Service.name == "Schuldnerberatung der Caritas"))
        service.organization.name = "Caritas Umbenannt"
        session.commit()
    assert first("Schuldnerberatung")["organization"]["name"] == "Caritas Umbenannt"
    with search_app.app_context():
        session = get_session()
        service = session.scalar(select(Service).where(Service.name == "Schuldnerberatung der Caritas"))
        location = session.get(Location, service.service_at_locations[0].location_id)
        location.name = "Neues Haus"
        session.commit()
    assert first("Schuldnerberatung")["service_at_locations"][0]["location"]["name"] == "Neues Haus"


def test_a_new_gemeinde_is_a_place_in_the_search_text_at_once_and_unchanged_names_are_not_read_again(search_app):
    """Place names are kept while the database's change watermark stands; a new Gemeinde moves it."""
    from sqlalchemy import event

    from atlas.models import Region

    client = search_app.test_client()
    assert api(search_app, q="Beratung Winterberg").get_json()["search"]["place_from_text"] is None
    engine = search_app.extensions["atlas.engine"]
    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        client.get("/api/v1/services", query_string={"q": "Beratung Winterberg"})
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert not any("FROM region" in s for s in statements), statements
    with search_app.app_context():
        session = get_session()
        kreis = session.scalar(select(Region).where(Region.kind == "kreis").order_by(Region.name))
        session.add(Region(kind="gemeinde", slug="winterberg", name="Winterberg", parent=kreis,
                           latitude=kreis.latitude, longitude=kreis.longitude))
        session.commit()
    body = api(search_app, q="Beratung Winterberg").get_json()
    assert body.get("search", {}).get("place_from_text") == "Winterberg", body


def test_the_filter_lists_follow_new_areas_and_gemeinden_at_once(search_app, staff):
    """The filter lists are cached by their rows: a new area or Gemeinde is offered on the next page."""
    from atlas.models import Region, TaxonomyTerm

    def options(html: str, select_id: str) -> str:
        return html.split(f'<select id="{select_id}"', 1)[1].split("</select>", 1)[0]

    before = staff.get("/suche").get_data(as_text=True)
    assert 'value="schuldnerberatung"' in options(before, "category") and "Neuland" not in before
    with search_app.app_context():
        session = get_session()
        parent = session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.slug == "schuldnerberatung")).parent
        session.add(TaxonomyTerm(slug="neue-hilfe", name="Neue Hilfe", name_en="New help", parent=parent,
                                 internal_only=True, sort_order=999))
        kreis = session.scalar(select(Region).where(Region.kind == "kreis").order_by(Region.name))
        session.add(Region(kind="gemeinde", slug="neuland", name="Neuland", parent=kreis))
        session.commit()
        kreis_name = kreis.name
    after = staff.get("/suche").get_data(as_text=True)
    category = options(after, "category")
    # Staff lists hold internal-only areas too, under their main area, in its order.
    assert '<option value="neue-hilfe" >Neue Hilfe</option>' in category.replace("\n", "").replace("  ", "")
    assert category.index('value="schuldnerberatung"') < category.index('value="neue-hilfe"')
    gemeinde = options(after, "gemeinde")
    group = gemeinde.split(f'<optgroup label="{kreis_name}">', 1)[1].split("</optgroup>", 1)[0]
    assert 'value="neuland"' in group
    english = staff.get("/suche", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert ">New help</option>" in options(english, "category")


def test_the_first_category_of_a_need_row_is_the_first_stop(search_app, coordinator):
    with search_app.app_context():  # both equally fresh: an overdue review would also move one down
        session = get_session()
        for name in ("Familienberatung", "Psychotherapeutische Sprechstunde"):
            session.scalar(select(Service).where(Service.name == name)).assured_date = validity.today()
        session.commit()
    token = csrf_token(coordinator, "/verwaltung/bedarfe")
    for row, expected in (("familienberatung, psychotherapie", ["Familienberatung", "Psychotherapeutische Sprechstunde"]),
                          ("psychotherapie, familienberatung", ["Psychotherapeutische Sprechstunde", "Familienberatung"])):
        coordinator.post("/verwaltung/bedarfe", data={"needs": f"Liebeskummer => {row}", "csrf_token": token,
                                                      "action": "save"})
        assert found(search_app, q="Liebeskummer") == expected, row  # neither offer holds the word


def test_when_no_offer_holds_every_word_the_need_word_leads(search_app, coordinator):
    # As „Knast entlassen Hilfe“ once listed a rehab clinic's discharge before the social counselling: a need word
    # no offer holds reached its categories far below any other word's score.
    token = csrf_token(coordinator, "/verwaltung/bedarfe")
    coordinator.post("/verwaltung/bedarfe", data={"needs": "Liebeskummer => familienberatung", "csrf_token": token,
                                                  "action": "save"})
    assert found(search_app, q="Liebeskummer Sprechstunde") == ["Familienberatung", "Psychotherapeutische Sprechstunde"]
    assert found(search_app, q="Sprechstunde")[0] == "Psychotherapeutische Sprechstunde"


def test_when_few_offers_hold_both_words_the_need_words_offers_follow(search_app):
    # As „heute Nacht keinen Schlafplatz“ once found two offers: few held both words, and the offers of the need
    # (homeless help) followed only when the need word was the rarer one of the two.
    assert found(search_app, q="Schulden Haushaltsplan") == ["Schuldnerberatung der Caritas",
                                                             "Schuldnerberatung Lichtblick"]
    assert found(search_app, q="Haushaltsplan") == ["Schuldnerberatung der Caritas"]


def test_of_a_need_s_offers_one_holding_another_word_of_its_row_comes_first(search_app, coordinator):
    # As „immer erschöpft und müde“ once listed general courses before the stress course that speaks of
    # „Erschöpfung“: every offer the need reached through its categories alone scored the same.
    token = csrf_token(coordinator, "/verwaltung/bedarfe")
    coordinator.post("/verwaltung/bedarfe", data={"needs": "Herzschmerz, Angststörungen => familienberatung, psychotherapie",
                                                  "csrf_token": token, "action": "save"})
    # No offer says „Herzschmerz“; the therapy practice says „Angststörungen“, the family counselling none of the row.
    assert found(search_app, q="Herzschmerz") == ["Psychotherapeutische Sprechstunde", "Familienberatung"]
    coordinator.post("/verwaltung/bedarfe", data={"needs": "Herzschmerz => familienberatung, psychotherapie",
                                                  "csrf_token": token, "action": "save"})
    assert found(search_app, q="Herzschmerz") == ["Familienberatung", "Psychotherapeutische Sprechstunde"]


def test_need_words_in_other_languages_find_the_german_offers_without_the_model(search_app, coordinator):
    debt = ["Schuldnerberatung Lichtblick", "Schuldnerberatung der Caritas"]
    for query in ("borç danışmanlığı", "помощь с долгами", "консультація щодо боргів", "استشارة الديون", "debt advice"):
        assert sorted(found(search_app, q=query)) == debt, query  # the test suite searches lexically
    token = csrf_token(coordinator, "/verwaltung/bedarfe")
    coordinator.post("/verwaltung/bedarfe", data={"needs": "Inkasso => schuldnerberatung", "csrf_token": token,
                                                  "action": "save"})
    assert found(search_app, q="borç danışmanlığı") == []
    coordinator.post("/verwaltung/bedarfe", data={"csrf_token": token, "action": "reset"})  # the shipped rows, all
    assert sorted(found(search_app, q="borç danışmanlığı")) == debt


def test_a_therapist_asked_for_in_another_language_is_a_therapist_not_the_whole_mental_health_area(search_app):
    # As „психотерапевт“ once led to the whole area: the crisis line and the SPDi came with the therapists.
    for query in ("психотерапевт", "psikolog", "psychotherapist", "معالج نفسي"):
        assert found(search_app, q=query) == ["Psychotherapeutische Sprechstunde"], query
    assert set(found(search_app, q="депрессия")) == {"Psychotherapeutische Sprechstunde",
                                                    "Krisentelefon rund um die Uhr"}
    for query in ("social benefits", "пособие", "sosyal yardım"):
        assert found(search_app, q=query) == ["Sozialberatung zum Bürgergeld"], query


def test_a_compound_of_a_need_word_meets_the_need(search_app):
    # As „Krisendienst Hagen“ once missed the crisis lines: „Krise“ is a need word, „Krisendienst“ was none.
    assert found(search_app, q="Krisendienst") == ["Krisentelefon rund um die Uhr"]
    debt = ["Schuldnerberatung Lichtblick", "Schuldnerberatung der Caritas"]
    assert sorted(found(search_app, q="Handyschulden")) == debt  # no offer says it
    assert found(search_app, q="Handyvertrag") == []  # no part of it is a need word


def speaks_turkish(app, name: str) -> None:
    """Of the two debt counselling offers, only `name` lists Turkish among its languages."""
    with app.app_context():
        session = get_session()
        for service in session.scalars(select(Service).where(Service.name.like("Schuldnerberatung%"))):
            service.languages = ["de", "tr"] if service.name == name else ["de"]
        session.commit()


def test_a_question_in_turkish_puts_offers_that_speak_turkish_a_little_earlier(search_app):
    for turkish in ("Schuldnerberatung Lichtblick", "Schuldnerberatung der Caritas"):
        speaks_turkish(search_app, turkish)
        assert found(search_app, q="borç danışmanlığı")[0] == turkish
        first = api(search_app, q="borç danışmanlığı").get_json()["contents"][0]["atlas"]["search"]["why"]
        assert first.endswith("auch auf Türkisch")  # the hit says why it came first
        assert sorted(found(search_app, q="Schulden")) == sorted(found(search_app, q="borç"))  # same offers, new order


def test_a_search_for_help_in_a_language_puts_offers_that_speak_it_first(search_app, staff):
    debt = ("Schuldnerberatung Lichtblick", "Schuldnerberatung der Caritas")
    for turkish in debt:
        speaks_turkish(search_app, turkish)
        response = api(search_app, q="Schuldnerberatung auf Türkisch")
        assert names(response) == [turkish, next(n for n in debt if n != turkish)]  # the other still follows
        body = response.get_json()
        assert body["search"]["languages_wished"] == ["tr"] and body["search"]["relaxed"] is False
        assert body["contents"][0]["atlas"]["search"]["why"].endswith("auch auf Türkisch")
    note = "Zuerst kommen Angebote, bei denen man Türkisch spricht."
    assert note in staff.get("/suche", query_string={"q": "Schuldnerberatung auf Türkisch"}).get_data(as_text=True)
    public = search_app.test_client()
    page = public.get("/angebote", query_string={"q": "Schuldnerberatung auf Türkisch"}).get_data(as_text=True)
    assert note in page and page.count("<li>auch auf Türkisch</li>") == 1  # on the card that speaks it
    english = public.get("/angebote", query_string={"q": "Schuldnerberatung auf Türkisch", "lang": "en"})
    assert "Offers where people speak Turkish come first." in english.get_data(as_text=True)
    assert note not in public.get("/angebote", query_string={"q": "Schuldnerberatung"}).get_data(as_text=True)


def test_word_suggestions_read_as_the_offers_write_them(search_app, staff):
    """The index keeps words folded (ubergangsgeld); the search box suggests them as the offer spells them."""
    with search_app.app_context():
        session = get_session()
        service = session.scalar(select(Service).where(Service.name == "Familienberatung"))
        service.description = f"{service.description or ''} Auch bei Schuldgefühlen und Fragen zum Übergangsgeld."
        session.commit()
    words = [s["value"] for s in staff.get("/suche/vorschlaege", query_string={"q": "Hilfe Überg"}).get_json()
             ["suggestions"] if s["kind"] == "Wort"]
    assert "Hilfe Übergangsgeld" in words and "Hilfe ubergangsgeld" not in words, words
    words = [s["value"] for s in staff.get("/suche/vorschlaege", query_string={"q": "schuldgef"}).get_json()
             ["suggestions"] if s["kind"] == "Wort"]
    assert words == ["Schuldgefühlen"], words


def test_a_word_only_in_category_or_place_names_is_spelled_from_them(search_app):
    from atlas.search.documents import spellings

    with search_app.app_context():
        session = get_session()
        service = session.scalar(select(Service).where(Service.name == "Familienberatung"))
        assert "Märkischer" not in f"{service.name} {service.description}"
        assert spellings(session, {"markischer": service.id}) == {}
        names = ["Sport", "Märkischer Kreis"]
        assert spellings(session, {"markischer": service.id}, names) == {"markischer": "Märkischer"}


def test_a_need_word_is_not_read_as_a_typo_of_another_word(search_app, coordinator):
    with search_app.app_context():
        session = get_session()
        session.scalar(select(Service).where(Service.name == "Reha-Sport und Lauftreff")).description = \
            "Gemeinsam laufen und kaufen Sie nichts: Bewegung in der Gruppe für alle."
        session.commit()
    token = csrf_token(coordinator, "/verwaltung/bedarfe")
    coordinator.post("/verwaltung/bedarfe", data={"needs": "saufen => suchtberatung\nDepression, depresyon => "
                                                  "psychotherapie", "csrf_token": token, "action": "save"})
    drink = api(search_app, q="saufen")
    assert names(drink) == ["Suchtberatungsstelle Iserlohn"]  # not "laufen" or "kaufen"
    assert drink.get_json()["search"]["corrections"] == {}
    # A typo of a need word may still be read as a need word of the same area, here across languages.
    depressed = api(search_app, q="depresyon")
    assert names(depressed) == ["Psychotherapeutische Sprechstunde"]
    assert depressed.get_json()["search"]["corrections"] == {"depresyon": "depression"}


def test_a_synonym_counts_less_in_an_offer_outside_the_need_s_categories(search_app, coordinator):
    # As „Kur beantragen“ once found the animal care „Tierbetreuung während Reha …“ first: the synonym „Reha“ in
    # its name outweighed the rehab counselling the need table points to.
    with search_app.app_context():
        session = get_session()
        for name in ("Familienberatung", "Psychotherapeutische Sprechstunde"):
            session.scalar(select(Service).where(Service.name == name)).assured_date = validity.today()
        session.scalar(select(Service).where(Service.name == "Psychotherapeutische Sprechstunde")).description = \
            "Hilfe bei Trennung."
        session.commit()
    for path, field, value in (("/verwaltung/bedarfe", "needs", "Liebeskummer => familienberatung"),
                               ("/verwaltung/synonyme", "rules", "Liebeskummer, Trennung")):
        token = csrf_token(coordinator, path)
        assert coordinator.post(path, data={field: value, "csrf_token": token, "action": "save"}).status_code == 302
    # Both name „Trennung“ in their description; the psychotherapy's is shorter, so the word weighs more there.
    assert found(search_app, q="Trennung") == ["Psychotherapeutische Sprechstunde", "Familienberatung"]  # typed
    assert found(search_app, q="Liebeskummer") == ["Familienberatung", "Psychotherapeutische Sprechstunde"]


def test_the_words_of_a_need_phrase_scattered_in_an_offer_outside_the_need_count_less(search_app, coordinator):
    # As „Stress mit dem Amt“ once listed a youth centre first (it says „Stress“ and „Jugendamt“), not the social
    # counselling the need table points to.
    with search_app.app_context():
        session = get_session()
        for name in ("Familienberatung", "Psychotherapeutische Sprechstunde"):
            session.scalar(select(Service).where(Service.name == name)).assured_date = validity.today()
        session.scalar(select(Service).where(Service.name == "Psychotherapeutische Sprechstunde")).description = \
            "Ärger im Beruf? Auch nach einer Trennung für Sie da."
        session.commit()
    token = csrf_token(coordinator, "/verwaltung/bedarfe")
    for row, first in (("Ärger nach der Trennung => familienberatung", "Familienberatung"),
                       # Two parts, one a need word: the offer holding both parts is the better hit.
                       ("Trennung => familienberatung", "Psychotherapeutische Sprechstunde")):
        assert coordinator.post("/verwaltung/bedarfe", data={"needs": row, "csrf_token": token,
                                                             "action": "save"}).status_code == 302
        assert found(search_app, q="Ärger nach der Trennung")[0] == first, row


def test_an_offer_that_takes_nobody_new_follows_an_equally_fitting_one_that_does(search_app):
    # As „Spielsucht“ once listed an opioid substitution practice with an intake stop among the first three.
    debt = ("Schuldnerberatung der Caritas", "Schuldnerberatung Lichtblick")

    def intake(name: str, status: str) -> None:
        with search_app.app_context():
            session = get_session()
            for other in debt:
                offer = session.scalar(select(Service).where(Service.name == other))
                offer.assured_date, offer.intake_status = validity.today(), "offen"
            session.scalar(select(Service).where(Service.name == name)).intake_status = status
            session.commit()

    intake(debt[0], "offen")
    first, second = found(search_app, q="Schulden")
    intake(first, "aufnahmestopp")
    assert found(search_app, q="Schulden") == [second, first]  # moved down, still found
    intake(first, "warteliste")  # a waiting list is no stop: the usual order
    assert found(search_app, q="Schulden") == [first, second]


def test_of_offers_found_by_a_need_s_category_alone_the_one_all_about_the_need_comes_first(search_app, coordinator):
    # As „Saufen aufhören“ once listed an opioid substitution practice (addiction and specialist doctors) before the
    # addiction counselling offices: neither holds the word, both belong to the need's category.
    with search_app.app_context():
        session = get_session()
        term = {t.slug: t for t in session.scalars(select(TaxonomyTerm))}
        family = session.scalar(select(Service).where(Service.name == "Familienberatung"))
        family.categories.append(term["psychotherapie"])  # now family counselling and psychotherapy
        for name in ("Familienberatung", "Psychotherapeutische Sprechstunde"):
            session.scalar(select(Service).where(Service.name == name)).assured_date = validity.today()
        session.commit()

    def need(row: str) -> None:
        token = csrf_token(coordinator, "/verwaltung/bedarfe")
        assert coordinator.post("/verwaltung/bedarfe", data={"needs": row, "csrf_token": token,
                                                             "action": "save"}).status_code == 302

    need("Liebeskummer => psychotherapie")
    assert found(search_app, q="Liebeskummer") == ["Psychotherapeutische Sprechstunde", "Familienberatung"]
    need("Liebeskummer => psyche")  # an area covers its categories: psychotherapy is all about the psyche
    hits = found(search_app, q="Liebeskummer")
    assert hits.index("Psychotherapeutische Sprechstunde") < hits.index("Familienberatung")


def test_a_typo_of_a_need_word_that_no_offer_holds_meets_the_need(search_app):
    # As „Obdachlossigkeit“ once found only the two offers that spell „Obdachlosigkeit“, not the homeless help.
    assert set(found(search_app, q="Gerichtsvolzieher")) == {"Schuldnerberatung der Caritas",
                                                            "Schuldnerberatung Lichtblick"}
    assert found(search_app, q="Gerichtsvollzieher") == found(search_app, q="Gerichtsvolzieher")
    # A word only loosely like a need word is taken as it is.
    assert "Suchtberatungsstelle Iserlohn" not in found(search_app, q="kaufen")  # not „saufen“
