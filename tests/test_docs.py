"""The README documents every command and every exit code the CLI can return."""

from __future__ import annotations

import re
from pathlib import Path

from analyser.cli import main
from analyser.errors import ExitCode

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_command_is_documented() -> None:
    documented = set(re.findall(r"^### `uptake (\w+)`", README, flags=re.MULTILINE))
    assert documented >= set(main.commands), set(main.commands) - documented


def test_every_exit_code_is_documented() -> None:
    codes = {v for k, v in vars(ExitCode).items() if k.isupper()}
    table = set(int(c) for c in re.findall(r"^\| (\d+) \|", README, flags=re.MULTILINE))
    assert codes <= table, codes - table


def test_the_two_commands_are_in_the_readme() -> None:
    assert "make demo" in README and "make test" in README
