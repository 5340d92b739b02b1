"""Score, filter and order documents of an index snapshot with numpy (BM25 per field, distance blending)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .. import freshness, sessions, validity
from . import documents
from .index import Snapshot
from .params import SearchParams
from .analysis import stem
from .query import FREE_CODES, Slot, Word, max_typos

if TYPE_CHECKING:
    from .crisis import Crisis

K1 = 1.2
B = 0.75
FIELD_WEIGHTS = {"title": 3.0, "tags": 2.0}
# The parts field holds every stem (title, description, categories, places) and compound parts.
PARTS_WEIGHT = 1.0
PREFIX_FACTOR = 0.6
COMPOUND_FACTOR = 0.8
FUZZY_FACTOR = 0.5
# An offer of a need's category that lacks the typed word scores this share of the part's best word match.
NEED_FACTOR = 0.5
# A need row lists its first stop first ("suchtberatung, sucht"): each later category scores this much less.
NEED_STEP = 0.9
# Of the offers a need reaches through its categories alone (none holds the word), one that is all about the need
# comes before one that is also about other things: the score is lowered by FOCUS_WEIGHT times the share of the
# offer's categories the need does not cover (an area covers the categories under it). Below 1 - NEED_STEP, so it
# never overturns the need row's order of first stops. "Saufen aufhören" listed an opioid substitution practice
# (addiction and specialist doctors) before the addiction counselling offices. Judged set: lexical P@5 / nDCG@10
# 0.750 / 0.761 -> 0.761 / 0.770, combined nDCG@10 0.839 -> 0.844 (docs/search.md).
FOCUS_WEIGHT = 0.09
# A synonym of a need word in an offer outside the need's categories counts this share: the synonym points to the
# need, and elsewhere it is a weaker sign than the word typed ("Kur beantragen" found "Tierbetreuung während Reha"
# first, by the synonym "Reha" in its name). Judged set: colloquial P@5 0.608 -> 0.623, nDCG@10 0.682 -> 0.706.
SYNONYM_OUTSIDE = 0.5
# The words of a need phrase that a query is ("Stress mit dem Amt", "1-Euro-Job") in an offer outside the need's
# categories count this share of their score: scattered there, they seldom mean the phrase ("Stress" and
# "Jugendamt" in a youth centre, "Euro" and "Job" in a second-hand shop), so such offers follow the need's own
# offers (which score NEED_FACTOR, less NEED_STEP per later category). Judged set: combined P@5 0.824 -> 0.827,
# colloquial 0.623 -> 0.642; lexical colloquial nDCG@10 0.634 -> 0.667. 0.5 (level with the first stop) gained a
# little less; the same for one-word need terms gained nothing and lost need-word hits that are offers of their
# own (docs/search.md).
PHRASE_OUTSIDE = 0.3
# A query of three or more parts that fewer than five offers (after the filters) match in every part: offers
# matching all parts but one follow them, so one lucky full match is not the whole answer ("nach der
# Suchttherapie keine Wohnung und keine Arbeit" found one clinic, not the Adaption or the housing help).
WIDEN_FROM_PARTS = 3
WIDEN_BELOW = 5
# A query of two parts that fewer than ten offers match in both, where one part is common (matched by at least three
# times as many offers as the other): offers holding the rare part follow. "Tagesstätte psychisch krank" found six
# offers saying both and left out the Tagesstätten that say "seelische Erkrankung". Where one part is a need word
# and the other not, the need's offers follow instead, rare or common: "heute Nacht keinen Schlafplatz" found two
# offers and no housing emergency office (judged set: combined P@5 0.876 -> 0.882, lexical 0.789 -> 0.795).
WIDEN_PAIR_BELOW = 10
WIDEN_COMMON_RATIO = 3
# When no offer, or only a few, hold every part of a query, the parts that are need words say what it is about:
# offers lacking one of them count this share of their score. A need word no offer holds ("Knast") reaches its
# categories at NEED_FACTOR times the query's strongest word match, not at an absolute 0.5 far below any word's
# score. "Knast entlassen Hilfe" listed a rehab clinic's discharge ("Entlassung") before the social counselling
# that helps after prison. Judged set: combined P@5 0.867 -> 0.870, lexical nDCG@10 0.798 -> 0.804, no query's P@5
# worse in the lexical engine. At 0.25 the need's floor (half the strongest match) stays above every offer lacking
# the need; 0.5 ranked the same but only tied with the strongest stray match (docs/search.md).
NEED_MISSING = 0.25
# Of the offers a need word reaches through its categories alone, one that holds another one-word term of the need
# (of the rows with the same categories; "erschöpft": "Erschöpfung", "Burnout", "Überlastung") speaks of that need
# and scores this much more than one that only shares the category (a general resilience course). Judged
# set: lexical P@5 / nDCG@10 0.795 / 0.819 -> 0.802 / 0.827, combined P@5 0.884 -> 0.887; 0.2, 0.4, counting up to
# two or three words, and only the typed word's own rows did no better (docs/search.md).
SIBLING_BONUS = 0.3
MIN_PREFIX = 4
MAX_PREFIX_TERMS = 60
EARTH_KM = 6371.0088


@dataclass
class Match:
    """What the text part of a search matched: terms for highlighting and notes for the person searching."""

    terms: set[str] = field(default_factory=set)
    corrections: dict[str, str] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    relaxed: bool = False
    widened: bool = False  # few offers hold every part: offers holding all parts but one follow them
    no_words: bool = False
    by_meaning: bool = False  # no offer holds the words: every hit was found by meaning alone
    wished: tuple[str, ...] = ()  # the languages it asks the help to be in ("auf Türkisch"); their offers first
    relatives: bool = False  # it names a relative ("als Mutter"): offers that help relatives too come first


URGENT_BOOST = 1.05  # a tie-breaker: 1.1 and more lowered nDCG@10 on the judged set (docs/search.md)
COST_BOOST = 1.1  # offers that cost nothing, when a search asks for free or cheap ones; 1.0 and 1.25 did worse
FREE = documents.mask("cost", list(FREE_CODES))
LANGUAGE_BOOST = 1.1  # offers in the language a search was typed in; 1.2 lost P@5 on the judged set (docs/search.md)
# Offers in a language the search asks for ("Schuldnerberatung auf Türkisch"): asked for, not guessed from the
# script, so it weighs more; the offers that fit in German stay in the list, after them (docs/search.md).
LANGUAGE_WISH_BOOST = 1.5
# Offers that take nobody new ("Aufnahmestopp") rank × this: still found and shown with the stop, but an equally
# fitting offer the person can start with comes first, as stale details move an offer down. Judged set: combined
# P@5 0.827 -> 0.833 (substitution practices with an intake stop before the addiction counselling for "Spielsucht"
# and "addiction counselling"); 0.95 and 0.8 ranked the same (docs/search.md).
INTAKE_STOP = 0.9
# The reciprocal-rank-fusion constant: ranks matter, raw scores of the two systems never meet. 60 is the usual value;
# with the feedback's second fusion the first places weigh a little more: judged set combined P@5 0.867 -> 0.872,
# no query worse (30-50 all gained 0.003-0.005, 80 lost; docs/search.md).
RRF_K = 40
# Offers that name help for relatives ("auch für Angehörige"), when a search names a relative ("Sohn ist psychisch
# krank, was kann ich als Mutter tun"): asked for, like a language, so it weighs as much (docs/search.md).
RELATIVES_BOOST = 1.5
RELATIVES_WORD = Word("angehorige", stem("angehorige"))


@dataclass
class Semantic:
    """The semantic side of one search: each document's cosine to the query (-1 without a vector)."""

    cosine: np.ndarray
    weight: float = 1.0
    top: int = 20
    margin: float = 0.04
    # Feedback from the search's own best hits: `refine(docs)` gives the cosines to the query moved toward these
    # documents (None: no vector among them); the first fused order's best `feedback` offers are used, 0: never.
    refine: Callable[[np.ndarray], np.ndarray | None] | None = None
    feedback: int = 0


