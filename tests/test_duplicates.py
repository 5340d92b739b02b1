"""Duplicate detection: normalisation, each signal, the combined score and the bulk index."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from atlas.db import get_session
from atlas.duplicates import (
    Candidate,
    DuplicateIndex,
    DuplicateMatch,
    find_duplicates,
    normalise_city,
    normalise_name,
    normalise_phone,
    normalise_street,
    normalise_url,
)
from atlas.models import Organization, Service


@pytest.mark.parametrize(("raw", "expected"), [
    ("Beratungsstelle Lichtblick e. V.", "beratungsstelle lichtblick"),
    ("Beratungsstelle Lichtblick e.V.", "beratungsstelle lichtblick"),
    ("Beratungsstelle Lichtblick eV", "beratungsstelle lichtblick"),
    ("Diakonie Mark-Ruhr gGmbH", "diakonie mark ruhr"),
    ("Werkstatt Hagen gemeinnützige GmbH", "werkstatt hagen"),
    ("Stadtwerke Beispiel AG", "stadtwerke beispiel"),
    ("AG Sucht Witten", "ag sucht witten"),
    ("  Schuldnerberatung  ", "schuldnerberatung"),
])
def test_names_lose_legal_forms_case_and_punctuation(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("+49 2302 5550100", "+4923025550100"),
    ("02302 / 555 01-00", "+4923025550100"),
    ("(02302) 5550100", "+4923025550100"),
    ("0049 2302 5550100", "+4923025550100"),
    ("0800 111 0 111", "+498001110111"),
    ("", None),
    ("   ", None),
])
def test_phones_become_e164(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://www.lichtblick.example/", "lichtblick.example"),
    ("http://lichtblick.example", "lichtblick.example"),
    ("www.Lichtblick.example/schulden/", "lichtblick.example/schulden"),
    ("https://lichtblick.example/schulden/index.html#oben", "lichtblick.example/schulden"),
    ("https://lichtblick.example/?seite=2", "lichtblick.example?seite=2"),
    ("", None),
    (None, None),
])
def test_web_addresses_ignore_scheme_www_and_trailing_slash(raw, expected):
    assert normalise_url(raw) == expected


def test_streets_and_towns_normalise():
    assert normalise_street("Marktstraße 5") == normalise_street("Markt Str. 5") == "marktstr5"
    assert normalise_city("Witten (Ruhr)") == normalise_city("witten") == "witten"
    assert normalise_city("Hagen, Stadt der FernUniversität") == "hagen"
    assert normalise_city("Lüdenscheid") == normalise_city("Ludenscheid")


def test_similar_organisation_name_in_same_town(app):
    with app.app_context():
        session = get_session()
        matches = find_duplicates(session, "organization", "Beratungsstelle Lichtblik", city="Witten")
        assert matches and isinstance(matches[0], DuplicateMatch)
        top = matches[0]
        assert isinstance(top.entity, Organization) and top.entity.name == "Beratungsstelle Lichtblick e. V."
        assert 0.6 <= top.score <= 1
        assert top.reasons[0].startswith("ähnlicher Name im selben Ort (") and top.reasons[0].endswith(" %)")


def test_same_name_with_legal_form_is_the_same_name(app):
    with app.app_context():
        matches = find_duplicates(get_session(), "organization", "Beratungsstelle Lichtblick", city="Witten (Ruhr)")
        assert matches[0].reasons == ["gleicher Name im selben Ort"]
        assert matches[0].score == pytest.approx(0.9)


def test_similar_name_in_another_town_is_not_a_duplicate(app):
    with app.app_context():
        assert find_duplicates(get_session(), "organization", "Beratungsstelle Lichtblick", city="Hagen") == []


def test_phone_web_and_address_signals_add_up(app):
    with app.app_context():
        session = get_session()
        only_phone = find_duplicates(session, "organization", "Ganz anderer Name", city="Hagen",
                                     phones=["(02302) 555 01 00"])
        assert [m.reasons for m in only_phone] == [["gleiche Telefonnummer"]]
        all_signals = find_duplicates(session, "organization", "Lichtblick Beratungsstelle", city="Witten",
                                      phones=["02302 5550100"], urls=["lichtblick.example"],
                                      street="Marktstr. 5", postal_code="58452")
        top = all_signals[0]
        assert top.entity.name == "Beratungsstelle Lichtblick e. V."
        assert set(top.reasons[1:]) == {"gleiche Telefonnummer", "gleiche Webadresse", "gleiche Adresse"}
        assert top.score > only_phone[0].score
        assert top.score > 0.99


def test_an_address_alone_is_not_enough_for_an_offer(app):
    with app.app_context():
        session = get_session()
        assert find_duplicates(session, "service", "Sprachcafé", city="Witten", street="Marktstraße 5",
                               postal_code="58452") == []


def test_services_match_by_name_url_and_phone(app):
    with app.app_context():
        session = get_session()
        matches = find_duplicates(session, "service", "Schuldnerberatung Lichtblick", city="Witten",
                                  urls=["http://lichtblick.example/schulden/"], phones=["+49 2302 5557777"])
        assert isinstance(matches[0].entity, Service)
        assert matches[0].entity.name == "Schuldnerberatung Lichtblick"
        assert matches[0].reasons == ["gleicher Name im selben Ort", "gleiche Telefonnummer", "gleiche Webadresse"]


def test_offers_without_a_place_match_by_name_anywhere(app):
    with app.app_context():
        matches = find_duplicates(get_session(), "service", "Krisentelefon rund um die Uhr", city="Hagen")
        assert [m.entity.name for m in matches] == ["Krisentelefon rund um die Uhr"]
        assert matches[0].reasons == ["gleicher Name"]


def test_exclude_id_and_limit(app):
    with app.app_context():
        session = get_session()
        org_id = session.scalar(select(Organization.id).where(Organization.name.like("Beratungsstelle%")))
        assert find_duplicates(session, "organization", "Beratungsstelle Lichtblick", city="Witten",
                               exclude_id=org_id) == []
        assert len(find_duplicates(session, "service", "x", phones=["02302 5557777"], limit=0)) == 0


def test_archived_entries_are_not_proposed(app):
    with app.app_context():
        session = get_session()
        org = session.scalar(select(Organization).where(Organization.name.like("Beratungsstelle%")))
        org.archived_at = org.created_at
        session.flush()
        assert find_duplicates(session, "organization", "Beratungsstelle Lichtblick", city="Witten") == []


def test_unknown_kind_is_refused(app):
    with app.app_context(), pytest.raises(ValueError):
        find_duplicates(get_session(), "location", "x")


def test_index_grows_during_an_import():
    index = DuplicateIndex("service")
    towns = ["Witten", "Hagen", "Iserlohn", "Lüdenscheid", "Schwelm", "Menden"]
    for i in range(10_000):
        town = towns[i % len(towns)]
        index.add(Candidate(i + 1, f"Beratung {i}", keys={normalise_name(f"Beratungsstelle Nummer {i} {town}")},
                            cities={normalise_city(town)}, phones={normalise_phone(f"02302 {100000 + i}")}))
    for i in range(0, 10_000, 500):
        hits = index.find(f"Beratungsstelle Nummer {i} {towns[i % len(towns)]}", towns[i % len(towns)])
        assert hits[0].id == i + 1
    # an offer sharing only a phone is the same Träger's other offer (switchboard), not a duplicate (issue 15)
    assert index.find("Etwas ganz anderes", "Witten", phones=["02302 100007"]) == []


@pytest.mark.parametrize("number", ["02302 5550100", "(02302) 555-01 00", "+49 2302 5550100", "0049 2302 5550100",
                                    "0171 5550199", "+31 20 5550100", "0800 111 0 111", "+49 (0) 2302 5550100"])
def test_fast_phone_path_agrees_with_phonenumbers(number):
    import phonenumbers

    expected = phonenumbers.format_number(phonenumbers.parse(number, "DE"), phonenumbers.PhoneNumberFormat.E164)
    assert normalise_phone(number) == expected
