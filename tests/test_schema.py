"""Alembic migrations on the test database (SQLite file, or PostgreSQL in CI's second run)."""

import importlib.util
import json
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from atlas import schema
from atlas.db import Base
from atlas.search.synonyms import NEED_LANGUAGES_FILE


def test_upgrade_downgrade_upgrade(make_app):
    engine = make_app().extensions["atlas.engine"]
    assert schema.current_revision(engine) is None
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.head_revision()
    tables = set(sa.inspect(engine).get_table_names())
    assert {"organization", "service", "location", "address", "phone", "contact", "schedule", "service_at_location",
            "taxonomy_term", "region", "jobcenter", "user", "api_token", "audit_log", "geocode_cache"} <= tables
    schema.downgrade(engine, "base")
    assert schema.current_revision(engine) is None
    assert "service" not in sa.inspect(engine).get_table_names()
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.head_revision()


def test_models_and_migrations_agree(empty_app):
    """A model change without a migration fails here: later issues must add migrations."""
    engine = empty_app.extensions["atlas.engine"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_init_db_cli_creates_then_reports_up_to_date(make_app):
    app = make_app()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    assert "created at revision" in first.output
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0 and "up to date" in second.output


def test_init_db_unreachable_database(tmp_path):
    from atlas import create_app
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 1
    assert "cannot be reached" in result.output
    assert "Traceback" not in result.output


def test_commands_refuse_an_unmigrated_database(make_app):
    result = make_app().test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 1
    assert "run 'flask --app atlas init-db' first" in result.output


def test_healthz_reports_schema(empty_app):
    body = empty_app.test_client().get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True
    assert body["schema"] == {"current": schema.head_revision(), "head": schema.head_revision(), "up_to_date": True}


def test_healthz_outdated_schema_is_503(empty_app):
    schema.downgrade(empty_app.extensions["atlas.engine"], "base")
    response = empty_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["schema"]["up_to_date"] is False


def test_healthz_unreachable_database(tmp_path):
    from atlas import create_app
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"]["reachable"] is False


def test_an_existing_need_table_keeps_its_rows_and_gains_the_other_languages_after_them(make_app):
    engine = make_app().extensions["atlas.engine"]
    schema.upgrade(engine, "0014")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM search_need"))
        conn.execute(sa.text("INSERT INTO search_need (terms, categories, position, updated_at) "
                             "VALUES ('[\"Liebeskummer\"]', '[\"familienberatung\"]', 0, CURRENT_TIMESTAMP)"))
    schema.upgrade(engine, "0015")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT terms, position FROM search_need ORDER BY position")).all()
    terms = [json.loads(t) if isinstance(t, str) else t for t, _position in rows]  # JSON text on SQLite
    assert terms[0] == ["Liebeskummer"] and rows[0][1] == 0  # the coordinators' own row stays first
    languages = json.loads(NEED_LANGUAGES_FILE.read_text(encoding="utf-8"))["needs"]
    assert len(rows) == 1 + len(languages) and any("borç" in t for t in terms)
    schema.downgrade(engine, "0014")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM search_need")).scalar() == 1


def _term_rows(engine, table: str, column: str) -> list[tuple[list[str], list[str]]]:
    """(terms, the other list) of the need table (categories) or the synonyms (expands_to), in their order."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT terms, {column} FROM {table} ORDER BY position, id")).all()
    return [tuple(json.loads(v) if isinstance(v, str) else v for v in row) for row in rows]  # JSON text on SQLite


def _set_term_rows(engine, table: str, column: str, rows: list[tuple[list[str], list[str]]]) -> None:
    """Replace the need table or the synonyms by these rows (a coordinator's edits, or as an earlier step left it)."""
    with engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {table}"))
        for position, (terms, other) in enumerate(rows):
            conn.execute(sa.text(f"INSERT INTO {table} (terms, {column}, position, updated_at) "
                                 "VALUES (:t, :o, :p, CURRENT_TIMESTAMP)"),
                         {"t": json.dumps(terms), "o": json.dumps(other), "p": position})


def _need_rows(engine) -> list[tuple[list[str], list[str]]]:
    return _term_rows(engine, "search_need", "categories")


def _set_need_rows(engine, rows: list[tuple[list[str], list[str]]]) -> None:
    _set_term_rows(engine, "search_need", "categories", rows)


def _synonym_rows(engine) -> list[tuple[list[str], list[str]]]:
    return _term_rows(engine, "search_synonym", "expands_to")


def _set_synonym_rows(engine, rows: list[tuple[list[str], list[str]]]) -> None:
    _set_term_rows(engine, "search_synonym", "expands_to", rows)


def _migration(name: str):
    path = Path(__file__).resolve().parents[1] / "migrations" / "versions" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_everyday_need_words_widen_the_shipped_rows_and_leave_a_coordinators_rows_alone(make_app):
    from atlas.search.synonyms import seed_needs
    step = _migration("0016_need_everyday_words.py")
    engine = make_app().extensions["atlas.engine"]
    schema.upgrade(engine, "0015")
    edited = (["Sucht", "Alkohol", "Spielsucht"], ["suchtberatung"])  # a coordinator shortened the shipped row
    old = [(terms, categories) for terms, categories, _extra, _order in step.WIDENED if terms[0] != "Sucht"]
    _set_need_rows(engine, [edited, *old])
    schema.upgrade(engine, "0016")
    rows = _need_rows(engine)
    shipped = [(list(n.terms), list(n.categories)) for n in seed_needs()]
    assert rows[0] == edited
    widened = [(terms + extra, order or categories) for terms, categories, extra, order in step.WIDENED
               if terms[0] != "Sucht"]
    assert rows[1:len(old) + 1] == widened
    # Later steps only add, but for 0021, which moved "Bürgergeld" to a row of its own.
    later = [[t for t in terms if t != "Bürgergeld"] for terms, _c in widened]
    assert all(any(r[0][:len(terms)] == terms for r in shipped) for terms in later)
    assert rows[len(old) + 1:] == [(r["terms"], r["categories"]) for r in step.ADDED]
    assert any("Klamotten" in terms for terms, _c in rows) and any("Nervenarzt" in terms for terms, _c in rows)
    schema.downgrade(engine, "0015")
    assert _need_rows(engine) == [edited, *old]


def test_need_rows_for_every_category_are_added_where_missing_after_a_coordinators_rows(make_app):
    step = _migration("0017_need_rows_for_every_category.py")
    engine = make_app().extensions["atlas.engine"]
    schema.upgrade(engine, "0016")
    own = (["Liebeskummer"], ["psychologische-beratung"])
    kept = (step.ADDED[7]["terms"], step.ADDED[7]["categories"])  # already there (a coordinator added it early)
    _set_need_rows(engine, [own, kept])
    schema.upgrade(engine, "0017")
    rows = _need_rows(engine)
    assert rows[:2] == [own, kept]
    assert rows[2:] == [(r["terms"], r["categories"]) for i, r in enumerate(step.ADDED) if i != 7]
    schema.downgrade(engine, "0016")
    assert _need_rows(engine) == [own]  # the row this step did not add goes with the others: it is the shipped one


def test_more_everyday_need_words_widen_rows_still_as_shipped_and_add_the_symptom_row(make_app):
    step = _migration("0018_need_everyday_words_2.py")
    engine = make_app().extensions["atlas.engine"]
    schema.upgrade(engine, "0017")
    tafel = next((terms, categories) for terms, categories, _extra in step.WIDENED if terms[0] == "Tafel")
    edited = (["Schulden", "Mahnung"], ["schuldnerberatung"])  # a coordinator's shortened row stays as it is
    _set_need_rows(engine, [edited, tafel])
    schema.upgrade(engine, "0018")
    rows = _need_rows(engine)
    assert rows[0] == edited
    assert rows[1][0][:len(tafel[0])] == tafel[0] and {"Suppenküche", "Mittagstisch"} <= set(rows[1][0])
    assert rows[2:] == [(r["terms"], r["categories"]) for r in step.ADDED]
    assert "Zwangsgedanken" in rows[2][0] and rows[2][1][0] == "psychotherapie"
    schema.downgrade(engine, "0017")
    assert _need_rows(engine) == [edited, tafel]


def test_other_language_rows_narrow_the_shipped_mental_health_row_and_add_rows_where_missing(make_app):
    step = _migration("0019_need_rows_in_other_languages_2.py")
    engine = make_app().extensions["atlas.engine"]
    schema.upgrade(engine, "0018")
    own = (["Liebeskummer"], ["psychologische-beratung"])
    edited = (["debt", "borç"], ["schuldnerberatung"])  # a coordinator's shortened row stays as it is
    kept = (step.ADDED[0]["terms"], step.ADDED[0]["categories"])  # already there: not added twice
    _set_need_rows(engine, [own, step.SHIPPED_PSYCHE, edited, kept])
    schema.upgrade(engine, "0019")
    rows = _need_rows(engine)
    assert rows[:4] == [own, step.NARROWED_PSYCHE, edited, kept]
    assert rows[4:] == [(r["terms"], r["categories"]) for r in step.ADDED[1:]]
    assert "психотерапевт" not in rows[1][0] and "психотерапевт" in rows[3][0]
    schema.downgrade(engine, "0018")
    assert _need_rows(engine) == [own, step.SHIPPED_PSYCHE, edited]  # the shipped row that was there goes too


def test_everyday_need_rows_3_are_added_where_missing_after_a_coordinators_rows(make_app):
    step = _migration("0020_need_everyday_words_3.py")
    engine = make_app().extensions["atlas.engine"]
    schema.upgrade(engine, "0019")
    own = (["Liebeskummer"], ["psychologische-beratung"])
    kept = (step.ADDED[3]["terms"], step.ADDED[3]["categories"])  # already there: not added twice
    _set_need_rows(engine, [own, kept])
    schema.upgrade(engine, "0020")
    rows = _need_rows(engine)
    assert rows[:2] == [own, kept]
    assert rows[2:] == [(r["terms"], r["categories"]) for i, r in enumerate(step.ADDED) if i != 3]
    assert any("Bahnhofsmission" in terms for terms, _c in rows)
    schema.downgrade(engine, "0019")
    assert _need_rows(engine) == [own]


def test_buergergeld_leaves_the_shipped_forms_row_for_a_row_of_its_own_and_a_coordinators_rows_stay(make_app):
    step = _migration("0021_buergergeld_is_no_sozialamt_need.py")
    engine = make_app().extensions["atlas.engine"]
    schema.upgrade(engine, "0020")
    own = (["Liebeskummer"], ["psychologische-beratung"])
    _set_need_rows(engine, [own, step.SHIPPED_FORMS])
    schema.upgrade(engine, "0021")
    rows = _need_rows(engine)
    assert rows == [own, step.NARROWED_FORMS, (["Bürgergeld"], ["sozialberatung", "anlaufstellen"])]
    assert "Bürgergeld" not in rows[1][0] and "Grundsicherung" in rows[1][0]  # SGB XII stays with the Sozialamt
    schema.downgrade(engine, "0020")
    assert _need_rows(engine) == [own, step.SHIPPED_FORMS]
    edited = (["Bürgergeld", "Antrag"], ["sozialamt"])  # a coordinator's own choice stays, and no second row comes
    _set_need_rows(engine, [edited])
    schema.upgrade(engine, "0021")
    assert _need_rows(engine) == [edited]


def test_everyday_synonyms_and_the_newcomers_row_are_added_after_a_coordinators_unless_one_holds_the_word(make_app):
    from atlas.search.synonyms import seed_needs, seed_rules
    step = _migration("0022_everyday_words_4.py")
    engine = make_app().extensions["atlas.engine"]
    schema.upgrade(engine, "0021")
    own = (["Hartz IV", "Bürgergeld"], [])
    klamotten = (["kleidung", "Klamotten"], [])  # a coordinator's own rule for the word stays the only one
    _set_synonym_rows(engine, [own, klamotten])
    need = (["Liebeskummer"], ["psychologische-beratung"])
    _set_need_rows(engine, [need])
    schema.upgrade(engine, "0022")
    rows = _synonym_rows(engine)
    assert rows[:2] == [own, klamotten]
    assert rows[2:] == [(r["terms"], r["expands_to"]) for r in step.ADDED if r["terms"][0] != "Kleidung"]
    assert (["saufen", "besoffen", "Alki", "Suff"], ["Alkohol"]) in rows
    assert _need_rows(engine) == [need, (step.ADDED_NEEDS[0]["terms"], ["sozialberatung"])]
    schema.downgrade(engine, "0021")
    assert _synonym_rows(engine) == [own, klamotten] and _need_rows(engine) == [need]
    # Fresh databases hold them from 0004 and 0014, which read the seeds files.
    shipped = [(list(r.terms), list(r.expands_to)) for r in seed_rules()]
    assert all((r["terms"], r["expands_to"]) in shipped for r in step.ADDED)
    assert all((r["terms"], r["categories"]) in [(list(n.terms), list(n.categories)) for n in seed_needs()]
               for r in step.ADDED_NEEDS)


def test_every_category_is_reached_by_a_need_row_or_is_for_staff_and_employers_only():
    from atlas.search.synonyms import seed_needs
    taxonomy = json.loads((Path(__file__).resolve().parents[1] / "seeds" / "taxonomy.json").read_text(encoding="utf-8"))
    reached = {slug for need in seed_needs() for slug in need.categories}
    # A top-level area is reached through its sub-categories. Employers, chambers and working groups are what staff
    # look up by name, not a need; diagnostics are asked for by what is examined ("ADHS-Diagnostik", "Schlaflabor"),
    # and a row leading every such word to the whole category put autism clinics first for "Verdacht auf ADHS".
    not_needs = {"arbeitgeber", "kammern", "arbeitskreise", "diagnostik"}
    missing = [child["slug"] for area in taxonomy["terms"] for child in area.get("children", [])
               if child["slug"] not in reached and child["slug"] not in not_needs]
    assert not missing, f"categories no need row leads to: {missing}"


def test_a_fresh_database_holds_the_shipped_need_table_once(make_app):
    from atlas.search.synonyms import seed_needs
    engine = make_app().extensions["atlas.engine"]
    schema.upgrade(engine)
    shipped = [(list(n.terms), list(n.categories)) for n in seed_needs()]
    assert _need_rows(engine) == shipped
    sucht = next(categories for terms, categories in shipped if terms[0] == "Sucht")
    assert sucht == ["suchtberatung", "sucht"]  # counselling is the first stop, the clinics come after it


def test_the_sozialamt_rule_is_added_after_a_coordinators_rules_unless_one_holds_the_word(make_app):
    from atlas.search.synonyms import seed_rules
    step = _migration("0023_sozialamt_by_its_official_names.py")
    engine = make_app().extensions["atlas.engine"]
    schema.upgrade(engine, "0022")
    own = (["Hartz IV", "Bürgergeld"], [])
    _set_synonym_rows(engine, [own])
    schema.upgrade(engine, "0023")
    assert _synonym_rows(engine) == [own, (step.ADDED["terms"], step.ADDED["expands_to"])]
    schema.downgrade(engine, "0022")
    assert _synonym_rows(engine) == [own]
    mine = (["sozialamt", "Stadtverwaltung"], [])  # a coordinator's own rule for the word stays the only one
    _set_synonym_rows(engine, [own, mine])
    schema.upgrade(engine, "0023")
    assert _synonym_rows(engine) == [own, mine]
    # Fresh databases hold it from 0004, which reads the seeds file.
    assert (step.ADDED["terms"], step.ADDED["expands_to"]) in [(list(r.terms), list(r.expands_to)) for r in seed_rules()]
