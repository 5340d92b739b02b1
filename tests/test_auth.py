"""Log-in, roles, CSRF and API tokens."""

import sqlalchemy as sa
from conftest import PASSWORD, csrf_token, login

from atlas.auth import create_token
from atlas.db import get_session
from atlas.models import ApiToken, User, utcnow


def test_login_and_logout(client):
    response = login(client, "lotsin@atlas.example")
    assert response.status_code == 302 and response.headers["Location"].endswith("/intern/")
    assert "Guten Tag, Lea Lotsin" in client.get("/intern/").get_data(as_text=True)
    token = csrf_token(client, "/intern/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/intern/").status_code == 302


def test_wrong_password_and_unknown_user_give_the_same_message(client):
    for email, password in (("lotsin@atlas.example", "falsch-falsch"), ("niemand@atlas.example", PASSWORD)):
        response = login(client, email, password)
        assert response.status_code == 400
        assert "E-Mail-Adresse oder Passwort ist falsch." in response.get_data(as_text=True)


def test_login_form_validation_messages(client):
    token = csrf_token(client, "/login")
    html = client.post("/login", data={"email": "kein-at", "password": "", "csrf_token": token}).get_data(as_text=True)
    assert "Das ist keine gültige E-Mail-Adresse." in html
    assert "Bitte geben Sie Ihr Passwort ein." in html
    assert 'value="kein-at"' in html  # input kept


def test_csrf_is_required(client):
    response = client.post("/login", data={"email": "lotsin@atlas.example", "password": PASSWORD})
    assert response.status_code == 400
    assert "/intern" not in response.headers.get("Location", "")


def test_inactive_user_cannot_log_in(app, client):
    with app.app_context():
        session = get_session()
        session.scalar(sa.select(User).where(User.email == "lotsin@atlas.example")).active = False
        session.commit()
    assert login(client, "lotsin@atlas.example").status_code == 400


def test_demo_owner_without_password_cannot_log_in(client):
    assert login(client, "anna.becker@jobcenter-en.example", "").status_code == 400
    assert login(client, "anna.becker@jobcenter-en.example", "irgendwas").status_code == 400


def test_anonymous_is_sent_to_login(client):
    response = client.get("/intern/angebote")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_next_parameter_only_allows_local_paths(client):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=//evil.example/", data={"email": "lotsin@atlas.example", "password": PASSWORD,
                                                                "csrf_token": token})
    assert response.headers["Location"].endswith("/intern/")
    client.get("/logout")
    token = csrf_token(client, "/login")
    response = client.post("/login?next=/intern/angebote", data={"email": "lotsin@atlas.example", "password": PASSWORD,
                                                                 "csrf_token": token})
    assert response.headers["Location"].endswith("/intern/angebote")


def test_role_required_refuses_other_roles(app, make_app):
    from atlas.auth import role_required

    @role_required("coordinator")
    def only_coordinators():
        return "geheim"

    second = make_app()  # same database, a fresh app that has not served a request yet
    second.add_url_rule("/nur-koordination", "only_coordinators", only_coordinators)
    client = second.test_client()
    assert client.get("/nur-koordination").status_code == 302
    login(client, "lotsin@atlas.example")
    assert client.get("/nur-koordination").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/intern/")})
    login(client, "koordination@atlas.example")
    assert client.get("/nur-koordination").get_data(as_text=True) == "geheim"


def tokens(app, email="lotsin@atlas.example"):
    with app.app_context():
        session = get_session()
        token = create_token(session, session.scalar(sa.select(User).where(User.email == email)), "Skript")
        session.commit()
    return token


def test_api_token_authenticates_and_is_stored_hashed(app, client):
    token = tokens(app)
    response = client.get("/api/v1/services", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    with app.app_context():
        row = get_session().scalar(sa.select(ApiToken))
        assert row.token_hash != token and token not in row.token_hash and row.last_used_at is not None


def test_invalid_or_revoked_token_is_refused(app, client):
    assert client.get("/api/v1/services", headers={"Authorization": "Bearer falsch"}).status_code == 401
    token = tokens(app)
    with app.app_context():
        session = get_session()
        session.scalar(sa.select(ApiToken)).revoked_at = utcnow()
        session.commit()
    response = client.get("/api/v1/services", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "Das API-Token ist ungültig oder widerrufen."


def test_token_of_deactivated_user_is_refused(app, client):
    token = tokens(app)
    with app.app_context():
        session = get_session()
        session.scalar(sa.select(User).where(User.email == "lotsin@atlas.example")).active = False
        session.commit()
    assert client.get("/api/v1/services", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_passwords_use_a_current_kdf(app):
    with app.app_context():
        user = get_session().scalar(sa.select(User).where(User.email == "lotsin@atlas.example"))
        assert user.password_hash.startswith("scrypt:")
