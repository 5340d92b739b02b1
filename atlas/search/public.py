"""The participants' search: the staff engine with public offers only, German parameter names and a place in the text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from ..models import TaxonomyTerm
from ..params import ParamError
from .crisis import Crisis, detect
from .params import SearchParams, parse_search_params
from .places import PlaceSplit, split_place, suggest_places
from .service import SearchPage, search

RADII = (5, 10, 15, 25, 50)
PER_PAGE = 20


@dataclass
class PublicQuery:
    """What a participant asked for, as typed, and how the atlas understood it."""

    text: str = ""
    place: str = ""
    radius: int | None = None
    category: str = ""
    page: int = 1
    split: PlaceSplit = field(default_factory=lambda: PlaceSplit(""))

    @property
    def words(self) -> str:
        """The search words without a place found in the text."""
        return self.split.text if self.split.place else self.text

    @property
    def effective_place(self) -> str:
        """The place in force: the place field, else a place found in the text."""
        return self.place or self.split.place

    @property
    def asked(self) -> bool:
        """True when the person asked for anything at all."""
        return bool(self.text or self.place or self.category)

    def args(self, **changes: Any) -> dict[str, Any]:
        """URL parameters of this query with some changed (None drops one)."""
        values = {"q": self.text, "ort": self.place, "umkreis": self.radius, "kategorie": self.category}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


@dataclass
class PublicResult:
    """A page of public results, or the reason there is none."""

    query: PublicQuery
    page: SearchPage | None = None
    error: str = ""
    place_suggestions: list[str] = field(default_factory=list)
    wider: dict[str, Any] | None = None
    place_label: str = ""

    @property
    def crisis(self) -> Crisis | None:
        """The danger the search signals; also when the search failed (an unknown place)."""
        return self.page.crisis if self.page else detect(self.query.text)


def read_query(args: MultiDict) -> PublicQuery:
    """Read the public parameters; a bad radius or page is a ParamError (German 400)."""
    query = PublicQuery(text=args.get("q", "").strip()[:200], place=args.get("ort", "").strip()[:100],
                        category=args.get("kategorie", "").strip()[:120])
    radius = args.get("umkreis", "").strip()
    if radius:
        if radius not in {str(r) for r in RADII}:
            raise ParamError(_("Den Umkreis „%(value)s“ gibt es nicht. Möglich sind: %(allowed)s km.",
                               value=radius[:20], allowed=", ".join(str(r) for r in RADII)))
        query.radius = int(radius)
    page = args.get("seite", "").strip() or "1"
    if not page.isdigit() or not 1 <= int(page) <= 1000:
        raise ParamError(_("Die Seitenzahl „%(value)s“ gibt es nicht.", value=page[:20]))
    query.page = int(page)
    return query


def _check_category(session: Session, slug: str) -> None:
    if not slug:
        return
    term = session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.slug == slug))
    if term is None or term.internal_only:
        raise ParamError(_("Den Bereich „%(value)s“ gibt es nicht.", value=slug[:60]))


def _engine_args(query: PublicQuery) -> MultiDict:
    # The place was looked for in the text already (read_query/split_place): the engine must not look again.
    args: MultiDict = MultiDict({"q": query.words, "seite": str(query.page), "per_page": str(PER_PAGE),
                                 "place_in_text": "0"})
    if query.effective_place:
        args["near"] = query.effective_place
        if query.radius:
            args["radius_km"] = str(query.radius)
    if query.category:
        args["category"] = query.category
    return args


def _wider(query: PublicQuery) -> dict[str, Any] | None:
    """The next larger radius (or none at all) to offer when nothing was found."""
    if not query.radius:
        return None
    larger = [r for r in RADII if r > query.radius]
    return query.args(umkreis=larger[0] if larger else None, seite=None)


def run(session: Session, args: MultiDict, lang: str) -> PublicResult:
    """Search public offers as the participant asked; unknown places come back with suggestions."""
    query = read_query(args)
    _check_category(session, query.category)
    if not query.place:
        query.split = split_place(session, query.text)
    result = PublicResult(query)
    if not query.asked:
        return result
    try:
        params: SearchParams = parse_search_params(_engine_args(query), session, internal=False, per_page=PER_PAGE)
    except ParamError as exc:
        if not query.place:  # radius, page and area were checked above: only a typed place can be unknown here
            raise
        result.error = str(exc.description)
        result.place_suggestions = suggest_places(session, query.place)
        return result
    result.page = search(session, params, internal=False, lang=lang)
    if params.origin is not None:
        result.place_label = params.origin.label
    if result.page.total == 0:
        result.wider = _wider(query)
    return result
