"""Editing organisations, offers and locations: validation, normalisation, hostile text, conflicts, geocoding."""

import re

import sqlalchemy as sa
from conftest import login, service_id
from curation_support import form_fields, ident, load, one, submit

from atlas.audit import set_actor
from atlas.curation import operations as ops
from atlas.db import get_session
from atlas.models import AuditLog, Location, Organization, Phone, Schedule, Service, TaxonomyTerm


def org_id(app, name="Beratungsstelle Lichtblick e. V."):
    return ident(app, Organization, name=name)


def term_id(app, slug):
    return ident(app, TaxonomyTerm, slug=slug)


def new_offer_data(app, **overrides):
    data = {
        "organization_id": str(org_id(app)),
        "name": "Suchtberatung am Markt",
        "categories": [str(term_id(app, "suchtberatung"))],
        "url": "www.lichtblick.example/sucht",
        "email": "Sucht@Lichtblick.example",
        "phones-0-number": "02302 123456",
        "description": "Beratung bei Sucht.",
        "status": "aktiv",
        "intake_status": "offen",
        "visibility": "public",
    }
    return data | overrides


def test_create_offer_fails_validation_keeps_input_then_saves(app, coordinator_client):
    path = f"/verwaltung/angebote/neu?organisation={org_id(app)}"
    bad = new_offer_data(
        app,
        name="",
        url="javascript:alert(1)",
        email="keine-adresse",
        categories=[],
        **{
            "phones-0-number": "12",
            "minimum_age": "30",
            "maximum_age": "20",
            "schedules-0-byday": "MO",
            "schedules-0-opens_at": "14:00",
            "schedules-0-closes_at": "09:00",
            "valid_from": "2026-05-01",
            "valid_to": "2026-04-01",
        },
    )
    response = submit(coordinator_client, path, bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Bitte prüfen Sie die markierten Angaben" in html
    for message in (
        "Bitte füllen Sie dieses Feld aus.",
        "Nur Adressen mit http:// oder https:// sind erlaubt.",
        "Das ist keine gültige E-Mail-Adresse.",
        "Das ist keine gültige Telefonnummer.",
        "Bitte mindestens eine Kategorie ankreuzen.",
        "Das Höchstalter liegt unter dem Mindestalter.",
        "Das Ende muss nach dem Beginn liegen.",
        "„Gültig bis“ darf nicht vor „Gültig ab“ liegen.",
    ):
        assert message.replace("„", "&#34;").replace("“", "") in html or message in html, message
    assert re.search(r'<input aria-describedby="name-help name-error" aria-invalid="true" id="name"', html)
    assert "Beratung bei Sucht." in html and "keine-adresse" in html, "the user's input must survive"
    assert one(app, sa.select(sa.func.count(Service.id)).where(Service.name == "Suchtberatung am Markt")) == 0

    fixed = new_offer_data(
        app,
        minimum_age="",
        maximum_age="",
        valid_to="",
        **{"schedules-0-byday": [], "schedules-0-opens_at": "", "schedules-0-closes_at": ""},
    )
    response = submit(coordinator_client, path, fixed, html=html)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    sid = ident(app, Service, name="Suchtberatung am Markt")
    with app.app_context():
        svc = get_session().get(Service, sid)
        assert svc.url == "https://www.lichtblick.example/sucht"
        assert svc.email == "Sucht@Lichtblick.example"
        assert [p.number for p in svc.phones] == ["+49 2302 123456"]
        assert [t.slug for t in svc.categories] == ["suchtberatung"]
        assert svc.owner.email == "koordination@atlas.example"
        assert svc.schedules == []
    assert coordinator_client.get(f"/angebote/{sid}").status_code == 200


def test_every_field_of_an_offer_round_trips(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    path = f"/verwaltung/angebote/{sid}"
    html = coordinator_client.get(path).get_data(as_text=True)
    before = form_fields(html)
    changes = {
        "status": "pausiert",
        "alert": "Aufnahmestopp bis März",
        "valid_to": "2027-03-31",
        "waiting_time": "etwa 6 Wochen",
        "waiting_time_confirmed_at": "01.11.2026",
        "intake_status": "warteliste",
        "languages": ["de", "ar"],
        "cost_options": ["kostenlos", "gkv_gutschein"],
        "delivery_format": "gruppe",
        "setting": "ambulant",
        "short_notice": "y",
        "minimum_age": "18",
        "summary_plain": "Hilfe bei Schulden.",
        "schedules-0-byday": ["TU", "TH"],
        "schedules-0-opens_at": "9:00",
        "schedules-0-closes_at": "12:30",
        "contacts-0-name": "Frau Muster",
        "contacts-0-phone": "0171 1234567",
        "source_name": "Wegweiser",
        "source_id": "w-17",
        "source_url": "https://wegweiser.example/17",
    }
    response = submit(coordinator_client, path, changes, html=html)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        svc = get_session().get(Service, sid)
        assert svc.status == "pausiert" and svc.alert == "Aufnahmestopp bis März"
        assert (
            svc.valid_to.isoformat() == "2027-03-31"
            and svc.waiting_time_confirmed_at.isoformat() == "2026-11-01"
        )
        assert svc.languages == ["de", "ar"] and svc.cost_options == ["kostenlos", "gkv_gutschein"]
        assert svc.short_notice is True and svc.minimum_age == 18 and svc.delivery_format == "gruppe"
        assert [(s.byday, s.opens_at, s.closes_at) for s in svc.schedules] == [("TU,TH", "09:00", "12:30")]
        assert [(c.name, c.phone) for c in svc.contacts] == [("Frau Muster", "+49 171 1234567")]
        assert svc.source_name == "Wegweiser" and svc.source_url == "https://wegweiser.example/17"
        # untouched fields stay as they were
        assert svc.internal_note == before["internal_note"] == "SENTINEL-SERVICE-NOTE"
        assert [p.description for p in svc.phones] == ["SENTINEL-SERVICE-DIRECT"]
    public = coordinator_client.get(f"/angebote/{sid}").get_data(as_text=True)
    assert "Aufnahmestopp bis März" in public and "pausiert" in public


def test_removing_a_phone_row(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    response = submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"phones-0-remove": "y"})
    assert response.status_code == 302
    assert one(app, sa.select(sa.func.count(Phone.id)).where(Phone.service_id == sid)) == 0


def test_hostile_text_is_stored_as_typed_and_rendered_escaped(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    hostile = '<script>alert("x")</script>\u202egnirts\u0007 &amp; <b>fett</b>'
    refused = submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"name": hostile})
    assert refused.status_code == 400 and "unsichtbare Steuerzeichen (U+0007, U+202E)" in refused.get_data(as_text=True)
    name = '<script>alert("x")</script> &amp; <b>fett</b>'
    response = submit(
        coordinator_client,
        f"/verwaltung/angebote/{sid}",
        {"name": name + "\x00", "description": hostile, "alert": hostile},
    )
    assert response.status_code == 302
    assert load(app, Service, sid, "name")["name"] == name, "only NUL is stripped"
    assert load(app, Service, sid, "description")["description"] == hostile, "long texts are stored as typed"
    for path in (
        f"/angebote/{sid}",
        f"/verwaltung/angebote/{sid}",
        f"/verwaltung/angebote/{sid}/verlauf",
        f"/intern/angebote/{sid}",
        "/verwaltung/angebote",
    ):
        html = coordinator_client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<b>fett</b>" not in html, path
        assert "&lt;script&gt;" in html, path


