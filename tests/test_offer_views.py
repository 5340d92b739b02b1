"""Presented offers (atlas.search.service.load_views): the same views from fewer statements."""

from __future__ import annotations

import pathlib

import pytest
import sqlalchemy as sa

from atlas.db import get_session
from atlas.hsds import api_service
from atlas.audit import set_actor
from atlas.models import Contact, Location, Organization, Phone, Schedule, Service
from atlas.presenters import service_view
from atlas import queries
from atlas.queries import load_shared, with_details
from atlas.search import service as search_service
from atlas.search.viewstore import ViewStore


def _full_views(session, ids: list[int], internal: bool, lang: str) -> dict[int, tuple]:
    """Views as every offer's lists are loaded by one selectinload per owner (with_details, shared lists)."""
    session.expunge_all()
    loaded = session.scalars(with_details(sa.select(Service), internal).where(Service.id.in_(ids)))
    return {s.id: (service_view(s, internal, lang), bool(s.is_public), api_service(s, internal, lang)) for s in loaded}


def _every_kind_of_list(session) -> None:
    """Give the data a phone, a time and a contact on every kind of owner (the seeds lack some)."""
    set_actor(session, "test")
    place = session.scalar(sa.select(Location).order_by(Location.id).limit(1))
    offer = session.scalar(sa.select(Service).where(Service.service_at_locations.any()).order_by(Service.id).limit(1))
    organization = session.scalar(sa.select(Organization).order_by(Organization.id).limit(1))
    session.add_all([Phone(number="+49 2331 111111", location_id=place.id), Phone(number="+49 2331 222222",
                     service_id=offer.id), Phone(number="+49 2331 333333", organization_id=organization.id),
                     Schedule(byday="MO,TU", opens_at="09:00", closes_at="12:00", location_id=place.id),
                     Schedule(byday="WE", opens_at="14:00", closes_at="16:00", service_id=offer.id),
                     Contact(name="Lea Beispiel", organization_id=organization.id),
                     Contact(name="Tom Beispiel", service_id=offer.id)])
    session.commit()


@pytest.mark.parametrize("internal", [False, True])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_views_from_shared_lists_equal_those_from_one_load_per_owner(app, internal, lang):
    with app.test_request_context("/"):
        session = get_session()
        _every_kind_of_list(session)
        # The data must hold every kind of shared list, or the comparison proves nothing.
        assert session.scalar(sa.select(sa.func.count()).where(Phone.organization_id.is_not(None)))
        assert session.scalar(sa.select(sa.func.count()).where(Phone.location_id.is_not(None)))
        assert session.scalar(sa.select(sa.func.count()).where(Phone.service_id.is_not(None)))
        assert session.scalar(sa.select(sa.func.count()).where(Schedule.location_id.is_not(None)))
        assert session.scalar(sa.select(sa.func.count()).where(Schedule.service_id.is_not(None)))
        assert session.scalar(sa.select(sa.func.count()).where(Contact.organization_id.is_not(None)))
        ids = list(session.scalars(sa.select(Service.id).order_by(Service.id)))
        expected = _full_views(session, ids, internal, lang)
        app.config["SEARCH_VIEW_STORE"] = False
        session.expunge_all()
        app.extensions.pop("atlas.search.views", None)
        got = search_service.load_views(session, ids, internal, include_archived=True, lang=lang, hsds=True)
        visible = set(got)
        assert visible and visible <= set(ids)
        assert {sid: got[sid] for sid in visible} == {sid: expected[sid] for sid in visible}


def test_a_page_of_views_takes_a_fixed_number_of_statements(app):
    app.config["SEARCH_VIEW_STORE"] = False
    with app.test_request_context("/"):
        session = get_session()
        ids = list(session.scalars(sa.select(Service.id).order_by(Service.id)))
        statements: list[str] = []
        engine = app.extensions["atlas.engine"]
        listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            for internal, expected in ((False, 8), (True, 9)):
                session.expunge_all()
                app.extensions.pop("atlas.search.views", None)
                statements.clear()
                search_service.load_views(session, ids, internal, include_archived=True, lang="de")
                # versions, offers, categories, places, sessions, Jobcenters, phones, times (+ contacts for staff)
                assert len(statements) == expected, "\n".join(s[:150] for s in statements)
                statements.clear()
                search_service.load_views(session, ids, internal, include_archived=True, lang="de")
                assert len(statements) == 1  # cached by version: only the versions are read
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)


def test_shared_lists_of_many_offers_are_read_in_rounds(app, monkeypatch):
    monkeypatch.setattr(queries, "SHARED_CHUNK", 2)
    app.config["SEARCH_VIEW_STORE"] = False
    with app.test_request_context("/"):
        session = get_session()
        _every_kind_of_list(session)
        ids = list(session.scalars(sa.select(Service.id).order_by(Service.id)))
        expected = _full_views(session, ids, True, "de")
        session.expunge_all()
        got = search_service.load_views(session, ids, True, include_archived=True, lang="de", hsds=True)
        assert len(got) > 2 * 2 and got == {sid: expected[sid] for sid in got}


