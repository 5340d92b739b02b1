"""Coordinator area /verwaltung: start page, review queue, organisations, offers, locations, history, merge."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from wtforms import Field, FieldList, SelectChoice

from .. import sessions, validity
from ..audit import set_actor
from ..auth import login_manager, role_required
from ..db import get_session
from ..duplicates import find_duplicates
from ..i18n import current_lang
from ..models import (
    Contact,
    Jobcenter,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceSession,
    TaxonomyTerm,
    User,
)
from ..params import int_arg, parse_id, str_arg
from ..review import open_tasks_for
from . import history as hist
from . import operations as ops
from .forms import (
    EntryForm,
    NoteForm,
    OrganizationForm,
    ServiceForm,
    VersionForm,
    opts,
)
from .labels import field_label
from .models import PublicReport
from .ownership import responsible

bp = Blueprint("curation", __name__, url_prefix="/verwaltung")
BLANK_ROWS = 2
Record = Organization | Service | Location


@bp.before_request
def coordinators_only() -> Any:
    """Every route of the area is for coordinators (the decorators say so too; this catches any forgotten one)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role != "coordinator":
        abort(403)
    return None


def me() -> User:
    """The logged-in coordinator as a model attached to this request's session."""
    return get_session().get(User, current_user.id)


def acting(session: Session) -> User:
    """Record the current user as the actor of the changes about to be made, and return them."""
    set_actor(session, current_user.email, current_user.id)
    return me()


def today() -> date:
    """Today's date in Europe/Berlin (one place, so tests and views agree)."""
    return validity.today()


def get_or_404(model: Any, ident: int) -> Any:
    """Load a record or answer 404."""
    found = get_session().get(model, ident)
    if found is None:
        abort(404)
    return found


def mark_value(raw: Any) -> int | None:
    """The audit mark a form carried, None when missing or malformed."""
    return parse_id(raw)


def ensure_unchanged(
    session: Session, record: Record, version: Any, mark: Any, need_mark: bool = False
) -> None:
    """Raise Conflict when the record (or its rows) changed since the form was loaded."""
    if not isinstance(record, Location):
        ops.check_version(record, version)
    since = mark_value(mark)
    if since is None and need_mark:
        raise ops.Conflict()
    if since is not None and hist.related_rows(session, record, since, limit=1):
        raise ops.Conflict()


def conflict_view(session: Session, record: Record, form: Any, since: Any) -> dict[str, Any]:
    """What others changed since the form was loaded, and where the user's input differs from what is stored now."""
    rows = hist.history(session, record, mark_value(since) or 0, limit=100)
    kind = hist.entity_type(record)
    fields = {c.field for r in rows if r.row.entity_type == kind for c in r.changes}
    mine = []
    for name in sorted(fields):
        if name in form and not isinstance(form[name], FieldList):
            stored = hist.format_value(session, name, hist.current_plain(record, name))
            typed = hist.format_value(session, name, _plain_input(session, form[name]))
            if stored != typed:
                mine.append({"label": field_label(name), "stored": stored, "typed": typed})
    return {"rows": rows, "mine": mine}


def _plain_input(session: Session, field: Field) -> Any:
    """A submitted value in the shape the audit log stores (ISO dates, slugs for categories, None for nobody)."""
    value = field.data
    if field.name in hist.COLLECTION_MODELS:
        model = hist.COLLECTION_MODELS[field.name]
        return sorted(session.scalars(select(model.slug).where(model.id.in_(value or []))))
    if isinstance(value, date):
        return value.isoformat()
    if value in ("", 0) and field.name.endswith("_id"):
        return None
    return value


def refresh_form_version(session: Session, record: Record, form: Any) -> None:
    """Point a re-rendered form at the current version, so saving again applies the user's input knowingly."""
    if hasattr(form, "version_id") and not isinstance(record, Location):
        form.version_id.data = record.version_id
    form.audit_mark.data = ops.audit_mark(session)


