"""Every model constraint is enforced by the database itself."""

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from atlas import models as m
from atlas.db import get_session


@pytest.fixture
def session(app):
    with app.app_context():
        yield get_session()


def org(session, **kw):
    return session.scalar(sa.select(m.Organization).where(m.Organization.name == "Beratungsstelle Lichtblick e. V.")) \
        if not kw else m.Organization(name="Testträger", **kw)


def service(session):
    return session.scalar(sa.select(m.Service).where(m.Service.name == "Schuldnerberatung Lichtblick"))


def location(session):
    return session.scalar(sa.select(m.Location).where(m.Location.name == "Haus am Markt"))


def user(session, email):
    return session.scalar(sa.select(m.User).where(m.User.email == email))


# (description, function that makes an invalid change)
VIOLATIONS = [
    ("service status outside vocabulary", lambda s: setattr(service(s), "status", "offen")),
    ("service visibility outside vocabulary", lambda s: setattr(service(s), "visibility", "geheim")),
    ("intake status outside vocabulary", lambda s: setattr(service(s), "intake_status", "vielleicht")),
    ("delivery format outside vocabulary", lambda s: setattr(service(s), "delivery_format", "chor")),
    ("setting outside vocabulary", lambda s: setattr(service(s), "setting", "irgendwo")),
    ("negative minimum age", lambda s: setattr(service(s), "minimum_age", -1)),
    ("maximum age above 130", lambda s: setattr(service(s), "maximum_age", 200)),
    ("minimum age above maximum age", lambda s: (setattr(service(s), "minimum_age", 50), setattr(service(s), "maximum_age", 20))),
    ("valid_from after valid_to", lambda s: (setattr(service(s), "valid_from", date(2027, 1, 2)), setattr(service(s), "valid_to", date(2027, 1, 1)))),
    ("owner equals deputy", lambda s: (setattr(service(s), "owner", user(s, "anna.becker@jobcenter-en.example")), setattr(service(s), "deputy", user(s, "anna.becker@jobcenter-en.example")))),
    ("service without organisation", lambda s: s.add(m.Service(name="Waise"))),
    ("employer that is public", lambda s: s.add(m.Organization(name="Firma", is_employer=True, visibility="public"))),
    ("latitude above 90", lambda s: setattr(location(s), "latitude", 91.0)),
    ("longitude below -180", lambda s: setattr(location(s), "longitude", -181.0)),
    ("latitude without longitude", lambda s: setattr(location(s), "longitude", None)),
    ("location type outside vocabulary", lambda s: setattr(location(s), "location_type", "mobil")),
    ("address precision outside vocabulary", lambda s: setattr(location(s), "address_precision", "ungefähr")),
    ("geo precision outside vocabulary", lambda s: setattr(location(s), "geo_precision", "fast")),
    ("geo source outside vocabulary", lambda s: setattr(location(s), "geo_source", "raten")),
    ("postal code too short", lambda s: setattr(location(s).address, "postal_code", "12")),
    ("two addresses for one location", lambda s: s.add(m.Address(location_id=location(s).id, city="Witten"))),
    ("phone without owner", lambda s: s.add(m.Phone(number="+49 2302 1"))),
    ("phone with two owners", lambda s: s.add(m.Phone(number="+49 2302 1", organization_id=org(s).id, service_id=service(s).id))),
    ("phone type outside vocabulary", lambda s: s.add(m.Phone(number="1", type="brieftaube", organization_id=org(s).id))),
    ("contact without owner", lambda s: s.add(m.Contact(name="Niemand"))),
    ("schedule closing before opening", lambda s: s.add(m.Schedule(byday="MO", opens_at="14:00", closes_at="09:00", location_id=location(s).id))),
    ("schedule without owner", lambda s: s.add(m.Schedule(byday="MO"))),
    ("schedule frequency outside vocabulary", lambda s: s.add(m.Schedule(byday="MO", freq="DAILY", location_id=location(s).id))),
    ("same offer twice at one location", lambda s: s.add(m.ServiceAtLocation(service_id=service(s).id, location_id=location(s).id))),
    ("duplicate user e-mail", lambda s: s.add(m.User(email="lotsin@atlas.example", role="staff"))),
    ("upper-case user e-mail", lambda s: s.add(m.User(email="Gross@Atlas.example", role="staff"))),
    ("unknown role", lambda s: s.add(m.User(email="chef@atlas.example", role="chef"))),
    ("duplicate category slug", lambda s: s.add(m.TaxonomyTerm(slug="sucht", name="Sucht 2"))),
    ("non-positive review interval", lambda s: setattr(s.scalar(sa.select(m.TaxonomyTerm).where(m.TaxonomyTerm.slug == "sucht")), "review_interval_months", 0)),
    ("duplicate region slug", lambda s: s.add(m.Region(slug="witten", name="Witten 2", kind="gemeinde"))),
    ("region kind outside vocabulary", lambda s: s.add(m.Region(slug="x", name="X", kind="planet"))),
    ("duplicate jobcenter slug", lambda s: s.add(m.Jobcenter(slug="jc-en", name="Doppelt"))),
    ("duplicate organisation source id", lambda s: s.add(m.Organization(name="Kopie", source_name="demo", source_id="t-offen"))),
    ("audit action outside vocabulary", lambda s: s.add(m.AuditLog(actor="x", action="peek", entity_type="service", entity_id=1))),
    ("review task on two entries", lambda s: s.add(m.ReviewTask(kind="manual", title="t", service_id=service(s).id, organization_id=org(s).id))),
    ("review task kind outside vocabulary", lambda s: s.add(m.ReviewTask(kind="gossip", title="t", service_id=service(s).id))),
    ("token hash reused", lambda s: [s.add(m.ApiToken(user_id=user(s, "lotsin@atlas.example").id, token_hash="a" * 64, prefix="atl_")) for _ in range(2)]),
    ("geocode cache duplicate query", lambda s: [s.add(m.GeocodeCache(provider="nominatim", query="q")) for _ in range(2)]),
]


