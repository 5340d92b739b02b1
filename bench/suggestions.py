"""Search-box suggestions at 10,000 offers: words as the offers spell them against the index's folded words.

Run: .venv/bin/python bench/suggestions.py [--offers 10000] [--rounds 20]

`/suche/vorschlaege` answers every pause in typing. Its word suggestions come from the index's vocabulary, which
keeps words folded (schuldgefuhlen); since 6 December 2026 each is looked up in one offer that holds it and shown
as written there (Schuldgefühlen): one more query per answer. Baseline in the same run: the same requests with that
lookup switched off (the folded words, as before). An embedded SQLite file with the seed and generated offers, the
index built, a staff login; eight typed texts, --rounds times each way, alternated by round; p50, p95, p99, max.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from doubt import tails  # noqa: E402
from load import PASSWORD, load_avg, prepare  # noqa: E402

import atlas.search.views as views  # noqa: E402
from atlas.search.index import Snapshot  # noqa: E402

TYPED = ["Schuld", "ber", "Therap", "Sport Iser", "Wohn", "Beratung Sch", "kl", "Ar"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atlas-suggest-") as tmp:
        app, _ids = prepare(f"sqlite:///{tmp}/atlas.db", Path(tmp), args.offers, "off")
        client = app.test_client()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"email": "lotsin@bench.example", "password": PASSWORD, "csrf_token": token})
        for typed in TYPED:  # the first answer opens the index
            client.get("/suche/vorschlaege", query_string={"q": typed})
        lookups = (views.spellings, Snapshot.sids_with_words)
        ways = {"folded words (baseline)": (lambda _session, _holders, _names: {}, lambda _snap, _words: {}),
                "as the offers spell them": lookups}
        times: dict[str, list[float]] = {name: [] for name in ways}
        examples: dict[str, list[str]] = {}
        for _ in range(args.rounds):
            for name, way in ways.items():
                views.spellings, Snapshot.sids_with_words = way
                for typed in TYPED:
                    started = time.perf_counter()
                    answer = client.get("/suche/vorschlaege", query_string={"q": typed}).get_json()
                    times[name].append((time.perf_counter() - started) * 1000)
                    if typed == "Schuld":
                        examples[name] = [s["value"] for s in answer["suggestions"]]
        views.spellings, Snapshot.sids_with_words = lookups
    print(f"{args.offers:,} offers; {len(TYPED)} typed texts × {args.rounds} rounds each way\n")
    print("| suggestions | p50 / p95 / p99 / max (ms) | for „Schuld“ |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {tails(values)} | {', '.join(examples[name])} |")
    print(f"\nload average (1/5/15 min): {load_avg()}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
