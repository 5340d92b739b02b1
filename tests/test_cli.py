"""CLI commands: users and tokens, with clear errors and non-zero exits."""

import sqlalchemy as sa

from atlas.db import get_session
from atlas.models import User


def test_create_user_generates_a_password(app):
    result = app.test_cli_runner().invoke(args=["create-user", "Neu@Atlas.example", "--role", "staff", "--name", "Neu"])
    assert result.exit_code == 0, result.output
    assert "Created staff neu@atlas.example." in result.output and "Password: " in result.output
    password = result.output.split("Password: ")[1].strip()
    assert len(password) >= 12
    with app.app_context():
        user = get_session().scalar(sa.select(User).where(User.email == "neu@atlas.example"))
        assert user.role == "staff" and user.password_hash.startswith("scrypt:")


def test_create_user_prompts_for_a_password(app):
    result = app.test_cli_runner().invoke(args=["create-user", "p@atlas.example", "--role", "coordinator", "--password",
                                                "prompt"], input="ein-langes-passwort\nein-langes-passwort\n")
    assert result.exit_code == 0, result.output
    assert "Password: " not in result.output.split("Repeat for confirmation")[-1]


def test_create_user_errors(app):
    runner = app.test_cli_runner()
    duplicate = runner.invoke(args=["create-user", "lotsin@atlas.example", "--role", "staff"])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    role = runner.invoke(args=["create-user", "x@atlas.example", "--role", "chef"])
    assert role.exit_code == 2 and "'chef' is not one of 'coordinator', 'staff'" in role.output
    email = runner.invoke(args=["create-user", "kein-at", "--role", "staff"])
    assert email.exit_code == 1 and "is not an e-mail address" in email.output
    short = runner.invoke(args=["create-user", "k@atlas.example", "--role", "staff", "--password", "prompt"], input="kurz\nkurz\n")
    assert short.exit_code == 1 and "mindestens 10 Zeichen" in short.output


def test_create_token_and_use_it(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-token", "lotsin@atlas.example", "--name", "Export"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("atl_")
    body = app.test_client().get("/api/v1/services?per_page=200", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["total_items"] == 7
    unknown = runner.invoke(args=["create-token", "niemand@atlas.example"])
    assert unknown.exit_code == 1 and "No user" in unknown.output
