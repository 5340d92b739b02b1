"""The participant handout: a shortlist of offers as print view and PDF, from PUBLIC fields only."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import segno
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..maps.data import distance_km
from ..models import Service
from ..params import parse_id
from ..plain import km, public_cost, public_label
from ..presenters import service_view
from ..queries import public_condition, with_details
from ..sessions import ahead, describe_view
from .params import Origin

if TYPE_CHECKING:
    from fpdf import FPDF

MAX_ITEMS = 30
HANDOUT_SESSIONS = 3  # the next dates of a course; the rest are on the offer's page (QR code)
VOUCHERS = {"gkv_gutschein", "avgs"}
PAYING = {"selbstzahler", "zuzahlung"}
LATIN1_FALLBACK = str.maketrans({"–": "-", "—": "-", "„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'",
                                 "…": "...", "•": "-", "€": "EUR", "\u00a0": " "})


@dataclass
class Entry:
    """One offer on the handout: a heading, (label, text) sections and the link to its public page."""

    name: str
    sections: list[tuple[str, str]]
    url: str
    qr: segno.QRCode

    @property
    def qr_data_uri(self) -> str:
        """The QR code as an SVG data URI for the print view."""
        return self.qr.svg_data_uri(scale=3, border=2)


def parse_ids(values: list[str]) -> list[int]:
    """Offer ids from `ids=1,2&ids=3`, in order, without duplicates, at most MAX_ITEMS."""
    ids: list[int] = []
    for raw in values:
        for part in raw[:2000].split(","):
            part = part.strip()
            number = parse_id(part)
            if number is not None and number not in ids:
                ids.append(number)
    return ids[:MAX_ITEMS]


def load_public(session: Session, ids: list[int]) -> list[Service]:
    """The public offers among the ids, in the given order (internal or archived ones are left out)."""
    if not ids:
        return []
    stmt = with_details(select(Service).join(Service.organization)).where(Service.id.in_(ids), public_condition())
    found = {s.id: s for s in session.scalars(stmt)}
    return [found[i] for i in ids if i in found]


def _cost_plain(codes: list[str]) -> str:
    if not codes:
        return ""
    if "kostenlos" in codes:
        return _("Es kostet nichts.")
    if VOUCHERS & set(codes):
        return _("Sie brauchen einen Gutschein. Fragen Sie Ihre Lotsin oder Ihren Lotsen.")
    if PAYING & set(codes):
        return _("Sie müssen etwas bezahlen. Fragen Sie vorher nach dem Preis.")
    return _("Das bezahlt meistens ein Amt oder eine Kasse. Fragen Sie nach.")


def _first_sentences(text: str | None, limit: int = 260) -> str:
    if not text:
        return ""
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1] if cut > 80 else text[:limit].rsplit(" ", 1)[0] + " …"


def _hours(view: dict[str, Any], locations: list[dict[str, Any]]) -> list[str]:
    """Opening hours: the offer's own, then each site's, named by the site when there is more than one place."""
    own = [h["text"] for h in view["schedules"]]
    sites = [(loc, [h["text"] for h in loc["schedules"]]) for loc in locations if loc["schedules"]]
    named = len(sites) > 1 or (own and sites)
    return own + [f"{_site_name(loc)}: {'; '.join(texts)}" if named else "; ".join(texts) for loc, texts in sites]


def _site_name(loc: dict[str, Any]) -> str:
    return loc["name"] or loc["address_line"] or _("ohne Adresse")


def _distance_km(locations: list[dict[str, Any]], origin: Origin | None) -> float | None:
    """Kilometres from the participant's place to the nearest public site (None without a place or a site)."""
    if origin is None:
        return None
    found = [distance_km(origin.latitude, origin.longitude, loc["latitude"], loc["longitude"])
             for loc in locations if loc["latitude"] is not None]
    return min(found) if found else None


def _stand(day: str | None) -> str:
    return _(" (Stand %(d)s)", d=_datum(day)) if day else ""


def _datum(day: str) -> str:
    return date.fromisoformat(day[:10]).strftime("%d.%m.%Y")


def _facts(view: dict[str, Any], plain: bool) -> list[tuple[str, str]]:
    """Waiting time and intake with the dates they were confirmed, and when the whole entry was last checked."""
    atlas = view["atlas"]
    facts: list[tuple[str, str]] = []
    if atlas["waiting_time"]:
        facts.append((_("Wie lange warten Sie?") if plain else _("Wartezeit:"),
                      atlas["waiting_time"] + _stand(atlas["waiting_time_confirmed_at"])))
    if atlas["intake_status"] != "unbekannt":
        facts.append((_("Nimmt das Angebot neue Leute auf?") if plain else _("Aufnahme:"),
                      public_label("INTAKE_STATUS", atlas["intake_status"])
                      + _stand(atlas["intake_status_confirmed_at"])))
    if view["assured_date"]:
        facts.append((_("Geprüft am:") if plain else _("Angaben geprüft am:"), _datum(view["assured_date"])))
    return facts