def people_choices(session: Session, *keep: int | None) -> list:
    """Owner/deputy choices: active coordinators, plus whoever is set now."""
    users = session.scalars(
        select(User)
        .where(
            or_(User.role == "coordinator", User.id.in_([k for k in keep if k])),
            or_(User.active.is_(True), User.id.in_([k for k in keep if k])),
        )
        .order_by(User.name, User.email)
    )
    return opts(
        [(0, _("— niemand —"))]
        + [(u.id, f"{u.display_name} ({u.email})" + ("" if u.active else _(" – deaktiviert"))) for u in users]
    )


def setup_entry_form(session: Session, form: EntryForm, entry: Organization | Service | None) -> None:
    """Fill the owner/deputy choices of an entry form."""
    current = (entry.owner_id, entry.deputy_id) if entry is not None else ()
    form.owner_id.choices = form.deputy_id.choices = people_choices(session, *current)
    form.current_people = current or (None, None)


def setup_service_form(session: Session, form: ServiceForm, svc: Service | None) -> None:
    """Fill the choices of an offer form (organisations, categories, Jobcenters, locations)."""
    setup_entry_form(session, form, svc)
    for people in (form.owner_id, form.deputy_id):
        people.choices[0] = SelectChoice(0, _("— wie bei der Organisation —"))
    orgs = session.scalars(
        select(Organization)
        .where(
            or_(Organization.archived_at.is_(None), Organization.id == (svc.organization_id if svc else -1))
        )
        .order_by(func.lower(Organization.name))
    )
    form.organization_id.choices = opts([(0, _("— bitte wählen —"))] + [(o.id, o.name) for o in orgs])
    terms = session.scalars(
        select(TaxonomyTerm)
        .where(TaxonomyTerm.parent_id.is_not(None))
        .options(selectinload(TaxonomyTerm.parent))
        .order_by(TaxonomyTerm.sort_order)
    )
    lang = current_lang()
    form.categories.choices = opts(
        sorted(((t.id, f"{t.parent.label(lang)} › {t.label(lang)}") for t in terms), key=lambda c: c[1])
    )
    top_ids = session.scalars(select(TaxonomyTerm).where(TaxonomyTerm.parent_id.is_(None))).all()
    form.categories.choices += opts([(t.id, t.label(lang)) for t in top_ids if not t.children])
    form.jobcenters.choices = opts(
        [(j.id, j.name) for j in session.scalars(select(Jobcenter).order_by(Jobcenter.name))]
    )
    org_ids = {svc.organization_id} if svc else set()
    submitted = request.form.get("organization_id") or request.args.get("organisation")
    if parse_id(submitted) is not None:
        org_ids.add(parse_id(submitted))
    linked = {sal.location_id for sal in svc.service_at_locations} if svc else set()
    locations = session.scalars(
        select(Location)
        .where(
            or_(
                Location.organization_id.in_(org_ids or {-1}) & Location.archived_at.is_(None),
                Location.id.in_(linked or {-1}),
            )
        )
        .options(selectinload(Location.address))
        .order_by(Location.id)
    )
    form.locations.choices = opts([(loc.id, location_label(loc)) for loc in locations])


def location_label(loc: Location) -> str:
    """A location's name and address on one line."""
    parts = [loc.name, loc.address.one_line() if loc.address else _("online")]
    return " – ".join(p for p in parts if p)


def entry_data(entry: Organization | Service, fields: tuple[str, ...]) -> dict[str, Any]:
    """Form data of an entry for GET requests."""
    data = {name: getattr(entry, name) for name in fields}
    data |= {
        "owner_id": entry.owner_id or 0,
        "deputy_id": entry.deputy_id or 0,
        "version_id": entry.version_id,
        "audit_mark": ops.audit_mark(get_session()),
    }
    return {k: ("" if v is None and k not in ("valid_from", "valid_to") else v) for k, v in data.items()}


