"""Log-in with Flask-Login, API bearer tokens, CSRF, and the role checks every view uses."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from . import vocab
from .db import get_session
from .models import ApiToken, User, utcnow

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
TOKEN_PREFIX = "atl_"
# A fixed hash to compare against when the e-mail is unknown, so timing does not reveal accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


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
    if password is not None and len(password) < 10:
        raise UserError("The password must have at least 10 characters.")
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
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = get_session().get(User, int(user_id)) if user_id.isdigit() else None
    return user if user and user.active else None


@login_manager.request_loader
def _load_user_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    session = get_session()
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(header[7:].strip())))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    token.last_used_at = utcnow()
    session.commit()
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
    """Show the log-in form and log a user in."""
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        user = authenticate(session, form.email.data or "", form.password.data or "")
        if user is None:
            form.password.errors = [_("E-Mail-Adresse oder Passwort ist falsch.")]
        else:
            user.last_login_at = utcnow()
            session.commit()
            login_user(user)
            flash(_("Sie sind angemeldet."), "success")
            home = url_for("curation.start") if user.role == "coordinator" else url_for("staff.dashboard")
            return redirect(_safe_next(request.args.get("next")) or home)
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


def _safe_next(target: str | None) -> str | None:
    """Allow only same-site relative redirects after log-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Log the current user out."""
    logout_user()
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


def count_users(session: Session) -> int:
    """Return how many users exist."""
    return session.scalar(select(func.count(User.id))) or 0
