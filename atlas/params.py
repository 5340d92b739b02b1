"""Validate query parameters with clear German messages."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest


class ParamError(BadRequest):
    """A query parameter is malformed; the description names it and says what is allowed."""


def int_arg(name: str, default: int, minimum: int, maximum: int | None = None, clamp: bool = False) -> int:
    """Read an integer query parameter; out-of-range values are clamped or refused."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(_("Der Parameter „%(name)s“ muss eine ganze Zahl sein.", name=name)) from None
    if value < minimum or (maximum is not None and value > maximum):
        if clamp:
            return max(minimum, value if maximum is None else min(value, maximum))
        raise ParamError(_("Der Parameter „%(name)s“ muss zwischen %(min)s und %(max)s liegen.",
                           name=name, min=minimum, max=maximum if maximum is not None else "∞"))
    return value


def str_arg(name: str, max_length: int = 200) -> str:
    """Read a text query parameter, trimmed and cut to a sane length."""
    return request.args.get(name, "").strip()[:max_length]
