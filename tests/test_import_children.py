"""Re-import matches phones and opening hours one by one: by HSDS id, else by number or recurrence."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from atlas.db import get_session
from atlas.models import AuditLog, Phone, Schedule, Service

SERVICE = "Schuldnerberatung Lichtblick"
PHONES = ("+49 2302 5551001", "+49 2302 5551002", "+49 2302 5551003")


@pytest.fixture
def atlas(app):
    """The sentinel atlas with an offer of three phones and two opening hours."""
    with app.app_context():
        session = get_session()
        svc = session.scalar(select(Service).where(Service.name == SERVICE))
        svc.phones.extend(Phone(number=n, description=f"Leitung {i}") for i, n in enumerate(PHONES, start=1))
        svc.schedules.extend([Schedule(byday="MO", opens_at="09:00", closes_at="12:00"),
                              Schedule(byday="WE", opens_at="14:00", closes_at="16:00")])
        session.commit()
    return app


def cli(app, *args):
    return app.test_cli_runner().invoke(args=[*map(str, args)])


def children(app) -> dict[str, dict[int, tuple]]:
    """Every phone and schedule by database id."""
    with app.app_context():
        session = get_session()
        return {"phone": {p.id: (p.number, p.description) for p in session.scalars(select(Phone))},
                "schedule": {s.id: (s.byday, s.opens_at, s.closes_at)
                             for s in session.scalars(select(Schedule))}}


def audit_rows(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count(AuditLog.id)))


def export(app, path: Path) -> Path:
    fmt = ["--format", "json"] if path.suffix == ".json" else []
    result = cli(app, "export", path, "--internal", *fmt)
    assert result.exit_code == 0, result.output
    return path


def plan_lines(output: str) -> dict[str, str]:
    """The dry run's per-entity lines ("Telefonnummern: …")."""
    return {line.split(":")[0].strip(): line.split(":", 1)[1].strip() for line in output.splitlines()
            if line.strip().startswith(("Telefonnummern:", "Öffnungszeiten:"))}


# -- editing an export -------------------------------------------------------------------------------------

def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    svc = next(s for s in data if s["name"] == SERVICE)
    svc["phones"], svc["schedules"] = change(svc["phones"], svc["schedules"], svc["id"])
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def edit_package(path: Path, change) -> None:
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    tables = {name: list(csv.DictReader(io.StringIO(files[name].decode("utf-8"))))
              for name in ("phones.csv", "schedules.csv", "services.csv")}
    sid = next(r["id"] for r in tables["services.csv"] if r["name"] == SERVICE)
    mine = {name: [r for r in tables[name] if r["service_id"] == sid]
            for name in ("phones.csv", "schedules.csv")}
    phones, schedules = change(mine["phones.csv"], mine["schedules.csv"], sid)
    for name, rows in (("phones.csv", phones), ("schedules.csv", schedules)):
        header = list(tables[name][0])
        out = io.StringIO()
        writer = csv.DictWriter(out, header)
        writer.writeheader()
        writer.writerows([r for r in tables[name] if r["service_id"] != sid]
                         + [{k: r.get(k, "") for k in header} for r in rows])
        files[name] = out.getvalue().encode("utf-8")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


EDIT = {".json": edit_json, ".zip": edit_package}


def one_of_each(phones: list[dict], schedules: list[dict], sid: str) -> tuple[list[dict], list[dict]]:
    """One number changed, one phone removed, one added (without id), one schedule's hours changed."""
    phones = [dict(p) for p in phones]
    changed = next(p for p in phones if p["number"] == PHONES[0])
    changed["number"] = "+49 2302 5552001"
    phones = [p for p in phones if p["number"] != PHONES[2]]
    phones.append({"service_id": sid, "number": "+49 2302 5553003", "type": "voice", "description": "Neu"})
    schedules = [dict(s) for s in schedules]
    monday = next(s for s in schedules if s["byday"] == "MO")
    monday["closes_at"] = "13:00"
    return phones, schedules


def without_ids(phones: list[dict], schedules: list[dict], sid: str) -> tuple[list[dict], list[dict]]:
    """The same children as a source without HSDS ids gives them."""
    return ([{k: v for k, v in p.items() if k != "id"} for p in phones],
            [{k: v for k, v in s.items() if k != "id"} for s in schedules])


