"""need_everyday_words_3: need rows for services people ask for by name or by a plain problem (women's and couples'
counselling, day clinics, landlords, street help, grief, energy bills, hearing and sight ...)

Revision ID: 0020
Revises: 0019
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# Written out here, not read from seeds/needs.json (a later change of the seeds file must not change this step).
# Fresh databases hold all of it already (0014 reads the seeds file). The rows are added where missing, after
# whatever the coordinators keep.

ADDED: list[dict[str, list[str]]] = [
    {"terms": ["Frauenberatung", "Frauenberatungsstelle", "Frauennotruf", "Frauenhilfe"],
     "categories": ["familienberatung", "krisenhilfe"]},
    {"terms": ["Eheberatung", "Paarberatung", "Paartherapie", "Partnerschaftsberatung", "Lebensberatung",
                "Ehekrise", "Beziehungskrise"],
     "categories": ["familienberatung", "psychologische-beratung"]},
    {"terms": ["schwanger", "Schwangerschaft", "Schwangerschaftsberatung", "alleinerziehend",
                "Alleinerziehende", "Familienhilfe", "Erziehungshilfe", "Frühförderung"],
     "categories": ["familienberatung", "jugendhilfe"]},
    {"terms": ["Tagesklinik", "Institutsambulanz", "PIA", "psychiatrische Ambulanz", "psychiatrische Klinik"],
     "categories": ["psychiatrie", "psychotherapie"]},
    {"terms": ["Antrieb", "Konzentrationsprobleme", "Konzentrationsstörung", "nicht konzentrieren"],
     "categories": ["psychotherapie", "hochschulambulanz", "psychologische-beratung"]},
    # Sleep problems go to the family doctor first (a cause in the body is ruled out there), then to therapy.
    {"terms": ["Schlafstörung", "Schlafstörungen", "Schlafprobleme", "schlaflos", "Schlaflosigkeit",
               "Einschlafprobleme", "Durchschlafprobleme"],
     "categories": ["hausarzt", "psychotherapie"]},
    {"terms": ["Vermieter", "Vermieterin", "Mietvertrag", "Mieterhöhung", "Mietrecht", "Mieterverein",
                "Mietstreit", "Ärger mit dem Vermieter", "Streit mit dem Vermieter"],
     "categories": ["sozialberatung", "wohnungsnotfall"]},
    {"terms": ["Bahnhofsmission", "Streetwork", "Tagesaufenthalt", "Wärmestube", "Kältehilfe", "Kältebus",
                "Straßensozialarbeit"],
     "categories": ["wohnungsnotfall"]},
    {"terms": ["Möbellager", "Möbelbörse", "Möbelspende", "Möbelhilfe"],
     "categories": ["materielle-hilfen"]},
    {"terms": ["gehörlos", "schwerhörig", "Gebärdensprache", "blind", "sehbehindert", "Rollstuhl",
                "Rollstuhlfahrer", "Rollstuhlfahrerin"],
     "categories": ["eutb", "inklusion"]},
    {"terms": ["Trauer", "trauern", "Trauerbegleitung", "Trauergruppe", "Trauerfall", "Todesfall"],
     "categories": ["psychologische-beratung", "selbsthilfe"]},
    {"terms": ["Kinderarzt", "Kinderärztin", "Kinderärzte"],
     "categories": ["facharzt"]},
    {"terms": ["Hausaufgabenhilfe", "Nachhilfe", "Ferienbetreuung", "Ferienfreizeit", "Jugendzentrum",
                "Jugendtreff"],
     "categories": ["kinderbetreuung", "jugendhilfe"]},
    {"terms": ["Strom", "Gas", "Heizung", "Gassperre", "Wassersperre", "Energieschulden", "Strom abgestellt",
                "Gas abgestellt"],
     "categories": ["schuldnerberatung", "sozialberatung"]},
    {"terms": ["Ernährung", "Ernährungsberatung", "gesund essen", "gesunde Ernährung", "Kochkurs"],
     "categories": ["gkv-kurse", "gesundheitsfoerderung"]},
    {"terms": ["Computerkurs", "PC-Kurs", "Handykurs", "Smartphonekurs", "Internetkurs", "Computer lernen",
                "Internet lernen"],
     "categories": ["bildung-kultur"]},
]


def _table() -> sa.Table:
    return sa.table("search_need", sa.column("id", sa.Integer), sa.column("terms", sa.JSON),
                    sa.column("categories", sa.JSON), sa.column("position", sa.Integer),
                    sa.column("updated_at", sa.DateTime))


def _rows() -> list[Any]:
    table = _table()
    return op.get_bind().execute(sa.select(table.c.id, table.c.terms, table.c.categories)).all()


def upgrade() -> None:
    table, bind = _table(), op.get_bind()
    present = [r.terms for r in _rows()]
    missing = [r for r in ADDED if r["terms"] not in present]
    if missing:
        now = datetime.now(UTC).replace(tzinfo=None)
        start = (bind.scalar(sa.select(sa.func.max(table.c.position))) or 0) + 1
        op.bulk_insert(table, [{"terms": r["terms"], "categories": r["categories"], "position": start + i,
                                "updated_at": now} for i, r in enumerate(missing)])


def downgrade() -> None:
    table, bind = _table(), op.get_bind()
    added = [(r["terms"], r["categories"]) for r in ADDED]
    for row_id, terms, categories in _rows():
        if (terms, categories) in added:
            bind.execute(table.delete().where(table.c.id == row_id))
