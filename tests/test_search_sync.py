"""The index follows the database: same process at once, other processes and machines within 2 s, locks, rebuilds."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from search_support import names, search_app  # noqa: F401  (fixtures)
from sqlalchemy import delete, select, update

import atlas.search
from atlas.db import get_session
from atlas.models import Service, ServiceAtLocation, utcnow
from atlas.search.sync import keeper

ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1/services"


def found(app, query: str) -> list[str]:
    return names(app.test_client().get(API, query_string={"q": query}))


def rename(app, old: str, new: str) -> None:
    """Change an offer's name through plain ORM code in this app (as any module of any process would)."""
    with app.app_context():
        session = get_session()
        session.scalar(select(Service).where(Service.name == old)).name = new
        session.commit()


def until(app, query: str, present: bool, limit: float = 2.0) -> float:
    """Seconds until a search for `query` finds something (or nothing); fails after `limit`."""
    start = time.monotonic()
    while True:
        hits = found(app, query)
        if bool(hits) == present:
            return time.monotonic() - start
        assert time.monotonic() - start < limit, f"{query!r} still {'missing' if present else 'found'} after {limit} s"
        time.sleep(0.05)


def run_python(code: str, app, timeout: float = 60.0, wait: bool = True) -> subprocess.Popen:
    """Run code in a separate Python process with an app on the same database and instance folder."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), ATLAS_TEST_DB=app.config["DATABASE_URL"],
               ATLAS_TEST_INSTANCE=app.instance_path)
    prelude = ("import os\nfrom atlas import create_app\n"
               "app = create_app({'TESTING': True, 'SECRET_KEY': 'x', 'DATABASE_URL': os.environ['ATLAS_TEST_DB'],"
               " 'INSTANCE_PATH': os.environ['ATLAS_TEST_INSTANCE']})\n")
    proc = subprocess.Popen([sys.executable, "-c", prelude + code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if wait:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err
    return proc


def test_an_edit_is_searchable_at_once_in_the_same_process(search_app):
    assert found(search_app, "Zebrastreifen") == []
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    assert found(search_app, "Zebrastreifen") == ["Zebrastreifen-Beratung"]
    with search_app.app_context():
        session = get_session()
        session.scalar(select(Service).where(Service.name == "Zebrastreifen-Beratung")).name = "Okapi-Beratung"
        session.commit()
        assert atlas.search.sync(session) == 1  # the explicit call, for code that wants the index updated now
    assert found(search_app, "Okapi") == ["Okapi-Beratung"]


def test_edits_in_another_app_instance_are_searchable_within_two_seconds(search_app, make_app):
    other = make_app()  # same database and instance folder: another worker process of the same machine
    assert found(search_app, "Zebrastreifen") == []
    rename(other, "Familienberatung", "Zebrastreifen-Beratung")
    assert until(search_app, "Zebrastreifen", present=True) < 2.0
    with other.app_context():
        session = get_session()
        session.scalar(select(Service).where(Service.name == "Zebrastreifen-Beratung")).archived_at = utcnow()
        session.commit()
    assert until(search_app, "Zebrastreifen", present=False) < 2.0
    with other.app_context():
        session = get_session()
        gone = session.scalar(select(Service).where(Service.name == "Reha-Sport und Lauftreff"))
        session.delete(gone)
        session.commit()
    assert until(search_app, "Lauftreff", present=False) < 2.0


def test_another_machine_keeps_its_own_index_in_step(search_app, make_app, tmp_path):
    machine = make_app(SEARCH_INDEX_DIR=str(tmp_path / "other-machine-index"))
    assert "Familienberatung" in found(machine, "Familie")
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    assert until(machine, "Zebrastreifen", present=True) < 2.0
    assert (tmp_path / "other-machine-index" / "CURRENT").exists()


def test_an_edit_by_a_separate_process_with_plain_orm_code(search_app):
    assert found(search_app, "Kranich") == []
    run_python(
        "from sqlalchemy import select\nfrom atlas.db import get_session\nfrom atlas.models import Service\n"
        "with app.app_context():\n"
        "    s = get_session()\n"
        "    s.scalar(select(Service).where(Service.name == 'Hausarztpraxis Dr. Becker')).name = 'Kranich-Praxis'\n"
        "    s.commit()\n", search_app)
    assert until(search_app, "Kranich", present=True) < 2.0


def test_bulk_sql_updates_without_audit_rows_are_picked_up_by_updated_at(search_app):
    assert found(search_app, "Quokka") == []
    with search_app.app_context():
        session = get_session()
        session.execute(update(Service).where(Service.name == "Familienberatung").values(name="Quokka-Beratung"))
        session.execute(delete(ServiceAtLocation).where(ServiceAtLocation.id == -1))
        session.commit()
    assert until(search_app, "Quokka", present=True) < 2.0


def test_a_crashed_writer_never_blocks_search(search_app):
    assert found(search_app, "Schulden")
    proc = run_python(
        "import time\nfrom atlas.search.sync import keeper\nfrom whoosh import index\n"
        "with app.app_context():\n"
        "    store = keeper().store\n"
        "    with store.write_lock() as got:\n"
        "        assert got\n"
        "        w = index.open_dir(str(store.root / store.current_name())).writer()\n"
        "        w.delete_by_term('sid', '1')\n"
        "        print('holding', flush=True)\n"
        "        time.sleep(60)\n", search_app, wait=False)
    assert proc.stdout.readline().strip() == "holding"
    # While the writer hangs, searches answer from the last committed index and edits wait.
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    started = time.monotonic()
    assert found(search_app, "Schulden") and found(search_app, "Zebrastreifen") == []
    assert time.monotonic() - started < 2.0
    health = search_app.test_client().get("/healthz").get_json()["search"]
    assert health["pending_changes"] > 0 and health["in_sync"] is False
    os.kill(proc.pid, signal.SIGKILL)  # the writer dies mid-write: the OS releases its lock
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()
    assert until(search_app, "Zebrastreifen", present=True) < 2.0
    assert found(search_app, "Schulden")


def test_reindex_command_rebuilds_from_scratch(search_app):
    found(search_app, "Schulden")
    store = keeper(search_app).store
    before = store.current_name()
    result = search_app.test_cli_runner().invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt: 16 offers" in result.output
    assert store.current_name() != before
    assert "Schuldnerberatung der Caritas" in found(search_app, "Schulden")
    assert search_app.test_client().get("/healthz").get_json()["search"]["drift"] == 0


def test_an_index_with_another_layout_is_rebuilt(search_app):
    found(search_app, "Schulden")
    store = keeper(search_app).store
    name = store.current_name()
    state_file = store.root / name / "state.json"
    state = json.loads(state_file.read_text())
    state["layout"] = "0-old"
    state_file.write_text(json.dumps(state))
    keeper(search_app)._covered = None
    keeper(search_app)._last_check = 0.0
    assert "Schuldnerberatung der Caritas" in found(search_app, "Schulden")
    assert store.current_name() != name


def test_no_index_yet_when_another_process_builds_it(search_app):
    search_app.config["SEARCH_BUILD_WAIT"] = 0.2
    keeper(search_app).build_wait = 0.2
    store = keeper(search_app).store
    with store.write_lock() as got:
        assert got
        response = search_app.test_client().get(API, query_string={"q": "Schulden"})
    assert response.status_code == 503
    assert "Suchindex wird gerade aufgebaut" in response.get_json()["error"]["message"]
    assert found(search_app, "Schulden")


@pytest.mark.parametrize("workers", [2])
def test_parallel_workers_share_one_index_directory(search_app, make_app, workers):
    apps = [search_app] + [make_app() for _ in range(workers)]
    assert all("Schuldnerberatung der Caritas" in found(a, "Schulden") for a in apps)
    rename(apps[1], "Familienberatung", "Zebrastreifen-Beratung")
    for a in apps:
        assert until(a, "Zebrastreifen", present=True) < 2.0
    generations = list(keeper(search_app).store.root.glob("gen-*"))
    assert len(generations) == 1


def test_a_database_restored_from_a_backup_triggers_a_rebuild(search_app):
    from atlas.models import AuditLog
    found(search_app, "Schulden")
    store = keeper(search_app).store
    name = store.current_name()
    with search_app.app_context():
        session = get_session()
        session.execute(delete(AuditLog))
        session.execute(update(Service).where(Service.name == "Familienberatung").values(name="Restaurierte Beratung"))
        session.commit()
    keeper(search_app)._last_check = 0.0
    assert found(search_app, "Restaurierte") == ["Restaurierte Beratung"]
    assert store.current_name() != name