def test_absurdly_long_text_is_refused_with_a_message(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    response = submit(
        coordinator_client, f"/verwaltung/angebote/{sid}", {"name": "x" * 301, "description": "y" * 20001}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Höchstens 300 Zeichen." in html and "Höchstens 20000 Zeichen." in html
    assert load(app, Service, sid, "name")["name"] == "Schuldnerberatung Lichtblick"


def test_url_and_phone_normalisation():
    assert ops_url("HTTPS://WWW.Example.ORG") == "https://www.example.org/"
    assert ops_url("example.org/pfad?a=1") == "https://example.org/pfad?a=1"
    for bad in (
        "ftp://example.org",
        "javascript:alert(1)",
        "http://",
        "http://exa mple.org",
        "https://user:pw@example.org",
    ):
        try:
            ops_url(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    from atlas.curation.forms import format_phone

    assert format_phone("02302/123456") == "+49 2302 123456"
    assert format_phone("116117") == "116117"
    assert format_phone("+43 1 234567") == "+43 1 234567"


def ops_url(value):
    from atlas.curation.forms import normalise_url

    return normalise_url(value)


def test_two_coordinators_edit_the_same_offer_and_the_second_sees_a_conflict(
    app, make_app, coordinator_client
):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    path = f"/verwaltung/angebote/{sid}"
    second_app = make_app()  # another process on the same database
    other = second_app.test_client()
    with app.app_context():
        session = get_session()
        from atlas.auth import create_user

        create_user(session, "zweite@atlas.example", "coordinator", "Zora Zweite", "correct horse battery")
        session.commit()
    login(other, "zweite@atlas.example")
    mine = coordinator_client.get(path).get_data(as_text=True)
    theirs = other.get(path).get_data(as_text=True)
    assert (
        submit(
            other, path, {"waiting_time": "3 Monate", "phones-0-description": "Neue Durchwahl"}, html=theirs
        ).status_code
        == 302
    )
    response = submit(
        coordinator_client, path, {"waiting_time": "1 Woche", "alert": "Meine Änderung"}, html=mine
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Jemand anderes hat diesen Eintrag inzwischen geändert" in html
    assert "zweite@atlas.example" in html and "3 Monate" in html and "Neue Durchwahl" in html
    assert "1 Woche" in html and "Meine Änderung" in html, "my input is still in the form"
    assert load(app, Service, sid, "waiting_time")["waiting_time"] == "3 Monate", "nothing was overwritten"
    # Saving the conflict page again applies my input knowingly.
    assert submit(coordinator_client, path, html=html).status_code == 302
    assert load(app, Service, sid, "waiting_time", "alert") == {
        "waiting_time": "1 Woche",
        "alert": "Meine Änderung",
    }


def test_concurrent_commit_raises_conflict_not_lost_update(app, make_app):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    other_app = make_app()
    with app.app_context():
        mine = get_session()
        svc = mine.get(Service, sid)
        with other_app.app_context():
            theirs = get_session()
            set_actor(theirs, "other")
            theirs.get(Service, sid).waiting_time = "theirs"
            theirs.commit()
        svc.waiting_time = "mine"
        try:
            ops.commit(mine)
        except ops.Conflict:
            pass
        else:
            raise AssertionError("a stale update must not be committed")
    assert load(app, Service, sid, "waiting_time")["waiting_time"] == "theirs"


def test_create_organisation_with_phone_and_contact(app, coordinator_client):
    response = submit(
        coordinator_client,
        "/verwaltung/organisationen/neu",
        {
            "name": "Tafel Sprockhövel e. V.",
            "website": "tafel-sprockhoevel.example",
            "phones-0-number": "0 23 24 / 55 66 77",
            "contacts-0-name": "Herr Beispiel",
            "contacts-0-email": "beispiel@tafel.example",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    oid = org_id(app, "Tafel Sprockhövel e. V.")
    with app.app_context():
        org = get_session().get(Organization, oid)
        assert org.website == "https://tafel-sprockhoevel.example/"
        assert [p.number for p in org.phones] == ["+49 2324 556677"]
        assert [c.email for c in org.contacts] == ["beispiel@tafel.example"]


def test_employer_must_be_internal(app, coordinator_client):
    response = submit(
        coordinator_client, "/verwaltung/organisationen/neu", {"name": "Firma X", "is_employer": "y"}
    )
    assert response.status_code == 400
    assert "Arbeitgeber müssen" in response.get_data(as_text=True)


def test_owner_and_deputy_must_differ(app, coordinator_client):
    oid = org_id(app)
    html = coordinator_client.get(f"/verwaltung/organisationen/{oid}").get_data(as_text=True)
    owner = form_fields(html)["owner_id"]
    response = submit(
        coordinator_client, f"/verwaltung/organisationen/{oid}", {"deputy_id": owner}, html=html
    )
    assert response.status_code == 400
    assert "Vertretung und verantwortliche Person müssen verschieden sein." in response.get_data(as_text=True)


def test_new_location_is_geocoded_offline_and_warns_about_unknown_postcode(app, coordinator_client):
    oid = org_id(app)
    response = submit(
        coordinator_client,
        f"/verwaltung/organisationen/{oid}/standorte/neu",
        {
            "name": "Zweigstelle",
            "address_1": "Bahnhofstraße 1",
            "postal_code": "58636",
            "city": "Iserlohn",
            "schedules-0-byday": ["MO", "FR"],
            "schedules-0-opens_at": "08:00",
            "schedules-0-closes_at": "16:00",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    lid = ident(app, Location, name="Zweigstelle")
    with app.app_context():
        loc = get_session().get(Location, lid)
        assert loc.geo_source == "gazetteer" and loc.geo_precision == "plz"
        assert abs(loc.latitude - 51.37) < 0.1 and loc.gemeinde.slug == "iserlohn"
        assert (
            loc.address.region == "Märkischer Kreis" and loc.address.state_province == "Nordrhein-Westfalen"
        )
        assert [s.byday for s in loc.schedules] == ["MO,FR"]
    page = coordinator_client.get(f"/verwaltung/standorte/{lid}").get_data(as_text=True)
    assert "Die Adresse wurde neu verortet." in page
    response = submit(
        coordinator_client,
        f"/verwaltung/standorte/{lid}",
        {"postal_code": "99999", "city": "Nirgendwo"},
        html=page,
    )
    assert response.status_code == 302
    page = coordinator_client.get(f"/verwaltung/standorte/{lid}").get_data(as_text=True)
    assert "Die PLZ 99999 ist im Ortsverzeichnis unbekannt" in page


def test_pin_set_by_hand_wins_and_is_marked(app, coordinator_client):
    lid = ident(app, Location, name="Haus am Markt")
    response = submit(
        coordinator_client, f"/verwaltung/standorte/{lid}", {"latitude": "51,4401", "longitude": "7,3399"}
    )
    assert response.status_code == 302
    assert load(app, Location, lid, "latitude", "longitude", "geo_source") == {
        "latitude": 51.4401,
        "longitude": 7.3399,
        "geo_source": "manuell",
    }
    response = submit(coordinator_client, f"/verwaltung/standorte/{lid}", {"latitude": "95", "longitude": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Der Breitengrad liegt zwischen -90 und 90." in html


def test_changed_address_is_geocoded_again(app, coordinator_client):
    lid = ident(app, Location, name="Haus am Markt")
    response = submit(
        coordinator_client,
        f"/verwaltung/standorte/{lid}",
        {"address_1": "Hauptstraße 2", "postal_code": "58636", "city": "Iserlohn", "gemeinde_id": "0"},
    )
    assert response.status_code == 302
    with app.app_context():
        loc = get_session().get(Location, lid)
        assert loc.geo_source == "gazetteer" and loc.gemeinde.slug == "iserlohn" and loc.latitude > 51.3


def test_location_conflict_without_version_column(app, coordinator_client):
    lid = ident(app, Location, name="Haus am Markt")
    page = coordinator_client.get(f"/verwaltung/standorte/{lid}").get_data(as_text=True)
    with app.app_context():
        session = get_session()
        set_actor(session, "jemand@atlas.example")
        session.get(Location, lid).transportation = "Bus 372"
        session.commit()
    response = submit(coordinator_client, f"/verwaltung/standorte/{lid}", {"name": "Mein Name"}, html=page)
    assert response.status_code == 409
    assert "Bus 372" in response.get_data(as_text=True)
    assert load(app, Location, lid, "name")["name"] == "Haus am Markt"


def test_offer_at_several_locations(app, coordinator_client):
    oid = org_id(app)
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    with app.app_context():
        both = [
            str(i)
            for i in get_session().scalars(sa.select(Location.id).where(Location.organization_id == oid))
        ]
    response = submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"locations": both})
    assert response.status_code == 302
    with app.app_context():
        assert len(get_session().get(Service, sid).locations) == 2


def test_more_rows_button_adds_a_row_without_saving(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    html = coordinator_client.get(f"/verwaltung/angebote/{sid}").get_data(as_text=True)
    rows_before = len(set(re.findall(r'name="phones-(\d+)-number"', html)))
    response = submit(
        coordinator_client,
        f"/verwaltung/angebote/{sid}",
        {"name": "Zwischenstand"},
        html=html,
        extra={"more_rows": "1"},
    )
    assert response.status_code == 200
    after = response.get_data(as_text=True)
    assert len(set(re.findall(r'name="phones-(\d+)-number"', after))) == rows_before + 1
    assert "Zwischenstand" in after
    assert load(app, Service, sid, "name")["name"] == "Schuldnerberatung Lichtblick"


def test_audit_actor_is_the_coordinator(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"waiting_time": "4 Wochen"})
    row = one(
        app,
        sa.select(AuditLog)
        .where(AuditLog.entity_type == "service", AuditLog.entity_id == sid)
        .order_by(AuditLog.id.desc()),
    )
    assert row.actor == "koordination@atlas.example" and row.user_id is not None
    assert row.changes["waiting_time"] == ["2 Wochen", "4 Wochen"]


def test_schedule_rows_are_kept_and_updated_by_id(app, coordinator_client):
    lid = ident(app, Location, name="Haus am Markt")
    sched = one(app, sa.select(Schedule.id).where(Schedule.location_id == lid))
    response = submit(coordinator_client, f"/verwaltung/standorte/{lid}", {"schedules-0-closes_at": "13:00"})
    assert response.status_code == 302
    assert load(app, Schedule, sched, "closes_at")["closes_at"] == "13:00"


def nominatim_client(make_app, url):
    app = make_app(NOMINATIM_URL=url, NOMINATIM_MIN_DELAY=0, NOMINATIM_TIMEOUT=2)
    client = app.test_client()
    login(client, "koordination@atlas.example")
    return app, client


def test_street_geocoding_with_nominatim(app, make_app, httpserver):
    httpserver.expect_request("/search").respond_with_json(
        [
            {
                "lat": "51.4380",
                "lon": "7.3360",
                "display_name": "Marktstraße 9, Witten",
                "place_id": 1,
                "osm_type": "node",
            }
        ]
    )
    _app, client = nominatim_client(make_app, httpserver.url_for("/").rstrip("/"))
    lid = ident(app, Location, name="Haus am Markt")
    response = submit(client, f"/verwaltung/standorte/{lid}", {"address_1": "Marktstraße 9"})
    assert response.status_code == 302
    assert load(app, Location, lid, "latitude", "geo_source", "geo_precision") == {
        "latitude": 51.438,
        "geo_source": "nominatim",
        "geo_precision": "exakt",
    }


def test_unreachable_nominatim_falls_back_with_a_visible_note(app, make_app):
    _app, client = nominatim_client(make_app, "http://127.0.0.1:9")
    lid = ident(app, Location, name="Haus am Markt")
    response = submit(client, f"/verwaltung/standorte/{lid}", {"address_1": "Marktstraße 11"})
    assert response.status_code == 302
    page = client.get(f"/verwaltung/standorte/{lid}").get_data(as_text=True)
    assert "antwortet nicht" in page and "Ortsverzeichnis" in page
    assert load(app, Location, lid, "geo_source")["geo_source"] == "gazetteer"


def test_the_public_offer_page_shows_every_kind_of_edit_at_once(app, coordinator_client):
    """The page's view is cached by the versions of the offer, its organisation and its locations."""
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    public = app.test_client()

    def page() -> str:
        return public.get(f"/angebote/{sid}").get_data(as_text=True)

    assert "Marktstraße 5" in page() and "2 Wochen" in page()  # the second call is served from the cache
    assert submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"waiting_time": "4 Wochen"}).status_code == 302
    assert "4 Wochen" in page()
    lid = ident(app, Location, name="Haus am Markt")
    changed = {"address_1": "Hauptstraße 2", "postal_code": "58452", "city": "Witten", "gemeinde_id": "0"}
    assert submit(coordinator_client, f"/verwaltung/standorte/{lid}", changed).status_code == 302
    assert "Hauptstraße 2" in page() and "Marktstraße 5" not in page()
    assert submit(coordinator_client, f"/verwaltung/organisationen/{org_id(app)}",
                  {"name": "Lichtblick Beratung gGmbH"}).status_code == 302
    assert "Lichtblick Beratung gGmbH" in page()
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        session.scalar(sa.select(TaxonomyTerm).where(TaxonomyTerm.slug == "schuldnerberatung")).name_plain = "Hilfe bei Geldsorgen"
        session.commit()
    assert "Hilfe bei Geldsorgen" in page()
