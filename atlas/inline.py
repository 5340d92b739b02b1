"""Static CSS and scripts written into the page itself, allowed by the Content-Security-Policy through their hashes.

On a slow mobile network every request costs a full round trip (2 s in DevTools' Slow 3G): a page that needs a
second request for its stylesheet cannot paint before then. Public pages therefore carry their CSS (and the maps
their scripts) inline; each element's SHA-256 goes into the CSP header, so the policy stays free of
'unsafe-inline'.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from flask import Flask, current_app, g, url_for
from markupsafe import Markup

# A relative url(...) in a vendored stylesheet (Leaflet's images) must still point at the static folder.
_RELATIVE_URL = re.compile(r"url\((?![\"']?(?:[a-z]+:|/|#))([\"']?)([^)\"']+)\1\)")
_cache: dict[tuple[str, str], tuple[int, int, str, str]] = {}


def _absolute_urls(text: str, filename: str) -> str:
    """Rewrite relative url(...) references as absolute static URLs of the file's folder."""
    folder = filename.rsplit("/", 1)[0] + "/" if "/" in filename else ""
    return _RELATIVE_URL.sub(lambda m: f"url({url_for('static', filename=folder + m.group(2))})", text)


def asset(filename: str, kind: str) -> tuple[str, str]:
    """A static file's text as it goes into the page and its CSP source ('sha256-…'), cached by size and mtime."""
    path = Path(current_app.static_folder or "", filename)
    stat = path.stat()
    cached = _cache.get((str(path), kind))
    if cached and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2], cached[3]
    text = path.read_text(encoding="utf-8")
    if kind == "style":
        text = _absolute_urls(text, filename)
    if re.search(rf"</{kind}", text, re.IGNORECASE):
        raise ValueError(f"{filename} contains </{kind} and cannot be written inline")
    source = "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
    _cache[(str(path), kind)] = (stat.st_mtime_ns, stat.st_size, text, source)
    return text, source


def _element(kind: str, filenames: tuple[str, ...]) -> Markup:
    """One <style> or <script> element per file, each hash noted for this response's CSP."""
    hashes = g.setdefault(f"csp_{kind}_hashes", [])
    parts = []
    for filename in filenames:
        text, source = asset(filename, kind)
        if source not in hashes:
            hashes.append(source)
        parts.append(f"<{kind}>{text}</{kind}>")
    return Markup("\n".join(parts))


def inline_styles(*filenames: str) -> Markup:
    """<style> elements with the given static stylesheets."""
    return _element("style", filenames)


def inline_scripts(*filenames: str) -> Markup:
    """<script> elements with the given static scripts."""
    return _element("script", filenames)


def csp_hashes(kind: str) -> list[str]:
    """The hash sources of this response's inline elements of one kind ('style' or 'script')."""
    return list(g.get(f"csp_{kind}_hashes", []))


def init_app(app: Flask) -> None:
    """Offer inline_styles and inline_scripts to templates."""
    app.jinja_env.globals.update(inline_styles=inline_styles, inline_scripts=inline_scripts)
