"""requirements.lock (pip-compile --generate-hashes) agrees with pyproject.toml; `dev.py check-lock` says when not."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
dev = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dev)
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
LOCK = (ROOT / "requirements.lock").read_text(encoding="utf-8")


def test_the_lock_agrees_with_pyproject():
    assert dev.lock_problems(PYPROJECT, LOCK) == []


def test_every_installed_locked_package_has_the_locked_version():
    from importlib.metadata import PackageNotFoundError, version
    pins = {dev.normalize(line.split("==")[0]): line.split("==")[1].split()[0]
            for line in LOCK.splitlines() if "==" in line and not line.startswith((" ", "#"))}
    wrong = {}
    for name, pinned in pins.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue
        if installed != pinned:
            wrong[name] = (installed, pinned)
    assert not wrong, f"installed differs from requirements.lock (run python3 dev.py start or test): {wrong}"


def test_a_new_dependency_missing_from_the_lock_is_reported():
    changed = PYPROJECT.replace('"segno>=1.6,<2",', '"segno>=1.6,<2",\n    "rich>=13",')
    assert dev.lock_problems(changed, LOCK) == ["rich is in pyproject.toml but not in requirements.lock"]


def test_a_pin_outside_the_range_a_missing_hash_and_a_leftover_pin_are_reported():
    pinned = next(line for line in LOCK.splitlines() if line.startswith("flask=="))
    lock = LOCK.replace(pinned, "flask==2.0.0 \\")
    assert any("flask==2.0.0" in p for p in dev.lock_problems(PYPROJECT, lock))
    unhashed = LOCK + "\nrich==13.0.0\n    # via atlas (pyproject.toml)\n"
    problems = dev.lock_problems(PYPROJECT, unhashed)
    assert "requirements.lock has no hash for rich" in problems
    assert "requirements.lock still pins rich, which pyproject.toml no longer names" in problems


def test_check_lock_command_fails_on_disagreement(tmp_path):
    for name in ("dev.py", "requirements.lock"):
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.replace('"segno>=1.6,<2",', '"segno>=1.6,<2",\n    "rich>=13",'))
    env = {"ATLAS_IN_VENV": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, tmp_path / "dev.py", "check-lock"], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "rich is in pyproject.toml but not in requirements.lock" in result.stderr
    assert "disagree" in result.stderr
    ok = subprocess.run([sys.executable, ROOT / "dev.py", "check-lock"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and "agrees" in ok.stdout
