"""Fixtures: a fresh app per test on a real database (SQLite file, or PostgreSQL when ATLAS_DATABASE_URL says so)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from atlas import create_app, schema
from atlas.auth import create_user
from atlas.db import get_session, make_engine
from atlas.seed import SEEDS, seed

DATA = Path(__file__).parent / "data"
PASSWORD = "correct horse battery"


def server_database_url() -> str | None:
    """The PostgreSQL URL CI sets for the second run, else None (SQLite)."""
    url = os.environ.get("ATLAS_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


def reset_postgres(url: str) -> None:
    """Drop everything in the test database so each test starts empty."""
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh, empty database for this test."""
    url = server_database_url()
    if url:
        reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'atlas.sqlite'}"


@pytest.fixture
def make_app(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Return a factory for apps on this test's database (several apps model several processes)."""
    apps: list[Flask] = []

    def make(**overrides) -> Flask:
        config = {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": database_url,
                  "INSTANCE_PATH": str(tmp_path / "instance"), "NOMINATIM_URL": None} | overrides
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["atlas.engine"].dispose()


@pytest.fixture
def empty_app(make_app) -> Flask:
    """An app whose database has the schema but no rows."""
    app = make_app()
    schema.upgrade(app.extensions["atlas.engine"])
    return app


@pytest.fixture
def app(empty_app: Flask) -> Flask:
    """An app with taxonomy, regions, demo owners and the small sentinel data set."""
    seeds = Path(empty_app.instance_path) / "seeds"
    shutil.copytree(SEEDS, seeds, ignore=shutil.ignore_patterns("demo", "gazetteer"))
    (seeds / "demo").mkdir()
    shutil.copy(DATA / "sentinel_demo.json", seeds / "demo" / "sentinel.json")
    with empty_app.app_context():
        session = get_session()
        seed(session, seeds)
        create_user(session, "koordination@atlas.example", "coordinator", "Kim Koordination", PASSWORD)
        create_user(session, "lotsin@atlas.example", "staff", "Lea Lotsin", PASSWORD)
        session.commit()
    return empty_app


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


