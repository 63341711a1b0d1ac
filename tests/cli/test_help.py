"""Every command's ``--help`` reads cleanly at 80 columns: nothing wider, no sentence broken
where a greedy wrap would not break it (the mark of a source line break kept by the help)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise

import pytest
import typer
from rich.cells import cell_len
from typer.testing import CliRunner

from gridsvc.cli.main import app
from tests.conftest import run_cli

WIDTH = 80
BOX = " │"
# A metavar cut in two: "<grids|compounds" on one line, ">" on the next.
CUT_METAVAR = re.compile(r"(^|\s)<[^>│]*(│|$)")


def _commands(command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _columns(line: str) -> str:
    """``line`` with a placeholder after each double-width character (CJK), so that a string
    index is a terminal column."""
    return "".join(ch + ("\0" if cell_len(ch) == 2 else "") for ch in line)


def odd_breaks(lines: list[str], width: int = WIDTH) -> list[tuple[str, str]]:
    """Pairs of lines where the second line's first word would have fitted on the first.

    Only continuations count: a line whose text starts in the column where the line above
    starts its text (a paragraph, or the help column of a panel), not a new row of a panel, a
    list item, or Typer's own ``[default: ...]``/``[required]``, which always take a new line.
    """
    found = []
    for above, line in pairwise([_columns(raw) for raw in lines]):
        text = line.strip(BOX)
        start = len(line) - len(line.lstrip(BOX))
        in_panel = line.lstrip(" ").startswith("│")
        if (not text or text.startswith(("-", "*", "•", "[")) or start >= len(above)
                or (in_panel and start <= 2) or above[start] in BOX + "─"
                or above[start - 1] not in BOX):
            continue
        right = line.rstrip().rfind("│") - 1 if line.rstrip().endswith("│") else width - 1
        word = text.split()[0].replace("\0", "")
        if len(above.rstrip(BOX)) + 1 + cell_len(word) <= right:
            found.append((above.replace("\0", ""), line.replace("\0", "")))
    return found


def test_the_checker_finds_a_kept_source_line_break():
    # What `gridsvc assign --help` printed before: the docstring's own breaks kept.
    lines = [" Against the plan in effect (database) the output gets <layer>_id per layer;",
             " with --cells",
             " (no database) it gets cell_id. Rows no cell covers get the nearest cell and",
             " its distance",
             " in metres instead."]
    assert len(odd_breaks(lines)) == 2
    assert odd_breaks([" a paragraph wrapped greedily by the terminal, as rich does it,",
                       " reads fine."], width=66) == []


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "gridsvc" for p in COMMANDS])
def test_help_reads_cleanly_at_80_columns(path):
    done = CliRunner().invoke(app, [*path, "--help"], prog_name="gridsvc",
                              env={"COLUMNS": str(WIDTH)}, terminal_width=WIDTH)
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert len(lines) > 3
    assert [line for line in lines if cell_len(line) > WIDTH] == []
    assert odd_breaks(lines) == []
    assert [line for line in lines if CUT_METAVAR.search(line)] == []


def test_the_installed_command_too():
    # As a user runs it: a real process, not a terminal, with COLUMNS=80.
    done = run_cli("assign", "--help", env={"COLUMNS": str(WIDTH)}, check=True)
    lines = done.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= WIDTH
    assert odd_breaks(lines) == []
    assert any("with --cells (no database) it gets cell_id" in line for line in lines)
