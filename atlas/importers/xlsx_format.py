"""Excel .xlsx (first sheet or a named one), read-only, after checking the zip container against zip bombs."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from .files import check_size, human_size
from .records import ImportFileError, ReadOptions, ReadResult
from .tabular import cell_text, records_from_rows

UNIQUE_COUNT = re.compile(r'<sst\b[^>]*\buniqueCount="(\d+)"')


def check_container(path: Path, options: ReadOptions) -> None:
    """Refuse damaged archives and zip bombs before openpyxl decompresses anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise ImportFileError("Die Excel-Datei ist beschädigt oder unvollständig (kein gültiges .xlsx). "
                              "Alte .xls-Dateien bitte in Excel als .xlsx oder CSV speichern.") from None
    if len(members) > options.xlsx_max_members:
        raise ImportFileError(f"Die Excel-Datei enthält {len(members)} Teile; das ist verdächtig viel "
                              f"(erlaubt: {options.xlsx_max_members}). Sie wird nicht geöffnet.")
    total = sum(m.file_size for m in members)
    if total > options.xlsx_max_uncompressed:
        raise ImportFileError(f"Die Excel-Datei würde entpackt {human_size(total)} groß (erlaubt: "
                              f"{human_size(options.xlsx_max_uncompressed)}). Sie wird nicht geöffnet.")
    for m in members:
        if m.file_size > 1024 * 1024 and m.file_size > options.xlsx_max_ratio * max(m.compress_size, 1):
            raise ImportFileError(f"Die Excel-Datei ist auffällig stark gepackt ({m.filename}: "
                                  f"{m.file_size // max(m.compress_size, 1)}-fach); das sieht nach einer "
                                  "„Zip-Bombe“ aus. Sie wird nicht geöffnet.")
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise ImportFileError("Das ist eine ZIP-Datei, aber keine Excel-Arbeitsmappe (.xlsx).")
    shared = next((m for m in members if m.filename.lower() == "xl/sharedstrings.xml"), None)
    if shared is not None:
        check_shared_strings(path, shared, options)


def check_shared_strings(path: Path, member: zipfile.ZipInfo, options: ReadOptions) -> None:
    """openpyxl keeps every shared string in memory: refuse tables above the bound before it reads one."""
    if member.file_size > options.xlsx_max_shared_bytes:
        raise ImportFileError(f"Die Excel-Datei enthält {human_size(member.file_size)} Texte (erlaubt: "
                              f"{human_size(options.xlsx_max_shared_bytes)}). Bitte nur die benötigten Spalten "
                              "und Zeilen speichern oder als CSV exportieren.")
    with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
        head = stream.read(2048).decode("utf-8", "replace")
    found = UNIQUE_COUNT.search(head)
    if found and int(found.group(1)) > options.xlsx_max_shared_strings:
        raise ImportFileError(f"Die Excel-Datei enthält {int(found.group(1)):,} verschiedene Texte (erlaubt: "
                              f"{options.xlsx_max_shared_strings:,}). Bitte nur die benötigten Spalten und Zeilen "
                              "speichern oder als CSV exportieren.".replace(",", "."))


def _cell(cell: Any) -> Any:
    """A cell's value; formulas stay as their "=..." text so the row reports them."""
    value = cell.value
    if getattr(cell, "data_type", None) == "f" and not str(value).startswith("="):
        return f"={value}"
    return value


def read(path: Path, options: ReadOptions) -> ReadResult:
    """Read the first (or the named) worksheet into records."""
    from openpyxl import load_workbook

    check_size(path, options.max_bytes)
    check_container(path, options)
    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds (KeyError, ValueError, XML errors) on broken files
        raise ImportFileError(f"Die Excel-Datei lässt sich nicht lesen ({type(exc).__name__}). "
                              "Ist sie beschädigt oder mit einem Kennwort geschützt?") from None
    try:
        if options.sheet:
            if options.sheet not in book.sheetnames:
                raise ImportFileError(f"Die Excel-Datei hat kein Blatt „{options.sheet}“. "
                                      f"Vorhanden: {', '.join(book.sheetnames)}.")
            sheet = book[options.sheet]
        else:
            sheet = book.worksheets[0]
        header: list[str] | None = None
        rows: list[tuple[int, list[Any]]] = []
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            values = [_cell(c) for c in cells]
            if header is None:
                if any(cell_text(v) for v in values):
                    header = [cell_text(v) for v in values]
                continue
            rows.append((number, [_excel_fixups(header, i, v) for i, v in enumerate(values)]))
            if len(rows) > options.max_rows + 1000:
                break
    finally:
        book.close()
    if header is None:
        raise ImportFileError("Das Tabellenblatt ist leer.")
    result = records_from_rows("xlsx", header, rows, options.mapping, options.max_rows)
    result.mapping = {"(Tabellenblatt)": sheet.title, **result.mapping}
    return result


def _excel_fixups(header: list[str], index: int, value: Any) -> Any:
    """Undo what Excel does to numbers typed into text columns: phone numbers lose their leading 0."""
    if isinstance(value, int | float) and not isinstance(value, bool) and index < len(header):
        title = header[index].lower()
        if any(word in title for word in ("tel", "fon", "fax", "phone", "mobil")):
            return "0" + cell_text(value)
    return value
