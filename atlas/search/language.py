"""Which language a search text is in, when it is not German, and which language it asks the help to be in.

Offers are described in German; a search in another language still finds them (the language model reads meaning,
category names are translated), and the page says so in both languages. The guess is cheap and deliberately
modest: the script for Arabic and Cyrillic, letters only Turkish uses, and words only English uses.
"""

from __future__ import annotations

import re

from .. import vocab
from ..i18n import current_lang
from .analysis import TOKEN_RE, query_words, tokens

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


# Names of the languages offers list (vocab.LANGUAGES), as a search asks for help in one: "Schuldnerberatung auf
# Türkisch", "Türkçe psikoterapi", "Arzt, der Russisch spricht", "psychologist in Arabic". German names take their
# endings and "-sprachig". German itself is left out: every offer is described in German.
_NAMES = {
    "en": "englisch english ingilizce английском английский англійською англійська بالإنجليزية الإنجليزية",
    "tr": "türkisch turkish türkçe турецком турецкий турецькою турецька بالتركية التركية",
    "ar": "arabisch arabic arapça арабском арабский арабською арабська بالعربية العربية عربي",
    "ru": "russisch russian rusça русском русский русски російською російська بالروسية الروسية",
    "uk": "ukrainisch ukrainian ukraynaca украинском украинский українською українська بالأوكرانية الأوكرانية",
    "pl": "polnisch polish lehçe", "ro": "rumänisch romanian", "bg": "bulgarisch bulgarian",
    "fa": "persisch farsi persian", "ku": "kurdisch kurdish kürtçe", "it": "italienisch italian",
    "el": "griechisch greek", "fr": "französisch french", "es": "spanisch spanish", "sq": "albanisch albanian",
    "sr": "serbisch serbian", "hr": "kroatisch croatian", "ti": "tigrinya",
}
_GERMAN_ENDINGS = ("", "e", "en", "er", "es", "em", "sprachig", "sprachige", "sprachigen", "sprachiger")
LANGUAGE_WORDS: dict[str, str] = {
    form: code for code, names in _NAMES.items() for name in tokens(names)
    for form in ((name + ending for ending in _GERMAN_ENDINGS) if name.endswith("isch") else (name,))}
# Said with a language wish, these only repeat it ("der Arabisch spricht"); elsewhere they are words like any other.
SPEAKING_WORDS = frozenset(tokens("spricht sprechen sprechende sprechenden sprechender speaks speaking speak "
                                  "konuşan konusan говорит говорить розмовляє يتحدث"))
# Learning a language is a need of its own ("Englisch lernen", "Türkischkurs"): then the name is a word to match.
LEARNING_WORDS = frozenset(tokens("lernen lerne lernt kurs kurse sprachkurs unterricht learn learning course "
                                  "courses class classes"))


def wished_languages(text: str, max_words: int = 64) -> tuple[str, ...]:
    """The languages a search asks the help to be in ("Schuldnerberatung auf Türkisch": ("tr",)), in text order."""
    return wishes(query_words(text, max_words))


def wishes(words: list[str]) -> tuple[str, ...]:
    """wished_languages for a query's folded words; none when the search is about learning a language."""
    if any(word in LEARNING_WORDS for word in words):
        return ()
    return tuple(dict.fromkeys(LANGUAGE_WORDS[word] for word in words if word in LANGUAGE_WORDS))


def wished_names(codes: tuple[str, ...]) -> list[str]:
    """The names of the languages a search asked for (`Match.wished`), in the UI language ("Türkisch", "Turkish")."""
    return [vocab.label(vocab.LANGUAGES, code, current_lang()) for code in codes]
