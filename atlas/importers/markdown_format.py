"""Markdown pipe tables, DokuWiki tables (^ header ^) and MediaWiki tables ({| ... |}) of a wiki export."""

from __future__ import annotations

import re
from pathlib import Path

from .files import decode_text, read_bytes
from .records import ImportFileError, ReadOptions, ReadResult
from .tabular import records_from_tables

Cell = tuple[str, str | None]
MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
WIKI_EXTERNAL = re.compile(r"\[(https?://[^\s\]]+)(?:\s+([^\]]*))?\]")
WIKI_INTERNAL = re.compile(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]")
AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^>]+)>")
SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def clean_cell(raw: str) -> Cell:
    """Strip Markdown/wiki markup from a cell; return its text and its first link target."""
    link = None
    found = MD_LINK.search(raw) or WIKI_EXTERNAL.search(raw) or AUTOLINK.search(raw)
    if found:
        link = found.group(2) if found.re is MD_LINK else found.group(1)
    text = MD_LINK.sub(lambda m: m.group(1), raw)
    text = WIKI_EXTERNAL.sub(lambda m: m.group(2) or m.group(1), text)
    text = WIKI_INTERNAL.sub(lambda m: m.group(1), text)
    text = AUTOLINK.sub(lambda m: m.group(1).removeprefix("mailto:"), text)
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    text = re.sub(r"\*\*|__|''+|`", "", text)
    return text.replace("\\|", "|").strip(), link


def split_pipes(line: str, marker: str = "|") -> list[str]:
    """Split a table line at unescaped separators."""
    body = line.strip()
    body = body[1:] if body.startswith(marker) or body.startswith("^") else body
    body = body[:-1] if body.endswith(("|", "^")) and not body.endswith("\\|") else body
    return [c.strip() for c in re.split(r"(?<!\\)[|^]", body)]


def pipe_tables(lines: list[str]) -> list:
    """Markdown (with a --- separator line) and DokuWiki (^ header ^) tables."""
    tables = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        is_md = line.startswith("|") and i + 1 < len(lines) and SEPARATOR.match(lines[i + 1].strip())
        is_doku = line.startswith("^")
        if not (is_md or is_doku):
            i += 1
            continue
        header = [clean_cell(c) for c in split_pipes(line)]
        i += 2 if is_md else 1
        rows = []
        while i < len(lines) and lines[i].strip().startswith(("|", "^")):
            rows.append((i + 1, [clean_cell(c) for c in split_pipes(lines[i])]))
            i += 1
        if rows:
            tables.append((header, rows))
    return tables


def mediawiki_tables(lines: list[str]) -> list:
    """MediaWiki tables: {| ... |- ... ! header !! header ... | cell || cell ... |}."""
    tables = []
    current: list[tuple[int, list[str], bool]] | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line.startswith("{|"):
            current = []
        elif current is None:
            continue
        elif line.startswith("|}"):
            rows = [r for r in current if r[1]]
            if len(rows) >= 2:
                tables.append(([clean_cell(_attr(c)) for c in rows[0][1]],
                               [(n, [clean_cell(_attr(c)) for c in cells]) for n, cells, _h in rows[1:]]))
            current = None
        elif line.startswith("|-"):
            current.append((number + 1, [], False))
        elif line.startswith("|+"):
            continue
        elif line.startswith(("!", "|")):
            if not current:
                current.append((number, [], False))
            sep = "!!" if line.startswith("!") else "||"
            cells = [c for c in re.split(re.escape(sep) + r"|\|\|", line[1:])]
            current[-1][1].extend(cells)
        elif current and current[-1][1]:
            current[-1][1][-1] += "\n" + line
    return tables


def _attr(cell: str) -> str:
    """Drop a MediaWiki cell attribute prefix (style="..." | text)."""
    match = re.match(r'^\s*[a-z-]+="[^"]*"(?:\s+[a-z-]+="[^"]*")*\s*\|(?!\|)(.*)$', cell, re.DOTALL)
    return match.group(1) if match else cell


def read(path: Path, options: ReadOptions) -> ReadResult:
    """Read the tables of a Markdown or wiki page into records (row numbers are source lines)."""
    data = read_bytes(path, options.max_bytes)
    text, warnings = decode_text(data, "Markdown- oder Wiki-Datei")
    lines = text.split("\n")
    tables = mediawiki_tables(lines) + pipe_tables(lines)
    if not tables:
        raise ImportFileError("In der Datei steht keine Tabelle (Markdown | … |, DokuWiki ^ … ^ oder "
                              "MediaWiki {| … |}).")
    result = records_from_tables("markdown", tables, options.mapping, options.max_rows)
    result.warnings[:0] = warnings
    return result
