"""axe-core (vendored from npm under tests/vendor/axe-core, MPL-2.0) run inside a Playwright page."""

from __future__ import annotations

from pathlib import Path

AXE = (Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_report(page) -> dict:
    """Run axe on the page for WCAG 2.1 AA; evaluated over DevTools, so a Content-Security-Policy cannot block it."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    return page.evaluate("tag => axe.run(document, {runOnly: {type: 'tag', values: tag}})", WCAG_AA)


def axe_problems(page) -> list[str]:
    """Violations, and colour-contrast checks axe could not decide, as readable lines (empty: all good)."""
    report = axe_report(page)
    lines = [f"{v['id']}: {v['help']} ({len(v['nodes'])}×, e.g. {v['nodes'][0]['target']})" for v in report["violations"]]
    lines += [f"unresolved {i['id']}: {i['nodes'][0]['target']} ({_why(i['nodes'][0])})" for i in report["incomplete"]
              if i["id"] == "color-contrast"]
    return lines


def _why(node: dict) -> str:
    return "; ".join(check.get("message", "") for check in node.get("any", []) + node.get("all", []))
