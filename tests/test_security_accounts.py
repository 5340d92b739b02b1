"""Findings 5-8 and 11: redirects after log-in, throttling, passwords, revocable sessions, tokens, report tokens."""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, csrf_token, login, service_id

from atlas.accounts import Throttle, UserSession, password_problems
from atlas.auth import UserError, create_token, create_user, safe_next
from atlas.curation.reports import form_token
from atlas.db import get_session
from atlas.models import ApiToken, User, utcnow
from atlas.search.models import SearchMiss

STRONG = "Blaue Kanne, schiefer Turm 47"


# -- finding 5: open redirect ------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/%09/evil.example/", "/\t/evil.example/", "//evil.example/", "/\\evil.example",
                                    "/%2F/evil.example", "/%5Cevil.example", "https://evil.example/", "/\n/evil.example",
                                    " //evil.example", "/\u3000/evil.example", "javascript:alert(1)", "evil.example"])
def test_next_never_leaves_the_site(client, target):
    token = csrf_token(client, "/login")
    response = client.post("/login", query_string={"next": target},
                           data={"email": "lotsin@atlas.example", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/intern/", target


def test_next_keeps_a_same_site_path():
    assert safe_next("/verwaltung/angebote?seite=2") == "/verwaltung/angebote?seite=2"
    assert safe_next("/%09/evil.example/") is None


# -- finding 6: throttling and passwords --------------------------------------------------------------------------

def wrong(client, email="lotsin@atlas.example", ip="192.0.2.10"):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": "falsch-falsch-falsch", "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ip})


def right(client, ip="192.0.2.10"):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": "lotsin@atlas.example", "password": PASSWORD, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ip})


def unblock(app) -> None:
    """Let the clock run past every wait (no sleeping in tests)."""
    with app.app_context():
        session = get_session()
        session.execute(sa.update(Throttle).values(blocked_until=utcnow() - timedelta(seconds=1)))
        session.commit()


def test_thirty_wrong_passwords_then_the_right_one_is_refused(app, client):
    statuses = [wrong(client).status_code for _ in range(30)]
    assert statuses[:5] == [400] * 5 and statuses[-1] == 429
    refused = right(client)
    assert refused.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen" in refused.get_data(as_text=True)
    unblock(app)
    assert right(client).status_code == 302


def test_delays_grow_and_hold_across_workers(make_app, app):
    other_worker = make_app()  # a second app on the same database, as a second gunicorn worker would be
    first, second = app.test_client(), other_worker.test_client()
    waits = []
    for n in range(8):
        unblock(app)
        wrong(first if n % 2 else second)
        with app.app_context():
            row = get_session().scalar(sa.select(Throttle).where(Throttle.key.like("login-account:%")))
            waits.append(max(0, (row.blocked_until - utcnow()).total_seconds()) if row.blocked_until else 0)
    assert waits[:4] == [0, 0, 0, 0] and 0 < waits[4] < waits[5] < waits[6] < waits[7]
    assert right(first).status_code == 429 and right(second).status_code == 429


def test_one_address_trying_many_accounts_is_throttled(app):
    client = app.test_client()
    for n in range(app.config["LOGIN_FREE_ATTEMPTS_PER_ADDRESS"] + 1):
        wrong(client, email=f"rate{n}@atlas.example", ip="198.51.100.99")
    assert right(client, ip="198.51.100.99").status_code == 429
    assert right(client, ip="198.51.100.100").status_code == 302, "other addresses are not affected"


@pytest.mark.parametrize("weak", ["aaaaaaaaaa", "passwort123", "1234567890", "qwertzuiop", "Sommer2026!",
                                  "lotsin@atlas.example", "Netzwerkatlas1"])
def test_weak_passwords_are_refused_everywhere(app, weak):
    assert password_problems(weak, ["lotsin@atlas.example", "Lea Lotsin"])
    with app.app_context(), pytest.raises(UserError):
        create_user(get_session(), "lea.lotsin@atlas.example", "staff", "Lea Lotsin", weak)


def test_strong_password_is_accepted():
    assert password_problems(STRONG) == []


def test_change_password_page(app, client):
    other = app.test_client()
    login(client, "lotsin@atlas.example")
    login(other, "lotsin@atlas.example")
    token = csrf_token(client, "/konto")
    weak = client.post("/konto", data={"csrf_token": token, "pw-current": PASSWORD, "pw-new": "aaaaaaaaaa",
                                       "pw-repeat": "aaaaaaaaaa"})
    assert weak.status_code == 400 and "mindestens" in weak.get_data(as_text=True) or "erraten" in weak.get_data(as_text=True)
    bad_current = client.post("/konto", data={"csrf_token": token, "pw-current": "nicht-richtig", "pw-new": STRONG,
                                              "pw-repeat": STRONG})
    assert bad_current.status_code == 400 and "bisherige Passwort stimmt nicht" in bad_current.get_data(as_text=True)
    done = client.post("/konto", data={"csrf_token": token, "pw-current": PASSWORD, "pw-new": STRONG, "pw-repeat": STRONG})
    assert done.status_code == 302
    assert client.get("/intern/").status_code == 200, "this browser stays logged in"
    assert other.get("/intern/").status_code == 302, "other log-ins of the account end"
    assert login(app.test_client(), "lotsin@atlas.example", STRONG).status_code == 302


