"""The search filters, parsed and validated in one place for the staff page /suche and the API."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from .. import sessions, vocab
from ..geocoding import find_gemeinde, gazetteer
from ..models import Jobcenter, Region, TaxonomyTerm
from ..params import ParamError
from .places import split_place

SORTS = {"relevance": "relevance", "relevanz": "relevance", "distance": "distance", "entfernung": "distance",
         "name": "name", "verified": "verified", "geprueft": "verified"}
COST_ALIASES = {"gutschein": ["gkv_gutschein", "avgs"]}
CHANNEL_ALIASES = {"e-mail": "email", "telefon": "telefonisch", "video": "online"}
TRUE = {"1", "true", "ja", "on", "yes"}
FALSE = {"", "0", "false", "nein", "off", "no"}
COORDS_RE = re.compile(r"^\s*(-?\d{1,3}(?:[.,]\d+)?)\s*[;,\s]\s*(-?\d{1,3}(?:[.,]\d+)?)\s*$")
DOT_COORDS_RE = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
MAX_PAGE = 10_000

# Parameter names: the page /suche and GET /api/v1/services share them, so a page URL's query string works in the API.
BOOLEAN_PARAMS = {"easy_language": "easy_language", "accepting": "accepting", "short_notice": "short_notice",
                  "current_only": "current_only",
                  "include_inactive": "include_inactive", "include_archived": "include_archived"}


@dataclass(frozen=True)
class Origin:
    """The place distances are measured from."""

    latitude: float
    longitude: float
    label: str


@dataclass
class SearchParams:
    """Everything a search can ask for."""

    text: str = ""
    near: str = ""
    origin: Origin | None = None
    radius_km: float | None = None
    categories: list[str] = field(default_factory=list)
    gemeinden: list[str] = field(default_factory=list)
    kreise: list[str] = field(default_factory=list)
    jobcenters: list[str] = field(default_factory=list)
    cost: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    accessibility: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    easy_language: bool = False
    accepting: bool = False
    short_notice: bool = False
    current_only: bool = False  # leave out offers whose check is overdue or whose details are being checked
    verified_months: int | None = None
    starts_within_weeks: int | None = None  # only offers with a dated session from today to N weeks ahead
    include_inactive: bool = False
    include_archived: bool = False
    include_supra: bool = True
    sort: str = ""
    page: int = 1
    per_page: int = 25
    place_from_text: str = ""  # a place found in the search text and used as `near` ("Hausarzt Lüdenscheid")
    typed: str = ""  # the search text as typed, before a place was taken from it
    place_in_text: bool = True  # False: a place name in the text is a word like any other

    @property
    def effective_sort(self) -> str:
        """The sort in force: as asked, else relevance with text, distance with a place, else name."""
        if self.sort:
            return self.sort
        if self.text.strip():
            return "relevance"
        return "distance" if self.origin else "name"

    def has_criteria(self) -> bool:
        """True when anything narrows or orders the search (else the page shows just the form)."""
        defaults = SearchParams()
        return any(getattr(self, f.name) != getattr(defaults, f.name) for f in fields(self)
                   if f.name not in ("page", "per_page", "sort", "near", "include_supra"))


def _list(args: MultiDict, *names: str) -> list[str]:
    values: list[str] = []
    for name in names:
        for raw in args.getlist(name):
            values.extend(v.strip().lower() for v in raw[:500].split(",") if v.strip())
    return list(dict.fromkeys(values))[:50]


def _bool(args: MultiDict, name: str, default: bool = False) -> bool:
    raw = args.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise ParamError(_("Der Parameter „%(name)s“ muss 1 (ja) oder 0 (nein) sein.", name=name))


def _int(args: MultiDict, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(_("Der Parameter „%(name)s“ muss eine ganze Zahl sein.", name=name)) from None
    return max(minimum, min(value, maximum))


def _codes(values: list[str], vocabulary: dict[str, Any], name: str, aliases: dict[str, Any] | None = None) -> list[str]:
    codes: list[str] = []
    for value in values:
        mapped = (aliases or {}).get(value, value)
        for code in mapped if isinstance(mapped, list) else [mapped]:
            if code not in vocabulary:
                allowed = ", ".join(list(vocabulary) + list(aliases or {}))
                raise ParamError(_("„%(value)s“ ist kein gültiger Wert für „%(name)s“. Erlaubt: %(allowed)s.",
                                   value=value[:40], name=name, allowed=allowed))
            codes.append(code)
    return list(dict.fromkeys(codes))


def _number(raw: str, name: str) -> float:
    try:
        value = float(raw.strip().replace(",", "."))
    except ValueError:
        raise ParamError(_("Der Umkreis („%(name)s“) muss eine Zahl in Kilometern sein, z. B. 10.", name=name)) from None
    if not math.isfinite(value):
        raise ParamError(_("Der Umkreis („%(name)s“) muss eine Zahl in Kilometern sein, z. B. 10.", name=name))
    return value


def _slugs(session: Session, values: list[str], model: Any, name: str, kind: str | None = None) -> list[str]:
    if not values:
        return []
    stmt = select(model.slug).where(model.slug.in_(values))
    if kind:
        stmt = stmt.where(model.kind == kind)
    known = set(session.scalars(stmt))
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ParamError(_("„%(value)s“ ist kein gültiger Wert für „%(name)s“.", value=unknown[0][:60], name=name))
    return values


def resolve_place(session: Session, text: str) -> Origin:
    """Coordinates ("51.36,7.70"), a postcode or a town; raises ParamError with a German message when unknown."""
    text = text.strip()[:100]
    match = DOT_COORDS_RE.match(text) or COORDS_RE.match(text)
    if match:
        lat, lon = (float(g.replace(",", ".")) for g in match.groups())
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ParamError(_("Die Koordinaten „%(place)s“ liegen außerhalb des gültigen Bereichs.", place=text))
        return Origin(lat, lon, f"{lat:.4f}, {lon:.4f}")
    if re.fullmatch(r"\d{5}", text):
        found = gazetteer().postcode(text)
        if found is None:
            raise ParamError(_("Die Postleitzahl „%(place)s“ kennen wir nicht.", place=text))
        return Origin(found.latitude, found.longitude, found.label)
    region = find_gemeinde(session, text) if text else None
    if region is not None and region.latitude is not None:
        return Origin(region.latitude, region.longitude, region.name)
    found = gazetteer().lookup(text) if text else None
    if found is None:
        raise ParamError(_("Den Ort „%(place)s“ kennen wir nicht. Bitte geben Sie eine Postleitzahl (z. B. 58452) "
                           "oder einen Ortsnamen (z. B. Iserlohn) ein.", place=text[:60]))
    return Origin(found.latitude, found.longitude, found.label)


def parse_search_params(args: MultiDict, session: Session, internal: bool, per_page: int | None = None) -> SearchParams:
    """Read and check the search parameters; raises ParamError (400) with a clear German message."""
    config = current_app.config
    params = SearchParams()
    params.text = (args.get("q") or args.get("search") or "")[: int(config["SEARCH_MAX_QUERY_LENGTH"])]
    params.typed = params.text
    params.near = (args.get("near") or "").strip()[:100]
    params.place_in_text = _bool(args, "place_in_text", default=True)
    if not params.near and params.text.strip() and params.place_in_text:
        found = split_place(session, params.text)
        if found.place and found.text.strip():  # a place alone stays a word: the offers that name it
            params.text, params.near, params.place_from_text = found.text, found.place, found.place
    if params.near:
        params.origin = resolve_place(session, params.near)
    radius = (args.get("radius_km") or "").strip()
    if radius:
        if params.origin is None:
            raise ParamError(_("Für einen Umkreis brauchen wir einen Ort: bitte „near“ angeben (Postleitzahl oder Ort)."))
        value = _number(radius, "radius_km")
        if value <= 0:
            raise ParamError(_("Der Umkreis („radius_km“) muss größer als 0 sein."))
        params.radius_km = min(value, float(config["SEARCH_MAX_RADIUS_KM"]))
    params.categories = _slugs(session, _list(args, "category", "kategorie"), TaxonomyTerm, "category")
    params.gemeinden = _slugs(session, _list(args, "gemeinde"), Region, "gemeinde", "gemeinde")
    params.kreise = _slugs(session, _list(args, "kreis"), Region, "kreis", "kreis")
    params.jobcenters = _slugs(session, _list(args, "jobcenter"), Jobcenter, "jobcenter")
    params.cost = _codes(_list(args, "cost"), vocab.COST_OPTIONS, "cost", COST_ALIASES)
    params.channels = _codes(_list(args, "channel"), vocab.CONTACT_CHANNELS, "channel", CHANNEL_ALIASES)
    params.accessibility = _codes(_list(args, "accessibility"), vocab.ACCESSIBILITY, "accessibility")
    params.languages = _codes(_list(args, "language"), vocab.LANGUAGES, "language")
    for name, attr in BOOLEAN_PARAMS.items():
        setattr(params, attr, _bool(args, name))
    params.include_archived = params.include_archived and internal
    if "include_supra_regional" in args:
        params.include_supra = _bool(args, "include_supra_regional")
    months = args.get("verified_within_months", "").strip()
    if months:
        params.verified_months = _int(args, "verified_within_months", 12, 1, 120)
    if args.get("starts_within_weeks", "").strip():
        params.starts_within_weeks = _int(args, "starts_within_weeks", 4, 1, sessions.MAX_WEEKS)
    sort = args.get("sort", "").strip().lower()
    if sort and sort not in SORTS:
        raise ParamError(_("Die Sortierung „%(value)s“ gibt es nicht. Erlaubt: relevance, distance, name, verified.",
                           value=sort[:40]))
    params.sort = SORTS.get(sort, "")
    if params.sort == "distance" and params.origin is None:
        raise ParamError(_("Zum Sortieren nach Entfernung brauchen wir einen Ort: bitte „near“ angeben."))
    params.page = _int(args, "page" if "page" in args else "seite", 1, 1, MAX_PAGE)
    maximum = int(config["API_MAX_PER_PAGE"])
    params.per_page = _int(args, "per_page", per_page or int(config["PER_PAGE"]), 1, maximum)
    return params


def query_args(params: SearchParams) -> dict[str, Any]:
    """URL parameters that reproduce a search (for links, paging and the API URL of the map)."""
    args: dict[str, Any] = {}
    if params.text:
        args["q"] = params.text
    if params.near:
        args["near"] = params.near
    if not params.place_in_text:
        args["place_in_text"] = "0"
    if params.radius_km is not None:
        args["radius_km"] = f"{params.radius_km:g}"
    for name, values in (("category", params.categories), ("gemeinde", params.gemeinden), ("kreis", params.kreise),
                         ("jobcenter", params.jobcenters), ("cost", params.cost), ("channel", params.channels),
                         ("accessibility", params.accessibility), ("language", params.languages)):
        if values:
            args[name] = values
    for name, attr in BOOLEAN_PARAMS.items():
        if getattr(params, attr):
            args[name] = "1"
    if not params.include_supra:
        args["include_supra_regional"] = "0"
    if params.verified_months:
        args["verified_within_months"] = params.verified_months
    if params.starts_within_weeks:
        args["starts_within_weeks"] = params.starts_within_weeks
    if params.sort:
        args["sort"] = params.sort
    return args
