"""buergergeld_is_no_sozialamt_need: "Bürgergeld" leads to social counselling and the Jobcenter, not the Sozialamt

Revision ID: 0021
Revises: 0020
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# Written out here, not read from seeds/needs.json (a later change of the seeds file must not change this step).
# Fresh databases hold the new table already (0014 reads the seeds file). Bürgergeld (SGB II) is paid by the
# Jobcenter; the Sozialamt pays Grundsicherung and Hilfe zum Lebensunterhalt (SGB XII). The shipped row of forms and
# benefits led "Bürgergeld" to both, so "Widerspruch gegen Bürgergeld-Bescheid" listed municipal Grundsicherung
# offices, a synonym chain across a meaning. The row loses "Bürgergeld" only while it is exactly as shipped; the
# new row is added where no row names "Bürgergeld" any more, after whatever the coordinators keep.

SHIPPED_FORMS = (
    ["Anträge", "Antrag", "Formulare", "Bescheid", "Widerspruch", "Bürgergeld", "Wohngeld", "Grundsicherung",
     "Sozialleistungen", "Papierkram", "Amtsdeutsch", "Brief vom Amt", "Post vom Amt", "Stütze", "Sozialhilfe",
     "Kinderzuschlag", "Kindergeld", "Bildung und Teilhabe", "Behörde", "Behördengang", "Ämter", "Formular",
     "Hilfe beim Ausfüllen"],
    ["sozialberatung", "sozialamt"])
NARROWED_FORMS = ([term for term in SHIPPED_FORMS[0] if term != "Bürgergeld"], SHIPPED_FORMS[1])
ADDED = {"terms": ["Bürgergeld"], "categories": ["sozialberatung", "anlaufstellen"]}


def _table() -> sa.Table:
    return sa.table("search_need", sa.column("id", sa.Integer), sa.column("terms", sa.JSON),
                    sa.column("categories", sa.JSON), sa.column("position", sa.Integer),
                    sa.column("updated_at", sa.DateTime))


def _rows() -> list[Any]:
    table = _table()
    return op.get_bind().execute(sa.select(table.c.id, table.c.terms, table.c.categories)).all()


def _replace(before: tuple[list[str], list[str]], after: tuple[list[str], list[str]]) -> None:
    table, bind = _table(), op.get_bind()
    for row_id, terms, categories in _rows():
        if (terms, categories) == (before[0], before[1]):
            bind.execute(table.update().where(table.c.id == row_id).values(
                terms=after[0], updated_at=datetime.now(UTC).replace(tzinfo=None)))


def upgrade() -> None:
    table, bind = _table(), op.get_bind()
    _replace(SHIPPED_FORMS, NARROWED_FORMS)
    if not any("Bürgergeld" in terms for _id, terms, _categories in _rows()):
        start = (bind.scalar(sa.select(sa.func.max(table.c.position))) or 0) + 1
        op.bulk_insert(table, [{"terms": ADDED["terms"], "categories": ADDED["categories"], "position": start,
                                "updated_at": datetime.now(UTC).replace(tzinfo=None)}])


def downgrade() -> None:
    table, bind = _table(), op.get_bind()
    for row_id, terms, categories in _rows():
        if (terms, categories) == (ADDED["terms"], ADDED["categories"]):
            bind.execute(table.delete().where(table.c.id == row_id))
    _replace(NARROWED_FORMS, SHIPPED_FORMS)