# Ranking weight per freshness verdict, indexed by its code.
DEMOTION = np.array([freshness.DEMOTION[code] for code in sorted(freshness.DEMOTION)])


def closest(docs: np.ndarray, values: np.ndarray, top: int) -> np.ndarray:
    """The `top` docs with the highest values, best first, ties in docs order (as a stable full sort would give)."""
    if len(docs) > 4 * top:
        # Only candidates at or above the top-th value are sorted: 0.03 ms instead of 0.5 ms at 10,000 offers.
        cut = np.partition(values, len(values) - top)[len(values) - top]
        keep = values >= cut
        docs, values = docs[keep], values[keep]
    return docs[np.argsort(-values, kind="stable")][:top]


@dataclass
class Pin:
    """Offers that come first whatever the order: up to `limit` of these categories (crisis help), best first."""

    categories: tuple[str, ...]
    words: tuple[Word, ...]  # words that order the pinned offers, besides the search's own
    limit: int = 5


@dataclass
class Ranked:
    """One page of ranked offers: ids in order with score and distance, and the total number of hits."""

    sids: list[int]
    scores: list[float]
    distances: list[float | None]
    total: int
    match: Match
    freshness: list[int] = field(default_factory=list)  # each hit's verdict (atlas.freshness codes)
    pinned: list[bool] = field(default_factory=list)  # each hit: shown first as crisis help
    words: list[list[str]] = field(default_factory=list)  # each hit: the parts of the query (slot labels) it holds
    crisis: Crisis | None = None  # the danger the text signals, set by the caller that detected it
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # query part (slot label) -> its need categories
    for_relatives: list[bool] = field(default_factory=list)  # each hit: helps relatives, asked for by the search


