"""Search pages: /suche for staff, suggestions, the shortlist handout, and the coordinators' search settings."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .. import reference, validity, vocab
from ..audit import set_actor
from ..auth import role_required
from ..checker import link_notes
from ..db import get_session
from ..i18n import current_lang
from ..models import Region
from ..maps import search_map
from ..params import ParamError, parse_id
from ..plain import km
from ..queries import Choice, plain_areas, top_categories
from . import handout
from .analysis import fold
from .crisis import detect
from .documents import spellings
from .models import SearchMiss
from .params import Origin, SearchParams, parse_search_params, query_args, resolve_place
from .places import place_names
from .service import SearchPage, marked, search
from .sync import keeper
from .synonyms import (SynonymError, load_needs, load_rules, parse_needs, parse_rules, save_needs, save_rules,
                       seed_needs, seed_rules)

bp = Blueprint("search", __name__)
PAGE_SIZE = 20


def region_rows(session: Session) -> tuple[tuple, ...]:
    """The regions the filter lists show, as plain rows in display order (reference data: see atlas.reference)."""
    return reference.cached(session, "regions", _region_rows)


def _region_rows(session: Session) -> tuple[tuple, ...]:
    return tuple(map(tuple, session.execute(select(Region.id, Region.parent_id, Region.slug, Region.name, Region.kind)
                                            .order_by(Region.name, Region.id))))


@lru_cache(maxsize=8)
def kreis_tree(regions: tuple[tuple, ...]) -> tuple[Choice, ...]:
    """Kreise with their Gemeinden; cached by the rows."""
    kreise = tuple(Choice(slug, name, children=tuple(Choice(s, n) for _, parent, s, n, _k in regions if parent == id_))
                   for id_, _p, slug, name, kind in regions if kind == "kreis")
    return tuple(k for k in kreise if k.children)


@lru_cache(maxsize=16)
def area_options(areas: tuple[Choice, ...], lang: str) -> tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...]:
    """(slug, name, "name – alles", ((slug, name), ...)) per area in the UI language `lang`, labelled once.

    The form's longest list (some 70 entries): labelled in the template, it cost some 140 calls on every /suche.
    """
    return tuple((top.slug, top.label(lang), _("%(name)s – alles", name=top.label(lang)),
                  tuple((child.slug, child.label(lang)) for child in top.children)) for top in areas)


def filter_choices() -> dict[str, Any]:
    """What the filter form offers: categories, Kreise with their Gemeinden, and the vocabularies."""
    lang = current_lang()
    # Plain data, not ORM objects: loading ~200 of them cost 3-6 ms of every request on PostgreSQL.
    session = get_session()
    areas, kreise = plain_areas(session, internal=True), kreis_tree(region_rows(session))

    def labels(vocabulary: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
        return [(code, vocab.label(vocabulary, code, lang)) for code in vocabulary]

    return {
        "categories": area_options(areas, lang),
        "kreise": kreise,
        "cost_choices": [("kostenlos", vocab.label(vocab.COST_OPTIONS, "kostenlos", lang)), ("gutschein", _("mit Gutschein"))]
        + [c for c in labels(vocab.COST_OPTIONS) if c[0] not in ("kostenlos", "gkv_gutschein", "avgs")],
        "channel_choices": labels(vocab.CONTACT_CHANNELS),
        "access_choices": [c for c in labels(vocab.ACCESSIBILITY) if c[0] != "leichte_sprache"],
        "language_choices": labels(vocab.LANGUAGES),
    }


@bp.route("/suche")
@role_required()
def search_page() -> Any:
    """The staff search: one box, filters, results with distance; `ansicht=karte` asks for the map view."""
    session = get_session()
    error = None
    result: SearchPage | None = None
    status = 200
    try:
        params = parse_search_params(request.args, session, internal=True, per_page=PAGE_SIZE)
    except ParamError as exc:
        params, error, status = SearchParams(text=request.args.get("q", "")[:500], near=request.args.get("near", "")[:100],
                                             per_page=PAGE_SIZE), exc.description, 400
    if error is None and params.has_criteria():
        result = search(session, params, internal=True, lang=current_lang())
    args = query_args(params)
    view = "karte" if request.args.get("ansicht") == "karte" else "liste"
    result_map = search_map(params) if view == "karte" and result is not None else None
    links = link_notes(session, [hit.view["atlas"]["id"] for hit in result.hits]) if result else {}
    return render_template(
        "search/search.html", params=params, result=result, error=error, args=args, view=view, result_map=result_map,
        crisis=result.crisis if result else detect(params.text),
        link_notes=links,
        api_url=url_for("api.services", **args, per_page=current_app.config["API_MAX_PER_PAGE"]),
        marked=marked, km=km, **filter_choices()), status


@bp.route("/suche/vorschlaege")
@role_required()
def suggestions() -> Any:
    """Suggestions for the search box: categories, synonyms and indexed words that start with what was typed."""
    typed = request.args.get("q", "")[:60]
    words = typed.split()
    prefix = fold(words[-1]) if words else ""
    if len(prefix) < 2:
        return {"suggestions": []}
    lead = " ".join(words[:-1])
    found: list[dict[str, str]] = []
    session = get_session()
    terms = [term for top in plain_areas(session, internal=True) for term in [top, *top.children]]
    for term in terms:
        if fold(term.name).startswith(prefix) or f" {prefix}" in fold(term.name):
            found.append({"value": " ".join(filter(None, [lead, term.name])), "kind": _("Bereich")})
    for rule in load_rules(session):
        for term in rule.terms:
            if fold(term).startswith(prefix):
                found.append({"value": " ".join(filter(None, [lead, term])), "kind": _("Suchbegriff")})
    snap = keeper().fresh_snapshot(session)
    if snap.live_count:
        words = sorted(snap.expand_prefix("words", prefix, 200), key=len)[:8]
        names = [term.name for term in terms] + list(place_names(session).folded.values())
        spelled = spellings(session, snap.sids_with_words(words), names)
        for word in words:
            found.append({"value": " ".join(filter(None, [lead, spelled.get(word, word)])), "kind": _("Wort")})
    unique: dict[str, dict[str, str]] = {}
    for suggestion in found:
        unique.setdefault(fold(suggestion["value"]), suggestion)
    return {"suggestions": list(unique.values())[:10]}


def _handout_request() -> tuple[list[int], bool, Origin | None, str]:
    """Offer ids, Leichte Sprache or not, the participant's place (for distances) and a problem with that place."""
    ids = handout.parse_ids(request.args.getlist("ids") + request.args.getlist("id"))
    near = (request.args.get("near") or "").strip()[:100]
    origin, problem = None, ""
    if near:
        try:
            origin = resolve_place(get_session(), near)
        except ParamError as exc:
            problem = str(exc)
    return ids, request.args.get("sprache") == "leicht", origin, problem