def phone_rows(phones: list[Phone]) -> list[dict[str, Any]]:
    """Phone rows for a form."""
    return [
        {"id": p.id, **{k: getattr(p, k) or "" for k in ops.PHONE_FIELDS}}
        for p in sorted(phones, key=lambda p: p.id)
    ]


def schedule_rows(schedules: list[Schedule]) -> list[dict[str, Any]]:
    """Opening-hours rows for a form."""
    rows = []
    for s in sorted(schedules, key=lambda s: s.id):
        row = {"id": s.id, **{k: getattr(s, k) for k in ops.SCHEDULE_FIELDS}}
        row["byday"] = [d for d in s.byday.split(",") if d]
        rows.append(
            {k: ("" if v is None and k not in ("valid_from", "valid_to") else v) for k, v in row.items()}
        )
    return rows


def session_rows(items: list[ServiceSession]) -> list[dict[str, Any]]:
    """Session rows for a form: from two weeks back on (older ones stay stored, for history and export)."""
    since = sessions.now().date() - timedelta(days=14)
    return [{"id": s.id, **{k: getattr(s, k) if k == "starts_on" else getattr(s, k) or "" for k in ops.SESSION_FIELDS}}
            for s in items if s.starts_on >= since]


def read_sessions(fieldlist: FieldList) -> list[ops.RowData]:
    """Submitted session rows; a new row with "wöchentlich wiederholen bis" becomes one row per week."""
    rows = []
    for entry, row in zip(fieldlist.entries, read_rows(fieldlist, ops.SESSION_FIELDS)):
        until = entry.form.repeat_until.data
        if row.id is None and until and not row.remove and not row.blank and row.values["starts_on"]:
            rows += [ops.RowData(None, False, row.values | {"starts_on": day})
                     for day in sessions.weekly(row.values["starts_on"], until)]
        else:
            rows.append(row)
    return rows


def contact_rows(contacts: list[Contact]) -> list[dict[str, Any]]:
    """Contact rows for a form."""
    return [
        {"id": c.id, **{k: getattr(c, k) or "" for k in ops.CONTACT_FIELDS}}
        for c in sorted(contacts, key=lambda c: c.id)
    ]


def add_blank_rows(form: Any, count: int = BLANK_ROWS) -> None:
    """Offer empty rows for new phones, hours and contacts (no JavaScript needed)."""
    for name in ("phones", "schedules", "sessions", "contacts"):
        if name in form:
            # One empty row below existing ones keeps the form short; an empty list gets the full count.
            for _i in range(1 if form[name].entries and count > 1 else count):
                form[name].append_entry()


def read_rows(fieldlist: FieldList, fields: tuple[str, ...]) -> list[ops.RowData]:
    """Submitted rows of a list as plain data."""
    rows = []
    for entry in fieldlist.entries:
        sub = entry.form
        values = {name: sub[name].data for name in fields}
        if "byday" in values:
            days = set(values["byday"] or [])
            values["byday"] = ",".join(d for d in ("MO", "TU", "WE", "TH", "FR", "SA", "SU") if d in days)
        rows.append(ops.RowData(sub.row_id(), bool(sub.remove.data), values, sub.is_blank()))
    return rows


def apply_rows(session: Session, owner: Organization | Service | Location, form: Any) -> None:
    """Apply the phone, hours and contact rows of a form to their owner (flushed first, so new rows get its key)."""
    if owner.id is None:
        session.flush()
    key = {f"{owner.__tablename__}_id": owner.id}
    if "phones" in form:
        ops.sync_rows(owner.phones, read_rows(form.phones, ops.PHONE_FIELDS), Phone, **key)
    if "schedules" in form:
        ops.sync_rows(owner.schedules, read_rows(form.schedules, ops.SCHEDULE_FIELDS), Schedule, **key)
    if "sessions" in form:
        ops.sync_rows(owner.sessions, read_sessions(form.sessions), ServiceSession, **key)
    if "contacts" in form:
        ops.sync_rows(owner.contacts, read_rows(form.contacts, ops.CONTACT_FIELDS), Contact, **key)


