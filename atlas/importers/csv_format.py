"""CSV as people export it: `;`, `,` or tab, UTF-8 with or without BOM, Windows-1252, Excel's "sep=" line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .files import decode_text, read_bytes
from .records import ImportFileError, ReadOptions, ReadResult
from .tabular import records_from_rows

DELIMITERS = (";", ",", "\t", "|")


def sniff_delimiter(lines: list[str]) -> str:
    """Pick the delimiter that splits the first lines into the same, largest number of columns."""
    sample = "\n".join(lines[:20])
    best, best_score = ";", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows if len(r) == width)
        score = (consistent if width > 1 else 0, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def parse_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """Split CSV text into a header and numbered data rows; a broken quote is a file error with its line."""
    lines = text.split("\n")
    start = 0
    delimiter = None
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start < len(lines) and lines[start].lower().startswith("sep=") and len(lines[start].strip()) == 5:
        delimiter = lines[start].strip()[4]
        start += 1
    body = "\n".join(lines[start:])
    delimiter = delimiter or sniff_delimiter(lines[start:])
    reader = csv.reader(io.StringIO(body), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    number = start
    try:
        for cells in reader:
            number += 1
            if header is None:
                if any(c.strip() for c in cells):
                    header = [c.strip() for c in cells]
                continue
            rows.append((number, cells))
    except csv.Error as exc:
        line = start + reader.line_num
        if "end of data" in str(exc) or "EOF" in str(exc):
            raise ImportFileError(f"Die Datei endet mitten in einem Feld in Anführungszeichen (ab Zeile {line}): "
                                  "sie ist wohl unvollständig oder abgeschnitten.") from None
        raise ImportFileError(f"Zeile {line} ist kein gültiges CSV ({exc}). Steht ein Anführungszeichen "
                              "mitten im Text?") from None
    if header is None:
        raise ImportFileError("Die Datei ist leer.")
    return header, rows, delimiter


def read(path: Path, options: ReadOptions) -> ReadResult:
    """Read a CSV file into records."""
    data = read_bytes(path, options.max_bytes)
    text, warnings = decode_text(data, "CSV-Datei")
    header, rows, delimiter = parse_rows(text)
    width = len(header)
    problems: dict[int, list[str]] = {}
    for i, (number, cells) in enumerate(rows):
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            problems[number] = [f"Zeile {number} hat {len(cells)} Spalten, die Kopfzeile nur {width}. "
                                "Steht das Trennzeichen im Text ohne Anführungszeichen?"]
        elif 1 < len(cells) < width and i == len(rows) - 1 and not text.endswith("\n"):
            problems[number] = [f"Zeile {number} ist unvollständig (die Datei endet mitten in der Zeile)."]
    result = records_from_rows("csv", header, rows, options.mapping, options.max_rows, problems)
    names = {";": "Semikolon", ",": "Komma", "\t": "Tabulator", "|": "senkrechter Strich"}
    result.warnings[:0] = warnings
    result.mapping = {"(Trennzeichen)": names[delimiter], **result.mapping}
    return result
