"""Users and roles, hand-over on turnover, and the taxonomy and region administration."""

import sqlalchemy as sa
from conftest import PASSWORD, csrf_token, login, service_id
from curation_support import ident, load, one, submit

from atlas.curation import operations as ops
from atlas.db import get_session
from atlas.models import AuditLog, Jobcenter, Organization, Region, ReviewTask, Service, TaxonomyTerm, User
from atlas.review import open_task

ANNA = "anna.becker@jobcenter-en.example"
MURAT = "murat.yilmaz@jobcenter-mk.example"
LENA = "lena.hoffmann@drv-westfalen.example"


def user_id(app, email):
    return ident(app, User, email=email)


def test_hand_over_moves_entries_deputies_and_tasks_in_one_step(app, coordinator_client):
    anna, lena = user_id(app, ANNA), user_id(app, LENA)
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    with app.app_context():
        session = get_session()
        org = session.scalar(
            sa.select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V.")
        )
        open_task(session, "manual", org, "Träger anrufen")
        open_task(session, "manual", session.get(Service, sid), "Lenas Aufgabe")
        session.commit()
    page = coordinator_client.get(f"/verwaltung/nutzer/{lena}/uebergabe").get_data(as_text=True)
    assert "verantwortlich für 1 Einträge" in page or "verantwortlich für 1" in page
    response = submit(
        coordinator_client, f"/verwaltung/nutzer/{lena}/uebergabe", {"target_id": str(anna)}, html=page
    )
    assert response.status_code == 302
    with app.app_context():
        session = get_session()
        assert session.get(Service, sid).owner.email == ANNA
        assert (
            session.scalar(sa.select(ReviewTask.assignee_id).where(ReviewTask.title == "Lenas Aufgabe"))
            == anna
        )
        assert ops.responsibilities(session, session.get(User, lena)).total == 0
        rows = session.scalars(
            sa.select(AuditLog)
            .where(AuditLog.entity_type == "service", AuditLog.entity_id == sid)
            .order_by(AuditLog.id.desc())
        ).first()
        assert rows.changes["owner_id"] == [lena, anna] and rows.actor == "koordination@atlas.example"
    history = coordinator_client.get(f"/verwaltung/angebote/{sid}/verlauf").get_data(as_text=True)
    assert "Lena Hoffmann" in history and "Anna Becker" in history


def test_hand_over_to_the_deputy_clears_the_deputy(app, coordinator_client):
    anna, murat = user_id(app, ANNA), user_id(app, MURAT)
    response = submit(coordinator_client, f"/verwaltung/nutzer/{anna}/uebergabe", {"target_id": str(murat)})
    assert response.status_code == 302
    org = ident(app, Organization, name="Beratungsstelle Lichtblick e. V.")
    assert load(app, Organization, org, "owner_id", "deputy_id") == {"owner_id": murat, "deputy_id": None}
    page = coordinator_client.get("/verwaltung/nutzer").get_data(as_text=True)
    assert "keine Vertretung mehr" in page


def test_deactivating_a_responsible_user_forces_the_hand_over(app, coordinator_client):
    anna, murat = user_id(app, ANNA), user_id(app, MURAT)
    token = csrf_token(coordinator_client, "/verwaltung/nutzer")
    response = coordinator_client.post(f"/verwaltung/nutzer/{anna}/deaktivieren", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/verwaltung/nutzer/{anna}/uebergabe"
    )
    assert load(app, User, anna, "active")["active"] is True
    response = submit(
        coordinator_client,
        f"/verwaltung/nutzer/{anna}/uebergabe",
        {"target_id": str(murat), "deactivate": "y"},
    )
    assert response.status_code == 302
    assert load(app, User, anna, "active")["active"] is False
    with app.app_context():
        assert ops.responsibilities(get_session(), get_session().get(User, anna)).total == 0


def test_hand_over_needs_an_active_coordinator(app, coordinator_client):
    anna = user_id(app, ANNA)
    staff = user_id(app, "jonas.schmidt@jobcenter-en.example")
    response = submit(coordinator_client, f"/verwaltung/nutzer/{anna}/uebergabe", {"target_id": str(staff)})
    assert response.status_code == 400
    assert one(app, sa.select(sa.func.count(Organization.id)).where(Organization.owner_id == anna)) == 1


def test_a_coordinator_cannot_deactivate_or_demote_themselves(app, coordinator_client):
    me = user_id(app, "koordination@atlas.example")
    token = csrf_token(coordinator_client, "/verwaltung/nutzer")
    coordinator_client.post(f"/verwaltung/nutzer/{me}/deaktivieren", data={"csrf_token": token})
    assert load(app, User, me, "active")["active"] is True
    response = submit(coordinator_client, f"/verwaltung/nutzer/{me}", {"role": "staff"})
    assert response.status_code == 400 and "eigene Rolle" in response.get_data(as_text=True)


