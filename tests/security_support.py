"""Shared by the security walks: concrete URLs for every route of the app's url_map, and hostile data."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from atlas.db import get_session

# Routes that serve files rather than pages, and routes that only redirect or need a multi-step state.
NOT_A_PAGE = {"static", "favicon", "healthz", "search.shortlist_pdf", "search.suggestions", "checker.export_csv",
              "checker.export_json", "importers.export", "importers.error_rows", "api.root", "api.services",
              "api.service", "api.taxonomy_terms", "maps.coverage_csv", "maps.public_data", "maps.staff_data",
              "importers.status"}


def example_ids(app: Flask) -> dict[str, Any]:
    """One existing id per route argument name (the sentinel data set has at least one of each)."""
    from atlas.checker.models import Link
    from atlas.models import AuditLog, Jobcenter, Location, Organization, Region, Service, TaxonomyTerm, User
    with app.app_context():
        s = get_session()
        def first(model, *where):
            return s.scalar(sa.select(model.id).where(*where).order_by(model.id).limit(1)) or 1
        public = first(Service, Service.name == "Schuldnerberatung Lichtblick")
        other = first(Service, Service.name == "Frauenschutz Lichtblick")
        return {
            "service_id": public, "keep_id": public, "dup_id": other, "entry_id": public,
            "org_id": first(Organization), "location_id": first(Location), "term_id": first(TaxonomyTerm),
            "region_id": first(Region), "jobcenter_id": first(Jobcenter), "user_id": first(User),
            "link_id": first(Link), "audit_id": first(AuditLog), "task_id": 1, "report_id": 1, "token_id": 1,
            "kind": "angebote", "fmt": "hsds", "token": "x" * 32, "fact": "oeffnungszeiten",
            "action": "archivieren", "filename": "css/atlas.css", "merge_kind": "angebote",
        }


def url_for_rule(rule: Rule, ids: dict[str, Any]) -> str | None:
    """A concrete URL for a rule, None when an argument has no example."""
    values = {}
    for name in rule.arguments:
        if ids.get(name) is None:
            return None
        values[name] = ids[name]
    if rule.endpoint == "curation.merge_organizations":
        values |= {"keep_id": ids["org_id"], "dup_id": ids["org_id"] + 1}
    return rule.build(values, append_unknown=False)[1]


def routes(app: Flask) -> list[Rule]:
    """Every rule of the app, in a stable order."""
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def page_urls(app: Flask, ids: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(endpoint, URL) for every GET page of the app (files, JSON and the API excluded)."""
    ids = ids or example_ids(app)
    pages = []
    for rule in routes(app):
        if "GET" in rule.methods and rule.endpoint not in NOT_A_PAGE:
            url = url_for_rule(rule, ids)
            if url:
                pages.append((rule.endpoint, url))
    return pages
