"""``gridsvc assign``: the cells of every point in a file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from gridsvc.cli.common import err, handle_errors

#: Inputs above this many rows get a progress bar.
PROGRESS_ROWS = 200_000


@handle_errors
def assign(
    input_path: Path = typer.Argument(..., metavar="INPUT",
                                      help="points: .csv, .geojson or .parquet (GeoParquet)"),
    output: Path = typer.Option(..., "--output", "-o",
                                help="result: .csv, .parquet or .geoparquet"),
    x: str = typer.Option(None, "--x", help="CSV column with the longitude or easting "
                          "(default: lon, lng, longitude or x, case ignored)"),
    y: str = typer.Option(None, "--y", help="CSV column with the latitude or northing "
                          "(default: lat, latitude or y, case ignored)"),
    crs: str = typer.Option(None, help="CRS of the points: an EPSG code, any CRS pyproj knows, "
                            "gcj02 or bd09 (default: EPSG:4326 for CSV, the file's own else)"),
    layers: str = typer.Option(None, help="plan mode: kinds of cells, comma-separated "
                               "(default: town,village,grid,station,beat)"),
    cells: Path = typer.Option(None, help="file mode, no database: cells from a GeoParquet, "
                               "GeoJSON, Shapefile (.shp/.zip) or GeoPackage file"),
    cell_id: str = typer.Option(None, "--cell-id", help="file mode: the cells' id field"),
    cells_crs: str = typer.Option(None, "--cells-crs", help="file mode: CRS of the cells, "
                                  "overriding their file's (an EPSG code, gcj02 or bd09)"),
    plan: int = typer.Option(None, "--plan", help="plan mode: this plan (a draft too) instead "
                             "of the plan in effect"),
    workers: int = typer.Option(None, "--workers", min=1, help="run on a Dask LocalCluster "
                                "of N worker processes (input: (Geo)Parquet file or folder)"),
    scheduler: str = typer.Option(None, "--scheduler", help="run on the Dask cluster of this "
                                  "scheduler, e.g. tcp://10.0.0.5:8786"),
    part_rows: int = typer.Option(None, "--part-rows", min=1_000, help="rows per part "
                                  "(default 262,144 here, 1,000,000 on Dask)"),
    index_cache: Path = typer.Option(None, "--index-cache", help="file mode: folder of the "
                                     "cells-index cache (default ~/.cache/gridsvc/cells-index "
                                     "or $GRIDSVC_INDEX_CACHE)"),
    no_index_cache: bool = typer.Option(False, "--no-index-cache", help="file mode: index the "
                                        "cells for this run only"),
) -> None:
    """Write INPUT's rows to OUTPUT with the cells covering each point.

    Against the plan in effect (database) the output gets <layer>_id per layer; with --cells
    (no database) it gets cell_id. Rows no cell covers get the nearest cell and its distance
    in metres instead; rows without coordinates are kept with empty ids. Bad input exits with
    code 2, naming the row and column, and nothing is written. With --workers or --scheduler
    the parts run on a Dask cluster; the output is the same, row for row.
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
        err.print(f"note: {_count(summary.merged_cells, 'cell feature')} shared an id with "
                  "another feature and merged into it", highlight=False)
    if summary.without_coordinates:
        err.print(f"note: {_count(summary.without_coordinates, 'row')} without coordinates: "
                  "written with empty ids", highlight=False)
    logging.getLogger(__name__).debug("%s parts; cells index %s; seconds per step: %s",
                                      summary.parts,
                                      "from the cache" if summary.index_cached else "built",
                                      ", ".join(
        f"{name} {seconds:.3f}" for name, seconds in summary.timings.items()))
    err.print(f"{summary.rows:,} rows: {summary.assigned:,} assigned, {summary.unassigned:,} "
              f"unassigned, {summary.without_coordinates:,} without coordinates, "
              f"{summary.seconds:.2f} s -> {output}", highlight=False)


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
    """A rich progress bar on stderr, shown only for inputs of more than PROGRESS_ROWS rows."""

    def __init__(self) -> None:
        self._bar = None
        self._task = None

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, done: int, total: int) -> None:
        if total <= PROGRESS_ROWS:
            return
        if self._bar is None:
            from rich.progress import Progress

            self._bar = Progress(console=err, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("assigning", total=total)
        self._bar.update(self._task, completed=done)
