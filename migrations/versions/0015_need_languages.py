"""need_languages: need words in English, Turkish, Russian, Ukrainian and Arabic

Revision ID: 0015
Revises: 0014
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ROWS = Path(__file__).resolve().parents[2] / "seeds" / "needs-languages.json"


def _table() -> sa.Table:
    return sa.table("search_need", sa.column("id", sa.Integer), sa.column("terms", sa.JSON),
                    sa.column("categories", sa.JSON), sa.column("position", sa.Integer),
                    sa.column("updated_at", sa.DateTime))


def upgrade() -> None:
    # Appended after whatever the coordinators keep (their own rows stay first and unchanged).
    if not ROWS.exists():
        return
    rows = json.loads(ROWS.read_text(encoding="utf-8")).get("needs", [])
    table = _table()
    start = (op.get_bind().scalar(sa.select(sa.func.max(table.c.position))) or 0) + 1
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(table, [{"terms": r["terms"], "categories": r["categories"], "position": start + i, "updated_at": now}
                           for i, r in enumerate(rows)])


def downgrade() -> None:
    if not ROWS.exists():
        return
    table = _table()
    shipped = [r["terms"] for r in json.loads(ROWS.read_text(encoding="utf-8")).get("needs", [])]
    bind = op.get_bind()
    for row_id, terms in bind.execute(sa.select(table.c.id, table.c.terms)).all():
        if terms in shipped:
            bind.execute(table.delete().where(table.c.id == row_id))