def test_create_user_change_role_and_log_in(app, coordinator_client):
    response = submit(
        coordinator_client,
        "/verwaltung/nutzer/neu",
        {"email": " Neu@Atlas.Example ", "name": "Nina Neu", "role": "staff", "password": PASSWORD},
    )
    assert response.status_code == 302
    uid = user_id(app, "neu@atlas.example")
    assert submit(coordinator_client, f"/verwaltung/nutzer/{uid}", {"role": "coordinator"}).status_code == 302
    assert load(app, User, uid, "role")["role"] == "coordinator"
    other = app.test_client()
    assert login(other, "neu@atlas.example").status_code == 302
    assert other.get("/verwaltung/").status_code == 200
    duplicate = submit(
        coordinator_client, "/verwaltung/nutzer/neu", {"email": "neu@atlas.example", "role": "staff"}
    )
    assert duplicate.status_code == 400 and "Es gibt bereits ein Konto" in duplicate.get_data(as_text=True)
    short = submit(
        coordinator_client, "/verwaltung/nutzer/neu", {"email": "kurz@atlas.example", "password": "kurz"}
    )
    assert short.status_code == 400 and "mindestens 10 Zeichen" in short.get_data(as_text=True)


def test_taxonomy_create_rename_move(app, coordinator_client):
    psyche = ident(app, TaxonomyTerm, slug="psyche")
    response = submit(
        coordinator_client,
        f"/verwaltung/kategorien/neu?parent={psyche}",
        {"name": "Genesungsbegleitung", "name_en": "Peer support", "review_interval_months": "6"},
    )
    assert response.status_code == 302
    tid = ident(app, TaxonomyTerm, slug="genesungsbegleitung")
    assert load(app, TaxonomyTerm, tid, "parent_id")["parent_id"] == psyche
    medizin = ident(app, TaxonomyTerm, slug="medizin")
    assert (
        submit(
            coordinator_client,
            f"/verwaltung/kategorien/{tid}",
            {"name": "Peer-Beratung (EX-IN)", "parent_id": str(medizin), "internal_only": "y"},
        ).status_code
        == 302
    )
    assert load(app, TaxonomyTerm, tid, "name", "parent_id", "internal_only", "slug") == {
        "name": "Peer-Beratung (EX-IN)",
        "parent_id": medizin,
        "internal_only": True,
        "slug": "genesungsbegleitung",
    }
    # a top-level term with children cannot become a child (two levels at most)
    response = submit(coordinator_client, f"/verwaltung/kategorien/{psyche}", {"parent_id": str(medizin)})
    assert response.status_code == 400 and "Unterkategorien" in response.get_data(as_text=True)
    bad = submit(coordinator_client, "/verwaltung/kategorien/neu", {"name": "X", "slug": "Nicht gültig!"})
    assert bad.status_code == 400 and "Nur Kleinbuchstaben a–z" in bad.get_data(as_text=True)


def test_regions_and_jobcenters(app, coordinator_client):
    kreis = ident(app, Region, slug="ennepe-ruhr-kreis")
    response = submit(
        coordinator_client,
        f"/verwaltung/regionen/neu?parent={kreis}&art=gemeinde",
        {"name": "Neustadt (Ruhr)", "postal_codes": "58000; 58001", "latitude": "51,4", "longitude": "7,3"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    gid = ident(app, Region, slug="neustadt-ruhr")
    assert load(app, Region, gid, "postal_codes", "parent_id", "latitude") == {
        "postal_codes": ["58000", "58001"],
        "parent_id": kreis,
        "latitude": 51.4,
    }
    wrong = submit(coordinator_client, f"/verwaltung/regionen/{gid}", {"parent_id": "0"})
    assert wrong.status_code == 400 and "Eine Gemeinde gehört zu einem Kreis" in wrong.get_data(as_text=True)
    bad_plz = submit(coordinator_client, f"/verwaltung/regionen/{gid}", {"postal_codes": "580, 58452"})
    assert bad_plz.status_code == 400 and "Keine gültigen Postleitzahlen: 580" in bad_plz.get_data(
        as_text=True
    )
    response = submit(
        coordinator_client,
        "/verwaltung/jobcenter/neu",
        {"name": "Jobcenter Neustadt", "short_name": "JC NS", "regions": [str(gid)]},
    )
    assert response.status_code == 302
    with app.app_context():
        jc = get_session().scalar(sa.select(Jobcenter).where(Jobcenter.slug == "jc-ns"))
        assert [r.slug for r in jc.regions] == ["neustadt-ruhr"]
    assert "Jobcenter Neustadt" in coordinator_client.get("/verwaltung/regionen").get_data(as_text=True)
    for url in (f"/verwaltung/regionen/{gid}", "/verwaltung/jobcenter/neu"):
        bad_slug = submit(coordinator_client, url, {"name": "Neustadt", "slug": "Neu Stadt"})
        assert bad_slug.status_code == 400 and "Nur Kleinbuchstaben a–z" in bad_slug.get_data(as_text=True)
