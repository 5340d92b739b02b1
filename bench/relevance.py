"""Relevance harness: run the judged queries of bench/relevance/queries.json against the demo data and score them.

    .venv/bin/python bench/relevance.py                      # table per query group, worst queries
    .venv/bin/python bench/relevance.py --json totals.json   # also write the figures as JSON
    .venv/bin/python bench/relevance.py --record             # store today's totals as the new floor of the test
    .venv/bin/python bench/relevance.py --system lexical --show need-03   # one query's ranking with its grades

A temporary instance is seeded with seeds/demo/*.json; every query runs on a fixed day (DAY, or --day): the demo's
review and confirmation dates are fixed dates, so as the calendar moves on more demo offers become overdue and move
down a little (freshness), and the figures would drift from one day to the next without any change to the search.
Every query runs through each named system (SYSTEMS) as
staff search (`/suche`: internal offers visible, paused and ended ones hidden) and gets precision@5, nDCG@10 and
recall@20 (definitions in docs/search.md, section "Relevance"). Offers are named by their stable seed identifier
"<organisation key>/<offer key>" (Service.source_id), never by database ids.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask, current_app  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from atlas import create_app, schema, sessions, validity  # noqa: E402
from atlas.db import get_session  # noqa: E402
from atlas.maps.data import distance_km  # noqa: E402
from atlas.models import Service  # noqa: E402
from atlas.params import ParamError  # noqa: E402
from atlas.search import semantic  # noqa: E402
from atlas.search.params import parse_search_params  # noqa: E402
from atlas.search.sync import keeper  # noqa: E402
from atlas.search.service import rank  # noqa: E402
from atlas.seed import SEEDS, SOURCE, seed  # noqa: E402

DATA = ROOT / "bench" / "relevance" / "queries.json"
BASELINE = ROOT / "bench" / "relevance" / "baseline.json"
GROUPS = ("need", "symptom", "situation", "colloquial", "typo", "place", "crisis", "foreign-language")
GRADES = (0, 1, 2, 3)
RELEVANT = 2  # grade from which an offer counts as a hit for precision and recall
DEPTH = 20  # results fetched per query: the deepest cut-off used (recall@20)
METRICS = ("p@5", "ndcg@10", "r@20")
# The day the judgements and the recorded figures hold for (the demo data as it stood on that day).
DAY = date(2026, 12, 5)


@dataclass(frozen=True)
class Query:
    """One judged query: what was typed, the optional place field, and graded offers (unlisted offers are 0)."""

    id: str
    group: str
    text: str
    place: str | None
    grades: dict[str, int]
    note: str = ""

    @property
    def relevant(self) -> int:
        """Number of offers graded RELEVANT or better."""
        return sum(1 for g in self.grades.values() if g >= RELEVANT)


class DataError(ValueError):
    """The judged query file is malformed; the message says where."""


def load_queries(path: Path = DATA, known: Iterable[str] | None = None) -> list[Query]:
    """Read and check the judged queries; with `known` offer ids, unknown ids in judgements are errors too."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read as JSON ({exc})") from None
    known_ids = set(known) if known is not None else None
    queries: list[Query] = []
    seen: set[str] = set()
    for n, item in enumerate(raw.get("queries") or []):
        where = f"{path.name}, query {n + 1} ({item.get('id', '?')})"
        qid, group, text = item.get("id"), item.get("group"), item.get("q")
        if not isinstance(qid, str) or not qid or qid in seen:
            raise DataError(f"{where}: missing or repeated id")
        if group not in GROUPS:
            raise DataError(f"{where}: group must be one of {', '.join(GROUPS)}")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: empty query text")
        grades = item.get("judgements") or {}
        bad = {k: v for k, v in grades.items() if v not in GRADES}
        if bad:
            raise DataError(f"{where}: grades must be 0-3, got {bad}")
        if known_ids is not None and (unknown := sorted(set(grades) - known_ids)):
            raise DataError(f"{where}: unknown offers {', '.join(unknown)}")
        query = Query(qid, group, text, item.get("place") or None, dict(grades), item.get("note", ""))
        if not query.relevant:
            raise DataError(f"{where}: needs at least one offer graded {RELEVANT} or 3")
        seen.add(qid)
        queries.append(query)
    if not queries:
        raise DataError(f"{path}: no queries")
    return queries


