"""German analysis for search: folding, stems, compound parts, query parsing, synonyms and safe highlighting."""

import json
from pathlib import Path

import numpy as np
import pytest

from atlas.search import analysis
from atlas.search.analysis import analyse, fold, highlight, query_words, split_compound, stem
from atlas.search.query import SynonymTable, normalise, parse, phrase
from atlas.search.ranking import Ranker, closest
from atlas.seed import SEEDS
from atlas.search.service import marked
from atlas.search.synonyms import Need, Rule, SynonymError, parse_needs, parse_rules, seed_needs, seed_rules


@pytest.mark.parametrize("spelling", ["Lüdenscheid", "Luedenscheid", "Ludenscheid", "LÜDENSCHEID"])
def test_umlaut_spellings_fold_to_one_form(spelling):
    assert fold(spelling) == "ludenscheid"


def test_folding_keeps_words_that_only_look_like_umlaut_spellings():
    assert fold("Frauen") == "frauen"
    assert fold("Quelle") == "quelle"
    assert fold("Straße") == "strasse"


@pytest.mark.parametrize("word, parts", [
    ("schuldnerberatung", ("schuldner", "beratung")),
    ("suchtberatungsstelle", ("sucht", "beratung", "stelle")),
    ("familienberatung", ("familie", "beratung")),
    ("hausarztpraxis", ("haus", "arzt", "praxis")),
    ("psychotherapie", ("psycho", "therapie")),
    ("sozialticket", ("sozial", "ticket")),  # "Billigticket" and "Monatsticket" find it by its head
    ("transport", ()),
    ("beratung", ()),
])
def test_compounds_are_split_into_known_parts(word, parts):
    assert split_compound(word) == parts


def test_analysis_indexes_stems_and_compound_parts():
    result = analyse("Die Schuldnerberatung in Lüdenscheid 😀")
    assert "schuldnerberat" in result.stems and "ludenscheid" in result.stems
    assert {"schuldn", "berat"} <= set(result.parts)
    assert "die" not in result.stems
    assert stem("beratungen") == stem("beratung")



def test_a_course_is_not_a_cure():
    """Snowball stems "Kurs" to "kur": "Kur beantragen" found every course and "Kurs" missed "Kurse"."""
    assert stem("kurs") == stem("kurse") == stem("kursen") == "kurs"
    assert stem("gesundheitskurs") == stem("gesundheitskurse")
    assert stem("kur") == stem("kuren") == "kur" != stem("kurs")

def test_query_words_drop_operators_symbols_and_stop_words():
    assert query_words('"Schulden" AND (Witten* ~Hartz) 🙂 <b>', 12) == ["schulden", "witten", "hartz"]
    assert query_words("und der", 12) == ["und", "der"]
    assert len(query_words("wort " * 100, 12)) == 12


def test_synonym_rules_parse_and_report_errors_by_line():
    rules = parse_rules("Arzt, Doktor\n# Kommentar\nDepression => psychische Gesundheit, Psychotherapie\n")
    assert rules == [Rule(("Arzt", "Doktor")), Rule(("Depression",), ("psychische Gesundheit", "Psychotherapie"))]
    with pytest.raises(SynonymError) as err:
        parse_rules("nur eins\n=> ohne links\na, b => c => d")
    assert [p.split(":")[0] for p in err.value.problems] == ["Zeile 1", "Zeile 2", "Zeile 3"]


def test_synonyms_expand_query_slots_both_ways_or_one_way():
    table = SynonymTable([Rule(("Hartz IV", "Bürgergeld")), Rule(("Depression",), ("psychische Gesundheit",))])
    slots = parse("Hartz IV Witten", table, 12)
    assert [s.label for s in slots] == ["hartz iv", "witten"]
    assert [tuple(w.text for w in a.words) for a in slots[0].alternatives] == [("hartz", "iv"), ("burgergeld",)]
    back = parse("Bürgergeld", table, 12)[0]
    assert ("hartz", "iv") in [tuple(w.text for w in a.words) for a in back.alternatives]
    assert len(parse("psychische Gesundheit", table, 12)) == 2  # one way: no expansion back to Depression


def test_shipped_synonym_file_covers_the_issue_examples():
    table = SynonymTable(seed_rules())
    for typed, expected in (("Hartz IV", "burgergeld"), ("Therapie", "psychotherapie"), ("Doktor", "arzt"),
                            ("Depression", "gesundheit"), ("Angst", "gesundheit")):
        alternatives = parse(typed, table, 12)[0].alternatives
        assert any(expected in [w.text for w in a.words] for a in alternatives), typed


