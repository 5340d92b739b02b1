"""Accounts: server-side sessions, throttles held in the database, the password policy, single-use form tokens.

Everything lives in the database so it holds across web workers and restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

import zxcvbn
from flask import current_app, request
from flask import session as cookie
from sqlalchemy import DateTime, ForeignKey, Integer, String, delete, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import NO_VALUE, NEVER_SET

from .db import Base, try_write
from .models import User, utcnow
from .safetext import _

SESSION_KEY = "_atlas_sid"
# Refresh "last seen" at most this often: a page view should not always write to the database.
TOUCH_EVERY = timedelta(seconds=60)
# Words a German atlas user is likely to build a password from; zxcvbn's lists are mostly English.
LOCAL_WORDS = ["passwort", "kennwort", "geheim", "hallo", "sommer", "winter", "herbst", "fruehling", "frühling",
               "schalke", "dortmund", "borussia", "jobcenter", "netzwerk", "netzwerkatlas", "atlas", "lotsin",
               "lotse", "koordination", "ennepe", "ruhr", "witten", "hagen", "iserlohn", "luedenscheid",
               "märkischer", "maerkisch", "deutschland", "schatz", "mausi", "willkommen", "qwertz"]
MIN_PASSWORD_LENGTH = 10
MIN_PASSWORD_SCORE = 3


class UserSession(Base):
    """One log-in: the cookie holds a random key, the database its hash, so logging out really ends it."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class Throttle(Base):
    """A counter per key (account, client address, sender) in a window, and how long the key must wait."""

    __tablename__ = "throttle"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime)


class UsedFormToken(Base):
    """A single-use form token that was spent (kept until the token would have expired anyway)."""

    __tablename__ = "used_form_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


def digest(text: str) -> str:
    """SHA-256 of a text, hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def keyed(text: str) -> str:
    """A keyed hash (HMAC with SECRET_KEY): counts a client address without storing it."""
    secret = current_app.config["SECRET_KEY"]
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def client_key(prefix: str) -> str:
    """A throttle key for the requesting client address."""
    return f"{prefix}:{keyed(request.remote_addr or '-')[:64]}"


# -- sessions ---------------------------------------------------------------------------------------------------

def start_session(db: Session, user: User, now: datetime | None = None) -> None:
    """Record a new log-in and put its key into the (signed) session cookie; the caller commits."""
    now = now or utcnow()
    key = secrets.token_urlsafe(32)
    db.add(UserSession(user_id=user.id, key_hash=digest(key), created_at=now, last_seen_at=now))
    cookie[SESSION_KEY] = key


def logged_in_user(db: Session, user_id: int, now: datetime | None = None) -> User | None:
    """The active user of the cookie's log-in while it is known, not revoked, and within the idle and absolute
    lifetimes, else None (one query: every staff page asks)."""
    key = cookie.get(SESSION_KEY)
    if not isinstance(key, str) or not key:
        return None
    found = db.execute(select(User, UserSession).join(UserSession, UserSession.user_id == User.id)
                       .where(UserSession.key_hash == digest(key), User.id == user_id)).first()
    now = now or utcnow()
    config = current_app.config
    if (found is None or not found[0].active or found[1].revoked_at is not None
            or now - found[1].last_seen_at > timedelta(hours=float(config["SESSION_IDLE_HOURS"]))
            or now - found[1].created_at > timedelta(hours=float(config["SESSION_MAX_HOURS"]))):
        return None
    if now - found[1].last_seen_at > TOUCH_EVERY:
        # Skipped while another write holds the lock (a bulk import on SQLite): a page view never waits for it,
        # and with an idle limit of hours the next request's touch is as good.
        try_write(db.get_bind(), update(UserSession).where(UserSession.id == found[1].id).values(last_seen_at=now))
    return found[0]


def end_session(db: Session) -> None:
    """Revoke the log-in of the current cookie; the caller commits."""
    key = cookie.pop(SESSION_KEY, None)
    if isinstance(key, str):
        db.execute(update(UserSession).where(UserSession.key_hash == digest(key), UserSession.revoked_at.is_(None))
                   .values(revoked_at=utcnow()))


def end_sessions(db: Session, user_id: int) -> int:
    """Revoke every log-in of a user (password, role or status changed); returns how many were open."""
    return db.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                      .values(revoked_at=utcnow())).rowcount or 0


def prune_sessions(db: Session, now: datetime | None = None) -> None:
    """Delete log-ins that ended or expired more than a day ago."""
    now = now or utcnow()
    oldest = now - timedelta(hours=float(current_app.config["SESSION_MAX_HOURS"]) + 24)
    db.execute(delete(UserSession).where(UserSession.created_at < oldest))


_WATCHED = ("password_hash", "role", "active")


def _mark_changed(target: User, value: Any, oldvalue: Any, _initiator: Any) -> None:
    if oldvalue is not NO_VALUE and oldvalue is not NEVER_SET and value != oldvalue:
        target.__dict__["_atlas_end_sessions"] = True


for _name in _WATCHED:
    event.listen(getattr(User, _name), "set", _mark_changed, active_history=True)


@event.listens_for(Session, "before_flush")
def _end_sessions_of_changed_users(db: Session, _ctx: Any, _instances: Any) -> None:
    """Any writer (admin page, CLI, hand-over) that changes a password, role or status ends that user's log-ins."""
    for obj in list(db.dirty):
        if isinstance(obj, User) and obj.__dict__.pop("_atlas_end_sessions", False) and obj.id is not None:
            end_sessions(db, obj.id)


