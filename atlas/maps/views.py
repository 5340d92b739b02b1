"""Map pages: the public map with its list, the embeddable map, the staff map and the coverage view.

Big maps ship no full marker set with the page: the browser asks `/karte/daten` (public, embed) or
`/intern/karte/daten` (staff) for the visible section at its zoom level and gets clusters and single markers (see
clustering.py), with an ETag by data version. The public map and the embed also carry their opening section in the
page, so the first markers need no second round trip.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from babel.numbers import format_decimal as babel_decimal
from flask_babel import format_number
from flask_babel import gettext as _
from sqlalchemy import exists, select

from . import coverage
from . import data as maps
from .clustering import MAX_LAT_SPAN, MAX_LON_SPAN, BBox, BBoxError, cluster, parse_bbox, parse_zoom
from .. import freshness, vocab
from ..auth import role_required
from ..db import get_session
from ..geocoding import find_gemeinde, gazetteer
from ..i18n import current_lang, datum
from ..importers.export import safe_cell
from ..models import Location, Region, Service, ServiceAtLocation, TaxonomyTerm
from ..params import ParamError, int_arg, str_arg
from ..plain import km
from ..validity import ago
from ..queries import ListFilters, plain_areas, public_gemeinden, services_query, top_categories

bp = Blueprint("maps", __name__)
RADII = (5, 10, 25, 50)
# Map sizes in px (width, height) the opening view is prepared for: a small phone's frame, a wide desktop frame.
SMALLEST_MAP = (280, 240)
LARGEST_MAP = (1600, 1000)


def labels() -> dict[str, str]:
    """Texts the map script shows inside popups."""
    return {"protected": _("Genaue Adresse geschützt – bitte vorher melden."), "distance": _("%s km entfernt"),
            "cluster": _("%s Angebote – vergrößern"), "stack": _("%s Angebote an diesem Ort – Liste öffnen"),
            "stackHeading": _("%s Angebote an diesem Ort:")}


def resolve_near(text: str) -> tuple[tuple[float, float] | None, str | None, str | None]:
    """Turn a PLZ or town into coordinates: (point, label, error message)."""
    if not text:
        return None, None, None
    region = find_gemeinde(get_session(), text)
    if region is not None and region.latitude is not None:
        return (region.latitude, region.longitude), region.name, None
    hit = gazetteer().lookup(text)
    if hit is None:
        return None, None, _("„%(text)s“ kennen wir nicht. Bitte geben Sie eine Postleitzahl oder einen Ort in Deutschland ein.",
                             text=text)
    return (hit.latitude, hit.longitude), hit.label, None


def radius_arg() -> int:
    """The selected radius in km, one of RADII (10 by default)."""
    raw = request.args.get("umkreis", "")
    return int(raw) if raw in {str(r) for r in RADII} else 10


def region_filter(slug: str) -> ListFilters:
    """Filters for a region slug that is either a Kreis or a Gemeinde."""
    region = get_session().scalar(select(Region).where(Region.slug == slug)) if slug else None
    if region is None:
        return ListFilters()
    return ListFilters(kreis=slug) if region.kind == "kreis" else ListFilters(gemeinde=slug)


LIST_ON_MAP_PAGE = 50


def without_place(filters: ListFilters, internal: bool, version: str) -> list[dict[str, Any]]:
    """Offers without a physical location (phone, online): they can only appear in the list."""
    session = get_session()

    def ids() -> list[int]:
        physical = exists(select(ServiceAtLocation.id).join(Location).where(
            ServiceAtLocation.service_id == Service.id, Location.location_type == "physical"))
        return list(get_session().scalars(services_query(internal, filters).where(~physical)
                                          .with_only_columns(Service.id).limit(LIST_ON_MAP_PAGE)))

    key = ("without place", internal, tuple(sorted(vars(filters).items())))
    ttl = float(current_app.config["MAP_CACHE_SECONDS"])
    _version, found = marker_cache().get(key, version, ttl, ids, in_background)
    from ..search.service import load_views  # here: the search package imports this one

    views = load_views(session, found, internal, include_archived=False, lang=current_lang())
    return [views[sid][0] for sid in found if sid in views]


def marker_cache() -> maps.MarkerCache:
    """This app's marker cache (one per app: tests run several apps on different databases in one process)."""
    return current_app.extensions.setdefault("atlas.maps.markers", maps.MarkerCache())


