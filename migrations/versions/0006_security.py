"""security: server-side sessions, throttles, spent form tokens, search misses that age out; unsafe URLs removed

Revision ID: 0006
Revises: 0005
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

URL_COLUMNS = (("service", "url"), ("organization", "website"), ("location", "url"))
OTHER_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")
HOST_PORT = re.compile(r"^[^:/]+:[0-9]")


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_user_session_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_user_session_key_hash")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)
    op.create_table(
        "throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttle")),
        sa.UniqueConstraint("key", name=op.f("uq_throttle_key")),
    )
    op.create_table(
        "used_form_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_used_form_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_used_form_token_token_hash")),
    )
    with op.batch_alter_table("used_form_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_form_token_used_at"), ["used_at"], unique=False)
    with op.batch_alter_table("search_miss", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(), nullable=True))
    # Web addresses stored before the one URL rule: a scheme other than http(s) (javascript:, data: ...) is removed.
    bind = op.get_bind()
    for table, column in URL_COLUMNS:
        t = sa.table(table, sa.column("id"), sa.column(column))
        for row_id, value in bind.execute(sa.select(t.c.id, t.c[column]).where(t.c[column].is_not(None))).all():
            text = "".join(value.split()).lower()
            if OTHER_SCHEME.match(text) and not text.startswith(("http://", "https://")) and not HOST_PORT.match(text):
                bind.execute(t.update().where(t.c.id == row_id).values({column: None}))


def downgrade() -> None:
    with op.batch_alter_table("search_miss", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
    with op.batch_alter_table("used_form_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_form_token_used_at"))
    op.drop_table("used_form_token")
    op.drop_table("throttle")
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))
    op.drop_table("user_session")
