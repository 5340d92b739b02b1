"""HSDS 3.0 import: complete (every table and field kept or reported), robust, idempotent for every entity."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_export import empty_atlas

from atlas.db import get_session
from atlas.importers.hsds_format import phone_parts
from atlas.models import (
    AuditLog,
    Contact,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
)

EXAMPLE = Path(__file__).parent / "data" / "hsds-example"
ENTITIES = (Organization, Service, Location, Phone, Schedule, Contact, ServiceAtLocation, AuditLog)


def run(app, *args):
    return app.test_cli_runner().invoke(args=["import", *map(str, args)])


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {m.__tablename__: get_session().scalar(select(func.count(m.id))) for m in ENTITIES}


def test_every_table_and_field_is_kept_or_reported_by_name_and_count(app):
    result = run(app, EXAMPLE, "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    for line in ("funding: 3 Zeilen nicht übernommen", "programs: 1 Zeile nicht übernommen",
                 "organization_identifiers: 1 Zeile nicht übernommen", "metadata: 1 Zeile nicht übernommen",
                 "schedules.timezone: 1 Wert nicht übernommen", "schedules.byyearday: 1 Wert",
                 "services.program_id: 1 Wert", "services.fees: 1 Wert", "services.assurer_email: 1 Wert",
                 "addresses.attention: 1 Wert",
                 "addresses: 1 Zeile als zweite Adresse", "attributes: 1 Zeile für Organisationen",
                 "service_areas: 1 Zeile ohne Jobcenter", "cost_options.amount: 1 Wert",
                 "accessibility.details: 1 Wert", "languages.note: 1 Wert"):
        assert line in out, line
    # the plan states the exact effect per entity type
    for line in ("Organisationen: 1 neu", "Angebote: 1 neu", "Standorte: 2 neu", "Telefonnummern: 1 neu",
                 "Öffnungszeiten: 1 neu"):
        assert line in out, line
    assert "Koordinaten außerhalb des gültigen Bereichs (latitude 100, longitude 101)" in out
    assert "fehlt in organizations.csv; nicht übernommen" in out  # the dangling organisation id is reported


def test_official_style_package_is_imported_with_all_it_can_keep(app):
    result = run(app, EXAMPLE, "--source", "Beispiel")
    assert result.exit_code == 0, result.output
    assert "Übergeordnete Organisation „9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c12“" in result.output  # not in the file
    with app.app_context():
        session = get_session()
        svc = session.scalar(select(Service).where(Service.name == "Sozialberatung im Stadtteil"))
        assert (svc.interpretation_services, svc.accreditations, svc.licenses, svc.waiting_time) == (
            "Dolmetschende für Türkisch und Arabisch auf Anfrage", "Anerkannte Beratungsstelle nach § 305 InsO",
            "Trägerzulassung AZAV", "Etwa eine Woche")
        assert svc.required_documents == ["Personalausweis"] and svc.languages == ["tr"]
        org = svc.organization
        assert (org.tax_status, org.tax_id, org.year_incorporated, org.logo) == (
            "gemeinnützig", "123/456/78901", 1998, "https://stz.example/logo.png")
        # latitude 100 was dropped and the site placed from its address
        site = svc.service_at_locations[0].location
        assert site.geo_source == "gazetteer" and 51 < site.latitude < 52 and site.external_identifier_type == "what3words"
        assert svc.service_at_locations[0].description == "Die Sprechstunde findet im Raum 2.14 statt."
        assert site.address.address_1 == "Hauptstraße 12"  # the physical address, not the postal one
        # one phone row with four owners is one phone, without quotes, extension kept
        phones = session.scalars(select(Phone).where(Phone.number.like("%2302 123456%"))).all()
        assert [(p.number, p.extension, p.service_id) for p in phones] == [("+49 2302 123456", "100", svc.id)]
        assert phones[0].uuid == "e4f6b8c1-3e5a-4c7d-9e2f-4a6b8c1d3e05"
        # one schedule row naming service and location is one schedule with its whole recurrence
        schedules = session.scalars(select(Schedule).where(Schedule.description == "Offene Sprechstunde")).all()
        assert len(schedules) == 1
        s = schedules[0]
        assert (str(s.dtstart), str(s.until), s.count, s.byweekno, s.bymonthday, s.wkst, s.opens_at) == (
            "2026-01-06", "2026-12-29", 50, "2,3,4", "1,2", "MO", "10:00")
        assert s.notes == "Mittagspause 12:00 bis 12:30" and s.attending_type == "persönlich oder per Video"
        # the site without an offer travels with its organisation
        assert {loc.name for loc in org.locations} == {"Stadtteilzentrum Mitte", "Treffpunkt Nord"}
        assert svc.contacts[0].phone == "+49 2302 123456"


def test_reimport_of_the_package_changes_nothing(app):
    assert run(app, EXAMPLE, "--source", "Beispiel").exit_code == 0
    before = counts(app)
    again = run(app, EXAMPLE, "--source", "Beispiel")
    assert again.exit_code == 0, again.output
    assert "Organisationen: 1 unverändert" in again.output and "Standorte: 2 unverändert" in again.output
    assert counts(app) == before


def test_reimport_under_another_source_name_matches_by_uuid(app):
    assert run(app, EXAMPLE, "--source", "Beispiel").exit_code == 0
    before = counts(app)
    again = run(app, EXAMPLE, "--source", "Beispiel (neu benannt)")
    assert again.exit_code == 0, again.output
    assert counts(app) == before


def test_own_export_imported_into_itself_changes_nothing(app, tmp_path):
    with app.app_context():  # a site without an offer
        session = get_session()
        org = session.scalar(select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V."))
        org.locations.append(Location(name="Lager ohne Angebot", latitude=51.44, longitude=7.33))
        session.commit()
    result = app.test_cli_runner().invoke(args=["export", str(tmp_path / "own.zip"), "--internal"])
    assert result.exit_code == 0, result.output
    before = counts(app)
    dry = run(app, tmp_path / "own.zip", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert " neu" not in dry.output.split("Plan")[-1] and "geändert" not in dry.output.split("Plan")[-1]
    assert run(app, tmp_path / "own.zip").exit_code == 0
    assert counts(app) == before  # no new sites, phones, schedules, no audit entries


def test_sites_without_offer_travel_both_ways(app, tmp_path):
    with app.app_context():
        session = get_session()
        org = session.scalar(select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V."))
        org.locations.append(Location(name="Lager ohne Angebot", latitude=51.44, longitude=7.33,
                                      schedules=[Schedule(byday="MO", opens_at="09:00", closes_at="10:00")]))
        session.commit()
    assert app.test_cli_runner().invoke(args=["export", str(tmp_path / "a.zip")]).exit_code == 0
    other = empty_atlas(tmp_path)
    assert run(other, tmp_path / "a.zip").exit_code == 0
    with other.app_context():
        site = get_session().scalar(select(Location).where(Location.name == "Lager ohne Angebot"))
        assert site is not None and site.schedules[0].byday == "MO"


def test_services_csv_alone_gets_a_specific_message(app, tmp_path):
    shutil.copy(EXAMPLE / "services.csv", tmp_path / "services.csv")
    for args in ([], ["--format", "hsds"]):
        result = run(app, tmp_path / "services.csv", *args)
        assert result.exit_code == 1
        assert "nur eine Tabelle eines HSDS-Datenpakets" in result.output


@pytest.mark.parametrize("text,parts", [('"+49 2302 123456"', ("+49 2302 123456", None)),
                                        ("02302 1234 ext. 12", ("02302 1234", "12")),
                                        ("02302 1234, Durchwahl 5", ("02302 1234", "5")),
                                        ("„0800 111 0 111“", ("0800 111 0 111", None))])
def test_phone_numbers_are_parsed_into_parts(text, parts):
    assert phone_parts(text) == parts


def test_parent_organisation_is_linked(app, tmp_path):
    package = tmp_path / "paket"
    shutil.copytree(EXAMPLE, package)
    with (package / "organizations.csv").open("a", encoding="utf-8") as fh:
        fh.write("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c12,Dachverband Beispiel,,Der Dachverband.,,,,,,,,,\n")
    result = run(app, package, "--source", "Beispiel")
    assert result.exit_code == 0 and "Übergeordnete Organisation" not in result.output
    with app.app_context():
        org = get_session().scalar(select(Organization).where(Organization.name == "Stadtteilzentrum Beispielstadt"))
        assert org.parent_organization.name == "Dachverband Beispiel"
    before = counts(app)
    assert run(app, package, "--source", "Beispiel").exit_code == 0
    assert counts(app) == before


def test_a_period_that_ends_before_it_starts_is_reported_with_its_row(app, tmp_path):
    package = tmp_path / "paket"
    shutil.copytree(EXAMPLE, package)
    table = package / "schedules.csv"
    table.write_text(table.read_text(encoding="utf-8").replace("2026-01-01,2026-12-31", "2026-12-31,2026-01-01", 1),
                     encoding="utf-8")
    before = counts(app)
    result = run(app, package, "--source", "Beispiel")
    assert "„gültig bis“ (01.01.2026) liegt vor „gültig ab“ (31.12.2026)." in result.output, result.output
    with app.app_context():
        assert get_session().scalar(select(func.count(Schedule.id)).where(Schedule.valid_from > Schedule.valid_to)) == 0
    assert result.exit_code == 1 and counts(app) == before  # refused as a whole: nothing half-written
