"""A page's session: writes it did not commit are rolled back; on PostgreSQL reads keep their prepared statements."""

import pytest
import sqlalchemy as sa

from atlas.db import get_session, read_only
from atlas.models import Service


def first_name() -> str:
    return get_session().scalar(sa.select(Service.name).order_by(Service.id).limit(1))


def core_write() -> str:
    get_session().execute(sa.update(Service).where(Service.name == first_name()).values(name="Kernschreibung"))
    return "ok"


def orm_flush() -> str:
    get_session().scalar(sa.select(Service).order_by(Service.id).limit(1)).name = "Flushschreibung"
    get_session().flush()
    return "ok"


def unflushed() -> str:
    get_session().scalar(sa.select(Service).order_by(Service.id).limit(1)).name = "Ungeflusht"
    return "ok"


def raw_write() -> str:
    get_session().connection().exec_driver_sql(
        "UPDATE service SET name = 'Rohschreibung' WHERE id = (SELECT min(id) FROM service)")
    return "ok"


def failing_write() -> str:
    core_write()
    raise RuntimeError("the page fails after writing")


def caught_flush_error() -> str:
    first, second = get_session().scalars(sa.select(Service).order_by(Service.id).limit(2))
    second.uuid = first.uuid
    try:
        get_session().flush()
    except sa.exc.IntegrityError:
        return "ok"  # the page goes on without rolling back; ending its session must not fail
    return "no error"


VIEWS = {"/t/read": first_name, "/t/core": core_write, "/t/flush": orm_flush, "/t/unflushed": unflushed,
         "/t/raw": raw_write, "/t/fails": failing_write, "/t/caught": caught_flush_error}


@pytest.fixture
def pages(app):
    for rule, view in VIEWS.items():
        app.add_url_rule(rule, rule, view)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app.test_client()


@pytest.mark.parametrize("path", ["/t/core", "/t/flush", "/t/unflushed", "/t/raw", "/t/fails", "/t/caught"])
def test_a_page_that_writes_without_committing_leaves_the_database_as_it_was(pages, path):
    before = pages.get("/t/read").get_data(as_text=True)
    assert pages.get(path).status_code in (200, 500)
    assert pages.get("/t/read").get_data(as_text=True) == before


def test_only_a_transaction_of_plain_selects_counts_as_read_only(app):
    with app.app_context():
        session = get_session()
        assert not read_only(session)  # no transaction yet
        session.scalar(sa.select(Service.id).limit(1))
        assert read_only(session)
        session.execute(sa.text("UPDATE service SET name = name WHERE id = -1"))
        assert not read_only(session)
        session.rollback()
        service = session.scalar(sa.select(Service).limit(1))
        assert read_only(session)  # a new transaction starts clean
        service.name = service.name + " (geändert)"
        assert not read_only(session)  # an unflushed change would be written by a COMMIT
        session.rollback()


def test_postgresql_keeps_prepared_statements_from_one_page_to_the_next(app, pages):
    """psycopg drops a connection's prepared statements at every ROLLBACK: pages planned each statement anew."""
    if app.extensions["atlas.engine"].dialect.name != "postgresql":
        pytest.skip("prepared statements are psycopg's (PostgreSQL run)")
    for _ in range(8):
        assert pages.get("/t/read").status_code == 200
    with app.extensions["atlas.engine"].connect() as conn:  # the pool's one connection, which the pages used
        prepared = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    assert any("FROM service" in statement and "ORDER BY service.id" in statement for statement in prepared)
