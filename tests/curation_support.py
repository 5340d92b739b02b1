"""Helpers for the curation tests: submit an edit form the way a browser would (all its current values)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from atlas.db import get_session


class _FormParser(HTMLParser):
    """Collects the successful controls of the first POST form with class "edit" (or the given form index)."""

    def __init__(self, form_class: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_class = form_class
        self.in_form = False
        self.done = False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.first_option: str | None = None
        self.selected = False
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and self.form_class in a.get("class", "").split():
            self.in_form = True
        if not self.in_form:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select, self.first_option, self.selected = a.get("name"), None, False
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                self.fields.append((self.select, a.get("value", "")))
                self.selected = True
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if not self.in_form:
            return
        if tag == "select":
            if not self.selected and self.first_option is not None and self.select:
                # Like a browser: a single select without a selected option submits its first option.
                self.fields.append((self.select, self.first_option))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea, self.text.replace("\r\n", "\n").removeprefix("\n")))
            self.textarea = None
        elif tag == "form":
            self.in_form, self.done = False, True


def form_fields(html: str, form_class: str = "edit") -> MultiDict:
    """The values a browser would submit for the page's edit form."""
    parser = _FormParser(form_class)
    parser.feed(html)
    assert parser.fields, "no edit form on the page"
    return MultiDict(parser.fields)


def submit(
    client: FlaskClient,
    path: str,
    changes: dict[str, Any] | None = None,
    html: str | None = None,
    extra: dict[str, Any] | None = None,
):
    """GET a form page (unless html is given), change some fields and POST everything back."""
    page = html if html is not None else client.get(path).get_data(as_text=True)
    data = form_fields(page)
    for name, value in (changes or {}).items():
        data.setlist(name, value if isinstance(value, list) else [value])
    for name, value in (extra or {}).items():
        data.setlist(name, value if isinstance(value, list) else [value])
    return client.post(path, data=data)


def one(app: Flask, stmt: Any) -> Any:
    """Run a scalar query in the app."""
    with app.app_context():
        return get_session().scalar(stmt)


def load(app: Flask, model: Any, ident: int, *attrs: str) -> dict[str, Any]:
    """Read some attributes of a record."""
    with app.app_context():
        obj = get_session().get(model, ident)
        return {a: getattr(obj, a) for a in attrs}


def ident(app: Flask, model: Any, **where: Any) -> int:
    """The id of the record matching simple equality conditions."""
    stmt = sa.select(model.id).where(*(getattr(model, k) == v for k, v in where.items()))
    return one(app, stmt)
