"""The demo data: coverage of categories and municipalities, idempotent loading, and malformed seed files."""

import json
import math
import shutil

import pytest
import sqlalchemy as sa
from conftest import SEED_COPY_IGNORE

from atlas.db import get_session
from atlas.models import AuditLog, Location, Organization, Region, Service, TaxonomyTerm
from atlas.seed import SEEDS, SeedError, seed

EN = {"breckerfeld", "ennepetal", "gevelsberg", "hattingen", "herdecke", "schwelm", "sprockhoevel", "wetter-ruhr", "witten"}
MK = {"altena", "balve", "halver", "hemer", "herscheid", "iserlohn", "kierspe", "luedenscheid", "meinerzhagen",
      "menden-sauerland", "nachrodt-wiblingwerde", "neuenrade", "plettenberg", "schalksmuehle", "werdohl"}
NEIGHBOURS = {"hagen", "bochum", "dortmund", "wuppertal"}


def counts(session):
    tables = (Service, Organization, Location, AuditLog)
    return {t.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(t)) for t in tables} | {
        "max_updated": session.scalar(sa.select(sa.func.max(Service.updated_at))),
        "versions": session.scalar(sa.select(sa.func.sum(Service.version_id)))}


def test_demo_size_and_categories(demo):
    with demo.app_context():
        session = get_session()
        assert session.scalar(sa.select(sa.func.count(Service.id))) >= 250
        assert session.scalar(sa.select(sa.func.count(Organization.id))) >= 150
        tops = set(session.scalars(sa.select(TaxonomyTerm.slug).where(TaxonomyTerm.parent_id.is_(None))))
        used = set()
        for svc in session.scalars(sa.select(Service)):
            used |= {c.top.slug for c in svc.categories}
        assert used == tops and len(tops) == 11


def test_demo_covers_every_municipality_with_coordinates_in_town(demo):
    with demo.app_context():
        session = get_session()
        covered = set()
        for loc in session.scalars(sa.select(Location).where(Location.location_type == "physical")):
            assert loc.latitude is not None and loc.geo_source and loc.geo_precision != "unbekannt"
            gem = loc.gemeinde
            distance = math.dist((loc.latitude, loc.longitude * math.cos(math.radians(51))),
                                 (gem.latitude, gem.longitude * math.cos(math.radians(51)))) * 111
            assert distance < 12, f"{loc.name} lies {distance:.1f} km from {gem.name}"
            covered.add(gem.slug)
        assert EN | MK | NEIGHBOURS <= covered


def test_demo_has_supra_regional_internal_and_protected_entries(demo):
    with demo.app_context():
        session = get_session()
        supra = session.scalars(sa.select(Service).where(Service.supra_regional.is_(True))).all()
        assert len(supra) >= 10
        assert any(loc.gemeinde and loc.gemeinde.slug == "norden" for s in supra for loc in s.locations)  # North Sea clinic
        assert any(not s.locations for s in supra)  # hotlines and online offers
        assert session.scalar(sa.select(sa.func.count(Organization.id)).where(Organization.is_employer.is_(True))) >= 4
        assert session.scalar(sa.select(sa.func.count(Service.id)).where(Service.visibility == "internal")) >= 5
        assert session.scalar(sa.select(sa.func.count(Location.id)).where(Location.address_precision == "gemeinde")) >= 3
        websites = session.scalars(sa.select(Organization.website).where(Organization.website.is_not(None))).all()
        assert websites and all(".example" in w for w in websites)


def test_seed_twice_changes_nothing(empty_app):
    with empty_app.app_context():
        session = get_session()
        seed(session)
        session.commit()
        before = counts(session)
        report = seed(session)
        session.commit()
        assert report.summary() == "nothing changed"
        assert counts(session) == before


def test_seed_cli_twice(empty_app):
    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=["seed", "--no-demo"])
    assert first.exit_code == 0 and "categories: 66 new" in first.output
    second = runner.invoke(args=["seed", "--no-demo"])
    assert second.exit_code == 0 and "nothing changed" in second.output


def bad_seeds(tmp_path, content: str):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds, ignore=SEED_COPY_IGNORE)
    (seeds / "demo").mkdir()
    (seeds / "demo" / "kaputt.json").write_text(content, encoding="utf-8")
    return seeds


GOOD_ORG = {"key": "x-1", "name": "Treff", "services": [{"key": "s", "name": "Treffpunkt", "categories": ["peer"],
                                                          "locations": []}]}


