"""The checker's own process: the scheduler with only what checking needs, not the web stack.

`flask --app atlas scheduler` builds the app (settings, schema check) and then replaces itself, keeping its
pid, with `python -m atlas.checker.process`, which gets the settings through an unnamed temporary file and
imports the checker, the database layer and APScheduler, but no views, templates, search, maps or importers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from typing import Any, NoReturn

from flask import Flask

from .. import audit, db
from . import workers
from .engine import freeze_startup
from .lease import AlreadyRunning
from .scheduler import CheckerScheduler


def already_running(exc: AlreadyRunning) -> str:
    """The one-line refusal when another scheduler holds this instance's lock."""
    return (f"Another link-checker scheduler is already running for this instance (pid {exc}). "
            "Stop it first; only one may run at a time.")


def _settings(config: Any) -> dict[str, Any]:
    """The settings that survive a trip through JSON (the checker needs no others)."""
    kept = {}
    for key, value in config.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        kept[key] = value
    return kept


def exec_scheduler(app: Flask) -> NoReturn:
    """Replace this process (same pid) with the checker's own small process, handing over the settings."""
    handle = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - handed over to the new program
    json.dump({"instance_path": app.instance_path, "config": _settings(app.config)}, handle)
    handle.flush()
    fd = handle.fileno()
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_inheritable(fd, True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "atlas.checker.process", "--settings-fd", str(fd)])


def checker_app(config: dict[str, Any], instance_path: str) -> Flask:
    """A bare Flask app with the settings and the database: enough for the jobs, nothing for the web."""
    app = Flask("atlas", instance_path=instance_path)
    app.config.update(config)
    audit.install()
    db.init_app(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the scheduler until SIGINT or SIGTERM; 1 when another one runs for this instance."""
    parser = argparse.ArgumentParser(prog="python -m atlas.checker.process",
                                     description="Started by `flask --app atlas scheduler`, not by hand.")
    parser.add_argument("--settings-fd", type=int, required=True, help="file descriptor of the JSON settings")
    args = parser.parse_args(argv)
    with os.fdopen(args.settings_fd, encoding="utf-8") as handle:
        data = json.load(handle)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = checker_app(data["config"], data["instance_path"])
    freeze_startup()
    try:
        with workers.started(app.config):  # forked before the scheduler starts any thread
            CheckerScheduler(app).run()
    except AlreadyRunning as exc:
        print(f"Error: {already_running(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