def precision_at(ranked: list[str], grades: dict[str, int], k: int = 5) -> float:
    """Share of the first k results graded RELEVANT+, out of min(k, relevant offers) so a perfect list scores 1."""
    relevant = sum(1 for g in grades.values() if g >= RELEVANT)
    if not relevant:
        return 0.0
    hits = sum(1 for offer in ranked[:k] if grades.get(offer, 0) >= RELEVANT)
    return hits / min(k, relevant)


def recall_at(ranked: list[str], grades: dict[str, int], k: int = 20) -> float:
    """Relevant offers among the first k results, out of min(k, relevant offers)."""
    return precision_at(ranked, grades, k)


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain with gain 2^grade - 1 (0 when nothing is graded above 0)."""
    def dcg(values: Iterable[int]) -> float:
        return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(values))
    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    return dcg(grades.get(offer, 0) for offer in ranked[:k]) / ideal if ideal else 0.0


def scores(ranked: list[str], grades: dict[str, int]) -> dict[str, float]:
    """All metrics of one ranked list."""
    return {"p@5": precision_at(ranked, grades, 5), "ndcg@10": ndcg_at(ranked, grades, 10),
            "r@20": recall_at(ranked, grades, 20)}


# --- systems: each takes the session and a query and returns offer ids (seed identifiers), best first ---

System = Callable[[Session, Query], list[str]]


def _source_ids(session: Session) -> dict[int, str]:
    """Database id -> stable seed identifier of every demo offer."""
    rows = session.execute(select(Service.id, Service.source_id).where(Service.source_name == SOURCE))
    return {sid: source for sid, source in rows}


def lexical(session: Session, query: Query) -> list[str]:
    """The lexical engine alone (words, stems, compounds, typos, synonyms), as /suche calls it (q, near)."""
    return _search(session, query, "off")


def combined(session: Session, query: Query) -> list[str]:
    """The search users get: lexical and semantic (local embedding model) ranks fused; lexical without the model."""
    return _search(session, query, "auto")


def _search(session: Session, query: Query, semantic_mode: str) -> list[str]:
    current_app.config["SEARCH_SEMANTIC"] = semantic_mode
    args = MultiDict({"q": query.text, "per_page": str(DEPTH)})
    if query.place:
        args["near"] = query.place
    params = parse_search_params(args, session, internal=True, per_page=DEPTH)
    ranked = rank(session, params, internal=True)
    if ranked is None:
        return []
    names = session.info.get("relevance_source_ids")
    if names is None:
        names = session.info["relevance_source_ids"] = _source_ids(session)
    return [names[sid] for sid in ranked.sids if sid in names]


SYSTEMS: dict[str, System] = {"lexical": lexical, "combined": combined}


# --- running ---

@dataclass
class Outcome:
    """One system's results on one query."""

    query: Query
    ranked: list[str]
    metrics: dict[str, float] = field(default_factory=dict)


def demo_instance(folder: Path) -> Flask:
    """A fresh app on a SQLite file in folder, seeded with the demo data."""
    app = create_app({"TESTING": True, "SECRET_KEY": "relevance", "DATABASE_URL": f"sqlite:///{folder / 'atlas.sqlite'}",
                      "INSTANCE_PATH": str(folder / "instance"), "NOMINATIM_URL": None})
    schema.upgrade(app.extensions["atlas.engine"])
    with app.app_context():
        seed(get_session(), SEEDS)
        get_session().commit()
        if semantic.enabled(app.config):  # the indexer's work, done here before the first query
            semantic.refresh(get_session(), semantic.store_for(keeper().store.root), app.config)
    return app


@contextmanager
def on_day(day: date) -> Iterator[None]:
    """Today is `day` (at noon in Berlin) for the search meanwhile: freshness, validity and session dates."""
    today, now = validity.today, sessions.now
    validity.today = lambda: day
    sessions.now = lambda: datetime.combine(day, clock(12), sessions.TZ)
    try:
        yield
    finally:
        validity.today, sessions.now = today, now


