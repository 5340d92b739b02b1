"""Error pages in German (HTML) and JSON errors for the API."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

MESSAGES = {
    400: _l("Die Anfrage ist fehlerhaft."),
    401: _l("Bitte melden Sie sich an."),
    403: _l("Dafür fehlt Ihnen die Berechtigung."),
    404: _l("Diese Seite gibt es nicht (mehr)."),
    405: _l("Diese Aktion ist hier nicht möglich."),
    413: _l("Die Datei ist zu groß."),
    429: _l("Zu viele Anfragen. Bitte warten Sie einen Moment."),
    500: _l("Ein unerwarteter Fehler ist aufgetreten. Bitte versuchen Sie es später noch einmal."),
}


def wants_json() -> bool:
    """True for API calls and clients that prefer JSON."""
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def handle_http(exc: HTTPException) -> Any:
    """Render an HTTP error; a specific description beats the generic message."""
    code = exc.code or 500
    generic = MESSAGES.get(code, exc.name)
    detail = exc.description if exc.description and exc.description != type(exc).description else None
    message = detail if detail else str(generic)
    if wants_json():
        return {"error": {"status": code, "message": message}}, code
    return render_template("error.html", code=code, message=message), code


def handle_unexpected(exc: Exception) -> Any:
    """Log an unexpected exception and show a calm 500 page without details."""
    current_app.logger.exception("unhandled exception on %s", request.path)
    return handle_http(InternalServerError())


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(HTTPException, handle_http)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)
