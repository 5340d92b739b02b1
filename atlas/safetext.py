"""One rule for stored web addresses, a render-time link guard, and text that cannot break a page."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, has_request_context
from flask_babel import gettext
from markupsafe import Markup, escape

# Schemes that may become a link when a stored value is rendered; everything else is shown as text.
LINK_SCHEMES = ("http", "https", "mailto", "tel")
MAX_URL_LENGTH = 2000
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
# C0/C1 controls, and the bidi embeddings/overrides/isolates that can reorder a line (tab and newline are fine).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _(message: str, **values: object) -> str:
    """German message, translated inside a request (importers and the CLI run without one)."""
    return gettext(message, **values) if has_request_context() else message % values if values else message


class UrlError(ValueError):
    """A value is not an acceptable web address; the message (German) says why."""


def normalise_url(value: str) -> str:
    """The one rule every writer uses: an http(s) URL with lower-case scheme and host, else UrlError.

    A bare domain ("www.example.org/x") gets https://; any other scheme (javascript:, data:, file: ...) is refused.
    """
    value = (value or "").strip()
    # Browsers drop tabs and newlines inside URLs ("java\tscript:"), so they must not hide a scheme from us.
    if any(ch.isspace() for ch in value) or _CONTROL.search(value):
        raise UrlError(_("Eine Webadresse enthält keine Leerzeichen oder Steuerzeichen."))
    if len(value) > MAX_URL_LENGTH:
        raise UrlError(_("Die Webadresse ist zu lang (höchstens %(n)s Zeichen).", n=MAX_URL_LENGTH))
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value):
        if _SCHEME.match(value) and not re.match(r"^[^:/]+:\d", value):
            raise UrlError(_("Nur Adressen mit http:// oder https:// sind erlaubt."))
        value = "https://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise UrlError(_("Das ist keine gültige Webadresse.")) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise UrlError(_("Nur Adressen mit http:// oder https:// sind erlaubt."))
    host = (parts.hostname or "").lower()
    if not host or ("." not in host and host != "localhost") or host.startswith(".") or ".." in host:
        raise UrlError(_("Das ist keine gültige Webadresse."))
    if parts.username or parts.password:
        raise UrlError(_("Die Webadresse darf keine Zugangsdaten enthalten."))
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, parts.fragment))


def clean_url(value: str | None) -> str | None:
    """The rule for readers that warn and drop instead of refusing: None for anything normalise_url refuses.

    An accepted value keeps its spelling (only a bare domain gains https://), so re-imports compare equal.
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        normalise_url(text)
    except UrlError:
        return None
    return text if "://" in text else "https://" + text


def stored_url(key: str, value: str | None) -> str | None:
    """Model-level backstop for every writer: no stored web address may carry a scheme other than http(s).

    Only the scheme is checked here (writers validate fully): old or odd values like "kein link" stay storable so
    the link checker can report them, but javascript:, data: and friends never reach the database.
    """
    if value:
        compact = "".join(ch for ch in value if not ch.isspace() and not _CONTROL.match(ch)).lower()
        match = _SCHEME.match(compact)
        if match and match.group(1) not in ("http", "https") and not re.match(r"^[^:/]+:[0-9]", compact):
            raise UrlError(f"{key}: {value[:80]!r} is not an http(s) address")
    return value


def safe_href(value: object) -> str | None:
    """Render-time guard: the value if its scheme may become a link (http, https, mailto, tel), else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or _CONTROL.search(text) or any(ch in text for ch in "\t\r\n"):
        return None
    match = _SCHEME.match(text)
    if match is None or match.group(1).lower() not in LINK_SCHEMES:
        return None
    return text


def control_characters(value: str | None) -> list[str]:
    """The invisible control and bidi-override characters in a text, as U+XXXX names (empty when clean)."""
    return [f"U+{ord(ch):04X}" for ch in _CONTROL.findall(value or "")]


def show_controls(value: str | None) -> str:
    """Replace control and bidi-override characters by visible ⟨U+XXXX⟩ markers."""
    return _CONTROL.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", value or "")


def bidi(value: object) -> Markup:
    """User text isolated from its neighbours (<bdi>), its control characters made visible."""
    if value is None or value == "":
        return Markup("")
    text = unicodedata.normalize("NFC", str(value))
    return Markup("<bdi>%s</bdi>") % escape(show_controls(text))


def finalize(value: object) -> object:
    """Every {{ ... }} output: control and bidi-override characters become visible markers."""
    if isinstance(value, str) and _CONTROL.search(value):
        # Markup too (translated texts with parameters, rendered form fields): the markers hold no HTML syntax.
        return Markup(show_controls(str(value))) if isinstance(value, Markup) else show_controls(value)
    return value


def init_app(app: Flask) -> None:
    """Register the Jinja filters and the output guard against invisible reordering characters."""
    app.jinja_env.finalize = finalize
    app.jinja_env.filters["safe_href"] = safe_href
    app.jinja_env.filters["bidi"] = bidi
    app.jinja_env.filters["visible_controls"] = show_controls
