"""Coordinator area: locations of an organisation (address, pin, phones, opening hours)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth import role_required
from ..db import get_session
from ..models import Location, Organization, Region, Service
from . import operations as ops
from .forms import LocationForm, VersionForm, opts
from .views import (
    acting,
    add_blank_rows,
    apply_rows,
    bp,
    conflict_view,
    ensure_unchanged,
    error_status,
    get_or_404,
    phone_rows,
    refresh_form_version,
    schedule_rows,
)


def _location_form(loc: Location | None) -> LocationForm:
    session = get_session()
    if request.method == "POST":
        form = LocationForm()
    elif loc is None:
        form = LocationForm(
            data={
                "location_type": "physical",
                "visibility": "public",
                "address_precision": "exakt",
                "audit_mark": ops.audit_mark(session),
            }
        )
    else:
        data = {name: getattr(loc, name) or "" for name in ops.LOCATION_FIELDS}
        if loc.address:
            data |= {name: getattr(loc.address, name) or "" for name in ops.ADDRESS_FIELDS}
        data |= {
            "gemeinde_id": loc.gemeinde_id or 0,
            "latitude": loc.latitude,
            "longitude": loc.longitude,
            "audit_mark": ops.audit_mark(session),
            "phones": phone_rows(loc.phones),
            "schedules": schedule_rows(loc.schedules),
        }
        form = LocationForm(data=data)
    if request.method != "POST":
        add_blank_rows(form)
    gemeinden = session.scalars(select(Region).where(Region.kind == "gemeinde").order_by(Region.name))
    form.gemeinde_id.choices = opts(
        [(0, _("— aus PLZ und Ort bestimmen —"))] + [(g.id, g.name) for g in gemeinden]
    )
    return form


def _save_location(session: Session, form: LocationForm, loc: Location) -> ops.GeoOutcome:
    acting(session)
    with session.no_autoflush:
        outcome = ops.save_location(
            session,
            current_app.config,
            loc,
            {name: form[name].data for name in ops.LOCATION_FIELDS},
            {name: form[name].data or None for name in ops.ADDRESS_FIELDS} | {"city": form.city.data or ""},
            form.gemeinde_id.data,
            form.latitude.data,
            form.longitude.data,
        )
        apply_rows(session, loc, form)
    return outcome


def _geo_messages(outcome: ops.GeoOutcome) -> None:
    for note in outcome.notes:
        flash(note, "warning")
    if outcome.manual:
        flash(_("Die Koordinaten wurden von Hand gesetzt."), "success")
    elif outcome.geocoded:
        flash(_("Die Adresse wurde neu verortet."), "success")


@bp.route("/organisationen/<int:org_id>/standorte/neu", methods=["GET", "POST"])
@role_required("coordinator")
def location_new(org_id: int) -> Any:
    """Add a location to an organisation."""
    session = get_session()
    org = get_or_404(Organization, org_id)
    form = _location_form(None)
    if request.method == "POST" and "more_rows" not in request.form and form.validate():
        loc = Location(organization=org, organization_id=org.id)
        session.add(loc)
        outcome = _save_location(session, form, loc)
        session.commit()
        flash(_("Standort angelegt."), "success")
        _geo_messages(outcome)
        return redirect(url_for(".location_edit", location_id=loc.id))
    if "more_rows" in request.form:
        add_blank_rows(form, 1)
    return render_template("curation/location_form.html", form=form, loc=None, org=org), error_status(form)


@bp.route("/standorte/<int:location_id>", methods=["GET", "POST"])
@role_required("coordinator")
def location_edit(location_id: int) -> Any:
    """Edit a location: address (re-geocoded when changed), pin by hand, phones, opening hours."""
    session = get_session()
    loc = get_or_404(Location, location_id)
    form = _location_form(loc)
    conflict = None
    if request.method == "POST" and "more_rows" not in request.form and form.validate():
        try:
            ensure_unchanged(session, loc, None, form.audit_mark.data, need_mark=True)
            outcome = _save_location(session, form, loc)
            session.commit()
            flash(_("Gespeichert."), "success")
            _geo_messages(outcome)
            return redirect(url_for(".location_edit", location_id=loc.id))
        except ops.Conflict:
            session.rollback()
            conflict = conflict_view(session, loc, form, form.audit_mark.data)
            refresh_form_version(session, loc, form)
    if "more_rows" in request.form:
        add_blank_rows(form, 1)
    status = 409 if conflict else error_status(form)
    services = session.scalars(
        select(Service).where(Service.service_at_locations.any(location_id=loc.id)).order_by(Service.name)
    ).all()
    return render_template(
        "curation/location_form.html",
        form=form,
        loc=loc,
        org=loc.organization,
        conflict=conflict,
        services=services,
        plain_form=VersionForm(),
    ), status


@bp.route("/standorte/<int:location_id>/<any(archivieren, wiederherstellen):action>", methods=["POST"])
@role_required("coordinator")
def location_archive(location_id: int, action: str) -> Any:
    """Archive or restore a location."""
    session = get_session()
    loc = get_or_404(Location, location_id)
    if not VersionForm().validate():
        abort(400)
    acting(session)
    (ops.archive if action == "archivieren" else ops.unarchive)(loc)
    session.commit()
    flash(_("Archiviert.") if action == "archivieren" else _("Wiederhergestellt."), "success")
    return redirect(url_for(".location_edit", location_id=loc.id))
