"""UI languages with Flask-Babel: German first, English second; no language cookie for the public."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from flask import Flask, current_app, g, request, session, url_for
from flask_babel import Babel, format_date, get_locale
from flask_login import current_user

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def select_locale() -> str:
    """Pick the UI language: ?lang=, a logged-in user's session choice, then the browser's preference."""
    languages = current_app.config["LANGUAGES"]
    wanted = request.args.get("lang")
    if wanted in languages:
        g.lang_param = wanted
        if current_user.is_authenticated:
            session["lang"] = wanted
        return wanted
    if current_user.is_authenticated and session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def keep_lang(endpoint: str, values: dict) -> None:
    """Carry an explicit ?lang= into every generated link, so the choice holds without a cookie."""
    lang = g.get("lang_param")
    if lang and "lang" not in values and endpoint != "static" and not endpoint.startswith("api."):
        values["lang"] = lang


def lang_switch_url(lang: str) -> str:
    """Return the current page's URL in another UI language."""
    if request.endpoint is None or request.endpoint == "static":
        return url_for("public.index", lang=lang)
    args = request.args.to_dict() | (request.view_args or {}) | {"lang": lang}
    return url_for(request.endpoint, **args)


def current_lang() -> str:
    """Return the active UI language code."""
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def datum(value: str | date | datetime | None) -> str:
    """Format a date (or ISO date string) in the UI language's medium style."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.rstrip("Z"))
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format="medium")


def init_app(app: Flask) -> None:
    """Register Babel with the locale selector and the lang-keeping URL defaults."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    app.url_defaults(keep_lang)
    app.jinja_env.globals["current_lang"] = current_lang
    app.jinja_env.globals["lang_switch_url"] = lang_switch_url
    app.jinja_env.filters["datum"] = datum
