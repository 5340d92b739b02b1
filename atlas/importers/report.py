"""Presenting a plan: preview rows for the CLI and the upload page, and the error rows as a CSV to fix."""

from __future__ import annotations

import csv
import io

from .export import safe_cell
from .plan import Plan, PlanRow

ERROR_COLUMNS = ("Importzeile", "Importfehler")


def row_reason(row: PlanRow) -> str:
    """Why a row gets its action, in one German sentence."""
    if row.action == "error":
        return " ".join(row.reasons)
    if row.action == "duplicate":
        best = row.matches[0]
        return f"ähnlich wie „{best.name}“ ({round(best.score * 100)} %: {', '.join(best.reasons)})"
    if row.action == "update":
        return "geändert: " + ", ".join(row.changes)
    if row.action == "unchanged":
        return "keine Änderungen"
    org = {"link": "zu bestehendem Träger", "update": "Träger aktualisiert", "planned": "Träger aus dieser Datei",
           "new": "neuer Träger"}.get(row.org_action, "")
    return f"{org}; " + ", ".join(row.categories) if row.categories else org


def preview_lines(plan: Plan, show_all: bool) -> list[str]:
    """Fixed-width lines for the CLI: row number, action, name and reason."""
    lines = [f"{'Nr.':>6}  {'Aktion':<18} {'Name':<40} Grund"]
    for row in plan.rows:
        if not show_all and row.action in ("new", "unchanged"):
            continue
        name = row.record.label if len(row.record.label) <= 40 else row.record.label[:39] + "…"
        lines.append(f"{row.row:>6}  {row.action_label:<18} {name:<40} {row_reason(row)}")
        lines += [f"{'':>6}  {'':<18} {'':<40} Hinweis: {w}" for w in row.warnings]
    return lines


def error_rows_csv(plan: Plan) -> str:
    """The rows with errors, with their original cells, as a UTF-8 (BOM) `;` CSV to fix and import again."""
    columns = list(dict.fromkeys([*plan.columns, *(k for r in plan.errors for k in r.record.raw)]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([*ERROR_COLUMNS, *columns])
    for row in plan.errors:
        raw = row.record.raw
        writer.writerow([row.row, safe_cell(" ".join(row.reasons)), *(safe_cell(raw.get(c, "")) for c in columns)])
    return "\ufeff" + buffer.getvalue()