class Ranker:
    """Runs one search on one snapshot."""

    def __init__(self, snap: Snapshot, internal: bool, fresh: freshness.Inputs | None = None,
                 semantic: Semantic | None = None, urgent: bool = False, pin: Pin | None = None,
                 spoken: tuple[str, ...] = (), costless: bool = False, upcoming_days: int = 0,
                 parents: Mapping[str, str] | None = None, wished: tuple[str, ...] = (),
                 relatives: bool = False) -> None:
        self.snap = snap
        self.parents = parents or {}  # category slug -> the slug of its area (areas themselves are not in it)
        self.upcoming_days = upcoming_days if internal else 0
        self.costless = costless
        self.pin = pin
        self.semantic = semantic
        self.urgent = urgent
        self.spoken = spoken  # the languages the search seems typed in
        self.internal = internal
        self.fresh = fresh
        self._verdicts: np.ndarray | None = None
        self.size = snap.size
        self.live = max(snap.live_count, 1)
        self.match = Match(wished=wished, relatives=relatives)
        self._in_force: np.ndarray | None = None
        self._relatives_help: np.ndarray | None = None
        self.slot_labels: list[str] = []
        self.slot_hits: np.ndarray | None = None  # slots x documents: which query part each document holds
        # Anonymous callers: every score, correction, "relaxed" and unmatched hint comes from public offers only.
        self.visible = None if internal or snap.size == 0 else (snap.alive & snap.attrs["public"].astype(bool)
                                                                & self.in_force())
        if self.visible is not None:
            self.live = max(int(self.visible.sum()), 1)

    def verdicts(self) -> np.ndarray:
        """Each document's freshness verdict today (atlas.freshness codes); all "aktuell" without inputs."""
        if self._verdicts is not None:
            return self._verdicts
        attrs, zeros = self.snap.attrs, np.zeros(self.size, dtype=np.int64)
        if self.fresh is None or "review_due" not in attrs:
            self._verdicts = zeros
            return zeros
        # One verdict array per snapshot and inputs: searches within the inputs' few seconds share it.
        cached = getattr(self.snap, "verdict_cache", None)
        if cached is not None and cached[0] is self.fresh:
            self._verdicts = cached[1]
            return cached[1]
        doubt = np.isin(self.snap.sid, np.fromiter(self.fresh.doubt, dtype=np.int64, count=len(self.fresh.doubt)))
        self._verdicts = freshness.verdicts(
            self.fresh.today, attrs["review_due"], {"waiting_time": attrs.get("wait_conf", zeros),
                                                    "intake_status": attrs.get("intake_conf", zeros),
                                                    "opening_hours": attrs.get("hours_conf", zeros)},
            attrs["assured"], {"waiting_time": attrs.get("has_wait", zeros), "intake_status": attrs.get("has_intake", zeros),
                               "opening_hours": attrs.get("has_hours", zeros)},
            self.fact_limits(), doubt, self.fresh.soon_days)
        self.snap.verdict_cache = (self.fresh, self._verdicts)
        return self._verdicts

    def fact_limits(self) -> dict[str, Any]:
        """Each fact's maximum age: the default, or per document the strictest limit of its categories."""
        assert self.fresh is not None
        limits: dict[str, Any] = dict(self.fresh.max_days)
        for slug, own in self.fresh.by_category:
            members = self._members("category", [slug])  # the index lists parents with their children's offers
            for fact, days in own:
                limits[fact] = np.where(members, np.minimum(limits[fact], days), limits[fact])
        return limits

    def in_force(self) -> np.ndarray:
        """Documents whose validity period includes today (Europe/Berlin)."""
        if self._in_force is not None:
            return self._in_force
        day = validity.today().toordinal()
        zeros = np.zeros(self.size, dtype=np.int64)
        start = self.snap.attrs.get("valid_from", zeros).astype(np.int64)
        end = self.snap.attrs.get("valid_to", zeros).astype(np.int64)
        self._in_force = (start <= day) & ((end == 0) | (end >= day))
        return self._in_force

    def starting_soon(self) -> np.ndarray:
        """Documents whose validity period begins within the next `upcoming_days` days (none for public callers)."""
        zeros = np.zeros(self.size, dtype=np.int64)
        if not self.upcoming_days:
            return zeros.astype(bool)
        day = validity.today().toordinal()
        start = self.snap.attrs.get("valid_from", zeros).astype(np.int64)
        return (start > day) & (start <= day + self.upcoming_days)

    # -- text ------------------------------------------------------------------------------------------------

    def _bm25(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        ids, tf = self.snap.postings(fieldname, term)
        if len(ids):
            keep = self.snap.alive[ids] if self.visible is None else self.visible[ids]
            ids, tf = ids[keep], tf[keep]
        if not len(ids):
            return ids, tf.astype(np.float64)
        df = len(ids)
        idf = math.log(1.0 + (self.live - df + 0.5) / (df + 0.5))
        lengths = self.snap.lengths[fieldname][ids]
        norm = K1 * (1.0 - B + B * lengths / max(self.snap.avg_length[fieldname], 1.0))
        tf = tf.astype(np.float64)
        return ids, idf * tf * (K1 + 1.0) / (tf + norm)

    def _add(self, scores: np.ndarray, fieldname: str, term: str, weight: float) -> bool:
        ids, contrib = self._bm25(fieldname, term)
        if not len(ids):
            return False
        current = scores[ids]
        np.maximum(current, contrib * weight, out=current)
        scores[ids] = current
        self.match.terms.add(term)
        return True

    def _word_exact(self, word: Word, factor: float, scores: np.ndarray) -> bool:
        found = False
        for fieldname, weight in FIELD_WEIGHTS.items():
            found |= self._add(scores, fieldname, word.stem, weight * factor)
        found |= self._add(scores, "parts", word.stem, PARTS_WEIGHT * factor)
        if len(word.stem) >= MIN_PREFIX:
            # Compound heads and modifiers: "Schulden" (schuld) finds "Schuldnerberatung" (schuldnerberat, schuldn).
            for fieldname, weight in (("title", FIELD_WEIGHTS["title"]), ("tags", FIELD_WEIGHTS["tags"]),
                                      ("parts", PARTS_WEIGHT)):
                for term in self.snap.expand_prefix(fieldname, word.stem, MAX_PREFIX_TERMS):
                    if term != word.stem:
                        found |= self._add(scores, fieldname, term, weight * factor * PREFIX_FACTOR)
        parts = word.parts
        if parts:
            # A typed compound also matches its parts anywhere: "Suchtberatung" finds "Beratung bei Sucht".
            together = np.zeros(self.size)
            hits = np.ones(self.size, dtype=bool)
            for part in parts:
                part_scores = np.zeros(self.size)
                self._add(part_scores, "parts", part, PARTS_WEIGHT)
                together += part_scores
                hits &= part_scores > 0
            if hits.any():
                np.maximum(scores, np.where(hits, together * COMPOUND_FACTOR * factor / len(parts), 0.0), out=scores)
                found = True
        return found

    def word_scores(self, word: Word, factor: float = 1.0, readings: frozenset[str] | None = None) -> np.ndarray:
        """Best score of each document for one query word (0 where it does not match), typos tolerated.

        With `readings`, a typo is read only as one of those stems (a need word's, see query.Slot.readings)."""
        scores = np.zeros(self.size)
        if self._word_exact(word, factor, scores):
            return scores
        limit = max_typos(word.text)
        if limit:
            vocabulary = self.snap.vocabulary("words" if self.internal else "public_words")
            close = process.extract(word.text, vocabulary, scorer=Levenshtein.distance, score_cutoff=limit, limit=5)
            for candidate, _distance, _index in sorted(close, key=lambda c: (c[1], c[0])):
                if readings is not None and stem(candidate) not in readings:
                    continue
                if self._word_exact(Word(candidate, stem(candidate)), factor * FUZZY_FACTOR, scores):
                    self.match.corrections.setdefault(word.text, candidate)
                    self.match.terms.add(candidate)
        return scores

    def text_scores(self, slots: list[Slot], mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(score, matched) per document: every slot must match; if nothing matches them all, most of them.

        Counted among the documents of `mask` (the filters); with few full matches there, those matching all slots
        but one follow."""
        slot_scores: list[np.ndarray] = []
        tops: list[float] = []
        for slot in slots:
            best = np.zeros(self.size)
            # Only a part with synonyms needs its categories' members here (one mask of every offer).
            inside = self._members("category", list(slot.categories)) \
                if slot.categories and (len(slot.alternatives) > 1 or len(slot.alternatives[0].words) > 1) else None
            typed_top = 0.0
            for number, alternative in enumerate(slot.alternatives):
                total = np.zeros(self.size)
                complete = np.ones(self.size, dtype=bool)
                for word in alternative.words:
                    ws = self.word_scores(word, alternative.boost, slot.readings)
                    total += ws
                    complete &= ws > 0
                found = np.where(complete, total, 0.0)
                if number and inside is not None:
                    found = np.where(inside, found, found * SYNONYM_OUTSIDE)
                elif inside is not None and len(alternative.words) > 1:
                    typed_top = found.max()  # the need's floor: as if the phrase were held anywhere
                    found = np.where(inside, found, found * PHRASE_OUTSIDE)
                np.maximum(best, found, out=best)
            slot_scores.append(best)
            tops.append(max(best.max(), typed_top) if best.any() else 0.0)
        strongest = max(tops, default=0.0)
        for slot, best, top in zip(slots, slot_scores, tops):
            if slot.categories:
                self._need_floor(slot.categories, NEED_FACTOR * (top or strongest or 1.0), best,
                                 self._row_evidence(slot.siblings))
            if not best.any():
                self.match.unmatched.append(slot.label)
        stacked = np.vstack(slot_scores)
        self.slot_labels = [slot.label for slot in slots]
        self.slot_hits = stacked > 0
        matched_count = (stacked > 0).sum(axis=0)
        score = stacked.sum(axis=0)
        every = matched_count == len(slots)
        full = every & mask
        almost = self._almost(self.slot_hits, int(full.sum()), mask, [bool(slot.categories) for slot in slots])
        if almost is not None and almost.any():
            self.match.widened = True
            # The full matches keep their places at the top; the others follow in their own order.
            partial = self._need_first(slots, np.where(almost, score * matched_count / len(slots), 0.0))
            lowest = score[full].min()
            if partial.max() >= lowest:
                partial *= 0.99 * lowest / partial.max()
            return np.where(every, score, partial), every | almost
        if full.any() or len(slots) == 1:
            return score, every
        self.match.relaxed = True
        return self._need_first(slots, score * matched_count / len(slots)), matched_count > 0

    def _row_evidence(self, siblings: frozenset[str]) -> np.ndarray | float:
        """Per document, 1 + SIBLING_BONUS if it holds another one-word term of the need (`Slot.siblings`), else 1."""
        if not siblings or not SIBLING_BONUS:
            return 1.0
        held = np.zeros(self.size, dtype=bool)
        for term in siblings:
            ids, _tf = self.snap.postings("parts", term)
            held[ids] = True
        return np.where(held, 1.0 + SIBLING_BONUS, 1.0)

    def _need_floor(self, categories: tuple[str, ...], floor: float, best: np.ndarray,
                    evidence: np.ndarray | float = 1.0) -> None:
        """Raise the offers of a need's categories to its floor in `best` (less NEED_STEP per later category)."""
        allowed = self.snap.alive if self.visible is None else self.visible
        focus = self._focus(categories) * evidence
        for position, slug in enumerate(categories):
            members = self._members("category", [slug]) & allowed
            np.maximum(best, np.where(members, floor * NEED_STEP ** position * focus, 0.0), out=best)

    def _need_first(self, slots: list[Slot], scores: np.ndarray) -> np.ndarray:
        """Scores of a partial match where offers lacking a need part of the query count NEED_MISSING."""
        need = [number for number, slot in enumerate(slots) if slot.categories]
        if not need or len(need) == len(slots):
            return scores
        return np.where(self.slot_hits[need].all(axis=0), scores, scores * NEED_MISSING)

    @staticmethod
    def _almost(held: np.ndarray, full: int, mask: np.ndarray, need: list[bool]) -> np.ndarray | None:
        """Offers to follow the few (`full`) holding every part: all parts but one, or of two parts the need's or
        the rare one."""
        parts = len(held)
        if parts >= WIDEN_FROM_PARTS and 0 < full < WIDEN_BELOW:
            return (held.sum(axis=0) == parts - 1) & mask
        if parts == 2 and 0 < full < WIDEN_PAIR_BELOW:
            if need.count(True) == 1:
                lead = need.index(True)
                return held[lead] & ~held[1 - lead] & mask
            counts = held.sum(axis=1)
            rare = int(np.argmin(counts))
            if counts[1 - rare] >= WIDEN_COMMON_RATIO * counts[rare]:
                return held[rare] & ~held[1 - rare] & mask
        return None

    def _focus(self, categories: tuple[str, ...]) -> np.ndarray:
        """Per document, 1 - FOCUS_WEIGHT x the share of its categories the need does not cover (an area covers those
        under it); 1 without the category tree."""
        if not self.parents:
            return np.ones(self.size)
        named = set(categories)
        covered = [slug for slug, area in self.parents.items() if slug in named or area in named]
        inside = np.zeros(self.size, dtype=np.int64)
        for docs in (self.snap.sets.get("category", {}).get(slug) for slug in covered):
            if docs is not None:
                inside[docs] += 1
        own = self.snap.leaf_counts(frozenset(self.parents))
        share = np.where(own > 0, np.minimum(1.0, inside / np.maximum(own, 1)), 1.0)
        return 1.0 - FOCUS_WEIGHT * (1.0 - share)

    # -- filters and distance ----------------------------------------------------------------------------------

    def _members(self, set_name: str, values: list[str]) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        members = self.snap.sets.get(set_name, {})
        for value in values:
            docs = members.get(value)
            if docs is not None:
                mask[docs] = True
        return mask

    def filter_mask(self, params: SearchParams) -> np.ndarray:
        """Documents that pass every filter (and that this caller may see)."""
        attrs = self.snap.attrs
        mask = self.snap.alive.copy()
        if self.size == 0:
            return mask
        variant = "all" if self.internal else "pub"
        if not self.internal:
            mask &= attrs["public"].astype(bool) & self.in_force()
        if not params.include_archived:
            mask &= ~attrs["archived"].astype(bool)
        if not params.include_inactive:
            # Staff: paused, expired and later offers only on request; courses that begin soon are found, since
            # people sign up before the first day.
            mask &= attrs["active"].astype(bool) & (self.in_force() | self.starting_soon())
        if params.categories:
            mask &= self._members("category", params.categories)
        if params.gemeinden:
            mask &= self._members(f"gemeinde_{variant}", params.gemeinden)
        if params.kreise:
            mask &= self._members(f"kreis_{variant}", params.kreise)
        if params.jobcenters:
            mask &= self._members("jobcenter", params.jobcenters)
        for name, codes, every in (("cost", params.cost, False), ("channel", params.channels, False),
                                   ("lang", params.languages, False), ("access", params.accessibility, True)):
            if codes:
                bits = documents.mask(name, codes)
                values = attrs[name].astype(np.int64)
                mask &= (values & bits) == bits if every else (values & bits) != 0
        if params.easy_language:
            bit = documents.bit("access", "leichte_sprache")
            mask &= (attrs["access"].astype(np.int64) & bit) != 0
        if params.accepting:
            mask &= attrs["intake_open"].astype(bool)
        if params.short_notice:
            mask &= attrs["short_notice"].astype(bool)
        if params.current_only:
            mask &= self.verdicts() <= freshness.SOON
        if params.starts_within_weeks:
            mask &= self._members("session_day", sessions.window_days(params.starts_within_weeks))
        if params.verified_months:
            today = validity.today()  # Berlin, like every other date rule of the search
            months = today.year * 12 + today.month - 1 - params.verified_months
            since = date(months // 12, months % 12 + 1, min(today.day, 28)).toordinal()
            mask &= attrs["assured"].astype(np.int64) >= since
        return mask

    def distances(self, params: SearchParams) -> np.ndarray:
        """Kilometres from the origin to each document's nearest site (NaN without a site)."""
        result = np.full(self.size, np.nan)
        if params.origin is None or self.size == 0:
            return result
        docs, lats, lons = self.snap.points.get("all" if self.internal else "pub", (np.zeros(0, np.int64),) * 3)
        if not len(docs):
            return result
        lat0, lon0 = math.radians(params.origin.latitude), math.radians(params.origin.longitude)
        la, lo = np.radians(lats), np.radians(lons)
        h = np.sin((la - lat0) / 2) ** 2 + math.cos(lat0) * np.cos(la) * np.sin((lo - lon0) / 2) ** 2
        km = 2 * EARTH_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
        # Points are stored grouped by document, so each document's nearest site is a reduceat over its run.
        starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
        result[docs[starts]] = np.minimum.reduceat(km, starts)
        return result

    # -- putting it together ----------------------------------------------------------------------------------

    def run(self, params: SearchParams, slots: list[Slot], distance_weight: float, distance_scale: float) -> Ranked:
        """Rank one page of offers."""
        if self.size == 0:
            return Ranked([], [], [], 0, self.match)
        mask = self.filter_mask(params)
        distance = self.distances(params)
        if params.origin is not None and params.radius_km is not None:
            inside = distance <= params.radius_km
            if params.include_supra:
                inside |= np.isnan(distance) & self.snap.attrs["supra"].astype(bool)
            mask &= inside
        score = np.zeros(self.size)
        matched = None
        if slots:
            score, matched = self.text_scores(slots, mask)
        elif params.text.strip():
            matched = np.zeros(self.size, dtype=bool)  # no searchable word: only meaning and pinned help can find
        if matched is not None:
            if self.semantic is not None:
                score, matched = self.fuse(score, matched, mask, self.semantic)
        pinned, following = self._pinned(params, mask, score, distance, distance_weight, distance_scale)
        first = np.concatenate([pinned, following]).astype(np.int64)
        if matched is not None:
            mask &= matched
        mask[first] = False
        candidates = np.flatnonzero(mask)
        total = len(candidates) + len(first)
        start = (params.page - 1) * params.per_page
        rest = params.page * params.per_page - len(first)
        order = self._order(candidates, params, score, distance, distance_weight, distance_scale, max(rest, 1))
        page = np.concatenate([first, order])[start:start + params.per_page].astype(np.int64)
        sids = self.snap.sid[page].tolist()
        blended = self._blend(page, score, distance, params, distance_weight, distance_scale)
        dists = [None if math.isnan(d) else round(float(d), 1) for d in distance[page]]
        return Ranked(sids, [round(float(s), 4) for s in blended], dists, total, self.match,
                      self.verdicts()[page].tolist(), np.isin(page, first).tolist(), self._words(page),
                      for_relatives=self._for_relatives()[page].tolist() if self.match.relatives else [])

    def _words(self, page: np.ndarray) -> list[list[str]]:
        """The query parts each document of the page holds (empty: found by meaning, as crisis help or by filters)."""
        if self.slot_hits is None:
            return [[] for _ in page]
        hits = self.slot_hits[:, page]
        return [[label for label, hit in zip(self.slot_labels, hits[:, i]) if hit] for i in range(len(page))]

    def _pinned(self, params: SearchParams, mask: np.ndarray, score: np.ndarray, distance: np.ndarray,
                weight: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
        """The pinned offers in order (the search's words and the pin's own words, then distance), and up to as many
        other offers of the pin's categories that hold its words, in the same order: they follow the pinned ones."""
        none = np.zeros(0, dtype=np.int64)
        if self.pin is None:
            return none, none
        members = np.flatnonzero(self._members("category", list(self.pin.categories)) & mask)
        if not len(members):
            return none, none
        own = self._unsearched_scores(self.pin.words)
        relevance = np.zeros(len(members))
        for values in (own, score):
            top = values[members].max()
            if top > 0:
                relevance += values[members] / top
        relevance *= DEMOTION[self.verdicts()[members]]
        if params.origin is not None:
            # Telephone and online help (no site) counts as near: in a crisis it is the nearest help there is.
            near = np.where(np.isnan(distance[members]), 1.0, scale / (scale + np.nan_to_num(distance[members])))
            relevance = (1.0 - weight) * relevance + weight * near
        # Offers that hold a word of the danger come before those that only sound near it: for "ich will nicht mehr
        # leben" the crisis chat before a counselling after violence that the meaning ranked high (docs/search.md).
        holds = own[members] > 0
        order = np.lexsort((members, -relevance, ~holds))
        # The rest of the crisis help that holds those words follows, before offers that merely hold the search's
        # words ("leben": a life counselling, an education centre): judged set nDCG@10 of every crisis query up.
        rest = order[self.pin.limit:]
        return members[order[:self.pin.limit]], members[rest[holds[rest]]][:self.pin.limit]

    def fuse(self, score: np.ndarray, matched: np.ndarray, mask: np.ndarray,
             semantic: Semantic) -> tuple[np.ndarray, np.ndarray]:
        """Fuse the lexical and the semantic ranking, then once more with the meaning moved toward the first fused
        order's best offers (pseudo-relevance feedback): a short or vague query's vector alone lands among offers
        that merely sound alike ("Pflegegrad beantragen": a Kita's "Kindertagespflege"); the offers words and
        meaning agree on say what the search is about."""
        fused, found = self._fuse_once(score, matched, mask, semantic)
        # With a danger signalled, crisis help is ordered by the danger's words and this first order (the crisis
        # queries' combined P@5: 0.857 so, 0.843 with feedback there too, 0.875 without any feedback).
        if semantic.refine is None or semantic.feedback <= 0 or self.pin is not None:
            return fused, found
        candidates = np.flatnonzero(found & mask)
        best = candidates[np.lexsort((self.snap.sid[candidates], -fused[candidates]))][:semantic.feedback]
        cosine = semantic.refine(best) if len(best) else None
        if cosine is None:
            return fused, found
        # Offers the words score the same (a need's offers at its floor) are ordered by this refined meaning instead
        # of by their place in the index: judged set combined P@5 0.863 -> 0.867; by the first, unrefined meaning
        # it lost (docs/search.md).
        return self._fuse_once(score, matched, mask, replace(semantic, cosine=cosine), ties_by_meaning=True)

    def _fuse_once(self, score: np.ndarray, matched: np.ndarray, mask: np.ndarray, semantic: Semantic,
                   ties_by_meaning: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Reciprocal-rank fusion: the lexical order and the best `top` offers by meaning, each by its rank."""
        fused = np.zeros(self.size)
        lexical = np.flatnonzero(matched & mask)
        floor = -1.0
        if len(lexical):
            ranked = lexical[np.lexsort((-semantic.cosine[lexical], -score[lexical]))] if ties_by_meaning \
                else lexical[np.argsort(-score[lexical], kind="stable")]
            fused[ranked] += 1.0 / (RRF_K + np.arange(1, len(ranked) + 1))
            # An offer found by meaning alone must be as close to the query as the best word matches are: a name
            # typed exactly stays a short list, a vague or foreign query (weak or no word matches) gets company.
            floor = float(semantic.cosine[ranked[:3]].min()) - semantic.margin
        pool = np.flatnonzero(mask & (semantic.cosine > -1))
        if len(pool):
            best = closest(pool, semantic.cosine[pool], semantic.top)
            fused[best] += semantic.weight / (RRF_K + np.arange(1, len(best) + 1))
            matched = matched.copy()
            matched[best[semantic.cosine[best] >= floor]] = True
            self.match.by_meaning = not len(lexical)
        return fused, matched

    def _blend(self, docs: np.ndarray, score: np.ndarray, distance: np.ndarray, params: SearchParams,
               weight: float, scale: float) -> np.ndarray:
        top = score.max() if score.size else 0.0
        relevance = score[docs] / top if top > 0 else np.zeros(len(docs))
        # Stale or doubtful offers move down (never out): a referral should rest on current details.
        relevance = relevance * DEMOTION[self.verdicts()[docs]]
        relevance = relevance * np.where(self.snap.attrs["intake_stop"][docs].astype(bool), INTAKE_STOP, 1.0)
        if self.urgent:  # "bald", "sofort": offers available at short notice or taking people now come first
            attrs = self.snap.attrs
            ready = attrs["short_notice"][docs].astype(bool) | attrs["intake_open"][docs].astype(bool)
            relevance = relevance * np.where(ready, URGENT_BOOST, 1.0)
        if self.costless:  # "kostenlos", "billig": offers that cost nothing (free or by donation) come earlier
            free = (self.snap.attrs["cost"][docs].astype(np.int64) & FREE) != 0
            relevance = relevance * np.where(free, COST_BOOST, 1.0)
        for languages, boost in ((self.spoken, LANGUAGE_BOOST), (self.match.wished, LANGUAGE_WISH_BOOST)):
            if languages:  # a question in Turkish, or for help in Turkish: offers where people speak it come earlier
                speaks = (self.snap.attrs["lang"][docs].astype(np.int64) & documents.mask("lang", list(languages))) != 0
                relevance = relevance * np.where(speaks, boost, 1.0)
        if self.match.relatives and RELATIVES_BOOST != 1.0:
            relevance = relevance * np.where(self._for_relatives()[docs], RELATIVES_BOOST, 1.0)
        if params.origin is None:
            return relevance
        near = np.where(np.isnan(distance[docs]), 0.5, scale / (scale + np.nan_to_num(distance[docs])))
        return (1.0 - weight) * relevance + weight * near

    def _for_relatives(self) -> np.ndarray:
        """Which documents name help for relatives ("Angehörige", "Angehörigengruppe"); not a highlight."""
        if self._relatives_help is None:
            self._relatives_help = self._unsearched_scores((RELATIVES_WORD,)) > 0
        return self._relatives_help

    def _unsearched_scores(self, words: tuple[Word, ...]) -> np.ndarray:
        """Summed word scores of words the ranking adds (a pin's, "Angehörige"): not searched, so they leave no
        highlight, correction or note in the search's Match."""
        searched, self.match = self.match, Match()
        try:
            return sum((self.word_scores(word) for word in words), np.zeros(self.size))
        finally:
            self.match = searched

    def _order(self, docs: np.ndarray, params: SearchParams, score: np.ndarray, distance: np.ndarray,
               weight: float, scale: float, need: int) -> np.ndarray:
        """The candidates in the requested order; only the part up to the requested page is sorted."""
        if not len(docs):
            return docs
        sort = params.effective_sort
        if sort == "name":
            primary = self.snap.name_rank()[docs].astype(np.float64)
        elif sort == "verified":
            primary = -self.snap.attrs["assured"][docs].astype(np.float64) * 1e7 + self.snap.name_rank()[docs]
        elif sort == "distance":
            primary = np.nan_to_num(distance[docs], nan=np.inf) - score[docs] * 1e-9
        else:
            primary = -self._blend(docs, score, distance, params, weight, scale)
        if len(docs) > max(4 * need, 20_000):
            keep = np.argpartition(primary, need - 1)[:need]
            docs, primary = docs[keep], primary[keep]
        # Equal scores in offer-id order, not in document order: a parallel build lays the documents out in the order
        # its processes finish, and the same search must list the same offers in the same order after any build.
        return docs[np.lexsort((self.snap.sid[docs], primary))]