def source_taken(session: Session, model: Any, form: Any, record_id: int | None) -> bool:
    """True (with a message at the field) when another record has the same source name and id."""
    name, ident = form.source_name.data or None, form.source_id.data or None
    if not name or not ident:
        return False
    other = session.scalar(
        select(model.id).where(
            model.source_name == name, model.source_id == ident, model.id != (record_id or -1)
        )
    )
    if other:
        form.source_id.errors = list(form.source_id.errors) + [
            _("Ein anderer Eintrag (#%(id)s) hat schon diese Kennung in dieser Quelle.", id=other)
        ]
        return True
    return False


def error_status(form: Any) -> int:
    """400 for a form with errors."""
    return 400 if form.errors else 200


# --- reports ----------------------------------------------------------------------------------------------


@bp.route("/meldungen")
@role_required("coordinator")
def reports() -> Any:
    """Public error reports, open ones first."""
    session = get_session()
    status = str_arg("status", 20) or "offen"
    stmt = (
        select(PublicReport)
        .options(selectinload(PublicReport.service))
        .order_by(PublicReport.created_at.desc())
    )
    if status in ("offen", "erledigt"):
        stmt = stmt.where(PublicReport.status == status)
    return render_template(
        "curation/reports.html",
        reports=session.scalars(stmt.limit(500)).all(),
        status=status,
        note_form=NoteForm(),
    )


@bp.route("/meldungen/<int:report_id>/erledigt", methods=["POST"])
@role_required("coordinator")
def resolve_report(report_id: int) -> Any:
    """Close a public report (and its task) with a note."""
    session = get_session()
    report = get_or_404(PublicReport, report_id)
    form = NoteForm()
    if not form.validate():
        flash(" ".join(form.note.errors), "error")
    elif report.status != "erledigt":
        ops.resolve_report(session, report, acting(session), form.note.data or None)
        session.commit()
        flash(_("Meldung erledigt."), "success")
    return redirect(url_for(".reports"))


# --- organisations ------------------------------------------------------------------------------------------


def _org_form(org: Organization | None) -> OrganizationForm:
    if request.method == "POST":
        return OrganizationForm()
    if org is None:
        form = OrganizationForm(
            data={
                "owner_id": current_user.id,
                "visibility": "public",
                "audit_mark": ops.audit_mark(get_session()),
            }
        )
    else:
        form = OrganizationForm(
            data=entry_data(org, ops.ORG_FIELDS)
            | {"phones": phone_rows(org.phones), "contacts": contact_rows(org.contacts)}
        )
    add_blank_rows(form)
    return form


def _duplicates(
    session: Session, kind: str, form: Any, exclude_id: int | None = None, city: str | None = None
) -> list:
    phones = [e.form.number.data for e in form.phones.entries if e.form.number.data]
    urls = [u for u in ((form.website.data if kind == "organization" else form.url.data),) if u]
    return find_duplicates(
        session, kind, form.name.data or "", city=city, phones=phones, urls=urls, exclude_id=exclude_id
    )


def _apply_org(session: Session, form: OrganizationForm, org: Organization) -> None:
    # No autoflush: a new entry is inserted once, complete, so its "created" history row holds every value.
    with session.no_autoflush:
        ops.assign(org, {name: form[name].data for name in ops.ORG_FIELDS})
        ops.set_people(session, org, form.owner_id.data, form.deputy_id.data)
        apply_rows(session, org, form)
        ops.touch_if_changed(session, org)