def test_need_words_give_their_query_part_categories_also_through_synonyms_and_phrases():
    table = SynonymTable([Rule(("Hartz IV", "Bürgergeld"))],
                         [Need(("Tafel", "Hunger"), ("materielle-hilfen",)), Need(("Bürgergeld",), ("sozialberatung",)),
                          Need(("Wohnung verloren",), ("wohnungsnotfall",))])
    assert [(s.label, s.categories) for s in parse("Tafel Witten", table, 12)] == [
        ("tafel", ("materielle-hilfen",)), ("witten", ())]
    assert parse("Hartz IV", table, 12)[0].categories == ("sozialberatung",)  # a synonym of a need word
    slots = parse("Wohnung verloren Gevelsberg", table, 12)
    assert [(s.label, s.categories) for s in slots] == [("wohnung verloren", ("wohnungsnotfall",)), ("gevelsberg", ())]
    assert parse("Wohnung Gevelsberg", table, 12)[0].categories == ()


def test_need_rows_parse_and_name_the_closest_category_for_a_typo():
    slugs = {"materielle-hilfen": "Materielle Hilfen", "psyche": "Seelische Gesundheit"}
    assert parse_needs("# Kommentar\nTafel, Hunger => materielle-hilfen\nAngst => PSYCHE", slugs) == [
        Need(("Tafel", "Hunger"), ("materielle-hilfen",)), Need(("Angst",), ("psyche",))]
    with pytest.raises(SynonymError) as err:
        parse_needs("Tafel => materielle-hilfe\nnur Wörter\n=> psyche\na => psyche => b", slugs)
    problems = err.value.problems
    assert [p.split(":")[0] for p in problems] == ["Zeile 1", "Zeile 2", "Zeile 3", "Zeile 4"]
    assert "Meinten Sie „materielle-hilfen“ (Materielle Hilfen)?" in problems[0]


def _shipped_categories() -> list[dict]:
    """Every category of seeds/taxonomy.json, areas and their sub-categories."""
    taxonomy = json.loads((SEEDS / "taxonomy.json").read_text(encoding="utf-8"))["terms"]
    return [t for top in taxonomy for t in (top, *top.get("children", []))]


def test_the_shipped_need_table_names_only_categories_that_exist():
    slugs = {t["slug"] for t in _shipped_categories()}
    internal = {t["slug"] for t in _shipped_categories() if t.get("internal_only")}
    needs = seed_needs()
    assert len(needs) >= 25
    assert {c for n in needs for c in n.categories} <= slugs - internal


def test_the_shipped_need_table_can_be_saved_as_the_need_page_shows_it():
    """Each line within the page's limits (synonyms.MAX_TERMS): a coordinator who saves it unchanged gets it back."""
    slugs = {t["slug"]: t["name"] for t in _shipped_categories()}
    needs = seed_needs()
    assert parse_needs("\n".join(need.as_line() for need in needs), slugs) == needs


def test_buergergeld_and_its_synonyms_never_lead_to_the_sozialamt():
    # Bürgergeld (SGB II) is the Jobcenter's; the Sozialamt pays Grundsicherung (SGB XII): "Widerspruch gegen
    # Bürgergeld-Bescheid" listed municipal Grundsicherung offices while the shipped row led "Bürgergeld" to both.
    table = SynonymTable(seed_rules(), seed_needs())
    for text in ("Bürgergeld", "Hartz IV", "ALG II", "Arbeitslosengeld II"):
        slots = parse(text, table, 12)
        assert [s.categories for s in slots] == [("sozialberatung", "anlaufstellen")], text
    assert "sozialamt" in parse("Grundsicherung", table, 12)[0].categories


def test_a_need_word_s_siblings_are_the_other_one_word_terms_of_its_need():
    table = SynonymTable([], [Need(("einsam", "allein", "Anschluss", "Leute kennenlernen"), ("peer", "selbsthilfe")),
                              Need(("Selbsthilfegruppe",), ("selbsthilfe",)), Need(("lonely",), ("peer", "selbsthilfe"))])
    slot = parse("einsam", table, 12)[0]
    # Not the typed word, not a phrase, not a word of other categories; a row of the same categories counts.
    assert slot.siblings == {stem("allein"), stem("anschluss"), stem("lonely")}
    assert parse("allein", table, 12)[0].siblings == {stem("einsam"), stem("anschluss"), stem("lonely")}
    assert parse("Treffpunkt", table, 12)[0].siblings == frozenset()  # no need word


