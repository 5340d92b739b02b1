"""The digest e-mail is the owner's review queue: same items, same counts, links, reports and stale facts included."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from atlas import validity
from atlas.audit import set_actor
from atlas.checker.digest import build_digests, render
from atlas.curation.queue import queue_counts, queue_for
from atlas.curation.reports import create_report
from atlas.db import get_session
from atlas.models import Organization, ReviewTask, Service, TaxonomyTerm, User
from atlas.review import open_task, resolve_task

DAY = date(2026, 12, 3)


@pytest.fixture
def clock(monkeypatch):
    """An injected clock: every "today" (Europe/Berlin) is DAY."""
    monkeypatch.setattr(validity, "today", lambda: DAY)
    return DAY


def kim(session):
    return session.scalar(sa.select(User).where(User.email == "koordination@atlas.example"))


def build_mix(app) -> None:
    """Kim's offers: a broken link, a changed link, a public report, an overdue review, a stale fact, one ending soon."""
    with app.app_context():
        session = get_session()
        set_actor(session, "test")
        me = kim(session)
        term = session.scalar(sa.select(TaxonomyTerm).where(TaxonomyTerm.slug == "schuldnerberatung"))
        org = Organization(name="Digest-Träger", owner=me, assured_date=DAY)

        def offer(name, assured=DAY, **values):
            svc = Service(name=name, organization=org, owner=me, assured_date=assured, categories=[term], **values)
            session.add(svc)
            return svc

        broken, changed, reported = offer("D1 Link defekt"), offer("D2 Link geändert"), offer("D3 gemeldet")
        offer("D4 überfällig", DAY - timedelta(days=500))
        offer("D5 Wartezeit alt", DAY - timedelta(days=130), waiting_time="etwa 6 Wochen",
              waiting_time_confirmed_at=DAY - timedelta(days=130))
        offer("D6 läuft aus", valid_to=DAY + timedelta(days=20), status="aktiv")
        session.flush()
        open_task(session, "link_broken", broken, "https://kaputt.example/",
                  "Website: https://kaputt.example/ – nicht erreichbar.", source_ref="link:901")
        open_task(session, "link_changed", changed, "https://anders.example/",
                  "Website: https://anders.example/ – Inhalt geändert.", source_ref="link:902")
        create_report(session, reported, "veraltet", "Die Telefonnummer stimmt nicht.", "x")
        session.commit()


def test_digest_counts_equal_the_owners_queue(app, coordinator_client, clock):
    build_mix(app)
    with app.app_context():
        session = get_session()
        me = kim(session)
        queue = queue_for(session, me, DAY, app.config)
        digest = next(d for d in build_digests(session, app.config) if d.user.id == me.id)
        assert digest.counts == queue_counts(queue)
        assert sum(len(lines) for lines in digest.sections.values()) == len(queue)
        assert {"link_broken", "link_changed", "public_report", "overdue", "stale", "ending"} <= set(digest.sections)
        message = render(digest, app.config, DAY)
        body = message.get_content()
    page = coordinator_client.get("/verwaltung/pruefliste").get_data(as_text=True)
    shown = dict((group, int(n)) for n, group in re.findall(r">(\d+) (gemeldet|überfällig|bald fällig)</a>", page))
    assert shown == {"gemeldet": digest.counts["flagged"], "überfällig": digest.counts["overdue"],
                     "bald fällig": digest.counts["due_soon"]}
    assert shown["gemeldet"] >= 3 and shown["überfällig"] >= 2
    subject = f"{shown['gemeldet']} gemeldet, {shown['überfällig']} überfällig, {shown['bald fällig']} bald fällig"
    assert message["Subject"].endswith(subject)
    assert "https://kaputt.example/" in body and "https://anders.example/" in body
    assert "Fehlermeldung: Angabe veraltet" in body
    assert "Wartezeit seit 4 Monaten nicht bestätigt" in body
    assert "läuft ab am 23.12.2026" in body
    assert body.index("Defekte Links") < body.index("Geänderte Links") < body.index("Überfällige Prüfungen")


def test_a_resolved_task_leaves_queue_and_digest_together(app, clock):
    build_mix(app)
    with app.app_context():
        session = get_session()
        me = kim(session)
        before = next(d for d in build_digests(session, app.config) if d.user.id == me.id).counts
        broken = session.scalar(sa.select(Service).where(Service.name == "D1 Link defekt"))
        task = session.scalar(sa.select(ReviewTask).where(ReviewTask.service_id == broken.id))
        resolve_task(task, me, "Link korrigiert")
        session.commit()
        after = next(d for d in build_digests(session, app.config) if d.user.id == me.id)
        assert after.counts == queue_counts(queue_for(session, me, DAY, app.config))
        assert after.counts["flagged"] == before["flagged"] - 1
        assert "https://kaputt.example/" not in "\n".join(after.sections.get("link_broken", []))
