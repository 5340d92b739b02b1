"""Log-in with Flask-Login, API bearer tokens, CSRF, and the role checks every view uses."""

from __future__ import annotations


import hashlib
import re
import secrets
from collections.abc import Callable
from functools import cache, wraps
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from . import accounts, vocab
from .db import get_session, try_write
from .models import ApiToken, User, utcnow
from .params import parse_id

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
TOKEN_PREFIX = "atl_"


@cache
def _dummy_hash() -> str:
    """A fixed hash to compare against when the e-mail is unknown, so timing does not reveal accounts.

    Made on first use: scrypt costs every process start 0.1 s otherwise.
    """
    return generate_password_hash("not-a-real-password")


class UserError(ValueError):
    """A user operation that cannot be done; the message says why."""


def hash_password(password: str) -> str:
    """Hash a password with scrypt (werkzeug's default KDF)."""
    return generate_password_hash(password, method="scrypt")


def normalise_email(email: str) -> str:
    """Return an e-mail address trimmed and lower-cased."""
    return email.strip().lower()


def create_user(session: Session, email: str, role: str, name: str = "", password: str | None = None) -> User:
    """Add a user; raises UserError for an unknown role, a bad address or a duplicate."""
    email = normalise_email(email)
    if role not in vocab.ROLES:
        raise UserError(f"Unknown role {role!r}; use one of: {', '.join(vocab.ROLES)}.")
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise UserError(f"{email!r} is not an e-mail address.")
    if session.scalar(select(User).where(User.email == email)):
        raise UserError(f"A user with the e-mail address {email} already exists.")
    if password is not None:
        problems = accounts.password_problems(password, accounts.user_inputs(None, email, name))
        if problems:
            raise UserError(problems[0])
    user = User(email=email, role=role, name=name, password_hash=hash_password(password) if password else None)
    session.add(user)
    return user


def create_token(session: Session, user: User, name: str = "") -> str:
    """Create an API token for a user and return it; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=_token_hash(token), prefix=token[:12], name=name))
    return token


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the active user with this e-mail and password, else None."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or user.password_hash is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    number = parse_id(user_id)
    user = accounts.logged_in_user(get_session(), number) if number is not None else None
    if user is None:
        # Logged out elsewhere, revoked, expired or deactivated: the signed cookie alone is not enough.
        flask_session.clear()
        return None
    return user


@login_manager.request_loader
def _load_user_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    # Tokens are for scripts reading the API; they never log anyone in on HTML pages.
    if not header.startswith("Bearer ") or not (req.path == "/api/v1" or req.path.startswith("/api/")):
        return None
    session = get_session()
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(header[7:].strip())))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > accounts.TOUCH_EVERY:
        # Once a minute at most, and never waiting for another write's lock (as a log-in's last-seen time).
        try_write(session.get_bind(), update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return token.user


def role_required(*roles: str) -> Callable:
    """Allow a view only to logged-in users with one of the roles (any role when none given)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def is_staff() -> bool:
    """True when the current visitor may read internal data."""
    return bool(current_user.is_authenticated and current_user.role in vocab.ROLES)


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(_l("Bitte geben Sie Ihre E-Mail-Adresse ein.")),
                                                     Email(_l("Das ist keine gültige E-Mail-Adresse.")),
                                                     Length(max=254)])
    password = PasswordField(_l("Passwort"), validators=[DataRequired(_l("Bitte geben Sie Ihr Passwort ein.")),
                                                      Length(max=1000)])


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the log-in form and log a user in (throttled per account and per client address)."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        session = get_session()
        keys = accounts.login_keys(form.email.data or "")
        wait = accounts.wait_seconds(session, list(keys))
        user = None if wait else authenticate(session, form.email.data or "", form.password.data or "")
        if wait:
            form.password.errors = [_("Zu viele fehlgeschlagene Anmeldungen. Bitte warten Sie %(n)s Sekunden und "
                                      "versuchen Sie es dann noch einmal.", n=wait)]
            status = 429
        elif user is None:
            accounts.login_failed(session, keys)
            session.commit()
            form.password.errors = [_("E-Mail-Adresse oder Passwort ist falsch.")]
        else:
            accounts.login_succeeded(session, next(iter(keys)))
            user.last_login_at = utcnow()
            flask_session.clear()  # a fresh session: nothing from before the log-in survives
            login_user(user)
            accounts.start_session(session, user)
            accounts.prune_sessions(session)
            session.commit()
            flash(_("Sie sind angemeldet."), "success")
            home = url_for("curation.start") if user.role == "coordinator" else url_for("staff.dashboard")
            return redirect(safe_next(request.args.get("next")) or home)
    if form.errors and status == 200:
        status = 400
    return render_template("auth/login.html", form=form), status


_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]")


def safe_next(target: str | None) -> str | None:
    """A same-site path to go to after log-in, or None: normalise the way browsers do first, then check.

    Browsers drop tabs and newlines and read a backslash as a slash, so "/%09/evil.example" means
    "//evil.example"; percent-encoded slashes are decoded before the check too.
    """
    if not target:
        return None
    cleaned = _UNSAFE_IN_URL.sub("", unquote(target)).replace("\\", "/")
    if _UNSAFE_IN_URL.sub("", target).replace("\\", "/") != target or not cleaned.startswith("/"):
        return None
    parts = urlsplit(cleaned)
    if cleaned.startswith("//") or parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Log the current user out and end the log-in on the server too."""
    session = get_session()
    accounts.end_session(session)
    session.commit()
    logout_user()
    flask_session.clear()
    flash(_("Sie sind abgemeldet."), "success")
    return redirect(url_for("public.index"))


def init_app(app: Flask) -> None:
    """Register Flask-Login and CSRF protection (the read-only API is exempt: it uses bearer tokens)."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Bitte melden Sie sich an, um diese Seite zu sehen.")
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    app.jinja_env.globals["is_staff"] = is_staff
    app.before_request(_load_user_first)


def _load_user_first() -> None:
    """Resolve the user before any view runs: the session check may commit "last seen", which must not commit
    half-done work of a view that asks for current_user later."""
    if request.endpoint != "static":
        current_user._get_current_object()


def count_users(session: Session) -> int:
    """Return how many users exist."""
    return session.scalar(select(func.count(User.id))) or 0
