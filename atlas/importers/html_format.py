"""HTML tables, e.g. a saved "Netzwerkkarte" wiki page (name, address, phone, web, notes)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from .files import decode_text, read_bytes
from .records import ImportFileError, ReadOptions, ReadResult
from .tabular import records_from_tables

Cell = tuple[str, str | None]


class TableParser(HTMLParser):
    """Collects every <table> as rows of (text, first link) cells with the source line of each row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[tuple[int, list[Cell], bool]]] = []
        self.stack: list[list[tuple[int, list[Cell], bool]]] = []
        self.row: list[Cell] | None = None
        self.row_line = 0
        self.row_is_header = False
        self.cell: list[str] | None = None
        self.link: str | None = None
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "table":
            self.stack.append([])
        elif tag == "tr" and self.stack:
            self._end_row()
            self.row, self.row_line, self.row_is_header = [], self.getpos()[0], False
        elif tag in ("td", "th") and self.row is not None:
            self._end_cell()
            self.cell, self.link = [], None
            self.row_is_header = self.row_is_header or tag == "th"
        elif tag == "a" and self.cell is not None and self.link is None:
            self.link = dict(attrs).get("href")
        elif tag in ("br", "p", "li") and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "table" and self.stack:
            self._end_row()
            table = self.stack.pop()
            if table:
                self.tables.append(table)

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.skip:
            self.cell.append(data)

    def _end_cell(self) -> None:
        if self.cell is not None and self.row is not None:
            text = "\n".join(" ".join(line.split()) for line in "".join(self.cell).split("\n"))
            self.row.append((text.strip("\n "), self.link))
        self.cell, self.link = None, None

    def _end_row(self) -> None:
        self._end_cell()
        if self.row is not None and self.stack:
            self.stack[-1].append((self.row_line, self.row, self.row_is_header))
        self.row = None


def tables_from_html(text: str) -> list:
    """Parse tables into (header cells, numbered rows)."""
    parser = TableParser()
    parser.feed(text)
    parser.close()
    tables = []
    for rows in parser.tables:
        rows = [r for r in rows if any(t for t, _l in r[1])]
        if len(rows) < 2:
            continue
        header = rows[0][1]
        tables.append((header, [(line, cells) for line, cells, _h in rows[1:]]))
    return tables


def read(path: Path, options: ReadOptions) -> ReadResult:
    """Read the tables of an HTML page into records (row numbers are source lines)."""
    data = read_bytes(path, options.max_bytes)
    text, warnings = decode_text(data, "HTML-Datei")
    tables = tables_from_html(text)
    if not tables:
        raise ImportFileError("Die HTML-Datei enthält keine Tabelle mit Kopfzeile und Daten.")
    result = records_from_tables("html", tables, options.mapping, options.max_rows)
    result.warnings[:0] = warnings
    return result
