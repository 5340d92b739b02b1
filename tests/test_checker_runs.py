"""Discovery, runs, verdicts over time (injected clock), review tasks, overdue entries, history, CLI, /healthz."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from checker_sites import FAST_CONFIG, FakeWeb, Reply, Router, html
from conftest import login, service_id

from atlas.checker import discovery, workers
from atlas.checker.models import CheckRun, Link, LinkCheck
from atlas.checker.runner import Runner
from atlas.db import get_session
from atlas.models import Location, Organization, ReviewTask, Service

T0 = datetime(2026, 3, 2, 8, 0)
PAGE = html("Schuldnerberatung Lichtblick", "Wir beraten Menschen mit Schulden kostenlos und vertraulich. " * 8)


@pytest.fixture
def router() -> Router:
    return Router({"/": Reply(200, body=PAGE), "/schulden": Reply(200, body=PAGE)})


@pytest.fixture
def web(router):
    with FakeWeb(router) as server:
        yield server


@pytest.fixture
def checker_app(app):
    app.config.update(FAST_CONFIG)
    return app


def set_urls(app, website: str | None = None, service_url: str | None = None, **fields) -> None:
    """Point the sentinel organisation and its debt-advice offer at test URLs."""
    with app.app_context():
        session = get_session()
        org = session.scalar(sa.select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V."))
        svc = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        org.website, svc.url = website, service_url
        for key, value in fields.items():
            setattr(svc, key, value)
        session.commit()


def run(app, mode: str = "all", at: datetime = T0, **kwargs) -> CheckRun:
    with app.app_context():
        return Runner(get_session(), app.config, clock=lambda: at).run(mode, **kwargs)


def link_for(app, url: str) -> Link:
    with app.app_context():
        return get_session().scalar(sa.select(Link).where(Link.url == url))


def open_tasks(app, kind: str | None = None) -> list[ReviewTask]:
    with app.app_context():
        stmt = sa.select(ReviewTask).where(ReviewTask.resolved_at.is_(None))
        if kind:
            stmt = stmt.where(ReviewTask.kind == kind)
        return list(get_session().scalars(stmt))


def test_discovery_deduplicates_and_ties_each_url_to_its_fields(checker_app, web):
    page = web.url("/schulden")
    set_urls(checker_app, website=page.replace("http://", "HTTP://") + "#oben", service_url=page,
             application_process=f"Anmeldung online: {web.url('/termin')}. Oder anrufen.")
    with checker_app.app_context():
        session = get_session()
        loc = session.scalar(sa.select(Location).where(Location.name == "Haus am Markt"))
        loc.url, loc.source_url = "www.beispiel-standort.test", "https://quelle.test/import.csv"
        session.commit()
        report = discovery.sync(session)
        session.commit()
        links = {link.url: link for link in session.scalars(sa.select(Link))}
        assert set(links) == {page, web.url("/termin"), "http://www.beispiel-standort.test/"}
        usages = {(u.entity_type, u.field) for u in links[page].usages}
        assert usages == {("organization", "website"), ("service", "url")}
        assert {(u.entity_type, u.field) for u in links[web.url("/termin")].usages} == {
            ("service", "application_process")}
        assert report.added == 4 and len(report.new_links) == 3
        assert discovery.sync(session).added == 0  # a second sync changes nothing


def test_invalid_stored_address_is_broken_at_once(checker_app):
    set_urls(checker_app, website="kein link", service_url=None)
    run(checker_app)
    link = link_for(checker_app, "kein link")
    assert (link.state, link.kind) == ("broken", "invalid_url")
    assert [t.title for t in open_tasks(checker_app, "link_broken")] == ["kein link"]  # the kind is shown apart


def test_new_urls_of_saved_entries_are_found_incrementally_and_checked_first(checker_app, web, router):
    set_urls(checker_app, website=web.url("/"), service_url=None)
    first = run(checker_app, "all")
    assert first.checked == 1 and first.watermark is not None
    set_urls(checker_app, website=web.url("/"), service_url=web.url("/schulden"))
    with checker_app.app_context():
        runner = Runner(get_session(), checker_app.config, clock=lambda: T0)
        new = runner.run("new", limit=5)
    assert (new.kind, new.new_links, new.checked) == ("new", 1, 1)
    assert link_for(checker_app, web.url("/schulden")).state == "ok"
    assert len(web.requests_for("/")) == 1  # the known link was not checked again


def test_archived_entries_lose_their_links(checker_app, web):
    set_urls(checker_app, website=web.url("/"), service_url=web.url("/schulden"))
    run(checker_app)
    with checker_app.app_context():
        session = get_session()
        svc = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        svc.archived_at = T0
        session.commit()
        discovery.sync(session)
        session.commit()
        assert session.scalar(sa.select(Link).where(Link.url == web.url("/schulden"))) is None
        assert session.scalar(sa.select(sa.func.count(LinkCheck.id))) == 1  # its history went with it


def test_broken_only_after_n_failures_spanning_h_hours(checker_app, web, router, client):
    router["/schulden"] = Reply(500, body="Fehler")
    set_urls(checker_app, website=None, service_url=web.url("/schulden"))
    url = web.url("/schulden")
    states = []
    for hours in (0, 6, 12, 25):
        run(checker_app, "due", at=T0 + timedelta(hours=hours))
        link = link_for(checker_app, url)
        states.append((link.state, link.consecutive_failures))
    assert states == [("warning", 1), ("warning", 2), ("warning", 3), ("broken", 4)]
    assert link.first_failure_at == T0 and link.last_success_at is None
    tasks = open_tasks(checker_app, "link_broken")
    assert len(tasks) == 1 and tasks[0].source_ref == f"link:{link.id}"
    assert "Internetseite des Angebots" in tasks[0].detail
    sid = service_id(checker_app, "Schuldnerberatung Lichtblick")
    page = client.get(f"/angebote/{sid}").get_data(as_text=True)
    assert "Einige Angaben werden gerade überprüft. Bitte fragen Sie vorher nach." in page
    assert page.count("werden gerade überprüft") == 1
    login(client, "lotsin@atlas.example")
    staff_page = client.get(f"/intern/angebote/{sid}").get_data(as_text=True)
    assert "Angaben werden geprüft" in staff_page and f"Link defekt: {url}" in staff_page
    assert "Link defekt: Link defekt" not in staff_page
    client.post("/logout", data={})
    login(client, "koordination@atlas.example")
    queue = client.get(f"/verwaltung/pruefliste?person={tasks[0].assignee_id}").get_data(as_text=True)
    assert f"Link defekt:</strong> {url}" in queue and "Link defekt: Link defekt" not in queue
    client.post("/logout", data={})
    router["/schulden"] = Reply(200, body=PAGE)
    run(checker_app, "due", at=T0 + timedelta(hours=50))
    assert link_for(checker_app, url).state == "ok"
    assert open_tasks(checker_app, "link_broken") == []
    public = checker_app.test_client().get(f"/angebote/{sid}").get_data(as_text=True)
    assert "werden gerade überprüft" not in public


def test_not_found_counts_faster(checker_app, web, router):
    router["/schulden"] = Reply(404)
    set_urls(checker_app, website=None, service_url=web.url("/schulden"))
    url = web.url("/schulden")
    run(checker_app, at=T0)
    link = link_for(checker_app, url)
    assert link.state == "warning" and link.next_check_at == T0 + timedelta(hours=1)
    run(checker_app, at=T0 + timedelta(minutes=30))
    assert link_for(checker_app, url).state == "warning"  # two failures, but not an hour apart yet
    run(checker_app, at=T0 + timedelta(hours=1))
    assert link_for(checker_app, url).state == "broken"


def test_due_selection_respects_the_cadence(checker_app, web):
    set_urls(checker_app, website=web.url("/"), service_url=None)
    run(checker_app, "due", at=T0)
    assert link_for(checker_app, web.url("/")).next_check_at == T0 + timedelta(hours=72)
    assert run(checker_app, "due", at=T0 + timedelta(hours=71)).checked == 0
    assert run(checker_app, "due", at=T0 + timedelta(hours=72)).checked == 1


def test_retry_after_beyond_the_cap_postpones_the_next_check(checker_app, web, router):
    router["/"] = Reply(429, headers={"Retry-After": "86400"})
    set_urls(checker_app, website=web.url("/"), service_url=None)
    run(checker_app, at=T0)
    link = link_for(checker_app, web.url("/"))
    assert (link.state, link.kind) == ("warning", "rate_limited")
    assert link.next_check_at == T0 + timedelta(hours=24)


def test_changed_target_opens_a_link_changed_task(checker_app, web, router):
    router["/schulden"] = Reply(301, headers={"Location": "/"})
    set_urls(checker_app, website=None, service_url=web.url("/schulden"))
    run(checker_app)
    link = link_for(checker_app, web.url("/schulden"))
    assert (link.state, link.kind) == ("warning", "redirect_home")
    tasks = open_tasks(checker_app, "link_changed")
    assert [t.title for t in tasks] == [web.url('/schulden')]
    router["/schulden"] = Reply(404)
    run(checker_app, at=T0 + timedelta(hours=1))
    run(checker_app, at=T0 + timedelta(hours=2))
    assert link_for(checker_app, web.url("/schulden")).state == "broken"
    assert open_tasks(checker_app, "link_changed") == []  # replaced by the broken task
    assert len(open_tasks(checker_app, "link_broken")) == 1


def test_overdue_verification_opens_and_resolves_tasks(checker_app):
    with checker_app.app_context():
        session = get_session()
        svc = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        months = svc.review_interval_months
        svc.assured_date = date(2020, 1, 15)
        session.commit()
    run(checker_app, "due", at=T0)
    tasks = [t for t in open_tasks(checker_app, "overdue") if t.service_id is not None]
    assert any(t.title == "Prüfung fällig" and f"{months} Monate" in t.detail for t in tasks)
    ours = [t for t in tasks if t.service_id == service_id(checker_app, "Schuldnerberatung Lichtblick")]
    assert len(ours) == 1 and ours[0].source_ref == "overdue"
    run(checker_app, "due", at=T0 + timedelta(hours=1))
    assert len([t for t in open_tasks(checker_app, "overdue")
                if t.service_id == ours[0].service_id]) == 1  # not opened twice
    with checker_app.app_context():
        session = get_session()
        svc = session.get(Service, ours[0].service_id)
        svc.assured_date = T0.date()
        session.commit()
    run(checker_app, "due", at=T0 + timedelta(hours=2))
    assert [t for t in open_tasks(checker_app, "overdue") if t.service_id == ours[0].service_id] == []


def test_history_is_kept_within_its_limit_and_runs_are_recorded(checker_app, web):
    checker_app.config["CHECK_HISTORY_KEEP"] = 3
    set_urls(checker_app, website=web.url("/"), service_url=None)
    for i in range(5):
        run(checker_app, at=T0 + timedelta(hours=i))
    with checker_app.app_context():
        session = get_session()
        link = session.scalar(sa.select(Link).where(Link.url == web.url("/")))
        checks = session.scalars(sa.select(LinkCheck).where(LinkCheck.link_id == link.id)
                                 .order_by(LinkCheck.checked_at)).all()
        assert [c.checked_at for c in checks] == [T0 + timedelta(hours=i) for i in (2, 3, 4)]
        assert link.check_count == 5
        runs = session.scalars(sa.select(CheckRun).order_by(CheckRun.id)).all()
        assert [(r.kind, r.status, r.checked, r.counts) for r in runs] == [("all", "done", 1, {"ok": 1})] * 5


def test_check_links_command_with_progress(checker_app, web):
    set_urls(checker_app, website=web.url("/"), service_url=web.url("/schulden"))
    result = checker_app.test_cli_runner().invoke(args=["check-links", "--all", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "1 link(s) checked" in result.stdout and "ok 1" in result.stdout
    assert "Checking links" in result.stderr
    again = checker_app.test_cli_runner().invoke(args=["check-links"])
    assert again.exit_code == 0 and "1 link(s) checked" in again.output  # --due: only the unchecked one
    bad = checker_app.test_cli_runner().invoke(args=["check-links", "--limit", "0"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_check_links_command_on_worker_processes(checker_app, web, monkeypatch):
    """With CHECK_PROCESSES > 1 the command forks workers, checks through them and stores every result."""
    checker_app.config.update(CHECK_PROCESSES=2, CHECK_CONCURRENCY=1)
    set_urls(checker_app, website=web.url("/"), service_url=web.url("/schulden"))
    spread = []
    original = workers.WorkerPool.run

    def spy(self, *args, **kwargs):
        spread.append(len(self.usable()))
        yield from original(self, *args, **kwargs)

    monkeypatch.setattr(workers.WorkerPool, "run", spy)
    result = checker_app.test_cli_runner().invoke(args=["check-links", "--all"])
    assert result.exit_code == 0, result.output
    assert "2 link(s) checked" in result.stdout and "ok 2" in result.stdout
    assert spread == [2] and workers.shared() is None  # the pool is gone with the command
    assert link_for(checker_app, web.url("/schulden")).title == "Schuldnerberatung Lichtblick"


def test_healthz_warns_when_the_last_full_run_is_too_old(checker_app, web):
    client = checker_app.test_client()
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["link_checker"]["status"] == "warning"
    assert body["link_checker"]["max_age_hours"] == 2.0
    with checker_app.app_context():
        session = get_session()
        from atlas.models import utcnow
        session.add(CheckRun(kind="due", status="done", started_at=utcnow(), finished_at=utcnow(), counts={}))
        session.commit()
    fresh = client.get("/healthz").get_json()["link_checker"]
    assert fresh["status"] == "ok" and fresh["last_run_status"] == "done"
    with checker_app.app_context():
        session = get_session()
        session.execute(sa.update(CheckRun).values(finished_at=utcnow() - timedelta(hours=3)))
        session.commit()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["link_checker"]["status"] == "warning"
    assert set(response.get_json()) >= {"status", "database", "schema", "link_checker"}


def test_healthz_first_run_is_pending_while_a_scheduler_holds_the_lease(checker_app):
    from atlas.checker import lease
    from atlas.models import utcnow
    client = checker_app.test_client()
    assert "no scheduler" in client.get("/healthz").get_json()["link_checker"]["message"]
    with checker_app.app_context():
        assert lease.hold(get_session(), "test-holder", utcnow(), 300)
    block = client.get("/healthz").get_json()["link_checker"]
    assert block["status"] == "ok" and block["pending"] is True and block["last_run_at"] is None
    with checker_app.app_context():
        lease.release(get_session(), "test-holder", utcnow() - timedelta(seconds=1))
    assert client.get("/healthz").get_json()["link_checker"]["status"] == "warning"
