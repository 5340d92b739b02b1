"""Fixtures: a fresh app per test on a real database (SQLite file, or PostgreSQL when ATLAS_DATABASE_URL says so)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from atlas import create_app, schema
from atlas.auth import create_user, hash_password
from atlas.db import get_session
from atlas.seed import SEEDS, seed

DATA = Path(__file__).parent / "data"
PASSWORD = "correct horse battery"
SEED_COPY_IGNORE = shutil.ignore_patterns("demo", "gazetteer")


@pytest.fixture(scope="session")
def password_hash() -> str:
    """scrypt is slow on purpose: hash the test password once per run."""
    return hash_password(PASSWORD)


# Every run names its PostgreSQL databases <name from ATLAS_DATABASE_URL>_<pid>_<random>…, so two runs on one
# server never touch each other's databases; all of them are dropped when the run ends.
RUN_ID = f"{os.getpid()}_{secrets.token_hex(3)}"


def server_database_url(suffix: str = "") -> str | None:
    """This run's PostgreSQL database URL (ATLAS_DATABASE_URL with a run-unique name), else None (SQLite)."""
    url = os.environ.get("ATLAS_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return None
    parsed = sa.engine.make_url(url)
    name = f"{parsed.database or 'atlas'}_{RUN_ID}{suffix}"
    return parsed.set(database=name).render_as_string(hide_password=False)


def run_databases_prefix() -> str | None:
    """The name prefix of every database this run creates (None on SQLite)."""
    url = server_database_url()
    return sa.engine.make_url(url).database if url else None


@pytest.fixture(scope="session", autouse=True)
def drop_run_databases() -> Iterator[None]:
    """Drop this run's PostgreSQL databases at the end (only its own: the names carry the run id)."""
    yield
    prefix = run_databases_prefix()
    if prefix:
        with _admin_engine(server_database_url()).connect() as conn:
            names = conn.scalars(sa.text("SELECT datname FROM pg_database WHERE starts_with(datname, :p)"),
                                 {"p": prefix}).all()
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _admin_engine(url: str) -> sa.Engine:
    """An autocommit connection to the server's maintenance database (to create and drop databases)."""
    parsed = sa.engine.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    return sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def recreate_postgres(url: str, template: str | None = None) -> None:
    """Drop this run's test database and create it anew, empty or as a copy of a template database (fast)."""
    name = sa.engine.make_url(url).database
    with _admin_engine(url).connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))


# Fixtures that copy a template database over this test's database before anything touches it.
FROM_TEMPLATE = ("app", "empty_app")


@pytest.fixture
def database_url(tmp_path: Path, request) -> str:
    """A fresh, empty database for this test."""
    url = server_database_url()
    if url:
        # With a template on its way, an empty database first would be created and dropped unused (about 0.3 s
        # on PostgreSQL, for most tests of a run).
        if not any(name in request.fixturenames for name in FROM_TEMPLATE):
            recreate_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'atlas.sqlite'}"


@pytest.fixture
def make_app(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Return a factory for apps on this test's database (several apps model several processes)."""
    apps: list[Flask] = []

    def make(**overrides) -> Flask:
        # Searches are lexical unless a test turns meaning on (tests/test_semantic.py, the relevance harness):
        # exact result lists stay exact, and no test pays for the model by accident. In-process imports keep the
        # test run's CPU priority (tests/test_import_commit.py checks that an import lowers its own).
        config = {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": database_url,
                  "INSTANCE_PATH": str(tmp_path / "instance"), "NOMINATIM_URL": None,
                  "SEARCH_SEMANTIC": "off", "IMPORT_NICE": 0} | overrides
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["atlas.engine"].dispose()


def build_app_database(make_app: Callable[..., Flask], seeds: Path | None, password_hash: str) -> Flask:
    """Migrate the app's database and, with seeds, load them plus a coordinator and a staff user."""
    app = make_app()
    schema.upgrade(app.extensions["atlas.engine"])
    if seeds is not None:
        with app.app_context():
            session = get_session()
            seed(session, seeds)
            for email, role, name in (("koordination@atlas.example", "coordinator", "Kim Koordination"),
                                      ("lotsin@atlas.example", "staff", "Lea Lotsin")):
                create_user(session, email, role, name).password_hash = password_hash
            session.commit()
    return app


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory, sentinel_seeds: Path, password_hash: str) -> dict[str, Path]:
    """SQLite files built once per run (migrated; migrated and seeded) that each test copies."""
    folder = tmp_path_factory.mktemp("templates")
    templates = {}
    for name, seeds in (("empty", None), ("seeded", sentinel_seeds)):
        path = folder / f"{name}.sqlite"
        app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": f"sqlite:///{path}",
                          "INSTANCE_PATH": str(folder / "instance")})
        build_app_database(lambda app=app: app, seeds, password_hash)
        app.extensions["atlas.engine"].dispose()
        templates[name] = path
    return templates


