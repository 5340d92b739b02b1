"""Findings 2, 4 and 11 (location texts): one function decides what the public learns about a protected site."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
import sqlalchemy as sa

from atlas.db import get_session
from atlas.maps import distance_km
from atlas.models import Location
from atlas.privacy import generalise, public_position

from conftest import service_id

EXACT = (51.4512, 7.3011)  # the shelter's stored position in the sentinel data


def map_points(client, url: str) -> list[tuple[float, float, str]]:
    """(lat, lon, offer name) of every pin a map page's data URL sends for the whole country at street zoom."""
    html = client.get(url).get_data(as_text=True)
    config = json.loads(re.search(r'<script type="application/json" id="atlas-markers">(.*?)</script>', html,
                                  re.S).group(1))
    joiner = "&" if "?" in config["data"] else "?"
    data = client.get(config["data"] + joiner + "bbox=45,0,60,20&zoom=16").get_json()
    return [(p[0], p[1], data["items"][p[3]][1]) for p in data["points"]]


def set_shelter(app, **values) -> None:
    with app.app_context():
        session = get_session()
        loc = session.scalar(sa.select(Location).where(Location.name == "Schutzwohnung"))
        for key, value in values.items():
            setattr(loc, key, value)
        session.commit()


def public_positions(app, client, tmp) -> dict[str, list]:
    """Every public place the shelter's position could surface, keyed by consumer."""
    sid = service_id(app, "Frauenschutz Lichtblick")
    found: dict[str, list] = {}
    for url in ("/karte", "/karte/embed"):
        found[url] = [(lat, lon) for lat, lon, name in map_points(client, url)
                      if name == "Frauenschutz Lichtblick"]
    loc = client.get(f"/api/v1/services/{sid}").get_json()["service_at_locations"][0]["location"]
    found["api"] = [(loc["latitude"], loc["longitude"])] if loc.get("latitude") is not None else []
    page = client.get(f"/angebote/{sid}").get_data(as_text=True)
    found["page"] = [tuple(map(float, m)) for m in re.findall(r'"lat":\s*([\d.]+),\s*"lon":\s*([\d.]+)', page)]
    geo = json.loads(public_export(app, tmp, "a.geojson"))
    found["geojson"] = [tuple(reversed(f["geometry"]["coordinates"])) for f in geo["features"]
                        if f["properties"].get("name") == "Frauenschutz Lichtblick"]
    hsds = [row for row in public_export(app, tmp, "a.json") and json.loads((tmp / "a.json").read_text())
            if row["name"] == "Frauenschutz Lichtblick"]
    found["hsds"] = [(s["location"]["latitude"], s["location"]["longitude"]) for row in hsds
                     for s in row["service_at_locations"] if s["location"].get("latitude") is not None]
    hits = client.get("/api/v1/services?near=51.4512,7.3011&sort=distance").get_json()
    found["distance"] = [h["atlas"]["search"]["distance_km"] for h in hits["contents"]
                         if h["name"] == "Frauenschutz Lichtblick" and h["atlas"]["search"]["distance_km"] is not None]
    return found


def public_export(app, tmp, name: str) -> str:
    """Run the public `flask export` and return the file's text."""
    result = app.test_cli_runner().invoke(args=["export", str(tmp / name)])
    assert result.exit_code == 0, result.output
    return (tmp / name).read_text(encoding="utf-8")


def test_public_position_matrix():
    assert public_position(51.1, 7.1, "exakt", 51.0, 7.0) == (51.1, 7.1)
    assert public_position(51.1, 7.1, "gemeinde", 51.0, 7.0) == (51.0, 7.0)
    assert public_position(51.1, 7.1, "gemeinde", None, None) is None
    assert public_position(51.1, 7.1, "unbekannt-neu", None, None) is None
    assert public_position(51.1, 7.1, "gemeinde", None, None, internal=True) == (51.1, 7.1)
    street = public_position(51.43713, 7.33521, "strasse", 51.0, 7.0)
    assert street == generalise(51.43713, 7.33521) and distance_km(51.43713, 7.33521, *street) > 0.02
    # every point of a cell maps to the same pin, so the pin does not move with the house
    assert generalise(51.4361, 7.3321) == generalise(51.4399, 7.3379)


def test_protected_site_without_gemeinde_centre_has_no_pin_anywhere(app, client, tmp_path):
    set_shelter(app, gemeinde_id=None)
    found = public_positions(app, client, tmp_path)
    for consumer, points in found.items():
        assert points == [], f"{consumer} publishes a position for a site without Gemeinde centre: {points}"


def test_protected_site_with_centre_shows_only_the_centre(app, client, tmp_path):
    found = public_positions(app, client, tmp_path)
    assert found["/karte"] and found["api"]
    for consumer, points in found.items():
        if consumer == "distance":
            assert all(d > 1.0 for d in points), points  # measured from the centre, not the house
            continue
        for lat, lon in points:
            assert distance_km(lat, lon, *EXACT) > 1.0, (consumer, lat, lon)


def test_street_precision_never_publishes_the_house(app, client, tmp_path):
    set_shelter(app, address_precision="strasse")
    found = public_positions(app, client, tmp_path)
    assert found["/karte"] and found["api"]
    for consumer, points in found.items():
        if consumer == "distance":
            continue
        for lat, lon in points:
            assert (round(lat, 4), round(lon, 4)) != EXACT, consumer
            assert distance_km(lat, lon, *EXACT) > 0.02, (consumer, lat, lon)


@pytest.mark.parametrize("precision", ["strasse", "gemeinde"])
def test_protected_site_hides_texts_that_may_name_the_place(app, client, precision, tmp_path):
    set_shelter(app, address_precision=precision, name="Haus Rosenhof hinter der Kirche",
                description="Im Rosenhof, zweiter Eingang", url="https://rosenhof.example/")
    sid = service_id(app, "Frauenschutz Lichtblick")
    bodies = [client.get(f"/angebote/{sid}").get_data(as_text=True), client.get(f"/api/v1/services/{sid}").get_data(as_text=True),
              client.get("/api/v1/services?per_page=200").get_data(as_text=True)]
    bodies.append(public_export(app, tmp_path, "a.json"))
    app.test_cli_runner().invoke(args=["export", str(tmp_path / "a.zip")])
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        bodies += [z.read(n).decode() for n in z.namelist()]
    for body in bodies:
        assert "Rosenhof" not in body


def test_staff_still_see_the_exact_site(app, staff_client):
    set_shelter(app, gemeinde_id=None)
    points = map_points(staff_client, "/intern/karte")
    assert (EXACT[0], EXACT[1], "Frauenschutz Lichtblick") in points
