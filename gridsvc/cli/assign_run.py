"""What ``gridsvc assign`` does once its options are read.

Shared by the Typer command (:mod:`gridsvc.cli.assign`) and the quick start of the file mode
(:mod:`gridsvc.cli.quick`). Neither Typer nor rich is imported here: rich loads only when it
would print something other than the plain text (a progress bar on a terminal, markup or
emoji codes in a message), so a file-mode run does not pay for it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Inputs above this many rows get a progress bar.
PROGRESS_ROWS = 200_000
# What rich's Console.print(text, highlight=False) would change: markup tags, emoji codes
# (":name:"), control characters (stripped) and tabs (expanded).
_RICH_CHANGES = re.compile(r"[\[\x00-\x1f\x7f]|:\S*:")


def run_assign(input_path: Path, output: Path, *, x: str | None = None, y: str | None = None,
               crs: str | None = None, layers: str | None = None, cells: Path | None = None,
               cell_id: str | None = None, cells_crs: str | None = None,
               plan: int | None = None, workers: int | None = None,
               scheduler: str | None = None, part_rows: int | None = None,
               index_cache: Path | None = None, no_index_cache: bool = False) -> None:
    """``gridsvc assign`` with its options read (see the command's help for each).

    Raises
    ------
    InvalidInput
        Options that do not go together, and anything :func:`~gridsvc.services.assign_files.
        assign_with_cells` or ``assign_with_plan`` rejects; nothing is written then.
    """
    from gridsvc.errors import InvalidInput, Problem

    if cells is not None and layers is not None:
        raise InvalidInput([Problem("--layers is for the plan mode, not with --cells",
                                    field="layers")])
    if cells is None and cells_crs is not None:
        raise InvalidInput([Problem("--cells-crs is for the file mode, with --cells",
                                    field="cells-crs")])
    if (cells is None) != (cell_id is None):
        raise InvalidInput([Problem("--cells and --cell-id go together",
                                    field="cell-id" if cells is not None else "cells")])
    if workers is not None and scheduler is not None:
        raise InvalidInput([Problem("--workers starts a local cluster, --scheduler joins one: "
                                    "give one of them", field="workers")])
    if cells is not None and plan is not None:
        raise InvalidInput([Problem("--plan is for the plan mode, not with --cells",
                                    field="plan")])
    with _Progress() as progress, runner_for(workers, scheduler, part_rows) as runner:
        if cells is not None:
            from gridsvc.services.assign_files import assign_with_cells
            from gridsvc.services.index_cache import default_dir

            assert cell_id is not None
            cache = None if no_index_cache else (index_cache or default_dir())
            summary = assign_with_cells(input_path, output, cells=cells, cell_id=cell_id, x=x,
                                        y=y, crs=crs, cells_crs=cells_crs, progress=progress,
                                        index_cache=cache, runner=runner)
        else:
            from gridsvc.cli.common import engine
            from gridsvc.services.assign_files import assign_with_plan

            kinds = [k.strip() for k in layers.split(",") if k.strip()] if layers else None
            summary = assign_with_plan(engine(), input_path, output, layers=kinds, x=x, y=y,
                                       crs=crs, progress=progress, plan_id=plan, runner=runner)
    if summary.merged_cells:
        say(f"note: {_count(summary.merged_cells, 'cell feature')} shared an id with "
            "another feature and merged into it")
    if summary.without_coordinates:
        say(f"note: {_count(summary.without_coordinates, 'row')} without coordinates: "
            "written with empty ids")
    logging.getLogger("gridsvc.cli.assign").debug(
        "%s parts; cells index %s; seconds per step: %s", summary.parts,
        "from the cache" if summary.index_cached else "built",
        ", ".join(f"{name} {seconds:.3f}" for name, seconds in summary.timings.items()))
    say(f"{summary.rows:,} rows: {summary.assigned:,} assigned, {summary.unassigned:,} "
        f"unassigned, {summary.without_coordinates:,} without coordinates, "
        f"{summary.seconds:.2f} s -> {output}")


def say(text: str) -> None:
    """Print ``text`` on stderr as ``err.print(text, highlight=False)`` prints it; as plain
    text (without loading rich) when rich would print it unchanged."""
    if _RICH_CHANGES.search(text):
        from gridsvc.cli.common import err

        err.print(text, highlight=False)
        return
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def stderr_may_be_terminal() -> bool:
    """Whether rich could take stderr for a terminal (then it draws; else it stays silent)."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


@contextmanager
def runner_for(workers: int | None, scheduler: str | None, part_rows: int | None
               ) -> Iterator[Any]:
    """Where the parts run: this process (None), or a Dask cluster, closed on exit."""
    if workers is None and scheduler is None:
        from gridsvc.services.assign_files import PART_ROWS, LocalRunner

        yield LocalRunner(part_rows or PART_ROWS)
        return
    from gridsvc.services.assign_dask import DASK_PART_ROWS, DaskRunner, dask_client

    with dask_client(workers, scheduler) as client:
        yield DaskRunner(client, part_rows or DASK_PART_ROWS)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


class _Progress:
    """A rich progress bar on stderr, shown only for inputs of more than PROGRESS_ROWS rows.

    rich's bar is transient: where stderr is no terminal it prints nothing at all, so there
    it is not made (nor rich loaded)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._wanted = stderr_may_be_terminal()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, done: int, total: int) -> None:
        if total <= PROGRESS_ROWS or not self._wanted:
            return
        if self._bar is None:
            from rich.progress import Progress

            from gridsvc.cli.common import err

            self._bar = Progress(console=err, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("assigning", total=total)
        self._bar.update(self._task, completed=done)
