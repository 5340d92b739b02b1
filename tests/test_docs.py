"""The docs document every setting and every CLI command; the README keeps exactly two Quick start commands."""

import re
from pathlib import Path

from atlas.config import Defaults

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = README + "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


def test_every_setting_is_documented():
    keys = [k for k in vars(Defaults) if k.isupper()]
    missing = [k for k in keys if f"`{k}`" not in DOCS]
    assert not missing, f"document these settings in docs/: {missing}"


def test_every_cli_command_is_documented(app):
    commands = set(app.cli.list_commands(None)) - {"routes", "run", "shell"}
    missing = [c for c in sorted(commands) if not re.search(rf"`{re.escape(c)}[ `]", DOCS)]
    assert not missing, f"document these commands in docs/: {missing}"


def test_quick_start_has_exactly_two_commands():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert commands == ["python3 dev.py start", "python3 dev.py test"]


def test_readme_is_a_front_door():
    assert len(README.encode()) <= 11_000, "keep README.md about 10 kB; details belong in docs/"
    assert "row for the README" not in DOCS and "rows for the README" not in DOCS


def test_doc_links_resolve():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
