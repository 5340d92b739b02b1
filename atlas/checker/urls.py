"""URL handling: normalise for de-duplication, find URLs in text, registrable domains, home pages."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from publicsuffixlist import PublicSuffixList

MAX_URL_LENGTH = 2000
# URLs inside free text; trailing punctuation belongs to the sentence, not to the URL.
URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'\[\]{}|\\^`]+", re.IGNORECASE)
TRAILING = ".,;:!?)»“\"'"
# Paths that are a site's start page rather than a specific offer page.
HOME_PATHS = re.compile(r"^/(?:(?:index|default|home|start|startseite)(?:\.\w{2,5})?|de|en|de-de|home|start"
                        r"|startseite)?/?$", re.IGNORECASE)
# Documents and media: the checker does not need their bodies, so HEAD is enough.
DOCUMENT_SUFFIXES = (".pdf", ".doc", ".docx", ".odt", ".xls", ".xlsx", ".ods", ".ppt", ".pptx", ".zip", ".jpg",
                     ".jpeg", ".png", ".gif", ".webp", ".svg", ".mp3", ".mp4", ".ics", ".rtf", ".txt", ".csv")


class UrlError(ValueError):
    """A stored value that is not a checkable web address; the message says why (in German)."""


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def normalise(raw: str) -> str:
    """Return the canonical form of a web address (scheme and host lower-case, IDNA, no fragment, no default port).

    A bare "www.example.de/x" gets "http://" (browsers do the same); anything else raises UrlError.
    """
    value = (raw or "").strip()
    if not value:
        raise UrlError("Die Adresse ist leer.")
    if len(value) > MAX_URL_LENGTH:
        raise UrlError(f"Die Adresse ist länger als {MAX_URL_LENGTH} Zeichen.")
    if re.search(r"\s", value):
        raise UrlError("Die Adresse enthält Leerzeichen.")
    if "://" not in value:
        if re.match(r"^(mailto|tel|fax|sms|ftps?|file|data|javascript|about):", value, re.IGNORECASE) or (
                re.match(r"^[a-z][a-z0-9+.-]*:", value, re.IGNORECASE) and not re.match(r"^[^:/]+:\d+(/|$)", value)):
            raise UrlError("Nur Internetadressen (http oder https) werden geprüft.")
        value = "http://" + value.lstrip("/")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise UrlError(f"Die Adresse ist ungültig ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlError("Nur Internetadressen (http oder https) werden geprüft.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlError("Der Adresse fehlt der Name der Website.")
    host = _ascii_host(host)
    if parts.username or parts.password:
        raise UrlError("Adressen mit Benutzername oder Passwort werden nicht gespeichert.")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != (443 if scheme == "https" else 80):
        netloc += f":{port}"
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def _ascii_host(host: str) -> str:
    """Lower-case a host name and turn international names into their IDNA (xn--) form."""
    host = host.lower()
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if not re.fullmatch(r"[a-z0-9.-]+", host):
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UrlError("Der Name der Website enthält ungültige Zeichen.") from None
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9])?)*", host):
        raise UrlError("Der Name der Website ist ungültig.")
    return host


def url_key(url: str) -> str:
    """SHA-256 of a normalised URL (the link table's unique key)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def host_of(url: str) -> str:
    """Host name (or IP) of a URL, lower-case."""
    return (urlsplit(url).hostname or "").lower()


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def urls_in_text(text: str | None) -> list[str]:
    """Web addresses written in a free-text field, in order, without duplicates."""
    found: list[str] = []
    for match in URL_IN_TEXT.finditer(text or ""):
        url = match.group(0).rstrip(TRAILING)
        if url not in found:
            found.append(url)
    return found


def registrable_domain(host: str) -> str:
    """The part of a host name a registrant owns (example.co.uk, beratung.de); IPs stand for themselves."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    return _psl().privatesuffix(host) or host


def is_home(url: str) -> bool:
    """True when a URL points at a site's start page."""
    parts = urlsplit(url)
    return not parts.query and bool(HOME_PATHS.match(parts.path or "/"))


def looks_like_document(url: str) -> bool:
    """True for URLs of documents or media (PDF, images ...), whose bodies the checker does not need."""
    return urlsplit(url).path.lower().endswith(DOCUMENT_SUFFIXES)
