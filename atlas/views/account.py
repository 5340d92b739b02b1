"""/konto: change one's own password and manage one's API tokens; /verwaltung/zugaenge: every token (coordinators)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from .. import accounts
from ..auth import create_token, hash_password, role_required
from ..db import get_session
from ..models import ApiToken, User, utcnow

bp = Blueprint("account", __name__)


class PasswordForm(FlaskForm):
    """Current password, new password twice."""

    current = PasswordField(_l("Bisheriges Passwort"), validators=[DataRequired(_l("Bitte geben Sie Ihr bisheriges Passwort ein.")),
                                                                  Length(max=1000)])
    new = PasswordField(_l("Neues Passwort"), validators=[DataRequired(_l("Bitte geben Sie ein neues Passwort ein.")),
                                                         Length(max=200)])
    repeat = PasswordField(_l("Neues Passwort wiederholen"),
                           validators=[EqualTo("new", _l("Die beiden neuen Passwörter stimmen nicht überein."))])


class TokenForm(FlaskForm):
    """What a new token is for."""

    name = StringField(_l("Wofür ist der Zugang?"), validators=[DataRequired(_l("Bitte geben Sie einen Namen an.")),
                                                                 Length(max=200)])


def visible_tokens(db: Session, user: User | None) -> list[ApiToken]:
    """Tokens of one user (or of everyone), newest first."""
    stmt = select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.revoked_at.is_not(None),
                                                                          ApiToken.created_at.desc())
    if user is not None:
        stmt = stmt.where(ApiToken.user_id == user.id)
    return list(db.scalars(stmt))


def revoke_token(db: Session, token: ApiToken) -> bool:
    """Revoke a token; False when it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    return True


def _page(password_form: PasswordForm, token_form: TokenForm, new_token: str | None = None, status: int = 200) -> Any:
    return render_template("account/account.html", password_form=password_form, token_form=token_form,
                           tokens=visible_tokens(get_session(), current_user), new_token=new_token), status


@bp.route("/konto", methods=["GET", "POST"])
@role_required()
def account() -> Any:
    """Change one's own password (other log-ins of the account end)."""
    form, token_form = PasswordForm(prefix="pw"), TokenForm(prefix="tok", formdata=None)
    if not form.validate_on_submit():
        return _page(form, token_form, status=400 if form.errors else 200)
    db = get_session()
    user = db.get(User, current_user.id)
    if not user.password_hash or not check_password_hash(user.password_hash, form.current.data or ""):
        form.current.errors = [_("Das bisherige Passwort stimmt nicht.")]
        return _page(form, token_form, status=400)
    problems = accounts.password_problems(form.new.data or "", accounts.user_inputs(user))
    if problems:
        form.new.errors = problems
        return _page(form, token_form, status=400)
    user.password_hash = hash_password(form.new.data)
    db.flush()  # ends every log-in of the account, this one included ...
    accounts.start_session(db, user)  # ... and this browser gets a fresh one
    db.commit()
    flash(_("Ihr Passwort ist geändert. Andere Anmeldungen mit Ihrem Konto sind beendet."), "success")
    return redirect(url_for(".account"))


@bp.route("/konto/zugaenge", methods=["POST"])
@role_required()
def create_api_token() -> Any:
    """Create an API token for oneself; it is shown exactly once."""
    form = TokenForm(prefix="tok")
    if not form.validate_on_submit():
        return _page(PasswordForm(prefix="pw", formdata=None), form, status=400)
    db = get_session()
    token = create_token(db, db.get(User, current_user.id), form.name.data.strip())
    db.commit()
    return _page(PasswordForm(prefix="pw", formdata=None), TokenForm(prefix="tok", formdata=None), new_token=token)


@bp.route("/konto/zugaenge/<int:token_id>/widerrufen", methods=["POST"])
@role_required()
def revoke(token_id: int) -> Any:
    """Revoke a token: one's own, or any token for coordinators."""
    db = get_session()
    token = db.get(ApiToken, token_id)
    if token is None or not FlaskForm().validate_on_submit():
        abort(404 if token is None else 400)
    if token.user_id != current_user.id and not current_user.is_coordinator:
        abort(403)
    if revoke_token(db, token):
        db.commit()
        flash(_("Der Zugang „%(name)s“ ist widerrufen.", name=token.name or token.prefix), "success")
    back = request.form.get("zurueck")
    return redirect(url_for(".all_tokens") if back == "alle" else url_for(".account"))


@bp.route("/verwaltung/zugaenge")
@role_required("coordinator")
def all_tokens() -> Any:
    """Every API token with its owner and last use (coordinators)."""
    return render_template("account/tokens.html", tokens=visible_tokens(get_session(), None))
