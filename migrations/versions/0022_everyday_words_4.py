"""everyday_words_4: synonyms for the everyday words people type for what offers name otherwise ("Klamotten" for
"Kleidung", "saufen" for "Alkohol", "kiffen" for "Cannabis", "Nervenarzt" for "Psychiater" ...), and a need row for
people new in Germany

Revision ID: 0022
Revises: 0021
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# Written out here, not read from seeds/synonyms.json or seeds/needs.json (a later change of the seeds files must not
# change this step). Fresh databases hold all of it already (0004 and 0014 read the seeds files). A rule or row is
# added where none holds its first term, after whatever the coordinators keep: a coordinator's own rule for the word
# stays the only one.

ADDED: list[dict[str, list[str]]] = [
    {"terms": ["Kleidung", "Klamotten", "Anziehsachen", "Kleider"], "expands_to": []},
    {"terms": ["saufen", "besoffen", "Alki", "Suff"], "expands_to": ["Alkohol"]},
    {"terms": ["kiffen", "Gras", "Joint", "Haschisch", "Hasch", "Marihuana"], "expands_to": ["Cannabis"]},
    {"terms": ["zocken", "Spielhalle", "Spielautomaten", "Sportwetten"], "expands_to": ["Glücksspiel"]},
    {"terms": ["Nervenarzt", "Nervenärztin"], "expands_to": ["Psychiater", "Psychiatrie", "Neurologie"]},
    {"terms": ["Seelenklempner", "Psychodoc", "Psychoklempner"], "expands_to": ["Psychotherapie", "Psychotherapeut"]},
    {"terms": ["Handy"], "expands_to": ["Smartphone"]},
    {"terms": ["Knast", "Gefängnis", "JVA", "Haft"], "expands_to": []},
    {"terms": ["Kohle", "Knete", "Moneten"], "expands_to": ["Geld"]},
    {"terms": ["Bude"], "expands_to": ["Wohnung"]},
    {"terms": ["Führerschein", "Fahrerlaubnis"], "expands_to": []},
]
# "neu in Deutschland, Berufsabschluss anerkennen lassen" found one of the two migration counsellings: the other
# says "Zugewanderte" and "Anerkennung von Berufsabschlüssen", not "neu in Deutschland".
ADDED_NEEDS: list[dict[str, list[str]]] = [
    {"terms": ["neu in Deutschland", "zugewandert", "Zugewanderte", "Zuwanderer", "eingewandert", "Einwanderung",
               "Einwanderer", "Anerkennung ausländischer Abschlüsse"],
     "categories": ["sozialberatung"]},
]


def _table(name: str, other: str) -> sa.Table:
    return sa.table(name, sa.column("id", sa.Integer), sa.column("terms", sa.JSON), sa.column(other, sa.JSON),
                    sa.column("position", sa.Integer), sa.column("updated_at", sa.DateTime))


TABLES = (("search_synonym", "expands_to", ADDED), ("search_need", "categories", ADDED_NEEDS))


def _rows(table: sa.Table, other: str) -> list[Any]:
    return op.get_bind().execute(sa.select(table.c.id, table.c.terms, table.c[other])).all()


def _folded(term: str) -> str:
    return " ".join(term.casefold().split())


def upgrade() -> None:
    bind = op.get_bind()
    for name, other, added in TABLES:
        table = _table(name, other)
        held = {_folded(term) for _id, terms, _other in _rows(table, other) for term in terms or ()}
        missing = [r for r in added if _folded(r["terms"][0]) not in held]
        if missing:
            now = datetime.now(UTC).replace(tzinfo=None)
            start = (bind.scalar(sa.select(sa.func.max(table.c.position))) or 0) + 1
            op.bulk_insert(table, [{"terms": r["terms"], other: r[other], "position": start + i, "updated_at": now}
                                   for i, r in enumerate(missing)])


def downgrade() -> None:
    bind = op.get_bind()
    for name, other, added in TABLES:
        table = _table(name, other)
        shipped = [(r["terms"], r[other]) for r in added]
        for row_id, terms, values in _rows(table, other):
            if (terms, values or []) in shipped:
                bind.execute(table.delete().where(table.c.id == row_id))
