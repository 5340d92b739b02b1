"""The README documents every setting and every CLI command, and keeps exactly two Quick start commands."""

import re
from pathlib import Path

from atlas.config import Defaults

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    keys = [k for k in vars(Defaults) if k.isupper()]
    missing = [k for k in keys if f"`{k}`" not in README]
    assert not missing, f"document these settings in README.md: {missing}"


def test_every_cli_command_is_documented(app):
    commands = set(app.cli.list_commands(None)) - {"routes", "run", "shell"}
    missing = [c for c in sorted(commands) if not re.search(rf"`{re.escape(c)}[ `]", README)]
    assert not missing, f"document these commands in README.md: {missing}"


def test_quick_start_has_exactly_two_commands():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert commands == ["python3 dev.py start", "python3 dev.py test"]