@bp.route("/organisationen/neu", methods=["GET", "POST"])
@role_required("coordinator")
def organization_new() -> Any:
    """Create an organisation; warns when it looks like an existing one."""
    session = get_session()
    form = _org_form(None)
    setup_entry_form(session, form, None)
    duplicates: list = []
    if (
        request.method == "POST"
        and "more_rows" not in request.form
        and form.validate()
        and not source_taken(session, Organization, form, None)
    ):
        choice = request.form.get("duplicates", "")
        duplicates = [] if choice else _duplicates(session, "organization", form)
        if not duplicates:
            org = Organization(name=form.name.data)
            session.add(org)
            acting(session)
            _apply_org(session, form, org)
            session.commit()
            flash(_("Organisation „%(name)s“ angelegt.", name=org.name), "success")
            return _after_create("organization", org, choice)
    if "more_rows" in request.form:
        add_blank_rows(form, 1)
    return render_template(
        "curation/organization_form.html", form=form, org=None, duplicates=duplicates
    ), error_status(form)


def _after_create(kind: str, entry: Organization | Service, choice: str) -> Any:
    """After "create anyway": open the new entry, or the merge page when the user chose to merge."""
    if choice.startswith("merge:") and parse_id(choice[6:]) is not None:
        endpoint = ".merge_organizations" if kind == "organization" else ".merge_services"
        return redirect(url_for(endpoint, keep_id=parse_id(choice[6:]), dup_id=entry.id))
    return redirect(
        url_for(
            ".organization_edit" if kind == "organization" else ".service_edit",
            **{("org_id" if kind == "organization" else "service_id"): entry.id},
        )
    )


@bp.route("/organisationen/<int:org_id>", methods=["GET", "POST"])
@role_required("coordinator")
def organization_edit(org_id: int) -> Any:
    """Edit an organisation with its phones and contact persons; detects concurrent changes."""
    session = get_session()
    org = get_or_404(Organization, org_id)
    form = _org_form(org)
    setup_entry_form(session, form, org)
    duplicates = _duplicates(session, "organization", form, org.id) if request.args.get("dubletten") else []
    saved, conflict = _save_entry(session, form, org, _apply_org)
    if saved:
        return redirect(url_for(".organization_edit", org_id=org.id))
    status = 409 if conflict else error_status(form)
    return render_template(
        "curation/organization_form.html",
        form=form,
        org=org,
        conflict=conflict,
        duplicates=duplicates,
        version_form=VersionForm(data={"version_id": org.version_id}),
        services=sorted(org.services, key=lambda s: s.name.lower()),
        locations=org.locations,
        responsible=responsible(org),
    ), status


def _save_entry(session: Session, form: Any, entry: Organization | Service, apply: Any) -> tuple[bool, Any]:
    """Validate and save an edit form unless the entry changed meanwhile: (saved, conflict view or None)."""
    conflict = None
    model = type(entry)
    if (
        request.method == "POST"
        and "more_rows" not in request.form
        and form.validate()
        and not source_taken(session, model, form, entry.id)
    ):
        try:
            ensure_unchanged(session, entry, form.version_id.data, form.audit_mark.data)
            acting(session)
            apply(session, form, entry)
            ops.commit(session)
            flash(_("Gespeichert."), "success")
            return True, None
        except ops.Conflict:
            session.rollback()
            conflict = conflict_view(session, entry, form, form.audit_mark.data)
            refresh_form_version(session, entry, form)
    if "more_rows" in request.form:
        add_blank_rows(form, 1)
    return False, conflict


def _service_form(svc: Service | None) -> ServiceForm:
    if request.method == "POST":
        return ServiceForm()
    if svc is None:
        org_id = int_arg("organisation", 0, 0)
        form = ServiceForm(
            data={
                "owner_id": current_user.id,
                "visibility": "public",
                "status": "aktiv",
                "intake_status": "unbekannt",
                "organization_id": org_id,
                "audit_mark": ops.audit_mark(get_session()),
            }
        )
    else:
        data = entry_data(svc, ops.SERVICE_FIELDS) | {
            "organization_id": svc.organization_id,
            "categories": [t.id for t in svc.categories],
            "jobcenters": [j.id for j in svc.jobcenters],
            "locations": [s.location_id for s in svc.service_at_locations],
            "phones": phone_rows(svc.phones),
            "schedules": schedule_rows(svc.schedules),
            "sessions": session_rows(svc.sessions),
            "contacts": contact_rows(svc.contacts),
        }
        for name in (
            "waiting_time_confirmed_at",
            "intake_status_confirmed_at",
            "opening_hours_confirmed_at",
            "assured_date",
        ):
            data[name] = getattr(svc, name)
        form = ServiceForm(data=data)
    add_blank_rows(form)
    return form


