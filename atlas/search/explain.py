"""Why a hit was found, in the UI language: "passt zu „Schulden“ → Schuldnerberatung · 3,2 km · Aufnahme offen"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from ..plain import km
from .analysis import fold, stem, token_spans


@dataclass(frozen=True)
class Reasons:
    """What one hit was found by, before it is put into words."""

    words: tuple[str, ...]  # query parts the offer holds (folded slot labels)
    crisis: bool  # pinned as crisis help
    by_meaning: bool  # found by the language model alone
    distance_km: float | None
    near_asked: bool  # a place was given


def typed_forms(text: str) -> dict[str, str]:
    """Folded word -> the word as typed, so an explanation quotes the user's own spelling."""
    return {folded: text[start:end] for start, end, folded in reversed(token_spans(text))}


def _typed(label: str, typed: dict[str, str]) -> str:
    return " ".join(typed.get(part, part) for part in label.split())


def _category(view: dict[str, Any], words: tuple[str, ...]) -> str:
    """The offer's category that holds one of the words (else its first): "Schulden" → Schuldnerberatung."""
    terms = view.get("taxonomy_terms") or []
    stems = [stem(part) for word in words for part in word.split() if len(part) >= 4]
    for term in terms:
        name = fold(term["name"])
        if any(s and s in name for s in stems):
            return str(term["name"])
    return str(terms[0]["name"]) if terms else ""


@dataclass(frozen=True)
class Explanation:
    """Why a hit was found (crisis help, the words or meaning it matched) and the facts that ranked it."""

    reasons: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()

    @property
    def parts(self) -> tuple[str, ...]:
        """Everything, most important first."""
        return self.reasons + self.facts

    def __str__(self) -> str:
        return " · ".join(self.parts)


def explain(view: dict[str, Any], reasons: Reasons, typed: dict[str, str]) -> Explanation:
    """A hit's explanation in the UI language."""
    parts: list[str] = []
    if reasons.crisis:
        parts.append(_("Hilfe in einer Krise"))
    if reasons.words:
        quoted = ", ".join(f"„{_typed(word, typed)}“" for word in reasons.words)
        category = _category(view, reasons.words)
        parts.append(_("passt zu %(words)s", words=quoted) + (f" → {category}" if category else ""))
    elif reasons.by_meaning:
        category = _category(view, ())
        parts.append(_("ähnliche Bedeutung (KI-Suche)") + (f" → {category}" if category else ""))
    atlas = view.get("atlas") or {}
    found, parts = tuple(parts), []
    if reasons.distance_km is not None:
        parts.append(_("%(km)s km", km=km(reasons.distance_km)))
    elif reasons.near_asked and atlas.get("supra_regional"):
        parts.append(_("telefonisch oder online"))
    intake = {"offen": _("Aufnahme offen"), "warteliste": _("Warteliste"), "aufnahmestopp": _("Aufnahmestopp")}
    if atlas.get("intake_status") in intake:
        parts.append(intake[atlas["intake_status"]])
    if atlas.get("short_notice"):
        parts.append(_("kurzfristig verfügbar"))
    return Explanation(found, tuple(parts))
