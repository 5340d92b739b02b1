"""Route × role matrix generated from the app's url_map: a new route without an expectation fails this test."""

from __future__ import annotations

import pytest
from conftest import csrf_token, login
from security_support import example_ids, routes, url_for_rule

PUBLIC, STAFF, COORDINATOR = "public", "staff", "coordinator"
# Who may use each endpoint: public (anyone), staff (any logged-in role), coordinator.
EXPECTED = {
    "public.index": PUBLIC, "public.services": PUBLIC, "public.service": PUBLIC, "reports.report": PUBLIC,
    "api.root": PUBLIC, "api.services": PUBLIC, "api.service": PUBLIC, "api.taxonomy_terms": PUBLIC,
    "healthz": PUBLIC, "maps.public_map": PUBLIC, "maps.public_data": PUBLIC, "maps.embed": PUBLIC, "auth.login": PUBLIC, "auth.logout": PUBLIC,
    "checker_about": PUBLIC, "static": PUBLIC, "favicon": PUBLIC,
    "staff.dashboard": STAFF, "staff.services": STAFF, "staff.service": STAFF, "maps.staff_map": STAFF,
    "maps.staff_data": STAFF,
    "account.account": STAFF, "account.create_api_token": STAFF, "account.revoke": STAFF,
    "search.search_page": STAFF, "search.shortlist_print": STAFF, "search.shortlist_pdf": STAFF,
    "search.suggestions": STAFF, "checker.dashboard": STAFF, "checker.detail": STAFF, "checker.export_csv": STAFF,
    "checker.export_json": STAFF,
    **{endpoint: COORDINATOR for endpoint in (
        "account.all_tokens", "maps.coverage_page", "maps.coverage_csv", "search.misses", "search.synonyms",
        "search.needs",
        "curation.start", "curation.archive", "curation.check", "curation.bulk_assign", "curation.unarchive", "curation.services",
        "curation.merge_services", "curation.service_edit", "curation.confirm_fact", "curation.service_history",
        "curation.service_new", "curation.resolve_task", "curation.jobcenter_edit", "curation.jobcenter_new",
        "curation.terms", "curation.term_edit", "curation.term_new", "curation.reports", "curation.resolve_report",
        "curation.users", "curation.user_edit", "curation.user_activate", "curation.user_deactivate",
        "curation.hand_over", "curation.user_new", "curation.organizations", "curation.merge_organizations",
        "curation.organization_edit", "curation.location_new", "curation.organization_history",
        "curation.organization_new", "curation.queue", "curation.regions", "curation.region_edit",
        "curation.region_new", "curation.location_edit", "curation.location_archive", "curation.location_history",
        "curation.restore_version", "curation.restore_row",
        "importers.export", "importers.preview", "importers.upload", "importers.error_rows", "importers.commit",
        "importers.job", "importers.remap", "importers.status",
        "checker.edit_url", "checker.ignore", "checker.note",
        "checker.mark_ok", "checker.check_now", "checker.accept_redirect")},
}
RANK = {PUBLIC: 0, STAFF: 1, COORDINATOR: 2}
ROLES = {"anonymous": (0, None), "staff": (1, "lotsin@atlas.example"), "coordinator": (2, "koordination@atlas.example")}


def test_every_route_has_an_expectation(app):
    endpoints = {rule.endpoint for rule in routes(app)}
    assert endpoints - set(EXPECTED) == set(), "add the new routes to EXPECTED in tests/test_security_routes.py"
    assert set(EXPECTED) - endpoints == set(), "remove routes that no longer exist from EXPECTED"


def denied(response, rank: int) -> bool:
    """The answer refuses: anonymous visitors go to the log-in, logged-in users get 403."""
    if rank == 0:
        return response.status_code in (302, 401) and (response.status_code == 401
                                                        or "/login" in response.headers.get("Location", ""))
    return response.status_code == 403


@pytest.mark.parametrize("role", list(ROLES))
def test_route_role_matrix(app, role):
    rank, email = ROLES[role]
    client = app.test_client()
    if email:
        assert login(client, email).status_code == 302
    token = csrf_token(client, "/login" if not email else "/konto")
    ids = example_ids(app)
    checked = 0
    for rule in routes(app):
        url = url_for_rule(rule, ids)
        assert url, f"no example URL for {rule.rule}: add its argument to security_support.example_ids"
        allowed = rank >= RANK[EXPECTED[rule.endpoint]]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "POST" and allowed:
                continue  # allowed POSTs change data; their behaviour is covered by the feature tests
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code < 500, (role, method, url)
            if allowed:
                assert not denied(response, rank) and response.status_code not in (401, 403), (role, method, url,
                                                                                               response.status_code)
            else:
                assert denied(response, rank), (role, method, url, response.status_code)
            checked += 1
    print(f"route matrix: {role}: {checked} route/method checks over {len(routes(app))} routes")
    assert checked > 40