def _apply_service(session: Session, form: ServiceForm, svc: Service) -> None:
    with session.no_autoflush:
        before = ops.fact_state(svc)
        ops.assign(svc, {name: form[name].data for name in ops.SERVICE_FIELDS})
        if svc.organization_id != form.organization_id.data:
            ops.link(svc, "organization", session.get(Organization, form.organization_id.data))
        ops.set_people(session, svc, form.owner_id.data, form.deputy_id.data)
        ops.set_terms(session, svc, form.categories.data or [], form.jobcenters.data or [])
        apply_rows(session, svc, form)
        ops.set_locations(session, svc, form.locations.data or [])
        unconfirmed = {fact for fact in ops.FACT_NAMES if form[f"{fact}_unconfirmed"].data}
        ops.confirm_changed_facts(svc, before, unconfirmed, today())
        if request.form.get("aktuell") in ops.FACTS:  # "… ist aktuell" beside a fact: save and confirm it today
            ops.confirm_fact(svc, request.form["aktuell"], today())
        ops.touch_if_changed(session, svc)


def _service_city(session: Session, form: ServiceForm) -> str | None:
    for loc_id in form.locations.data or []:
        loc = session.get(Location, loc_id)
        if loc is not None and loc.address is not None:
            return loc.address.city
    return None


@bp.route("/angebote/neu", methods=["GET", "POST"])
@role_required("coordinator")
def service_new() -> Any:
    """Create an offer; warns when it looks like an existing one."""
    session = get_session()
    form = _service_form(None)
    setup_service_form(session, form, None)
    duplicates: list = []
    if (
        request.method == "POST"
        and "more_rows" not in request.form
        and form.validate()
        and not source_taken(session, Service, form, None)
    ):
        choice = request.form.get("duplicates", "")
        duplicates = (
            [] if choice else _duplicates(session, "service", form, city=_service_city(session, form))
        )
        if not duplicates:
            org = session.get(Organization, form.organization_id.data)
            svc = Service(name=form.name.data, organization=org, organization_id=org.id)
            session.add(svc)
            acting(session)
            _apply_service(session, form, svc)
            session.commit()
            flash(_("Angebot „%(name)s“ angelegt.", name=svc.name), "success")
            return _after_create("service", svc, choice)
    if "more_rows" in request.form:
        add_blank_rows(form, 1)
    return render_template(
        "curation/service_form.html", form=form, svc=None, duplicates=duplicates
    ), error_status(form)


@bp.route("/angebote/<int:service_id>", methods=["GET", "POST"])
@role_required("coordinator")
def service_edit(service_id: int) -> Any:
    """Edit every field of an offer; a concurrent change shows a conflict instead of being overwritten."""
    session = get_session()
    svc = get_or_404(Service, service_id)
    form = _service_form(svc)
    setup_service_form(session, form, svc)
    duplicates = (
        _duplicates(session, "service", form, svc.id, _service_city(session, form))
        if request.args.get("dubletten")
        else []
    )
    saved, conflict = _save_entry(session, form, svc, _apply_service)
    if saved:
        return redirect(url_for(".service_edit", service_id=svc.id))
    status = 409 if conflict else error_status(form)
    return render_template(
        "curation/service_form.html",
        form=form,
        svc=svc,
        conflict=conflict,
        duplicates=duplicates,
        version_form=VersionForm(data={"version_id": svc.version_id}),
        tasks=open_tasks_for(session, svc),
        responsible=responsible(svc),
    ), status


# --- verification, lifecycle --------------------------------------------------------------------------------

