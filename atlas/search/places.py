"""Places inside a search text: "Sport Lüdenscheid" is the words "Sport" near Lüdenscheid."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import reference
from ..geocoding import fold, fold_plain, gazetteer
from ..models import Region

# Words that only glue a place to the rest ("Schuldnerberatung in Hemer", "Sport bei 58636").
GLUE = {"in", "im", "bei", "nahe", "um", "aus", "nach", "von", "ort", "raum", "umgebung", "naehe", "nähe", "kreis"}
TOKEN_RE = re.compile(r"\S+")
MIN_TYPO_SCORE = 80


@dataclass(frozen=True)
class PlaceSplit:
    """A search text split into its words and the place it names."""

    text: str
    place: str = ""
    suggestion: str = ""


@dataclass(frozen=True)
class _Names:
    folded: dict[str, str]
    choices: tuple[str, ...]


def _strip(token: str) -> str:
    return token.strip(".,;:!?()\"'„“")


def _keys(name: str) -> set[str]:
    base = re.sub(r"\s*\(.*\)$", "", name)
    return {fold(name), fold_plain(name), fold(base), fold_plain(base)}


def _adjectives(name: str) -> set[str]:
    """The folded adjectives a town's name makes: "Iserlohner Tafel", "Herdecker Klinik", "Hattinger Sozialamt"."""
    found: set[str] = set()
    for key in filter(str.isalpha, _keys(name)):
        if key.endswith("e"):
            found.add(key + "r")
        elif key.endswith("ingen"):  # Hattinger, Solinger; other names keep their "-en": Hagener, Wittener
            found.add(key[:-2] + "er")
        else:
            found.add(key + "er")
    return found


@lru_cache(maxsize=8)
def _names_for(signature: tuple[str, ...]) -> _Names:
    folded: dict[str, str] = {}
    for name in signature:
        for key in _keys(name):
            folded.setdefault(key, name)
    for name in signature:  # after every name: a name that looks like another's adjective stays that place
        for key in _adjectives(name):
            folded.setdefault(key, name)
    return _Names(folded, tuple(folded))


def place_names(session: Session) -> _Names:
    """The atlas's Gemeinden and Kreise by folded name (reference data: see atlas.reference)."""
    # Not tied to the database's change watermark: under a coordinator's edit a second, that read the regions
    # again once a second in every worker.
    return reference.cached(session, "place names", _load_place_names)


def _load_place_names(session: Session) -> _Names:
    names = session.scalars(select(Region.name).where(Region.kind.in_(("gemeinde", "kreis"))).order_by(Region.name))
    return _names_for(tuple(names))


def _is_postcode(token: str) -> bool:
    return bool(re.fullmatch(r"\d{5}", token)) and gazetteer().postcode(token) is not None


def _match_at(tokens: list[str], start: int, names: _Names) -> tuple[int, str] | None:
    """The longest place name (up to three words) starting at `start`: (length, name)."""
    for length in (3, 2, 1):
        if start + length > len(tokens):
            continue
        phrase = " ".join(_strip(t) for t in tokens[start:start + length])
        if length == 1 and _is_postcode(phrase):
            return 1, phrase
        for key in (fold(phrase), fold_plain(phrase)):
            if key in names.folded:
                return length, names.folded[key]
    return None


def _remaining(tokens: list[str], start: int, length: int) -> str:
    before = tokens[:start]
    while before and _strip(before[-1]).lower() in GLUE:
        before.pop()
    return " ".join(before + tokens[start + length:]).strip()


def _typo(tokens: list[str], names: _Names) -> str:
    """A place the last word probably means ("Hemr" → "Hemer"), or ""."""
    if len(tokens) < 2:
        return ""
    word = _strip(tokens[-1])
    if len(word) < 4 or not word[:1].isalpha():
        return ""
    found = process.extractOne(fold(word), names.choices, scorer=fuzz.ratio, score_cutoff=MIN_TYPO_SCORE)
    return names.folded[found[0]] if found else ""


def split_place(session: Session, text: str) -> PlaceSplit:
    """Find a Gemeinde, Kreis or postcode in the text; the place wins at the end, then at the start."""
    tokens = TOKEN_RE.findall(text.strip())
    if not tokens:
        return PlaceSplit("")
    names = place_names(session)
    for start in [*range(len(tokens) - 1, -1, -1)]:
        found = _match_at(tokens, start, names)
        if found:
            length, name = found
            return PlaceSplit(_remaining(tokens, start, length), name)
    return PlaceSplit(text.strip(), suggestion=_typo(tokens, names))


def suggest_places(session: Session, text: str, limit: int = 3) -> list[str]:
    """Places of the atlas that look like an unknown place name."""
    names = place_names(session)
    found = process.extract(fold(text), names.choices, scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=60)
    return list(dict.fromkeys(names.folded[choice] for choice, _score, _i in found))[:limit]