@pytest.mark.parametrize("description,change", VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_constraint(session, description, change):
    change(session)
    with pytest.raises((IntegrityError, StatementError)):
        session.flush()
    session.rollback()


def test_valid_changes_pass(session):
    svc = service(session)
    svc.minimum_age, svc.maximum_age = 18, 67
    svc.valid_from, svc.valid_to = date(2026, 1, 1), date(2026, 12, 31)
    location(session).latitude = 51.44
    session.add(m.Phone(number="+49 2302 5550101", organization_id=org(session).id))
    session.commit()


def test_version_column_detects_concurrent_update(app):
    from sqlalchemy.orm.exc import StaleDataError
    with app.app_context():
        first = get_session()
        mine = service(first)
        engine = app.extensions["atlas.engine"]
        with engine.begin() as conn:  # someone else saves in between
            conn.execute(sa.text("UPDATE service SET version_id = version_id + 1 WHERE id = :i"), {"i": mine.id})
        mine.name = "Neuer Name"
        with pytest.raises(StaleDataError):
            first.flush()


def test_version_increments_on_update(session):
    svc = service(session)
    before = svc.version_id
    svc.alert = "Aufnahmestopp bis März"
    session.commit()
    assert svc.version_id == before + 1


def test_region_hierarchy_and_review_interval(session):
    witten = session.scalar(sa.select(m.Region).where(m.Region.slug == "witten"))
    assert witten.ancestor("kreis").name == "Ennepe-Ruhr-Kreis"
    assert witten.ancestor("bundesland").name == "Nordrhein-Westfalen"
    psycho = session.scalar(sa.select(m.TaxonomyTerm).where(m.TaxonomyTerm.slug == "psychotherapie"))
    assert psycho.effective_review_interval == 6  # inherited from "Seelische Gesundheit"
    jc = session.scalar(sa.select(m.Jobcenter).where(m.Jobcenter.slug == "jc-mk"))
    assert [r.slug for r in jc.regions] == ["maerkischer-kreis"]


def test_address_precision_reduces_the_line(session):
    addr = m.Address(address_1="Ruhrstraße 21a", postal_code="58452", city="Witten")
    assert addr.one_line() == "Ruhrstraße 21a, 58452 Witten"
    assert addr.one_line("strasse") == "Ruhrstraße, 58452 Witten"
    assert addr.one_line("gemeinde") == "Witten"
