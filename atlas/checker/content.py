"""Page content: title and main text of an HTML page, soft-404, parked-domain and bot-challenge signs, similarity."""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from collections.abc import Mapping
from dataclasses import dataclass

EXCERPT_LENGTH = 2000
# Elements whose text is not the page's content.
SKIP = {"script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "select", "button",
        "iframe", "object"}

# "Not found" pages that answer 200, in German and English; looked for in the title and the main headings,
# or anywhere in a page whose main text is short.
SOFT_404 = re.compile(
    r"^\s*404\s*$|\b(?:fehler|error|err|http|code)\s*:?\s*404\b"
    r"|\b404\s*(?:[-–|:]\s*)?(?:not found|nicht gefunden|page|seite|fehler|error)"
    r"|seite (?:wurde |konnte )?(?:leider )?nicht gefunden|page (?:was )?not found"
    r"|diese seite (?:existiert|gibt es) (?:leider )?nicht|seite existiert nicht|existiert nicht mehr"
    r"|(?:die )?(?:angeforderte|gesuchte|aufgerufene) seite .{0,40}(?:nicht|entfernt)"
    r"|(?:could|can)(?: ?not|n't) (?:be )?f(?:i|ou)nd|does(?: not|n't) exist|no longer (?:available|exists)"
    r"|nicht mehr (?:verfügbar|erreichbar|online)|angebot (?:wurde )?eingestellt|praxis (?:ist )?geschlossen"
    r"|inhalt (?:wurde )?nicht gefunden|fehlerseite|error page",
    )
# Too general for headings and text, but telling in a page title.
SOFT_404_TITLE = re.compile(r"nicht gefunden|not found|nicht verfügbar|unavailable")
SHORT_TEXT = 600
# Parked or for-sale domains and empty placeholder sites.
PARKED = re.compile(
    r"domain (?:is |may be )?for sale|this domain (?:is|may be) for sale|buy this domain|domain (?:kaufen|erwerben)"
    r"|diese domain (?:kaufen|steht zum verkauf|ist zu verkaufen|kann erworben werden|ist geparkt)"
    r"|domain (?:steht )?zum verkauf|domain zu verkaufen|domain parking|parked (?:free|domain|by)"
    r"|this domain has (?:been registered|expired)|domain (?:ist|wurde) (?:geparkt|reserviert)"
    r"|hier entsteht (?:eine neue|in kürze eine|demnächst eine) (?:website|internetpräsenz|homepage|webseite)",
    )
# Phrase patterns are matched against lower-cased text (IGNORECASE makes Python's re about ten times slower);
# a page without any of these words cannot be parked.
PARKED_WORDS = ("domain", "verkauf", "sale", "geparkt", "parked", "parking", "entsteht")
PARKING_HOSTS = ("sedoparking.com", "sedo.com", "parkingcrew.net", "bodis.com", "dan.com", "afternic.com",
                 "hugedomains.com", "above.com", "parklogic.com", "domainmarket.com", "undeveloped.com",
                 "uniregistry.com", "namebright.com")
# Bot walls: a person in a browser would pass, the checker cannot.
CHALLENGE_TITLE = re.compile(
    r"just a moment|attention required|checking your browser|ddos-guard|bot verification|are you a robot"
    r"|access denied|sicherheitsüberprüfung|bitte bestätigen sie, dass sie ein mensch sind|captcha",
    )
CHALLENGE_BODY = re.compile(
    r"cf-browser-verification|cf_chl_|challenge-platform|enable javascript and cookies to continue"
    r"|checking if the site connection is secure|verify you are human",
    )


@dataclass
class Page:
    """What the checker keeps of an HTML page."""

    title: str
    headings: list[str]
    text: str

    @property
    def excerpt(self) -> str:
        return self.text[:EXCERPT_LENGTH]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


