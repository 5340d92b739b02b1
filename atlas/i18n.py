"""UI languages with Flask-Babel: German first, English second; no language cookie for the public."""

from __future__ import annotations

import functools
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date as babel_date
from babel.numbers import format_decimal as babel_decimal
from flask import Flask, current_app, g, request, session, url_for
from flask.globals import _cv_app
from flask_babel import Babel, get_locale, get_translations
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape

from .params import ParamError

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


def check_choices() -> None:
    """Refuse an unknown ?lang= or ?leicht= with a German 400 instead of silently ignoring it."""
    wanted = request.args.get("lang")
    if wanted is not None and wanted not in current_app.config["LANGUAGES"]:
        raise ParamError(_("Die Sprache „%(value)s“ gibt es hier nicht. Möglich sind: %(allowed)s.",
                           value=wanted[:20], allowed=", ".join(current_app.config["LANGUAGES"])))
    easy = request.args.get("leicht")
    if easy is not None and easy not in ("0", "1"):
        raise ParamError(_("„leicht“ muss 1 (Leichte Sprache) oder 0 sein."))
    g.easy = easy == "1"


def easy_language() -> bool:
    """True when the visitor chose Leichte Sprache (carried in links and forms like the language)."""
    return bool(g.get("easy"))


def keep_lang(endpoint: str, values: dict) -> None:
    """Carry an explicit ?lang= and Leichte Sprache into every generated link, so the choice holds without a cookie."""
    if endpoint == "static" or endpoint.startswith("api."):
        return
    lang = g.get("lang_param")
    if lang and "lang" not in values:
        values["lang"] = lang
    if g.get("easy") and "leicht" not in values:
        values["leicht"] = "1"


def choice_fields() -> Markup:
    """Hidden inputs that carry the language and Leichte Sprache through a GET form (its action's query is dropped)."""
    fields = []
    if g.get("lang_param"):
        fields.append(f'<input type="hidden" name="lang" value="{escape(g.lang_param)}">')
    if g.get("easy"):
        fields.append('<input type="hidden" name="leicht" value="1">')
    return Markup("".join(fields))


def easy_switch_url(on: bool) -> str:
    """Return the current page's URL with Leichte Sprache switched on or off."""
    if request.endpoint is None or request.endpoint == "static":
        return url_for("public.index", leicht="1" if on else "0")
    args = request.args.to_dict() | (request.view_args or {}) | {"leicht": "1" if on else "0"}
    if not on:
        args.pop("leicht")
        g.easy = False
        try:
            return url_for(request.endpoint, **args)
        finally:
            g.easy = True
    return url_for(request.endpoint, **args)


def lang_switch_url(lang: str) -> str:
    """Return the current page's URL in another UI language."""
    if request.endpoint is None or request.endpoint == "static":
        return url_for("public.index", lang=lang)
    args = request.args.to_dict() | (request.view_args or {}) | {"lang": lang}
    return url_for(request.endpoint, **args)


def current_lang() -> str:
    """Return the active UI language code."""
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def content_lang() -> Markup:
    """A lang attribute for stored offer text (written in German) on pages in another language."""
    return Markup(' lang="de"') if current_lang() != "de" else Markup("")


def _day(value: str | date | datetime) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.rstrip("Z"))
    return value.date() if isinstance(value, datetime) else value


@functools.lru_cache(maxsize=8192)
def _formatted(value: date | float, pattern: str, lang: str) -> str:
    # The same dates and distances recur on every page (a page of 20 hits formats some 60 of them), and Babel's
    # formatting costs 30-50 µs each; a date or a rounded distance always reads the same in one language.
    if isinstance(value, date):
        return babel_date(value, format=pattern, locale=lang)
    return babel_decimal(value, format=pattern, locale=lang)


def datum(value: str | date | datetime | None) -> str:
    """Format a date (or ISO date string) in the UI language's medium style."""
    return _formatted(_day(value), "medium", current_lang()) if value else ""


def monat(value: str | date | datetime | None) -> str:
    """Month and year in the UI language ("März 2026"): how old a check is, without false precision."""
    return _formatted(_day(value), "MMMM yyyy", current_lang()) if value else ""


def decimal(value: float, pattern: str) -> str:
    """A number in the UI language's format by a Babel pattern ("#,##0.0" gives "1.234,5" in German)."""
    return _formatted(float(value), pattern, current_lang())


def translations() -> Any:
    """This request's translations, looked up once per language.

    Flask-Babel looks them up again for every string, through a dozen context-local proxies: a third of the
    template time of /suche (about 230 strings per page). Keyed by the locale object, so `force_locale` and
    `flask_babel.refresh` are followed.
    """
    ctx = _cv_app.get(None)
    if ctx is None:
        return get_translations()
    locale = getattr(ctx.g.__dict__.get("_flask_babel"), "babel_locale", None)
    if locale is None:  # not chosen yet in this request: Flask-Babel chooses it now and keeps it
        return get_translations()
    cache = ctx.g.__dict__.setdefault("_atlas_translations", {})
    found = cache.get(locale)
    if found is None:
        found = cache[locale] = get_translations()
    return found


# Jinja's own newstyle gettext takes the whole template context, and inside a loop it copies that context (every
# global and variable) for each call, to offer the loop's variables to a function that never reads them: about a
# third of a staff search page's template time. These take only the evaluation context, for autoescaping, and
# behave as Jinja's newstyle callables otherwise (the text is always a format string, `num` is preset).
@pass_eval_context
def template_gettext(eval_ctx: EvalContext, string: str, **variables: Any) -> str:
    """`_()` and `gettext()` in templates."""
    found = translations().ugettext(string)
    return (Markup(found) if eval_ctx.autoescape else found) % variables


@pass_eval_context
def template_ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, **variables: Any) -> str:
    """`ngettext()` in templates."""
    variables.setdefault("num", num)
    found = translations().ungettext(singular, plural, num)
    return (Markup(found) if eval_ctx.autoescape else found) % variables


def init_app(app: Flask) -> None:
    """Register Babel with the locale selector and the lang-keeping URL defaults."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(  # Flask-Babel's, with the translations looked up once per request
        gettext=lambda s: translations().ugettext(s), ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n), newstyle=True)
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
    app.before_request(check_choices)
    app.url_defaults(keep_lang)
    app.jinja_env.globals["current_lang"] = current_lang
    app.jinja_env.globals["lang_switch_url"] = lang_switch_url
    app.jinja_env.globals["easy_language"] = easy_language
    app.jinja_env.globals["easy_switch_url"] = easy_switch_url
    app.jinja_env.globals["choice_fields"] = choice_fields
    app.jinja_env.globals["content_lang"] = content_lang
    app.jinja_env.filters["datum"] = datum
    app.jinja_env.filters["monat"] = monat