@pytest.fixture(scope="session")
def postgres_templates(sentinel_seeds: Path, password_hash: str, tmp_path_factory) -> dict[str, str]:
    """Template databases on the PostgreSQL server (migrated; migrated and seeded), built once per run."""
    url = server_database_url()
    base = sa.engine.make_url(url)
    folder = tmp_path_factory.mktemp("pg-templates")
    templates = {}
    for kind, seeds in (("empty", None), ("seeded", sentinel_seeds)):
        name = f"{base.database}_tpl_{kind}"
        with _admin_engine(url).connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        app = create_app({"TESTING": True, "SECRET_KEY": "t", "INSTANCE_PATH": str(folder),
                          "DATABASE_URL": base.set(database=name).render_as_string(hide_password=False)})
        build_app_database(lambda app=app: app, seeds, password_hash)
        app.extensions["atlas.engine"].dispose()
        templates[kind] = name
    return templates


def prepared_app(make_app, database_url: str, templates: dict, kind: str) -> Flask:
    """An app on this test's database, copied from a template built once per run (SQLite file or PostgreSQL database)."""
    if database_url.startswith("sqlite"):
        shutil.copyfile(templates[kind], database_url.removeprefix("sqlite:///"))
    else:
        recreate_postgres(database_url, templates[kind])
    return make_app()


def templates_for(database_url: str, request) -> dict:
    """The template databases of this run for the database kind in use."""
    return request.getfixturevalue("sqlite_templates" if database_url.startswith("sqlite") else "postgres_templates")


@pytest.fixture
def empty_app(make_app, database_url: str, request) -> Flask:
    """An app whose database has the schema but no rows."""
    return prepared_app(make_app, database_url, templates_for(database_url, request), "empty")


@pytest.fixture(scope="session")
def sentinel_seeds(tmp_path_factory) -> Path:
    """A seeds folder with the real taxonomy, regions and owners, and the sentinel data set as demo data."""
    seeds = tmp_path_factory.mktemp("seeds")
    shutil.copytree(SEEDS, seeds, ignore=SEED_COPY_IGNORE, dirs_exist_ok=True)
    (seeds / "demo").mkdir()
    shutil.copy(DATA / "sentinel_demo.json", seeds / "demo" / "sentinel.json")
    return seeds


@pytest.fixture
def app(make_app, database_url: str, request) -> Flask:
    """An app with taxonomy, regions, demo owners, the sentinel data set and two users."""
    return prepared_app(make_app, database_url, templates_for(database_url, request), "seeded")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, path: str) -> str:
    """Fetch a form page and return its CSRF token."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD):
    """Log in through the real form, CSRF token included."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def coordinator_client(client: FlaskClient) -> FlaskClient:
    assert login(client, "koordination@atlas.example").status_code == 302
    return client


@pytest.fixture
def staff_client(client: FlaskClient) -> FlaskClient:
    assert login(client, "lotsin@atlas.example").status_code == 302
    return client


def service_id(app: Flask, name: str) -> int:
    """Return the id of the offer with this name."""
    from atlas.models import Service
    with app.app_context():
        return get_session().scalar(sa.select(Service.id).where(Service.name == name))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The full demo data loaded once per module into a SQLite file, for read-only checks."""
    folder = tmp_path_factory.mktemp("demo")
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": f"sqlite:///{folder}/demo.sqlite",
                      "INSTANCE_PATH": str(folder)})
    schema.upgrade(app.extensions["atlas.engine"])
    with app.app_context():
        seed(get_session())
        get_session().commit()
    yield app
    app.extensions["atlas.engine"].dispose()
