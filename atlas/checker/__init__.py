"""Link maintenance: a scheduled checker that validates every stored URL and flags stale entries.

Other code may call discovery.sync_entity(session, entry) after saving an entry (its new URLs are then checked
by the scheduler's next small run) or runner.check_links(session, config, [link ids]) to check at once.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from flask import Flask, render_template
from sqlalchemy import bindparam, exists, select, union_all
from sqlalchemy.exc import SQLAlchemyError

from ..db import ConfigError, get_session
from ..models import ReviewTask, Service
from . import models  # noqa: F401  (registers the tables on the metadata)
from .scheduler import cron_trigger

# (settings, whole numbers only, smallest allowed value exclusive?)
LIMITS = (
    (("CHECK_CONCURRENCY", "CHECK_PER_HOST", "CHECK_RANGE_BYTES", "CHECK_BROKEN_AFTER_FAILURES",
      "CHECK_HARD_BROKEN_AFTER_FAILURES", "CHECK_MANUAL_AFTER_BLOCKS", "CHECK_HISTORY_KEEP", "CHECK_HISTORY_DAYS",
      "CHECK_BATCH_LIMIT", "CHECK_NEW_LIMIT"), True, 1, "a whole number of at least 1"),
    (("CHECK_MAX_REDIRECTS", "CHECK_RETRIES", "CHECK_PROCESSES"), True, 0, "a whole number of at least 0"),
    (("CHECK_CONNECT_TIMEOUT", "CHECK_READ_TIMEOUT", "CHECK_DEADLINE", "CHECK_INTERVAL_OK_HOURS",
      "CHECK_INTERVAL_WARNING_HOURS", "CHECK_INTERVAL_BROKEN_HOURS", "CHECK_INTERVAL_MANUAL_HOURS",
      "CHECK_LEASE_SECONDS"), False, None, "a number above 0"),
    (("CHECK_HOST_INTERVAL", "CHECK_RETRY_DELAY", "CHECK_RETRY_AFTER_MAX", "CHECK_BROKEN_AFTER_HOURS",
      "CHECK_HARD_BROKEN_AFTER_HOURS", "CHECK_ROBOTS_TTL_HOURS"), False, 0, "a number of at least 0"),
)
# Kinds of open tasks that make the public page say "being checked".
HINT_KINDS = ("link_broken", "link_changed", "overdue")


def check_settings(config: Any) -> None:
    """Refuse checker settings that cannot work, naming the setting."""
    for keys, whole, minimum, wanted in LIMITS:
        for key in keys:
            value = config[key]
            number = isinstance(value, int if whole else int | float) and not isinstance(value, bool)
            if not number or (value <= 0 if minimum is None else value < minimum):
                raise ConfigError(f"{key} must be {wanted}, not {value!r}.")
    for key in ("CHECK_SCHEDULE", "CHECK_SYNC_SCHEDULE", "CHECK_DIGEST_SCHEDULE"):
        try:
            cron_trigger(str(config[key]), config["BABEL_DEFAULT_TIMEZONE"])
        except ValueError as exc:
            raise ConfigError(f"{key} is not a valid crontab expression: {exc}") from None
    for network in config["CHECK_ALLOWED_NETWORKS"]:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"CHECK_ALLOWED_NETWORKS: {network!r} is not a network like '10.0.0.0/8'.") from None
    if config["CHECK_METHOD"] not in ("auto", "head"):
        raise ConfigError("CHECK_METHOD must be 'auto' or 'head'.")
    if not 0 <= config["CHECK_CONTENT_SIMILARITY"] <= 1:
        raise ConfigError("CHECK_CONTENT_SIMILARITY must be between 0 and 1.")
    if "link" in config["CHECK_USER_AGENT"].lower():
        raise ConfigError("CHECK_USER_AGENT must not contain 'link': some firewalls block such user agents.")


def under_review(service_id: int | None) -> bool:
    """True when an offer or its organisation has an open link or overdue task (the public page shows a hint)."""
    if not service_id:
        return False
    organization = select(Service.organization_id).where(Service.id == service_id).scalar_subquery()
    try:
        return bool(get_session().scalar(select(exists().where(
            (ReviewTask.service_id == service_id) | (ReviewTask.organization_id == organization),
            ReviewTask.kind.in_(HINT_KINDS), ReviewTask.resolved_at.is_(None)))))
    except SQLAlchemyError:
        return False


def about() -> str:
    """Public page for site owners: what the checker is, what it does, how to reach us."""
    return render_template("checker/about.html")


def init_app(app: Flask) -> None:
    """Check the settings, register the commands, the dashboard, the checker's info page and the hint helper."""
    # The web parts are imported here so the checker's own process (atlas.checker.process) stays small.
    from .cli import COMMANDS
    from .views import bp

    check_settings(app.config)
    for command in COMMANDS:
        app.cli.add_command(command)
    app.register_blueprint(bp)
    app.add_url_rule("/pruefdienst", "checker_about", about)
    app.jinja_env.globals["under_review"] = under_review



@functools.cache
def _link_notes_statement() -> Any:
    """The open link problems of some offers (:ids), their own and their organisation's, in one statement.

    Built once: building it took about 1.6 ms of every staff search page, five times as long as running it.
    """
    from .models import Link, LinkUsage

    found = [select(Service.id, LinkUsage.entity_type, LinkUsage.field, Link.state, Link.first_failure_at)
             .join(LinkUsage, (LinkUsage.entity_type == kind) & (LinkUsage.entity_id == owner))
             .join(Link, Link.id == LinkUsage.link_id)
             .where(Service.id.in_(bindparam("ids", expanding=True)), Link.state.in_(("broken", "manual_check")),
                    Link.override_state.is_(None))
             for kind, owner in (("service", Service.id), ("organization", Service.organization_id))]
    both = union_all(*found)
    return both.order_by(both.selected_columns.entity_type.desc(), both.selected_columns.field)


def link_notes(session: Any, service_ids: list[int], now: Any = None) -> dict[int, list[str]]:
    """Staff words for the link problems of offers and their organisations, by offer id (one query).

    "Website seit 3 Tagen nicht erreichbar", "Ein Link seit heute nicht erreichbar", "Website bitte von Hand
    prüfen"; a link a coordinator marked as fine (override) says nothing.
    """
    from flask_babel import gettext as _
    from flask_babel import ngettext

    from ..models import utcnow

    if not service_ids:
        return {}
    rows = session.execute(_link_notes_statement(), {"ids": list(service_ids)})
    today = (now or utcnow()).date()
    notes: dict[int, list[str]] = {}
    for sid, _kind, field, state, since in rows:
        what = _("Website") if field in ("url", "website") else _("Ein Link")
        days = (today - since.date()).days if since else 0
        if state == "manual_check":
            text = _("%(what)s bitte von Hand prüfen", what=what)
        elif days <= 0:
            text = _("%(what)s seit heute nicht erreichbar", what=what)
        else:
            text = ngettext("%(what)s seit %(num)s Tag nicht erreichbar", "%(what)s seit %(num)s Tagen nicht erreichbar",
                            days, what=what)
        if text not in notes.setdefault(sid, []):
            notes[sid].append(text)
    return notes
