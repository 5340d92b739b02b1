"""Which language a search text is in, when it is not German: the results then say they are in German.

Offers are described in German; a search in another language still finds them (the language model reads meaning,
category names are translated), and the page says so in both languages. The guess is cheap and deliberately
modest: the script for Arabic and Cyrillic, letters only Turkish uses, and words only English uses.
"""

from __future__ import annotations

import re

from .analysis import TOKEN_RE

ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
UKRAINIAN_ONLY = re.compile(r"[іїєґІЇЄҐ]|\bдопомог|\bз\b", re.I)
RUSSIAN_ONLY = re.compile(r"[ыэъёЫЭЪЁ]|(ия|ость|ая|ый)\b|\bпомощ", re.I)
TURKISH_ONLY = re.compile(r"[çğışİÇĞŞ]")
TURKISH_WORDS = frozenset("""
ve ile için bir bu nerede istiyorum yardım yardim doktor hastane danışma danisma danışmanlık psikolog psikoterapi
depresyon bağımlılık bagimlilik ücretsiz ucretsiz kadın kadin çocuk cocuk iş yemek borç borc aile destek
""".split())
# Words English uses and German does not (so "Depression", "Sport" or "Coaching" decide nothing).
ENGLISH_WORDS = frozenset("""
the a and or for with without of to on at near my me i we our you your he she his her they their need needs
help advice support group groups counselling counseling counsellor doctor doctors gp family food bank debt debts
addiction addicted alcohol drugs depressed anxiety panic attack attacks accepting new patients patient free housing
homeless work therapy therapist mental health where how can want kill myself violence abuse children child
course courses elderly hospital emergency appointment appointments money benefits
disability disabled counselor self harm suicidal lonely loneliness pain sick illness
""".split())

NATIVE = {
    "en": "Results in German",
    "tr": "Sonuçlar Almanca",
    "ar": "النتائج باللغة الألمانية",
    "uk": "Результати німецькою мовою",
    "ru": "Результаты на немецком языке",
}
RIGHT_TO_LEFT = frozenset({"ar"})


def query_languages(text: str) -> tuple[str, ...]:
    """The languages a search text is probably in, when not German: ("tr",), ("uk", "ru") or ()."""
    text = text[:500]
    if ARABIC.search(text):
        return ("ar",)
    if CYRILLIC.search(text):
        if UKRAINIAN_ONLY.search(text):
            return ("uk",)
        return ("ru",) if RUSSIAN_ONLY.search(text) else ("uk", "ru")
    words = [word.lower() for word in TOKEN_RE.findall(text)]
    if not words:
        return ()
    if TURKISH_ONLY.search(text) or any(word in TURKISH_WORDS for word in words):
        return ("tr",)
    english = sum(word in ENGLISH_WORDS for word in words)
    return ("en",) if english and english * 2 >= len(words) else ()
