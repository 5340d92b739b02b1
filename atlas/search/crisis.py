"""Crisis safety: search texts that signal acute danger, in every supported language, and the numbers to call.

A search that signals danger always shows the crisis numbers and the crisis offers first (staff search, public
search and the API alike). The patterns are deliberately broad: a crisis box shown once too often costs a glance,
one missed costs far more. They read a folded text (lower case, no accents or diacritics, one kind of apostrophe),
so "Selbstmörder", "SELBSTMORD" and "selbstmord" look alike, and so do "бьёт" and "бьет".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from . import analysis

LIFE = "leben"  # suicidal thoughts, self-harm
VIOLENCE = "gewalt"  # domestic and sexual violence, threats, stalking
EMERGENCY = "notfall"  # acute psychiatric emergency
DESPAIR = "krise"  # despair without a named danger
KINDS = (LIFE, VIOLENCE, EMERGENCY, DESPAIR)

# German, English, Turkish, Arabic, Ukrainian and Russian, in that order per kind; written naturally and folded
# like the search text before they are compiled.
PATTERNS: dict[str, tuple[str, ...]] = {
    LIFE: (
        r"suizi[dt]", r"suicid", r"selbstmord", r"selbstmort", r"freitod", r"lebensmüde",
        r"nicht mehr (weiter)?leben", r"(will|möchte|moechte|wollen) (nur noch |lieber )?sterben",
        r"sterben (will|möchte|moechte)", r"\b(mich|sich|uns) (\w+ ){0,2}(umbringen|töten|toeten)",
        r"\bumbringen\b", r"(das|mein|sein|ihr) leben (zu )?nehmen", r"\b(etwas|was) (an(zu)?tun|antut|angetan)",
        r"selbstverletz", r"\britz(e|t|en|t sich)\b", r"\bmich (selbst )?(schneide|verletze)",
        r"kill(ing)? (myself|himself|herself|themselves)", r"end(ing)? (my|his|her|their) life",
        r"(want|wants|wanna) to die", r"(don'?t|do not|doesn'?t) want to live", r"self[- ]?harm",
        r"(cutting|hurting|harming|hurt|harm) (myself|himself|herself)", r"no reason to live",
        r"intihar", r"kendimi öldür", r"yaşamak istemiyorum", r"ölmek istiyorum", r"kendime zarar", r"hayatıma son",
        r"انتحار", r"انتحر", r"قتل نفسي", r"لا أريد أن أعيش", r"أريد أن أموت", r"إيذاء النفس", r"أؤذي نفسي",
        r"суїцид", r"самогубств", r"не хочу жити", r"(вбити|убити) себе", r"покінчити (з|із) собою",
        r"самоушкодж", r"(ріжу|різати) себе",
        r"суицид", r"самоубийств", r"не хочу жить", r"(убить|убью) себя", r"покончить с собой",
        r"самоповрежд", r"режу себя",
    ),
    VIOLENCE: (
        r"gewalt(?!frei|prävention|praevention)", r"schl(ä|ae)gt mich", r"\bmich (\w+ )?(geschlagen|verprügelt)",
        r"verprügel", r"vergewaltig", r"sexuell\w* (übergriff|belästig|missbrauch|gewalt)", r"\bmissbraucht\b",
        r"kindesmissbrauch", r"\bstalk", r"bedroht mich", r"(droht|drohen) mir", r"morddroh", r"frauenhaus",
        r"zwangsheirat", r"zwangsehe", r"(mann|partner|freund|vater|ex) .{0,30}(umbringen|töten|toeten)",
        r"domestic (violence|abuse)", r"\brap(e|ed)\b", r"sexual(ly)? (assault|abuse)", r"(hits|beats|hurts) me\b",
        r"abusive (partner|husband|wife|relationship|boyfriend|girlfriend)", r"forced marriage",
        r"şiddet", r"beni döv", r"dövüyor", r"tecavüz", r"taciz", r"zorla evlendir",
        r"عنف", r"اغتصاب", r"اغتصب", r"يضربني", r"تحرش", r"زواج قسري",
        r"насильств", r"насилл", r"зґвалт", r"б'є мене", r"мене б'є", r"переслідує мене",
        r"насили", r"изнасил", r"бьёт меня", r"меня бьёт", r"избива",
    ),
    EMERGENCY: (
        r"psychiatrisch\w* notfall", r"notfall\w* (in der )?psychiatrie", r"akut\w* psychose", r"psychose,? akut",
        r"psychiatric emergency", r"acute psychosis",
        r"psikiyatrik acil", r"akut psikoz",
        r"طوارئ نفسية", r"ذهان حاد",
        r"гострий психоз", r"психіатричн\w* (невідкладн|швидк)",
        r"острый психоз", r"психиатрическ\w* (неотложн|скор)",
    ),
    DESPAIR: (
        r"verzweifel", r"(halte|halt|ertrage) (es|das) .{0,40}nicht mehr aus", r"\bkann nicht mehr\s*[.!]*$",
        r"keinen (ausweg|sinn) mehr", r"\bdesperate\b", r"\bhopeless\b", r"can'?t (take it|cope|go on) any ?more",
        r"çaresiz", r"dayanamıyorum", r"يائس", r"لا أستطيع التحمل", r"у відчаї", r"відчай", r"не витримую",
        r"отчаян", r"не выдерживаю",
    ),
}

# Within the crisis offers, those that hold these words of the kind come first (besides the searched words).
WORDS: dict[str, tuple[str, ...]] = {
    LIFE: ("Suizid", "Krisentelefon", "Krisendienst", "Krisenchat", "Notfallaufnahme", "Seelsorge", "Sorgentelefon",
           "Sozialpsychiatrischer"),
    # Not "Gewalterfahrung", the trauma outpatient clinic's word: it led "Stalking Ex-Partner" (TRAUMA_WORDS keep it).
    VIOLENCE: ("Gewalt", "Frauenhaus", "Schutz", "Frauenberatung"),
    # Not "Krise": housing for women "in Krisen" came before the social-psychiatric services for "akute Psychose".
    EMERGENCY: ("Notfall", "Notfallaufnahme", "Krisendienst", "Psychiatrie", "Sozialpsychiatrischer", "Krisentelefon"),
    DESPAIR: ("Krisentelefon", "Krisenchat", "Krisendienst", "Seelsorge", "Sorgentelefon", "Sozialpsychiatrischer"),
}
# After sexual violence, or when a search names the trauma, the first help is a trauma outpatient clinic or a
# specialised counselling service; a women's shelter is for those who must leave home, so it comes first only
# for the other kinds of violence.
TRAUMA_PATTERNS = (r"vergewaltig", r"sexuell", r"missbrauch", r"\brap(e|ed)\b", r"sexual", r"tecavüz", r"taciz",
                   r"اغتصاب", r"اغتصب", r"تحرش", r"зґвалт", r"изнасил", r"trauma", r"\bptbs\b", r"\bptsd\b", r"travma",
                   r"صدمة", r"травм")
TRAUMA_WORDS = ("Traumaambulanz", "Gewalterfahrung", "Gewalttat", "sexualisierte", "Vergewaltigung", "Frauennotruf",
                "Frauenberatung", "Trauma", "Gewalt")


@dataclass(frozen=True)
class Number:
    """A number to call in danger, for the kinds of crisis it helps with."""

    key: str
    number: str
    name: Any
    note: Any
    kinds: frozenset[str]

    @property
    def dial(self) -> str:
        """The number for a tel: link."""
        return re.sub(r"[^0-9+]", "", self.number)


# Nationwide, free and (except where noted) around the clock. A deployment can replace them with CRISIS_NUMBERS.
NUMBERS = (
    Number("notruf", "112", _l("Notruf: Rettungsdienst und Notärztin oder Notarzt"), _l("bei Lebensgefahr, rund um die Uhr"),
           frozenset(KINDS)),
    Number("polizei", "110", _l("Polizei"), _l("wenn Sie gerade bedroht werden"), frozenset({VIOLENCE})),
    Number("telefonseelsorge", "0800 111 0 111", _l("Telefonseelsorge"),
           _l("kostenlos, anonym, rund um die Uhr; auch 0800 111 0 222 oder 116 123, Chat auf online.telefonseelsorge.de"),
           frozenset({LIFE, EMERGENCY, DESPAIR, VIOLENCE})),
    Number("hilfetelefon", "116 016", _l("Hilfetelefon Gewalt gegen Frauen"),
           _l("kostenlos, anonym, rund um die Uhr, auch in anderen Sprachen; auch für Angehörige"), frozenset({VIOLENCE})),
    Number("bereitschaftsdienst", "116 117", _l("Ärztlicher Bereitschaftsdienst"),
           _l("wenn die Praxis geschlossen ist"), frozenset({EMERGENCY})),
)


def fold(text: str) -> str:
    """The search's folded form (analysis.fold) with one apostrophe and single spaces: patterns and texts meet here."""
    return re.sub(r"\s+", " ", re.sub(r"[’ʼ`´‘]", "'", analysis.fold(text))).strip()


