"""The index follows the database: the indexer process writes, web workers only read and still see every edit."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import whoosh.index
import whoosh.reading
from search_support import indexer, indexer_process, names, search_app, staff  # noqa: F401  (fixtures)
from sqlalchemy import delete, select, update

import atlas.search
from atlas.db import get_session
from atlas.models import AuditLog, Service, ServiceAtLocation, utcnow
from atlas.priority import AUTOGROUP, lower_session_priority
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
        assert atlas.search.sync(session) == 16  # no index yet: the explicit call builds it
        session.scalar(select(Service).where(Service.name == "Okapi-Beratung")).name = "Tapir-Beratung"
        session.commit()
        assert atlas.search.sync(session) == 1  # then it writes only what changed
    assert found(search_app, "Tapir") == ["Tapir-Beratung"]


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
    with indexer_process(machine):
        assert "Familienberatung" in found(machine, "Familie")
        rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
        assert until(machine, "Zebrastreifen", present=True) < 2.0
        assert (tmp_path / "other-machine-index" / "CURRENT").exists()
        assert until_in_sync(machine) < 30


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


def until_in_sync(app, limit: float = 60.0) -> float:
    """Seconds until /healthz reports the index in step with the database (the indexer caught up)."""
    start = time.monotonic()
    while not app.test_client().get("/healthz").get_json()["search"]["in_sync"]:
        assert time.monotonic() - start < limit, "the indexer did not catch up"
        time.sleep(0.1)
    return time.monotonic() - start


def test_a_missing_index_degrades_to_the_database_and_requests_never_build_it(search_app, staff):
    store = keeper(search_app).store
    assert not store.root.exists()
    assert found(search_app, "Schulden")[0] == "Schuldnerberatung der Caritas"
    assert found(search_app, "Schuldnerbertung")[0] == "Schuldnerberatung der Caritas"  # typos work on this path too
    page = staff.get("/suche", query_string={"q": "Schulden", "near": "Witten"})
    assert page.status_code == 200 and "Schuldnerberatung der Caritas" in page.get_data(as_text=True)
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    assert found(search_app, "Zebrastreifen") == ["Zebrastreifen-Beratung"]
    assert not store.root.exists(), "a request wrote to the index directory"
    assert search_app.test_client().get("/healthz").get_json()["search"]["present"] is False


def test_the_indexer_builds_the_first_index_and_follows_edits(search_app, make_app):
    with indexer_process(search_app) as proc:
        assert keeper(search_app).store.current_name() is not None
        rename(make_app(), "Familienberatung", "Zebrastreifen-Beratung")
        assert until(search_app, "Zebrastreifen", present=True) < 2.0
        assert until_in_sync(search_app) < 30
        assert proc.poll() is None
    health = search_app.test_client().get("/healthz").get_json()["search"]
    assert health["present"] and health["drift"] == 0 and health["pending_changes"] == 0


def test_a_crashed_writer_never_blocks_search(search_app, indexer):
    assert found(search_app, "Schulden")
    proc = run_python(
        "import time\nfrom atlas.search.sync import keeper\nfrom whoosh import index\n"
        "with app.app_context():\n"
        "    store = keeper().store\n"
        "    with store.write_lock(wait=30) as got:\n"
        "        assert got\n"
        "        w = index.open_dir(str(store.root / store.current_name())).writer()\n"
        "        w.delete_by_term('sid', '1')\n"
        "        print('holding', flush=True)\n"
        "        time.sleep(60)\n", search_app, wait=False)
    assert proc.stdout.readline().strip() == "holding"
    # While the writer hangs, searches answer at once and still see edits (loaded from the database).
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    started = time.monotonic()
    assert found(search_app, "Schulden") and found(search_app, "Zebrastreifen") == ["Zebrastreifen-Beratung"]
    assert time.monotonic() - started < 2.0
    health = search_app.test_client().get("/healthz").get_json()["search"]
    assert health["pending_changes"] > 0 and health["in_sync"] is False
    os.kill(proc.pid, signal.SIGKILL)  # the writer dies mid-write: the OS releases its lock
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()
    assert until_in_sync(search_app) < 30  # the indexer takes over
    assert found(search_app, "Zebrastreifen") == ["Zebrastreifen-Beratung"] and found(search_app, "Schulden")


def test_reindex_command_rebuilds_from_scratch(search_app):
    store = keeper(search_app).store
    assert store.current_name() is None
    result = search_app.test_cli_runner().invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt: 16 offers" in result.output
    before = store.current_name()
    assert before is not None
    assert search_app.test_cli_runner().invoke(args=["reindex"]).exit_code == 0
    assert store.current_name() != before
    assert "Schuldnerberatung der Caritas" in found(search_app, "Schulden")
    assert search_app.test_client().get("/healthz").get_json()["search"]["drift"] == 0


def test_indexer_once_catches_up_and_exits(search_app):
    result = search_app.test_cli_runner().invoke(args=["indexer", "--once"])
    assert result.exit_code == 0 and "Search index up to date: 16 offers written" in result.output
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    result = search_app.test_cli_runner().invoke(args=["indexer", "--once"])
    assert "1 offers written" in result.output
    assert search_app.test_client().get("/healthz").get_json()["search"]["in_sync"] is True


def test_an_index_with_another_layout_is_ignored_and_rebuilt(search_app):
    with search_app.app_context():
        atlas.search.sync(get_session())
    store = keeper(search_app).store
    name = store.current_name()
    state_file = store.root / name / "state.json"
    state = json.loads(state_file.read_text())
    state["layout"] = "0-old"
    state_file.write_text(json.dumps(state))
    keeper(search_app)._last_check = 0.0
    assert "Schuldnerberatung der Caritas" in found(search_app, "Schulden")
    assert store.current_name() == name  # the request searched the database and wrote nothing
    with indexer_process(search_app, wait_for_index=False):
        deadline = time.monotonic() + 60
        while store.current_name() == name:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert "Schuldnerberatung der Caritas" in found(search_app, "Schulden")


@pytest.mark.parametrize("workers", [2])
def test_parallel_workers_share_one_index_directory(search_app, make_app, indexer, workers):
    apps = [search_app] + [make_app() for _ in range(workers)]
    assert all("Schuldnerberatung der Caritas" in found(a, "Schulden") for a in apps)
    rename(apps[1], "Familienberatung", "Zebrastreifen-Beratung")
    for a in apps:
        assert until(a, "Zebrastreifen", present=True) < 2.0
    generations = list(keeper(search_app).store.root.glob("gen-*"))
    assert len(generations) == 1


def test_a_database_restored_from_a_backup_is_searched_correctly_and_rebuilt(search_app, indexer):
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
    deadline = time.monotonic() + 60
    while store.current_name() == name:
        assert time.monotonic() < deadline, "the indexer did not rebuild"
        time.sleep(0.1)
    assert found(search_app, "Restaurierte") == ["Restaurierte Beratung"]


READ_ONLY_SERVER = """
import os, sys
from pathlib import Path
from werkzeug.serving import make_server
from atlas.search.sync import keeper
root = os.path.realpath(str(keeper(app).store.root))
WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
denied = []

