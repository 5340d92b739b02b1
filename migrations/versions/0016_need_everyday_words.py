"""need_everyday_words: everyday and colloquial need words; the first category of a row is the first stop

Revision ID: 0016
Revises: 0015
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The data is written out here, not read from seeds/needs.json: a later change of the seeds file must not
# change what this step did. Fresh databases already hold it (0014 reads seeds/needs.json), so each change is
# applied only where it fits: to a row still as shipped before, and rows only where they are missing.

# (shipped terms, shipped categories, terms added, new category order or None); a coordinator's rows stay.
WIDENED: list[tuple[list[str], list[str], list[str], list[str] | None]] = [
    (["Schulden", "Mahnung", "Mahnungen", "Pfändung", "Kontopfändung", "Inkasso", "Insolvenz",
      "Privatinsolvenz", "pleite", "Mietschulden", "Stromschulden", "Kredit"],
     ["schuldnerberatung"],
     ["Schuldenfalle", "Schufa", "Gerichtsvollzieher", "Mahnbescheid", "Ratenzahlung", "Stromsperre",
      "Energiesperre"],
     None),
    (["Tafel", "Lebensmittel", "Lebensmittelausgabe", "Hunger", "Kleiderkammer", "Kleidung", "Möbel",
      "Sozialkaufhaus", "Kleiderstube"],
     ["materielle-hilfen"],
     ["Klamotten", "Anziehsachen", "Kleiderladen", "Secondhand", "gebrauchte Möbel", "Umsonstladen",
      "Foodsharing"],
     None),
    (["Sucht", "Alkohol", "trinken", "Drogen", "kiffen", "Cannabis", "Glücksspiel", "Spielsucht",
      "Medikamente", "abhängig", "Abhängigkeit", "saufen", "besoffen"],
     ["sucht"],
     ["Alkoholiker", "Alki", "Gras", "Joint", "Haschisch", "Koks", "Kokain", "Crystal", "Heroin", "zocken",
      "Spielhalle", "Sportwetten"],
     ["suchtberatung", "sucht"]),
    (["Entgiftung", "Entzug", "Entwöhnung", "clean werden", "trocken werden"],
     ["entzug"],
     ["entgiften", "Suchtklinik", "Suchtreha", "Langzeittherapie", "Adaption"],
     None),
    (["Depression", "depressiv", "Angst", "Ängste", "Angststörung", "Panik", "Panikattacken", "Zwänge",
      "Trauma", "Essstörung", "psychisch krank", "seelisch krank", "Psychose", "Schizophrenie"],
     ["psyche"],
     ["Zwangsstörung", "Borderline", "bipolar", "Persönlichkeitsstörung", "Nervenzusammenbruch",
      "psychische Probleme", "seelische Probleme"],
     None),
    (["Tagesstätte", "Tagesstruktur", "Tagesablauf"],
     ["tagesstruktur", "spz"],
     ["Tagesstätten", "Zuverdienst", "Beschäftigung tagsüber"],
     None),
    (["betreutes Wohnen", "Wohnbetreuung", "ABW", "BeWo"],
     ["abw"],
     ["Wohnbegleitung", "Wohngruppe", "Eingliederungshilfe", "Unterstützung zu Hause"],
     None),
    (["obdachlos", "wohnungslos", "Räumung", "Zwangsräumung", "Wohnungsverlust", "Wohnung verloren",
      "Kündigung der Wohnung", "Schlafplatz", "Notunterkunft"],
     ["wohnungsnotfall"],
     ["Obdachlosigkeit", "Wohnungslosigkeit", "Notschlafstelle", "Rauswurf", "rausgeflogen", "Mietrückstand",
      "Wohnungssuche", "Wohnberechtigungsschein", "WBS", "Sozialwohnung"],
     None),
    (["Hausarzt", "Hausärztin", "Allgemeinarzt", "Allgemeinmedizin"],
     ["hausarzt"],
     ["krankschreiben", "Krankschreibung", "krankgeschrieben", "gelber Schein", "AU", "Attest",
      "Überweisung", "Rezept"],
     None),
    (["Facharzt", "Fachärztin", "Neurologe", "Orthopäde", "Frauenarzt", "Gynäkologe", "Hautarzt"],
     ["facharzt"],
     ["Augenarzt", "HNO", "Internist", "Kardiologe", "Urologe", "Neurologin", "Orthopädin", "Frauenärztin",
      "Hautärztin"],
     None),
    (["Reha", "Rehabilitation", "Kur", "Rehaklinik"],
     ["medizinische-reha", "reha-beratung"],
     ["Kurantrag", "Rehaantrag", "Mutter-Kind-Kur", "Anschlussheilbehandlung", "AHB"],
     None),
    (["Erwerbsminderung", "Erwerbsminderungsrente", "Rente", "Schwerbehinderung", "Schwerbehindertenausweis",
      "Behinderung"],
     ["reha-beratung", "eutb"],
     ["EM-Rente", "Frührente", "Frühverrentung", "Rente wegen Krankheit", "GdB", "Grad der Behinderung",
      "Versorgungsamt", "Behindertenausweis"],
     None),
    (["Bewerbung", "Bewerbungen", "Lebenslauf", "Vorstellungsgespräch", "Arbeitssuche", "Jobsuche"],
     ["jobcoaching"],
     ["Anschreiben", "Stellensuche", "Stellenanzeigen"],
     None),
    (["Sport", "Bewegung", "Fitness", "Schwimmen", "Rückenschmerzen", "Abnehmen", "Übergewicht"],
     ["sport", "gkv-kurse"],
     ["Rücken", "Rückenschule", "Bandscheibe", "Arthrose", "Rehasport", "Herzsport", "Herzgruppe",
      "Funktionstraining", "Wassergymnastik"],
     None),
    (["einsam", "Einsamkeit", "allein", "Kontakte", "Anschluss", "Leute kennenlernen"],
     ["selbsthilfe", "peer", "freizeit"],
     ["keine Freunde", "isoliert", "Treffpunkt", "Begegnung"],
     ["peer", "selbsthilfe", "freizeit"]),
    (["Erziehung", "Trennung", "Scheidung", "Eheprobleme", "Streit in der Familie", "Familienprobleme"],
     ["familienberatung"],
     ["Sorgerecht", "Umgangsrecht", "Beziehungsprobleme", "Partnerschaft"],
     None),
    (["Jugendamt", "Jugendliche", "Pubertät"],
     ["jugendhilfe", "familienberatung"],
     ["Unterhalt", "Unterhaltsvorschuss", "Beistandschaft"],
     None),
    (["Bus", "Fahrt", "Fahrdienst", "Ticket", "Sozialticket", "Mobilität", "kein Auto"],
     ["mobilitaet"],
     ["Deutschlandticket", "Monatskarte", "Fahrkarte", "Busfahrkarte", "Führerschein", "Fahrrad",
      "Bürgerbus", "Mitfahrgelegenheit", "Fahrtkosten"],
     None),
    (["Anträge", "Antrag", "Formulare", "Bescheid", "Widerspruch", "Bürgergeld", "Wohngeld",
      "Grundsicherung", "Sozialleistungen"],
     ["sozialberatung", "sozialamt"],
     ["Papierkram", "Amtsdeutsch", "Brief vom Amt", "Post vom Amt", "Stütze", "Sozialhilfe",
      "Kinderzuschlag", "Kindergeld", "Bildung und Teilhabe"],
     None),
    (["Stress mit dem Amt", "Ärger mit dem Amt", "Ärger mit dem Jobcenter", "Probleme mit dem Jobcenter",
      "Sanktion", "Leistungskürzung"],
     ["sozialberatung"],
     ["Sanktionen", "Kürzung", "Streit mit dem Jobcenter"],
     None),
    (["Haft", "Haftentlassung", "Gefängnis", "Knast", "straffällig", "Bewährungshilfe"],
     ["sozialberatung", "wohnungsnotfall"],
     ["JVA", "Vorstrafe", "vorbestraft", "Bewährung", "Straffälligenhilfe", "Sozialstunden",
      "gemeinnützige Arbeit"],
     None),
    (["Pflege", "Pflegegrad", "Angehörige pflegen", "Pflegeberatung"],
     ["gesundheitsdienste", "sozialamt"],
     ["pflegebedürftig", "Pflegedienst", "Pflegegeld"],
     None),
    (["Gewalt", "geschlagen", "Frauenhaus", "Stalking", "bedroht"],
     ["krisenhilfe", "familienberatung"],
     ["häusliche Gewalt", "sexuelle Gewalt", "Vergewaltigung", "vergewaltigt", "Missbrauch", "misshandelt",
      "Übergriff"],
     None),
    (["Krise", "Notfall", "verzweifelt", "Suizid", "Suizidgedanken"],
     ["krisenhilfe", "spdi"],
     ["lebensmüde", "Selbstmord", "Selbstmordgedanken", "Selbstverletzung", "ritzen"],
     None),
    (["addiction", "addicted", "alcohol", "drugs", "gambling", "bağımlılık", "bağımlılığı", "bağımlıyım",
      "alkol", "uyuşturucu", "kumar", "зависимость", "зависимости", "алкоголь", "алкогольная", "алкоголизм",
      "наркотики", "наркомания", "залежність", "залежності", "алкогольна", "алкоголізм", "إدمان", "الإدمان",
      "كحول", "الكحول", "مخدرات", "المخدرات"],
     ["sucht"],
     [],
     ["suchtberatung", "sucht"]),
]

# Rows not shipped before, appended after whatever the coordinators keep.
ADDED: list[dict[str, list[str]]] = [
    {"terms": ["Nervenarzt", "Nervenärztin", "Psychiater", "Psychiaterin", "Psychiatrie", "Klapse",
               "Stimmen hören", "Stimmenhören", "Halluzinationen", "Verfolgungswahn", "Wahnvorstellungen"],
     "categories": ["psychiatrie", "facharzt"]},
    {"terms": ["Psychotherapeut", "Psychotherapeutin", "Therapeut", "Therapeutin", "Therapieplatz",
               "Psychologe", "Psychologin", "Seelenklempner", "Gesprächstherapie", "Verhaltenstherapie"],
     "categories": ["psychotherapie", "hochschulambulanz", "psychologische-beratung"]},
    {"terms": ["jemand zum Reden", "reden", "zuhören", "Gesprächspartner", "Seelsorge", "Telefonseelsorge",
               "Sorgentelefon"],
     "categories": ["krisenhilfe", "peer", "psychologische-beratung"]},
    {"terms": ["1-Euro-Job", "Ein-Euro-Job", "Arbeitsgelegenheit", "AGH", "Beschäftigungsmaßnahme"],
     "categories": ["bildungstraeger"]},
    {"terms": ["Deutschkurs", "Deutsch lernen", "Sprachkurs", "Integrationskurs", "Alphabetisierung",
               "Grundbildung", "lesen lernen", "schreiben lernen"],
     "categories": ["bildung-kultur", "bildungstraeger"]},
    {"terms": ["Zahnersatz", "Prothese", "Zahnarztangst", "Angst vor dem Zahnarzt"],
     "categories": ["zahnmedizin"]},
    {"terms": ["Rauchen", "rauchfrei", "Nichtraucher", "Raucherentwöhnung", "Zigaretten"],
     "categories": ["gkv-kurse", "suchtberatung"]},
    {"terms": ["Asyl", "Asylantrag", "Aufenthalt", "Aufenthaltstitel", "Aufenthaltserlaubnis", "Duldung",
               "Ausländerbehörde", "Einbürgerung", "geflüchtet", "Geflüchtete", "Flüchtlinge", "Flucht",
               "Migration", "Zuwanderung", "Migrationsberatung"],
     "categories": ["sozialberatung"]},
    {"terms": ["Internetsucht", "Onlinesucht", "Handysucht", "Mediensucht", "Computerspielsucht",
               "Kaufsucht"],
     "categories": ["suchtberatung"]},
    {"terms": ["Stromrechnung", "Stromkosten", "Heizkosten", "Energiekosten", "Nebenkosten",
               "Nebenkostennachzahlung", "Nachzahlung", "Strom sparen", "Energie sparen"],
     "categories": ["schuldnerberatung", "sozialberatung"]},
    {"terms": ["Haustier", "Hund", "Katze", "Tierbetreuung", "Tierfutter", "Tierarzt", "Tiertafel"],
     "categories": ["materielle-hilfen"]},
    {"terms": ["Mobbing", "gemobbt", "Schulprobleme", "Ärger in der Schule"],
     "categories": ["familienberatung", "jugendhilfe", "psychologische-beratung"]},
    {"terms": ["dentist", "toothache", "diş hekimi", "dişçi", "diş ağrısı", "стоматолог", "зубной врач",
               "зубная боль", "зубний лікар", "зубний біль", "طبيب أسنان", "طبيب الأسنان", "ألم الأسنان"],
     "categories": ["zahnmedizin"]},
    {"terms": ["German course", "learn German", "language course", "Almanca kursu", "Almanca öğrenmek",
               "dil kursu", "курсы немецкого", "немецкий язык", "курси німецької", "німецька мова",
               "دورة لغة ألمانية", "تعلم الألمانية", "دورة لغة"],
     "categories": ["bildung-kultur", "bildungstraeger"]},
    {"terms": ["lonely", "loneliness", "yalnız", "yalnızlık", "одиночество", "одиноко", "самотність",
               "самотньо", "وحيد", "وحيدة"],
     "categories": ["peer", "selbsthilfe", "freizeit"]},
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
    for terms, categories, extra, order in WIDENED:
        for row_id, have_terms, have_categories in rows:
            if have_terms == terms and have_categories == categories:
                bind.execute(table.update().where(table.c.id == row_id).values(
                    terms=terms + extra, categories=order or categories, updated_at=now))
    present = [r.terms for r in rows]
    missing = [r for r in ADDED if r["terms"] not in present]
    start = (bind.scalar(sa.select(sa.func.max(table.c.position))) or 0) + 1
    if missing:  # after whatever the coordinators keep
        op.bulk_insert(table, [{"terms": r["terms"], "categories": r["categories"], "position": start + i,
                                "updated_at": now} for i, r in enumerate(missing)])


def downgrade() -> None:
    table, bind = _table(), op.get_bind()
    added = [r["terms"] for r in ADDED]
    for row_id, have_terms, have_categories in _rows():
        if have_terms in added:
            bind.execute(table.delete().where(table.c.id == row_id))
            continue
        for terms, categories, extra, order in WIDENED:
            if have_terms == terms + extra and have_categories == (order or categories):
                bind.execute(table.update().where(table.c.id == row_id).values(terms=terms,
                                                                                categories=categories))
