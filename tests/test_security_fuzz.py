"""Finding 9 and the fuzz walk: every route's path, query and form parameters with hostile values, 0 answers >= 500."""

from __future__ import annotations

import inspect
import re
import time
from pathlib import Path

import pytest
from conftest import csrf_token, login
from security_support import example_ids, routes, url_for_rule

from atlas.search.api import SEARCH_KEYS

ATLAS = Path(__file__).resolve().parent.parent / "atlas"
HOSTILE = ["", "0", "-1", "²", "٣", "9" * 30, "2147483648", "1e309", "nan", "\x00", "%00", "' OR '1'='1",
           "<script>alert(1)</script>", "../" * 8, "ä" * 300, "x" * 3000, "\u202e", "1,2,999999999999", "[]"]
PATH_HOSTILE = ["0", "-1", "²", "٣", "9" * 30, "2147483648", "x" * 300, "%00", "..%2F..%2Fetc", "ä"]


NAME = r"(?:args\.get|args\.getlist|int_arg|str_arg|_int\(args,|_bool\(args,|form\.get|form\.getlist)\(?\s*\"([a-z_]+)\""
ALWAYS = {"seite", "page", "per_page", "lang", "next", "q"}


def parameter_names(files: list[Path] | None = None) -> list[str]:
    """Query and form parameter names the code reads (harvested from the source, so new ones are fuzzed too)."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in files or ATLAS.rglob("*.py"))
    extra = SEARCH_KEYS if files is None or any("search" in str(p) for p in files) else set()
    return sorted(set(re.findall(NAME, source)) | extra | ALWAYS)


def view_files(app, endpoint: str) -> list[Path]:
    """The module of a view and the atlas modules it imports (where its parameters are read)."""
    module = Path(inspect.getsourcefile(app.view_functions[endpoint]))
    files = [module]
    for dots, name in re.findall(r"^from (\.+)([\w.]*) import", module.read_text(encoding="utf-8"), re.M):
        base = module.parent
        for _ in range(len(dots) - 1):
            base = base.parent
        target = base.joinpath(*name.split(".")) if name else base
        files += [f for f in (target.with_suffix(".py"), target / "__init__.py") if f.exists()]
    return files


def test_the_harvest_finds_the_known_parameters():
    names = parameter_names()
    assert {"seite", "page", "q", "nahe", "umkreis", "next", "ids", "near", "radius_km"} <= set(names)


def test_thirty_digit_ids_and_superscripts_are_not_server_errors(client, staff_client):
    for url in ("/angebote/" + "9" * 30, "/api/v1/services/" + "9" * 30, "/api/v1/services/²", "/angebote?seite=" + "9" * 30,
                "/api/v1/services?page=" + "9" * 30, "/api/v1/services?page=²", "/karte?umkreis=²",
                "/intern/angebote/" + "9" * 30, "/verwaltung/angebote/" + "9" * 30, "/intern/angebote?seite=" + "9" * 30):
        response = staff_client.get(url)
        assert response.status_code in (200, 302, 400, 404), (url, response.status_code)
        if response.status_code == 400:  # a German message that names what is wrong (public pages: plain words)
            body = response.get_data(as_text=True)
            assert "Parameter" in body or "gibt es nicht" in body, url


def fuzz_urls(app) -> list[tuple[str, str]]:
    """(method, URL) with a hostile value in one path argument each."""
    ids = example_ids(app)
    found = []
    for rule in routes(app):
        if rule.endpoint == "static":
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        base = url_for_rule(rule, ids)
        for name in rule.arguments:
            good = str(ids[name])
            for value in PATH_HOSTILE:
                for method in methods:
                    found.append((method, base.replace(f"/{good}", f"/{value}", 1)))
    return found


@pytest.mark.parametrize("role", ["anonymous", "coordinator"])
def test_no_parameter_makes_a_server_error(app, role):
    client = app.test_client()
    if role == "coordinator":
        assert login(client, "koordination@atlas.example").status_code == 302
    token = csrf_token(client, "/login" if role == "anonymous" else "/konto")
    ids = example_ids(app)
    names = parameter_names()
    errors, sent, spent = [], 0, {}

    def send(method: str, url: str, params: dict) -> None:
        nonlocal sent
        data = params | {"csrf_token": token} if method == "POST" else None
        started = time.perf_counter()
        response = client.open(url, method=method, query_string=params if method == "GET" else None, data=data)
        spent[url.split("?")[0]] = spent.get(url.split("?")[0], 0) + time.perf_counter() - started
        sent += 1
        if response.status_code >= 500:
            errors.append((method, url, {k: v[:20] for k, v in params.items()}, response.status_code))

    for method, url in fuzz_urls(app):
        send(method, url, {})
    for rule in routes(app):
        if rule.endpoint in ("static", "auth.logout"):
            continue
        url = url_for_rule(rule, ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            # every parameter at once, one hostile value per round (the two roles share the values between them)
            for value in HOSTILE[::2] if role == "coordinator" else HOSTILE[1::2]:
                send(method, url, {name: value for name in names})
            if method == "GET" and (role == "coordinator" or rule.endpoint.startswith(("public", "maps", "api"))):
                for i, name in enumerate(parameter_names(view_files(app, rule.endpoint))):  # each parameter alone, with a rotating hostile value
                    send(method, url, {name: HOSTILE[i % len(HOSTILE)]})
    print(sent, sorted(spent.items(), key=lambda kv: -kv[1])[:8])
    assert not errors, f"{len(errors)} of {sent} requests answered >= 500: {errors[:10]}"
    assert sent > 1000


def test_nul_is_dropped_and_database_refusals_are_german_400s(app, client):
    for url in ("/angebote?kategorie=%00", "/karte?nahe=%00", "/api/v1/services?q=%00Schulden"):
        assert client.get(url).status_code == 200, url
    for url in ("/api/v1/services/%00", "/angebote%00"):
        assert client.get(url).status_code == 404, url
    with app.test_request_context():
        from sqlalchemy.exc import DataError

        from atlas.security import data_error
        body, status = data_error(DataError("INSERT", {}, Exception("value too long")))
        assert status == 400 and "nicht gespeichert werden" in str(body)
