"""A module-wide app with the real demo data, for the participants' journeys (read-only tests share it)."""

from __future__ import annotations

import pytest
from search_support import module_app

from atlas.db import get_session
from atlas.seed import SEEDS, seed


def load_demo(app) -> None:
    """seeds/ as shipped: 217 organisations, 359 offers."""
    with app.app_context():
        seed(get_session(), SEEDS)
        get_session().commit()


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """The atlas with the demo data; tests must only read."""
    yield from module_app(tmp_path_factory, "public", "_public", load_demo)
