"""Serving: JSON responses, forwarded addresses, secure cookies, HSTS, compression, content-hashed static URLs."""

import dataclasses
import datetime
import decimal
import gzip
import hashlib
import json
import re
import uuid
from pathlib import Path

import numpy as np
import pytest
from flask import request
from flask.json.provider import DefaultJSONProvider

from atlas.db import ConfigError

STATIC = Path(__file__).resolve().parent.parent / "static"


def whoami_app(make_app, **config):
    app = make_app(**config)
    app.add_url_rule("/_whoami", "whoami", lambda: f"{request.remote_addr} {request.scheme} {request.host}")
    return app


def test_proxy_fix_trusts_exactly_the_configured_hops(make_app):
    headers = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7", "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "atlas.jobcenter.example"}
    direct = whoami_app(make_app).test_client().get("/_whoami", headers=headers).get_data(as_text=True)
    assert direct == "127.0.0.1 http localhost"
    one = whoami_app(make_app, PROXY_FIX=1).test_client().get("/_whoami", headers=headers).get_data(as_text=True)
    assert one == "198.51.100.7 https atlas.jobcenter.example"
    two = whoami_app(make_app, PROXY_FIX=2).test_client().get("/_whoami", headers=headers).get_data(as_text=True)
    assert two.startswith("203.0.113.9 ")


@pytest.mark.parametrize("bad", [-1, "1", True, 1.5])
def test_proxy_fix_must_be_a_count(make_app, bad):
    with pytest.raises(ConfigError, match="PROXY_FIX"):
        make_app(PROXY_FIX=bad)


def test_https_base_url_makes_cookies_secure_and_sends_hsts(make_app):
    plain = make_app()
    assert plain.config["SESSION_COOKIE_SECURE"] is False
    assert "Strict-Transport-Security" not in plain.test_client().get("/healthz").headers
    app = make_app(PUBLIC_BASE_URL="https://atlas.jobcenter.example")
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    response = app.test_client().get("/login", base_url="https://atlas.jobcenter.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    session_cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "; Secure" in session_cookie
    assert make_app(PUBLIC_BASE_URL="https://a.example", SESSION_COOKIE_SECURE=False).config["SESSION_COOKIE_SECURE"] is False


def test_pages_json_css_and_js_are_compressed(client):
    for path in ("/", "/api/v1/services", "/static/css/atlas.css", "/static/vendor/leaflet/leaflet.js"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, path
        assert response.headers["Content-Encoding"] == "gzip", path
        assert "Accept-Encoding" in response.headers["Vary"]
        assert gzip.decompress(response.get_data())
    assert "Content-Encoding" not in client.get("/", headers={"Accept-Encoding": "identity"}).headers


def test_static_urls_carry_the_content_hash_and_are_immutable(client):
    html = client.get("/angebote").get_data(as_text=True)  # public maps carry theirs inline (atlas/inline.py)
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert urls and all("?v=" in u for u in urls), urls
    for url in urls:
        path, digest = url.split("?v=")
        expected = hashlib.sha256((STATIC / path.removeprefix("/static/")).read_bytes()).hexdigest()[:12]
        assert digest == expected
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = client.get(urls[0].split("?")[0])
    assert plain.status_code == 200 and "immutable" not in plain.headers.get("Cache-Control", "")
    stale = client.get(urls[0].split("?")[0] + "?v=000000000000")
    assert stale.status_code == 200 and "immutable" not in stale.headers.get("Cache-Control", "")
    assert client.get("/static/../atlas/config.py").status_code == 404


def test_changed_static_file_gets_a_new_url(make_app, tmp_path):
    app = make_app()
    app.static_folder = str(tmp_path)
    (tmp_path / "a.css").write_text("body{color:red}")
    with app.test_request_context():
        from flask import url_for
        first = url_for("static", filename="a.css")
        (tmp_path / "a.css").write_text("body{color:blue;}")
        second = url_for("static", filename="a.css")
        assert url_for("static", filename="missing.css") == "/static/missing.css"
    assert first != second and first.startswith("/static/a.css?v=")


def test_the_site_icon_is_linked_and_served_at_favicon_ico(client):
    """Every page links the icon (hashed, cached for a year); /favicon.ico answers instead of a 404 in the logs."""
    html = client.get("/").get_data(as_text=True)
    link = re.search(r'<link rel="icon" href="(/static/icon\.svg\?v=[0-9a-f]{12})" type="image/svg\+xml">', html)
    assert link
    assert client.get(link.group(1)).headers["Cache-Control"] == "public, max-age=31536000, immutable"
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.data == (STATIC / "icon.svg").read_bytes() and "max-age=86400" in icon.headers["Cache-Control"]


class Share(float):
    """A float subclass orjson does not write: the response falls back to the standard encoder."""


@dataclasses.dataclass
class Point:
    lat: float
    lon: float


def test_json_responses_say_what_flasks_own_encoder_says(make_app):
    app = make_app()
    payload = {"name": "Lüdenscheid", "b": [1, 2.5, None, True, (3, 4)], "a": {"z": 1, "y": -0.0},
               "day": datetime.date(2026, 12, 6), "at": datetime.datetime(2026, 12, 6, 1, 2, 3),
               "id": uuid.UUID(int=7), "fee": decimal.Decimal("2.50"), "km": np.float64(3.25), "point": Point(51.2, 7.6)}
    with app.test_request_context():
        ours = app.json.response(payload)
        flasks = DefaultJSONProvider.response(app.json, payload)
    assert ours.mimetype == "application/json" and ours.get_data().endswith(b"\n")
    assert json.loads(ours.get_data()) == json.loads(flasks.get_data())
    assert list(json.loads(ours.get_data())) == sorted(payload)  # keys sorted, as Flask sorts them
    assert json.loads(ours.get_data())["day"] == "Sun, 06 Dec 2026 00:00:00 GMT"
    with app.test_request_context():
        odd = app.json.response({"share": Share(0.5)})
    assert json.loads(odd.get_data()) == {"share": 0.5}
    app.json.compact = False
    with app.test_request_context():
        assert b'\n  "share"' in app.json.response({"share": 0.5}).get_data()  # indented for people reading it


def test_api_pages_are_written_by_orjson(app, monkeypatch):
    import orjson

    calls = []
    real = orjson.dumps
    monkeypatch.setattr(orjson, "dumps", lambda *a, **k: calls.append(1) or real(*a, **k))
    body = app.test_client().get("/api/v1/services", query_string={"q": "Schulden"})
    assert body.status_code == 200 and body.get_json()["contents"] and calls