def _base_url() -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or request.url_root).rstrip("/")


@bp.route("/suche/merkliste")
@role_required()
def shortlist_print() -> Any:
    """Print view of the shortlist for the participant: public fields only, German or Leichte Sprache."""
    ids, plain, origin, problem = _handout_request()
    session = get_session()
    items = handout.entries(session, ids, _base_url(), plain, origin)
    with force_locale("de"):  # the handout is for the participant, in German whatever the UI language
        stand = handout.stand_line(validity.today(), handout.data_date(session, ids))
    return render_template("search/handout.html", items=items, plain=plain, ids=ids, left_out=len(ids) - len(items),
                           stand=stand, near=request.args.get("near", "")[:100], place_problem=problem)


@bp.route("/suche/merkliste.pdf")
@role_required()
def shortlist_pdf() -> Any:
    """The shortlist as a PDF download."""
    ids, plain, origin, _problem = _handout_request()
    session = get_session()
    items = handout.entries(session, ids, _base_url(), plain, origin)
    if not items:
        abort(404, _("Auf der Merkliste steht kein öffentliches Angebot."))
    title = "Angebote für Sie" if plain else "Adressen und Angebote"
    with force_locale("de"):
        stand = handout.stand_line(validity.today(), handout.data_date(session, ids))
    data = handout.pdf_bytes(items, title, plain, current_app.config.get("SEARCH_PDF_FONT"), stand)
    name = "angebote-leichte-sprache.pdf" if plain else "angebote.pdf"
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


