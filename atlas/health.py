"""/healthz: is the database reachable and is its schema current."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from . import schema
from .auth import is_staff
from .checker.scheduler import status as checker_status
from .db import get_engine, get_session, ping
from .search.sync import status as search_status


def healthz() -> Any:
    """Report database reachability and schema version as JSON; 503 when something is wrong."""
    engine = get_engine()
    head = schema.head_revision()
    try:
        ping(engine)
        current = schema.current_revision(engine)
    except SQLAlchemyError as exc:
        return {"status": "error", "database": {"reachable": False, "error": type(exc).__name__},
                "schema": {"current": None, "head": head, "up_to_date": False}}, 503
    ok = current == head
    body = {"status": "ok" if ok else "error", "database": {"reachable": True, "dialect": engine.dialect.name},
            "schema": {"current": current, "head": head, "up_to_date": ok}}
    if ok:  # a stale link checker is a warning in its block, not an outage of the site
        body["link_checker"] = checker_status(get_session(), current_app.config)
        body["search"] = search_status(get_session())
        if not is_staff():
            # Totals include internal offers: compared with the public API they would tell how many exist.
            for key in ("documents", "database"):
                body["search"].pop(key, None)
    return body, 200 if ok else 503


def init_app(app: Flask) -> None:
    """Register the health endpoint (outside any blueprint so it never needs a session cookie)."""
    app.add_url_rule("/healthz", "healthz", healthz)
