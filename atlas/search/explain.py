"""Why a hit was found, in the UI language: "passt zu „Schulden“ → Schuldnerberatung · 3,2 km · Aufnahme offen"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from ..plain import km
from .analysis import fold, stem, token_spans
from .language import query_languages
from .query import FREE_CODES, costless, priced


@dataclass(frozen=True)
class Reasons:
    """What one hit was found by, before it is put into words."""

    words: tuple[str, ...]  # query parts the offer holds (folded slot labels)
    crisis: bool  # pinned as crisis help
    by_meaning: bool  # found by the language model alone
    distance_km: float | None
    near_asked: bool  # a place was given
    needs: tuple[str, ...] = ()  # the need table's categories of those parts, first stop first
    for_relatives: bool = False  # the search names a relative and the offer says it helps relatives too


def typed_forms(text: str) -> dict[str, str]:
    """Folded word -> the word as typed, so an explanation quotes the user's own spelling (of "Billigticket", the
    searched "Ticket")."""
    forms: dict[str, str] = {}
    for start, end, folded in reversed(token_spans(text)):
        forms[folded] = word = text[start:end]
        rest = priced(folded)
        if rest != folded and fold(tail := word[len(word) - len(rest):]) == rest:
            forms[rest] = tail[:1].upper() + tail[1:] if word[:1].isupper() else tail
    return forms


def _typed(label: str, typed: dict[str, str]) -> str:
    return " ".join(typed.get(part, part) for part in label.split())


def _category(view: dict[str, Any], words: tuple[str, ...], needs: tuple[str, ...] = ()) -> str:
    """The offer's category the need table led to, else one that holds one of the words, else its first.

    "Job behalten" → Integrationsfachdienst (the need), not the IFD offer's other category Jobcoaching; "Schulden"
    → Schuldnerberatung. A need may name an area ("psyche"): its categories count.
    """
    terms = view.get("taxonomy_terms") or []
    for slug in needs:
        for term in terms:
            if slug in (term.get("code"), term.get("parent_id")):
                return str(term["name"])
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
    spoken: tuple[str, ...] = ()  # the language asked for or typed in that the offer speaks (its name), if any

    @property
    def parts(self) -> tuple[str, ...]:
        """Everything, most important first."""
        return self.reasons + self.facts

    def __str__(self) -> str:
        return " · ".join(self.parts)


class Explainer:
    """Explains the hits of one search; the words are translated once per search, not once per hit."""

    def __init__(self, typed_text: str, wished: tuple[str, ...] = ()) -> None:
        self.typed = typed_forms(typed_text)
        self.crisis = _("Hilfe in einer Krise")
        self.matches = _("passt zu %(words)s")  # formatted below; gettext with variables would format per call
        self.meaning = _("ähnliche Bedeutung (KI-Suche)")
        self.km = _("%(km)s km")
        self.quoted = _("„%(word)s“")  # German quotation marks; English uses “…”
        self.spoken = frozenset(query_languages(typed_text)) | frozenset(wished)  # typed in, or asked for
        self.speaks = _("auch auf %(language)s")
        self.remote = _("telefonisch oder online")
        self.intake = {"offen": _("Aufnahme offen"), "warteliste": _("Warteliste"), "aufnahmestopp": _("Aufnahmestopp")}
        self.short_notice = _("kurzfristig verfügbar")
        self.costless = costless(typed_text, 64)
        self.relatives = _("auch für Angehörige")

    def explain(self, view: dict[str, Any], reasons: Reasons) -> Explanation:
        """A hit's explanation in the UI language."""
        found: list[str] = []
        if reasons.crisis:
            found.append(self.crisis)
        if reasons.words:
            quoted = ", ".join(self.quoted % {"word": _typed(word, self.typed)} for word in reasons.words)
            category = _category(view, reasons.words, reasons.needs)
            found.append(self.matches % {"words": quoted} + (f" → {category}" if category else ""))
        elif reasons.by_meaning:
            category = _category(view, ())
            found.append(self.meaning + (f" → {category}" if category else ""))
        if reasons.for_relatives:
            found.append(self.relatives)  # why it ranks earlier (RELATIVES_BOOST): a reason, shown on public cards too
        atlas = view.get("atlas") or {}
        facts: list[str] = []
        if reasons.distance_km is not None:
            facts.append(self.km % {"km": km(reasons.distance_km)})
        elif reasons.near_asked and atlas.get("supra_regional"):
            facts.append(self.remote)
        if atlas.get("intake_status") in self.intake:
            facts.append(self.intake[atlas["intake_status"]])
        if atlas.get("short_notice"):
            facts.append(self.short_notice)
        if self.costless:  # the reason it ranks a little earlier (COST_BOOST), in the offer's own words
            facts += [cost["label"] for cost in atlas.get("cost_options") or () if cost["code"] in FREE_CODES][:1]
        spoken = [language["name"] for language in view.get("languages") or () if language["code"] in self.spoken]
        if spoken:  # the reason it ranks earlier (LANGUAGE_BOOST, LANGUAGE_WISH_BOOST)
            facts.append(self.speaks % {"language": spoken[0]})
        return Explanation(tuple(found), tuple(facts), tuple(spoken[:1]))
