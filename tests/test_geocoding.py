"""Offline gazetteer and Nominatim through geopy, against a local fake Nominatim (never the internet)."""

import time

import pytest
import sqlalchemy as sa
from werkzeug import Response

from atlas.db import get_session
from atlas.geocoding import GeocodingError, NominatimClient, geocode_address, gazetteer, offline_lookup
from atlas.models import GeocodeCache, Location


def test_postcode_lookup():
    hit = gazetteer().postcode("58452")
    assert hit.label == "58452 Witten" and hit.precision == "plz" and hit.source == "gazetteer"
    assert abs(hit.latitude - 51.4315) < 0.01 and abs(hit.longitude - 7.334) < 0.01
    assert gazetteer().postcode("99999") is None


@pytest.mark.parametrize("name", ["Lüdenscheid", "Ludenscheid", "Luedenscheid", "LÜDENSCHEID", " lüdenscheid "])
def test_town_spellings(name):
    hit = gazetteer().place(name.strip())
    assert hit.label == "Lüdenscheid" and abs(hit.latitude - 51.22) < 0.05


def test_any_german_postcode_and_municipality():
    for plz, place in (("10115", "Berlin"), ("80331", "München"), ("26506", "Norden"), ("58769", "Nachrodt-Wiblingwerde")):
        assert gazetteer().postcode(plz).label.startswith(f"{plz} ")
        assert gazetteer().place(place) is not None
    assert gazetteer().place("Wetter (Ruhr)").label == "Wetter (Ruhr)"
    assert gazetteer().lookup("58636 Iserlohn").label == "58636 Iserlohn"
    assert gazetteer().lookup("Hagen").latitude == pytest.approx(51.36, abs=0.05)  # the big Hagen, not a village
    assert gazetteer().lookup("Atlantis") is None


def test_offline_lookup_prefers_postcode_then_regions(app):
    with app.app_context():
        session = get_session()
        assert offline_lookup(session, "58452", "Witten").precision == "plz"
        by_region = offline_lookup(session, None, "Sprockhövel")
        assert by_region.precision == "gemeinde" and by_region.label == "Sprockhövel"


def test_seed_geocodes_locations_without_coordinates_offline(app):
    with app.app_context():
        plant = get_session().scalar(sa.select(Location).where(Location.name == "Werk"))
        assert plant.geo_source == "gazetteer" and plant.geo_precision == "plz"
        assert abs(plant.latitude - 51.38) < 0.05


def nominatim_config(httpserver, timeout=2.0):
    return {"NOMINATIM_URL": f"http://{httpserver.host}:{httpserver.port}", "NOMINATIM_USER_AGENT": "atlas-tests",
            "NOMINATIM_TIMEOUT": timeout, "NOMINATIM_MIN_DELAY": 0.0}


def test_nominatim_street_lookup_is_cached(app, httpserver):
    httpserver.expect_ordered_request("/search").respond_with_json(
        [{"lat": "51.43710", "lon": "7.33520", "display_name": "Marktstraße 5, 58452 Witten"}])
    with app.app_context():
        session = get_session()
        config = nominatim_config(httpserver)
        hit = geocode_address(session, config, "Marktstraße 5", "58452", "Witten")
        assert (hit.latitude, hit.longitude, hit.precision, hit.source) == (51.4371, 7.3352, "exakt", "nominatim")
        request, _ = httpserver.log[0]
        assert request.args["street"] == "Marktstraße 5" and request.args["postalcode"] == "58452"
        assert request.args["countrycodes"] == "de" and request.headers["User-Agent"] == "atlas-tests"
        again = geocode_address(session, config, "Marktstraße 5", "58452", "Witten")
        assert again == hit and len(httpserver.log) == 1  # answered from the database cache
        assert session.scalar(sa.select(sa.func.count(GeocodeCache.id))) == 1


def test_nominatim_unknown_street_falls_back_to_gazetteer(app, httpserver):
    httpserver.expect_request("/search").respond_with_json([])
    with app.app_context():
        hit = geocode_address(get_session(), nominatim_config(httpserver), "Nirgendweg 1", "58452", "Witten")
        assert hit.source == "gazetteer" and "kennt diese Straße nicht" in hit.note


def slow(_request):
    time.sleep(1.5)
    return Response("[]", content_type="application/json")


def test_nominatim_timeout_falls_back_and_says_so(app, httpserver):
    httpserver.expect_request("/search").respond_with_handler(slow)
    with app.app_context():
        hit = geocode_address(get_session(), nominatim_config(httpserver, timeout=0.3), "Marktstraße 5", "58452", "Witten")
        assert hit.source == "gazetteer" and hit.precision == "plz"
        assert "antwortet nicht" in hit.note and "Ortsverzeichnis" in hit.note


def test_nominatim_server_error_in_strict_mode_raises(app, httpserver):
    httpserver.expect_request("/search").respond_with_data("kaputt", status=503)
    with app.app_context(), pytest.raises(GeocodingError, match="antwortet nicht"):
        geocode_address(get_session(), nominatim_config(httpserver), "Marktstraße 5", "58452", "Witten", fallback=False)


def test_geocode_cli_strict_timeout_changes_nothing(make_app, app, httpserver):
    httpserver.expect_request("/search").respond_with_handler(slow)
    online = make_app(**nominatim_config(httpserver, timeout=0.3))
    with online.app_context():
        before = [(loc.id, loc.latitude, loc.longitude) for loc in get_session().scalars(sa.select(Location))]
    result = online.test_cli_runner().invoke(args=["geocode", "--all"])
    assert result.exit_code == 1
    assert "antwortet nicht" in result.output and "Nothing was changed" in result.output
    with online.app_context():
        assert [(loc.id, loc.latitude, loc.longitude) for loc in get_session().scalars(sa.select(Location))] == before


def test_geocode_cli_with_fallback(make_app, app, httpserver):
    httpserver.expect_request("/search").respond_with_handler(slow)
    online = make_app(**nominatim_config(httpserver, timeout=0.3))
    result = online.test_cli_runner().invoke(args=["geocode", "--all", "--fallback"])
    assert result.exit_code == 0, result.output
    assert "Geocoded" in result.output and "Ortsverzeichnis" in result.output


def test_rate_limit_spaces_requests(httpserver):
    httpserver.expect_request("/search").respond_with_json([])
    client = NominatimClient(f"http://{httpserver.host}:{httpserver.port}", "atlas-tests", 2.0, 0.3)
    start = time.monotonic()
    for street in ("A-Straße 1", "B-Straße 2", "C-Straße 3"):
        client._ask(street, "58452", "Witten")
    assert time.monotonic() - start >= 0.6
