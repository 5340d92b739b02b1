"""Turn a typed query into slots: each query word (or synonym or need phrase) with its alternatives and need categories."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from .analysis import TOKEN_RE, query_words, split_compound, stem, tokens
from .language import LANGUAGE_WORDS, SPEAKING_WORDS, wishes
from .synonyms import Need, Rule

SYNONYM_BOOST = 0.8
# Words that say "soon" rather than what is needed (folded): they become a boost on offers available at short
# notice or taking people now, instead of words an offer must contain.
TIME_WORDS = frozenset({"bald", "sofort", "kurzfristig", "heute", "dringend", "schnell", "schnellstmoglich",
                        "zeitnah", "umgehend", "asap", "soon", "urgent", "today"})
# Words that say what the person wants to do about a need, not the need (folded): "kiffen aufhören", "Kur
# beantragen", "Hilfe bei Schulden". Dropped like time words when other words remain, since every part of a
# search must match and offers rarely say "aufhören".
INTENT_WORDS = frozenset({"hilfe", "helfen", "hilft", "brauche", "brauchen", "suche", "suchen", "gesucht", "finden",
                          "bekommen", "beantragen", "beantragt", "antragen", "aufhoren", "loswerden", "wegen",
                          "moglich", "mochte", "mochten", "wo", "wer", "wie", "welche", "gibt", "lassen", "kriegen",
                          "tun", "komme", "kommen", "hinkomme", "hinkommen"}) | frozenset(tokens(
    # The same kind of words in the other languages of the need table (folded like any query word); the words for
    # "counselling" are among them, since no German offer holds them and the need word carries the search.
    "help need advice for my with looking "
    "yardım yardim lazım istiyorum için danışmanlık danışmanlığı "
    "помощь помочь нужна нужен нужно для мне консультация по "
    "допомога допомогу потрібна потрібен для мені консультація "
    "مساعدة أحتاج احتاج استشارة"))

# Words that ask for offers at no or little cost (folded, with their usual endings): they become a boost on offers
# that cost nothing (free or by donation) instead of words an offer must contain. Offers rarely say "billig", and
# "Klamotten billig" would otherwise miss every clothing store that is free.
COST_WORDS = frozenset(f"{base}{ending}" for base in ("billig", "gunstig", "preisgunstig", "preiswert", "kostenlos",
                                                       "kostenfrei", "gebuhrenfrei")
                       for ending in ("", "e", "en", "er", "es", "em")) | frozenset(tokens(
    "billigste billigsten umsonst gratis free cheap ücretsiz bedava ucuz "
    "бесплатно бесплатный бесплатная бесплатное бесплатные дешево дёшево "
    "безкоштовно безкоштовний безкоштовна безкоштовне безкоштовні "
    "مجاني مجانية مجانا رخيص"))
# Words that ask for an appointment rather than name a need (folded): "Schuldenberatung in Iserlohn mit Termin
# bald" preferred offers that happen to say "Termin" (a housing help, a debt counselling 35 km away). Dropped when
# other parts remain, but not inside a need or synonym phrase ("Termin beim Arzt", "Begleitung zu Terminen").
APPOINTMENT_WORDS = frozenset({"termin", "termine", "terminen", "appointment", "appointments", "randevu"})
# Words naming a relative (folded): "Sohn ist psychisch krank, was kann ich als Mutter tun" asks for help as a
# relative, and many offers name their help for relatives ("auch für Angehörige"): a part of the query that is one of
# these words (not inside a need or synonym phrase: "Mutter-Kind-Kur") moves such offers up. Partners are not among
# them: "Trennung vom Partner" and "Stalking Ex-Partner" ask for the person's own help.
RELATIVE_WORDS = frozenset({"sohn", "sohne", "tochter", "tochtern", "mutter", "vater", "eltern", "bruder", "schwester",
                            "geschwister", "oma", "opa", "angehorige", "angehoriger", "angehorigen"}) | frozenset(tokens(
    # The same words in the other languages of the search (folded like any query word), as people write them:
    # "my son", "oğlum", "мой сын", "мій син", "ابني".
    "son daughter mother father parents brother sister relative relatives "
    "oğlum oğlu kızım kızı annem babam annemle babamla kardeşim ablam ağabeyim ailem "
    "сын сына сыном дочь дочери мать матери мама отец отца папа брат брата сестра сестры родственник родственники "
    "син сина донька доньки мати матері мама батько батька тато брат брата сестра сестри родич родичі "
    "ابني ابنتي أمي أبي أخي أختي والدي والدتي"))
FREE_CODES = ("kostenlos", "spende")  # the costs (vocab.COST_OPTIONS) such a search moves up


@dataclass(frozen=True)
class Word:
    """One folded query word and its stem."""

    text: str
    stem: str

    @property
    def parts(self) -> tuple[str, ...]:
        """Stems of the compound parts when the word is a compound."""
        return tuple(stem(p) for p in split_compound(self.text))


@dataclass(frozen=True)
class Alternative:
    """Words that must all match, with a boost (synonyms count a little less than what was typed)."""

    words: tuple[Word, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class Slot:
    """A part of the query that must match (in any of its alternatives)."""

    label: str
    alternatives: tuple[Alternative, ...]
    categories: tuple[str, ...] = ()  # the need table: offers of these categories meet this part too
    # For a need word: the stems a typo of it may be read as, the need words of the same categories. "depresyon"
    # may be "depression", but "saufen" is a word of its own and never "kaufen" or "laufen".
    readings: frozenset[str] | None = None
    siblings: frozenset[str] = frozenset()  # the need's other one-word terms (of the rows with the same categories)


def phrase(text: str) -> tuple[Word, ...]:
    """The words of a synonym or need phrase with their stems, without the words a search drops ("wegen")."""
    return tuple(Word(w, stem(w)) for w in searched(query_words(text, 8)))


def searched(found: list[str]) -> list[str]:
    """The words a search matches: time, intent, cost and language-wish words are dropped when other words remain,
    and a cost word in front of a compound ("Billigticket") is dropped from it."""
    wished = bool(wishes(found))  # "auf Türkisch": the offer's languages say it, seldom its text
    return [priced(w) for w in found if w not in TIME_WORDS and w not in INTENT_WORDS and w not in COST_WORDS
            and not (wished and (w in LANGUAGE_WORDS or w in SPEAKING_WORDS))] or found


def priced(word: str) -> str:
    """A compound whose front part is a cost word as the rest of it: "billigticket" -> "ticket", "gratisessen" ->
    "essen"; any other word as it is."""
    parts = split_compound(word)
    return word[len(parts[0]):] if len(parts) > 1 and parts[0] in COST_WORDS else word


def max_typos(word: str) -> int:
    """Edits tolerated in a word: none below 5 letters, one up to 7, two from 8."""
    return 0 if len(word) < 5 else 1 if len(word) < 8 else 2


# A word no offer holds is read as a need word it is a typo of when their stems are this similar (rapidfuzz's
# ratio, 0-100) besides being within max_typos edits: "Obdachlossigkeit" is "Obdachlosigkeit" (obdachloss ~ obdachlos,
# 95), "Alkohl" "Alkohol" (92), but "kaufen" is never "saufen" (kauf ~ sauf, 75).
NEED_TYPO_RATIO = 88


class SynonymTable:
    """Synonym rules and the need table, compiled to stem phrases for matching query words."""

    def __init__(self, rules: list[Rule], needs: Iterable[Need] = ()) -> None:
        self.entries: dict[tuple[str, ...], list[tuple[tuple[Word, ...], float]]] = {}
        for rule in rules:
            phrases = [p for p in map(phrase, rule.terms) if p]
            targets = [p for p in map(phrase, rule.expands_to) if p]
            for words in phrases:
                others = targets if rule.expands_to else [p for p in phrases if p != words]
                key = tuple(w.stem for w in words)
                bucket = self.entries.setdefault(key, [])
                bucket.extend((o, SYNONYM_BOOST) for o in others if (o, SYNONYM_BOOST) not in bucket)
        self.longest = max((len(k) for k in self.entries), default=0)
        self.needs: dict[tuple[str, ...], tuple[str, ...]] = {}
        for need in needs:
            for words in filter(None, map(phrase, need.terms)):
                key = tuple(w.stem for w in words)
                self.needs[key] = tuple(dict.fromkeys(self.needs.get(key, ()) + need.categories))
        self.longest_need = max((len(k) for k in self.needs), default=0)
        self._readings: dict[tuple[str, ...], frozenset[str]] = {}
        self._siblings: dict[tuple[str, ...], frozenset[str]] = {}
        self._one_word: list[str] | None = None

    def match(self, stems: list[str], start: int) -> tuple[int, list[tuple[tuple[Word, ...], float]]]:
        """The longest synonym phrase starting at a position: (length, alternatives), or (0, [])."""
        for length in range(min(self.longest, len(stems) - start), 0, -1):
            found = self.entries.get(tuple(stems[start:start + length]))
            if found:
                return length, found
        return 0, []

    def need(self, stems: list[str], start: int) -> tuple[int, tuple[str, ...]]:
        """The longest need phrase starting at a position: (length, category slugs), or (0, ())."""
        for length in range(min(self.longest_need, len(stems) - start), 0, -1):
            found = self.needs.get(tuple(stems[start:start + length]))
            if found:
                return length, found
        return 0, ()

    def need_typo(self, word: Word) -> tuple[str, ...] | None:
        """The categories of the one-word need term `word` is a close typo of, if it is one (and of one need only)."""
        limit = max_typos(word.text)
        if not limit:
            return None
        close = [(stem, distance) for stem, distance, _i in process.extract(
            word.stem, self._need_stems(), scorer=Levenshtein.distance, score_cutoff=limit, limit=5)
            if fuzz.ratio(word.stem, stem) >= NEED_TYPO_RATIO]
        if not close:
            return None
        best = min(distance for _stem, distance in close)
        nearest = {stem for stem, distance in close if distance == best}
        needs = {self.needs[(stem,)] for stem in nearest}
        return needs.pop() if len(needs) == 1 else None  # as close to needs of different categories: no guess

    def _need_stems(self) -> list[str]:
        if self._one_word is None:
            self._one_word = sorted(key[0] for key in self.needs if len(key) == 1)
        return self._one_word

    def part_categories(self, word: Word) -> tuple[str, ...]:
        """The need categories of a compound's parts that are one-word need terms: "Krisendienst" meets "Krise",
        "Handyschulden" "Schulden", "Drogenberatung" "Drogen" (for a compound that is no need term itself)."""
        found: dict[str, None] = {}
        for part in word.parts:
            found.update(dict.fromkeys(self.needs.get((part,), ())))
        return tuple(found)

    def readings(self, categories: tuple[str, ...]) -> frozenset[str]:
        """The stems of the one-word need terms that share a category with these (kept: the table seldom changes)."""
        known = self._readings.get(categories)
        if known is None:
            wanted = set(categories)
            known = self._readings[categories] = frozenset(
                key[0] for key, found in self.needs.items() if len(key) == 1 and wanted.intersection(found))
        return known

    def siblings(self, categories: tuple[str, ...], typed: tuple[Word, ...]) -> frozenset[str]:
        """The stems of the one-word need terms of exactly these categories, but the typed word's."""
        row = self._siblings.get(categories)
        if row is None:
            row = self._siblings[categories] = frozenset(
                key[0] for key, found in self.needs.items() if len(key) == 1 and found == categories)
        return row - {w.stem for w in typed}

    def categories(self, alternatives: Iterable[tuple[Word, ...]]) -> tuple[str, ...]:
        """The need categories of any of these phrases (a synonym of a need word meets the need too)."""
        found: dict[str, None] = {}
        for words in alternatives:
            found.update(dict.fromkeys(self.needs.get(tuple(w.stem for w in words), ())))
        return tuple(found)


