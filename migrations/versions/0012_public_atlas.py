"""public atlas: everyday category names for the public pages

Revision ID: 0012
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("taxonomy_term", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_plain", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("name_plain_en", sa.String(length=200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("taxonomy_term", schema=None) as batch_op:
        batch_op.drop_column("name_plain_en")
        batch_op.drop_column("name_plain")