def test_lists_the_session_holds_already_are_kept(app):
    with app.test_request_context("/"):
        session = get_session()
        service = session.scalar(with_details(sa.select(Service), shared=False)
                                 .where(Service.phones.any()).order_by(Service.id).limit(1))
        marker = Phone(number="+49 2331 000000", type="voice")
        service.phones = [marker]  # loaded and changed in this session, not yet flushed
        load_shared(session, [service], internal=False)
        assert service.phones == [marker]
        session.rollback()


# -- the view store: views built by one process, read by the others ---------------------------------------------

def _load(app, ids: list[int], internal: bool = False, hsds: bool = True) -> tuple[dict, list[str]]:
    """load_views in a fresh request of `app`, with the statements it sent."""
    statements: list[str] = []
    engine = app.extensions["atlas.engine"]
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    with app.test_request_context("/"):
        session = get_session()
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            return search_service.load_views(session, ids, internal, True, "de", hsds), statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)


def _ids(app) -> list[int]:
    with app.app_context():
        return list(get_session().scalars(sa.select(Service.id).order_by(Service.id)))


@pytest.fixture
def second_process(app, make_app):
    """Another app (process) on the same database and the same index folder, with its own memory."""
    other = make_app()
    paths = []
    for each in (app, other):
        with each.app_context():
            paths.append(search_service._store().path)
    assert paths[0] == paths[1]
    return other


def test_views_one_process_built_are_read_by_another_without_loading_the_offers(app, second_process):
    ids = _ids(app)
    for internal in (False, True):
        built, _ = _load(app, ids, internal)
        read, statements = _load(second_process, ids, internal)
        assert read == built
        assert len(statements) == 1, statements  # the versions only: no offer, phone or category was loaded


def test_stored_views_expire_like_the_process_own(app, second_process):
    ids = _ids(app)[:3]
    _load(app, ids)
    _, statements = _load(second_process, ids[:1])  # opens the second process's store
    assert len(statements) == 1
    store = second_process.extensions["atlas.search.viewstore"]
    later = store.clock() + search_service.VIEW_TTL + 1
    store.clock = lambda: later
    _, statements = _load(second_process, ids[1:])
    assert len(statements) > 1  # too old: built again


def test_a_changed_offer_is_not_served_from_the_store(app, second_process):
    ids = _ids(app)[:2]
    _load(app, ids)
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        session.get(Service, ids[0]).name = "Neuer Name der Beratung"
        session.commit()
    read, _ = _load(second_process, ids)
    assert read[ids[0]][0]["name"] == "Neuer Name der Beratung"


def test_a_broken_store_file_is_started_again(app):
    ids = _ids(app)[:3]
    expected, _ = _load(app, ids)
    store = app.extensions["atlas.search.viewstore"]
    for suffix in ("", "-wal", "-shm"):
        pathlib.Path(f"{store.path}{suffix}").unlink(missing_ok=True)
    store.path.write_bytes(b"this is not a database" * 100)
    store._local.conn = None
    app.extensions.pop("atlas.search.views")
    views, _ = _load(app, ids)
    assert views == expected
    views, statements = _load(app, ids)
    assert views == expected and len(statements) == 1


def test_a_store_that_cannot_be_written_leaves_every_process_building_its_own(app, tmp_path):
    blocked = tmp_path / "no-dir"
    blocked.write_text("a file where the store's folder should be")
    ids = _ids(app)[:5]
    app.config["SEARCH_VIEW_STORE"] = False
    expected, _ = _load(app, ids)
    app.extensions.pop("atlas.search.views")
    app.extensions["atlas.search.viewstore"] = ViewStore(blocked / "views.sqlite", search_service.VIEW_TTL)
    views, _ = _load(app, ids)
    assert expected and views == expected and app.extensions["atlas.search.viewstore"].broken


def test_views_another_version_of_the_code_stored_are_not_read(app, second_process, monkeypatch):
    ids = _ids(app)[:3]
    _load(app, ids)
    monkeypatch.setattr(search_service, "code_fingerprint", lambda: "after-an-upgrade")
    _, statements = _load(second_process, ids)
    assert len(statements) > 1  # built anew: the stored views have the old code's shape


@pytest.mark.parametrize("internal", [False, True])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_single_offer_s_view_loaded_in_one_joined_statement_equals_the_shared_one(app, internal, lang, monkeypatch):
    monkeypatch.setattr(search_service, "joins_lists", lambda session: True)  # PostgreSQL's way, on either database
    with app.test_request_context("/"):
        session = get_session()
        _every_kind_of_list(session)
        ids = list(session.scalars(sa.select(Service.id).order_by(Service.id)))
        expected = _full_views(session, ids, internal, lang)
        app.config["SEARCH_VIEW_STORE"] = False
        statements: list[str] = []
        engine = app.extensions["atlas.engine"]
        listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            for sid in ids:  # one by one, as offer pages ask
                session.expunge_all()
                app.extensions.pop("atlas.search.views", None)
                statements.clear()
                got = search_service.load_views(session, [sid], internal, include_archived=True, lang=lang, hsds=True)
                if sid in got:
                    assert got[sid] == expected[sid], sid
                    # versions, the offer with its lists, then the shared lists (phones, times; contacts for staff)
                    assert len(statements) <= (5 if internal else 4), "\n".join(s[:120] for s in statements)
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
