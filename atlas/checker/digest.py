"""Digest e-mail: each owner gets their entries with broken links, links to check by hand, and overdue reviews."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Organization, ReviewTask, Service, User
from .advice import KIND_LABELS
from .flags import entries_of
from .models import Link


class DigestError(RuntimeError):
    """The e-mail could not be sent; the message says why."""


@dataclass
class Digest:
    """One owner's list."""

    user: User
    broken: list[str] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.broken or self.manual or self.overdue)


def _entry_line(entry: Organization | Service, base: str | None) -> str:
    if isinstance(entry, Service):
        name = f"{entry.name} ({entry.organization.name})"
        where = f"{base}/intern/angebote/{entry.id}" if base else None
    else:
        name = f"{entry.name} (Organisation)"
        where = None
    return f"{name}" + (f"\n    {where}" if where else "")


def _owner(entry: Organization | Service) -> User | None:
    return entry.effective_owner if isinstance(entry, Service) else entry.owner


def build_digests(session: Session, config: Any) -> list[Digest]:
    """Collect each active owner's items (owners with nothing to do get no e-mail)."""
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/") or None
    digests: dict[int, Digest] = {}

    def digest_for(user: User | None) -> Digest | None:
        if user is None or not user.active or not user.email:
            return None
        return digests.setdefault(user.id, Digest(user))

    links = session.scalars(select(Link).where(Link.state.in_(("broken", "manual_check")))
                            .options(selectinload(Link.usages)).order_by(Link.url))
    for link in links:
        label = KIND_LABELS.get(link.kind or "ok", link.kind or "")
        for entry, _usage in entries_of(session, list(link.usages)):
            digest = digest_for(_owner(entry))
            if digest is not None:
                line = f"{_entry_line(entry, base)}\n    {link.url} – {label}"
                (digest.broken if link.state == "broken" else digest.manual).append(line)
    tasks = session.scalars(select(ReviewTask).where(ReviewTask.kind == "overdue", ReviewTask.resolved_at.is_(None))
                            .order_by(ReviewTask.due_date))
    for task in tasks:
        entry = task.service or task.organization
        if entry is None or entry.archived_at is not None:
            continue
        digest = digest_for(task.assignee or _owner(entry))
        if digest is not None:
            since = f" (fällig seit {task.due_date.strftime('%d.%m.%Y')})" if task.due_date else ""
            digest.overdue.append(_entry_line(entry, base) + since)
    return [d for d in digests.values() if not d.empty]


def render(digest: Digest, config: Any, today: date) -> EmailMessage:
    """The plain-text e-mail for one owner (German: it goes to staff)."""
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    sections = [("Defekte Links", digest.broken), ("Links, die Sie bitte von Hand prüfen", digest.manual),
                ("Einträge mit fälliger Prüfung", digest.overdue)]
    lines = [f"Guten Tag {digest.user.display_name},", "",
             f"hier ist Ihre Übersicht aus dem {config['SITE_NAME']} vom {today.strftime('%d.%m.%Y')}.", ""]
    for title, items in sections:
        if items:
            lines += [f"{title} ({len(items)}):", *[f"  - {item}" for item in items], ""]
    if base:
        lines += [f"Alle Links mit Hinweisen: {base}/verwaltung/links", ""]
    lines += ["Diese E-Mail wurde automatisch erstellt."]
    message = EmailMessage()
    message["Subject"] = (f"{config['SITE_NAME']}: {len(digest.broken)} defekte Links, {len(digest.manual)} "
                          f"zum Prüfen, {len(digest.overdue)} fällige Einträge")
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
    messages = [render(d, config, today) for d in build_digests(session, config)]
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
