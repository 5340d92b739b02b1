"""Security headers on every response: a strict Content-Security-Policy; only the embeddable map may be framed."""

from __future__ import annotations

from urllib.parse import urlsplit

from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import DataError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest

from .errors import handle_http
from .inline import csp_hashes

# style-src 'self' plus the hashes of the page's own inline elements (atlas/inline.py): no style attributes and no
# other <style> or <script> elements; scripts set styles through the CSSOM, which CSP allows.
POLICY = ("default-src 'self'; script-src 'self'{scripts}; style-src 'self'{styles}; img-src 'self' data:{tiles}; font-src 'self'; "
          "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {frame}")


def content_security_policy(framing_allowed: bool) -> str:
    """The policy for one response; the configured tile server is the only other origin images may come from."""
    tiles = current_app.config.get("MAP_TILE_URL")
    origin = ""
    if tiles:
        parts = urlsplit(tiles.replace("{s}", "a"))
        host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tiles else parts.netloc
        origin = f" {parts.scheme}://{host}"
    return POLICY.format(tiles=origin, frame="*" if framing_allowed else "'self'",
                         scripts="".join(" " + h for h in csp_hashes("script")),
                         styles="".join(" " + h for h in csp_hashes("style")))


def add_headers(response: Response) -> Response:
    """CSP, no framing (except the embed), no MIME sniffing or cross-site referrers, no caching of staff pages."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    framing = bool(g.get("allow_framing"))
    response.headers["Content-Security-Policy"] = content_security_policy(framing)
    if not framing:
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if _personal(response) and "no-store" not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _personal(response: Response) -> bool:
    """True for answers that may hold internal data or a form token: never stored by browsers or proxies."""
    if request.path.startswith(("/intern", "/verwaltung", "/login", "/konto", "/suche")):
        return True
    return bool(getattr(current_user, "is_authenticated", False)) and response.mimetype in (
        "text/html", "application/json", "text/csv", "application/pdf")


def drop_nul() -> None:
    """NUL in a query parameter is dropped, as forms do (PostgreSQL cannot even compare a string holding it)."""
    if "%00" in request.query_string.decode("latin-1"):
        request.args = ImmutableMultiDict([(k.replace("\x00", ""), v.replace("\x00", ""))
                                           for k, v in request.args.items(multi=True)])


def data_error(exc: DataError) -> Any:
    """A value the database refuses (too long, out of range, NUL) is bad input, not a server fault."""
    from .db import get_session
    get_session().rollback()
    return handle_http(BadRequest(_("Die Eingabe enthält einen Wert, der nicht gespeichert werden kann "
                                    "(zu lang, zu groß oder mit Steuerzeichen).")))


def init_app(app: Flask) -> None:
    """Register the header hook, the NUL filter and the database-refusal handler."""
    app.after_request(add_headers)
    app.before_request(drop_nul)
    app.register_error_handler(DataError, data_error)
