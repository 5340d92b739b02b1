"""search

Revision ID: 0004
Revises: 0003
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SYNONYMS = Path(__file__).resolve().parents[2] / "seeds" / "synonyms.json"


def upgrade() -> None:
    synonyms = op.create_table(
        "search_synonym",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("expands_to", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonym")),
    )
    op.create_table(
        "search_miss",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query", sa.String(length=120), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_miss")),
        sa.UniqueConstraint("query", name=op.f("uq_search_miss_query")),
    )
    op.create_index("ix_service_updated_at", "service", ["updated_at"])
    op.create_index("ix_organization_updated_at", "organization", ["updated_at"])
    op.create_index("ix_location_updated_at", "location", ["updated_at"])
    # The shipped synonym list is the starting point; coordinators edit it under /verwaltung/synonyme.
    if SYNONYMS.exists():
        rules = json.loads(SYNONYMS.read_text(encoding="utf-8")).get("synonyms", [])
        now = datetime.now(UTC).replace(tzinfo=None)
        op.bulk_insert(synonyms, [{"terms": r["terms"], "expands_to": r.get("expands_to", []), "position": i,
                                   "updated_at": now} for i, r in enumerate(rules)])


def downgrade() -> None:
    op.drop_index("ix_location_updated_at", table_name="location")
    op.drop_index("ix_organization_updated_at", table_name="organization")
    op.drop_index("ix_service_updated_at", table_name="service")
    op.drop_table("search_miss")
    op.drop_table("search_synonym")
