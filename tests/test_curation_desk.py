"""The coordinator's desk: visible ownership, people filters, bulk assignment, deputies in the database, quiet history,
the queue's filters and check view, and the landing page after login."""

import re
from datetime import date

import pytest
import sqlalchemy as sa
from conftest import csrf_token, login, service_id
from curation_support import form_fields, ident, load, one, submit

from atlas import schema, validity
from atlas.audit import set_actor
from atlas.curation.models import ReviewCheck
from atlas.db import get_session
from atlas.models import AuditLog, Organization, Service, User

ANNA = "anna.becker@jobcenter-en.example"
MURAT = "murat.yilmaz@jobcenter-mk.example"
LENA = "lena.hoffmann@drv-westfalen.example"
JONAS = "jonas.schmidt@jobcenter-en.example"
LICHTBLICK = "Beratungsstelle Lichtblick e. V."


def user_id(app, email):
    return ident(app, User, email=email)


def audit_count(app, kind, entity_id):
    return one(
        app,
        sa.select(sa.func.count(AuditLog.id)).where(AuditLog.entity_type == kind, AuditLog.entity_id == entity_id),
    )


def test_coordinators_land_on_the_coordinator_area_and_staff_on_intern(client):
    response = login(client, "koordination@atlas.example")
    assert response.headers["Location"].endswith("/verwaltung/")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/verwaltung/")})
    assert login(client, "lotsin@atlas.example").headers["Location"].endswith("/intern/")


def test_saving_unchanged_writes_nothing_even_when_the_stored_lists_are_in_another_order(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        svc = session.get(Service, sid)
        svc.access_routes = ["ueberweisung", "termin", "direkt"]
        svc.languages = ["en", "de"]
        session.commit()
    before = audit_count(app, "service", sid), load(app, Service, sid, "version_id")["version_id"]
    for _round in range(2):
        response = submit(coordinator_client, f"/verwaltung/angebote/{sid}")
        assert response.status_code == 302
    after = audit_count(app, "service", sid), load(app, Service, sid, "version_id")["version_id"]
    assert after == before
    # A real change to a set is still recorded, compared as sets.
    submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"languages": ["de"]})
    newest = one(app, sa.select(AuditLog).where(AuditLog.entity_id == sid, AuditLog.entity_type == "service")
                 .order_by(AuditLog.id.desc()))
    assert set(newest.changes) == {"languages"}