def test_admin_reset_applies_the_policy_and_ends_sessions(app, coordinator_client):
    victim = app.test_client()
    login(victim, "lotsin@atlas.example")
    with app.app_context():
        uid = get_session().scalar(sa.select(User.id).where(User.email == "lotsin@atlas.example"))
    page = f"/verwaltung/nutzer/{uid}"
    form = {"csrf_token": csrf_token(coordinator_client, page), "email": "lotsin@atlas.example", "name": "Lea Lotsin",
            "role": "staff"}
    weak = coordinator_client.post(page, data=form | {"password": "aaaaaaaaaa"})
    assert weak.status_code == 400
    assert victim.get("/intern/").status_code == 200
    assert coordinator_client.post(page, data=form | {"password": STRONG}).status_code == 302
    assert victim.get("/intern/").status_code == 302


def test_cli_reset_password(app):
    result = app.test_cli_runner().invoke(args=["reset-password", "lotsin@atlas.example"])
    assert result.exit_code == 0, result.output
    new = result.output.strip().rsplit(": ", 1)[1]
    assert login(app.test_client(), "lotsin@atlas.example", new).status_code == 302
    assert app.test_cli_runner().invoke(args=["reset-password", "nobody@atlas.example"]).exit_code == 1


# -- finding 7: sessions ----------------------------------------------------------------------------------------

def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    fresh = app.test_client()
    fresh.set_cookie("session", cookie)
    return fresh.get("/intern/")


def test_cookie_replayed_after_logout_is_refused(app, client):
    login(client, "lotsin@atlas.example")
    cookie = session_cookie(client)
    assert replay(app, cookie).status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/intern/")})
    assert replay(app, cookie).status_code == 302


@pytest.mark.parametrize("change", ["deactivate", "role", "password"])
def test_account_changes_end_every_session(app, client, change):
    login(client, "lotsin@atlas.example")
    cookie = session_cookie(client)
    with app.app_context():
        session = get_session()
        user = session.scalar(sa.select(User).where(User.email == "lotsin@atlas.example"))
        if change == "deactivate":
            user.active = False
        elif change == "role":
            user.role = "coordinator"
        else:
            from atlas.auth import hash_password
            user.password_hash = hash_password(STRONG)
        session.commit()
    assert replay(app, cookie).status_code == 302


@pytest.mark.parametrize("column,hours", [("last_seen_at", 9), ("created_at", 13)])
def test_idle_and_absolute_lifetimes(app, client, column, hours):
    login(client, "lotsin@atlas.example")
    assert client.get("/intern/").status_code == 200
    with app.app_context():
        session = get_session()
        session.execute(sa.update(UserSession).values({column: utcnow() - timedelta(hours=hours)}))
        session.commit()
    assert client.get("/intern/").status_code == 302


# -- finding 11: tokens, health, caching -----------------------------------------------------------------------

def staff_token(app) -> str:
    with app.app_context():
        session = get_session()
        token = create_token(session, session.scalar(sa.select(User).where(User.email == "koordination@atlas.example")),
                             "Skript")
        session.commit()
    return token


def test_bearer_token_authenticates_the_api_only(app, client):
    header = {"Authorization": f"Bearer {staff_token(app)}"}
    assert client.get("/api/v1/services", headers=header).get_json()["total_items"] > 3
    for page in ("/verwaltung/nutzer", "/intern/", "/verwaltung/", "/konto"):
        assert client.get(page, headers=header).status_code == 302, page
    with app.app_context():
        assert get_session().scalar(sa.select(ApiToken.last_used_at)) is not None