def hours_changed_without_ids(phones: list[dict], schedules: list[dict], sid: str) -> tuple[list, list]:
    phones, schedules = without_ids(phones, schedules, sid)
    next(s for s in schedules if s["byday"] == "WE")["opens_at"] = "13:30"
    return phones, schedules


# -- tests -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".json", ".zip"])
def test_own_export_reimported_keeps_every_phone_and_schedule(atlas, tmp_path, suffix):
    path = export(atlas, tmp_path / f"own{suffix}")
    before, audits = children(atlas), audit_rows(atlas)
    dry = cli(atlas, "import", path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = plan_lines(dry.output)
    for label in ("Telefonnummern", "Öffnungszeiten"):
        assert "unverändert" in lines[label], dry.output
        assert not any(w in lines[label] for w in ("neu", "geändert", "entfernt")), lines
    result = cli(atlas, "import", path)
    assert result.exit_code == 0, result.output
    assert children(atlas) == before  # same database ids, same values
    assert audit_rows(atlas) == audits


@pytest.mark.parametrize("suffix", [".json", ".zip"])
def test_edited_export_changes_exactly_the_edited_rows(atlas, tmp_path, suffix):
    path = export(atlas, tmp_path / f"own{suffix}")
    before, audits = children(atlas), audit_rows(atlas)
    EDIT[suffix](path, one_of_each)
    dry = cli(atlas, "import", path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = plan_lines(dry.output)
    phones_total, schedules_total = len(before["phone"]), len(before["schedule"])
    expected = f"1 neu, 1 geändert, {phones_total - 2} unverändert, 1 entfernt"
    assert lines["Telefonnummern"] == expected, dry.output
    assert lines["Öffnungszeiten"] == f"1 geändert, {schedules_total - 1} unverändert", dry.output
    assert children(atlas) == before  # the dry run touches nothing

    result = cli(atlas, "import", path)
    assert result.exit_code == 0, result.output
    after = children(atlas)
    ids = {number: pid for pid, (number, _d) in before["phone"].items()}
    assert after["phone"][ids[PHONES[0]]] == ("+49 2302 5552001", "Leitung 1")  # changed in place
    assert ids[PHONES[2]] not in after["phone"]  # removed
    added = set(after["phone"]) - set(before["phone"])
    assert [after["phone"][i] for i in added] == [("+49 2302 5553003", "Neu")]
    untouched = set(before["phone"]) - {ids[PHONES[0]], ids[PHONES[2]]}
    assert {i: after["phone"][i] for i in untouched} == {i: before["phone"][i] for i in untouched}
    monday = next(i for i, s in before["schedule"].items() if s == ("MO", "09:00", "12:00"))
    assert after["schedule"][monday] == ("MO", "09:00", "13:00")
    assert {i: s for i, s in after["schedule"].items() if i != monday} == \
        {i: s for i, s in before["schedule"].items() if i != monday}
    with atlas.app_context():
        entries = get_session().execute(select(AuditLog.entity_type, AuditLog.action, AuditLog.entity_id)
                                        .order_by(AuditLog.id).offset(audits)).all()
    assert sorted(entries) == sorted([("phone", "update", ids[PHONES[0]]),
                                      ("phone", "delete", ids[PHONES[2]]),
                                      ("phone", "create", added.pop()), ("schedule", "update", monday)])

    again = cli(atlas, "import", path, "--dry-run")  # a second run of the same file finds nothing to do
    assert not any(w in v for v in plan_lines(again.output).values() for w in ("neu", "geändert", "entfernt"))


def test_children_without_ids_are_matched_by_number_and_recurrence(atlas, tmp_path):
    path = export(atlas, tmp_path / "own.json")
    edit_json(path, without_ids)
    before, audits = children(atlas), audit_rows(atlas)
    result = cli(atlas, "import", path)
    assert result.exit_code == 0, result.output
    assert children(atlas) == before and audit_rows(atlas) == audits

    edit_json(path, hours_changed_without_ids)
    dry = cli(atlas, "import", path, "--dry-run")
    assert plan_lines(dry.output)["Öffnungszeiten"].startswith("1 geändert,"), dry.output
    assert cli(atlas, "import", path).exit_code == 0
    after = children(atlas)
    wednesday = next(i for i, s in before["schedule"].items() if s == ("WE", "14:00", "16:00"))
    assert after["schedule"][wednesday] == ("WE", "13:30", "16:00")  # the same row, new hours
    assert set(after["schedule"]) == set(before["schedule"]) and after["phone"] == before["phone"]
