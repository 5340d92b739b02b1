"""A module-wide app with the real demo data, for the participants' journeys (read-only tests share it)."""

from __future__ import annotations

import pytest

from atlas.db import get_session
from atlas.seed import SEEDS, seed


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """The atlas with seeds/ as shipped (217 organisations, 359 offers); tests must only read."""
    from conftest import recreate_postgres, server_database_url

    from atlas import create_app, schema

    tmp = tmp_path_factory.mktemp("public")
    url = server_database_url()
    if url:
        recreate_postgres(url)
    else:
        url = f"sqlite:///{tmp / 'atlas.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": url,
                      "INSTANCE_PATH": str(tmp / "instance"), "NOMINATIM_URL": None})
    schema.upgrade(app.extensions["atlas.engine"])
    with app.app_context():
        seed(get_session(), SEEDS)
        get_session().commit()
    yield app
    app.extensions["atlas.engine"].dispose()