def test_no_shipped_need_word_is_also_another_row_s_word_with_other_categories():
    # The English "rent" and the German "Rente" share a stem: one word would have led to the housing help and the
    # pension advice at once. Words are compared as the search reads them (folded, stemmed).
    rows: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for need in seed_needs():
        for term in need.terms:
            rows.setdefault(tuple(w.stem for w in phrase(term)), set()).add(need.categories)
    assert not {key: found for key, found in rows.items() if len(found) > 1}


def test_every_shipped_need_word_meets_its_need_when_typed():
    needs = seed_needs()
    table = SynonymTable(seed_rules(), needs)
    for need in needs:
        for term in need.terms:
            slots = parse(term, table, 12)
            assert len(slots) == 1 and set(need.categories) <= set(slots[0].categories), term


def test_need_phrases_ignore_the_words_a_search_drops():
    table = SynonymTable([], [Need(("Rente wegen Krankheit",), ("reha-beratung",))])
    assert parse("Rente wegen Krankheit", table, 12)[0].categories == ("reha-beratung",)  # "wegen" is dropped


def test_asking_for_an_appointment_is_no_word_an_offer_must_hold():
    # As „Schuldenberatung in Iserlohn mit Termin bald“ once put offers that say „Termin“ first.
    table = SynonymTable([], [Need(("Schulden",), ("schuldnerberatung",)), Need(("Termin beim Arzt",), ("terminservice",))])
    assert [s.label for s in parse("Schulden mit Termin", table, 12)] == ["schulden"]
    assert [s.label for s in parse("appointment Schulden", table, 12)] == ["schulden"]
    assert [s.label for s in parse("Termin", table, 12)] == ["termin"]  # nothing else: searched as typed
    assert parse("Termin beim Arzt", table, 12)[0].categories == ("terminservice",)  # a need phrase keeps it


def test_highlights_escape_everything_but_the_marks():
    segments = highlight('<script>alert("Schulden")</script> Schuldnerberatung', frozenset({"schuld", "schuldnerberat"}))
    html = str(marked(segments))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>Schulden</mark>" in html and "<mark>Schuldnerberatung</mark>" in html


def test_misses_are_counted_under_a_normalised_text():
    assert normalise("  Schulden   IN   Witten!! ") == "schulden in witten"
    assert normalise("😀 \"") == ""
    assert len(normalise("x" * 10_000)) == 120


def test_intent_words_are_dropped_when_other_words_remain():
    table = SynonymTable([])
    assert [s.label for s in parse("kiffen aufhören", table, 12)] == ["kiffen"]
    assert [s.label for s in parse("Kur beantragen", table, 12)] == ["kur"]
    assert [s.label for s in parse("Hilfe bei Schulden", table, 12)] == ["schulden"]
    assert [s.label for s in parse("Hilfe", table, 12)] == ["hilfe"]  # alone it is all there is to search
    # "lassen" only says someone will have it done: GPs rarely write "krankschreiben lassen".
    assert [s.label for s in parse("krankschreiben lassen", table, 12)] == ["krankschreiben"]
    # "wie komme ich" asks the way: offers say "kommen Sie vorbei", and a gambling counsellor matched all three.
    assert [s.label for s in parse("kein Auto, wie komme ich zur Arbeit", table, 12)] == ["auto", "arbeit"]
    assert [s.label for s in parse("borç danışmanlığı", table, 12)] == ["borc"]  # "counselling" in Turkish
    assert [s.label for s in parse("помощь с долгами", table, 12)] == ["долгами"]


def test_the_c_stemmer_gives_the_pure_python_stems_on_the_demo_vocabulary():
    """PyStemmer (locked for CPython 3.11 on x86-64) must not change a stem, or indexes and queries would differ."""
    pytest.importorskip("Stemmer")
    from snowballstemmer.german_stemmer import GermanStemmer

    text = " ".join(path.read_text(encoding="utf-8") for path in Path(SEEDS).rglob("*.json"))
    words = {w for w in analysis.tokens(text) if len(w) >= 3 and not w.isdigit()}
    assert len(words) > 3000
    python = GermanStemmer()
    assert type(analysis._stemmer).__module__ == "Stemmer"  # snowballstemmer picked the C stemmer
    assert [w for w in sorted(words) if analysis._stemmer.stemWord(w) != python.stemWord(w)] == []


