"""Synonym rules: stored in the database, seeded from seeds/synonyms.json, edited by coordinators as text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import SearchSynonym

SEED_FILE = Path(__file__).resolve().parent.parent.parent / "seeds" / "synonyms.json"
MAX_RULES = 500
MAX_TERMS = 30
MAX_TERM_LENGTH = 80


@dataclass(frozen=True)
class Rule:
    """Equivalent terms, or terms that also search `expands_to` (one way)."""

    terms: tuple[str, ...]
    expands_to: tuple[str, ...] = ()

    def as_line(self) -> str:
        """The rule in the editing format: `a, b, c` or `a, b => c, d`."""
        left = ", ".join(self.terms)
        return f"{left} => {', '.join(self.expands_to)}" if self.expands_to else left


class SynonymError(ValueError):
    """The edited synonym text has errors; `problems` lists them by line, in German."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _split_terms(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_rules(text: str) -> list[Rule]:
    """Parse one rule per line (`a, b, c` means the same; `a => b, c` searches b and c too); raises SynonymError."""
    rules: list[Rule] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        left, arrow, right = line.partition("=>")
        terms, targets = _split_terms(left), _split_terms(right)
        if arrow and not (terms and targets):
            problems.append(f"Zeile {number}: Links und rechts von „=>“ muss mindestens ein Begriff stehen.")
        elif not arrow and len(terms) < 2:
            problems.append(f"Zeile {number}: Bitte mindestens zwei Begriffe mit Komma trennen (z. B. „Arzt, Doktor“).")
        elif "=>" in right:
            problems.append(f"Zeile {number}: „=>“ darf nur einmal vorkommen.")
        elif any(len(t) > MAX_TERM_LENGTH for t in terms + targets):
            problems.append(f"Zeile {number}: Ein Begriff ist länger als {MAX_TERM_LENGTH} Zeichen.")
        elif len(terms) + len(targets) > MAX_TERMS:
            problems.append(f"Zeile {number}: Höchstens {MAX_TERMS} Begriffe pro Zeile.")
        else:
            rules.append(Rule(tuple(terms), tuple(targets)))
    if len(rules) > MAX_RULES:
        problems.append(f"Höchstens {MAX_RULES} Regeln; es sind {len(rules)}.")
    if problems:
        raise SynonymError(problems)
    return rules


def load_rules(session: Session) -> list[Rule]:
    """The rules in force, in their saved order."""
    rows = session.scalars(select(SearchSynonym).order_by(SearchSynonym.position, SearchSynonym.id))
    return [Rule(tuple(r.terms or ()), tuple(r.expands_to or ())) for r in rows]


def save_rules(session: Session, rules: list[Rule]) -> None:
    """Replace all rules (the caller commits)."""
    session.execute(delete(SearchSynonym))
    session.add_all(SearchSynonym(terms=list(r.terms), expands_to=list(r.expands_to), position=i)
                    for i, r in enumerate(rules))


def seed_rules(path: Path = SEED_FILE) -> list[Rule]:
    """The rules shipped in seeds/synonyms.json."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Rule(tuple(r["terms"]), tuple(r.get("expands_to", ()))) for r in data.get("synonyms", [])]
