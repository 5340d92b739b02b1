"""Plain language for the public pages: everyday labels for coded facts and the jargon they must avoid."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from . import vocab
from .i18n import current_lang, decimal

# Staff words that participants stumble over, with the everyday words public UI text uses instead.
# tests/test_plain_language.py fails when one of these appears in a public UI string.
JARGON: dict[str, tuple[str, str]] = {
    "ambulant": (r"\bambulant", "zu Hause wohnen, zu Terminen kommen"),
    "stationär": (r"\b(teil)?station[äa]r", "dort wohnen"),
    "Klient*innen": (r"\bklient", "Menschen, Personen"),
    "Leistungsträger": (r"leistungstr[äa]ger", "die Stelle, die bezahlt (Krankenkasse, Rentenversicherung, Amt)"),
    "Kostenübernahme": (r"kosten[üu]bernahme", "wird bezahlt von …"),
    "SGB": (r"\bSGB\b", "das Gesetz (nicht nennen)"),
    "§": (r"§", "das Gesetz (nicht nennen)"),
    "Maßnahme": (r"ma[ßs]nahme", "Kurs, Angebot"),
    "Eingliederung": (r"eingliederung", "Weg in Arbeit"),
    "Leistungsberechtigte": (r"leistungsberechtigt", "wer Geld vom Amt bekommt"),
    "niedrigschwellig": (r"niedrigschwellig", "einfach, ohne Hürden"),
    "Prävention": (r"pr[äa]vention", "gesund bleiben"),
    "Tagesstruktur": (r"tagesstruktur", "fester Tagesablauf"),
    "Teilhabe": (r"teilhabe", "mitmachen, dabei sein"),
}
JARGON_RE = re.compile("|".join(f"(?:{p})" for p, _plain in JARGON.values()), re.I)

# Everyday labels for coded facts on public pages; codes missing here keep their normal label.
PUBLIC_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "COST_OPTIONS": {
        "gkv_gutschein": ("mit Gutschein der Krankenkasse", "with a voucher from your health insurance"),
        "avgs": ("mit Gutschein vom Jobcenter (AVGS)", "with a voucher from the Jobcenter (AVGS)"),
        "kostentraeger": ("wird von einer Stelle bezahlt, z. B. Krankenkasse, Rentenversicherung oder Amt",
                          "paid for by an agency, e.g. health insurance, pension insurance or an office"),
        "zuzahlung": ("mit kleinem Eigenanteil", "with a small co-payment"),
        "selbstzahler": ("kostet Geld", "you pay yourself"),
    },
    "ACCESS_ROUTES": {
        "direkt": ("einfach hingehen, ohne Anmeldung", "just go, no appointment needed"),
        "termin": ("mit Termin", "with an appointment"),
        "ueberweisung": ("mit Überweisung von der Ärztin oder vom Arzt", "with a referral from your doctor"),
        "antrag": ("Sie stellen vorher einen Antrag", "you apply first"),
        "gutschein": ("mit Gutschein", "with a voucher"),
        "ueber_jobcenter": ("über das Jobcenter", "through the Jobcenter"),
    },
    "CONTACT_CHANNELS": {
        "hausbesuch": ("kommt auch zu Ihnen nach Hause", "can visit you at home"),
        "email": ("per E-Mail oder Brief", "by e-mail or letter"),
    },
    "INTAKE_STATUS": {
        "offen": ("nimmt neue Menschen auf", "taking new people"),
        "warteliste": ("Warteliste", "waiting list"),
        "aufnahmestopp": ("nimmt zurzeit niemanden neu auf", "not taking anyone new at the moment"),
    },
    "DELIVERY_FORMAT": {
        "einzel": ("allein mit einer Fachkraft", "one to one"),
        "gruppe": ("in einer Gruppe", "in a group"),
        "beides": ("allein oder in einer Gruppe", "one to one or in a group"),
    },
    "SETTING": {
        "ambulant": ("Sie wohnen zu Hause und kommen zu Terminen", "you live at home and come for appointments"),
        "teilstationaer": ("tagsüber dort, abends zu Hause", "there during the day, at home in the evening"),
        "stationaer": ("Sie wohnen für eine Zeit dort", "you stay there for a while"),
    },
}


def public_label(vocabulary: str, code: str | None) -> str:
    """The everyday label of a coded fact in the current UI language."""
    if code is None:
        return ""
    plain = PUBLIC_LABELS.get(vocabulary, {}).get(code)
    if plain:
        return plain[1] if current_lang() == "en" else plain[0]
    return vocab.label(getattr(vocab, vocabulary), code, current_lang())


def public_labels(vocabulary: str, items: list[dict[str, Any]]) -> str:
    """Everyday labels of a presenter's coded list, joined for a sentence."""
    return ", ".join(public_label(vocabulary, item["code"]) for item in items)


def public_cost(items: list[dict[str, Any]], fees: str | None) -> str:
    """Cost labels and the fee text as one sentence, without saying "kostenlos" twice."""
    fees = (fees or "").strip()
    labels = [label for label in (public_label("COST_OPTIONS", i["code"]) for i in items)
              if label.lower() not in fees.lower()]
    return ". ".join(p for p in (", ".join(labels), fees) if p)


def jargon_in(text: str) -> list[str]:
    """The jargon terms a text contains."""
    return [term for term, (pattern, _plain) in JARGON.items() if re.search(pattern, text, re.I)]


def km(value: float | None) -> str:
    """A distance in the UI language's number format with one decimal ("3,2")."""
    return "" if value is None else decimal(round(value, 1), "#,##0.0")


def init_app(app: Flask) -> None:
    """Make the everyday labels available to templates."""
    app.jinja_env.globals["public_label"] = public_label
    app.jinja_env.globals["public_labels"] = public_labels
    app.jinja_env.globals["public_cost"] = public_cost
    app.jinja_env.filters["km"] = km