def entry(view: dict[str, Any], url: str, plain: bool, origin: Origin | None = None) -> Entry:
    """The handout sections of one offer (a public service view), in German or Leichte Sprache."""
    locations = [sal["location"] for sal in view["service_at_locations"]]
    addresses = [loc["address_line"] for loc in locations if loc["address_line"]]
    protected = any(loc["address_protected"] for loc in locations)
    ways = [loc["transportation"] for loc in locations if loc["transportation"]]
    phones = [p["number"] for p in view["phones"] + [p for loc in locations for p in loc["phones"]]
              + view["organization"]["phones"]]
    hours = _hours(view, locations)
    dates = [describe_view(s, relative=False) for s in ahead(view)[:HANDOUT_SESSIONS]]  # paper outlives "morgen"
    codes = [c["code"] for c in view["atlas"]["cost_options"]]
    distance = _distance_km(locations, origin)
    sections: list[tuple[str, str]] = []
    if plain:
        summary = view["atlas"]["summary_plain"] or _first_sentences(view["description"], 160)
        sections.append((_("Worum geht es?"), summary))
        sections.append((_("Hier ist es:"), "\n".join(addresses) or _("Das Angebot hat keinen festen Ort.")))
        if distance is not None:
            sections.append((_("Wie weit ist es?"), _("%(km)s km von %(place)s", km=km(distance), place=origin.label)))
        if protected:
            sections.append(("", _("Die genaue Adresse bekommen Sie am Telefon.")))
        if ways:
            sections.append((_("So kommen Sie hin:"), "\n".join(ways)))
        if phones:
            sections.append((_("Sie können anrufen:"), "\n".join(dict.fromkeys(phones))))
        if hours:
            sections.append((_("Wann ist offen?"), "\n".join(hours)))
        if dates:
            sections.append((_("Die nächsten Termine:"), "\n".join(dates)))
        sections += _facts(view, plain)
        if codes:
            sections.append((_("Was kostet es?"), _cost_plain(codes)))
        sections.append((_("Mehr Infos:"), _("Scannen Sie den Code mit dem Handy. Oder gehen Sie auf diese Seite:")
                         + "\n" + url))
    else:
        sections.append((_("Anbieter:"), view["organization"]["name"]))
        text = _first_sentences(view["atlas"]["summary_plain"] or view["description"])
        if text:
            sections.append((_("Worum es geht:"), text))
        sections.append((_("Adresse:"), "\n".join(addresses) or _("ohne festen Ort (telefonisch oder online)")))
        if distance is not None:
            sections.append((_("Entfernung:"), _("%(km)s km von %(place)s", km=km(distance), place=origin.label)))
        if protected:
            sections.append(("", _("Die genaue Adresse wird zum Schutz nicht veröffentlicht. Bitte vorher anrufen.")))
        if ways:
            sections.append((_("So kommen Sie hin:"), "\n".join(ways)))
        if phones:
            sections.append((_("Telefon:"), ", ".join(dict.fromkeys(phones))))
        if view["email"] or view["organization"]["email"]:
            sections.append((_("E-Mail:"), view["email"] or view["organization"]["email"]))
        if hours:
            sections.append((_("Öffnungszeiten:"), "\n".join(hours)))
        if dates:
            sections.append((_("Nächste Termine:"), "\n".join(dates)))
        sections += _facts(view, plain)
        cost = public_cost(view["atlas"]["cost_options"], view["fees_description"])
        if cost:
            sections.append((_("Kosten:"), cost))
        sections.append((_("Mehr im Internet:"), url))
    return Entry(view["name"], sections, url, segno.make(url, error="m"))


def entries(session: Session, ids: list[int], base_url: str, plain: bool, origin: Origin | None = None) -> list[Entry]:
    """The handout entries in German (the handout is for the participant, whatever the UI language)."""
    with force_locale("de"):
        return [entry(service_view(s, internal=False, lang="de"), f"{base_url}/angebote/{s.id}", plain, origin)
                for s in load_public(session, ids)]


def data_date(session: Session, ids: list[int]) -> date | None:
    """The day the printed entries were last changed or checked (the handout's "Stand der Angaben")."""
    days = [d for s in load_public(session, ids) for d in (s.updated_at.date() if s.updated_at else None,
                                                           s.assured_date) if d is not None]
    return max(days) if days else None