@pytest.mark.parametrize("content,message", [
    ('{"organisations": [', "invalid JSON at line 1"),
    ("[]", "expected a JSON object"),
    ('{"organisations": {}}', "expected a list under 'organisations'"),
    (json.dumps({"organisations": [GOOD_ORG | {"name": ""}]}), "'name' is required"),
    (json.dumps({"organisations": [GOOD_ORG, GOOD_ORG]}), "duplicate key 'x-1'"),
    (json.dumps({"organisations": [GOOD_ORG | {"services": [{"key": "s", "name": "n", "categories": ["gibtsnicht"]}]}]}),
     "unknown or missing categories ['gibtsnicht']"),
    (json.dumps({"organisations": [GOOD_ORG | {"services": [GOOD_ORG["services"][0] | {"cost_options": ["gratis"]}]}]}),
     "unknown code(s) gratis"),
    (json.dumps({"organisations": [GOOD_ORG | {"locations": [{"key": "l", "city": "Witten", "gemeinde": "witten",
                                                              "latitude": 100, "longitude": 7}]}]}), "out of range"),
    (json.dumps({"organisations": [GOOD_ORG | {"locations": [{"key": "l", "city": "Atlantis", "gemeinde": "atlantis"}]}]}),
     "unknown gemeinde 'atlantis'"),
    (json.dumps({"organisations": [GOOD_ORG | {"is_employer": True}]}), "employer entries must have visibility"),
    (json.dumps({"organisations": [GOOD_ORG | {"owner": "fremd@example.org"}]}), "no user 'fremd@example.org'"),
    (json.dumps({"organisations": [GOOD_ORG | {"locations": [{"key": "l", "city": "Witten", "gemeinde": "witten",
                                                              "opening_hours": [{"byday": "MO", "opens_at": "25:00"}]}]}]}),
     "is not a time"),
])
def test_malformed_seed_is_refused_and_nothing_is_written(empty_app, tmp_path, content, message):
    seeds = bad_seeds(tmp_path, content)
    result = empty_app.test_cli_runner().invoke(args=["seed", "--path", str(seeds)])
    assert result.exit_code == 1
    assert message in result.output, result.output
    with empty_app.app_context():
        session = get_session()
        assert session.scalar(sa.select(sa.func.count(TaxonomyTerm.id))) == 0
        assert session.scalar(sa.select(sa.func.count(Region.id))) == 0


def test_not_utf8_seed(empty_app, tmp_path):
    seeds = bad_seeds(tmp_path, "")
    (seeds / "demo" / "kaputt.json").write_bytes('{"organisations": [{"name": "Träger"}]}'.encode("cp1252"))
    with empty_app.app_context(), pytest.raises(SeedError, match="not UTF-8"):
        seed(get_session(), seeds)


def test_seed_never_changes_a_demo_entry_someone_edited(empty_app, tmp_path):
    """Changed seed files update untouched demo entries; an entry a coordinator edited keeps the edit."""
    from atlas.audit import set_actor

    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds, ignore=shutil.ignore_patterns("gazetteer"))
    path = sorted((seeds / "demo").glob("*.json"))[0]
    data = json.loads(path.read_text(encoding="utf-8"))
    org = next(o for o in data["organisations"] if len(o.get("services") or []) >= 2)
    mine, other = org["services"][:2]

    def offer(session, item):
        return session.scalar(sa.select(Service).where(Service.source_id == f"{org['key']}/{item['key']}"))

    with empty_app.app_context():
        session = get_session()
        seed(session, seeds)
        session.commit()
        set_actor(session, "koordination@atlas.example")
        offer(session, mine).waiting_time = "ca. 2 Wochen (von Hand bestätigt)"
        session.commit()
        mine["description"], mine["waiting_time"] = "Neuer Text aus den Seeds", "keine"
        other["description"] = "Auch neu aus den Seeds"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        report = seed(session, seeds)
        session.commit()
        kept, updated = offer(session, mine), offer(session, other)
        assert kept.waiting_time == "ca. 2 Wochen (von Hand bestätigt)"
        assert kept.description != "Neuer Text aus den Seeds"
        assert updated.description == "Auch neu aus den Seeds"
        assert report.kept["services"] == 1 and report.updated["services"] == 1
        assert "services: 0 new, 1 updated, 1 kept (edited by someone)" in report.summary()
