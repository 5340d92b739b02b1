"""sozialamt_by_its_official_names: a synonym rule that finds a town's social office by the names towns give it
("Fachbereich Soziales", "Ressort Soziales", "Amt für Soziales") when a search says "Sozialamt"

Revision ID: 0023
Revises: 0022
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# Written out here, not read from seeds/synonyms.json (a later change of the seeds file must not change this step).
# Fresh databases hold it already (0004 reads the seeds file). The rule is added where no rule holds "Sozialamt",
# after whatever the coordinators keep: a coordinator's own rule for the word stays the only one.
# "Sozialamt Hattingen" found the town's basic income office (its offer is filed under "Sozialamt") but not its
# housing help or social ticket, which the town's "Fachbereich Soziales und Wohnen" offers too.
ADDED: dict[str, list[str]] = {"terms": ["Sozialamt"],
                               "expands_to": ["Fachbereich Soziales", "Ressort Soziales", "Amt für Soziales"]}

SYNONYMS = sa.table("search_synonym", sa.column("id", sa.Integer), sa.column("terms", sa.JSON),
                    sa.column("expands_to", sa.JSON), sa.column("position", sa.Integer),
                    sa.column("updated_at", sa.DateTime))


def _rows() -> list[Any]:
    return op.get_bind().execute(sa.select(SYNONYMS.c.id, SYNONYMS.c.terms, SYNONYMS.c.expands_to)).all()


def upgrade() -> None:
    bind = op.get_bind()
    if any(term.casefold().strip() == "sozialamt" for _id, terms, _to in _rows() for term in terms or ()):
        return
    start = (bind.scalar(sa.select(sa.func.max(SYNONYMS.c.position))) or 0) + 1
    op.bulk_insert(SYNONYMS, [{**ADDED, "position": start, "updated_at": datetime.now(UTC).replace(tzinfo=None)}])


def downgrade() -> None:
    bind = op.get_bind()
    for row_id, terms, expands_to in _rows():
        if (terms, expands_to or []) == (ADDED["terms"], ADDED["expands_to"]):
            bind.execute(SYNONYMS.delete().where(SYNONYMS.c.id == row_id))
