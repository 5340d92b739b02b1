"""Public "Fehler melden": visitors report a problem with an offer, without an account, cookie or personal data."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..accounts import spend_token
from ..audit import set_actor
from ..db import get_session
from ..i18n import current_lang
from ..models import Service, utcnow
from ..presenters import service_view
from ..queries import public_condition
from ..review import open_task
from .labels import topic_label
from .models import REPORT_TOPICS, PublicReport

bp = Blueprint("reports", __name__)
HONEYPOT = "homepage"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="atlas.public-report")


def form_token(service_id: int, now: float | None = None) -> str:
    """A signed token naming the offer and when the form was shown (replaces a session-bound CSRF token)."""
    return _serializer().dumps({"s": service_id, "t": round(now if now is not None else time.time(), 3),
                                "n": secrets.token_urlsafe(9)})


def check_token(token: str, service_id: int, now: float | None = None) -> str | None:
    """Return a German problem with a form token, None when it is fine."""
    now = now if now is not None else time.time()
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return _("Das Formular ist ungültig. Bitte laden Sie die Seite neu.")
    if (
        not isinstance(data, dict)
        or data.get("s") != service_id
        or not isinstance(data.get("t"), int | float)
    ):
        return _("Das Formular ist ungültig. Bitte laden Sie die Seite neu.")
    age = now - data["t"]
    if age < current_app.config["REPORT_MIN_SECONDS"]:
        return _("Das ging sehr schnell. Bitte prüfen Sie Ihre Angaben und senden Sie noch einmal.")
    if age > current_app.config["REPORT_MAX_AGE"]:
        return _("Das Formular ist abgelaufen. Bitte laden Sie die Seite neu.")
    return None


def client_hash() -> str:
    """A keyed hash of the sender's address: enough to count reports, useless to identify anyone."""
    secret = current_app.config["SECRET_KEY"]
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(key, (request.remote_addr or "-").encode(), hashlib.sha256).hexdigest()


def rate_limited(session: Session, sender: str) -> bool:
    """True when this sender, or everyone together, sent too many reports in the rolling window."""
    config = current_app.config
    since = utcnow() - timedelta(seconds=config["REPORT_RATE_WINDOW"])
    # Hashes older than the window have done their job: erase them.
    session.execute(
        update(PublicReport)
        .where(PublicReport.created_at < since, PublicReport.client_hash.is_not(None))
        .values(client_hash=None)
    )
    mine = (
        session.scalar(
            select(func.count(PublicReport.id)).where(
                PublicReport.client_hash == sender, PublicReport.created_at >= since
            )
        )
        or 0
    )
    everyone = (
        session.scalar(select(func.count(PublicReport.id)).where(PublicReport.created_at >= since)) or 0
    )
    return mine >= config["REPORT_RATE_LIMIT"] or everyone >= config["REPORT_GLOBAL_LIMIT"]


def create_report(
    session: Session, service: Service, topic: str, message: str | None, sender: str | None
) -> PublicReport:
    """Store a report and open a task in the owner's review queue; the caller commits."""
    set_actor(session, "public-report")
    report = PublicReport(service=service, topic=topic, message=message or None, client_hash=sender)
    session.add(report)
    session.flush()
    open_task(
        session,
        "public_report",
        service,
        f"Fehlermeldung: {topic_label(topic)}",
        detail=message or None,
        source_ref=f"report:{report.id}",
    )
    return report


def _public_service(service_id: int) -> Service:
    found = get_session().scalar(
        select(Service).join(Service.organization).where(Service.id == service_id, public_condition())
    )
    if found is None:
        abort(404)
    return found


@bp.route("/angebote/<int:service_id>/fehler-melden", methods=["GET", "POST"])
def report(service_id: int) -> Any:
    """Show and accept the report form of one public offer."""
    session = get_session()
    service = _public_service(service_id)
    errors: dict[str, str] = {}
    values = {"topic": "", "message": ""}
    status = 200
    if request.method == "POST":
        values = {
            "topic": request.form.get("topic", ""),
            "message": request.form.get("message", "").replace("\x00", ""),
        }
        limit = current_app.config["REPORT_MAX_LENGTH"]
        if values["topic"] not in REPORT_TOPICS:
            errors["topic"] = _("Bitte wählen Sie, was nicht stimmt.")
        if len(values["message"]) > limit:
            errors["message"] = _("Bitte fassen Sie sich kürzer: höchstens %(n)s Zeichen.", n=limit)
        elif values["topic"] == "sonstiges" and not values["message"].strip():
            errors["message"] = _("Bitte beschreiben Sie kurz, was nicht stimmt.")
        problem = check_token(request.form.get("token", ""), service.id)
        if request.form.get(HONEYPOT):
            problem = _("Ihre Meldung konnte nicht angenommen werden.")
        if problem:
            errors["form"] = problem
        if not errors:
            sender = client_hash()
            if not spend_token(session, request.form.get("token", ""), current_app.config["REPORT_MAX_AGE"]):
                errors["form"] = _("Dieses Formular wurde schon abgeschickt. Bitte laden Sie die Seite neu, "
                                   "wenn Sie noch etwas melden möchten.")
                status = 409
            elif rate_limited(session, sender):
                session.commit()
                errors["form"] = _(
                    "Von Ihrem Anschluss kamen gerade sehr viele Meldungen. Bitte versuchen Sie es später noch einmal."
                )
                status = 429
            else:
                create_report(
                    session,
                    service,
                    values["topic"],
                    values["message"] if values["message"].strip() else None,
                    sender,
                )
                session.commit()
                return render_template(
                    "curation/report_thanks.html",
                    s=service_view(service, internal=False, lang=current_lang()),
                )
        status = status if status != 200 else 400
    return render_template(
        "curation/report_form.html",
        s=service_view(service, internal=False, lang=current_lang()),
        token=form_token(service.id),
        topics=REPORT_TOPICS,
        values=values,
        errors=errors,
        honeypot=HONEYPOT,
        max_length=current_app.config["REPORT_MAX_LENGTH"],
    ), status
