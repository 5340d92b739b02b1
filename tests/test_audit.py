"""Every change is logged with who, when, and each field's value before and after."""

import sqlalchemy as sa

from atlas.audit import set_actor
from atlas.db import get_session
from atlas.models import AuditLog, Service, TaxonomyTerm, User


def test_update_records_before_and_after(app):
    with app.app_context():
        session = get_session()
        svc = session.scalar(sa.select(Service).where(Service.name == "Schuldnerberatung Lichtblick"))
        term = session.scalar(sa.select(TaxonomyTerm).where(TaxonomyTerm.slug == "sozialberatung"))
        coordinator = session.scalar(sa.select(User).where(User.email == "koordination@atlas.example"))
        set_actor(session, coordinator.email, coordinator.id)
        assert svc.categories  # loaded before the change, so one flush writes one entry
        svc.alert = "Aufnahmestopp bis März"
        svc.categories.append(term)
        session.commit()
        entry = session.scalars(sa.select(AuditLog).where(AuditLog.entity_type == "service", AuditLog.entity_id == svc.id)
                                .order_by(AuditLog.id.desc())).first()
        assert entry.action == "update" and entry.actor == "koordination@atlas.example" and entry.user_id == coordinator.id
        assert entry.changes["alert"] == [None, "Aufnahmestopp bis März"]
        assert entry.changes["categories"] == [["schuldnerberatung"], ["schuldnerberatung", "sozialberatung"]]
        assert "version_id" not in entry.changes and "updated_at" not in entry.changes


def test_create_and_delete_are_logged_and_rollback_logs_nothing(app):
    with app.app_context():
        session = get_session()
        set_actor(session, "cli")
        term = TaxonomyTerm(slug="neu", name="Neu")
        session.add(term)
        session.commit()
        created = session.scalar(sa.select(AuditLog).where(AuditLog.entity_type == "taxonomy_term",
                                                           AuditLog.entity_id == term.id))
        assert created.action == "create" and created.changes["name"] == [None, "Neu"]
        before = session.scalar(sa.select(sa.func.count(AuditLog.id)))
        term.name = "Verworfen"
        session.flush()
        session.rollback()
        assert session.scalar(sa.select(sa.func.count(AuditLog.id))) == before
        session.delete(session.get(TaxonomyTerm, term.id))
        session.commit()
        deleted = session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert deleted.action == "delete" and deleted.changes["name"] == ["Neu", None]


def test_passwords_are_never_logged(app):
    with app.app_context():
        session = get_session()
        entries = session.scalars(sa.select(AuditLog).where(AuditLog.entity_type == "user")).all()
        assert entries and all(e.changes.get("password_hash") in (None, [None, "***"]) for e in entries)
        assert all("scrypt" not in str(e.changes) for e in entries)


def test_relationship_changes_and_orphan_deletes_are_logged(app):
    """Foreign keys set through relationships and rows removed by delete-orphan reach the log too."""
    from atlas.models import Organization, Phone
    with app.app_context():
        session = get_session()
        org = session.scalar(sa.select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V."))
        newcomer = session.scalar(sa.select(User).where(User.email == "lotsin@atlas.example"))
        old_owner_id = org.owner_id
        set_actor(session, "koordination@atlas.example")
        org.owner = newcomer
        removed = org.phones[0]
        org.phones.remove(removed)
        session.commit()
        entries = session.scalars(sa.select(AuditLog).where(AuditLog.actor == "koordination@atlas.example")).all()
        owner_change = next(e for e in entries if e.entity_type == "organization")
        assert owner_change.changes["owner_id"] == [old_owner_id, newcomer.id]
        phone_delete = next(e for e in entries if e.entity_type == "phone")
        assert phone_delete.action == "delete" and phone_delete.changes["number"] == [removed.number, None]
        assert session.get(Phone, removed.id) is None


def test_child_created_through_a_relationship_records_its_parent(app):
    from atlas.models import Organization, Phone
    with app.app_context():
        session = get_session()
        org = session.scalar(sa.select(Organization).where(Organization.name == "Beratungsstelle Lichtblick e. V."))
        set_actor(session, "cli")
        phone = Phone(number="+49 2302 5550199")
        org.phones.append(phone)
        session.commit()
        entry = session.scalar(sa.select(AuditLog).where(AuditLog.entity_type == "phone", AuditLog.entity_id == phone.id))
        assert entry.action == "create" and entry.changes["organization_id"] == [None, org.id]