# Regular expressions instead of an HTML parser: several times faster, and good enough to find a title, the
# headings and the visible text (the checker reads thousands of pages per run).
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.S | re.I)
_HEAD = re.compile(r"<head\b[^>]*>.*?</head\s*>", re.S | re.I)
_DROP = re.compile(r"<!--.*?-->|<(" + "|".join(sorted(SKIP)) + r")\b[^>]*>.*?</\1\s*>", re.S | re.I)
_MAIN = re.compile(r"<(main|article)\b[^>]*>(.*)</\1\s*>", re.S | re.I)
_ROLE_MAIN = re.compile(r"<[a-z][a-z0-9]*\b[^>]*\brole\s*=\s*[\"']?main\b[^>]*>", re.I)
_HEADING = re.compile(r"<h([12])\b[^>]*>(.*?)</h\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")


def _text(fragment: str) -> str:
    return " ".join(html_lib.unescape(_TAG.sub(" ", fragment)).split())


def parse_html(markup: str) -> Page:
    """Extract title, h1/h2 headings and the main text (whitespace collapsed) from HTML; never raises."""
    title = _TITLE.search(markup)
    body = _DROP.sub(" ", _HEAD.sub(" ", markup))
    main = _MAIN.search(body)
    if main is not None:
        body = main.group(2)
    else:
        role = _ROLE_MAIN.search(body)
        if role is not None:
            body = body[role.end():]
    headings = [_text(h.group(2)) for h in _HEADING.finditer(body)][:5]
    return Page(_text(title.group(1))[:500] if title else "", headings, _text(body))


def decode(body: bytes, content_type: str | None) -> str:
    """Decode a page with the charset from the header or a <meta> tag, UTF-8 otherwise."""
    charset = None
    match = re.search(r"charset=([\w-]+)", content_type or "", re.IGNORECASE)
    if match:
        charset = match.group(1)
    else:
        meta = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", body[:4096], re.IGNORECASE)
        charset = meta.group(1).decode("ascii") if meta else None
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def soft_404(page: Page) -> str | None:
    """The phrase that makes a 200 page a "not found" page, or None."""
    title = page.title.lower()
    match = SOFT_404_TITLE.search(title)
    if match:
        return match.group(0)
    for text in (title, *(h.lower() for h in page.headings)):
        match = SOFT_404.search(text)
        if match:
            return match.group(0)
    if len(page.text) < SHORT_TEXT:
        match = SOFT_404.search(page.text.lower())
        if match:
            return match.group(0)
    return None


def parked(page: Page | None, final_host: str) -> str | None:
    """Why a page looks like a parked or for-sale domain, or None."""
    host = final_host.lower()
    if any(host == h or host.endswith("." + h) for h in PARKING_HOSTS):
        return host
    if page is None:
        return None
    text = " ".join((page.title, *page.headings, page.text[:1000])).lower()
    if not any(word in text for word in PARKED_WORDS):
        return None
    match = PARKED.search(text)
    return match.group(0) if match else None


def challenge(page: Page | None, raw: str, headers: Mapping[str, str]) -> str | None:
    """Why a response looks like a bot wall (Cloudflare-style challenge, captcha), or None.

    A page that loaded (page given) is judged by its title only: normal pages may embed captcha scripts.
    """
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return "cf-mitigated: challenge"
    if page is not None:
        match = CHALLENGE_TITLE.search(page.title.lower())
        return match.group(0) if match else None
    match = CHALLENGE_BODY.search(raw[:20000].lower())
    return match.group(0) if match else None


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < 3:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity (0..1) of two texts' word triples."""
    left, right = _shingles(a), _shingles(b)
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def title_similarity(a: str, b: str) -> float:
    """Similarity of two titles by their words."""
    left, right = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def changed(page: Page, old_title: str | None, old_text: str | None, threshold: float) -> str | None:
    """Why a page differs sharply from its baseline (title replaced or main text mostly new), or None."""
    if old_title and page.title and title_similarity(page.title, old_title) < 0.34:
        return f"Titel vorher: „{old_title[:120]}“, jetzt: „{page.title[:120]}“"
    if old_text and len(old_text) >= 200 and len(page.text) >= 200 and page.excerpt != old_text:
        score = similarity(page.text[:EXCERPT_LENGTH], old_text)
        if score < threshold:
            return f"Der Text der Seite ist zu {round((1 - score) * 100)} % neu."
    return None
