"""Curation: coordinators keep organisations and offers complete and current (area /verwaltung)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from wtforms import Field

from .. import vocab
from ..auth import csrf
from ..i18n import current_lang
from . import models  # noqa: F401  (registers the tables on the metadata)
from .labels import CODED_FIELDS, field_label, report_status_label, review_kind_label, topic_label


def field_attrs(field: Field, **extra: Any) -> dict[str, Any]:
    """HTML attributes tying a field to its help text and error message (aria-describedby, aria-invalid)."""
    extra = {k: v for k, v in extra.items() if v is not None}
    if field.type == "GermanDateField":
        extra.setdefault("type", "date")
    described = []
    if field.description:
        described.append(f"{field.id}-help")
    if field.errors:
        described.append(f"{field.id}-error")
        extra["aria-invalid"] = "true"
    if described:
        extra["aria-describedby"] = " ".join(described)
    return extra


def error_list(form: Any) -> list[dict[str, str]]:
    """Every error of a form, each with the id of its field, a label and the message (for the error summary)."""
    found = []
    for name, field in form._fields.items():
        if not field.errors:
            continue
        if name == "csrf_token":
            found.append({"anchor": "", "label": "", "message": " ".join(map(str, field.errors))})
        elif field.type == "FieldList":
            for number, entry in enumerate(field.entries, start=1):
                for sub in entry.form:
                    if sub.errors:
                        found.append(
                            {
                                "anchor": sub.id,
                                "label": f"{field.label.text} {number}: {sub.label.text}",
                                "message": " ".join(map(str, sub.errors)),
                            }
                        )
        else:
            found.append(
                {
                    "anchor": field.id,
                    "label": str(field.label.text),
                    "message": " ".join(map(str, field.errors)),
                }
            )
    return found


def choice_items(field: Any) -> list[dict[str, Any]]:
    """A checkbox group's options as plain data (rendered by hand: much faster than one widget call each)."""
    return [
        {"id": f"{field.id}-{i}", "value": c.value, "label": str(c.label), "checked": c.selected}
        for i, c in enumerate(field.iter_choices())
    ]


def option_groups(field: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """A checkbox group's options grouped by the part of their label before " › " (categories by parent)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in choice_items(field):
        parent, _sep, child = item["label"].rpartition(" › ")
        groups.setdefault(parent or child, []).append(item | {"label": child})
    return list(groups.items())


def has_errors(*fields: Any) -> bool:
    """True when any of the fields (or any row of a list) failed validation: its section opens."""
    return any(bool(f.errors) and any(e for e in f.errors) for f in fields)


def filled(*fields: Any) -> int:
    """How many of the fields hold something (rows of a list and ticked boxes count one each)."""
    count = 0
    for f in fields:
        if f.type == "FieldList":
            count += sum(1 for e in f.entries if not e.form.is_blank() and not e.form.remove.data)
        elif isinstance(f.data, list):
            count += len(f.data)
        elif f.data not in (None, "", False, 0) and f.type != "HiddenField":
            count += 1
    return count


def vocab_label(field: str, code: str | None) -> str:
    """The label of a coded field's value in the UI language."""
    return vocab.label(CODED_FIELDS[field], code, current_lang())


def init_app(app: Flask) -> None:
    """Register the coordinator area, the public report page and their template helpers."""
    # admin, desk, history_views, lists and locations add their routes to the views blueprint.
    from . import admin, desk, history_views, lists, locations, reports, views  # noqa: F401

    app.register_blueprint(views.bp)
    app.register_blueprint(reports.bp)
    # The public report form sets no cookie, so it cannot use session-bound CSRF tokens: it is protected by a
    # signed, time-stamped token, a honeypot field and a rate limit instead (see reports.py).
    csrf.exempt(reports.report)
    app.jinja_env.globals.update(
        field_attrs=field_attrs,
        field_label=field_label,
        review_kind_label=review_kind_label,
        topic_label=topic_label,
        report_status_label=report_status_label,
        vocab_label=vocab_label,
        error_list=error_list,
        option_groups=option_groups,
        choice_items=choice_items,
        has_errors=has_errors,
        filled=filled,
    )