def inside(path):
    try:
        return os.path.realpath(os.fsdecode(path)).startswith(root)
    except (TypeError, ValueError):
        return False

def guard(event, args):
    # The index directory is read-only to this web server: any write under it fails like on a read-only mount.
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        mode, flags = args[1] or "", args[2] or 0
        if inside(args[0]) and (any(c in str(mode) for c in "wax+") or flags & WRITES):
            denied.append(args[0])
            raise PermissionError(13, "read-only index directory", args[0])
    elif event in ("os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.truncate", "shutil.rmtree", "os.chmod",
                   "os.link", "os.symlink", "os.utime") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        if inside(args[0]) or (event == "os.rename" and inside(args[1])):
            denied.append(args[0])
            raise PermissionError(13, "read-only index directory", args[0])

sys.addaudithook(guard)
try:
    open(os.path.join(root, "probe"), "w")
    print("NOT GUARDED", flush=True)
except PermissionError:
    denied.clear()
app.config["SEARCH_SYNC_INTERVAL"] = 0.1

@app.route("/_denied")
def _denied():
    return {"denied": [str(d) for d in denied]}

server = make_server("127.0.0.3", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def test_the_web_server_works_with_a_read_only_index_directory(search_app, indexer):
    import requests

    proc = run_python(READ_ONLY_SERVER, search_app, wait=False)
    try:
        port = int(proc.stdout.readline())
        base = f"http://127.0.0.3:{port}"

        def remote(query: str) -> list[str]:
            response = requests.get(base + API, params={"q": query}, timeout=10)
            assert response.status_code == 200, response.text[:300]
            return [item["name"] for item in response.json()["contents"]]

        assert "Schuldnerberatung der Caritas" in remote("Schulden")
        rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
        start = time.monotonic()
        while remote("Zebrastreifen") != ["Zebrastreifen-Beratung"]:
            assert time.monotonic() - start < 2.0
            time.sleep(0.05)
        with search_app.app_context():
            session = get_session()
            session.scalar(select(Service).where(Service.name == "Zebrastreifen-Beratung")).archived_at = utcnow()
            session.commit()
        start = time.monotonic()
        while remote("Zebrastreifen"):
            assert time.monotonic() - start < 2.0
            time.sleep(0.05)
        assert until_in_sync(search_app) < 30
        assert requests.get(base + "/healthz", timeout=10).json()["search"]["in_sync"] is True
        assert requests.get(base + "/_denied", timeout=10).json() == {"denied": []}
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def bulk_import(app, count: int) -> None:
    """Insert offers the way the bulk importer does: one timestamp for all rows, a "create" audit entry per row."""
    from sqlalchemy import insert, func as sql_func

    from atlas import models as m

    with app.app_context():
        session = get_session()
        now = utcnow()
        first = (session.scalar(select(sql_func.max(Service.id))) or 0) + 1
        org = session.scalar(select(Service.organization_id).where(Service.name == "Schuldnerberatung der Caritas"))
        rows = [{"id": first + i, "organization_id": org, "uuid": f"bulk-{first + i}", "version_id": 1, "name": f"Importkurs {i}",
                 "description": "Bewerbungstraining und Sprachkurs", "visibility": "public", "status": "aktiv",
                 "created_at": now, "updated_at": now} for i in range(count)]
        audit = [{"at": now, "actor": "import:test", "action": "create", "entity_type": "service",
                  "entity_id": r["id"], "changes": {"name": [None, r["name"]]}} for r in rows]
        for start in range(0, count, 5000):
            session.execute(insert(m.Service), rows[start:start + 5000])
            session.execute(insert(m.AuditLog), audit[start:start + 5000])
        session.commit()


def test_an_edit_after_a_20k_import_is_searchable_within_two_seconds(search_app, make_app, indexer):
    worker = make_app()
    assert found(worker, "Schulden")
    bulk_import(search_app, 20_000)
    time.sleep(0.5)  # the indexer is now busy with the import
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    assert until(worker, "Zebrastreifen", present=True) < 2.0
    rename(search_app, "Zebrastreifen-Beratung", "Okapi-Beratung")
    assert until(worker, "Okapi", present=True) < 2.0 and found(worker, "Zebrastreifen") == []
    assert until_in_sync(worker, limit=300) < 300  # the backlog is written in bounded batches
    assert indexer.poll() is None
    page = worker.test_client().get(API, query_string={"q": "Importkurs"}).get_json()
    assert page["total_items"] == 20_000


def test_edits_stay_searchable_while_an_import_waits_for_the_indexer(search_app, make_app, monkeypatch):
    """Readers lay people's edits over the index; an import's thousands of rows are left to the indexer."""
    documents = sys.modules["atlas.search.documents"]
    with search_app.app_context():
        atlas.search.sync(get_session())
    worker = make_app()
    assert found(worker, "Schulden")
    bulk_import(search_app, 1000)  # no indexer runs here: the import's rows wait
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    assert until(worker, "Zebrastreifen", present=True) < 2.0
    built: list[int] = []
    real = documents.iter_documents

    def counted(session, ids, *args, **kwargs):
        built.append(len(ids))
        return real(session, ids, *args, **kwargs)

    monkeypatch.setattr(documents, "iter_documents", counted)
    bulk_import(search_app, 1000)  # more rows than the overlay holds, all newer than the edit
    rename(search_app, "Schuldnerberatung der Caritas", "Okapi-Schuldnerberatung")
    assert until(worker, "Okapi", present=True) < 2.0
    assert found(worker, "Zebrastreifen") == ["Zebrastreifen-Beratung"]  # the first edit did not drop out
    assert built and max(built) <= 2  # no worker built documents for the imported offers
    with search_app.app_context():
        atlas.search.sync(get_session())
    assert until(worker, "Importkurs", present=True) < 2.0  # the indexer's part: searchable once it caught up
    assert worker.test_client().get(API, query_string={"q": "Importkurs"}).get_json()["total_items"] == 2000


def test_readers_look_up_many_unseen_audit_rows_as_one_range(search_app):
    """Thousands of audit ids the index saw missing (an import's open transaction on PostgreSQL) are one range."""
    from sqlalchemy import event

    sync = sys.modules["atlas.search.sync"]
    with search_app.app_context():
        session = get_session()
        atlas.search.sync(session)
        state = keeper().store.read_state()
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    with search_app.app_context():
        session = get_session()
        edit = session.scalar(select(AuditLog).order_by(AuditLog.id.desc()))
        # The edit's row counts as unseen below the index's audit id, among 5,000 ids that never showed up.
        state = dict(state, audit_id=edit.id + 5000, gaps={str(edit.id + i): time.time() for i in range(5000)})
        statements: list[str] = []
        engine = session.get_bind()

        def listen(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", listen)
        try:
            pending = sync.pending_offers(session, state, sync.read_watermark(session), 200)
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        assert edit.entity_id in pending.offers
        assert statements and max(len(text) for text in statements) < 2000  # no statement names 5,000 ids


RAPID_WRITER = """
import time
from sqlalchemy import select
from atlas.db import get_session
from atlas.models import Service
from atlas.search.sync import keeper
with app.app_context():
    s = get_session()
    keeper().sync(s)
    print("ready", flush=True)
    for i in range(120):
        s.scalar(select(Service).where(Service.name.like('Familienberatung%'))).name = f'Familienberatung {i}'
        s.commit()
        keeper().sync(s)
"""


def test_searches_during_rapid_index_commits_never_fail(search_app, make_app):
    reader = make_app(SEARCH_SYNC_INTERVAL=0.0)
    proc = run_python(RAPID_WRITER, search_app, wait=False, timeout=120)
    assert proc.stdout.readline().strip() == "ready"
    client = reader.test_client()
    statuses = []
    while proc.poll() is None:
        response = client.get(API, query_string={"q": "Schulden"})
        statuses.append(response.status_code)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert len(statuses) > 20 and set(statuses) == {200}


def test_a_table_of_contents_removed_while_opening_is_retried(search_app, monkeypatch):
    from whoosh import index as windex

    with search_app.app_context():
        atlas.search.sync(get_session())
    store = keeper(search_app).store
    real = windex.open_dir
    calls = []

    def vanishing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise FileNotFoundError(2, "No such file or directory", "_MAIN_27.toc")
        return real(*args, **kwargs)

    monkeypatch.setattr(windex, "open_dir", vanishing)
    snap = store.snapshot(refresh=True)
    assert snap is not None and snap.live_count == 16 and len(calls) == 2


def test_healthz_keeps_its_keys_when_the_index_is_caught_mid_swap(search_app, monkeypatch):
    """An index unreadable for a moment (a generation being replaced) is reported as not in sync, not as a gap."""
    from atlas.search.sync import Keeper

    def unreadable(self, session):
        raise FileNotFoundError("_MAIN_27.toc")

    monkeypatch.setattr(Keeper, "status", unreadable)
    body = search_app.test_client().get("/healthz").get_json()
    assert body["search"]["in_sync"] is False and body["search"]["error"] == "FileNotFoundError"


def touch_each_offer(app, times: int) -> int:
    """Write `times` audit rows for every offer (as a bulk import does for offer, site, address, link)."""
    from sqlalchemy import insert

    with app.app_context():
        session = get_session()
        ids = list(session.scalars(select(Service.id)))
        session.execute(insert(AuditLog), [{"at": utcnow(), "actor": "import:test", "action": "update",
                                            "entity_type": "service", "entity_id": sid, "changes": {}}
                                           for _ in range(times) for sid in ids])
        session.commit()
        return len(ids)


def test_a_catch_up_indexes_each_offer_once_however_many_audit_chunks_name_it(search_app, monkeypatch):
    sync = sys.modules["atlas.search.sync"]  # the package's sync() function hides the module's name

    with search_app.app_context():
        assert sync.sync(get_session()) == 16  # the first index
    offers = touch_each_offer(search_app, 4)
    monkeypatch.setattr(sync, "AUDIT_CHUNK", 5)  # 64 audit rows in 13 chunks
    monkeypatch.setattr(sync, "BULK_MIN", 10_000)
    with search_app.app_context():
        name = keeper().store.current_name()
        assert sync.sync(get_session()) == offers  # each offer once, not once per chunk
        assert keeper().store.current_name() == name  # changed in place
        assert keeper().status(get_session())["in_sync"]


def test_a_bulk_catch_up_builds_a_new_generation(search_app, monkeypatch):
    sync = sys.modules["atlas.search.sync"]  # the package's sync() function hides the module's name

    with search_app.app_context():
        assert sync.sync(get_session()) == 16
        name = keeper().store.current_name()
    touch_each_offer(search_app, 1)
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    monkeypatch.setattr(sync, "BULK_MIN", 10)  # 16 changed offers of 16: more than half of the index
    with search_app.app_context():
        assert sync.sync(get_session()) == 16
        assert keeper().store.current_name() != name
        assert keeper().status(get_session())["in_sync"]
    assert found(search_app, "Zebrastreifen") == ["Zebrastreifen-Beratung"]


def test_a_parallel_build_finds_what_a_single_process_build_finds(search_app, monkeypatch):
    sync = sys.modules["atlas.search.sync"]
    queries = ["Schulden", "Sucht", "Beratung", "Familienberatung", "Wohnen", "Sport"]

    with search_app.app_context():
        keeper().procs = 1
        keeper().rebuild(get_session())
    single = {q: found(search_app, q) for q in queries}
    monkeypatch.setattr(sync, "PARALLEL_MIN", 5)  # 16 offers: built by two processes
    monkeypatch.setattr(sys.modules["atlas.search.index"], "BUILD_BATCH", 4)  # in jobs of 4 offers
    with search_app.app_context():
        keeper().procs = 2
        name = keeper().store.current_name()
        assert keeper().rebuild(get_session()) == 16
        assert keeper().store.current_name() != name
        built = whoosh.index.open_dir(str(keeper().store.root / keeper().store.current_name()))
        assert len(built._segments()) >= 2  # the sub-processes' segments, not one writer's
        assert keeper().status(get_session())["in_sync"]
    assert {q: found(search_app, q) for q in queries} == single
    assert any(single.values())


def test_build_processes_follow_the_setting_and_the_cores(monkeypatch):
    sync = sys.modules["atlas.search.sync"]
    monkeypatch.setattr(sync.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    assert sync.build_procs(0, 4000) == 1  # small builds stay in one process
    assert sync.build_procs(0, 10_000) == 2  # auto: one per core, at most two
    assert sync.build_procs(3, 10_000) == 3
    monkeypatch.setattr(sync.os, "sched_getaffinity", lambda _pid: {0})
    assert sync.build_procs(0, 10_000) == 1


def test_an_edit_after_a_bulk_write_with_one_timestamp_reindexes_only_that_offer(search_app, monkeypatch):
    """A bulk import stamps all its rows alike; the edits after it must not re-index the rows it left behind."""
    sync = sys.modules["atlas.search.sync"]
    monkeypatch.setattr(sync, "RECENT_MAX", 3)  # 16 offers with one timestamp: too many to note one by one
    with search_app.app_context():
        session = get_session()
        session.execute(update(Service).values(updated_at=utcnow()))
        session.commit()
        keeper().rebuild(session)
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    with search_app.app_context():
        assert keeper().sync(get_session()) == 1
    rename(search_app, "Zebrastreifen-Beratung", "Zebrastreifen-Beratung II")  # within the clock-skew window
    with search_app.app_context():
        assert keeper().sync(get_session()) == 1
        assert keeper().status(get_session())["in_sync"]
    assert found(search_app, "Zebrastreifen") == ["Zebrastreifen-Beratung II"]


def _arrays(snap) -> dict:
    """What a snapshot holds per document, in comparable form."""
    return {"sid": snap.sid.tolist(), "alive": snap.alive.tolist(), "names": snap.names,
            "attrs": {k: v.tolist() for k, v in snap.attrs.items()},
            "lengths": {k: v.tolist() for k, v in snap.lengths.items()},
            "sets": {s: {v: d.tolist() for v, d in m.items()} for s, m in snap.sets.items()},
            "points": {v: [a.tolist() for a in p] for v, p in snap.points.items()},
            "words": snap.vocabulary("words"), "public_words": snap.vocabulary("public_words")}


def _mapped(array) -> bool:
    """True when an array's memory is a read-only mapping of a file."""
    import mmap
    while array is not None and not isinstance(array, mmap.mmap):
        array = getattr(array, "base", None) if not isinstance(array, memoryview) else array.obj
    return isinstance(array, mmap.mmap)


def test_fresh_processes_load_the_saved_segment_tables_instead_of_decoding_documents(search_app, monkeypatch):
    index = sys.modules["atlas.search.index"]
    with search_app.app_context():
        assert atlas.search.sync(get_session()) == 16
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")  # a second segment, one deletion
    with search_app.app_context():
        assert atlas.search.sync(get_session()) == 1
        store = keeper().store
        name = store.current_name()
        saved = sorted(p.stem for p in (store.root / name / index.TABLES).glob("*" + index.TABLE_SUFFIX))
        segments = whoosh.index.open_dir(str(store.root / name))._segments()
        assert saved == sorted(s.segment_id() for s in segments) and len(saved) >= 2
    decoded = _arrays(index.IndexStore(store.root).snapshot())

    def no_decoding(*_args, **_kwargs):
        raise AssertionError("a stored document was decoded")

    monkeypatch.setattr(whoosh.reading.SegmentReader, "stored_fields", no_decoding)
    fresh = index.IndexStore(store.root).snapshot()  # what a new web worker opens
    assert _arrays(fresh) == decoded
    for table in fresh._tables:  # mapped from the page cache, which all workers share, not copied
        assert all(_mapped(array) for array in [table.sid, table.word_ids, *table.attrs.values()])
    assert "zebrastreifen" in " ".join(fresh.vocabulary("public_words"))
    live = [n for n, alive in zip(fresh.names, fresh.alive) if alive]  # names as sort keys
    assert "zebrastreifen-beratung" in live and "familienberatung" not in live


def test_a_rebuilt_generation_is_published_with_its_segment_tables(search_app, monkeypatch):
    """Web workers map a new generation's tables; none decodes 15,000 documents inside a request after an import."""
    index = sys.modules["atlas.search.index"]
    published = []

    def publish(self, name):
        folder = self.root / name / index.TABLES
        segments = whoosh.index.open_dir(str(self.root / name))._segments()
        published.append((sorted(p.stem for p in folder.glob("*" + index.TABLE_SUFFIX)),
                          sorted(s.segment_id() for s in segments)))
        real_publish(self, name)

    real_publish = index.IndexStore.publish
    monkeypatch.setattr(index.IndexStore, "publish", publish)
    with search_app.app_context():
        keeper().rebuild(get_session())
    assert len(published) == 1 and published[0][0] == published[0][1] and published[0][0]


def synced_reader(app):
    """The app's index, synced, and a second store on it: what another web worker reads."""
    with app.app_context():
        assert atlas.search.sync(get_session()) == 16
        store = keeper().store
    return store, sys.modules["atlas.search.index"].IndexStore(store.root)


def test_a_workers_look_at_fresh_edits_ends_its_reads_without_a_rollback(search_app, make_app):
    """A ROLLBACK makes psycopg drop the connection's prepared statements; the look runs once a second per worker."""
    from sqlalchemy import event

    synced_reader(search_app)
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    worker = make_app()
    ends: list[str] = []
    engine = worker.extensions["atlas.engine"]
    event.listen(engine, "commit", lambda conn: ends.append("commit"))
    event.listen(engine, "rollback", lambda conn: ends.append("rollback"))
    with worker.app_context():
        snapshot = keeper(worker).fresh_snapshot(get_session(), force=True)
    assert snapshot.generation is not None and ends and "rollback" not in ends
    assert "Zebrastreifen-Beratung" in found(worker, "Zebrastreifen")


def test_readers_keep_their_snapshot_while_a_large_new_segment_awaits_its_table(search_app, monkeypatch):
    index = sys.modules["atlas.search.index"]
    store, reader = synced_reader(search_app)
    before = reader.snapshot()
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    monkeypatch.setattr(index, "TABLE_WAIT_DOCS", 10)
    real_write_tables = index.IndexStore.write_tables
    monkeypatch.setattr(index.IndexStore, "write_tables", lambda self, name: 0)  # the writer has not saved them yet
    with search_app.app_context():
        keeper().rebuild(get_session())  # one new segment of 16 documents, no table
    assert reader.snapshot() is before  # decoding waits: the last snapshot serves
    real_write_tables(store, store.current_name())  # the writer saves them: the reader moves on at once
    after = reader.snapshot()
    assert after is not before and "zebrastreifen-beratung" in after.names
    rename(search_app, "Zebrastreifen-Beratung", "Okapi-Beratung")
    monkeypatch.setattr(index, "TABLE_WAIT_SECONDS", 0.0)  # a writer that never saves them: decoded after the wait
    with search_app.app_context():
        keeper().rebuild(get_session())
    late = reader.snapshot()
    assert late is not after and "okapi-beratung" in late.names


def test_a_new_generation_walks_only_its_new_segments_for_prefixes(search_app, monkeypatch):
    """Prefix terms are kept per segment: after an edit only the new segment's term file is read again."""
    _store, reader = synced_reader(search_app)
    before = reader.snapshot()
    assert "beck" in before.expand_prefix("title", "b") and before.expand_prefix("title", "z") == []
    old = {segid for segid, _leaf, _base in before.leaves}
    walked: list[str] = []
    real = whoosh.reading.SegmentReader.expand_prefix

    def counted(self, fieldname, prefix):
        walked.append(self.segment().segment_id())
        return real(self, fieldname, prefix)

    monkeypatch.setattr(whoosh.reading.SegmentReader, "expand_prefix", counted)
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
    with search_app.app_context():
        assert atlas.search.sync(get_session()) == 1
    after = reader.snapshot()
    assert {"beck", "berat"} <= set(after.expand_prefix("title", "b"))
    assert any(term.startswith("zebra") for term in after.expand_prefix("title", "z"))
    new = {segid for segid, _leaf, _base in after.leaves} - old
    assert new and set(walked) == new  # the unchanged segments answered from memory


def test_readers_never_copy_index_files_into_their_own_memory(search_app, monkeypatch):
    """Compound segment files are opened as in-memory copies (35 MB per worker at 100,000 offers): none are written."""
    import whoosh.filedb.structfile
    index = sys.modules["atlas.search.index"]
    monkeypatch.setattr(sys.modules["atlas.search.sync"], "PARALLEL_MIN", 5)
    with search_app.app_context():
        keeper().procs = 2
        keeper().rebuild(get_session())  # the sub-processes' segments
    rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")  # a segment of the incremental writer
    with search_app.app_context():
        assert atlas.search.sync(get_session()) == 1
        store = keeper().store
        folder = store.root / store.current_name()
    assert len(whoosh.index.open_dir(str(folder))._segments()) >= 2
    assert not list(folder.glob("*.seg"))

    def copied(*_args, **_kwargs):
        raise AssertionError("an index file was copied into memory")

    monkeypatch.setattr(whoosh.filedb.structfile.BufferFile, "__init__", copied)
    fresh = index.IndexStore(store.root).snapshot()  # what a new web worker opens
    assert fresh.postings("parts", "zebrastreif")[0].size or fresh.postings("title", "zebrastreif")[0].size
    assert found(search_app, "Zebrastreifen") == ["Zebrastreifen-Beratung"]


def test_a_damaged_segment_table_is_decoded_again(search_app):
    index = sys.modules["atlas.search.index"]
    with search_app.app_context():
        atlas.search.sync(get_session())
        store = keeper().store
        folder = store.root / store.current_name() / index.TABLES
    expected = _arrays(index.IndexStore(store.root).snapshot())
    tables = list(folder.glob("*" + index.TABLE_SUFFIX))
    assert tables
    saved = {table: table.read_bytes() for table in tables}
    for damage in (lambda data: b"not a table", lambda data: data[:len(data) // 2], lambda data: data[:12]):
        for table, data in saved.items():
            table.write_bytes(damage(data))
        assert _arrays(index.IndexStore(store.root).snapshot()) == expected
    assert "Schuldnerberatung der Caritas" in found(search_app, "Schulden")


def test_the_indexer_process_yields_the_cpu_to_the_web_workers(search_app):
    base = os.getpriority(os.PRIO_PROCESS, 0)  # the niceness this test runs with; a child starts with it
    with indexer_process(search_app) as proc:
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == max(base, 10)
    with indexer_process(search_app, ATLAS_INDEXER_NICE="0") as proc:
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == base


@pytest.mark.skipif(not Path(AUTOGROUP).exists(), reason="a kernel without autogroups shares the CPU by nice alone")
def test_the_indexer_as_a_service_lowers_its_sessions_share_of_the_cpu(search_app):
    """Started in a session of its own, as systemd starts a service, the indexer lowers the session's nice too."""
    own = Path(AUTOGROUP).read_text()  # this test run's session, which must stay as it is
    with indexer_process(search_app, new_session=True) as proc:
        assert Path(f"/proc/{proc.pid}/autogroup").read_text().split()[-1] == "10"
    with indexer_process(search_app) as proc:  # started from a shell: its session is the shell's
        assert Path(f"/proc/{proc.pid}/autogroup").read_text() == own
    assert Path(AUTOGROUP).read_text() == own


def test_the_session_priority_is_only_ever_lowered_and_only_by_a_session_leader(tmp_path, monkeypatch):
    group = tmp_path / "autogroup"
    group.write_text("/autogroup-7 nice 0\n")
    monkeypatch.setattr(os, "getsid", lambda pid: os.getpid())
    assert lower_session_priority(10, str(group)) == 10 and group.read_text() == "10"
    group.write_text("/autogroup-7 nice 15\n")
    assert lower_session_priority(10, str(group)) == 15 and group.read_text() == "/autogroup-7 nice 15\n"
    group.write_text("no group here")
    assert lower_session_priority(10, str(group)) is None
    assert lower_session_priority(10, str(tmp_path / "missing")) is None
    monkeypatch.setattr(os, "getsid", lambda pid: os.getpid() + 1)  # a shell's session
    group.write_text("/autogroup-7 nice 0\n")
    assert lower_session_priority(10, str(group)) is None and group.read_text() == "/autogroup-7 nice 0\n"


def test_edits_reach_the_index_while_the_meaning_thread_is_busy_embedding(search_app, monkeypatch):
    import importlib
    import threading

    import numpy as np

    from atlas.search import semantic

    sync_module = importlib.import_module("atlas.search.sync")  # the package exports a function of the same name
    inside, release, niceness = threading.Event(), threading.Event(), []

    def endless_batch(texts, threads, processes=1):
        niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        inside.set()
        release.wait(60)  # a batch of embeddings that lasts until the test ends
        return np.full((len(texts), semantic.DIM), semantic.DIM ** -0.5, dtype=np.float32)

    monkeypatch.setattr(semantic, "enabled", lambda config: True)
    monkeypatch.setattr(semantic.MODEL, "passages", endless_batch)
    monkeypatch.setattr(semantic.MODEL, "error", None)
    with search_app.app_context():
        atlas.search.sync(get_session())
    stop = threading.Event()
    worker = threading.Thread(target=sync_module.run_indexer, args=(search_app, stop, 0.05))
    worker.start()
    try:
        assert inside.wait(30), "the meaning thread never started a batch"
        rename(search_app, "Familienberatung", "Zebrastreifen-Beratung")
        assert until_in_sync(search_app, limit=10.0) < 2.0  # the index itself holds the edit, not only the overlay
        assert niceness == [19]  # embedding runs at the lowest CPU priority ...
        assert os.getpriority(os.PRIO_PROCESS, worker.native_id) == os.getpriority(os.PRIO_PROCESS, 0)  # ... alone
    finally:
        release.set()
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