# -- throttles --------------------------------------------------------------------------------------------------

def wait_seconds(db: Session, keys: list[str], now: datetime | None = None) -> int:
    """How long the longest-blocked of these keys must still wait (0: go ahead)."""
    now = now or utcnow()
    until = db.scalars(select(Throttle.blocked_until).where(Throttle.key.in_(keys))).all()
    return max([int((u - now).total_seconds()) + 1 for u in until if u is not None and u > now], default=0)


def _bump(db: Session, key: str, window: timedelta, now: datetime) -> Throttle:
    """Count one event for a key (a new window starts when the last one is over)."""
    row = db.scalar(select(Throttle).where(Throttle.key == key))
    if row is None:
        try:
            with db.begin_nested():
                row = Throttle(key=key, count=0, window_start=now)
                db.add(row)
        except IntegrityError:  # another worker created it a moment ago
            row = db.scalar(select(Throttle).where(Throttle.key == key))
    if now - row.window_start > window:
        row.count, row.window_start, row.blocked_until = 0, now, None
    db.execute(update(Throttle).where(Throttle.id == row.id).values(count=Throttle.count + 1))
    db.refresh(row)
    return row


def login_failed(db: Session, keys: dict[str, int], now: datetime | None = None) -> None:
    """Count a failed log-in for each key; past its free attempts a key waits, twice as long each time."""
    now = now or utcnow()
    config = current_app.config
    for key, free in keys.items():
        row = _bump(db, key, timedelta(hours=24), now)
        if row.count >= free:
            delay = min(float(config["LOGIN_MAX_DELAY"]), float(config["LOGIN_BASE_DELAY"]) * 2 ** (row.count - free))
            row.blocked_until = now + timedelta(seconds=delay)


def login_succeeded(db: Session, key: str) -> None:
    """Forget the failures of an account after a successful log-in."""
    db.execute(delete(Throttle).where(Throttle.key == key))


def login_keys(email: str) -> dict[str, int]:
    """The throttle keys of a log-in attempt and their free attempts: the account, and the client address."""
    config = current_app.config
    return {f"login-account:{digest(email.strip().lower())}": int(config["LOGIN_FREE_ATTEMPTS"]),
            client_key("login-address"): int(config["LOGIN_FREE_ATTEMPTS_PER_ADDRESS"])}


def allow(db: Session, key: str, limit: int, window_seconds: float, now: datetime | None = None) -> bool:
    """Count one event for a key; False once it had `limit` events within the window."""
    row = _bump(db, key, timedelta(seconds=window_seconds), now or utcnow())
    return row.count <= limit


# -- passwords --------------------------------------------------------------------------------------------------

def password_problems(password: str, user_inputs: list[str] | None = None) -> list[str]:
    """German reasons why a password is refused (empty: it is fine).

    Refused: shorter than 10 characters, on zxcvbn's offline lists of common passwords, names and words (MIT),
    built from the user's own name or address, or weaker than zxcvbn score 3 ("safely unguessable").
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return [_("Das Passwort muss mindestens %(n)s Zeichen haben.", n=MIN_PASSWORD_LENGTH)]
    if len(password) > 200:
        return [_("Das Passwort darf höchstens 200 Zeichen haben.")]
    folded = password.casefold()
    if any(len(w) >= 4 and w.casefold() in folded for w in user_inputs or []):
        return [_("Das Passwort darf weder Ihren Namen noch Ihre E-Mail-Adresse enthalten.")]
    inputs = [w for w in (user_inputs or []) if w] + LOCAL_WORDS
    result = zxcvbn.zxcvbn(password[:100], user_inputs=inputs)
    if result["score"] >= MIN_PASSWORD_SCORE:
        return []
    if any(m.get("pattern") == "dictionary" and m.get("dictionary_name") == "passwords" for m in result["sequence"]):
        return [_("Dieses Passwort steht auf der Liste häufig benutzter Passwörter. Bitte wählen Sie ein anderes.")]
    return [_("Das Passwort ist zu leicht zu erraten. Tipp: vier oder mehr zufällige Wörter, "
              "oder Buchstaben, Ziffern und Zeichen gemischt.")]


def user_inputs(user: User | None, email: str = "", name: str = "") -> list[str]:
    """Words from the account itself that a password must not be built from."""
    words = [email, name, *(email.split("@")[0].replace(".", " ").split())]
    if user is not None:
        words += [user.email, user.name, *user.email.split("@")[0].replace(".", " ").split()]
    return [w for w in words if w]


# -- single-use form tokens ---------------------------------------------------------------------------------------

def spend_token(db: Session, token: str, max_age_seconds: float, now: datetime | None = None) -> bool:
    """Mark a form token as used; False when it was used before. Spent tokens older than max_age are forgotten."""
    now = now or utcnow()
    db.execute(delete(UsedFormToken).where(UsedFormToken.used_at < now - timedelta(seconds=max_age_seconds)))
    try:
        with db.begin_nested():
            db.add(UsedFormToken(token_hash=digest(token), used_at=now))
    except IntegrityError:
        return False
    return True