def run(app: Flask, queries: list[Query], systems: dict[str, System], day: date = DAY) -> dict[str, list[Outcome]]:
    """Every query through every system on `day`; checks the judgements name offers that exist."""
    results: dict[str, list[Outcome]] = {}
    with on_day(day), app.test_request_context():
        session = get_session()
        known = set(_source_ids(session).values())
        for query in queries:
            if unknown := sorted(set(query.grades) - known):
                raise DataError(f"query {query.id}: unknown offers {', '.join(unknown)}")
        for name, system in systems.items():
            outcomes = []
            for query in queries:
                try:
                    ranked = system(session, query)[:DEPTH]
                except ParamError as exc:
                    raise DataError(f"query {query.id}: the search refuses it ({exc})") from None
                outcomes.append(Outcome(query, ranked, scores(ranked, query.grades)))
            results[name] = outcomes
    return results


def summary(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    """Mean of each metric per query group and in total (every query weighs the same), plus the query counts."""
    table: dict[str, dict[str, float]] = {}
    for group in [g for g in GROUPS if any(o.query.group == g for o in outcomes)] + ["total"]:
        part = [o for o in outcomes if group == "total" or o.query.group == group]
        table[group] = {m: round(sum(o.metrics[m] for o in part) / len(part), 4) for m in METRICS}
        table[group]["queries"] = len(part)
    return table


def render(results: dict[str, list[Outcome]], worst: int) -> str:
    """The table per group with each system side by side, then the worst queries by nDCG@10."""
    names = list(results)
    tables = {name: summary(outcomes) for name, outcomes in results.items()}
    head = f"{'group':<18}{'n':>4}" + "".join(f" | {name + ' P@5':>16} {'nDCG@10':>8} {'R@20':>6}" for name in names)
    lines = [head, "-" * len(head)]
    for group, row in tables[names[0]].items():
        line = f"{group:<18}{int(row['queries']):>4}"
        for name in names:
            r = tables[name][group]
            line += f" | {r['p@5']:>16.3f} {r['ndcg@10']:>8.3f} {r['r@20']:>6.3f}"
        lines.append(line)
    holes = ", ".join(f"{name} {unjudged(outcomes, 5)} / {unjudged(outcomes, POOL_DEPTH)}" for name, outcomes in results.items())
    lines += ["", f"Unjudged offers (counted as 0) in the first 5 / {POOL_DEPTH} results: {holes} "
                  f"(--pool lists them for judging)"]
    for name in names:
        lines += ["", f"Worst {worst} queries by nDCG@10 ({name}):"]
        for o in sorted(results[name], key=lambda o: (o.metrics["ndcg@10"], o.query.id))[:worst]:
            place = f" @ {o.query.place}" if o.query.place else ""
            top = ", ".join(f"{offer}({o.query.grades.get(offer, 0)})" for offer in o.ranked[:3]) or "nothing found"
            lines.append(f"  {o.metrics['ndcg@10']:.3f}  {o.query.id:<14} „{o.query.text}“{place}  → {top}")
    return "\n".join(lines)


def unjudged(outcomes: list[Outcome], depth: int) -> int:
    """Results among the first `depth` of every query that its judgements do not list."""
    return sum(1 for o in outcomes for offer in o.ranked[:depth] if offer not in o.query.grades)


def show(outcome: Outcome) -> str:
    """One query's ranking with the grade of each result, and the relevant offers it missed."""
    q = outcome.query
    lines = [f"{q.id} [{q.group}] „{q.text}“" + (f" @ {q.place}" if q.place else ""),
             "  " + ", ".join(f"{m}={v:.3f}" for m, v in outcome.metrics.items())]
    lines += [f"  {i + 1:>2}. ({q.grades.get(offer, 0)}) {offer}" for i, offer in enumerate(outcome.ranked)]
    missed = sorted((o for o, g in q.grades.items() if g >= RELEVANT and o not in outcome.ranked),
                    key=lambda o: -q.grades[o])
    lines += [f"  missed ({q.grades[o]}) {o}" for o in missed]
    return "\n".join(lines)


def totals(results: dict[str, list[Outcome]]) -> dict[str, Any]:
    """The figures as JSON-ready data: per system the total and every group."""
    return {name: summary(outcomes) for name, outcomes in results.items()}


# --- completing the judgements: pooling ---
#
# Offers a query's judge did not list count as 0. When a system puts such an offer into its first ten, the figures
# rest on a guess: the pool lists those offers (from every system, plus the model alone, which ranks differently)
# for a judge to grade without ranks or system names; --merge adds the grades, 0 included, to the judged file.

POOL_DEPTH = 10  # the deepest cut-off of P@5 and nDCG@10
MEANING_DEPTH = 5  # the model alone widens the pool by its first five


def meaning_only(session: Session, query: Query) -> list[str]:
    """The embedding model alone: offers in force (not paused, ended or archived) by cosine to the query text."""
    vector = semantic.query_vector(query.text, current_app.config | {"SEARCH_SEMANTIC": "auto"})
    if vector is None:
        return []
    _gen, sids, vectors, _hashes = semantic.store_for(keeper().store.root).load()
    live = {sid: source for sid, source in session.execute(
        select(Service.id, Service.source_id).where(Service.source_name == SOURCE, Service.archived_at.is_(None),
                                                    Service.status.not_in(("pausiert", "beendet"))))}
    order = (-(vectors @ vector)).argsort(kind="stable")
    return [live[int(sids[i])] for i in order if int(sids[i]) in live][:DEPTH]


def offer_facts(seeds_dir: Path = SEEDS / "demo") -> dict[str, dict[str, Any]]:
    """What a judge reads about each demo offer, by seed identifier: text, categories, status and places."""
    facts: dict[str, dict[str, Any]] = {}
    for path in sorted(seeds_dir.glob("*.json")):
        for org in json.loads(path.read_text(encoding="utf-8"))["organisations"]:
            places = {loc["key"]: loc for loc in org.get("locations") or []}
            for offer in org.get("services") or []:
                sites = [places[key] for key in offer.get("locations") or [] if key in places]
                facts[f"{org['key']}/{offer['key']}"] = {
                    "organisation": org["name"], "name": offer["name"],
                    "summary": offer.get("summary_plain"), "description": offer.get("description"),
                    "target_group": offer.get("target_group"), "categories": offer.get("categories") or [],
                    "status": offer.get("status"), "valid_to": offer.get("valid_to"),
                    "channels": offer.get("contact_channels") or [], "languages": offer.get("languages") or [],
                    "supra_regional": bool(offer.get("supra_regional")),
                    "places": [(site["city"], site.get("latitude"), site.get("longitude"))
                               for site in sites if site.get("city")]}
    return facts


def pool(app: Flask, queries: list[Query], results: dict[str, list[Outcome]], day: date = DAY) -> list[dict[str, Any]]:
    """The judging sheet: per query, the unjudged offers any system put into its first POOL_DEPTH, in name order."""
    facts = offer_facts()
    sheet = []
    with on_day(day), app.test_request_context():
        session = get_session()
        for query in queries:
            found: set[str] = set()
            for name, outcomes in results.items():
                depth = MEANING_DEPTH if name == "meaning" else POOL_DEPTH
                found.update(next(o.ranked[:depth] for o in outcomes if o.query.id == query.id))
            todo = sorted(found - set(query.grades), key=lambda offer: (facts[offer]["name"], offer))
            if not todo:
                continue
            args = MultiDict({"q": query.text} | ({"near": query.place} if query.place else {}))
            origin = parse_search_params(args, session, internal=True).origin
            offers = []
            for offer in todo:
                fact = facts[offer]
                item = {"offer": offer, "grade": None} | {k: v for k, v in fact.items() if v and k != "places"}
                item["places"] = sorted({city for city, _lat, _lon in fact["places"]}) or "no site (phone, online)"
                if origin is not None:
                    item["km_from_place"] = min(
                        (round(distance_km(origin.latitude, origin.longitude, lat, lon), 1)
                         for _city, lat, lon in fact["places"] if lat is not None), default=None)
                offers.append(item)
            sheet.append({"query": query.id, "q": query.text, "place": query.place,
                          "place_understood": origin.label if origin else None, "note": query.note,
                          "judged": query.grades, "to_judge": offers})
    return sheet


def merge(sheet_path: Path, queries_path: Path = DATA, known: Iterable[str] | None = None) -> int:
    """Add the grades of a judged sheet to the judged file (never changing a grade already there); returns how many.

    Everything is checked before the file is written (`known`: the offer identifiers there are, by default the demo
    offers), and the file is replaced in one step, so a refused sheet leaves it exactly as it was."""
    try:
        sheet = json.loads(sheet_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{sheet_path}: cannot be read as JSON ({exc})") from None
    if not isinstance(sheet, list):
        raise DataError(f"{sheet_path.name}: a judging sheet is a list of queries, as --pool writes it")
    offers = set(known) if known is not None else set(offer_facts())
    data = json.loads(queries_path.read_text(encoding="utf-8"))
    by_id = {item["id"]: item for item in data["queries"]}
    added = 0
    for entry in sheet:
        item = by_id.get(entry.get("query")) if isinstance(entry, dict) else None
        if item is None:
            raise DataError(f"{sheet_path.name}: unknown query {entry.get('query') if isinstance(entry, dict) else entry!r}")
        for judged in entry.get("to_judge") or []:
            offer, grade = judged.get("offer"), judged.get("grade")
            if offer not in offers:
                raise DataError(f"{sheet_path.name}, query {item['id']}: unknown offer {offer!r}")
            if type(grade) is not int or grade not in GRADES:  # JSON true would pass as 1 otherwise
                raise DataError(f"{sheet_path.name}, query {item['id']}, {offer}: grade must be 0-3, got {grade!r}")
            if offer not in item.setdefault("judgements", {}):
                item["judgements"][offer] = grade
                added += 1
    part = queries_path.with_name(f".{queries_path.name}.{os.getpid()}.tmp")
    part.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    try:
        load_queries(part, offers)  # the merged file must still be valid
    except DataError:
        part.unlink()
        raise
    os.replace(part, queries_path)
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, default=DATA, help="judged query file (default: %(default)s)")
    parser.add_argument("--system", action="append", choices=sorted(SYSTEMS), help="only these systems")
    parser.add_argument("--worst", type=int, default=10, help="how many of the worst queries to list")
    parser.add_argument("--show", action="append", default=[], metavar="QUERY_ID", help="print one query's ranking")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures per system and group as JSON")
    parser.add_argument("--record", action="store_true", help=f"store the totals as the test's floor in {BASELINE.name}")
    parser.add_argument("--pool", type=Path, metavar="PATH",
                        help=f"write a judging sheet of the unjudged offers in any system's first {POOL_DEPTH}")
    parser.add_argument("--merge", type=Path, metavar="PATH", help="add the grades of a judged sheet to --queries")
    parser.add_argument("--day", type=date.fromisoformat, default=DAY,
                        help="run as if today were this day, YYYY-MM-DD (default: %(default)s, the recorded day)")
    args = parser.parse_args(argv)
    if args.merge:
        try:
            added = merge(args.merge, args.queries)
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{added} grades added to {args.queries}")
        return 0
    try:
        queries = load_queries(args.queries)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.record and args.day != DAY:
        print(f"error: --record stores the figures of the recorded day {DAY}; to move it, change DAY", file=sys.stderr)
        return 2
    if args.record and args.system and set(args.system) != set(SYSTEMS):
        print("error: --record stores the totals of every system; leave out --system", file=sys.stderr)
        return 2
    systems = {name: SYSTEMS[name] for name in (args.system or SYSTEMS)}
    if args.pool:
        systems = dict(SYSTEMS) | {"meaning": meaning_only}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="atlas-relevance-") as tmp:
        app = demo_instance(Path(tmp))
        try:
            results = run(app, queries, systems, args.day)
            if args.pool:
                sheet = pool(app, queries, results, args.day)
                args.pool.write_text(json.dumps(sheet, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
                results.pop("meaning")
                print(f"{sum(len(e['to_judge']) for e in sheet)} unjudged offers of {len(sheet)} queries in {args.pool}")
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            app.extensions["atlas.engine"].dispose()
    print(f"{len(queries)} judged queries, {sum(len(q.grades) for q in queries)} judgements; relevant = grade >= "
          f"{RELEVANT}; as on {args.day}; {time.perf_counter() - started:.1f} s, load average {os.getloadavg()[0]:.2f}\n")
    print(render(results, args.worst))
    for qid in args.show:
        for name, outcomes in results.items():
            match = [o for o in outcomes if o.query.id == qid]
            print(f"\n[{name}] " + (show(match[0]) if match else f"no query {qid}"))
    figures = totals(results)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if args.record:
        record = {name: table["total"] for name, table in figures.items()}
        BASELINE.write_text(json.dumps({"queries": len(queries), "day": DAY.isoformat(), "totals": record}, indent=2) + "\n", encoding="utf-8")
        print(f"\nrecorded in {BASELINE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
