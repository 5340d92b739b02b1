"""Finding 1: one URL rule for every writer, and a render-time guard that turns only safe schemes into links."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from atlas.db import get_session
from atlas.models import Location, Organization, Service
from atlas.safetext import UrlError, clean_url, normalise_url, safe_href
from atlas.seed import validate_organisations

from conftest import service_id

HOSTILE_URLS = ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
                "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "file:///etc/passwd",
                "jav&#x09;ascript:alert(1)", "\u202ehttps://evil.example", "https://user:pw@evil.example/"]


@pytest.mark.parametrize("value", HOSTILE_URLS)
def test_the_rule_refuses_every_hostile_url(value):
    with pytest.raises(UrlError):
        normalise_url(value)
    assert clean_url(value) is None


def test_the_rule_accepts_and_normalises_web_addresses():
    assert normalise_url("www.Beispiel.example/x") == "https://www.beispiel.example/x"
    assert normalise_url("HTTP://Example.org") == "http://example.org/"
    assert clean_url("example.org:8080/a") == "https://example.org:8080/a"
    assert clean_url(" https://Example.org ") == "https://Example.org"


def test_render_guard_links_only_safe_schemes():
    assert safe_href("https://a.example/") == "https://a.example/"
    assert safe_href("mailto:a@b.example") and safe_href("tel:+492302") and safe_href("HTTP://a.example")
    for value in HOSTILE_URLS[:-1] + ["/relative", "//evil.example", "", None, 5]:
        assert safe_href(value) is None, value


def test_models_refuse_a_hostile_url_from_any_writer():
    for model, column in ((Service, "url"), (Organization, "website"), (Location, "url")):
        with pytest.raises(UrlError):
            setattr(model(), column, "javascript:alert(document.domain)")


def hsds_file(tmp_path, url: str):
    """An HSDS JSON file whose offer, organisation and location URLs are all `url`."""
    data = [{
        "id": "5e0f0000-0000-4000-8000-000000000001", "name": "Beratung Feindlich", "url": url, "status": "active",
        "organization": {"id": "5e0f0000-0000-4000-8000-000000000002", "name": "Träger Feindlich", "website": url},
        "service_at_locations": [{"location": {
            "id": "5e0f0000-0000-4000-8000-000000000003", "location_type": "physical", "url": url,
            "latitude": 51.44, "longitude": 7.33,
            "addresses": [{"address_1": "Ruhrstraße 1", "city": "Witten", "postal_code": "58452"}]}}],
        "taxonomy_terms": [{"id": "familienberatung", "code": "familienberatung"}],
    }]
    path = tmp_path / "feindlich.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_hsds_import_stores_no_javascript_url(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["import", str(hsds_file(tmp_path, "javascript:fetch('/api')")),
                                                "--format", "hsds"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        s = get_session().scalar(sa.select(Service).where(Service.name == "Beratung Feindlich"))
        assert s is not None
        assert s.url is None and s.organization.website is None
        assert s.service_at_locations[0].location.url is None


def test_hsds_import_keeps_good_urls(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["import", str(hsds_file(tmp_path, "https://gut.example/a")),
                                                "--format", "hsds"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        s = get_session().scalar(sa.select(Service).where(Service.name == "Beratung Feindlich"))
        assert s.url == s.organization.website == "https://gut.example/a"


def test_seed_validation_refuses_a_hostile_url():
    orgs = [{"key": "o", "name": "O", "website": "javascript:alert(1)", "locations": [], "services": []}]
    errors = validate_organisations(orgs, {"users": set(), "gemeinden": set(), "categories": set()}, "x.json")
    assert any("website" in e and "http" in e for e in errors)


def test_stored_hostile_url_is_never_rendered_as_a_link(app, client, staff_client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    with app.app_context():
        session = get_session()
        # Written behind the ORM's back, as an old row or a direct SQL edit would be.
        session.execute(sa.update(Service).where(Service.id == sid).values(url="javascript:alert(document.domain)"))
        session.commit()
    for url in (f"/angebote/{sid}", f"/intern/angebote/{sid}"):
        html = staff_client.get(url).get_data(as_text=True)
        assert 'href="javascript:' not in html.lower(), url
        assert "javascript:alert(document.domain)" in html  # shown as text, so a coordinator can see and fix it


def test_category_colour_classes_match_the_map_colours():
    """Colours moved from style attributes (blocked by the CSP) to CSS classes; both places must agree."""
    from pathlib import Path

    from atlas.maps import CATEGORY_COLORS, FALLBACK_COLOR
    css = (Path(__file__).resolve().parent.parent / "static" / "css" / "atlas.css").read_text(encoding="utf-8")
    for slug, colour in [*CATEGORY_COLORS.items(), ("fallback", FALLBACK_COLOR)]:
        assert f".cat-icon.cat-{slug} {{ background: {colour}; }}" in css, slug


def test_every_page_gets_a_strict_content_security_policy(client):
    for url in ("/", "/angebote", "/karte", "/login", "/api/v1/services", "/healthz"):
        policy = client.get(url).headers["Content-Security-Policy"]
        for part in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'self'"):
            assert part in policy, (url, part)
        # besides 'self', only the hashes of the page's own inline elements (atlas/inline.py)
        for directive in ("script-src", "style-src"):
            assert re.search(rf"(^|; ){directive} 'self'( 'sha256-[A-Za-z0-9+/]+=*')*;", policy), (url, directive)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors *" in client.get("/karte/embed").headers["Content-Security-Policy"]


def test_no_template_has_inline_script_handlers_or_style_attributes():
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "templates"
    for path in root.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*(\bsrc=|type=\"application/json\"))[^>]*>", text), path
        assert not re.search(r"\son[a-z]+=", text), path
        assert not re.search(r"<[a-z][^>]*\sstyle=", text), path