def test_ist_aktuell_beside_the_waiting_time_saves_the_typed_value_and_confirms_it_today(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    response = submit(
        coordinator_client, f"/verwaltung/angebote/{sid}", {"waiting_time": "etwa 3 Wochen"}, extra={"aktuell": "wartezeit"}
    )
    assert response.status_code == 302
    assert load(app, Service, sid, "waiting_time", "waiting_time_confirmed_at") == {
        "waiting_time": "etwa 3 Wochen",
        "waiting_time_confirmed_at": validity.today(),
    }


def test_every_entry_shows_effective_owner_and_deputy_with_their_origin(app, coordinator_client):
    sid = service_id(app, "Frauenschutz Lichtblick")
    page = coordinator_client.get(f"/verwaltung/angebote/{sid}").get_data(as_text=True)
    assert re.search(r"<dt>Verantwortlich</dt><dd>Anna Becker\s*<span class=\"via\">über Organisation Beratungsstelle "
                     r"Lichtblick e. V.</span>", page)
    assert re.search(r"<dt>Vertretung</dt><dd>Murat Yılmaz\s*<span class=\"via\">über Organisation Beratungsstelle "
                     r"Lichtblick e. V.</span>", page)
    assert "— wie bei der Organisation —" in page
    listing = coordinator_client.get("/verwaltung/angebote?q=Frauenschutz").get_data(as_text=True)
    assert "Anna Becker" in listing and "über die Organisation" in listing


def test_lists_filter_by_own_owner_owner_and_deputy(app, coordinator_client):
    anna, lena, murat = user_id(app, ANNA), user_id(app, LENA), user_id(app, MURAT)
    without = coordinator_client.get("/verwaltung/angebote?eigene=ohne").get_data(as_text=True)
    assert "Frauenschutz Lichtblick" in without and "Schuldnerberatung Lichtblick" not in without
    by_lena = coordinator_client.get(f"/verwaltung/angebote?verantwortlich={lena}").get_data(as_text=True)
    assert "Schuldnerberatung Lichtblick" in by_lena and "Frauenschutz Lichtblick" not in by_lena
    by_anna = coordinator_client.get(f"/verwaltung/angebote?verantwortlich={anna}").get_data(as_text=True)
    assert "Frauenschutz Lichtblick" in by_anna and "Schuldnerberatung Lichtblick" not in by_anna
    by_deputy = coordinator_client.get(f"/verwaltung/angebote?vertretung={murat}").get_data(as_text=True)
    assert "Frauenschutz Lichtblick" in by_deputy and "Krisentelefon" not in by_deputy
    orgs = coordinator_client.get(f"/verwaltung/organisationen?verantwortlich={anna}").get_data(as_text=True)
    assert LICHTBLICK in orgs and "Telefonseelsorge-Test" not in orgs
    nobody = coordinator_client.get("/verwaltung/angebote?eigene=keine").get_data(as_text=True)
    assert "Krisentelefon rund um die Uhr" in nobody and "Frauenschutz Lichtblick" not in nobody


def test_the_start_page_counts_offers_nobody_can_act_on_truthfully(app, coordinator_client):
    with app.app_context():
        session = get_session()
        live = session.scalars(sa.select(Service).where(Service.archived_at.is_(None))).all()
        nobody = sum(1 for s in live if not ((s.owner or s.organization.owner) and (s.owner or s.organization.owner).active))
        inherited = sum(1 for s in live if s.owner_id is None)
    page = coordinator_client.get("/verwaltung/").get_data(as_text=True)
    assert nobody > 0 and inherited > nobody
    assert f"<strong>{nobody}</strong> Angebote ohne handlungsfähige Verantwortliche" in page
    assert f"<strong>{inherited}</strong> Angebote ohne eigene Verantwortliche" in page
    # Deactivating the owner of Lichtblick makes its inheriting offers ownerless in truth.
    with app.app_context():
        session = get_session()
        session.scalar(sa.select(User).where(User.email == ANNA)).active = False
        session.commit()
    page = coordinator_client.get("/verwaltung/").get_data(as_text=True)
    assert f"<strong>{nobody}</strong> Angebote ohne handlungsfähige" not in page


def test_bulk_assignment_moves_many_entries_audited(app, coordinator_client):
    murat, lena = user_id(app, MURAT), user_id(app, LENA)
    page = coordinator_client.get("/verwaltung/angebote").get_data(as_text=True)
    chosen = re.findall(r'name="eintrag" value="(\d+:\d+)"', page)
    assert len(chosen) >= 6
    token = csrf_token(coordinator_client, "/verwaltung/angebote")
    response = coordinator_client.post(
        "/verwaltung/angebote/zuweisen",
        data={"csrf_token": token, "eintrag": chosen, "owner_id": str(murat), "deputy_id": str(lena)},
    )
    assert response.status_code == 302
    ids = [int(c.split(":")[0]) for c in chosen]
    with app.app_context():
        session = get_session()
        for svc in session.scalars(sa.select(Service).where(Service.id.in_(ids))):
            assert (svc.owner_id, svc.deputy_id) == (murat, lena)
        rows = session.scalars(
            sa.select(AuditLog).where(AuditLog.entity_type == "service", AuditLog.entity_id.in_(ids))
            .order_by(AuditLog.id.desc()).limit(len(ids))
        ).all()
        assert {r.actor for r in rows} == {"koordination@atlas.example"}
        assert all(r.changes["owner_id"][1] == murat and "deputy_id" in r.changes for r in rows)


def test_bulk_assignment_after_a_concurrent_edit_is_a_409_and_saves_nothing(app, coordinator_client):
    murat = user_id(app, MURAT)
    sid = service_id(app, "Frauenschutz Lichtblick")
    page = coordinator_client.get("/verwaltung/angebote").get_data(as_text=True)
    chosen = re.findall(r'name="eintrag" value="(\d+:\d+)"', page)
    edit_page = coordinator_client.get(f"/verwaltung/angebote/{sid}").get_data(as_text=True)
    # Someone edits one of the listed offers meanwhile.
    assert submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"waiting_time": "2 Wochen"}).status_code == 302
    token = csrf_token(coordinator_client, "/verwaltung/angebote")
    response = coordinator_client.post(
        "/verwaltung/angebote/zuweisen",
        data={"csrf_token": token, "eintrag": chosen, "owner_id": str(murat), "deputy_id": "-1"},
    )
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Nichts zugewiesen: Einträge wurden inzwischen geändert" in body and "Frauenschutz Lichtblick" in body
    assert one(app, sa.select(sa.func.count(Service.id)).where(Service.owner_id == murat)) == 0
    # And the other way round: a bulk assignment makes an edit form opened before it stale (409, not lost).
    fresh = coordinator_client.get("/verwaltung/angebote").get_data(as_text=True)
    mine = [c for c in re.findall(r'name="eintrag" value="(\d+:\d+)"', fresh) if c.startswith(f"{sid}:")]
    edit_page = coordinator_client.get(f"/verwaltung/angebote/{sid}").get_data(as_text=True)
    coordinator_client.post("/verwaltung/angebote/zuweisen",
                            data={"csrf_token": token, "eintrag": mine, "owner_id": str(murat), "deputy_id": "-1"})
    late = submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"waiting_time": "5 Wochen"}, html=edit_page)
    assert late.status_code == 409
    assert load(app, Service, sid, "owner_id", "waiting_time") == {"owner_id": murat, "waiting_time": "2 Wochen"}


