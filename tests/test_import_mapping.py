"""The column-mapping step: headers by meaning, content sniffing, confidence, questions, remembered mappings;
categories by alias and similar spelling; places outside the atlas's regions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from test_import_web import commit, follow, preview_form, upload

from atlas.db import get_session
from atlas.importers.mapping import content_profile, header_scores
from atlas.importers.models import ImportMapping
from atlas.importers.plan import Categories
from atlas.importers.tabular import FOLDED_SYNONYMS, header_key
from atlas.models import Service, TaxonomyTerm

DATA = Path(__file__).parent / "data" / "import"


def run(app, *args):
    return app.test_cli_runner().invoke(args=["import", *map(str, args)])


def test_messy_german_spreadsheet_is_mapped_by_meaning(app):
    result = run(app, DATA / "messy_de.csv", "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "„Name der Einrichtung“ → Name (75 %, Wort „name“)" in out
    assert "„Angebot“ → Beschreibung (70 %, Inhalt: lange Texte)" in out  # long sentences are no name
    assert "„Träger / Verband“ → Träger" in out and "„Str. u. Hausnr.“ → Straße" in out
    # categories by alias ("Integrationsfachdienst (IFD)") and by similar spelling, with a word about it
    assert "Integrationsfachdienst EN                neuer Träger; ifd" in out
    assert "Kategorie „Schuldnerberatng“ als „Schuldnerberatung“ übernommen" in out
    # a 4-digit postcode and a place outside the atlas's regions: imported, with a warning per row
    assert "Postleitzahl „1069“ hat nur vier Ziffern; als „01069“ gelesen." in out
    assert "„01069 Dresden“ liegt außerhalb der Regionen des Atlas" in out
    assert out.count("liegt außerhalb der Regionen") == 1
    assert "3 neu" in out


def test_names_are_kept_not_replaced_by_descriptions(app):
    assert run(app, DATA / "messy_de.csv", "--source", "Messy").exit_code == 0
    with app.app_context():
        svc = get_session().scalar(select(Service).where(Service.name == "Suchtberatung Kompass"))
        assert svc.description.startswith("Wir beraten Menschen") and svc.organization.name == "Diakonie Mark-Ruhr"


def test_a_doubtful_name_column_stops_with_a_question(app, tmp_path):
    result = run(app, DATA / "only_long_texts.csv", "--dry-run")
    assert result.exit_code == 1
    assert "Keine Spalte für den Namen gefunden – welche Spalte enthält den Namen?" in result.output
    assert "--mapping" in result.output
    mapping = tmp_path / "zuordnung.json"
    mapping.write_text(json.dumps({"Angebot": "name"}), encoding="utf-8")
    answered = run(app, DATA / "only_long_texts.csv", "--mapping", mapping, "--dry-run")
    assert answered.exit_code == 0 and "„Angebot“ → Name (100 %, festgelegt)" in answered.output


def test_mapping_is_remembered_per_source(app, tmp_path):
    mapping = tmp_path / "zuordnung.json"
    mapping.write_text(json.dumps({"Angebot": "name"}), encoding="utf-8")
    assert run(app, DATA / "only_long_texts.csv", "--mapping", mapping, "--source", "Liste A").exit_code == 0
    again = run(app, DATA / "only_long_texts.csv", "--source", "Liste A", "--dry-run")
    assert again.exit_code == 0 and "„Angebot“ → Name (100 %, festgelegt)" in again.output
    other = run(app, DATA / "only_long_texts.csv", "--source", "Liste B", "--dry-run")
    assert other.exit_code == 1  # another source does not inherit it
    with app.app_context():
        stored = {m.column_key: m.field for m in get_session().scalars(select(ImportMapping))}
        assert stored["angebot"] == "name" and stored["ort"] == "city"


@pytest.mark.parametrize("header,field,minimum", [("Name der Einrichtung", "name", 0.7), ("Telfon", "phone", 0.5),
                                                  ("E-Mail des Trägers", "email", 0.7),
                                                  ("Straße und Hausnummer", "street", 0.9)])
def test_header_words_and_similar_spellings(header, field, minimum):
    scores = header_scores(header_key(header), FOLDED_SYNONYMS)
    assert scores[field][0] >= minimum


def test_content_sniffing():
    assert content_profile(["info@a.example", "b@c.example"])["email"] == 1
    assert content_profile(["Ein langer Satz mit sehr vielen Wörtern, der ein Angebot beschreibt und erklärt."])["long"] == 1


def test_categories_by_alias_and_with_did_you_mean(app):
    with app.app_context():
        categories = Categories(get_session().scalars(select(TaxonomyTerm)).all())
    assert categories.resolve(["Integrationsfachdienst"])[0] == ["ifd"]
    assert categories.resolve(["IFD"])[0] == ["ifd"]
    slugs, unknown, _optional, _notes = categories.resolve(["Suchtberatungsstelle"])
    assert slugs == [] and unknown == ["„Suchtberatungsstelle“ – Meinten Sie „Suchtberatung“?"]


def test_web_mapping_step_shows_confidence_and_takes_changes(coordinator_client, app):
    page = upload(coordinator_client, DATA / "messy_de.csv", quelle="Messy web").get_data(as_text=True)
    assert "Zuordnung der Spalten" in page and "75 %" in page and "Inhalt: lange Texte" in page
    action = re.search(r'action="(/verwaltung/import/[^"]+/zuordnung)"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    fields = dict(re.findall(r'name="(spalte-\d+)" value="([^"]*)"', page))
    form = {"csrf_token": token, **fields}
    form |= {k.replace("spalte", "feld"): "ignore" for k in fields}
    index = next(k for k, v in fields.items() if v == "Name der Einrichtung").removeprefix("spalte-")
    form[f"feld-{index}"] = "name"
    again = follow(coordinator_client, coordinator_client.post(action, data=form)).get_data(as_text=True)
    assert "festgelegt" in again and "Standorte: keine" in again  # everything but the name is ignored now
    commit_url, checksum, csrf = preview_form(again)
    commit(coordinator_client, commit_url, csrf_token=csrf, pruefsumme=checksum)
    with app.app_context():
        stored = {m.column_key: m.field for m in get_session().scalars(
            select(ImportMapping).where(ImportMapping.source == "Messy web"))}
    assert stored["name der einrichtung"] == "name" and stored["angebot"] == "ignore"


def test_web_question_for_a_doubtful_name_column(coordinator_client):
    page = upload(coordinator_client, DATA / "only_long_texts.csv").get_data(as_text=True)
    assert "welche Spalte enthält den Namen?" in page and 'name="feld-0"' in page