def test_tokens_listed_and_revoked_in_the_ui(app, coordinator_client, client):
    token = staff_token(app)
    page = coordinator_client.get("/verwaltung/zugaenge").get_data(as_text=True)
    assert "Skript" in page and token[:12] in page and token not in page
    with app.app_context():
        tid = get_session().scalar(sa.select(ApiToken.id))
    response = coordinator_client.post(f"/konto/zugaenge/{tid}/widerrufen",
                                       data={"csrf_token": csrf_token(coordinator_client, "/konto")})
    assert response.status_code == 302
    assert app.test_client().get("/api/v1/services", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_own_tokens_created_and_staff_cannot_revoke_others(app, client):
    other = staff_token(app)
    login(client, "lotsin@atlas.example")
    created = client.post("/konto/zugaenge", data={"csrf_token": csrf_token(client, "/konto"), "tok-name": "Excel"})
    assert created.status_code == 200 and "atl_" in created.get_data(as_text=True)
    with app.app_context():
        foreign = get_session().scalar(sa.select(ApiToken.id).where(ApiToken.name == "Skript"))
    denied = client.post(f"/konto/zugaenge/{foreign}/widerrufen", data={"csrf_token": csrf_token(client, "/konto")})
    assert denied.status_code == 403 and other


def test_tokens_listed_and_revoked_on_the_cli(app, client):
    token = staff_token(app)
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["tokens", "list"])
    assert listing.exit_code == 0 and token[:12] in listing.output and "never" in listing.output
    tid = listing.output.split("\t", 1)[0]
    assert runner.invoke(args=["tokens", "revoke", tid]).exit_code == 0
    assert "revoked" in runner.invoke(args=["tokens", "list"]).output
    assert client.get("/api/v1/services", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert runner.invoke(args=["tokens", "revoke", "999999"]).exit_code == 1


def test_healthz_shows_no_offer_counts_to_the_public(client):
    body = client.get("/healthz").get_json()
    assert "documents" not in body["search"] and "database" not in body["search"]


def test_staff_pages_are_not_stored(staff_client):
    for page in ("/intern/", "/intern/angebote", "/suche", "/konto"):
        assert "no-store" in staff_client.get(page).headers.get("Cache-Control", ""), page


# -- finding 11: single-use report tokens ----------------------------------------------------------------------

def test_report_form_token_works_once(app, client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    with app.test_request_context():
        token = form_token(sid, time.time() - 10)
    data = {"topic": "veraltet", "message": "Telefon stimmt nicht.", "token": token}
    first = client.post(f"/angebote/{sid}/fehler-melden", data=data, environ_base={"REMOTE_ADDR": "192.0.2.50"})
    assert first.status_code == 200
    statuses = [client.post(f"/angebote/{sid}/fehler-melden", data=data, environ_base={"REMOTE_ADDR": "192.0.2.50"})
                .status_code for _ in range(4)]
    assert statuses == [409] * 4


def test_deactivation_after_a_commit_still_ends_sessions(app, client):
    """The old value may be expired (after a commit); the change must still be seen."""
    login(client, "lotsin@atlas.example")
    with app.app_context():
        session = get_session()
        user = session.scalar(sa.select(User).where(User.email == "lotsin@atlas.example"))
        session.commit()  # expires every attribute
        user.active = False
        session.commit()
    assert client.get("/intern/").status_code == 302


@contextmanager
def write_lock_held(app):
    """Another process's long write (a bulk import's commit): SQLite's file lock, or PostgreSQL table locks."""
    engine = app.extensions["atlas.engine"]
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(engine.url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
    else:
        with engine.connect() as other:
            other.execute(sa.text("LOCK TABLE user_session, api_token, search_miss IN EXCLUSIVE MODE"))
            yield
            other.rollback()


def test_page_views_never_wait_for_another_write_to_record_their_bookkeeping(app, client):
    """A log-in's last-seen time, a token's last use and a search without hits are skipped while the lock is held."""
    login(client, "lotsin@atlas.example")
    header = {"Authorization": f"Bearer {staff_token(app)}"}
    with app.app_context():
        session = get_session()
        session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
        session.commit()
        seen = session.scalar(sa.select(UserSession.last_seen_at))
    with write_lock_held(app):
        started = time.perf_counter()
        assert client.get("/intern/").status_code == 200  # its last-seen time is due: it waited 15 s, then 500
        assert app.test_client().get("/api/v1/services", headers=header).status_code == 200  # a token's first use
        assert app.test_client().get("/api/v1/services", query_string={"q": "Quastenflosser"}).status_code == 200
        assert time.perf_counter() - started < 3
    with app.app_context():
        session = get_session()
        assert session.scalar(sa.select(UserSession.last_seen_at)) == seen
        assert session.scalar(sa.select(ApiToken.last_used_at)) is None
    # Once the lock is gone, the next requests record them.
    assert client.get("/intern/").status_code == 200
    assert app.test_client().get("/api/v1/services", headers=header).status_code == 200
    assert app.test_client().get("/api/v1/services", query_string={"q": "Quastenflosser"}).status_code == 200
    with app.app_context():
        session = get_session()
        assert session.scalar(sa.select(UserSession.last_seen_at)) > seen
        assert session.scalar(sa.select(ApiToken.last_used_at)) is not None
        assert session.scalar(sa.select(SearchMiss.count).where(SearchMiss.query == "quastenflosser")) == 1