COMPILED = {kind: re.compile("|".join(f"(?:{fold(p)})" for p in patterns)) for kind, patterns in PATTERNS.items()}
TRAUMA = re.compile("|".join(f"(?:{fold(p)})" for p in TRAUMA_PATTERNS))


@dataclass(frozen=True)
class Crisis:
    """What a search text signals: the kinds of danger, and the words that signalled them."""

    kinds: tuple[str, ...]
    signals: tuple[str, ...]
    trauma: bool = False  # sexual violence, or a trauma named beside the danger

    @property
    def words(self) -> tuple[str, ...]:
        """German words that order the crisis offers for these kinds."""
        return tuple(dict.fromkeys(word for kind in self.kinds
                                   for word in (TRAUMA_WORDS if kind == VIOLENCE and self.trauma else WORDS[kind])))

    def numbers(self, configured: list[dict[str, Any]] | None = None) -> list[Number]:
        """The numbers for these kinds (the deployment's list when configured), 112 first."""
        choice = [_configured(entry) for entry in configured] if configured else list(NUMBERS)
        return [number for number in choice if number.kinds & set(self.kinds)]


def _configured(entry: dict[str, Any]) -> Number:
    """One number of the CRISIS_NUMBERS setting."""
    return Number(entry.get("key", entry["number"]), entry["number"], entry["name"], entry.get("note", ""),
                  frozenset(entry.get("kinds", KINDS)))


def detect(text: str, max_chars: int = 500) -> Crisis | None:
    """The crisis a search text signals, or None."""
    folded = fold(text[:max_chars])
    if not folded:
        return None
    found = {kind: match.group(0) for kind, pattern in COMPILED.items() if (match := pattern.search(folded))}
    if not found:
        return None
    return Crisis(tuple(found), tuple(dict.fromkeys(found.values())), bool(TRAUMA.search(folded)))


def api_view(crisis: Crisis | None, configured: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The crisis part of an API search response."""
    if crisis is None:
        return None
    return {"kinds": list(crisis.kinds),
            "numbers": [{"name": str(n.name), "number": n.number, "note": str(n.note)}
                        for n in crisis.numbers(configured)]}
