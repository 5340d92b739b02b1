"""History pages (readable diffs), restoring an old version or a removed row, and merging duplicates."""

import re

import sqlalchemy as sa
from conftest import csrf_token, service_id
from curation_support import ident, load, one, submit

from atlas.db import get_session
from atlas.models import AuditLog, Location, Organization, Phone, ReviewTask, Service, TaxonomyTerm
from atlas.review import open_task


def restore_buttons(html):
    return re.findall(r'href="/verwaltung/verlauf/(\d+)/wiederherstellen"', html)


def test_history_shows_who_changed_what_in_german(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    submit(
        coordinator_client,
        f"/verwaltung/angebote/{sid}",
        {"waiting_time": "5 Wochen", "status": "pausiert", "languages": ["de", "uk"]},
    )
    html = coordinator_client.get(f"/verwaltung/angebote/{sid}/verlauf").get_data(as_text=True)
    assert "Kim Koordination" in html
    for text in (
        "Wartezeit",
        "2 Wochen",
        "5 Wochen",
        "Stand",
        "aktiv",
        "pausiert",
        "Sprachen",
        "Deutsch, Türkisch",
        "Deutsch, Ukrainisch",
        "angelegt",
        "Telefonnummer",
    ):
        assert text in html, text
    assert "waiting_time" not in html


def test_restore_an_old_version_as_a_new_audited_change(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    path = f"/verwaltung/angebote/{sid}"
    submit(coordinator_client, path, {"waiting_time": "5 Wochen", "alert": "Erster Hinweis"})
    submit(
        coordinator_client, path, {"waiting_time": "9 Wochen", "alert": "", "name": "Schuldnerberatung Neu"}
    )
    first_edit = one(
        app,
        sa.select(sa.func.min(AuditLog.id)).where(
            AuditLog.entity_type == "service",
            AuditLog.entity_id == sid,
            AuditLog.actor == "koordination@atlas.example",
        ),
    )
    history = coordinator_client.get(f"{path}/verlauf").get_data(as_text=True)
    assert str(first_edit) in restore_buttons(history)
    # The button only shows what would change; nothing is restored before the confirmation.
    preview = coordinator_client.get(f"/verwaltung/verlauf/{first_edit}/wiederherstellen")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Ja, diese Änderungen übernehmen" in page
    assert re.search(r"Wartezeit</th><td><del>9 Wochen</del></td><td><ins>5 Wochen</ins>", page)
    assert re.search(r"Name</th><td><del>Schuldnerberatung Neu</del></td><td><ins>Schuldnerberatung Lichtblick</ins>", page)
    assert load(app, Service, sid, "waiting_time")["waiting_time"] == "9 Wochen"
    token = csrf_token(coordinator_client, f"{path}/verlauf")
    version = load(app, Service, sid, "version_id")["version_id"]
    response = coordinator_client.post(
        f"/verwaltung/verlauf/{first_edit}/wiederherstellen",
        data={"csrf_token": token, "version_id": version},
    )
    assert response.status_code == 302
    assert load(app, Service, sid, "waiting_time", "alert", "name") == {
        "waiting_time": "5 Wochen",
        "alert": "Erster Hinweis",
        "name": "Schuldnerberatung Lichtblick",
    }
    newest = one(
        app,
        sa.select(AuditLog)
        .where(AuditLog.entity_type == "service", AuditLog.entity_id == sid)
        .order_by(AuditLog.id.desc()),
    )
    assert newest.changes["waiting_time"] == ["9 Wochen", "5 Wochen"]
    assert newest.actor == "koordination@atlas.example"
    # The seed's creation row restores the very first state.
    created = one(
        app,
        sa.select(sa.func.min(AuditLog.id)).where(
            AuditLog.entity_type == "service", AuditLog.entity_id == sid
        ),
    )
    version = load(app, Service, sid, "version_id")["version_id"]
    coordinator_client.post(
        f"/verwaltung/verlauf/{created}/wiederherstellen", data={"csrf_token": token, "version_id": version}
    )
    assert load(app, Service, sid, "waiting_time", "alert") == {"waiting_time": "2 Wochen", "alert": None}


def test_restore_with_a_stale_version_is_refused(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"waiting_time": "5 Wochen"})
    row = one(
        app,
        sa.select(sa.func.max(AuditLog.id)).where(
            AuditLog.entity_type == "service", AuditLog.entity_id == sid
        ),
    )
    token = csrf_token(coordinator_client, f"/verwaltung/angebote/{sid}/verlauf")
    response = coordinator_client.post(
        f"/verwaltung/verlauf/{row}/wiederherstellen",
        data={"csrf_token": token, "version_id": "1"},
        follow_redirects=True,
    )
    assert "inzwischen geändert" in response.get_data(as_text=True)


def test_a_removed_phone_can_be_brought_back(app, coordinator_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    submit(coordinator_client, f"/verwaltung/angebote/{sid}", {"phones-0-remove": "y"})
    html = coordinator_client.get(f"/verwaltung/angebote/{sid}/verlauf").get_data(as_text=True)
    assert "Telefonnummer entfernt" in html and "SENTINEL-SERVICE-DIRECT" in html
    row = re.search(r'action="/verwaltung/verlauf/(\d+)/zeile-wiederherstellen"', html).group(1)
    response = coordinator_client.post(
        f"/verwaltung/verlauf/{row}/zeile-wiederherstellen",
        data={"csrf_token": csrf_token(coordinator_client, f"/verwaltung/angebote/{sid}/verlauf")},
    )
    assert response.status_code == 302
    with app.app_context():
        phones = get_session().scalars(sa.select(Phone).where(Phone.service_id == sid)).all()
        assert [(p.number, p.description, p.visibility) for p in phones] == [
            ("+49 2302 5557777", "SENTINEL-SERVICE-DIRECT", "internal")
        ]


def test_location_history(app, coordinator_client):
    lid = ident(app, Location, name="Haus am Markt")
    submit(
        coordinator_client,
        f"/verwaltung/standorte/{lid}",
        {"transportation": "Bus 999", "address_2": "Hinterhaus"},
    )
    html = coordinator_client.get(f"/verwaltung/standorte/{lid}/verlauf").get_data(as_text=True)
    assert "Bus 999" in html and "Adresszusatz" in html and "Hinterhaus" in html


def _org(app, name):
    return ident(app, Organization, name=name)


def test_merge_organisations_moves_everything_and_keeps_both_histories(app, coordinator_client):
    submit(
        coordinator_client,
        "/verwaltung/organisationen/neu",
        {
            "name": "Lichtblick Witten",
            "website": "https://www.lichtblick.example/",
            "phones-0-number": "02302 5550100",
            "description": "Doppelt angelegt.",
        },
        extra={"duplicates": "ignore"},
    )
    keep, dup = _org(app, "Beratungsstelle Lichtblick e. V."), _org(app, "Lichtblick Witten")
    with app.app_context():
        session = get_session()
        other = session.get(Organization, dup)
        svc = Service(name="Doppeltes Angebot", organization=other)
        session.add(svc)
        session.flush()
        open_task(session, "manual", other, "Bitte prüfen")
        session.commit()
        moved_service = svc.id
    page = coordinator_client.get(f"/verwaltung/organisationen/{keep}/zusammenfuehren/{dup}")
    assert page.status_code == 200
    response = submit(
        coordinator_client,
        f"/verwaltung/organisationen/{keep}/zusammenfuehren/{dup}",
        html=page.get_data(as_text=True),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    with app.app_context():
        session = get_session()
        kept, gone = session.get(Organization, keep), session.get(Organization, dup)
        assert gone.archived_at is not None and gone.phones == [] and gone.services == []
        assert session.get(Service, moved_service).organization_id == keep
        assert len(kept.phones) == 3
        assert (
            session.scalar(sa.select(ReviewTask.organization_id).where(ReviewTask.title == "Bitte prüfen"))
            == keep
        )
    kept_history = coordinator_client.get(f"/verwaltung/organisationen/{keep}/verlauf").get_data(as_text=True)
    dup_history = coordinator_client.get(f"/verwaltung/organisationen/{dup}/verlauf").get_data(as_text=True)
    assert "Zusammengeführt aus" in kept_history and f"Lichtblick Witten (#{dup})" in kept_history
    assert f'href="/verwaltung/organisationen/{dup}/verlauf"' in kept_history
    assert "Zusammengeführt in" in dup_history and "Doppelt angelegt." in dup_history, (
        "the duplicate's own history stays"
    )


def test_merge_offers(app, coordinator_client):
    keep = service_id(app, "Schuldnerberatung Lichtblick")
    oid = _org(app, "Beratungsstelle Lichtblick e. V.")
    suchen = ident(app, TaxonomyTerm, slug="suchtberatung")
    submit(
        coordinator_client,
        f"/verwaltung/angebote/neu?organisation={oid}",
        {
            "organization_id": str(oid),
            "name": "Schuldnerberatung (alt)",
            "categories": [str(suchen)],
            "alert": "Nur dienstags",
            "phones-0-number": "02302 999999",
        },
        extra={"duplicates": "ignore"},
    )
    dup = service_id(app, "Schuldnerberatung (alt)")
    page = coordinator_client.get(f"/verwaltung/angebote/{keep}/zusammenfuehren/{dup}").get_data(as_text=True)
    response = submit(coordinator_client, f"/verwaltung/angebote/{keep}/zusammenfuehren/{dup}", html=page)
    assert response.status_code == 302
    with app.app_context():
        kept = get_session().get(Service, keep)
        assert {t.slug for t in kept.categories} == {"schuldnerberatung", "suchtberatung"}
        assert kept.alert == "Nur dienstags", "blank fields are filled from the duplicate"
        assert "+49 2302 999999" in [p.number for p in kept.phones]
        assert get_session().get(Service, dup).archived_at is not None
    assert "Zusammengeführt aus" in coordinator_client.get(f"/verwaltung/angebote/{keep}/verlauf").get_data(
        as_text=True
    )