def test_the_closest_offers_by_meaning_are_those_a_full_stable_sort_gives():
    rng = np.random.default_rng(7)
    for _ in range(500):
        size, top = int(rng.integers(1, 400)), int(rng.integers(1, 30))
        docs = np.sort(rng.choice(100_000, size, replace=False))
        values = rng.integers(0, 8, size).astype(np.float32) / 7  # few distinct values: many ties at the cut
        assert np.array_equal(closest(docs, values, top), docs[np.argsort(-values, kind="stable")][:top])


def test_few_full_matches_are_widened_by_the_rare_part_of_two_or_all_but_one_of_more():
    everyone = np.ones(40, dtype=bool)
    rare = np.zeros(40, dtype=bool)
    rare[:6] = True  # six offers hold the rare part
    common = np.zeros(40, dtype=bool)
    common[3:30] = True  # 27 hold the common one; three hold both
    words = [False, False]  # neither part is a need word
    widened = Ranker._almost(np.vstack([rare, common]), 3, everyone, words)
    assert np.flatnonzero(widened).tolist() == [0, 1, 2]  # the rare part without the common one, never the reverse
    assert Ranker._almost(np.vstack([common, rare]), 3, everyone, words).tolist() == widened.tolist()
    assert Ranker._almost(np.vstack([rare, common]), 10, everyone, words) is None  # enough offers hold both
    assert Ranker._almost(np.vstack([rare, common]), 0, everyone, words) is None  # none holds both: relaxed elsewhere
    # Of two parts one a need word, the need's part leads, common or rare: "Schlafplatz" (homeless help) in
    # "heute Nacht keinen Schlafplatz", not "Nacht" (the day clinics' "nachts zu Hause").
    assert np.flatnonzero(Ranker._almost(np.vstack([rare, common]), 3, everyone, [False, True])).tolist() \
        == list(range(6, 30))
    assert np.flatnonzero(Ranker._almost(np.vstack([rare, common]), 3, everyone, [True, False])).tolist() == [0, 1, 2]
    assert Ranker._almost(np.vstack([rare, common]), 3, everyone, [True, True]).tolist() == widened.tolist()
    common[12:] = False  # 9 hold it: not three times as many as the rare part's 6
    assert Ranker._almost(np.vstack([rare, common]), 3, everyone, words) is None
    assert np.flatnonzero(Ranker._almost(np.vstack([rare, common]), 3, everyone, [False, True])).tolist() \
        == list(range(6, 12))
    three = np.vstack([rare, common, common])
    assert np.flatnonzero(Ranker._almost(three, 3, everyone, [False] * 3)).tolist() == list(range(6, 12))


def test_a_partial_match_lacking_a_need_part_counts_less_unless_every_part_is_a_need():
    from types import SimpleNamespace

    from atlas.search.ranking import NEED_MISSING
    need, word = SimpleNamespace(categories=("sozialberatung",)), SimpleNamespace(categories=())
    ranker = SimpleNamespace(slot_hits=np.array([[True, False, True], [False, True, True]]))
    scores = np.array([2.0, 4.0, 6.0])
    assert Ranker._need_first(ranker, [need, word], scores).tolist() == [2.0, 4.0 * NEED_MISSING, 6.0]
    assert Ranker._need_first(ranker, [word, need], scores).tolist() == [2.0 * NEED_MISSING, 4.0, 6.0]
    assert Ranker._need_first(ranker, [word, word], scores).tolist() == [2.0, 4.0, 6.0]
    assert Ranker._need_first(ranker, [need, need], scores).tolist() == [2.0, 4.0, 6.0]


@pytest.mark.parametrize("text, asks", [
    ("Sohn ist psychisch krank, was kann ich als Mutter tun", True), ("mein Bruder trinkt", True),
    ("Eltern pflegebedürftig", True), ("my mother has dementia", True), ("Angehörige psychisch Kranker", True),
    ("oğlum depresyonda", True), ("мой сын пьёт", True), ("мій брат п'є", True), ("ابني مريض نفسيا", True),
    ("депрессия", False), ("borç danışmanlığı", False),
    ("Mutter-Kind-Kur beantragen", False),  # a need phrase: the mother is the one who goes
    ("Trennung vom Partner", False), ("Stalking Ex-Partner", False), ("Tagesmutter", False), ("Schulden", False),
])
def test_a_query_part_that_names_a_relative_asks_for_help_for_relatives(text, asks):
    from atlas.search.query import relatives

    table = SynonymTable([], [Need(("Mutter-Kind-Kur", "Kur"), ("medizinische-reha",))])
    assert relatives(parse(text, table, 32)) is asks
