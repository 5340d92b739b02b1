"""Backups: `backup` and `restore` round-trip into an empty instance; bad input changes nothing."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import _admin_engine, server_database_url

from atlas.db import get_session
from atlas.models import Service


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def export(app, path: Path) -> str:
    result = cli(app, "export", str(path), "--format", "json", "--internal")
    assert result.exit_code == 0, result.output
    return path.read_text(encoding="utf-8")


def one_clear_line(result) -> str:
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture
def second_database(database_url, tmp_path) -> str:
    """An empty database of the same kind as the test's (SQLite file or PostgreSQL database)."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.sqlite'}"
    url = server_database_url("_restore")
    name = sa.engine.make_url(url).database
    with _admin_engine(url).connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return url


def test_backup_restores_into_an_empty_instance_with_equal_exports_and_a_search_index(app, make_app, tmp_path,
                                                                                       second_database):
    if not app.extensions["atlas.engine"].dialect.name == "sqlite" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    backup = tmp_path / "atlas-backup.db"
    result = cli(app, "backup", str(backup))
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output and backup.exists()
    assert [p.name for p in tmp_path.glob("atlas-backup*")] == ["atlas-backup.db"]  # no .partial, no -wal
    before = export(app, tmp_path / "before.json")

    restored = make_app(DATABASE_URL=second_database, INSTANCE_PATH=str(tmp_path / "instance2"))
    result = cli(restored, "restore", str(backup))
    assert result.exit_code == 0, result.output
    assert "search index rebuilt" in result.output
    assert export(restored, tmp_path / "after.json") == before
    hits = restored.test_client().get("/api/v1/services?q=Schuldnerberatung").get_json()
    assert hits is not None and any("Schuldnerberatung" in item["name"] for item in hits["contents"])
    health = restored.test_client().get("/healthz").get_json()
    assert health["search"]["present"] and health["search"]["drift"] == 0

    again = cli(restored, "restore", str(backup))
    assert "--replace" in one_clear_line(again)
    with restored.app_context():
        session = get_session()
        session.execute(sa.delete(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        session.commit()
    assert cli(restored, "restore", str(backup), "--replace").exit_code == 0
    assert export(restored, tmp_path / "replaced.json") == before


def test_backup_of_a_newer_schema_is_refused_and_nothing_changes(app, make_app, tmp_path, second_database):
    if not app.extensions["atlas.engine"].dialect.name == "sqlite":
        pytest.skip("the SQLite backup file is edited to fake a newer schema")
    backup = tmp_path / "newer.db"
    assert cli(app, "backup", str(backup)).exit_code == 0
    with sqlite3.connect(backup) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    target = make_app(DATABASE_URL=second_database, INSTANCE_PATH=str(tmp_path / "instance2"))
    line = one_clear_line(cli(target, "restore", str(backup)))
    assert "9999" in line and "newer atlas" in line
    assert not Path(second_database.removeprefix("sqlite:///")).exists() or \
        sa.inspect(target.extensions["atlas.engine"]).get_table_names() == []


def test_restore_refuses_files_that_are_no_backup(app, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("name,url\n")
    assert "not an atlas backup" in one_clear_line(cli(app, "restore", str(junk)))
    assert "Cannot read" in one_clear_line(cli(app, "restore", str(tmp_path / "missing.db")))
    empty_sqlite = tmp_path / "other.sqlite"
    sqlite3.connect(empty_sqlite).execute("CREATE TABLE t (x)").connection.close()
    line = one_clear_line(cli(app, "restore", str(empty_sqlite)))
    sqlite = app.extensions["atlas.engine"].dialect.name == "sqlite"
    assert ("not a readable atlas backup" if sqlite else "restore it into a database of the same kind") in line


def test_unreachable_database_gives_one_line(make_app, tmp_path):
    with socket_port() as port:
        app = make_app(DATABASE_URL=f"postgresql://nobody@127.0.0.1:{port}/atlas")
        line = one_clear_line(cli(app, "backup", str(tmp_path / "b.db")))
    assert "cannot be reached" in line and not (tmp_path / "b.db").exists()


@pytest.mark.parametrize("url, says", [("nonsense", "not a valid SQLAlchemy URL"),
                                       ("mysql://a:secret@127.0.0.1/x", "cannot be used"),
                                       ("oracle+nodriver://x", "cannot be used")])
def test_wrong_database_url_gives_one_line_without_the_password(make_app, url, says):
    from atlas.db import ConfigError
    with pytest.raises(ConfigError, match=says) as caught:
        make_app(DATABASE_URL=url)
    assert "secret" not in str(caught.value) and "\n" not in str(caught.value)


def test_empty_database_has_nothing_to_back_up(make_app, tmp_path):
    app = make_app()
    assert "nothing to back up" in one_clear_line(cli(app, "backup", str(tmp_path / "b.db")))


class socket_port:
    """A local port nobody listens on."""

    def __enter__(self) -> int:
        import socket
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def __exit__(self, *exc) -> None:
        return None


@pytest.fixture
def tiny_mount(tmp_path):
    """A 64 KiB tmpfs, read-write or read-only (needs root, as in CI)."""
    mounted = []

    def mount(options: str) -> Path:
        folder = tmp_path / f"mnt{len(mounted)}"
        folder.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
        if result.returncode:
            pytest.skip(f"cannot mount a small file system here: {result.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=False)


def test_full_disk_and_read_only_folder_leave_no_file(app, tiny_mount):
    if app.extensions["atlas.engine"].dialect.name != "sqlite":
        pytest.skip("the SQLite template is large enough to fill 64 KiB")
    full = tiny_mount("size=64k")
    line = one_clear_line(cli(app, "backup", str(full / "atlas.db")))
    assert "disk is full" in line and list(full.iterdir()) == []
    read_only = tiny_mount("size=64k,ro")
    line = one_clear_line(cli(app, "backup", str(read_only / "atlas.db")))
    assert "Cannot write the backup" in line and list(read_only.iterdir()) == []


def test_restore_into_a_read_only_instance_changes_nothing(app, make_app, tmp_path, tiny_mount):
    if app.extensions["atlas.engine"].dialect.name != "sqlite":
        pytest.skip("SQLite instance folder")
    backup = tmp_path / "b.db"
    assert cli(app, "backup", str(backup)).exit_code == 0
    folder = tiny_mount("size=4m")
    target = make_app(DATABASE_URL=f"sqlite:///{folder / 'atlas.sqlite'}", INSTANCE_PATH=str(tmp_path / "i3"))
    assert cli(target, "init-db").exit_code == 0
    target.extensions["atlas.engine"].dispose()
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    line = one_clear_line(cli(target, "restore", str(backup), "--replace"))
    assert "Nothing was changed" in line or "cannot be reached" in line, line
    with sqlite3.connect(f"file:{folder / 'atlas.sqlite'}?immutable=1", uri=True) as conn:
        assert conn.execute("SELECT count(*) FROM service").fetchone() == (0,)
    conn.close()


def test_postgres_backup_without_pg_dump_says_how_to_get_it(app, tmp_path, monkeypatch):
    if app.extensions["atlas.engine"].dialect.name != "postgresql":
        pytest.skip("PostgreSQL run only")
    monkeypatch.setenv("PATH", str(tmp_path))
    line = one_clear_line(cli(app, "backup", str(tmp_path / "b.dump")))
    assert "pg_dump was not found" in line and "postgresql-client" in line
    assert not list(tmp_path.glob("b.dump*"))
