"""Public pages paint from their HTML alone: CSS (and the maps' scripts) inline, allowed by CSP hashes."""

import base64
import hashlib
import re
from pathlib import Path

import pytest
from flask import Flask

from atlas.inline import asset

PUBLIC = ("/", "/?leicht=1", "/angebote?q=Beratung", "/karte", "/karte/embed", "/gibt-es-nicht", "/en/")


def sources(policy: str, directive: str) -> set[str]:
    """The sources of one CSP directive."""
    match = re.search(rf"(?:^|; ){directive} ([^;]+)", policy)
    assert match, directive
    return set(match.group(1).split())


def digest(text: str) -> str:
    """A CSP hash source of an inline element's text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def asset_text(filename: str) -> str:
    """A static file's text."""
    return (Path(__file__).resolve().parent.parent / "static" / filename).read_text(encoding="utf-8")


def offer_url(client) -> str:
    """The first offer listed on the public map page (one with a place, so its page has a small map)."""
    html = client.get("/karte").get_data(as_text=True)
    return re.search(r'href="(/angebote/\d+)"', html).group(1)


@pytest.mark.parametrize("path", PUBLIC)
def test_public_pages_have_no_render_blocking_stylesheet(client, path):
    html = client.get(path).get_data(as_text=True)
    assert '<link rel="stylesheet"' not in html
    assert re.search(r"<style>[^<]*\.site-header", html) or path == "/karte/embed"  # atlas.css is in the page
    assert "<style>" in html


@pytest.mark.parametrize("path", [*PUBLIC, "offer", "/login"])
def test_every_inline_element_is_allowed_by_its_hash_and_nothing_else(client, path):
    path = offer_url(client) if path == "offer" else path
    response = client.get(path)
    html, policy = response.get_data(as_text=True), response.headers["Content-Security-Policy"]
    styles = [digest(t) for t in re.findall(r"<style>(.*?)</style>", html, re.S)]
    scripts = [digest(t) for t in re.findall(r"<script>(.*?)</script>", html, re.S)]
    assert styles, path
    assert sources(policy, "style-src") == {"'self'", *styles}
    assert sources(policy, "script-src") == {"'self'", *scripts}
    assert "unsafe-inline" not in policy


def test_public_map_and_embed_load_no_script_or_stylesheet_file(client):
    for path in ("/karte", "/karte/embed"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script[^>]*\bsrc=|<link[^>]*stylesheet", html), path
        assert asset_text("vendor/leaflet/leaflet.js") in html and asset_text("js/atlas-map.js") in html



def test_inline_css_points_relative_images_at_the_static_folder(app: Flask):
    with app.test_request_context():
        text, source = asset("vendor/leaflet/leaflet.css", "style")
    assert "url(images/" not in text and re.search(r"url\(/static/vendor/leaflet/images/layers\.png\?v=\w+\)", text)
    assert source == digest(text)


def test_inline_asset_is_computed_once_per_file_content(app: Flask, tmp_path, monkeypatch):
    app.static_folder = str(tmp_path)
    (tmp_path / "a.css").write_text("body{color:red}")
    reads = []
    original = type(tmp_path).read_text
    monkeypatch.setattr(type(tmp_path), "read_text", lambda self, *a, **k: reads.append(self) or original(self, *a, **k))
    with app.test_request_context():
        first = asset("a.css", "style")
        assert asset("a.css", "style") == first and len(reads) == 1
        (tmp_path / "a.css").write_text("body{color:blue;}")
        second = asset("a.css", "style")
    assert second[0] == "body{color:blue;}" and second[1] == digest("body{color:blue;}") and len(reads) == 2


def test_a_file_that_would_end_its_element_is_refused(app: Flask, tmp_path):
    app.static_folder = str(tmp_path)
    (tmp_path / "x.js").write_text("var s = '</script><script>alert(1)';")
    with app.test_request_context(), pytest.raises(ValueError):
        asset("x.js", "script")
