"""Digest e-mail: each owner gets their review queue, section by section, so its counts are the queue's counts."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import validity
from ..curation.queue import QueueItem, queue_counts, queue_for
from ..freshness import stale_line
from ..models import Organization, Service, User

# The e-mail's sections in the queue's order of urgency; every queue item lands in exactly one of them.
SECTIONS = (
    ("link_broken", "Defekte Links"),
    ("link_changed", "Geänderte Links (bitte ansehen)"),
    ("public_report", "Fehlermeldungen von Besucherinnen und Besuchern"),
    ("task", "Weitere Aufgaben"),
    ("overdue", "Überfällige Prüfungen"),
    ("stale", "Veraltete Angaben"),
    ("ending", "Angebote, die ablaufen"),
    ("due_soon", "Bald fällige Prüfungen"),
)
LINK_KINDS = ("link_broken", "link_changed")


class DigestError(RuntimeError):
    """The e-mail could not be sent; the message says why."""


@dataclass
class Digest:
    """One owner's queue as e-mail lines, by section."""

    user: User
    items: list[QueueItem] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Items per queue group (flagged, overdue, due_soon): the numbers of the owner's queue page."""
        return queue_counts(self.items)

    @property
    def empty(self) -> bool:
        return not self.items


def section_of(item: QueueItem) -> str:
    """The e-mail section of one queue item."""
    if item.task is not None:
        return item.task.kind if item.task.kind in LINK_KINDS + ("public_report",) else (
            "overdue" if item.task.kind == "overdue" else "task")
    if item.reason in ("stale", "ending"):
        return item.reason
    return "overdue" if item.group == "overdue" else "due_soon"


def _entry_line(entry: Organization | Service, base: str | None, note: str = "") -> str:
    if isinstance(entry, Service):
        name = f"{entry.name} ({entry.organization.name})"
        where = f"{base}/intern/angebote/{entry.id}" if base else None
    else:
        name = f"{entry.name} (Organisation)"
        where = f"{base}/verwaltung/organisationen/{entry.id}" if base else None
    return f"{name}{note}" + (f"\n    {where}" if where else "")


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def item_line(item: QueueItem, base: str | None, today: date) -> str:
    """One entry of the e-mail: the entry, what is wrong and (for links) the address."""
    task = item.task
    note = ""
    if (task is None or task.kind == "overdue") and item.reason == "review" and item.due is not None:
        note = f" ({'fällig seit' if item.due <= today else 'fällig am'} {_day(item.due)})"
    line = _entry_line(item.entry, base, note)
    if task is not None and task.kind in LINK_KINDS:
        line += f"\n    {task.detail or task.title}"  # the detail names the field, the address and the finding
    elif task is not None and task.kind != "overdue":
        line += f"\n    {task.title} (seit {_day(task.created_at.date())})"
    for fact, confirmed in item.stale:
        line += f"\n    {stale_line(fact, confirmed, today)}"
    if item.expires is not None:
        line += f"\n    {'abgelaufen am' if item.expires < today else 'läuft ab am'} {_day(item.expires)}"
    return line


def build_digests(session: Session, config: Any, today: date | None = None) -> list[Digest]:
    """Each active owner's review queue (the same items as the queue page); owners with nothing to do get none."""
    today = today or validity.today()
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/") or None
    digests = []
    for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)):
        if not user.email:
            continue
        digest = Digest(user, queue_for(session, user, today, config))
        with force_locale("de"):  # staff e-mail is German, also outside a request (cron, scheduler)
            for item in digest.items:
                digest.sections.setdefault(section_of(item), []).append(item_line(item, base, today))
        if not digest.empty:
            digests.append(digest)
    return digests


def render(digest: Digest, config: Any, today: date) -> EmailMessage:
    """The plain-text e-mail for one owner (German: it goes to staff)."""
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    counts = digest.counts
    summary = f"{counts['flagged']} gemeldet, {counts['overdue']} überfällig, {counts['due_soon']} bald fällig"
    lines = [f"Guten Tag {digest.user.display_name},", "",
             f"hier ist Ihre Prüfliste aus dem {config['SITE_NAME']} vom {_day(today)}: {summary}.", ""]
    for key, title in SECTIONS:
        if items := digest.sections.get(key):
            lines += [f"{title} ({len(items)}):", *[f"  - {item}" for item in items], ""]
    if base:
        lines += [f"Ihre Prüfliste: {base}/verwaltung/pruefliste",
                  f"Alle Links mit Hinweisen: {base}/verwaltung/links", ""]
    lines += ["Diese E-Mail wurde automatisch erstellt."]
    message = EmailMessage()
    message["Subject"] = f"{config['SITE_NAME']}: {summary}"
    message["From"] = config["MAIL_FROM"]
    message["To"] = digest.user.email
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rsplit("@", 1)[-1].strip("> ") or None)
    message.set_content("\n".join(lines))
    return message


def send_digests(session: Session, config: Any, today: date) -> int:
    """Send every owner's digest over one SMTP connection; returns how many were sent."""
    if not config.get("MAIL_SERVER"):
        raise DigestError("MAIL_SERVER is not configured; no e-mail can be sent.")
    messages = [render(d, config, today) for d in build_digests(session, config, today)]
    if not messages:
        return 0
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    try:
        smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        with smtp_class(host, port, timeout=timeout) as smtp:
            if config["MAIL_USE_STARTTLS"] and not config["MAIL_USE_SSL"]:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            refused: dict[str, Any] = {}
            for message in messages:
                for address, reason in smtp.send_message(message).items():
                    refused[address] = reason
    except (OSError, smtplib.SMTPException) as exc:
        raise DigestError(f"Sending the digest via {host}:{port} failed: {exc}") from exc
    return len(messages) - len(refused)
