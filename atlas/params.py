"""Validate query parameters with clear German messages."""

from __future__ import annotations

import re

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

# Ids and numbers beyond this fit no database integer column: /angebote/<30 digits> is a 404, not an overflow.
MAX_ID = 2**31 - 1
_ID = re.compile(r"[0-9]{1,10}")


class ParamError(BadRequest):
    """A query parameter is malformed; the description names it and says what is allowed."""


class IdConverter(IntegerConverter):
    """<int:...> in every route: ASCII digits from 0 to MAX_ID, anything else does not match (404)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)


def parse_id(raw: object) -> int | None:
    """A database id from untrusted text: ASCII digits, 1..MAX_ID; None for anything else (², 30 digits, -1)."""
    text = str(raw or "").strip()
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def int_arg(name: str, default: int, minimum: int, maximum: int | None = None, clamp: bool = False) -> int:
    """Read an integer query parameter; out-of-range values are clamped or refused."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    maximum = MAX_ID if maximum is None else maximum
    try:
        if not re.fullmatch(r"[+-]?[0-9]{1,12}", raw):
            raise ValueError(raw)
        value = int(raw)
    except ValueError:
        raise ParamError(_("Der Parameter „%(name)s“ muss eine ganze Zahl sein.", name=name)) from None
    if value < minimum or (maximum is not None and value > maximum):
        if clamp:
            return max(minimum, value if maximum is None else min(value, maximum))
        raise ParamError(_("Der Parameter „%(name)s“ muss zwischen %(min)s und %(max)s liegen.",
                           name=name, min=minimum, max=maximum))
    return value


def str_arg(name: str, max_length: int = 200) -> str:
    """Read a text query parameter, trimmed and cut to a sane length."""
    return request.args.get(name, "").strip()[:max_length]


def init_app(app: Flask) -> None:
    """Bound every <int:...> route argument."""
    app.url_map.converters["int"] = IdConverter
