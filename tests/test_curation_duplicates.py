"""Duplicate warning when creating organisations and offers: open, merge, or create anyway."""

import sqlalchemy as sa
from conftest import service_id
from curation_support import ident, one, submit

from atlas.models import Organization, Service, TaxonomyTerm


def count(app, model, name):
    return one(app, sa.select(sa.func.count(model.id)).where(model.name == name))


def test_similar_organisation_warns_then_creates_anyway(app, coordinator_client):
    existing = ident(app, Organization, name="Beratungsstelle Lichtblick e. V.")
    response = submit(
        coordinator_client,
        "/verwaltung/organisationen/neu",
        {"name": "Lichtblick Beratung", "website": "https://www.lichtblick.example", "description": "Neu."},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Diesen Eintrag gibt es vielleicht schon" in html and "gleiche Webadresse" in html
    assert f'href="/verwaltung/organisationen/{existing}"' in html
    assert 'name="duplicates" value="merge:' in html and "Trotzdem neu anlegen" in html
    assert "Neu." in html, "the input stays in the form"
    assert count(app, Organization, "Lichtblick Beratung") == 0
    response = submit(
        coordinator_client, "/verwaltung/organisationen/neu", html=html, extra={"duplicates": "ignore"}
    )
    assert response.status_code == 302
    assert count(app, Organization, "Lichtblick Beratung") == 1


def test_create_and_merge_into_the_existing_offer(app, coordinator_client):
    existing = service_id(app, "Schuldnerberatung Lichtblick")
    oid = ident(app, Organization, name="Beratungsstelle Lichtblick e. V.")
    term = ident(app, TaxonomyTerm, slug="schuldnerberatung")
    path = f"/verwaltung/angebote/neu?organisation={oid}"
    response = submit(
        coordinator_client,
        path,
        {"organization_id": str(oid), "name": "Schuldnerberatung Lichtblick", "categories": [str(term)]},
    )
    html = response.get_data(as_text=True)
    assert "gleicher Name" in html
    response = submit(coordinator_client, path, html=html, extra={"duplicates": f"merge:{existing}"})
    new = one(app, sa.select(sa.func.max(Service.id)))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/verwaltung/angebote/{existing}/zusammenfuehren/{new}")


def test_edit_page_lists_possible_duplicates_on_request(app, coordinator_client):
    oid = ident(app, Organization, name="Beratungsstelle Lichtblick e. V.")
    submit(
        coordinator_client,
        "/verwaltung/organisationen/neu",
        {"name": "Beratungsstelle Lichtblick"},
        extra={"duplicates": "ignore"},
    )
    html = coordinator_client.get(f"/verwaltung/organisationen/{oid}?dubletten=1").get_data(as_text=True)
    assert "Mögliche Dubletten" in html and "diesen hierher zusammenführen" in html


def test_distinct_entry_creates_without_a_warning(app, coordinator_client):
    response = submit(
        coordinator_client, "/verwaltung/organisationen/neu", {"name": "Sportverein Blau-Weiß Hagen"}
    )
    assert response.status_code == 302