ENTRY_MODELS = {"organisationen": Organization, "angebote": Service}


def _entry(kind: str, entry_id: int) -> Organization | Service:
    if kind not in ENTRY_MODELS:
        abort(404)
    return get_or_404(ENTRY_MODELS[kind], entry_id)


def edit_url(entry: Record) -> str:
    if isinstance(entry, Service):
        return url_for(".service_edit", service_id=entry.id)
    if isinstance(entry, Organization):
        return url_for(".organization_edit", org_id=entry.id)
    return url_for(".location_edit", location_id=entry.id)


def history_url(entry: Record) -> str:
    if isinstance(entry, Service):
        return url_for(".service_history", service_id=entry.id)
    if isinstance(entry, Organization):
        return url_for(".organization_history", org_id=entry.id)
    return url_for(".location_history", location_id=entry.id)


def _versioned_action(entry: Organization | Service, action: Any, message: str) -> Any:
    """Run a small change on an entry at the version the page showed; a stale page gets a warning instead."""
    session = get_session()
    form = VersionForm()
    try:
        if not form.validate():
            abort(400)
        ops.check_version(entry, form.version_id.data)
        action(session, acting(session))
        ops.commit(session)
        flash(message, "success")
    except ops.Conflict:
        session.rollback()
        flash(
            _("Der Eintrag wurde inzwischen von jemand anderem geändert. Bitte prüfen Sie den neuen Stand."),
            "error",
        )
    except ops.CurationError as exc:
        session.rollback()
        flash(str(exc), "error")
    return redirect(_safe_back() or edit_url(entry))


def _safe_back(target: str | None = None) -> str | None:
    """A return address inside the coordinator area (the form's "next" unless given), None for anything else."""
    target = request.form.get("next", "") if target is None else target
    return target if target.startswith("/verwaltung/") and "//" not in target and "\\" not in target else None


@bp.route("/angebote/<int:service_id>/bestaetigt/<fact>", methods=["POST"])
@role_required("coordinator")
def confirm_fact(service_id: int, fact: str) -> Any:
    """Confirm one volatile fact (waiting time, intake status, opening hours) as of today."""
    svc = get_or_404(Service, service_id)
    if fact not in ops.FACTS:
        abort(404)
    return _versioned_action(
        svc,
        lambda s, u: ops.confirm_fact(svc, fact, today()),
        _("%(what)s als aktuell bestätigt.", what=field_label(ops.FACTS[fact].removesuffix("_confirmed_at"))),
    )


@bp.route("/<any(organisationen, angebote):kind>/<int:entry_id>/archivieren", methods=["POST"])
@role_required("coordinator")
def archive(kind: str, entry_id: int) -> Any:
    """Archive an entry (hidden, nothing deleted)."""
    entry = _entry(kind, entry_id)
    return _versioned_action(
        entry,
        lambda s, u: ops.archive(entry),
        _("Archiviert. Sie können den Eintrag jederzeit wiederherstellen."),
    )


@bp.route("/<any(organisationen, angebote):kind>/<int:entry_id>/wiederherstellen", methods=["POST"])
@role_required("coordinator")
def unarchive(kind: str, entry_id: int) -> Any:
    """Bring an archived entry back."""
    entry = _entry(kind, entry_id)
    return _versioned_action(entry, lambda s, u: ops.unarchive(entry), _("Wiederhergestellt."))


def integrity_error(exc: IntegrityError) -> Any:
    """A database constraint refused a change that the forms did not catch: say so calmly."""
    get_session().rollback()
    current_app.logger.warning("integrity error in /verwaltung: %s", exc.orig)
    flash(
        _(
            "Die Änderung widerspricht den gespeicherten Daten (z. B. doppelte Kennung) und wurde nicht gespeichert."
        ),
        "error",
    )
    return redirect(request.path if request.method == "GET" else request.url), 303


bp.register_error_handler(IntegrityError, integrity_error)
