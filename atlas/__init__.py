"""atlas: a regional support-network atlas with link maintenance."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from .config import DEV_SECRET_KEY, Defaults
from .db import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure an atlas application; starts no threads and touches no network."""
    # Imported here, not at the top: the checker's own process imports atlas.* without the web stack.
    from . import (api, audit, auth, backup, checker, cli, curation, db, errors, freshness, health, i18n, importers,
                   inline, maps, opening, params, plain, reference, safetext, search, security, serving, sessions,
                   validity)
    from .views import account as account_views
    from .views import public, staff

    test_config = dict(test_config or {})
    app = Flask(
        __name__,
        instance_relative_config=True,
        # Production keeps data outside the code, e.g. ATLAS_INSTANCE_PATH=/var/lib/atlas (docs/operations.md).
        instance_path=test_config.pop("INSTANCE_PATH", None) or os.environ.get("ATLAS_INSTANCE_PATH")
        or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, test_config)
    check_config(app)
    os.makedirs(app.instance_path, exist_ok=True)
    audit.install()
    reference.install()
    for module in (db, serving, params, i18n, plain, opening, validity, sessions, freshness, auth, errors, cli, backup, health,
                   security, safetext, inline, curation, checker, importers, search):
        module.init_app(app)
    for blueprint in (public.bp, staff.bp, auth.bp, api.bp, maps.bp, search.bp, account_views.bp):
        app.register_blueprint(blueprint)
    return app


def load_config(app: Flask, test_config: dict[str, Any]) -> None:
    """Layer the configuration: defaults, instance/config.py, ATLAS_* variables, then test overrides."""
    app.config.from_object(Defaults)
    try:
        app.config.from_pyfile("config.py", silent=True)
    except (SyntaxError, OSError, NameError) as exc:
        raise ConfigError(f"{app.instance_path}/config.py cannot be read: {exc}") from exc
    app.config.from_prefixed_env("ATLAS")
    app.config.update(test_config)


def check_config(app: Flask) -> None:
    """Refuse settings that cannot work or are unsafe outside debug and testing."""
    if app.config["SECRET_KEY"] in (None, "", DEV_SECRET_KEY) and not (app.debug or app.testing):
        raise ConfigError(
            "SECRET_KEY is not set. Put SECRET_KEY = '<random string>' into "
            f"{app.instance_path}/config.py or set ATLAS_SECRET_KEY (python3 dev.py start generates one)."
        )
    for key in ("PER_PAGE", "API_MAX_PER_PAGE"):
        if not isinstance(app.config[key], int) or app.config[key] < 1:
            raise ConfigError(f"{key} must be a positive whole number, not {app.config[key]!r}.")
    for key in ("INDEXER_NICE", "IMPORT_NICE"):
        if not isinstance(app.config[key], int) or not -20 <= app.config[key] <= 19:
            raise ConfigError(f"{key} must be a nice value from -20 to 19 (0: unchanged), not {app.config[key]!r}.")
    feedback, share = app.config["SEARCH_SEMANTIC_FEEDBACK"], app.config["SEARCH_SEMANTIC_FEEDBACK_SHARE"]
    if not isinstance(feedback, int) or isinstance(feedback, bool) or feedback < 0:
        raise ConfigError(f"SEARCH_SEMANTIC_FEEDBACK must be a whole number, 0 or more (0: off), not {feedback!r}.")
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 < share <= 1:
        raise ConfigError(f"SEARCH_SEMANTIC_FEEDBACK_SHARE must be a number above 0 and at most 1, not {share!r}.")
    if app.config["BABEL_DEFAULT_LOCALE"] not in app.config["LANGUAGES"]:
        raise ConfigError("BABEL_DEFAULT_LOCALE must be one of LANGUAGES.")
