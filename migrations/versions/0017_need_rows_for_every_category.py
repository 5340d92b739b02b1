"""need_rows_for_every_category: need rows for the categories no row led to (work with a disability, homes, Jobcenter)

Revision ID: 0017
Revises: 0016
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Written out here, not read from seeds/needs.json (a later change of the seeds file must not change this step).
# Fresh databases hold these rows already (0014 reads the seeds file): rows are added only where missing, after
# whatever the coordinators keep, and a coordinator's own rows stay as they are.
ADDED: list[dict[str, list[str]]] = [
    {"terms": ["Integrationsfachdienst", "IFD", "Arbeitsplatz behalten", "Job behalten", "Arbeitsplatzsicherung",
               "BEM", "betriebliches Eingliederungsmanagement", "Arbeitsassistenz"],
     "categories": ["ifd", "berufliche-reha"]},
    {"terms": ["Werkstatt", "Werkstätte", "Behindertenwerkstatt", "WfbM", "Werkstatt für behinderte Menschen",
               "beschützte Arbeit", "geschützte Arbeit", "Berufsbildungsbereich"],
     "categories": ["wfbm"]},
    {"terms": ["Inklusionsbetrieb", "Inklusionsunternehmen", "Inklusionsfirma", "Arbeit mit Behinderung",
               "Job mit Behinderung", "Arbeit trotz Behinderung"],
     "categories": ["inklusionsunternehmen", "ifd"]},
    {"terms": ["Wohnheim", "Heimplatz", "stationäres Wohnen", "besondere Wohnform", "Wohnen mit Betreuung",
               "Betreuung rund um die Uhr", "Übergangswohnen", "Übergangswohnheim"],
     "categories": ["stationaer", "abw"]},
    {"terms": ["Soziotherapie", "Soziotherapeut", "Soziotherapeutin", "Alltagsbegleitung", "Begleitung zu Terminen",
               "Begleitung zum Arzt"],
     "categories": ["soziotherapie", "abw"]},
    {"terms": ["Gesundheitsamt", "Amtsarzt", "Amtsärztin", "amtsärztliche Untersuchung", "Impfberatung"],
     "categories": ["gesundheitsamt", "gesundheitsfoerderung"]},
    {"terms": ["Stadtteil", "Stadtteilbüro", "Quartier", "Quartiersbüro", "Nachbarschaft", "Nachbarschaftshilfe",
               "Nachbarschaftstreff", "Nachbarn"],
     "categories": ["quartiersmanagement", "freizeit"]},
    {"terms": ["Jobcenter", "Arbeitsamt", "Agentur für Arbeit", "Arbeitsagentur", "Fallmanager", "Fallmanagerin",
               "Arbeitsvermittler", "Arbeitsvermittlerin"],
     "categories": ["anlaufstellen"]},
    {"terms": ["Rentenversicherung", "DRV", "Rentenantrag", "Versichertenberater", "Versichertenberatung",
               "Versichertenälteste", "Rentenberatung", "Rentenauskunft"],
     "categories": ["reha-beratung", "anlaufstellen"]},
    {"terms": ["Behindertenbeauftragte", "Behindertenbeauftragter", "Inklusionsbeauftragte", "Nachteilsausgleich",
               "Merkzeichen", "Parkausweis"],
     "categories": ["inklusion", "eutb"]},
]


def _table() -> sa.Table:
    return sa.table("search_need", sa.column("id", sa.Integer), sa.column("terms", sa.JSON),
                    sa.column("categories", sa.JSON), sa.column("position", sa.Integer),
                    sa.column("updated_at", sa.DateTime))


def _rows() -> list[Any]:
    table = _table()
    return op.get_bind().execute(sa.select(table.c.id, table.c.terms)).all()


def upgrade() -> None:
    table, bind = _table(), op.get_bind()
    present = [r.terms for r in _rows()]
    missing = [r for r in ADDED if r["terms"] not in present]
    if missing:
        start = (bind.scalar(sa.select(sa.func.max(table.c.position))) or 0) + 1
        now = datetime.now(UTC).replace(tzinfo=None)
        op.bulk_insert(table, [{"terms": r["terms"], "categories": r["categories"], "position": start + i,
                                "updated_at": now} for i, r in enumerate(missing)])


def downgrade() -> None:
    table, bind = _table(), op.get_bind()
    added = [r["terms"] for r in ADDED]
    for row_id, have_terms in _rows():
        if have_terms in added:
            bind.execute(table.delete().where(table.c.id == row_id))
