"""Sentinel walk: every anonymous page, API page, export, embed and handout is searched for internal values (0 leaks)."""

from __future__ import annotations

import zipfile

import sqlalchemy as sa
from conftest import login
from security_support import page_urls

from atlas.db import get_session
from atlas.models import Location, Region, Service, TaxonomyTerm

# Internal values of the sentinel data set, plus the protected site's house, PLZ, exact position and texts.
SECRETS = ["SENTINEL", "sentinel-contact@", "5559999", "5558888", "5557777", "Geheimweg", "58455", "51.4512", "7.3011",
           "Hinterhaus-Rosenhof"]


def protect_more(app) -> None:
    """Give the protected site a name and description that would name the place."""
    with app.app_context():
        s = get_session()
        loc = s.scalar(sa.select(Location).where(Location.name == "Schutzwohnung"))
        loc.name, loc.description = "Hinterhaus-Rosenhof", "Klingeln bei Hinterhaus-Rosenhof"
        s.commit()


def anonymous_urls(app) -> list[str]:
    """Every public page of the url_map, with its list, language, category and region variants, and every API page."""
    urls = [url for endpoint, url in page_urls(app) if endpoint.startswith(("public.", "maps.public", "maps.embed",
                                                                              "reports.", "auth.", "checker_about"))]
    with app.app_context():
        s = get_session()
        ids = s.scalars(sa.select(Service.id)).all()
        uuids = s.scalars(sa.select(Service.uuid)).all()
        # Top-level areas and every internal-only category (the ones that must show nothing internal).
        categories = s.scalars(sa.select(TaxonomyTerm.slug).where(
            sa.or_(TaxonomyTerm.parent_id.is_(None), TaxonomyTerm.internal_only.is_(True)))).all()
        regions = s.scalars(sa.select(Region.slug).where(Region.kind.in_(("kreis", "gemeinde")))).all()[:12]
    urls += [f"/angebote/{i}" for i in ids] + [f"/angebote/{ids[0]}?lang=en"]
    urls += [f"/angebote/{i}/fehler-melden" for i in ids]
    urls += [f"/api/v1/services/{u}" for u in uuids] + [f"/api/v1/services/{i}" for i in ids]
    urls += ["/api/v1/", "/api/v1/taxonomy_terms", "/healthz", "/karte?ansicht=liste", "/karte?nahe=Witten&umkreis=50",
             "/karte?nahe=58455&umkreis=5", "/angebote?lang=en"]
    urls += [f"/api/v1/services?page={n}&per_page=2" for n in range(1, 6)]
    urls += [f"/api/v1/services?q={q}" for q in ("Stammtisch", "Geheimweg", "Notiz", "Schulden", "Arbeitskreis")]
    urls += ["/api/v1/services?near=51.4512,7.3011&sort=distance", "/api/v1/services?near=58455&radius_km=5"]
    urls += [f"/angebote?kategorie={c}" for c in categories] + [f"/karte?kategorie={c}" for c in categories]
    urls += [f"/karte/embed?region={r}" for r in regions] + [f"/karte/embed?kategorie={c}" for c in categories[:8]]
    return urls


def leaks(body: str, url: str = "") -> list[str]:
    """Secrets in an answer (a value the caller typed into the URL may be echoed back)."""
    return [secret for secret in SECRETS if secret in body and secret not in url]


def test_sentinel_walk_over_every_anonymous_url(app, client):
    protect_more(app)
    urls = anonymous_urls(app)
    found = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, url
        if leaks(response.get_data(as_text=True), url):
            found[url] = leaks(response.get_data(as_text=True), url)
    print(f"sentinel walk: {len(urls)} anonymous answers, {len(found)} leaking")
    assert found == {}, f"{len(found)} of {len(urls)} anonymous answers leak: {found}"
    assert len(urls) > 100


def test_sentinel_walk_over_every_public_export(app, tmp_path):
    protect_more(app)
    runner = app.test_cli_runner()
    bodies = {}
    for name in ("a.zip", "a.json", "a.csv", "a.geojson"):
        result = runner.invoke(args=["export", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        if name.endswith(".zip"):
            with zipfile.ZipFile(tmp_path / name) as z:
                bodies |= {f"{name}/{n}": z.read(n).decode("utf-8") for n in z.namelist()}
        else:
            bodies[name] = (tmp_path / name).read_text(encoding="utf-8")
    found = {name: leaks(body) for name, body in bodies.items() if leaks(body)}
    print(f"sentinel walk: {len(bodies)} export files, {len(found)} leaking")
    assert found == {} and len(bodies) >= 8


def test_handouts_for_participants_hold_public_data_only(app, client):
    protect_more(app)
    login(client, "lotsin@atlas.example")
    with app.app_context():
        ids = ",".join(str(i) for i in get_session().scalars(sa.select(Service.id)))
    for url in (f"/suche/merkliste?ids={ids}", f"/suche/merkliste?ids={ids}&sprache=leicht"):
        body = client.get(url).get_data(as_text=True)
        assert leaks(body) == [], url
    pdf = client.get(f"/suche/merkliste.pdf?ids={ids}")
    assert pdf.status_code == 200 and b"SENTINEL" not in pdf.data
