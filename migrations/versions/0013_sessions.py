"""sessions: dated sessions of courses, groups and events (Termine)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=True),
        sa.Column("end_time", sa.String(length=5), nullable=True),
        sa.Column("place", sa.String(length=300), nullable=True),
        sa.Column("seats", sa.String(length=20), nullable=False),
        sa.Column("registration_note", sa.String(length=500), nullable=True),
        sa.CheckConstraint("start_time IS NULL OR end_time IS NULL OR start_time < end_time",
                           name=op.f("ck_service_session_starts_before_ends")),
        sa.CheckConstraint("end_time IS NULL OR start_time IS NOT NULL", name=op.f("ck_service_session_end_needs_start")),
        sa.CheckConstraint("seats IN ('unbekannt', 'frei', 'wenige', 'ausgebucht')", name=op.f("ck_service_session_seats")),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], name=op.f("fk_service_session_service_id_service"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_session")),
    )
    op.create_index(op.f("ix_service_session_service_id"), "service_session", ["service_id"])
    op.create_index(op.f("ix_service_session_starts_on"), "service_session", ["starts_on"])


def downgrade() -> None:
    op.drop_index(op.f("ix_service_session_starts_on"), table_name="service_session")
    op.drop_index(op.f("ix_service_session_service_id"), table_name="service_session")
    op.drop_table("service_session")
