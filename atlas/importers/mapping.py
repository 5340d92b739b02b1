"""The column-mapping step: which column of a spreadsheet holds which field, and how sure we are.

Headers are matched by meaning: exact synonyms, synonyms as words inside a longer header ("Name der
Einrichtung"), similar spellings ("Telfon"), and the column's content (a column of long sentences is a
description, not a name; a column of e-mail addresses is e-mail). When the name column is missing or doubtful
the import stops with a question instead of guessing. Mappings are remembered per source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ImportMapping
from .records import ImportFileError

# Fields that may take several columns (their values are joined).
MULTI = {"phone", "notes", "categories", "description"}
STOPWORDS = {"der", "die", "das", "des", "dem", "den", "und", "fuer", "von", "vom", "im", "in", "am", "an", "zum",
             "zur", "bzw", "oder", "mit", "the", "of", "and", "for"}
SURE = 0.7  # below this a name column is a question, not a guess
SAMPLE_ROWS = 50
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL = re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE)
PLZ = re.compile(r"^\d{4,5}$")
PLZ_CITY = re.compile(r"^\d{4,5}\s+\S")
PHONE = re.compile(r"^(tel\.?:?\s*)?[+(]?\d[\d\s/()\-–.]{5,}\d$", re.IGNORECASE)


@dataclass
class ColumnGuess:
    """The field one column is mapped to, with the confidence (0–1) and how it was found, in German."""

    index: int
    header: str
    field: str | None
    confidence: float
    how: str
    samples: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        """The confidence in per cent."""
        return round(self.confidence * 100)


class MappingQuestion(ImportFileError):
    """The name column is missing or doubtful: the coordinator must say which column it is."""

    def __init__(self, message: str, guesses: list[ColumnGuess]) -> None:
        super().__init__(message)
        self.guesses = guesses


def _tokens(key: str) -> list[str]:
    return [t for t in key.split() if t not in STOPWORDS]


def header_scores(key: str, synonyms: dict[str, list[str]]) -> dict[str, tuple[float, str]]:
    """Score each field for a folded header: exact synonym, synonym words inside it, or a similar spelling."""
    scores: dict[str, tuple[float, str]] = {}
    words = _tokens(key)

    def offer(target: str, score: float, how: str) -> None:
        if score > scores.get(target, (0.0, ""))[0]:
            scores[target] = (score, how)

    for target, spellings in synonyms.items():
        for spelling in spellings:
            if key == spelling:
                offer(target, 0.95, "genau")
                continue
            parts = spelling.split()
            n = len(parts)
            if words and any(words[i:i + n] == parts for i in range(len(words) - n + 1)):
                offer(target, 0.6 + 0.3 * n / len(words), f"Wort „{spelling}“")
            elif len(spelling) >= 4 and abs(len(spelling) - len(key)) <= 3:
                ratio = fuzz.ratio(key, spelling)
                if ratio >= 85:
                    offer(target, 0.5 + 0.4 * (ratio - 85) / 15, f"ähnlich „{spelling}“ ({round(ratio)} %)")
    return scores


def content_profile(values: list[str]) -> dict[str, float]:
    """Shares of the sample values that look like long text, e-mail, web address, postcode or phone."""
    values = [v for v in values if v]
    if not values:
        return {}
    share = lambda test: sum(1 for v in values if test(v)) / len(values)  # noqa: E731
    return {
        "long": share(lambda v: len(v) > 80 or len(v.split()) >= 10),
        "email": share(lambda v: bool(EMAIL.match(v.removeprefix("mailto:")))),
        "url": share(lambda v: bool(URL.match(v))),
        "postal_code": share(lambda v: bool(PLZ.match(v))),
        "postal_city": share(lambda v: bool(PLZ_CITY.match(v))),
        "phone": share(lambda v: bool(PHONE.match(v))),
    }


def column_candidates(key: str, values: list[str], synonyms: dict[str, list[str]]) -> dict[str, tuple[float, str]]:
    """Header scores corrected by what the column holds."""
    scores = header_scores(key, synonyms)
    profile = content_profile(values)
    if profile.get("long", 0) >= 0.5:
        for target in ("name", "organization", "alternate_name"):
            if target in scores:
                score, how = scores[target]
                scores[target] = (score * 0.3, f"{how}, aber lange Texte")
        if scores.get("description", (0, ""))[0] < 0.7:
            scores["description"] = (0.7, "Inhalt: lange Texte")
    for target, label in (("email", "E-Mail-Adressen"), ("url", "Webadressen"), ("postal_code", "Postleitzahlen"),
                          ("postal_city", "PLZ und Ort"), ("phone", "Telefonnummern")):
        if profile.get(target, 0) >= 0.8 and scores.get(target, (0, ""))[0] < 0.75:
            scores[target] = (0.75, f"Inhalt: {label}")
    return scores


def detect(header: list[str], samples: list[list[str]], synonyms: dict[str, list[str]],
           user: dict[str, str] | None, fold) -> list[ColumnGuess]:
    """Map every column to at most one field; each single-valued field takes the most likely column."""
    user = user or {}
    guesses = [ColumnGuess(i, str(h).strip(), None, 0.0, "", [s[i] for s in samples if i < len(s) and s[i]][:3])
               for i, h in enumerate(header)]
    options: list[tuple[float, int, str, str]] = []
    for guess in guesses:
        key = fold(guess.header)
        if key in user:
            guess.field, guess.confidence, guess.how = (None if user[key] == "ignore" else user[key]), 1.0, "festgelegt"
            continue
        if not key:
            continue
        values = [s[guess.index] for s in samples if guess.index < len(s)]
        for target, (score, how) in column_candidates(key, values, synonyms).items():
            options.append((score, guess.index, target, how))
    taken = {g.field for g in guesses if g.field}
    for score, index, target, how in sorted(options, key=lambda o: (-o[0], o[1])):
        guess = guesses[index]
        if guess.field is not None or guess.how == "festgelegt" or (target in taken and target not in MULTI):
            continue
        guess.field, guess.confidence, guess.how = target, score, how
        taken.add(target)
    return guesses


def check_name(guesses: list[ColumnGuess], labels: dict[str, str]) -> None:
    """Stop with a question when no column, or only a doubtful one, holds the name."""
    by_field = {g.field: g for g in guesses if g.field}
    name = by_field.get("name") or by_field.get("organization")
    listing = ", ".join(f"„{g.header}“ → {labels.get(g.field, 'nicht übernommen') if g.field else 'nicht übernommen'}"
                        f"{f' ({g.percent} %)' if g.field else ''}" for g in guesses if g.header)
    if name is None:
        raise MappingQuestion("Keine Spalte für den Namen gefunden – welche Spalte enthält den Namen? "
                              f"Erkannt: {listing}. Bitte die Spalte für den Namen zuordnen.", guesses)
    if name.confidence < SURE:
        raise MappingQuestion(f"Enthält die Spalte „{name.header}“ wirklich den Namen? Sicherheit nur {name.percent} % "
                              f"({name.how}). Erkannt: {listing}. Bitte die Zuordnung bestätigen oder ändern.", guesses)


def remembered(session: Session, source: str) -> dict[str, str]:
    """The mapping last used for this source (folded header -> field)."""
    return {m.column_key: m.field for m in session.scalars(select(ImportMapping).where(ImportMapping.source == source))}


def remember(session: Session, source: str, guesses: list[ColumnGuess], fold) -> None:
    """Store the mapping used for this source, so the next file of the same source maps the same way."""
    stored = {m.column_key: m for m in session.scalars(select(ImportMapping).where(ImportMapping.source == source))}
    now = datetime.now(UTC).replace(tzinfo=None)
    for guess in guesses:
        key = fold(guess.header)
        if not key:
            continue
        target = guess.field or "ignore"
        row = stored.get(key)
        if row is None:
            session.add(ImportMapping(source=source, column_key=key[:200], field=target, updated_at=now))
        elif row.field != target:
            row.field, row.updated_at = target, now
