"""need_rows_in_other_languages_2: therapists and psychiatrists apart from the whole area; benefits, job centre,
asylum, rehab, sport, self-help, family, burnout, stress, transport, care and housing in other languages

Revision ID: 0019
Revises: 0018
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Written out here, not read from seeds/needs-languages.json (a later change of the seeds file must not change this
# step). Fresh databases hold all of it already (0015 reads the seeds file). The row of mental-health words is
# narrowed only while it is exactly as shipped: "психотерапевт" led to the whole area (the SPDi and day clinics
# before the therapists), while the German "Psychotherapeut" leads to therapy. The new rows are added where
# missing, after whatever the coordinators keep.

SHIPPED_PSYCHE = (
    ["depression", "depressed", "anxiety", "panic attacks", "psychotherapy", "psychotherapist", "therapist",
     "mental health", "depresyon", "kaygı", "panik atak", "psikoterapi", "psikolog", "terapi", "депрессия",
     "тревога", "паника", "психотерапия", "психотерапевт", "психолог", "депресія", "тривога", "паніка",
     "психотерапія", "اكتئاب", "الاكتئاب", "قلق", "علاج نفسي", "طبيب نفسي"],
    ["psyche"])
NARROWED_PSYCHE = (
    ["depression", "depressed", "anxiety", "panic attacks", "mental health", "depresyon", "kaygı",
     "panik atak", "депрессия", "тревога", "паника", "депресія", "тривога", "паніка", "اكتئاب", "الاكتئاب",
     "قلق", "psychosis", "schizophrenia", "psikoz", "şizofreni", "психоз", "шизофрения", "шизофренія", "ذهان",
     "فصام"],
    ["psyche"])

ADDED: list[dict[str, list[str]]] = [
    {"terms": ["psychotherapy", "psychotherapist", "therapist", "psychologist", "talk therapy", "psikoterapi",
                "psikoterapist", "psikolog", "terapi", "terapist", "психотерапия", "психотерапевт",
                "психотерапевта", "психолог", "психолога", "психотерапія", "психотерапевтка", "психологиня",
                "علاج نفسي", "معالج نفسي", "أخصائي نفسي"],
     "categories": ["psychotherapie", "hochschulambulanz", "psychologische-beratung"]},
    {"terms": ["psychiatrist", "psychiatry", "psikiyatrist", "psikiyatri", "psikiyatri doktoru", "психиатр",
                "психиатрия", "психіатр", "психіатрія", "طبيب نفسي", "الطب النفسي"],
     "categories": ["psychiatrie", "facharzt"]},
    {"terms": ["social benefits", "benefits", "welfare", "social assistance", "sosyal yardım",
                "işsizlik parası", "пособие", "пособия", "пособие по безработице", "социальная помощь",
                "соцпомощь", "соціальна допомога", "соцдопомога", "допомога по безробіттю", "مساعدة اجتماعية",
                "إعانة", "إعانات", "الضمان الاجتماعي"],
     "categories": ["sozialberatung", "sozialamt"]},
    {"terms": ["job centre", "job center", "jobcentre", "employment agency", "employment office", "джобцентр",
                "биржа труда", "центр занятости", "біржа праці", "центр зайнятості", "مكتب العمل",
                "مركز التوظيف"],
     "categories": ["anlaufstellen"]},
    {"terms": ["asylum", "residence permit", "refugee", "refugees", "immigration", "iltica", "sığınma",
                "oturma izni", "mülteci", "göçmen", "убежище", "вид на жительство", "беженец", "беженцы",
                "беженка", "посвідка на проживання", "біженець", "біженці", "біженка", "لجوء", "اللجوء",
                "إقامة", "الإقامة", "لاجئ", "لاجئة", "لاجئين"],
     "categories": ["sozialberatung"]},
    {"terms": ["rehab", "rehabilitation", "rehabilitasyon", "реабилитация", "реабилитации", "реабілітація",
                "реабілітації", "إعادة التأهيل", "تأهيل"],
     "categories": ["medizinische-reha", "reha-beratung"]},
    {"terms": ["sports", "exercise", "swimming", "back pain", "spor", "egzersiz", "yüzme", "bel ağrısı",
                "sırt ağrısı", "спорт", "фитнес", "плавание", "боль в спине", "фітнес", "плавання",
                "біль у спині", "رياضة", "الرياضة", "سباحة", "ألم الظهر"],
     "categories": ["sport", "gkv-kurse"]},
    {"terms": ["self-help group", "support group", "destek grubu", "группа поддержки", "группа самопомощи",
                "група підтримки", "група самодопомоги", "مجموعة دعم", "مجموعة الدعم"],
     "categories": ["selbsthilfe", "peer"]},
    {"terms": ["divorce", "separation", "parenting", "family problems", "boşanma", "aile sorunları", "развод",
                "семейные проблемы", "воспитание детей", "розлучення", "сімейні проблеми", "виховання дітей",
                "طلاق", "الطلاق", "مشاكل عائلية"],
     "categories": ["familienberatung"]},
    {"terms": ["burnout", "burn-out", "exhausted", "exhaustion", "tükenmişlik", "выгорание",
                "эмоциональное выгорание", "вигорання", "емоційне вигорання", "إرهاق", "الإرهاق", "احتراق نفسي"],
     "categories": ["resilienz", "gkv-kurse", "psychotherapie"]},
    {"terms": ["stres", "стресс", "стрес", "توتر", "ضغط نفسي"],
     "categories": ["resilienz", "gkv-kurse"]},
    {"terms": ["bus ticket", "public transport", "transport", "driving licence", "otobüs bileti", "ulaşım",
                "ehliyet", "проездной", "проездной билет", "транспорт", "водительские права", "проїзний",
                "проїзний квиток", "посвідчення водія", "تذكرة", "مواصلات", "رخصة قيادة"],
     "categories": ["mobilitaet"]},
    {"terms": ["nursing care", "care level", "caregiver", "hasta bakımı", "bakım hizmeti", "bakıma muhtaç",
                "уход за больными", "уход за пожилыми", "сиделка", "догляд за хворими", "доглядальниця",
                "رعاية تمريضية", "رعاية المسنين"],
     "categories": ["gesundheitsdienste", "sozialamt"]},
    {"terms": ["apartment", "flat", "housing", "rental", "rent arrears", "landlord", "ev arıyorum", "kira", "ev sahibi",
                "квартира", "квартиру", "аренда", "арендодатель", "оренда", "орендодавець", "شقة", "إيجار",
                "الإيجار"],
     "categories": ["wohnungsnotfall"]},
]


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
    _replace(SHIPPED_PSYCHE, NARROWED_PSYCHE)
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
    _replace(NARROWED_PSYCHE, SHIPPED_PSYCHE)
