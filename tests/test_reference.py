"""Reference data (categories, regions, places with offers): read once per interval per process, own edits at once."""

from __future__ import annotations

import sqlalchemy as sa

from atlas import reference
from atlas.db import get_session
from atlas.models import Location, Region, TaxonomyTerm


def _watch(app) -> list[str]:
    """Every statement the app's engine runs from now on."""
    statements: list[str] = []
    sa.event.listen(app.extensions["atlas.engine"], "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: statements.append(statement))
    return statements


def _rename(app, slug: str, name: str) -> None:
    with app.app_context():
        session = get_session()
        term = session.scalar(sa.select(TaxonomyTerm).where(TaxonomyTerm.slug == slug))
        term.name = term.name_plain = name
        session.commit()


def test_pages_read_the_categories_once_per_interval(app, client):
    paths = ("/angebote", "/angebote?seite=2", "/karte", "/")
    for path in paths:
        assert client.get(path).status_code == 200
    statements = _watch(app)
    for path in paths:
        assert client.get(path).status_code == 200
    assert statements
    assert not [s for s in statements if "FROM taxonomy_term" in s and "taxonomy_term.sort_order" in s]
    assert not [s for s in statements if "FROM region" in s and "region.kind" in s]


def test_an_edit_in_this_process_shows_at_once(app, client):
    assert "Hilfe bei Anträgen XY" not in client.get("/angebote").get_data(as_text=True)
    _rename(app, "sozialberatung", "Hilfe bei Anträgen XY")
    assert "Hilfe bei Anträgen XY" in client.get("/angebote").get_data(as_text=True)


def test_another_process_s_edit_shows_after_the_interval(app, client, make_app, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(reference.time, "monotonic", lambda: clock[0])
    assert "Hilfe bei Anträgen XY" not in client.get("/angebote").get_data(as_text=True)
    _rename(make_app(), "sozialberatung", "Hilfe bei Anträgen XY")  # another app: another worker's engine
    clock[0] += app.config["REFERENCE_CACHE_SECONDS"] / 2
    assert "Hilfe bei Anträgen XY" not in client.get("/angebote").get_data(as_text=True)
    clock[0] += app.config["REFERENCE_CACHE_SECONDS"]
    assert "Hilfe bei Anträgen XY" in client.get("/angebote").get_data(as_text=True)


def test_a_new_place_with_offers_joins_the_map_s_places_once_committed(app, client):
    page = client.get("/karte").get_data(as_text=True)
    with app.app_context():
        session = get_session()
        empty = session.scalar(sa.select(Region).where(
            Region.kind == "gemeinde", Region.latitude.is_not(None),
            ~sa.exists(sa.select(Location.id).where(Location.gemeinde_id == Region.id))).order_by(Region.name))
        assert empty is not None and empty.name not in page
        location = session.scalar(sa.select(Location).order_by(Location.id))
        location.gemeinde_id = empty.id
        session.commit()
        name = empty.name
    assert name in client.get("/karte").get_data(as_text=True)


def test_a_change_noted_without_orm_objects_is_forgotten_at_commit(app):
    with app.app_context():
        session = get_session()
        calls = []
        reference.cached(session, "probe", lambda s: calls.append(1) or 1)
        reference.cached(session, "probe", lambda s: calls.append(1) or 1)
        assert len(calls) == 1
        reference.changed(session)  # what the bulk importer says before inserting locations
        reference.cached(session, "probe", lambda s: calls.append(1) or 1)  # its own session reads afresh
        assert len(calls) == 2
        session.commit()
        reference.cached(session, "probe", lambda s: calls.append(1) or 1)
        reference.cached(session, "probe", lambda s: calls.append(1) or 1)
        assert len(calls) == 3  # forgotten at the commit, then read once


def test_caching_can_be_turned_off(app):
    app.config["REFERENCE_CACHE_SECONDS"] = 0
    with app.app_context():
        session = get_session()
        calls = []
        for _ in range(3):
            reference.cached(session, "probe", lambda s: calls.append(1) or 1)
        assert len(calls) == 3


def test_a_list_read_while_this_process_commits_a_change_is_not_kept(app):
    with app.app_context():
        session = get_session()
        calls = []

        def load_during_a_commit(s):
            calls.append(1)
            reference.forget(s.get_bind())  # another thread of this process commits a change meanwhile
            return "read before the change"

        reference.cached(session, "probe", load_during_a_commit)
        assert reference.cached(session, "probe", lambda s: calls.append(1) or "after") == "after"
        assert len(calls) == 2