@pytest.mark.parametrize("who,message", [(JONAS, "hat nicht die Rolle Koordination"), (LENA, "ist deaktiviert")])
def test_owners_and_deputies_must_be_active_coordinators(app, coordinator_client, who, message):
    with app.app_context():
        session = get_session()
        session.scalar(sa.select(User).where(User.email == LENA)).active = False
        session.commit()
    sid = service_id(app, "Frauenschutz Lichtblick")
    person = user_id(app, who)
    for name in ("owner_id", "deputy_id"):
        response = submit(coordinator_client, f"/verwaltung/angebote/{sid}", {name: str(person), "alert": "getippt"})
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and message in page
        assert "getippt" in page  # everything typed stays
    token = csrf_token(coordinator_client, "/verwaltung/angebote")
    response = coordinator_client.post(
        "/verwaltung/angebote/zuweisen",
        data={"csrf_token": token, "eintrag": [f"{sid}:1"], "owner_id": str(person), "deputy_id": "-1"},
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    assert load(app, Service, sid, "owner_id", "deputy_id") == {"owner_id": None, "deputy_id": None}


def test_the_database_refuses_a_deputy_who_is_not_a_coordinator(app):
    with app.app_context():
        session = get_session()
        org = session.scalar(sa.select(Organization).where(Organization.name == LICHTBLICK))
        org.deputy = session.scalar(sa.select(User).where(User.email == JONAS))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
        session.rollback()
        murat = session.scalar(sa.select(User).where(User.email == MURAT))
        murat.role = "staff"  # Murat deputises for Lichtblick: demoting him must fail too
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()


def test_demoting_a_deputy_in_the_user_form_is_refused_in_german(app, coordinator_client):
    murat = user_id(app, MURAT)
    response = submit(coordinator_client, f"/verwaltung/nutzer/{murat}", {"role": "staff"})
    assert response.status_code == 400
    assert "noch Vertretung für Einträge" in response.get_data(as_text=True)


def test_migration_0007_hands_staff_deputies_to_a_coordinator_and_reports_it(empty_app, caplog):
    engine = empty_app.extensions["atlas.engine"]
    schema.downgrade(engine, "0005")
    with engine.begin() as conn:
        ins = conn.execute
        for i, (email, role) in enumerate([(ANNA, "coordinator"), (MURAT, "coordinator"), (JONAS, "staff")], 1):
            ins(sa.text('INSERT INTO "user" (id, email, name, role, active, created_at) '
                        "VALUES (:i, :e, :e, :r, true, CURRENT_TIMESTAMP)"), {"i": i, "e": email, "r": role})
        for i, deputy in ((1, 2), (2, 3), (3, 3)):
            ins(sa.text("INSERT INTO organization (id, uuid, name, visibility, is_employer, owner_id, deputy_id, "
                        "version_id, created_at, updated_at) VALUES (:i, :u, :n, 'public', false, 1, :d, 1, "
                        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"i": i, "u": f"u{i}", "n": f"Org {i}", "d": deputy})
    with caplog.at_level("WARNING"):
        schema.upgrade(engine)
    with engine.connect() as conn:
        deputies = dict(conn.execute(sa.text("SELECT id, deputy_id FROM organization")).all())
        audit = conn.execute(sa.text("SELECT entity_id, actor FROM audit_log ORDER BY entity_id")).all()
    # Anna's usual deputy is Murat: Jonas's two organisations go to him.
    assert deputies == {1: 2, 2: 2, 3: 2}
    assert [tuple(r) for r in audit] == [(2, "migration 0007"), (3, "migration 0007")]
    assert "2 entries: deputy jonas.schmidt@jobcenter-en.example (#3) is not a coordinator" in caplog.text


def test_restore_preview_lists_the_changes_and_changes_nothing(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"waiting_time": "7 Wochen"})
    created = one(app, sa.select(sa.func.min(AuditLog.id)).where(AuditLog.entity_type == "service",
                                                                  AuditLog.entity_id == sid))
    version = load(app, Service, sid, "version_id")
    page = coordinator_client.get(f"/verwaltung/verlauf/{created}/wiederherstellen").get_data(as_text=True)
    assert "<del>7 Wochen</del>" in page and "Ja, diese Änderungen übernehmen" in page
    assert load(app, Service, sid, "version_id") == version


