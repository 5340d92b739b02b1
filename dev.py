#!/usr/bin/env python3
"""Quick start: `python3 dev.py start` runs the atlas with demo data, `python3 dev.py test` runs the tests.

Needs only Python 3.11+; everything else is installed into .venv from the hashed lock file requirements.lock.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
INSTANCE = ROOT / "instance"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".atlas-installed"
SETUP_STAMPS = INSTANCE / "dev-setup.json"
DEMO_LOGIN = INSTANCE / "demo-login.txt"
DEMO_SITE = INSTANCE / "demo-site"
DEMO_EMAIL = "koordination@atlas.example"
LOCK_EXTRAS = ("semantic", "server", "test")
# Processes started beside the web server, each `flask --app atlas <command>` on its own (web workers never run
# jobs). A new background process is one more entry here and one more unit in deploy/.
SIDE_PROCESSES = {
    "scheduler": ["scheduler"],  # link checks and digests
    "indexer": ["indexer"],  # the only process that writes the search index
    "import-worker": ["import-worker"],  # web imports run here, never inside a web request
}


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


def digest(*paths: Path) -> str:
    """SHA-256 over the files (folders: every file inside, sorted), to tell whether inputs changed."""
    sha = hashlib.sha256()
    for path in paths:
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file() and "__pycache__" not in file.parts:
                sha.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return sha.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the locked dependencies and atlas when the lock or pyproject.toml changed."""
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
    wanted = digest(LOCK, ROOT / "pyproject.toml")
    if not STAMP.exists() or STAMP.read_text(encoding="utf-8") != wanted:
        print("Installing the locked dependencies (requirements.lock) and atlas into .venv …", flush=True)
        pip = (PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
        run(*pip, "--require-hashes", "-r", LOCK)
        run(*pip, "--no-deps", "-e", ".")
        STAMP.write_text(wanted, encoding="utf-8")


def normalize(name: str) -> str:
    """A distribution name as pip compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_problems(pyproject: str, lock: str) -> list[str]:
    """Where pyproject.toml and requirements.lock disagree (run inside .venv: needs `packaging`)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip always vendors it
        from pip._vendor.packaging.requirements import Requirement
    project = tomllib.loads(pyproject)["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for extra in LOCK_EXTRAS for r in project["optional-dependencies"][extra]]
    pins = {normalize(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", lock, re.M)}
    problems = [f"{r.name} is in pyproject.toml but not in requirements.lock" for r in wanted
                if normalize(r.name) not in pins]
    problems += [f"requirements.lock pins {r.name}=={pins[normalize(r.name)]}, pyproject.toml wants {r.specifier}"
                 for r in wanted if normalize(r.name) in pins
                 and not r.specifier.contains(pins[normalize(r.name)], prereleases=True)]
    direct = {normalize(r.name) for r in wanted}
    for block in re.split(r"\n(?=\S)", lock):
        name = re.match(r"([A-Za-z0-9_.-]+)==", block)
        vias = re.findall(r"#\s+(?:via\s+)?(\S.*)", block)
        if name and "--hash=sha256:" not in block:
            problems.append(f"requirements.lock has no hash for {name[1]}")
        if name and vias and all(v.startswith("atlas") for v in vias) and normalize(name[1]) not in direct:
            problems.append(f"requirements.lock still pins {name[1]}, which pyproject.toml no longer names")
    return problems


def check_lock() -> None:
    """Fail when pyproject.toml and requirements.lock disagree (CI runs this)."""
    if not os.environ.get("ATLAS_IN_VENV"):
        ensure_venv()
        run(PY, __file__, "check-lock", env=os.environ | {"ATLAS_IN_VENV": "1"})
        return
    problems = lock_problems((ROOT / "pyproject.toml").read_text(encoding="utf-8"), LOCK.read_text(encoding="utf-8"))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit("pyproject.toml and requirements.lock disagree: regenerate the lock (docs/development.md).")
    print("requirements.lock agrees with pyproject.toml.")


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


def port_free(host: str, port: int) -> bool:
    """True when host:port can be bound (as the web server will, with SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def set_up(env: dict[str, str]) -> None:
    """Migrate, seed and index only what changed since the last start (instance/dev-setup.json remembers).

    Re-seeding only when seeds/ changed keeps coordinators' edits of demo entries across restarts.
    """
    # Every process imports atlas; cached bytecode saves each of them ~0.5 s even where
    # PYTHONDONTWRITEBYTECODE is set (Python still reads what is there).
    compileall.compile_dir(ROOT / "atlas", quiet=1)
    stamps = json.loads(SETUP_STAMPS.read_text(encoding="utf-8")) if SETUP_STAMPS.exists() else {}
    database = env.get("ATLAS_DATABASE_URL") or "sqlite"
    if stamps.get("database") != database or (database == "sqlite" and not (INSTANCE / "atlas.sqlite").exists()):
        stamps = {"database": database}
        DEMO_LOGIN.unlink(missing_ok=True)  # a new database has no demo coordinator yet
    index = Path(env.get("ATLAS_SEARCH_INDEX_DIR") or INSTANCE / "search-index")
    seeds = digest(ROOT / "seeds")
    steps = [("migrations", digest(ROOT / "migrations"), ["init-db"]), ("seeds", seeds, ["seed"]),
             ("index", seeds if index.exists() else None, ["reindex"])]
    for name, wanted, command in steps:
        if name == "index":  # the demo coordinator is a change the index must have seen before /healthz is asked
            ensure_demo_login(env)
        if wanted is None or stamps.get(name) != wanted:
            flask(*command, env=env)
            stamps[name] = wanted or seeds
            SETUP_STAMPS.write_text(json.dumps(stamps, indent=1), encoding="utf-8")


def start_demo_site(env: dict[str, str]) -> subprocess.Popen:
    """Start the stand-in for the demo's .example sites and point the link checker at it (via env)."""
    settings = DEMO_SITE / "checker.json"
    settings.unlink(missing_ok=True)
    proc = subprocess.Popen([PY, ROOT / "seeds" / "demo_site.py", "--port", str(free_port()), "--dir", DEMO_SITE,
                             "--settings", settings], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while not settings.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit("The local demo site for the demo links did not start (see above).")
        time.sleep(0.05)
    for key, value in json.loads(settings.read_text(encoding="utf-8")).items():
        env[f"ATLAS_{key}"] = json.dumps(value)
    return proc


def wait_until_healthy(url: str, web: subprocess.Popen, seconds: float = 60) -> dict:
    """Poll /healthz until database, search index and link checker are all fine; returns the last answer."""
    deadline, body = time.monotonic() + seconds, {}
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
                body = json.load(response)
        except (OSError, ValueError):
            body = {}
        if (body.get("status") == "ok" and body.get("search", {}).get("present")
                and body.get("link_checker", {}).get("status") == "ok"):
            break
        time.sleep(0.2)
    return body


def stop(processes: list[subprocess.Popen]) -> None:
    """Ask every process to stop (SIGTERM works even where SIGINT is ignored), kill those left after 10 s."""
    for proc in reversed(processes):  # the web server and jobs first, the demo site they use last
        if proc.poll() is None:
            proc.terminate()
    for proc in processes:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def start(argv: list[str]) -> None:
    """Install, migrate, seed, index and serve the atlas, with the scheduler and the demo site beside it."""
    parser = argparse.ArgumentParser(prog="python3 dev.py start")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port to serve on (default 5000)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        sys.exit(f"--port must be between 1 and 65535, not {args.port}.")
    if not port_free(args.host, args.port):
        sys.exit(f"Port {args.port} on {args.host} is already in use (another atlas?). "
                 f"Stop that program or choose another port: python3 dev.py start --port {args.port + 1}")
    # `kill` and Ctrl+C stop the children too, even when started from a script that ignores SIGINT
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ensure_venv()
    ensure_instance_config()
    env = os.environ.copy()
    env.pop("FLASK_DEBUG", None)
    set_up(env)
    login = ensure_demo_login(env)  # made during set-up; this only reads it
    processes = [start_demo_site(env)]
    side = {name: [PY, "-m", "flask", "--app", "atlas", *command] for name, command in SIDE_PROCESSES.items()}
    processes.append(subprocess.Popen(side.pop("scheduler"), cwd=ROOT, env=env))
    web = subprocess.Popen([PY, "-m", "flask", "--app", "atlas", "run", "--host", args.host,
                            "--port", str(args.port)], cwd=ROOT, env=env)
    processes.append(web)
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{'[' + host + ']' if ':' in host else host}:{args.port}"
    try:
        health = wait_until_healthy(url, web)
        # /healthz needs only the web server and the scheduler: the other processes start once it is green,
        # so that on two cores they do not slow the start down.
        processes[-1:-1] = [subprocess.Popen(command, cwd=ROOT, env=env) for command in side.values()]
        if web.poll() is None:
            if health.get("status") != "ok":
                print(f"Warning: {url}/healthz is not all green yet: {json.dumps(health)}", flush=True)
            print(f"\natlas runs on {url}  —  {login}  —  stop with Ctrl+C\n", flush=True)
        web.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop(processes)
    if web.returncode not in (0, None, -signal.SIGINT, -signal.SIGTERM):
        sys.exit(f"The web server stopped with exit code {web.returncode}.")


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


USAGE = ("usage: python3 dev.py start [--host HOST] [--port PORT] | python3 dev.py test [pytest arguments] | "
         "python3 dev.py translations | python3 dev.py check-lock")


def main() -> None:
    """Dispatch start, test, translations or check-lock."""
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command == "start":
        start(rest)
    elif command == "test":
        test(rest)
    elif command == "translations":
        translations()
    elif command == "check-lock":
        check_lock()
    else:
        sys.exit(USAGE)


if __name__ == "__main__":
    main()
