"""``gridsvc assign`` in file mode, started without Typer.

A cached file-mode assignment of a million points takes about half a second; loading Typer,
rich and every command's module to read its options took another fifth. Here the usual call,
``gridsvc [-v] assign INPUT --cells CELLS --cell-id FIELD -o OUTPUT`` with any of the file
mode's other options (``--x --y --crs --cells-crs --part-rows --index-cache
--no-index-cache``), is read by hand and run by the same code as the Typer command
(:func:`gridsvc.cli.assign_run.run_assign`), with the same messages and exit codes.

:func:`parse` takes only what it is sure Typer reads the same way: each option once, as
``--name value`` or ``--name=value`` (``-o value``), values not starting with ``-``. Anything
else (``--help``, another command or option, a missing or odd value, plan mode, Dask, shell
completion) returns None, and Typer runs the command as always, errors and help included.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

_VALUES = {"--output": "output", "-o": "output", "--x": "x", "--y": "y", "--crs": "crs",
           "--cells": "cells", "--cell-id": "cell_id", "--cells-crs": "cells_crs",
           "--part-rows": "part_rows", "--index-cache": "index_cache"}
_FLAGS = {"--no-index-cache": "no_index_cache"}
_PATHS = ("output", "cells", "index_cache")
_PART_ROWS_MIN = 1_000  # as the Typer option says


def parse(argv: list[str]) -> tuple[bool, dict[str, Any]] | None:
    """``(verbose, run_assign's arguments)`` for a plain file-mode call, else None.

    Examples
    --------
    >>> parse(["assign", "p.parquet", "--cells", "c.parquet", "--cell-id", "id", "-o", "o.csv"])
    (False, {'cells': PosixPath('c.parquet'), 'cell_id': 'id', 'output': PosixPath('o.csv'), \
'input_path': PosixPath('p.parquet')})
    >>> parse(["assign", "--help"]) is None
    True
    """
    if any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return None  # shell completion: Typer's
    verbose = False
    rest = list(argv)
    while rest and rest[0] in ("-v", "--verbose") and not verbose:
        verbose = True
        rest.pop(0)
    if not rest or rest.pop(0) != "assign":
        return None
    found: dict[str, Any] = {}
    inputs: list[str] = []
    while rest:
        token = rest.pop(0)
        if token and not token.startswith("-"):
            inputs.append(token)
            continue
        # Click splits "--name=value" (long options only; "-o=x" would be the value "=x").
        name, eq, value = token.partition("=") if token.startswith("--") else (token, "", "")
        if name in _FLAGS and not eq:
            key, value = _FLAGS[name], True
        elif name in _VALUES:
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            if not value or value.startswith("-"):
                return None
            key = _VALUES[name]
        else:
            return None
        if key in found:
            return None
        found[key] = value
    if len(inputs) != 1 or not {"output", "cells", "cell_id"} <= found.keys():
        return None
    if "part_rows" in found:
        try:
            found["part_rows"] = int(found["part_rows"])
        except ValueError:
            return None
        if found["part_rows"] < _PART_ROWS_MIN:
            return None
    for key in _PATHS:
        if key in found:
            found[key] = Path(found[key])
    found["input_path"] = Path(inputs[0])
    return verbose, found


def main(argv: list[str]) -> None:
    """Run ``argv`` and end the process, if it is a plain file-mode call; else return."""
    parsed = parse(argv)
    if parsed is None:
        return
    verbose, options = parsed
    _exit(run(verbose, options))


def run(verbose: bool, options: dict[str, Any]) -> int:
    """:func:`~gridsvc.cli.assign_run.run_assign` as the Typer command runs it (logging set
    up as the ``gridsvc`` callback does, errors printed as ``handle_errors`` prints them);
    the exit code."""
    from gridsvc.cli.assign_run import run_assign
    from gridsvc.errors import GridsvcError

    keep_freed_memory()
    setup_logging(verbose)
    try:
        run_assign(**options)
    except GridsvcError as exc:
        from gridsvc.cli.common import report_error

        return report_error(exc)
    except KeyboardInterrupt:
        return 130  # as Typer does
    except BrokenPipeError:
        return 1  # as Typer does
    return 0


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed memory for reuse: no fresh mapping per large array and
    no giving memory back. A run makes and drops hundreds of numpy arrays of 0.5 to 8 MB;
    faulting in fresh pages for each took half of its system time (54,000 page faults
    against 26,000). The process ends with the command, so nothing is held for long. A no-op
    where the C library has no ``mallopt``."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # no such C library (or not on Windows)
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3  # glibc's malloc.h
    mallopt(m_mmap_threshold, 1 << 30)
    mallopt(m_trim_threshold, (1 << 31) - 1)
    mallopt(m_top_pad, 256 << 20)


def setup_logging(verbose: bool) -> None:
    """:func:`gridsvc.cli.common.setup_logging`, with rich's handler made on the first record."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[_RichOnUse()], force=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)


class _RichOnUse(logging.Handler):
    """Hands records to ``RichHandler(console=err, show_path=False, show_time=False)``,
    made (and rich loaded) when the first record comes."""

    def __init__(self) -> None:
        super().__init__()
        self._rich: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._rich is None:
            from rich.logging import RichHandler

            from gridsvc.cli.common import err

            self._rich = RichHandler(console=err, show_path=False, show_time=False)
            self._rich.setFormatter(self.formatter)
        self._rich.handle(record)


def _exit(code: int) -> None:
    """End the process now. Everything is written and closed; what the interpreter would do
    on its way out (freeing the million-row arrays, the index's pages and every module)
    takes a tenth of a second and leaves nothing behind."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
