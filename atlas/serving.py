"""How responses leave the app: JSON, proxy headers, compression, secure cookies, HSTS, cacheable static files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
from flask import Flask, Response, current_app, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from flask_compress import Compress
from werkzeug.middleware.proxy_fix import ProxyFix

from .db import ConfigError

IMMUTABLE = "public, max-age=31536000, immutable"
_hashes: dict[str, tuple[int, int, str]] = {}
# Dates and dataclasses go through Flask's own `default`, keys stay sorted: responses read exactly as Flask wrote them.
# numpy floats (map and search figures) are float subclasses, which the standard library writes and orjson only
# with OPT_SERIALIZE_NUMPY.
ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
                  | orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE)


class JSONProvider(DefaultJSONProvider):
    """JSON responses written by orjson: a search page of 20 offers (about 200 kB) in 0.1 ms instead of 1.2 ms.

    Only responses: `dumps` (the `tojson` filter in templates) stays the standard library's, escaping included.
    """

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)  # indented, for people reading it
        try:
            body = orjson.dumps(self._prepare_response_obj(args, kwargs), default=self.default, option=ORJSON_OPTIONS)
        except TypeError:  # a type orjson writes differently or not at all (a float subclass): as Flask would
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)


def is_https(app: Flask) -> bool:
    """True when the atlas is published under an https:// PUBLIC_BASE_URL."""
    return str(app.config.get("PUBLIC_BASE_URL") or "").lower().startswith("https://")


def install_proxy_fix(app: Flask) -> None:
    """Trust X-Forwarded-For/-Proto/-Host/-Port/-Prefix from exactly PROXY_FIX proxies in front of the app."""
    hops = app.config["PROXY_FIX"]
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
        raise ConfigError(f"PROXY_FIX must be the number of trusted reverse proxies (0 or more), not {hops!r}.")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)


def secure_cookies(app: Flask) -> None:
    """Mark session and remember-me cookies Secure when unset and the public address is https."""
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config.get(key) is None:
            app.config[key] = is_https(app)


def add_hsts(response: Response) -> Response:
    """Tell browsers to use https only, when the atlas is published under https."""
    max_age = current_app.config["HSTS_MAX_AGE"]
    if max_age and is_https(current_app):
        response.headers.setdefault("Strict-Transport-Security", f"max-age={int(max_age)}")
    return response


def static_hash(folder: str, filename: str) -> str | None:
    """The first 12 hex digits of the file's SHA-256, cached until its size or modification time changes."""
    path = Path(folder, filename)
    try:
        stat = path.stat()
    except OSError:
        return None
    cached = _hashes.get(str(path))
    if cached and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    _hashes[str(path)] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


def add_static_version(endpoint: str, values: dict[str, Any]) -> None:
    """Give every url_for('static', filename=…) a `v=<content hash>` so the URL changes with the file."""
    if endpoint == "static" and "filename" in values and "v" not in values and current_app.static_folder:
        digest = static_hash(current_app.static_folder, values["filename"])
        if digest:
            values["v"] = digest


def send_static(filename: str) -> Response:
    """Serve a static file; a URL carrying the file's current hash may be cached for a year."""
    folder = current_app.static_folder
    response = send_from_directory(folder, filename)
    if request.args.get("v") and request.args["v"] == static_hash(folder, filename):
        response.cache_control.no_cache = None
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def favicon() -> Response:
    """/favicon.ico, which browsers and feed readers ask for without a link: the site icon (a day in caches)."""
    return send_from_directory(current_app.static_folder, "icon.svg", mimetype="image/svg+xml", max_age=86400)


def init_app(app: Flask) -> None:
    """Install the JSON writer, proxy support, compression, cookie security, HSTS and the hashed static route."""
    app.json = JSONProvider(app)
    install_proxy_fix(app)
    secure_cookies(app)
    Compress(app)
    app.after_request(add_hsts)
    app.url_defaults(add_static_version)
    app.view_functions["static"] = send_static
    app.add_url_rule("/favicon.ico", "favicon", favicon)
