#!/usr/bin/env python3
"""Quick start: `python3 dev.py start` runs the atlas with demo data, `python3 dev.py test` runs the tests.

Needs only Python 3.11+; everything else is installed into .venv from PyPI.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
INSTANCE = ROOT / "instance"
STAMP = VENV / ".atlas-installed"
DEMO_LOGIN = INSTANCE / "demo-login.txt"
DEMO_EMAIL = "koordination@atlas.example"


def run(*args: str | Path, **kwargs) -> None:
    """Run a command, stopping with its exit code when it fails."""
    result = subprocess.run([str(a) for a in args], cwd=ROOT, **kwargs)
    if result.returncode:
        sys.exit(result.returncode)


def flask(*args: str, env: dict[str, str] | None = None) -> None:
    """Run a `flask --app atlas` command inside the venv."""
    run(PY, "-m", "flask", "--app", "atlas", *args, env=env)


def bootstrap_pip() -> None:
    """Install pip into a venv made without it (Debian's python3 lacks ensurepip without python3-venv)."""
    with urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=60) as response:
        release = json.load(response)
    wheel = next(u for u in release["urls"] if u["packagetype"] == "bdist_wheel")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / wheel["filename"]
        urllib.request.urlretrieve(wheel["url"], target)
        run(PY, target / "pip", "install", "--quiet", target)


def ensure_venv() -> None:
    """Create .venv and install atlas with its test extras when pyproject.toml changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"atlas needs Python 3.11 or newer, this is {sys.version.split()[0]}.")
    if not PY.exists():
        print("Creating .venv …", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except (subprocess.CalledProcessError, OSError):
            shutil.rmtree(VENV, ignore_errors=True)
            venv.create(VENV, with_pip=False)
            bootstrap_pip()
    wanted = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if not STAMP.exists() or STAMP.read_text(encoding="utf-8") != wanted:
        print("Installing atlas and its dependencies into .venv …", flush=True)
        run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[test]")
        STAMP.write_text(wanted, encoding="utf-8")


def ensure_instance_config() -> None:
    """Write instance/config.py with a random secret key on first start."""
    INSTANCE.mkdir(exist_ok=True)
    config = INSTANCE / "config.py"
    if not config.exists():
        config.write_text(
            "# Written by dev.py on first start; see README 'Configuration' for every key.\n"
            f"SECRET_KEY = {secrets.token_urlsafe(48)!r}\n",
            encoding="utf-8",
        )
        config.chmod(0o600)


def ensure_demo_login(env: dict[str, str]) -> str:
    """Create the demo coordinator once and return the login line to print."""
    if not DEMO_LOGIN.exists():
        password = secrets.token_urlsafe(12)
        code = (
            "from atlas import create_app\n"
            "from atlas.auth import create_user\n"
            "from atlas.db import get_session\n"
            "from atlas.models import User\n"
            "import sqlalchemy as sa, sys\n"
            "app = create_app()\n"
            "with app.app_context():\n"
            "    s = get_session()\n"
            f"    user = s.scalar(sa.select(User).where(User.email == {DEMO_EMAIL!r}))\n"
            "    if user is None:\n"
            f"        create_user(s, {DEMO_EMAIL!r}, 'coordinator', 'Demo-Koordination', sys.argv[1])\n"
            "    else:\n"
            "        from atlas.auth import hash_password\n"
            "        user.password_hash = hash_password(sys.argv[1])\n"
            "    s.commit()\n"
        )
        run(PY, "-c", code, password, env=env)
        DEMO_LOGIN.write_text(f"{DEMO_EMAIL} {password}\n", encoding="utf-8")
        DEMO_LOGIN.chmod(0o600)
    email, password = DEMO_LOGIN.read_text(encoding="utf-8").split()
    return f"Coordinator login: {email} / {password}"


def start() -> None:
    """Install, migrate, seed and serve the atlas on http://127.0.0.1:5000 with the link checker beside it."""
    ensure_venv()
    ensure_instance_config()
    env = os.environ.copy()
    env.pop("FLASK_DEBUG", None)
    flask("init-db", env=env)
    flask("seed", env=env)
    login = ensure_demo_login(env)
    # The link checker's scheduler, the search indexer (the only process writing the search index) and the import
    # worker (web imports) run in their own processes, never inside the web server.
    processes = [subprocess.Popen([PY, "-m", "flask", "--app", "atlas", command], cwd=ROOT, env=env)
                 for command in ("scheduler", "indexer", "import-worker")]
    print(f"\natlas runs on http://127.0.0.1:5000  —  {login}  —  stop with Ctrl+C\n", flush=True)
    web = subprocess.Popen([PY, "-m", "flask", "--app", "atlas", "run", "--host", "127.0.0.1", "--port", "5000"],
                           cwd=ROOT, env=env)
    processes.append(web)
    try:
        web.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test(extra: list[str]) -> None:
    """Run the whole test suite (pass pytest arguments after `test`)."""
    ensure_venv()
    run(PY, "-m", "pytest", *extra)


def translations() -> None:
    """Extract UI strings, merge them into the English catalogue and compile it (maintainers' helper)."""
    ensure_venv()
    pot = ROOT / "atlas" / "translations" / "messages.pot"
    run(BIN / "pybabel", "extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "--omit-header",
        "--sort-output", "-o", pot, ".")
    run(BIN / "pybabel", "update", "-i", pot, "-d", ROOT / "atlas" / "translations", "--no-fuzzy-matching",
        "--ignore-obsolete")
    run(BIN / "pybabel", "compile", "-d", ROOT / "atlas" / "translations", "--statistics")


COMMANDS = {"start": start, "test": None, "translations": translations}


def main() -> None:
    """Dispatch `start`, `test` or `translations`."""
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit("usage: python3 dev.py start | python3 dev.py test [pytest arguments] | python3 dev.py translations")
    if sys.argv[1] == "test":
        test(sys.argv[2:])
    else:
        COMMANDS[sys.argv[1]]()


if __name__ == "__main__":
    main()
