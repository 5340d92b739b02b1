"""need_everyday_words_2: more everyday need words (money, food, addiction, housing, sport, stress ...); psychic symptoms

Revision ID: 0018
Revises: 0017
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Written out here, not read from seeds/needs.json (a later change of the seeds file must not change this step).
# Fresh databases hold all of it already (0014 reads the seeds file). A row is widened only while it is exactly as
# shipped (terms and categories); a row a coordinator changed stays as it is. The new rows are added where missing,
# after whatever the coordinators keep.

# (shipped terms, shipped categories, terms added)
WIDENED: list[tuple[list[str], list[str], list[str]]] = [
    (["Schulden", "Mahnung", "Mahnungen", "Pfändung", "Kontopfändung", "Inkasso", "Insolvenz", "Privatinsolvenz",
      "pleite", "Mietschulden", "Stromschulden", "Kredit", "Schuldenfalle", "Schufa", "Gerichtsvollzieher",
      "Mahnbescheid", "Ratenzahlung", "Stromsperre", "Energiesperre"],
     ["schuldnerberatung"],
     ["Miese", "Dispo", "P-Konto", "Pfändungsschutzkonto", "Inkassobrief", "überschuldet", "Überschuldung",
      "Vollstreckung", "Vermögensauskunft", "zahlungsunfähig"]),
    (["Tafel", "Lebensmittel", "Lebensmittelausgabe", "Hunger", "Kleiderkammer", "Kleidung", "Möbel", "Sozialkaufhaus",
      "Kleiderstube", "Klamotten", "Anziehsachen", "Kleiderladen", "Secondhand", "gebrauchte Möbel", "Umsonstladen",
      "Foodsharing"],
     ["materielle-hilfen"],
     ["Essensausgabe", "Suppenküche", "Mittagstisch", "nichts zu essen", "Lebensmittelgutschein", "Kleiderspende",
      "Erstausstattung", "Babysachen"]),
    (["obdachlos", "wohnungslos", "Räumung", "Zwangsräumung", "Wohnungsverlust", "Wohnung verloren",
      "Kündigung der Wohnung", "Schlafplatz", "Notunterkunft", "Obdachlosigkeit", "Wohnungslosigkeit",
      "Notschlafstelle", "Rauswurf", "rausgeflogen", "Mietrückstand", "Wohnungssuche", "Wohnberechtigungsschein", "WBS",
      "Sozialwohnung"],
     ["wohnungsnotfall"],
     ["Räumungsklage", "auf der Straße", "Platte machen", "keine Wohnung", "ohne Wohnung", "Obdach"]),
    (["Hausarzt", "Hausärztin", "Allgemeinarzt", "Allgemeinmedizin", "krankschreiben", "Krankschreibung",
      "krankgeschrieben", "gelber Schein", "AU", "Attest", "Überweisung", "Rezept"],
     ["hausarzt"],
     ["kein Hausarzt", "neuer Hausarzt", "Hausarztpraxis", "Erkältung", "Fieber", "Husten"]),
    (["Zahnarzt", "Zahnärztin", "Zähne", "Zahnschmerzen"],
     ["zahnmedizin"],
     ["Zahnweh", "Karies", "Zahnfleisch", "Weisheitszahn"]),
    (["Reha", "Rehabilitation", "Kur", "Rehaklinik", "Kurantrag", "Rehaantrag", "Mutter-Kind-Kur",
      "Anschlussheilbehandlung", "AHB"],
     ["medizinische-reha", "reha-beratung"],
     ["Kurklinik", "Rehabilitationsklinik", "Heilverfahren"]),
    (["Bewerbung", "Bewerbungen", "Lebenslauf", "Vorstellungsgespräch", "Arbeitssuche", "Jobsuche", "Anschreiben",
      "Stellensuche", "Stellenanzeigen"],
     ["jobcoaching"],
     ["Job finden", "Arbeit finden", "Arbeit suchen", "Stelle suchen", "Bewerbungsmappe", "Bewerbungsfoto",
      "Jobcoach"]),
    (["Sport", "Bewegung", "Fitness", "Schwimmen", "Rückenschmerzen", "Abnehmen", "Übergewicht", "Rücken",
      "Rückenschule", "Bandscheibe", "Arthrose", "Rehasport", "Herzsport", "Herzgruppe", "Funktionstraining",
      "Wassergymnastik"],
     ["sport", "gkv-kurse"],
     ["Yoga", "Gymnastik", "Laufen", "Joggen", "Walking", "Nordic Walking", "Wandern", "Radfahren",
      "Fitnessstudio", "Aquafitness", "Schwimmkurs"]),
    (["Stress", "Entspannung", "Achtsamkeit", "Resilienz", "Stressbewältigung"],
     ["resilienz", "gkv-kurse"],
     ["gestresst", "überfordert", "Überforderung", "Stressabbau", "Meditation", "Autogenes Training",
      "Progressive Muskelentspannung"]),
    (["einsam", "Einsamkeit", "allein", "Kontakte", "Anschluss", "Leute kennenlernen", "keine Freunde", "isoliert",
      "Treffpunkt", "Begegnung"],
     ["peer", "selbsthilfe", "freizeit"],
     ["Freunde finden", "Leute treffen", "Gesellschaft", "Langeweile", "rauskommen"]),
    (["Bus", "Fahrt", "Fahrdienst", "Ticket", "Sozialticket", "Mobilität", "kein Auto", "Deutschlandticket",
      "Monatskarte", "Fahrkarte", "Busfahrkarte", "Führerschein", "Fahrrad", "Bürgerbus", "Mitfahrgelegenheit",
      "Fahrtkosten"],
     ["mobilitaet"],
     ["Busticket", "Bahnticket", "Fahrgeld", "Fahrkostenerstattung"]),
    (["Anträge", "Antrag", "Formulare", "Bescheid", "Widerspruch", "Bürgergeld", "Wohngeld", "Grundsicherung",
      "Sozialleistungen", "Papierkram", "Amtsdeutsch", "Brief vom Amt", "Post vom Amt", "Stütze", "Sozialhilfe",
      "Kinderzuschlag", "Kindergeld", "Bildung und Teilhabe"],
     ["sozialberatung", "sozialamt"],
     ["Behörde", "Behördengang", "Ämter", "Formular", "Hilfe beim Ausfüllen"]),
    (["Gewalt", "geschlagen", "Frauenhaus", "Stalking", "bedroht", "häusliche Gewalt", "sexuelle Gewalt",
      "Vergewaltigung", "vergewaltigt", "Missbrauch", "misshandelt", "Übergriff"],
     ["krisenhilfe", "familienberatung"],
     ["Schläge", "Partnergewalt", "Gewaltschutz", "Nachstellung", "Kontaktverbot"]),
]

ADDED: list[dict[str, list[str]]] = [
    {"terms": ["Zwangsgedanken", "Zwangshandlungen", "Grübeln", "antriebslos", "Antriebslosigkeit",
                "niedergeschlagen", "Niedergeschlagenheit", "Sozialphobie", "soziale Phobie", "Phobie",
                "Platzangst", "PTBS", "posttraumatische Belastungsstörung", "Flashbacks", "Albträume"],
     "categories": ["psychotherapie", "hochschulambulanz", "psychologische-beratung"]},
    # Not added to the shipped row "Psychotherapeut, …": migration 0016 adds that row where it is missing, by its
    # exact terms, so a widened copy in a fresh database would be joined by a second, narrower one.
    {"terms": ["Seelendoktor", "Kassentherapie", "Therapeutensuche"],
     "categories": ["psychotherapie", "hochschulambulanz", "psychologische-beratung"]},
    # A row of their own: with them the shipped row "Sucht, …" would hold 37 words and categories, and the need page
    # refuses a line of more than 30 (synonyms.MAX_TERMS), so a coordinator could no longer save the table.
    {"terms": ["Pillen", "Tabletten", "Schlaftabletten", "Benzos", "Spielautomaten", "Onlinecasino", "Casino", "Wetten",
               "Alkoholproblem", "Trinkproblem"],
     "categories": ["suchtberatung", "sucht"]},
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
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = _rows()
    for terms, categories, extra in WIDENED:
        for row_id, have_terms, have_categories in rows:
            if have_terms == terms and have_categories == categories:
                bind.execute(table.update().where(table.c.id == row_id).values(terms=terms + extra, updated_at=now))
    present = [r.terms for r in rows]
    missing = [r for r in ADDED if r["terms"] not in present]
    if missing:
        start = (bind.scalar(sa.select(sa.func.max(table.c.position))) or 0) + 1
        op.bulk_insert(table, [{"terms": r["terms"], "categories": r["categories"], "position": start + i,
                                "updated_at": now} for i, r in enumerate(missing)])


def downgrade() -> None:
    table, bind = _table(), op.get_bind()
    added = [r["terms"] for r in ADDED]
    for row_id, have_terms, have_categories in _rows():
        if have_terms in added:
            bind.execute(table.delete().where(table.c.id == row_id))
            continue
        for terms, categories, extra in WIDENED:
            if have_terms == terms + extra and have_categories == categories:
                bind.execute(table.update().where(table.c.id == row_id).values(terms=terms))
