"""Reading uploaded files safely: size limit before reading, binary sniffing, encoding detection."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import charset_normalizer

from .records import ImportFileError

# Magic numbers of files people rename to .csv by mistake, with what to tell them.
MAGIC = (
    (b"PK\x03\x04", "eine ZIP-Datei (z. B. eine Excel-Datei .xlsx). Bitte als .xlsx hochladen oder als CSV speichern"),
    (b"\xd0\xcf\x11\xe0", "eine alte Excel- oder Word-Datei (.xls/.doc). Bitte in Excel „Speichern unter → CSV UTF-8“ wählen"),
    (b"%PDF", "eine PDF-Datei. Tabellen aus PDFs bitte erst nach Excel oder CSV übertragen"),
    (b"\x89PNG", "ein Bild (PNG)"),
    (b"\xff\xd8\xff", "ein Bild (JPEG)"),
    (b"\x1f\x8b", "eine gepackte Datei (gzip)"),
)
MOJIBAKE = ("Ã¤", "Ã¶", "Ã¼", "ÃŸ", "Ã„", "Ã–", "Ãœ")


def human_size(size: int) -> str:
    """Bytes as a German size ("12,5 MB")."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")
    return f"{max(1, size // 1024)} KB"


def check_size(path: Path, max_bytes: int) -> int:
    """Refuse a file (or a folder's files) above the limit before reading any of it; returns the size."""
    try:
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    except FileNotFoundError:
        raise ImportFileError(f"Die Datei {path.name} gibt es nicht.") from None
    if size > max_bytes:
        raise ImportFileError(
            f"Die Datei ist {human_size(size)} groß; erlaubt sind höchstens {human_size(max_bytes)}. "
            "Bitte teilen Sie sie auf oder entfernen Sie nicht benötigte Spalten.")
    return size


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a whole file after the size check; refuse empty files."""
    check_size(path, max_bytes)
    with path.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:  # the file grew after the check
        raise ImportFileError(f"Die Datei ist größer als {human_size(max_bytes)}.")
    if not data.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        raise ImportFileError("Die Datei ist leer.")
    return data


def refuse_binary(data: bytes, expected: str) -> None:
    """Refuse a binary file where text (CSV, JSON, HTML ...) was expected, naming what it seems to be."""
    for magic, what in MAGIC:
        if data.startswith(magic):
            raise ImportFileError(f"Das ist keine {expected}, sondern {what}.")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    head = data[:8192]
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    if b"\x00" in head or controls > len(head) // 100 + 2:
        raise ImportFileError(f"Das ist keine {expected}: die Datei enthält Binärdaten (Steuerzeichen). "
                              "Wurde eine andere Datei umbenannt?")


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a byte order mark (Excel's "Unicode text"), recognised by charset-normalizer."""
    head = data[:65536]
    if b"\x00" not in head:
        return None
    # Text in UTF-16 has a zero byte in every other position for Latin letters.
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if max(even, odd) < len(head) // 4:
        return None
    best = charset_normalizer.from_bytes(head[:len(head) - len(head) % 2]).best()
    encoding = best.encoding if best is not None else ("utf_16_be" if even > odd else "utf_16_le")
    if not encoding.startswith("utf_16"):
        encoding = "utf_16_be" if even > odd else "utf_16_le"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r")
    return text if sample and controls <= len(sample) // 100 else None  # zero bytes of a binary file are no text


def decode_text(data: bytes, expected: str = "Textdatei") -> tuple[str, list[str]]:
    """Decode UTF-8 (with or without BOM), UTF-16 (with or without BOM), else the encoding charset-normalizer finds
    (Windows-1252 when it finds none); returns text and warnings."""
    warnings: list[str] = []
    has_bom = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    utf16 = None if has_bom or data.startswith(tuple(m for m, _w in MAGIC)) else _utf16_without_bom(data)
    if utf16 is None:
        refuse_binary(data, expected)
    if utf16 is not None:
        text = utf16
    elif has_bom:
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError("Die Datei beginnt wie UTF-16-Text, ist aber beschädigt oder abgeschnitten.") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            text, name = _legacy(data, exc)
            warnings.append(f"Die Datei ist nicht in UTF-8 gespeichert; sie wurde als {name} gelesen. "
                            "Bitte Umlaute in der Vorschau prüfen.")
    if any(m in text for m in MOJIBAKE):
        warnings.append("Umlaute sehen verfälscht aus (z. B. „Ã¤“ statt „ä“): die Datei wurde wohl zweimal "
                        "umkodiert. Bitte die Originaldatei als „CSV UTF-8“ speichern.")
    return text.replace("\r\n", "\n").replace("\r", "\n"), warnings


# Encodings charset-normalizer may name for old spreadsheet exports, with the name we show.
LEGACY = {"cp1252": "Windows-1252 (Excel-Standard)", "iso8859_15": "ISO-8859-15", "cp850": "DOS (CP850)",
          "mac_roman": "Mac Roman", "iso8859_1": "Windows-1252 (Excel-Standard)", "latin_1": "Windows-1252 (Excel-Standard)"}


def _legacy(data: bytes, exc: UnicodeDecodeError) -> tuple[str, str]:
    best = charset_normalizer.from_bytes(data[:65536]).best()
    encoding = best.encoding if best is not None and best.encoding in LEGACY else "cp1252"
    try:
        return data.decode(encoding), LEGACY.get(encoding, "Windows-1252 (Excel-Standard)")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252"), LEGACY["cp1252"]
        except UnicodeDecodeError:
            raise ImportFileError(
                f"Die Zeichenkodierung ist unbekannt (Byte {exc.start} ist weder UTF-8 noch Windows-1252). "
                "Bitte als „CSV UTF-8“ speichern.") from None


def load_json(data: bytes, expected: str = "JSON-Datei") -> tuple[Any, list[str]]:
    """Parse JSON, naming line and column of a syntax error and spotting truncated files."""
    text, warnings = decode_text(data, expected)
    try:
        return json.loads(text), warnings
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise ImportFileError(f"Die {expected} endet unerwartet (Zeile {exc.lineno}): "
                                  "sie ist wohl unvollständig oder abgeschnitten.") from None
        raise ImportFileError(f"Die {expected} ist fehlerhaft: Zeile {exc.lineno}, Spalte {exc.colno} "
                              f"({exc.msg}).") from None
