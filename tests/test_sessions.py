"""Dated sessions (issue 11, part 1): next date on pages and cards, "begins within N weeks", HSDS in and out, DST."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from conftest import service_id
from curation_support import submit
from hsds_support import errors as schema_errors
from test_export import empty_atlas

import atlas.search
from atlas import sessions, validity
from atlas.audit import set_actor
from atlas.db import get_session
from atlas.importers.export import Exporter
from atlas.models import Service, ServiceSession
from atlas.opening import TZ

NAME = "Schuldnerberatung Lichtblick"


@pytest.fixture
def clock(monkeypatch):
    """An injected clock in UTC: `clock.at` is the instant; sessions and validity read it in Europe/Berlin."""
    class Clock:
        at = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)

    monkeypatch.setattr(sessions, "now", lambda: Clock.at.astimezone(TZ))
    monkeypatch.setattr(validity, "today", lambda: Clock.at.astimezone(TZ).date())
    return Clock


def add_sessions(app, rows: list[dict], name: str = NAME) -> int:
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        service = session.scalar(sa.select(Service).where(Service.name == name))
        service.sessions[:] = [ServiceSession(**row) for row in rows]
        service.updated_at = datetime.now(UTC).replace(tzinfo=None)
        session.commit()
        atlas.search.sync(session)
        return service.id


def ahead(app, sid: int) -> list[tuple[str, str | None]]:
    with app.app_context():
        found = [s for s in get_session().get(Service, sid).sessions if sessions.is_upcoming(s)]
        return [(s.starts_on.isoformat(), s.start_time) for s in found]


@pytest.mark.parametrize("day, before, after", [
    # 28 March 2027: clocks go from 02:00 CET to 03:00 CEST; 10:30 CEST is 08:30 UTC.
    (date(2027, 3, 28), datetime(2027, 3, 28, 8, 30, tzinfo=UTC), datetime(2027, 3, 28, 9, 5, tzinfo=UTC)),
    # 31 October 2027: clocks go from 03:00 CEST back to 02:00 CET; 10:30 CET is 09:30 UTC.
    (date(2027, 10, 31), datetime(2027, 10, 31, 9, 30, tzinfo=UTC), datetime(2027, 10, 31, 10, 5, tzinfo=UTC)),
])
def test_a_session_ends_at_its_wall_clock_time_on_dst_change_days(app, clock, day, before, after):
    sid = add_sessions(app, [{"starts_on": day, "start_time": "10:00", "end_time": "11:00"},
                             {"starts_on": day, "start_time": "08:00", "end_time": "09:00"}])
    clock.at = before  # 10:30 in Berlin: the 10:00 session runs, the 08:00 one is over
    assert ahead(app, sid) == [(day.isoformat(), "10:00")]
    clock.at = after  # 11:05 in Berlin (an hour off either way would keep it)
    assert ahead(app, sid) == []


def test_a_weekly_series_keeps_its_local_time_across_the_switch_and_in_hsds(app, clock):
    days = sessions.weekly(date(2027, 3, 21), date(2027, 4, 4))
    assert days == [date(2027, 3, 21), date(2027, 3, 28), date(2027, 4, 4)]
    sid = add_sessions(app, [{"starts_on": d, "start_time": "18:00", "end_time": "19:30", "seats": "frei"} for d in days])
    with app.app_context():
        record = next(r for r in Exporter(get_session(), internal=False).service_records() if r["name"] == NAME)
    runs = [s for s in record["schedules"] if s.get("dtstart")]
    assert runs == [{"id": runs[0]["id"], "service_id": record["id"], "freq": "WEEKLY", "byday": "SU",
                     "dtstart": "2027-03-21", "until": "2027-04-04", "count": 3, "timezone": 1.0, "wkst": "MO",
                     "opens_at": "18:00", "closes_at": "19:30", "notes": "Plätze frei"}]
    assert schema_errors("service.json", record) == []
    assert sid


def test_next_session_on_the_public_page_card_and_staff_card(app, clock, staff_client):
    clock.at = datetime(2027, 1, 12, 8, 0, tzinfo=UTC)  # Tuesday 09:00 in Berlin
    sid = add_sessions(app, [
        {"starts_on": date(2027, 1, 5), "start_time": "18:00", "end_time": "19:30"},  # past: never shown
        {"starts_on": date(2027, 1, 12), "start_time": "18:00", "end_time": "19:30", "place": "Gruppenraum 2",
         "seats": "wenige", "registration_note": "Anmeldung bis Montag"},
        {"starts_on": date(2027, 1, 19), "start_time": "18:00", "end_time": "19:30", "seats": "ausgebucht"},
    ])
    page = staff_client.application.test_client().get(f"/angebote/{sid}").get_data(as_text=True)
    assert "Nächste Termine" in page and "heute, 18:00–19:30 Uhr" in page and "Gruppenraum 2" in page
    assert "nur noch wenige Plätze" in page and "Anmeldung bis Montag" in page and "ausgebucht" in page
    assert "05.01.2027" not in page
    assert "Di., 19.01.2027, 18:00–19:30 Uhr" in page
    card = staff_client.application.test_client().get("/angebote", query_string={"q": "Schuldnerberatung"})
    assert "Nächster Termin:" in card.get_data(as_text=True)
    assert "heute, 18:00–19:30 Uhr · Gruppenraum 2 · nur noch wenige Plätze" in card.get_data(as_text=True)
    staff = staff_client.get("/suche", query_string={"q": "Schuldnerberatung"}).get_data(as_text=True)
    assert "Nächster Termin: heute, 18:00–19:30 Uhr" in staff
    clock.at = datetime(2027, 1, 12, 19, 0, tzinfo=UTC)  # 20:00: today's session is over, without any write
    later = staff_client.get("/suche", query_string={"q": "Schuldnerberatung"}).get_data(as_text=True)
    assert "Nächster Termin: Di., 19.01.2027, 18:00–19:30 Uhr · ausgebucht" in later


def test_filter_begins_within_weeks_follows_the_clock(app, clock):
    clock.at = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
    add_sessions(app, [{"starts_on": date(2027, 1, 20), "start_time": "10:00"}])
    client = app.test_client()

    def found(weeks: int) -> bool:
        body = client.get("/api/v1/services", query_string={"q": "Schuldnerberatung",
                                                            "starts_within_weeks": weeks}).get_json()
        return any(item["name"] == NAME for item in body["contents"])

    assert not found(1) and found(2)  # 10 days ahead
    clock.at = datetime(2027, 1, 21, 9, 0, tzinfo=UTC)  # the session is past: no re-index needed
    assert not found(52)
    bad = client.get("/api/v1/services", query_string={"q": "x", "starts_within_weeks": "bald"})
    assert bad.status_code == 400 and "ganze Zahl" in bad.get_json()["error"]["message"]


def test_the_form_adds_a_weekly_series_and_refuses_bad_times(app, coordinator_client):
    sid = service_id(app, NAME)
    path = f"/verwaltung/angebote/{sid}"
    bad = submit(coordinator_client, path, {"sessions-0-starts_on": "12.01.2027", "sessions-0-start_time": "18:00",
                                            "sessions-0-end_time": "17:00"})
    assert bad.status_code == 400 and "Der Termin muss nach seinem Beginn enden." in bad.get_data(as_text=True)
    bad = submit(coordinator_client, path, {"sessions-0-starts_on": "12.01.2027",
                                            "sessions-0-repeat_until": "01.01.2027"})
    assert bad.status_code == 400 and "„Wiederholen bis“ darf nicht vor dem Datum liegen." in bad.get_data(as_text=True)
    bad = submit(coordinator_client, path, {"sessions-0-start_time": "18:00"})
    assert bad.status_code == 400 and "Bitte das Datum des Termins eingeben" in bad.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count(ServiceSession.id))) == 0  # nothing half-written
    ok = submit(coordinator_client, path, {"sessions-0-starts_on": "12.01.2027", "sessions-0-start_time": "9:30",
                                           "sessions-0-end_time": "11:00", "sessions-0-seats": "frei",
                                           "sessions-0-place": "Raum 3", "sessions-0-repeat_until": "09.02.2027"})
    assert ok.status_code == 302, ok.get_data(as_text=True)[:1500]
    with app.app_context():
        rows = get_session().scalars(sa.select(ServiceSession).order_by(ServiceSession.starts_on)).all()
        assert [(r.starts_on.isoformat(), r.start_time, r.end_time, r.place, r.seats) for r in rows] == [
            (f"2027-{d}", "09:30", "11:00", "Raum 3", "frei")
            for d in ("01-12", "01-19", "01-26", "02-02", "02-09")]
    history = coordinator_client.get(f"/verwaltung/angebote/{sid}/verlauf").get_data(as_text=True)
    assert "Termin" in history


def test_hsds_round_trip_keeps_every_session_and_a_reimport_changes_nothing(app, clock, tmp_path):
    add_sessions(app, [
        *({"starts_on": d, "start_time": "17:00", "end_time": "18:40", "place": "Gruppenraum", "seats": "wenige",
           "registration_note": "Vorgespräch nötig"} for d in sessions.weekly(date(2027, 1, 13), date(2027, 2, 24))),
        {"starts_on": date(2027, 1, 20), "start_time": "19:00", "seats": "frei"},
        {"starts_on": date(2027, 3, 1)},
    ])
    target = tmp_path / "paket.json"
    with app.app_context():
        target.write_text(json.dumps(Exporter(get_session(), internal=True).service_records()), encoding="utf-8")

    def stored(instance) -> list[tuple]:
        with instance.app_context():
            rows = get_session().scalars(sa.select(ServiceSession).join(Service).where(Service.name == NAME)
                                         .order_by(ServiceSession.starts_on, ServiceSession.start_time))
            return [(r.starts_on, r.start_time, r.end_time, r.place, r.seats, r.registration_note) for r in rows]

    other = empty_atlas(tmp_path)
    result = other.test_cli_runner().invoke(args=["import", str(target), "--source", "Rückweg"])
    assert result.exit_code == 0, result.output
    assert stored(other) == stored(app) and len(stored(app)) == 9
    again = app.test_cli_runner().invoke(args=["import", str(target), "--dry-run"])
    assert again.exit_code == 0 and "Termine" not in again.output.split("Plan")[-1], again.output
    assert app.test_cli_runner().invoke(args=["import", str(target)]).exit_code == 0
    assert len(stored(app)) == 9


def test_a_foreign_series_becomes_sessions_and_a_reversed_one_is_reported(app, tmp_path):
    with app.app_context():
        record = next(r for r in Exporter(get_session(), internal=True).service_records() if r["name"] == NAME)
    record["id"] = "0b7f3f4e-1b7e-4c36-9d5e-0d6b1a2c3d4e"
    record["name"] = "Kurs aus einem anderen Verzeichnis"
    record["schedules"] = [{"id": "5b7f3f4e-1b7e-4c36-9d5e-0d6b1a2c3d4e", "freq": "WEEKLY", "byday": "WE",
                            "dtstart": "2027-01-11", "count": 3, "opens_at": "10:00:00", "closes_at": "11:30:00",
                            "notes": "fully booked - waiting list"}]
    target = tmp_path / "fremd.json"
    target.write_text(json.dumps([record]), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", str(target), "--source", "Fremd"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        service = get_session().scalar(sa.select(Service).where(Service.name == "Kurs aus einem anderen Verzeichnis"))
        assert [(s.starts_on, s.start_time, s.end_time, s.seats, s.registration_note) for s in service.sessions] == [
            (date(2027, 1, d), "10:00", "11:30", "ausgebucht", "waiting list") for d in (13, 20, 27)]
        assert service.schedules == []
    record["schedules"][0] |= {"dtstart": "2027-03-01", "until": "2027-02-01", "count": None}
    target.write_text(json.dumps([record]), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", str(target), "--source", "Fremd"])
    assert result.exit_code == 1
    assert "Terminreihe: das Ende (2027-02-01) liegt vor dem Beginn (2027-03-01)." in result.output
    with app.app_context():  # refused: the stored sessions stay as they were
        service = get_session().scalar(sa.select(Service).where(Service.name == "Kurs aus einem anderen Verzeichnis"))
        assert len(service.sessions) == 3


def test_the_handout_names_the_next_dates(app, clock, staff_client):
    clock.at = datetime(2027, 1, 12, 8, 0, tzinfo=UTC)
    sid = add_sessions(app, [{"starts_on": date(2027, 1, d), "start_time": "18:00", "end_time": "19:30", "seats": "frei"}
                             for d in (5, 13, 20, 27)] + [{"starts_on": date(2027, 2, 3), "start_time": "18:00"}])
    page = staff_client.get("/suche/merkliste", query_string={"ids": sid}).get_data(as_text=True)
    assert "Nächste Termine:" in page and "Mi., 13.01.2027, 18:00–19:30 Uhr · Plätze frei" in page
    assert "27.01.2027" in page and "05.01.2027" not in page and "03.02.2027" not in page  # the next three
    plain = staff_client.get("/suche/merkliste", query_string={"ids": sid, "sprache": "leicht"})
    assert "Die nächsten Termine:" in plain.get_data(as_text=True)