def urgent(text: str, max_words: int) -> bool:
    """True when the query asks for something soon ("Schuldnerberatung bald", "heute Nacht Schlafplatz")."""
    return any(w in TIME_WORDS for w in query_words(text, max_words))


def costless(text: str, max_words: int) -> bool:
    """True when the query asks for offers at no or little cost ("Klamotten billig", "Sport kostenlos")."""
    return any(w in COST_WORDS or priced(w) != w for w in query_words(text, max_words))


def parse(text: str, synonyms: SynonymTable, max_words: int) -> list[Slot]:
    """Slots for a query text; symbols, emoji and operators are dropped, and time, intent, cost and appointment words
    when other words remain."""
    words = [Word(w, stem(w)) for w in searched(query_words(text, max_words))]
    stems = [w.stem for w in words]
    slots: list[Slot] = []
    i = 0
    while i < len(words):
        length, alternatives = synonyms.match(stems, i)
        need_length, categories = synonyms.need(stems, i)
        if need_length > length:  # the need phrase is longer ("Wohnung verloren"): it makes the part
            length, alternatives = need_length, []
        typed = tuple(words[i:i + max(length, 1)])
        if need_length != length:
            categories = ()
        categories = categories or synonyms.categories([typed, *(a for a, _boost in alternatives)]) \
            or (synonyms.part_categories(typed[0]) if len(typed) == 1 else ())
        slots.append(Slot(" ".join(w.text for w in typed),
                          (Alternative(typed), *(Alternative(a, b) for a, b in alternatives)), categories,
                          synonyms.readings(categories) if categories else None,
                          synonyms.siblings(categories, typed) if categories else frozenset()))
        i += len(typed)
    asked = [s for s in slots if s.label not in APPOINTMENT_WORDS or len(s.alternatives) > 1 or s.categories]
    return asked or slots


def relatives(slots: list[Slot]) -> bool:
    """True when a part of the query names a relative ("mein Bruder", "als Mutter"), not inside a phrase."""
    return any(slot.label in RELATIVE_WORDS for slot in slots)


def normalise(text: str, limit: int = 120) -> str:
    """The form a query is counted under when it finds nothing: lower-case words, single spaces."""
    return " ".join(TOKEN_RE.findall((text or "")[:2000].lower()))[:limit].strip()
