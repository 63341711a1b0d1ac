"""``gridsvc assign``: the cells of every point in a file."""

from __future__ import annotations

from pathlib import Path

import typer

from gridsvc.cli.assign_run import PROGRESS_ROWS, run_assign, runner_for
from gridsvc.cli.common import handle_errors

__all__ = ["PROGRESS_ROWS", "assign", "runner_for"]


@handle_errors
def assign(
    input_path: Path = typer.Argument(..., metavar="INPUT",
                                      help="points: .csv, .geojson or .parquet (GeoParquet)"),
    output: Path = typer.Option(..., "--output", "-o",
                                help="result: .csv, .parquet or .geoparquet, or a folder "
                                "(no suffix) of GeoParquet parts, written by the workers"),
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
    run_assign(input_path, output, x=x, y=y, crs=crs, layers=layers, cells=cells,
               cell_id=cell_id, cells_crs=cells_crs, plan=plan, workers=workers,
               scheduler=scheduler, part_rows=part_rows, index_cache=index_cache,
               no_index_cache=no_index_cache)
