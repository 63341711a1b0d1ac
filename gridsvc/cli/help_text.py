"""Help texts that read cleanly at any terminal width.

Typer's rich help keeps every single line break of a docstring, so a paragraph wrapped at 100
columns in the source breaks mid-sentence on an 80-column terminal (a long line wrapped by the
terminal, then a short one). :func:`reflow_help` joins each paragraph into one line, which rich
then wraps to the terminal's width. Blank lines still separate paragraphs, and a line that
starts a list item (``- ``, ``* ``, ``1. ``) or is indented (an example) keeps its own line.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import typer

_OWN_LINE = re.compile(r"(\s|[-*•] |\d+[.)] )")


def reflow(text: str) -> str:
    """``text`` with each paragraph on one line (lists and indented lines kept as they are).

    Examples
    --------
    >>> reflow("Write the rows\\nwith their cells.\\n\\nOptions:\\n- one\\n- two")
    'Write the rows with their cells.\\n\\nOptions:\\n- one\\n- two'
    """
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in paragraph.split("\n"):
            if lines and not _OWN_LINE.match(line):
                lines[-1] = f"{lines[-1]} {line.strip()}"
            else:
                lines.append(line.rstrip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def reflow_help(app: typer.Typer) -> None:
    """Reflow the help of every command and group of ``app``, sub-apps included, in place.

    Call it once, after every command is registered: commands added later keep their line
    breaks. Help given as ``help=`` and help taken from a docstring are both reflowed.
    """
    if isinstance(app.info.help, str):
        app.info.help = reflow(app.info.help)
    for command in app.registered_commands:
        doc = command.help if isinstance(command.help, str) else _doc(command.callback)
        if doc:
            command.help = reflow(doc)
    for group in app.registered_groups:
        if isinstance(group.help, str):
            group.help = reflow(group.help)
        if group.typer_instance is not None:
            reflow_help(group.typer_instance)


def _doc(callback: Callable[..., Any] | None) -> str | None:
    return inspect.getdoc(callback) if callback is not None else None
