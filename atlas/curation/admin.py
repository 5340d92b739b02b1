"""Coordinator area, administration: categories, regions, Jobcenters, users, hand-over."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from .. import vocab
from ..auth import UserError, create_user, hash_password, role_required
from ..db import get_session
from ..geocoding import fold
from ..i18n import current_lang
from ..models import Jobcenter, Region, TaxonomyTerm, User
from . import operations as ops
from .admin_forms import HandOverForm, JobcenterForm, RegionForm, TermForm, UserForm, split_codes
from .forms import VersionForm, opts
from .views import acting, bp, get_or_404, me

PARENT_KIND = {"gemeinde": "kreis", "kreis": "bundesland", "bundesland": None}


def slugify(text: str) -> str:
    """A URL-safe key from a name: "Seelische Gesundheit" -> "seelische-gesundheit"."""
    return "-".join(fold(text).split())[:120] or "eintrag"


def _unique_slug(session: Session, model: Any, wanted: str, own_id: int | None) -> bool:
    return session.scalar(select(model.id).where(model.slug == wanted, model.id != (own_id or -1))) is None


# --- categories ---------------------------------------------------------------------------------------------


@bp.route("/kategorien")
@role_required("coordinator")
def terms() -> Any:
    """The two-level category tree with review intervals."""
    session = get_session()
    tops = session.scalars(
        select(TaxonomyTerm)
        .where(TaxonomyTerm.parent_id.is_(None))
        .options(selectinload(TaxonomyTerm.children))
        .order_by(TaxonomyTerm.sort_order)
    ).all()
    return render_template("curation/terms.html", tops=tops)


def _term_form_page(term: TaxonomyTerm | None) -> Any:
    session = get_session()
    form = TermForm(obj=term if request.method != "POST" else None)
    if term is None and request.method != "POST":
        form.parent_id.data = request.args.get("parent", type=int) or 0
    elif term is not None and request.method != "POST":
        form.parent_id.data = term.parent_id or 0
    tops = session.scalars(
        select(TaxonomyTerm)
        .where(TaxonomyTerm.parent_id.is_(None), TaxonomyTerm.id != (term.id if term else -1))
        .order_by(TaxonomyTerm.sort_order)
    ).all()
    lang = current_lang()
    form.parent_id.choices = opts(
        [(0, _("— keine (Oberkategorie) —"))] + [(t.id, t.label(lang)) for t in tops]
    )
    if request.method == "POST" and form.validate():
        slug = form.slug.data or (term.slug if term else slugify(form.name.data))
        if not _unique_slug(session, TaxonomyTerm, slug, term.id if term else None):
            form.slug.errors = [_("Diesen Kurznamen gibt es schon.")]
        elif term is not None and form.parent_id.data and term.children:
            form.parent_id.errors = [
                _("Diese Kategorie hat Unterkategorien und muss eine Oberkategorie bleiben.")
            ]
        else:
            acting(session)
            if term is None:
                term = TaxonomyTerm(slug=slug, name=form.name.data)
                session.add(term)
            ops.assign(
                term,
                {
                    "slug": slug,
                    "name": form.name.data,
                    "name_en": form.name_en.data or "",
                    "description": form.description.data,
                    "parent_id": form.parent_id.data or None,
                    "review_interval_months": form.review_interval_months.data,
                    "internal_only": form.internal_only.data,
                    "sort_order": form.sort_order.data or 0,
                },
            )
            session.commit()
            flash(_("Kategorie „%(name)s“ gespeichert.", name=term.name), "success")
            return redirect(url_for(".terms"))
    return render_template("curation/term_form.html", form=form, term=term), 400 if form.errors else 200


@bp.route("/kategorien/neu", methods=["GET", "POST"])
@role_required("coordinator")
def term_new() -> Any:
    """Create a category."""
    return _term_form_page(None)


@bp.route("/kategorien/<int:term_id>", methods=["GET", "POST"])
@role_required("coordinator")
def term_edit(term_id: int) -> Any:
    """Rename, move, or change the review interval of a category."""
    return _term_form_page(get_or_404(TaxonomyTerm, term_id))


# --- regions and Jobcenters ---------------------------------------------------------------------------------


@bp.route("/regionen")
@role_required("coordinator")
def regions() -> Any:
    """Bundesländer, Kreise and Gemeinden as a tree, and the Jobcenters."""
    session = get_session()
    lands = session.scalars(
        select(Region)
        .where(Region.parent_id.is_(None))
        .order_by(Region.name)
        .options(selectinload(Region.children).selectinload(Region.children))
    ).all()
    jobcenters = session.scalars(
        select(Jobcenter).options(selectinload(Jobcenter.regions)).order_by(Jobcenter.name)
    ).all()
    return render_template("curation/regions.html", lands=lands, jobcenters=jobcenters)


def _region_form_page(region: Region | None) -> Any:
    session = get_session()
    form = RegionForm(obj=region if request.method != "POST" else None)
    if request.method != "POST":
        form.parent_id.data = (region.parent_id if region else request.args.get("parent", type=int)) or 0
        if region is not None:
            form.postal_codes.data = ", ".join(region.postal_codes or [])
        else:
            form.kind.data = request.args.get("art", "gemeinde")
    candidates = session.scalars(
        select(Region)
        .where(Region.kind != "gemeinde", Region.id != (region.id if region else -1))
        .order_by(Region.kind, Region.name)
    ).all()
    lang = current_lang()
    form.parent_id.choices = opts(
        [(0, "—")]
        + [(r.id, f"{r.name} ({vocab.label(vocab.REGION_KINDS, r.kind, lang)})") for r in candidates]
    )
    if request.method == "POST" and form.validate():
        slug = form.slug.data or (region.slug if region else slugify(form.name.data))
        parent = session.get(Region, form.parent_id.data) if form.parent_id.data else None
        wanted_kind = PARENT_KIND[form.kind.data]
        if not _unique_slug(session, Region, slug, region.id if region else None):
            form.slug.errors = [_("Diesen Kurznamen gibt es schon.")]
        elif (parent.kind if parent else None) != wanted_kind:
            form.parent_id.errors = [
                _(
                    "Eine Gemeinde gehört zu einem Kreis, ein Kreis zu einem Bundesland; "
                    "ein Bundesland hat nichts darüber."
                )
            ]
        elif region is not None and region.children and form.kind.data != region.kind:
            form.kind.errors = [
                _("Diese Region hat untergeordnete Regionen; ihre Art kann nicht geändert werden.")
            ]
        else:
            acting(session)
            if region is None:
                region = Region(slug=slug, name=form.name.data, kind=form.kind.data)
                session.add(region)
            ops.assign(
                region,
                {
                    "kind": form.kind.data,
                    "slug": slug,
                    "name": form.name.data,
                    "ags": (form.ags.data or "").strip() or None,
                    "parent_id": parent.id if parent else None,
                    "latitude": form.latitude.data,
                    "longitude": form.longitude.data,
                },
            )
            codes = split_codes(form.postal_codes.data)
            if (region.postal_codes or []) != codes:
                region.postal_codes = codes
            session.commit()
            flash(_("Region „%(name)s“ gespeichert.", name=region.name), "success")
            return redirect(url_for(".regions"))
    return render_template("curation/region_form.html", form=form, region=region), 400 if form.errors else 200


@bp.route("/regionen/neu", methods=["GET", "POST"])
@role_required("coordinator")
def region_new() -> Any:
    """Create a region."""
    return _region_form_page(None)


@bp.route("/regionen/<int:region_id>", methods=["GET", "POST"])
@role_required("coordinator")
def region_edit(region_id: int) -> Any:
    """Edit a region."""
    return _region_form_page(get_or_404(Region, region_id))


def _jobcenter_form_page(jc: Jobcenter | None) -> Any:
    session = get_session()
    form = JobcenterForm(obj=jc if request.method != "POST" else None)
    if jc is not None and request.method != "POST":
        form.regions.data = [r.id for r in jc.regions]
    form.regions.choices = opts(
        [
            (r.id, f"{r.name} ({vocab.label(vocab.REGION_KINDS, r.kind, current_lang())})")
            for r in session.scalars(
                select(Region).where(Region.kind != "bundesland").order_by(Region.kind.desc(), Region.name)
            )
        ]
    )
    if request.method == "POST" and form.validate():
        slug = form.slug.data or (jc.slug if jc else slugify(form.short_name.data or form.name.data))
        if not _unique_slug(session, Jobcenter, slug, jc.id if jc else None):
            form.slug.errors = [_("Diesen Kurznamen gibt es schon.")]
        else:
            acting(session)
            if jc is None:
                jc = Jobcenter(slug=slug, name=form.name.data)
                session.add(jc)
            ops.assign(jc, {"slug": slug, "name": form.name.data, "short_name": form.short_name.data or ""})
            if {r.id for r in jc.regions} != set(form.regions.data or []):
                jc.regions = list(
                    session.scalars(select(Region).where(Region.id.in_(form.regions.data or [])))
                )
            session.commit()
            flash(_("Jobcenter „%(name)s“ gespeichert.", name=jc.name), "success")
            return redirect(url_for(".regions"))
    return render_template("curation/jobcenter_form.html", form=form, jc=jc), 400 if form.errors else 200


@bp.route("/jobcenter/neu", methods=["GET", "POST"])
@role_required("coordinator")
def jobcenter_new() -> Any:
    """Create a Jobcenter."""
    return _jobcenter_form_page(None)


@bp.route("/jobcenter/<int:jobcenter_id>", methods=["GET", "POST"])
@role_required("coordinator")
def jobcenter_edit(jobcenter_id: int) -> Any:
    """Edit a Jobcenter and its regions."""
    return _jobcenter_form_page(get_or_404(Jobcenter, jobcenter_id))


# --- users and hand-over ------------------------------------------------------------------------------------


@bp.route("/nutzer")
@role_required("coordinator")
def users() -> Any:
    """Everyone who can log in (or could), with what they are responsible for."""
    session = get_session()
    people = session.scalars(
        select(User).order_by(User.active.desc(), func.lower(User.name), User.email)
    ).all()
    loads = {u.id: ops.responsibilities(session, u) for u in people}
    return render_template("curation/users.html", people=people, loads=loads, plain_form=VersionForm())


def _user_form_page(user: User | None) -> Any:
    session = get_session()
    form = UserForm(obj=user if request.method != "POST" else None)
    if request.method == "POST" and form.validate():
        try:
            acting(session)
            if user is None:
                user = create_user(
                    session, form.email.data, form.role.data, form.name.data or "", form.password.data or None
                )
            else:
                ops.update_user(
                    session,
                    user,
                    me(),
                    form.email.data,
                    form.name.data or "",
                    form.role.data,
                    hash_password(form.password.data) if form.password.data else None,
                )
            session.commit()
            flash(_("Konto %(email)s gespeichert.", email=user.email), "success")
            return redirect(url_for(".users"))
        except UserError as exc:
            session.rollback()
            form.email.errors = [
                _("Es gibt bereits ein Konto mit dieser Adresse.")
                if "exists" in str(exc) or "bereits" in str(exc)
                else str(exc)
            ]
        except ops.CurationError as exc:
            session.rollback()
            form.role.errors = [str(exc)]
    load = ops.responsibilities(session, user) if user is not None else None
    return render_template(
        "curation/user_form.html", form=form, user=user, load=load, plain_form=VersionForm()
    ), 400 if form.errors else 200


@bp.route("/nutzer/neu", methods=["GET", "POST"])
@role_required("coordinator")
def user_new() -> Any:
    """Create an account."""
    return _user_form_page(None)


@bp.route("/nutzer/<int:user_id>", methods=["GET", "POST"])
@role_required("coordinator")
def user_edit(user_id: int) -> Any:
    """Change name, address, role or password of an account."""
    return _user_form_page(get_or_404(User, user_id))


@bp.route("/nutzer/<int:user_id>/deaktivieren", methods=["POST"])
@role_required("coordinator")
def user_deactivate(user_id: int) -> Any:
    """Deactivate an account; with responsibilities left, go to the hand-over first."""
    session = get_session()
    user = get_or_404(User, user_id)
    if not VersionForm().validate():
        abort(400)
    try:
        acting(session)
        ops.deactivate_user(session, user, me())
        session.commit()
        flash(_("Konto %(email)s deaktiviert.", email=user.email), "success")
    except ops.CurationError:
        session.rollback()
        if user.id == me().id:
            flash(_("Sie können Ihr eigenes Konto nicht deaktivieren."), "error")
            return redirect(url_for(".users"))
        flash(
            _(
                "%(name)s ist noch für Einträge oder Aufgaben verantwortlich. Bitte übergeben Sie diese zuerst.",
                name=user.display_name,
            ),
            "error",
        )
        return redirect(url_for(".hand_over", user_id=user.id))
    return redirect(url_for(".users"))


@bp.route("/nutzer/<int:user_id>/aktivieren", methods=["POST"])
@role_required("coordinator")
def user_activate(user_id: int) -> Any:
    """Re-activate an account."""
    session = get_session()
    user = get_or_404(User, user_id)
    if not VersionForm().validate():
        abort(400)
    acting(session)
    user.active = True
    session.commit()
    flash(_("Konto %(email)s ist wieder aktiv.", email=user.email), "success")
    return redirect(url_for(".users"))


@bp.route("/nutzer/<int:user_id>/uebergabe", methods=["GET", "POST"])
@role_required("coordinator")
def hand_over(user_id: int) -> Any:
    """Move all entries and open tasks of one person to another in one step (optionally deactivating the account)."""
    session = get_session()
    source = get_or_404(User, user_id)
    form = HandOverForm()
    targets = session.scalars(
        select(User)
        .where(User.role == "coordinator", User.active.is_(True), User.id != source.id)
        .order_by(User.name)
    ).all()
    form.target_id.choices = opts(
        [(0, _("— bitte wählen —"))] + [(u.id, f"{u.display_name} ({u.email})") for u in targets]
    )
    if request.method == "POST" and form.validate():
        target = session.get(User, form.target_id.data)
        try:
            actor = acting(session)
            result = ops.hand_over(session, source, target)
            if form.deactivate.data:
                ops.deactivate_user(session, source, actor)
            ops.commit(session)
        except (ops.CurationError, ops.Conflict) as exc:
            session.rollback()
            form.target_id.errors = [
                str(exc) or _("Ein Eintrag wurde währenddessen geändert. Bitte noch einmal.")
            ]
        else:
            flash(
                _(
                    "Übergeben an %(name)s: %(o)s Einträge als Verantwortliche*r, %(d)s als Vertretung, %(t)s Aufgaben.",
                    name=target.display_name,
                    o=result.owner,
                    d=result.deputy,
                    t=result.tasks,
                ),
                "success",
            )
            if result.deputies_cleared:
                flash(
                    _(
                        "%(n)s Einträge haben jetzt keine Vertretung mehr (die übernehmende Person war dort Vertretung).",
                        n=result.deputies_cleared,
                    ),
                    "warning",
                )
            if form.deactivate.data:
                flash(_("Konto %(email)s deaktiviert.", email=source.email), "success")
            return redirect(url_for(".users"))
    return render_template(
        "curation/handover.html", form=form, source=source, load=ops.responsibilities(session, source)
    ), 400 if form.errors else 200