@bp.route("/verwaltung/synonyme", methods=["GET", "POST"])
@role_required("coordinator")
def synonyms() -> Any:
    """Coordinators edit the synonym list (one rule per line)."""
    session = get_session()
    problems: list[str] = []
    text = "\n".join(rule.as_line() for rule in load_rules(session))
    if request.method == "POST":
        set_actor(session, current_user.email, current_user.id)
        if request.form.get("action") == "reset":
            save_rules(session, seed_rules())
            session.commit()
            flash(_("Die mitgelieferte Synonymliste ist wiederhergestellt."))
            return redirect(url_for("search.synonyms"))
        text = request.form.get("rules", "")[:100_000]
        try:
            rules = parse_rules(text)
        except SynonymError as exc:
            problems = exc.problems
        else:
            save_rules(session, rules)
            session.commit()
            flash(_("%(n)s Synonym-Regeln gespeichert. Sie gelten ab der nächsten Suche.", n=len(rules)))
            return redirect(url_for("search.synonyms"))
    return render_template("search/synonyms.html", text=text, problems=problems), 400 if problems else 200


@bp.route("/verwaltung/bedarfe", methods=["GET", "POST"])
@role_required("coordinator")
def needs() -> Any:
    """Coordinators edit the need table (one need per line: words => category slugs)."""
    session = get_session()
    problems: list[str] = []
    areas = top_categories(session, internal=True)
    text = "\n".join(need.as_line() for need in load_needs(session))
    if request.method == "POST":
        set_actor(session, current_user.email, current_user.id)
        if request.form.get("action") == "reset":
            save_needs(session, seed_needs())
            session.commit()
            flash(_("Die mitgelieferte Bedarfstabelle ist wiederhergestellt."))
            return redirect(url_for("search.needs"))
        text = request.form.get("needs", "")[:100_000]
        try:
            rows = parse_needs(text, {term.slug: term.name for top in areas for term in (top, *top.children)})
        except SynonymError as exc:
            problems = exc.problems
        else:
            save_needs(session, rows)
            session.commit()
            flash(_("%(n)s Bedarfe gespeichert. Sie gelten ab der nächsten Suche.", n=len(rows)))
            return redirect(url_for("search.needs"))
    return render_template("search/needs.html", text=text, problems=problems, areas=areas), 400 if problems else 200


@bp.route("/verwaltung/suchen-ohne-treffer", methods=["GET", "POST"])
@role_required("coordinator")
def misses() -> Any:
    """Search texts that found nothing, most frequent first: hints at partners the atlas lacks."""
    session = get_session()
    if request.method == "POST":
        raw = request.form.get("id", "")
        if request.form.get("action") == "clear":
            session.execute(delete(SearchMiss))
        elif parse_id(raw) is not None:
            session.execute(delete(SearchMiss).where(SearchMiss.id == parse_id(raw)))
        session.commit()
        flash(_("Die Liste ist aktualisiert."))
        return redirect(url_for("search.misses"))
    rows = session.scalars(select(SearchMiss).order_by(SearchMiss.count.desc(), SearchMiss.query).limit(500)).all()
    total = session.scalar(select(func.count(SearchMiss.id))) or 0
    return render_template("search/misses.html", rows=rows, total=total)
