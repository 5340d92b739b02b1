"""The duplicate rule measured on a labelled evaluation set (tests/data/duplicates_eval.json)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from atlas.db import get_session
from atlas.duplicates import Candidate, DuplicateIndex, address_keys, normalise_city, normalise_name
from atlas.duplicates import normalise_phone, normalise_url
from atlas.models import ReviewTask, utcnow

EVAL = Path(__file__).parent / "data" / "duplicates_eval.json"


def candidate(entry: dict) -> Candidate:
    return Candidate(1, entry["name"], keys={normalise_name(entry["name"])}, cities={normalise_city(entry["city"])},
                     phones={normalise_phone(entry["phone"])} if entry.get("phone") else set(),
                     urls={normalise_url(entry["url"])} if entry.get("url") else set(),
                     addresses=address_keys(entry.get("street"), entry.get("postal_code"), entry["city"]))


def predicted(pair: dict) -> bool:
    """Would importing entry b propose the stored entry a as a duplicate?"""
    b = pair["b"]
    index = DuplicateIndex("service", [candidate(pair["a"])])
    return bool(index.find(b["name"], b["city"], [b["phone"]] if b.get("phone") else [],
                           [b["url"]] if b.get("url") else [], b.get("postal_code"), b.get("street")))


def test_precision_and_recall_on_the_labelled_set(capsys):
    pairs = json.loads(EVAL.read_text(encoding="utf-8"))["pairs"]
    assert len(pairs) >= 50 and sum(p["duplicate"] for p in pairs) >= 25
    outcomes = [(predicted(p), p["duplicate"]) for p in pairs]
    tp = sum(1 for guess, truth in outcomes if guess and truth)
    fp = sum(1 for guess, truth in outcomes if guess and not truth)
    fn = sum(1 for guess, truth in outcomes if not guess and truth)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    with capsys.disabled():
        print(f"\nduplicates: precision {precision:.3f}, recall {recall:.3f} ({tp} tp, {fp} fp, {fn} fn, {len(pairs)} pairs)")
    assert precision >= 0.95 and recall >= 0.90
    # the case from the field: same street, same first name, different doctors
    kuehn = next(p for p in pairs if p["note"] == "same street, different doctors")
    assert not predicted(kuehn)


def run(app, *args):
    return app.test_cli_runner().invoke(args=["import", *map(str, args)])


def test_identical_reimport_opens_no_new_tasks(app, tmp_path):
    path = tmp_path / "liste.csv"
    # "Schuldnerberatung Lichtblick" exists in Witten: the row is held back as a possible duplicate
    path.write_text("Name;Träger;Ort;Kategorie\nSchuldnerberatung Lichtblick e. V.;Anderer Träger;Witten;"
                    "schuldnerberatung\n", encoding="utf-8")
    assert "1 mögliche Dubletten übersprungen (1 Prüfaufgaben)" in run(app, path, "--source", "Liste").output
    count = lambda: get_session().scalar(select(func.count(ReviewTask.id)).where(  # noqa: E731
        ReviewTask.kind == "import_duplicate"))
    with app.app_context():
        assert count() == 1
        task = get_session().scalar(select(ReviewTask).where(ReviewTask.kind == "import_duplicate"))
        task.resolved_at = utcnow()  # the coordinator decided: not the same
        get_session().commit()
    again = run(app, path, "--source", "Liste")
    assert "(0 Prüfaufgaben)" in again.output
    with app.app_context():
        assert count() == 1
