"""Fixtures and helpers for the search tests: the sentinel data plus a few German offers for analysis cases."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import DATA, PASSWORD, login
from flask import Flask
from sqlalchemy import select

from atlas.auth import create_user
from atlas.db import get_session
from atlas.models import Service
from atlas.seed import SEEDS, seed


def load_search_data(app: Flask, password_hash: str | None = None) -> None:
    """Seed taxonomy, regions, the sentinel data and tests/data/search_demo.json, plus the two test users."""
    seeds = Path(app.instance_path) / "seeds"
    shutil.copytree(SEEDS, seeds, ignore=shutil.ignore_patterns("demo", "gazetteer"))
    (seeds / "demo").mkdir()
    shutil.copy(DATA / "sentinel_demo.json", seeds / "demo" / "sentinel.json")
    shutil.copy(DATA / "search_demo.json", seeds / "demo" / "search.json")
    with app.app_context():
        session = get_session()
        seed(session, seeds)
        for email, role, name in (("koordination@atlas.example", "coordinator", "Kim Koordination"),
                                  ("lotsin@atlas.example", "staff", "Lea Lotsin")):
            user = create_user(session, email, role, name, None if password_hash else PASSWORD)
            if password_hash:
                user.password_hash = password_hash  # hashed once per run (scrypt is slow on purpose)
        session.commit()


@pytest.fixture
def search_app(empty_app: Flask, password_hash: str) -> Flask:
    """An app with the search test data."""
    load_search_data(empty_app, password_hash)
    return empty_app


@pytest.fixture
def staff(search_app: Flask):
    client = search_app.test_client()
    assert login(client, "lotsin@atlas.example").status_code == 302
    return client


@pytest.fixture
def coordinator(search_app: Flask):
    client = search_app.test_client()
    assert login(client, "koordination@atlas.example").status_code == 302
    return client


def sid(app: Flask, name: str) -> int:
    """The id of the offer with this name."""
    with app.app_context():
        found = get_session().scalar(select(Service.id).where(Service.name == name))
        assert found is not None, name
        return found


def names(response) -> list[str]:
    """Offer names of an API search answer, in order."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return [item["name"] for item in response.get_json()["contents"]]


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory, password_hash: str):
    """One search app for a whole test module that only reads (much faster than one per test)."""
    yield from module_app(tmp_path_factory, "search", "_shared", lambda app: load_search_data(app, password_hash))


def module_app(tmp_path_factory, name: str, suffix: str, load) -> Iterator[Flask]:
    """A migrated app on its own SQLite file or PostgreSQL database for a read-only test module, filled by load()."""
    from conftest import recreate_postgres, server_database_url

    from atlas import create_app, schema

    tmp = tmp_path_factory.mktemp(name)
    url = server_database_url(suffix)
    if url:
        recreate_postgres(url)
    else:
        url = f"sqlite:///{tmp / 'atlas.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": url,
                      "INSTANCE_PATH": str(tmp / "instance"), "NOMINATIM_URL": None, "SEARCH_SEMANTIC": "off"})
    schema.upgrade(app.extensions["atlas.engine"])
    load(app)
    yield app
    app.extensions["atlas.engine"].dispose()


@pytest.fixture(scope="module")
def shared_staff(shared_app: Flask):
    client = shared_app.test_client()
    assert login(client, "lotsin@atlas.example").status_code == 302
    return client


INDEXER_ROOT = Path(__file__).resolve().parent.parent


def indexer_env(app: Flask, **settings: str) -> dict[str, str]:
    """Environment for a `flask --app atlas` process on this app's database and index directory."""
    from atlas.search.sync import keeper

    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    return env | {"ATLAS_DATABASE_URL": app.config["DATABASE_URL"], "ATLAS_SECRET_KEY": "test-secret",
                  "ATLAS_SEARCH_INDEX_DIR": str(keeper(app).store.root), "ATLAS_NOMINATIM_URL": "null",
                  "ATLAS_SEARCH_INDEX_POLL": "0.1", "PYTHONPATH": str(INDEXER_ROOT)} | settings


@contextmanager
def indexer_process(app: Flask, wait_for_index: bool = True, new_session: bool = False,
                    **settings: str) -> Iterator[subprocess.Popen]:
    """Run the real indexer (`flask --app atlas indexer`) for this app; waits until the index is published."""
    from atlas.search.sync import keeper

    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "atlas", "indexer"], cwd=INDEXER_ROOT,
                            env=indexer_env(app, **settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=new_session)
    try:
        deadline = time.monotonic() + 120
        while wait_for_index and keeper(app).store.current_name() is None:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the indexer did not publish an index within 120 s"
            time.sleep(0.05)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@pytest.fixture
def indexer(search_app: Flask) -> Iterator[subprocess.Popen]:
    """The search app with its indexer process running."""
    with indexer_process(search_app) as proc:
        yield proc


def pdf_streams(data: bytes) -> list[str]:
    """The decompressed content streams of a PDF that fpdf2 wrote (an undecodable stream is kept as it is)."""
    streams = []
    # fpdf2 writes "stream\n<data>\nendstream"; the data is binary and may itself end in "\r", so no "\r?" here.
    for raw in re.findall(rb"stream\n(.*?)\nendstream", data, re.S):
        try:
            streams.append(zlib.decompressobj().decompress(raw).decode("latin-1"))
        except zlib.error:
            streams.append(raw.decode("latin-1"))
    return streams
