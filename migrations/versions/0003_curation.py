"""curation

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("client_hash", sa.String(length=64), nullable=True),
        sa.CheckConstraint("status IN ('offen', 'erledigt')", name=op.f("ck_public_report_status")),
        sa.CheckConstraint(
            "topic IN ('veraltet', 'existiert_nicht', 'link', 'sonstiges')",
            name=op.f("ck_public_report_topic"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["user.id"],
            name=op.f("fk_public_report_resolved_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_public_report_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_report")),
    )
    with op.batch_alter_table("public_report", schema=None) as batch_op:
        batch_op.create_index("ix_public_report_client", ["client_hash", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_public_report_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_public_report_service_id"), ["service_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("public_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_report_service_id"))
        batch_op.drop_index(batch_op.f("ix_public_report_created_at"))
        batch_op.drop_index("ix_public_report_client")
    op.drop_table("public_report")