def test_queue_pages_filters_and_sorts(app, coordinator_client):
    anna = user_id(app, ANNA)
    with app.app_context():
        session = get_session()
        session.scalar(sa.select(Organization).where(Organization.name == LICHTBLICK)).assured_date = date(2020, 1, 1)
        session.commit()
    page = coordinator_client.get(f"/verwaltung/pruefliste?person={anna}").get_data(as_text=True)
    names = re.findall(r'<h2 class="h3"><a href="[^"]+">([^<]+)</a>', page)
    assert "Frauenschutz Lichtblick" in names and LICHTBLICK in names
    offers = coordinator_client.get(f"/verwaltung/pruefliste?person={anna}&art=angebote").get_data(as_text=True)
    assert LICHTBLICK not in re.findall(r'<h2 class="h3"><a href="[^"]+">([^<]+)</a>', offers)
    by_name = coordinator_client.get(f"/verwaltung/pruefliste?person={anna}&sortierung=name").get_data(as_text=True)
    listed = re.findall(r'<h2 class="h3"><a href="[^"]+">([^<]+)</a>', by_name)
    assert listed == sorted(listed, key=str.lower)
    area = coordinator_client.get(f"/verwaltung/pruefliste?person={anna}&art=angebote&bereich=arbeit").get_data(as_text=True)
    assert "Frauenschutz Lichtblick" not in area
    past = coordinator_client.get(f"/verwaltung/pruefliste?person={anna}&faellig_bis=1990-01-01").get_data(as_text=True)
    assert "mit diesen Filtern ist die Liste leer" in past


def test_check_view_shows_what_to_look_at_and_records_what_was_checked(app, coordinator_client):
    sid = service_id(app, "Frauenschutz Lichtblick")
    path = f"/verwaltung/angebote/{sid}/pruefen"
    hostile = coordinator_client.get(path + "?next=javascript:alert(1)").get_data(as_text=True)
    assert 'href="javascript:' not in hostile and "Zurück zur Prüfliste" not in hostile
    page = coordinator_client.get(path + "?next=/verwaltung/pruefliste").get_data(as_text=True)
    assert 'href="/verwaltung/pruefliste">Zurück zur Prüfliste' in page
    for text in ("Wartezeit", "Offene Meldungen und Aufgaben", "Links", "Offene Sprechstunde oder nur mit Termin?",
                 "<dt>Verantwortlich</dt>"):
        assert text in page
    token = csrf_token(coordinator_client, path)
    version = load(app, Service, sid, "version_id")["version_id"]
    refused = coordinator_client.post(path, data={"csrf_token": token, "version_id": version})
    assert refused.status_code == 400 and "Bitte kreuzen Sie an, was Sie geprüft haben." in refused.get_data(as_text=True)
    done = coordinator_client.post(path, data={"csrf_token": token, "version_id": version, "geprueft": ["besteht", "wartezeit"],
                                               "note": "angerufen", "next": "/verwaltung/pruefliste"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/verwaltung/pruefliste")
    assert load(app, Service, sid, "assured_date", "waiting_time_confirmed_at") == {
        "assured_date": validity.today(), "waiting_time_confirmed_at": validity.today()}
    check = one(app, sa.select(ReviewCheck).where(ReviewCheck.service_id == sid))
    assert [i["key"] for i in check.items] == ["besteht", "wartezeit"] and check.note == "angerufen"
    stale = coordinator_client.post(path, data={"csrf_token": token, "version_id": version, "geprueft": ["besteht"]})
    assert stale.status_code == 409


def test_edit_form_errors_open_their_folded_group_and_keep_the_input(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    response = submit(coordinator_client, f"/verwaltung/angebote/{sid}",
                      {"minimum_age": "40", "maximum_age": "20", "alert": "Neu ab Mai"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'<details class="fold" id="voraussetzungen" open>', page)
    assert not re.search(r'<details class="fold" id="herkunft" open>', page)
    fields = form_fields(page)
    assert fields["alert"] == "Neu ab Mai" and fields["minimum_age"] == "40"


def test_check_view_of_an_organisation_uses_the_organisation_checklist(app, coordinator_client):
    org = ident(app, Organization, name=LICHTBLICK)
    path = f"/verwaltung/organisationen/{org}/pruefen"
    page = coordinator_client.get(path).get_data(as_text=True)
    assert "Ansprechpersonen sind noch zuständig" in page and "Wartezeit erfragt" not in page
    token = csrf_token(coordinator_client, path)
    version = load(app, Organization, org, "version_id")["version_id"]
    response = coordinator_client.post(path, data={"csrf_token": token, "version_id": version,
                                                   "geprueft": ["besteht", "unbekannt"]})
    assert response.status_code == 302
    check = one(app, sa.select(ReviewCheck).where(ReviewCheck.organization_id == org))
    assert [i["key"] for i in check.items] == ["besteht"]  # unknown keys are not recorded
    assert load(app, Organization, org, "assured_date")["assured_date"] == validity.today()
