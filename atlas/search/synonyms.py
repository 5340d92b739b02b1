"""Synonym rules and the need table: stored in the database, seeded from seeds/, edited by coordinators as text."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import SearchNeed, SearchSynonym

SEED_FILE = Path(__file__).resolve().parent.parent.parent / "seeds" / "synonyms.json"
NEEDS_FILE = SEED_FILE.with_name("needs.json")
NEED_LANGUAGES_FILE = SEED_FILE.with_name("needs-languages.json")
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


@dataclass(frozen=True)
class Need:
    """Words of a need and the categories (slugs) whose offers meet it."""

    terms: tuple[str, ...]
    categories: tuple[str, ...]

    def as_line(self) -> str:
        """The row in the editing format: `Tafel, Hunger => materielle-hilfen`."""
        return f"{', '.join(self.terms)} => {', '.join(self.categories)}"


def parse_needs(text: str, slugs: dict[str, str]) -> list[Need]:
    """Parse one need per line (`words => category slugs`); slugs maps every known slug to its name.

    Raises SynonymError with German problems by line, naming the closest slug for an unknown one."""
    needs: list[Need] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        left, arrow, right = line.partition("=>")
        terms, categories = _split_terms(left), [c.lower() for c in _split_terms(right)]
        unknown = [c for c in categories if c not in slugs]
        if not arrow or not terms or not categories or "=>" in right:
            problems.append(f"Zeile {number}: Bitte so schreiben: Wörter mit Komma, dann „=>“ und die Kürzel der "
                            f"Kategorien (z. B. „Tafel, Hunger => materielle-hilfen“).")
        elif unknown:
            close = difflib.get_close_matches(unknown[0], list(slugs), n=1)
            hint = f" Meinten Sie „{close[0]}“ ({slugs[close[0]]})?" if close else ""
            problems.append(f"Zeile {number}: Die Kategorie „{unknown[0]}“ gibt es nicht.{hint}")
        elif any(len(t) > MAX_TERM_LENGTH for t in terms):
            problems.append(f"Zeile {number}: Ein Begriff ist länger als {MAX_TERM_LENGTH} Zeichen.")
        elif len(terms) + len(categories) > MAX_TERMS:
            problems.append(f"Zeile {number}: Höchstens {MAX_TERMS} Begriffe pro Zeile.")
        else:
            needs.append(Need(tuple(terms), tuple(dict.fromkeys(categories))))
    if len(needs) > MAX_RULES:
        problems.append(f"Höchstens {MAX_RULES} Zeilen; es sind {len(needs)}.")
    if problems:
        raise SynonymError(problems)
    return needs


def load_needs(session: Session) -> list[Need]:
    """The need table in force, in its saved order."""
    rows = session.scalars(select(SearchNeed).order_by(SearchNeed.position, SearchNeed.id))
    return [Need(tuple(r.terms or ()), tuple(r.categories or ())) for r in rows]


def save_needs(session: Session, needs: list[Need]) -> None:
    """Replace the need table (the caller commits)."""
    session.execute(delete(SearchNeed))
    session.add_all(SearchNeed(terms=list(n.terms), categories=list(n.categories), position=i)
                    for i, n in enumerate(needs))


def seed_needs(paths: tuple[Path, ...] = (NEEDS_FILE, NEED_LANGUAGES_FILE)) -> list[Need]:
    """The need table shipped in seeds/needs.json, then the rows in other languages (seeds/needs-languages.json)."""
    rows = [r for path in paths if path.exists() for r in json.loads(path.read_text(encoding="utf-8")).get("needs", [])]
    return [Need(tuple(r["terms"]), tuple(r["categories"])) for r in rows]