@cache
def _handout_class() -> type:
    """The PDF class, built on first use: importing fpdf (and the cryptography it loads) slows every start."""
    from fpdf import FPDF

    class _Handout(FPDF):
        def __init__(self, font: str | None) -> None:
            super().__init__(format="A4")
            self.set_margins(18, 16, 18)
            self.set_auto_page_break(True, margin=16)
            self.font_name = "Helvetica"
            self.full_unicode = False
            if font and Path(font).exists():
                bold = Path(font).with_name(Path(font).stem + "-Bold.ttf")
                self.add_font("Atlas", "", font)
                self.add_font("Atlas", "B", str(bold) if bold.exists() else font)
                self.font_name, self.full_unicode = "Atlas", True

        def clean(self, value: str) -> str:
            """Text the chosen font can show (Latin-1 replacements for the built-in font)."""
            if self.full_unicode:
                return value
            return value.translate(LATIN1_FALLBACK).encode("latin-1", "replace").decode("latin-1")

    return _Handout


QR_SIZE = 30.0


def _pdf_entry(pdf: FPDF, item: Entry, body: int, inline_labels: bool) -> None:
    """One offer: a rule, the QR code at the right, the name and its sections beside it (left-aligned, never
    justified: stretched gaps are hard to read)."""
    top = pdf.get_y()
    pdf.set_draw_color(160, 160, 160)
    pdf.line(pdf.l_margin, top, pdf.w - pdf.r_margin, top)
    pdf.ln(2)
    _qr(pdf, item.qr, pdf.w - pdf.r_margin - QR_SIZE, pdf.get_y(), QR_SIZE)
    margin = pdf.r_margin
    pdf.set_right_margin(margin + QR_SIZE + 4)  # the text column ends before the QR code
    try:
        pdf.set_font(pdf.font_name, "B", body + 3)
        pdf.multi_cell(0, body * 0.55, pdf.clean(item.name), align="L", new_x="LMARGIN", new_y="NEXT")
        line = body * 0.5
        for label, text in item.sections:
            if label and inline_labels:  # "Telefon: +49 …" on one line: half the paper of label-above-text
                pdf.set_font(pdf.font_name, "B", body)
                pdf.write(line, pdf.clean(label) + " ")
                pdf.set_font(pdf.font_name, "", body)
                pdf.write(line, pdf.clean(text))
                pdf.ln(line)
                continue
            if label:
                pdf.set_font(pdf.font_name, "B", body)
                pdf.multi_cell(0, line, pdf.clean(label), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font(pdf.font_name, "", body)
            pdf.multi_cell(0, line, pdf.clean(text), align="L", new_x="LMARGIN", new_y="NEXT")
    finally:
        pdf.set_right_margin(margin)
    pdf.set_y(max(pdf.get_y(), top + QR_SIZE + 6))
    pdf.ln(3)


def _qr(pdf: FPDF, code: segno.QRCode, x: float, y: float, size: float) -> None:
    rows = list(code.matrix)
    module = size / (len(rows) + 4)
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(x + (c + 2) * module, y + (r + 2) * module, module, module, style="F")


def stand_line(printed: date, data_day: date | None) -> str:
    """"Gedruckt am …" and the date of the printed data (its last change or check)."""
    line = _("Gedruckt am %(date)s", date=printed.strftime("%d.%m.%Y"))
    if data_day is not None:
        line += " · " + _("Stand der Angaben: %(date)s", date=data_day.strftime("%d.%m.%Y"))
    return line


def pdf_bytes(items: list[Entry], title: str, plain: bool, font: str | None, stand: str) -> bytes:
    """The handout as a PDF: one block per offer with a QR code to its public page, never split across pages."""
    with force_locale("de"):
        pdf = _handout_class()(font)
        pdf.set_title(title)
        pdf.set_creator("Netzwerkatlas")
        pdf.add_page()
        body = 13 if plain else 11
        pdf.set_font(pdf.font_name, "B", 18 if plain else 16)
        pdf.multi_cell(0, 9, pdf.clean(title), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf.font_name, "", 10)
        pdf.multi_cell(0, 6, pdf.clean(stand), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        for item in items:
            # A block that would not fit moves to the next page whole (measured on a throw-away copy first).
            with pdf.offset_rendering() as trial:
                _pdf_entry(trial, item, body, inline_labels=not plain)
            if trial.page_break_triggered:
                pdf.add_page()
            _pdf_entry(pdf, item, body, inline_labels=not plain)
        out = io.BytesIO()
        pdf.output(out)
        return out.getvalue()