def marker_set(filters: ListFilters, internal: bool, near: tuple[float, float] | None,
               radius: int | None, version: str | None = None) -> maps.MarkerSet:
    """The markers of a filter set, from this process's cache while the data version holds."""
    key = ("markers", internal, tuple(sorted(vars(filters).items())), near, radius)
    version = version or maps.data_version(get_session())
    ttl = float(current_app.config["MAP_CACHE_SECONDS"])

    def build() -> maps.MarkerSet:  # get_session() inside: a rebuild may run in a thread of its own
        return maps.MarkerSet.of(version, maps.markers(get_session(), maps.offer_ids(filters, internal), internal,
                                                       near, radius))

    def shared() -> maps.MarkerSet:
        # Sets around a place stay with their worker: there are as many as places and radii, each cheaper.
        return build() if near is not None else shared_markers().get(key, version, ttl, build)

    return marker_cache().get(key, version, ttl, shared, in_background)[1]


def shared_markers() -> maps.SharedMarkers:
    """The marker sets this machine's workers share (files under the instance folder)."""
    return current_app.extensions.setdefault(
        "atlas.maps.shared", maps.SharedMarkers(Path(current_app.instance_path) / "map-cache"))


def in_background(job: Callable[[], None]) -> None:
    """Run `job` in a daemon thread inside this app's context (with a database session of its own)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            job()

    threading.Thread(target=run, name="atlas-map-rebuild", daemon=True).start()


def map_page_data(filters: ListFilters, internal: bool, detail_endpoint: str, data_url: str,
                  first: bool = False) -> dict[str, Any]:
    """Everything a map page with its equivalent list needs; markers come from `data_url` (with `first`, the
    opening section's also in the page)."""
    session = get_session()
    near, near_label, error = resolve_near(str_arg("nahe", 100))
    radius = radius_arg() if near else None
    tops = plain_areas(session, internal)
    lang = current_lang()
    # Participants see the everyday category names; staff the professional ones.
    categories = {t.slug: t.label(lang) if internal else t.public_label(lang) for t in tops}
    version = maps.data_version(session)
    markers = marker_set(filters, internal, near, radius, version)
    detail_url = url_for(detail_endpoint, service_id=0).removesuffix("0") + "{id}"
    config = {"data": data_url, "url": detail_url, "categories": categories, "colors": maps.CATEGORY_COLORS,
              "fallback": maps.FALLBACK_COLOR, "near": list(near) if near else None, "radius_km": radius,
              "total": len(markers.items), "labels": labels(),
              "fit": markers.fit(near or current_app.config["MAP_CENTER"])}
    if first:
        config["first"] = first_sections(markers, config["fit"])
    return {
        "map": maps.map_with_layers(current_app.config, [("clustered", "atlas-markers")]),
        "data": maps.script_json(config), "items": markers.items, "category_labels": categories,
        "detail_endpoint": detail_endpoint, "without_place": without_place(filters, internal, version),
        "near_label": near_label, "near_error": error, "radius": radius, "radii": RADII,
        "legend": maps.category_legend(tops, lang, public=not internal),
        "place_labels": maps.place_labels(public_gemeinden(session)),
    }


def page_of(items: list[Any], size: int = LIST_ON_MAP_PAGE) -> dict[str, Any]:
    """The list beside a map, one page at a time (`seite`)."""
    total_pages = max(1, math.ceil(len(items) / size))
    number = min(int_arg("seite", 1, 1), total_pages)
    return {"shown": items[(number - 1) * size:number * size], "page_number": number, "total_pages": total_pages}


def section_answer(markers: maps.MarkerSet, bbox: BBox, zoom: int, limit: int) -> dict[str, Any]:
    """The clusters and single markers of one section at one zoom level, as /karte/daten answers."""
    shown = cluster(markers.lat, markers.lon, bbox, zoom, limit)
    items = [markers.items[i] for i in shown.singles.tolist()]
    return {"version": markers.version, "total": len(markers.items), "zoom": shown.zoom, "clusters": shown.clusters,
            "points": [[m[4], m[5], m[3], i] for i, m in enumerate(items)],
            "items": [[m[0], m[1], m[2], m[6], m[7], m[8], m[9]] for m in items]}


def opening_zooms(fit: list[list[float]]) -> range:
    """The zoom levels at which the map script's fitBounds (padding 24 px, maxZoom 14) may open `fit`."""
    (south, west), (north, east) = fit
    lon_span = max(east - west, 1e-6)
    lat_span = max(_mercator(north) - _mercator(south), 1e-6)

    def zoom(width: int, height: int) -> int:
        scale = min((width - 48) * 360 / (256 * lon_span), (height - 48) * 360 / (256 * lat_span))
        return max(0, min(14, math.floor(math.log2(scale))))

    return range(zoom(*SMALLEST_MAP), zoom(*LARGEST_MAP) + 1)


def _mercator(lat: float) -> float:
    """Web Mercator y of a latitude, in degrees of longitude."""
    return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def first_sections(markers: maps.MarkerSet, fit: list[list[float]] | None) -> dict[str, Any]:
    """Answers for the map's opening section at each zoom it may open with, keyed by zoom.

    They travel in the page, so the first markers need no request of their own (a full round trip on a slow
    network); the script still asks /karte/daten for its exact section afterwards.
    """
    if not fit:
        return {}
    limit = int(current_app.config["MAP_MAX_MARKERS"])
    key = ("first sections", tuple(map(tuple, fit)), limit)
    if key not in markers.memo:  # the same for every view of the page while the markers hold (10 ms at 10,000)
        markers.memo[key] = _sections(markers, fit, limit)
    return markers.memo[key]


def _sections(markers: maps.MarkerSet, fit: list[list[float]], limit: int) -> dict[str, Any]:
    """first_sections' answers, computed."""
    lat, lon = (fit[0][0] + fit[1][0]) / 2, (fit[0][1] + fit[1][1]) / 2
    answers = {}
    for zoom in opening_zooms(fit):
        half_lon = min(LARGEST_MAP[0] / 2 * 360 / (256 * 2 ** zoom), MAX_LON_SPAN / 2)
        half_lat = min(half_lon * math.cos(math.radians(lat)), MAX_LAT_SPAN / 2)
        bbox = BBox(max(-90.0, lat - half_lat), max(-180.0, lon - half_lon), min(90.0, lat + half_lat),
                    min(180.0, lon + half_lon))
        answers[str(zoom)] = section_answer(markers, bbox, zoom, limit)
    return answers


def marker_response(filters: ListFilters, internal: bool) -> Any:
    """Clusters and markers of one map section: bbox=south,west,north,east, zoom, optional max (shapes)."""
    limit = int(current_app.config["MAP_MAX_MARKERS"])
    try:
        bbox = parse_bbox(request.args.get("bbox", ""))
        zoom = parse_zoom(request.args.get("zoom", ""))
    except BBoxError as exc:
        return {"error": {"status": 400, "message": str(exc)}}, 400
    wanted = request.args.get("max", "")
    if wanted:
        limit = min(limit, int(wanted)) if wanted.isdigit() and int(wanted) > 0 else limit
    near, _label, error = resolve_near(str_arg("nahe", 100))
    if error:
        return {"error": {"status": 400, "message": error}}, 400
    radius = radius_arg() if near else None
    markers = marker_set(filters, internal, near, radius)
    etag = hashlib.sha1(repr((markers.version, internal, sorted(request.args.items(multi=True)), limit))
                        .encode()).hexdigest()[:24]
    cache_control = "private, no-cache" if internal else "public, max-age=0, must-revalidate"
    if etag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{etag}"', "Cache-Control": cache_control})
    response = current_app.json.response(section_answer(markers, bbox, zoom, limit))
    response.headers["ETag"] = f'"{etag}"'
    response.headers["Cache-Control"] = cache_control
    return response


def public_filters() -> ListFilters:
    """The public map's and the embed's filters: region (Kreis or Gemeinde) and category."""
    filters = region_filter(str_arg("region", 120))
    filters.category = str_arg("kategorie", 120)
    return filters


def unknown_filter() -> str | None:
    """A plain German message when the public map's category or region does not exist (else None)."""
    session = get_session()
    category, region = str_arg("kategorie", 120), str_arg("region", 120)
    if category and session.scalar(select(TaxonomyTerm.id).where(
            TaxonomyTerm.slug == category, TaxonomyTerm.internal_only.is_(False))) is None:
        return _("Den Bereich „%(value)s“ gibt es nicht. Die Karte zeigt deshalb nichts.", value=category)
    if region and session.scalar(select(Region.id).where(Region.slug == region)) is None:
        return _("Den Ort oder Kreis „%(value)s“ gibt es nicht. Die Karte zeigt deshalb nichts.", value=region)
    return None


VIEWS = ("karte", "liste")


def view_arg() -> str:
    """The public map page's view: the map (with the list below) or the list alone; anything else is a 400."""
    view = request.args.get("ansicht", "karte")
    if view not in VIEWS:
        raise ParamError(_("„ansicht“ muss „karte“ oder „liste“ sein."))
    return view


def staff_filters() -> ListFilters:
    """The staff map's filters (as the staff list)."""
    return ListFilters(text=str_arg("q"), category=str_arg("kategorie", 120), gemeinde=str_arg("gemeinde", 120),
                       jobcenter=str_arg("jobcenter", 120))


def data_args() -> dict[str, str]:
    """The page's filter arguments for its data URL (paging and view are the page's own)."""
    return {k: v for k, v in request.args.items() if k not in ("seite", "ansicht")}


@bp.route("/karte")
def public_map() -> Any:
    """The public map for participants: plain-language categories, "in meiner Nähe", and the same results as a list."""
    category = str_arg("kategorie", 120)
    view = view_arg()
    unknown = unknown_filter()
    if unknown:
        raise ParamError(unknown)
    context = map_page_data(public_filters(), internal=False, detail_endpoint="public.service",
                            data_url=url_for("maps.public_data", **data_args()), first=view == "karte")
    context |= page_of(context["items"])
    args = {k: v for k, v in request.args.items() if k not in ("ansicht", "seite")}
    links = {"embed_url": url_for("maps.embed", kategorie=category or None, _external=True),
             "list_url": url_for("maps.public_map", **args, ansicht="liste"),
             "map_url": url_for("maps.public_map", **args, ansicht="karte")}
    term = get_session().scalar(select(TaxonomyTerm).where(TaxonomyTerm.slug == category)) if category else None
    legend_label = term.public_label(current_lang()) if term else _("Alles")
    return render_template("map/public.html", category=category, view=view, legend_label=legend_label, **links,
                           **context), \
        400 if context["near_error"] else 200


@bp.route("/karte/daten")
def public_data() -> Any:
    """Clusters and markers of a section of the public map (and of the embed)."""
    unknown = unknown_filter()
    if unknown:
        return {"error": {"status": 400, "message": unknown}}, 400
    return marker_response(public_filters(), internal=False)


@bp.route("/karte/embed")
def embed() -> Any:
    """A bare map for partners' websites (iframe), with category and region preset."""
    g.allow_framing = True
    unknown = unknown_filter()
    if unknown:  # said inside the frame, instead of silently showing every offer
        return render_template("map/embed_unknown.html", message=unknown), 400
    context = map_page_data(public_filters(), internal=False, detail_endpoint="public.service",
                            data_url=url_for("maps.public_data", **data_args()), first=True)
    return render_template("map/embed.html", **context, **page_of(context["items"]))


@bp.route("/intern/karte")
@role_required()
def staff_map() -> Any:
    """Staff map of all offers, internal ones included, with the staff list's filters."""
    filters = staff_filters()
    context = map_page_data(filters, internal=True, detail_endpoint="staff.service",
                            data_url=url_for("maps.staff_data", **data_args()))
    session = get_session()
    return render_template("map/staff.html", filters=filters, categories=top_categories(session, internal=True),
                           gemeinden=public_gemeinden(session), **context, **page_of(context["items"]))


@bp.route("/intern/karte/daten")
@role_required()
def staff_data() -> Any:
    """Clusters and markers of a section of the staff map."""
    return marker_response(staff_filters(), internal=True)


def offer_map(view: dict[str, Any]) -> dict[str, Any] | None:
    """Map parts and data for one offer's locations (coordinates as the presenter reduced them)."""
    points = [{"lat": sal["location"]["latitude"], "lon": sal["location"]["longitude"],
               "label": " – ".join(p for p in (sal["location"]["name"], sal["location"]["address_line"]) if p),
               "protected": sal["location"]["address_protected"] and "exact_latitude" not in sal["location"]}
              for sal in view["service_at_locations"]
              if sal["location"]["latitude"] is not None and sal["location"]["location_type"] == "physical"]
    if not points:
        return None
    top = view["taxonomy_terms"][0] if view["taxonomy_terms"] else None
    slug = (top["parent_id"] or top["code"]) if top else ""
    parts = maps.map_with_layers(current_app.config, [("offerLocations", "atlas-offer-locations")],
                                 center=(points[0]["lat"], points[0]["lon"]), zoom=13)
    return {"map": parts, "data": {"points": points, "color": maps.CATEGORY_COLORS.get(slug, maps.FALLBACK_COLOR)},
            "place_labels": [] if current_app.config.get("MAP_TILE_URL") else nearby_place_labels(get_session(), points)}


# Seconds a process reuses the Gemeinden's names and centres: reference data, as the offer views' names (VIEW_TTL).
CENTRES_TTL = 60.0


def gemeinde_centres(session: Any) -> tuple[tuple[float, float, str], ...]:
    """Every Gemeinde's centre and name by name, read at most once a minute per process (one query less a page)."""
    read_at, rows = current_app.extensions.get("atlas.maps.centres", (float("-inf"), ()))
    if time.monotonic() - read_at > CENTRES_TTL:
        rows = tuple(map(tuple, session.execute(
            select(Region.latitude, Region.longitude, Region.name)
            .where(Region.kind == "gemeinde", Region.latitude.is_not(None)).order_by(Region.name, Region.id))))
        current_app.extensions["atlas.maps.centres"] = (time.monotonic(), rows)
    return rows


def nearby_place_labels(session: Any, points: list[dict[str, Any]], margin: float = 0.15) -> list[list[Any]]:
    """Names of the Gemeinden around an offer's sites: without map tiles, two dots on grey say nothing."""
    lats, lons = [p["lat"] for p in points], [p["lon"] for p in points]
    lon_margin = margin / max(math.cos(math.radians(sum(lats) / len(lats))), 0.2)
    south, north = min(lats) - margin, max(lats) + margin
    west, east = min(lons) - lon_margin, max(lons) + lon_margin
    return [[lat, lon, name] for lat, lon, name in gemeinde_centres(session)
            if south <= lat <= north and west <= lon <= east]


def coverage_context() -> dict[str, Any]:
    """Rows for the atlas's Gemeinden: the chosen category (top-level or sub-category) first, then every area."""
    session = get_session()
    gap_km = float(current_app.config["COVERAGE_GAP_KM"])
    tops = top_categories(session, internal=True)
    chosen = coverage.selectable(tops, str_arg("kategorie", 120)) or (tops[0] if tops else None)
    columns = tops if chosen is None or chosen in tops else [chosen, *tops]
    rows = coverage.coverage_rows(session, columns, gap_km)
    return {"tops": tops, "columns": columns, "chosen": chosen, "rows": rows, "gap_km": gap_km, "lang": current_lang()}


@bp.route("/verwaltung/abdeckung")
@role_required("coordinator")
def coverage_page() -> Any:
    """Coverage for coordinators: offers per Gemeinde and category, nearest distance, gaps highlighted."""
    context = coverage_context()
    chosen = context["chosen"]
    cells = []
    for row in context["rows"]:
        cell = row.cells.get(chosen.slug) if chosen else None
        if cell is None:
            continue
        cells.append({"lat": row.region.latitude, "lon": row.region.longitude, "name": row.region.name,
                      "count": cell.count, "gap": cell.gap,
                      "count_label": _("%(n)s aktive Angebote vor Ort", n=format_number(cell.count)),
                      "nearest_label": (_("nächstes Angebot: %(km)s km", km=km(cell.nearest))
                                        if cell.nearest is not None else
                                        "" if cell.count else _("kein Angebot in dieser Kategorie"))})
    parts = maps.map_with_layers(current_app.config, [("coverage", "atlas-coverage")])
    zero_results = "search.zero_results" in current_app.view_functions
    return render_template("map/coverage.html", **context, selected=chosen.slug if chosen else "", map=parts,
                           data={"cells": cells, "fit": coverage.region_bounds(context["rows"])},
                           zero_results=zero_results, gaps=sum(1 for c in cells if c["gap"]), km=km, number=format_number,
                           place_labels=[])


@bp.route("/verwaltung/abdeckung.csv")
@role_required("coordinator")
def coverage_csv() -> Any:
    """The coverage table as CSV for German spreadsheets (semicolons, decimal commas, UTF-8 with BOM)."""
    context = coverage_context()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for line in coverage.csv_rows(context["rows"], context["columns"], context["lang"],
                                  lambda v: babel_decimal(v, format="0.0", locale="de")):
        writer.writerow([safe_cell(value) for value in line])
    name = f"abdeckung-{context['chosen'].slug if context['chosen'] else 'alle'}.csv"
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


SEARCH_MAP_LIMIT = 5000


def fact_lines(session: Any, ids: list[int], verdicts: dict[int, int]) -> dict[str, str]:
    """Per offer the line a Lots*in decides by: intake and waiting time with their dates, the last check, the verdict."""
    rows = session.execute(select(Service.id, Service.intake_status, Service.intake_status_confirmed_at,
                                  Service.waiting_time, Service.waiting_time_confirmed_at, Service.assured_date)
                           .where(Service.id.in_(ids)))
    lines = {}
    for sid, intake, intake_at, waiting, waiting_at, assured in rows:
        parts = []
        if intake and intake != "unbekannt":
            parts.append(_("Aufnahme:") + " " + vocab.label(vocab.INTAKE_STATUS, intake, current_lang())
                         + (" · " + _("Stand %(d)s", d=datum(intake_at)) if intake_at else ""))
        if waiting:
            parts.append(_("Wartezeit:") + " " + waiting + (" · " + _("Stand %(d)s", d=datum(waiting_at)) if waiting_at else ""))
        checked = _("geprüft %(ago)s (%(d)s)", ago=ago(assured), d=datum(assured)) if assured else _("noch nie geprüft")
        verdict = verdicts.get(sid, freshness.CURRENT)
        parts.append(("⚠ " if verdict >= freshness.OVERDUE else "") + checked
                     + (" – " + freshness.label(verdict) if verdict else ""))
        lines[str(sid)] = " | ".join(parts)
    return lines


def search_map(params: Any) -> dict[str, Any]:
    """Map context for the staff search: every hit (up to SEARCH_MAP_LIMIT) as a marker, distances from its origin."""
    from dataclasses import replace

    from ..search.service import rank

    session = get_session()
    ranked = rank(session, replace(params, page=1, per_page=SEARCH_MAP_LIMIT), internal=True)
    ids = ranked.sids if ranked is not None else []
    origin = (params.origin.latitude, params.origin.longitude) if params.origin else None
    lang = current_lang()
    tops = plain_areas(session, internal=True)
    categories = {t.slug: t.label(lang) for t in tops}
    items = maps.markers(session, select(Service.id).where(Service.id.in_(ids)), True, origin, params.radius_km)
    data = maps.marker_data(items, url_for("staff.service", service_id=0).removesuffix("0") + "{id}", categories,
                            origin, params.radius_km) | {"labels": labels()}
    verdicts = dict(zip(ranked.sids, ranked.freshness)) if ranked is not None else {}
    data["facts"] = fact_lines(session, ids, verdicts)
    data["fit"] = maps.fit_bounds(data["points"], origin or current_app.config["MAP_CENTER"])
    return {"map": maps.map_with_layers(current_app.config, [("markers", "atlas-markers")]),
            "data": maps.script_json(data), "count": len(items), "legend": maps.category_legend(tops, lang),
            "place_labels": maps.place_labels(public_gemeinden(session)),
            "truncated": ranked is not None and ranked.total > SEARCH_MAP_LIMIT}
