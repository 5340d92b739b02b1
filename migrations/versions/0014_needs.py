"""needs: the editable need -> category table of the search

Revision ID: 0014
Revises: 0013
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NEEDS = Path(__file__).resolve().parents[2] / "seeds" / "needs.json"


def upgrade() -> None:
    needs = op.create_table(
        "search_need",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_need")),
    )
    # The shipped table is the starting point; coordinators edit it under /verwaltung/bedarfe.
    if NEEDS.exists():
        rows = json.loads(NEEDS.read_text(encoding="utf-8")).get("needs", [])
        now = datetime.now(UTC).replace(tzinfo=None)
        op.bulk_insert(needs, [{"terms": r["terms"], "categories": r["categories"], "position": i, "updated_at": now}
                               for i, r in enumerate(rows)])


def downgrade() -> None:
    op.drop_table("search_need")
