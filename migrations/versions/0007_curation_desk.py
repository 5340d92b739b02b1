"""curation desk: review_check (what was checked), deputies must be coordinators (triggers), staff deputies handed over

Revision ID: 0007
Revises: 0006
"""

import logging
from collections import Counter, defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from atlas.curation.triggers import ENTRY_TABLES, create_triggers, drop_triggers

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "review_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(CASE WHEN organization_id IS NULL THEN 0 ELSE 1 END) + "
            "(CASE WHEN service_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_review_check_exactly_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"],
            name=op.f("fk_review_check_organization_id_organization"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_review_check_service_id_service"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_review_check_user_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_check")),
    )
    with op.batch_alter_table("review_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_check_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_check_service_id"), ["service_id"], unique=False)
    hand_over_staff_deputies(op.get_bind())
    create_triggers(op.get_bind())


def downgrade() -> None:
    drop_triggers(op.get_bind())
    with op.batch_alter_table("review_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_check_service_id"))
        batch_op.drop_index(batch_op.f("ix_review_check_organization_id"))
    op.drop_table("review_check")


def hand_over_staff_deputies(conn: sa.Connection) -> None:
    """Give every entry whose deputy is not a coordinator a coordinator deputy, audited and logged.

    The default: the coordinator who most often deputises for the same owner; otherwise the first active
    coordinator (by name) who is not the owner; otherwise nobody.
    """
    users = conn.execute(sa.text('SELECT id, role, active, name, email FROM "user" ORDER BY name, email')).all()
    coordinators = [u.id for u in users if u.role == "coordinator" and u.active]
    is_coordinator = {u.id for u in users if u.role == "coordinator"}
    usual: dict[int | None, Counter] = defaultdict(Counter)
    rows = []
    for table in ENTRY_TABLES:
        for row in conn.execute(sa.text(f"SELECT id, owner_id, deputy_id FROM {table} WHERE deputy_id IS NOT NULL")):
            if row.deputy_id in is_coordinator:
                usual[row.owner_id][row.deputy_id] += 1
            else:
                rows.append((table, row))
    moved: Counter = Counter()
    now = datetime.now(UTC).replace(tzinfo=None)
    for table, row in rows:
        ranked = [d for d, _n in usual[row.owner_id].most_common() if d != row.owner_id and d in coordinators]
        ranked += [c for c in coordinators if c != row.owner_id]
        new = ranked[0] if ranked else None
        conn.execute(sa.text(f"UPDATE {table} SET deputy_id = :new, version_id = version_id + 1 WHERE id = :id"),
                     {"new": new, "id": row.id})
        conn.execute(
            sa.text("INSERT INTO audit_log (at, user_id, actor, action, entity_type, entity_id, changes) "
                    "VALUES (:at, NULL, :actor, 'update', :kind, :id, :changes)").bindparams(
                sa.bindparam("changes", type_=sa.JSON)),
            {"at": now, "actor": "migration 0007", "kind": table, "id": row.id,
             "changes": {"deputy_id": [row.deputy_id, new]}},
        )
        moved[(row.deputy_id, new)] += 1
    names = {u.id: f"{u.name or u.email} (#{u.id})" for u in users}
    for (old, new), count in sorted(moved.items(), key=lambda kv: -kv[1]):
        log.warning("0007: %d entries: deputy %s is not a coordinator -> handed to %s",
                    count, names.get(old, old), names.get(new, "nobody"))
    if not moved:
        log.info("0007: every deputy is a coordinator; nothing handed over")
