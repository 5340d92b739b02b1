"""Security headers on every response; only the embeddable map may be framed by other sites."""

from __future__ import annotations

from flask import Flask, Response, g


def add_headers(response: Response) -> Response:
    """Forbid framing (except the embed), MIME sniffing and cross-site referrers."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if g.get("allow_framing"):
        response.headers["Content-Security-Policy"] = "frame-ancestors *"
    else:
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'self'")
    return response


def init_app(app: Flask) -> None:
    """Register the header hook."""
    app.after_request(add_headers)
