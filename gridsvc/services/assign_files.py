"""Assigning every point of a file to cells, from a cells file (no database) or a plan.

The input is cut into parts and every part goes through one kernel,
:func:`gridsvc.domain.assign.kernel.assign_part` (check, convert into the cells' CRS, assign,
nearest cell where none covers a point), then into one output file, in input order. Here the
parts run in this process: the whole file is read into Arrow and numpy (see
:mod:`gridsvc.domain.io.points_io`), cut into slices of :data:`PART_ROWS` rows, and each slice's
output is written while the next one is assigned. :mod:`gridsvc.services.assign_dask` runs the
same parts on a Dask cluster. Nothing is written when the input has a problem: the output
appears whole or not at all.

A cells file's index is cached on disk, keyed by the file's content
(:mod:`gridsvc.services.index_cache`). Heavy or slow modules (the database layer, Dask) are
imported only by the mode that needs them, so the file mode never pays for SQLAlchemy; pyproj
and shapely only when a CRS must be read or converted or GEOS must decide a point, so a run on
a cached index with points in the cells' CRS loads numpy and pyarrow alone.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from gridsvc.domain.assign.kernel import (
    Bounds,
    Counts,
    Target,
    assign_part,
    beyond_bounds,
    bounds_of,
    check_swapped,
    moved_rows,
)
from gridsvc.domain.geo.coords import (
    InputCRS,
    declared_crs,
    parse_input_crs,
    stated_input_crs,
    to_cgcs2000,
)
from gridsvc.domain.geo.lazy_crs import LazyCRS
from gridsvc.domain.io.arrow_io import checked_crs
from gridsvc.domain.io.points_io import (
    Points,
    PointsWriter,
    check_new_columns,
    output_format,
    output_table,
    read_points,
)
from gridsvc.errors import InvalidInput, NotFound, Problem

if TYPE_CHECKING:
    from pyproj import CRS
    from sqlalchemy import Engine

#: Rows per part in this process; each part reports progress, and is written while the next
#: is assigned.
PART_ROWS = 262_144
#: Default CRS of coordinates in columns (CSV, plain Parquet): what GPS and web maps give.
DEFAULT_COLUMN_CRS = "EPSG:4326"
PARQUET_SUFFIXES = (".parquet", ".geoparquet")

Progress = Callable[[int, int], None]
FOLDER = "folder"


@cache
def plan_crs() -> CRS:
    """EPSG:4490, the plans' CRS (made when first needed: pyproj is slow to load)."""
    from pyproj import CRS

    return CRS.from_epsg(4490)


def __getattr__(name: str) -> Any:
    if name == "PLAN_CRS":  # the plans' CRS, as a constant: made on first use
        return plan_crs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def out_format(output: Path) -> str:
    """``csv`` or ``parquet`` by suffix, or ``folder`` for a path without one: a partitioned
    dataset of GeoParquet files, one per part (``part-<first row>.parquet``), written by
    whoever runs the part (a Dask worker: the client then never holds the rows).

    Raises
    ------
    InvalidInput
        Any other suffix.
    """
    return FOLDER if output.suffix == "" else output_format(output)


class FolderWriter:
    """A dataset folder that appears whole when the ``with`` block ends without an error: the
    parts go to a temporary folder beside it, renamed into place at the end (a folder already
    there is replaced); on an error the temporary folder is removed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")

    def __enter__(self) -> FolderWriter:
        try:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp.mkdir(parents=False)
        except OSError as exc:
            raise InvalidInput([Problem(f"cannot write {self.path}: {exc}", field="output")]
                               ) from None
        return self

    def write(self, table: pa.Table | None) -> None:
        """Nothing to do: the parts are written by the kernel (:func:`run_part`)."""

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        old = self.path.with_name(f".{self.path.name}.{os.getpid()}.old")
        if self.path.exists():
            os.rename(self.path, old)
        os.rename(self.tmp, self.path)
        shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class AssignSummary:
    """What an assignment did.

    Attributes
    ----------
    rows
        Rows read (and written).
    assigned
        Rows with coordinates that a cell covers (in every layer, in plan mode).
    unassigned
        Rows with coordinates outside some layer's cells: they got the nearest cell instead.
    without_coordinates
        Rows with no coordinates (empty cells, null geometries): written with empty ids.
    seconds
        Wall-clock time from reading to written.
    columns
        The columns added to the output, in order.
    merged_cells
        File mode: features merged into another feature with the same id.
    timings
        Seconds per step, in order (with Dask, from the client's side).
    index_cached
        File mode: whether the cells' index came from the on-disk cache.
    parts
        How many parts the input was cut into.
    moved
        Re-assignment: rows whose cells changed.
    """

    rows: int
    assigned: int
    unassigned: int
    without_coordinates: int
    seconds: float
    columns: tuple[str, ...]
    merged_cells: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    index_cached: bool = False
    parts: int = 1
    moved: int = 0


@dataclass(frozen=True)
class Job:
    """What every part needs: the layers, the CRSs and how to read and write rows.

    Small but for the targets' indexes, which a Dask run sends once to each worker.
    """

    targets: tuple[Target, ...]
    source: InputCRS
    target_crs: CRS | LazyCRS
    bounds: Bounds
    out_format: str
    x: str | None = None
    y: str | None = None
    #: Re-assignment: (input column, output column) pairs compared into a ``moved`` column.
    carried: tuple[tuple[str, str], ...] = ()
    #: Threads per part's assignment (None: one per core); a Dask worker's parts run one per
    #: thread already, so there it is 1.
    threads: int | None = None
    #: Folder output: where each part writes its own file (else parts are returned).
    out_dir: Path | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for t in self.targets for c in t.columns) + (
            ("moved",) if self.carried else ())


def run_part(job: Job, points: Points, first_row: int) -> tuple[pa.Table | None, Counts]:
    """One part through the kernel: its output rows and its counts (no rows when the part
    was written to ``job.out_dir`` here)."""
    columns, counts = assign_part(points, job.targets, job.source, job.target_crs, job.bounds,
                                  first_row=first_row, threads=job.threads)
    if job.carried:
        moved = np.zeros(len(points), dtype=bool)
        for old, new in job.carried:
            moved |= moved_rows(points.table.column(old), columns[new])
        columns["moved"] = pa.array(moved, pa.bool_())
        counts = replace(counts, moved=int(moved.sum()))
    # The output's geometries are the points as read, in the CRS they were read in, except
    # GCJ-02 and BD-09, which no CRS can name: those are written converted to CGCS2000.
    if job.source.is_offset:
        out_crs, xy = plan_crs(), to_cgcs2000(points.x, points.y, job.source)
    elif job.source.stated is not None:  # the points' own CRS document, the cells' too
        out_crs = job.source.stated
        xy = (points.x, points.y) if points.geometry is None else None
    else:
        from pyproj import CRS

        out_crs = CRS.from_user_input(job.source.name)
        xy = (points.x, points.y) if points.geometry is None else None
    table = output_table(job.out_format, points, columns, crs=out_crs, xy=xy)
    if job.out_dir is not None:
        import pyarrow.parquet as pq

        pq.write_table(table, job.out_dir / f"part-{first_row:012d}.parquet")
        return None, counts
    return table, counts


# -- the two modes ----------------------------------------------------------------------------
def assign_with_cells(input_path: Path, output: Path, *, cells: Path, cell_id: str,
                      x: str | None = None, y: str | None = None, crs: str | None = None,
                      cells_crs: str | None = None, progress: Progress | None = None,
                      index_cache: Path | None = None, runner: Runner | None = None
                      ) -> AssignSummary:
    """Assign the points of ``input_path`` to the cells of a vector file; no database.

    Parameters
    ----------
    input_path
        CSV, GeoJSON or (Geo)Parquet of points, or a folder of (Geo)Parquet files with the same
        columns (a partitioned dataset, read in file-name order).
    output
        ``.csv``, ``.parquet`` or ``.geoparquet``: the input's columns, then ``cell_id``,
        ``nearest_id`` and ``distance_m`` (metres; the last two only for rows no cell covers).
    cells
        GeoParquet, GeoJSON, Shapefile (``.shp`` or ``.zip``) or GeoPackage of polygons.
        Features sharing an id are merged into one cell.
    cell_id
        The cells' id field; ``cell_id`` in the output keeps its type.
    x, y
        Coordinate columns of a CSV (default: detected by name).
    crs
        CRS of the points (see :func:`gridsvc.domain.geo.coords.parse_input_crs`), overriding what
        the file says; default EPSG:4326 for CSV, the file's own for GeoJSON and GeoParquet.
    cells_crs
        CRS of the cells, overriding what their file says (the same forms as ``crs``: a
        GCJ-02 boundary file is ``gcj02``); default: the file's own.
    progress
        Called with ``(rows done, rows)`` after each part.
    index_cache
        Folder of the on-disk index cache; None indexes the cells for this run only.
    runner
        Where the parts run: None for this process, else e.g.
        :class:`gridsvc.services.assign_dask.DaskRunner`.

    Raises
    ------
    InvalidInput
        Anything wrong with the points, the cells or the options, naming the row or feature and
        the column or field; nothing is written.
    """
    from gridsvc.services.index_cache import cells_target, wait_saved

    started = time.perf_counter()
    fmt = out_format(output)
    given = parse_input_crs(crs) if crs is not None else None
    if cells_crs is not None:
        parse_input_crs(cells_crs)  # a bad --cells-crs fails before the points are read
    names = ("cell_id", "nearest_id", "distance_m")
    runner = runner or LocalRunner()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The index (built, or opened from the cache) is ready while the points are read:
        # numpy and Arrow release the GIL, so the two really overlap on two cores.
        cells_job = pool.submit(cells_target, cells, cell_id, names, index_cache,
                                crs=cells_crs)
        head = runner.open(input_path, x, y)
        check_new_columns(head.table, names)
        if not isinstance(head.crs, LazyCRS):  # a LazyCRS is checked against the cells'
            source = source_crs(head, given, path=dataset_files(input_path)[0])
        target, merged, cached = cells_job.result()
        if isinstance(head.crs, LazyCRS):
            source = source_crs(head, given, target.layer.crs, dataset_files(input_path)[0])
    job = Job((target,), source, target.layer.crs, bounds_of([target]), _table_format(fmt), x,
              y)
    nearest_ready = None
    if source.stated is not None and beyond_bounds(head.x, head.y, job.bounds):
        # Points outside every cell: the nearest-cell search builds its tree (and loads pyproj)
        # beside the assignment of the first part instead of after it.
        nearest_ready = threading.Thread(target=target.layer.prepare_nearest,
                                         name="gridsvc-nearest", daemon=True)
        nearest_ready.start()
    try:
        summary = _run(runner, job, head, input_path, output, progress, started)
    finally:
        wait_saved()
        if nearest_ready is not None:
            nearest_ready.join()
    return replace(summary, merged_cells=merged, index_cached=cached)


def assign_with_plan(engine: Engine, input_path: Path, output: Path, *,
                     layers: Sequence[str] | None = None, x: str | None = None,
                     y: str | None = None, crs: str | None = None,
                     progress: Progress | None = None, as_of: date | None = None,
                     plan_id: int | None = None, prefix: str = "",
                     runner: Runner | None = None) -> AssignSummary:
    """Assign the points of ``input_path`` to the cells of the plan in effect (on ``as_of``,
    default today), or of plan ``plan_id`` (a draft too).

    Parameters
    ----------
    layers
        Kinds of cells, in output order (default: all of town, village, grid, station and
        beat that the plan has). For each, the output gets ``<kind>_id``, and for rows outside
        the layer ``<kind>_nearest_id`` and ``<kind>_distance_m``.
    prefix
        Put before every added column's name (``plan_`` gives ``plan_grid_id``...), for inputs
        that already carry cells of their own.

    Other parameters are as for :func:`assign_with_cells`; points are converted to EPSG:4490.

    Raises
    ------
    InvalidInput
        As :func:`assign_with_cells`; also an unknown kind, or one the plan has no cells of.
    NotFound
        When no plan is in effect, or there is no plan ``plan_id``.
    """
    started = time.perf_counter()
    fmt = out_format(output)
    given = parse_input_crs(crs) if crs is not None else None
    targets = plan_targets(engine, layers, as_of, plan_id, prefix)
    runner = runner or LocalRunner()
    head = runner.open(input_path, x, y)
    check_new_columns(head.table, [c for t in targets for c in t.columns])
    source = source_crs(head, given, path=dataset_files(input_path)[0])
    job = Job(tuple(targets), source, plan_crs(), bounds_of(targets), _table_format(fmt), x,
              y)
    return _run(runner, job, head, input_path, output, progress, started)


def reassign(engine: Engine, plan_id: int, input_path: Path, output: Path, *,
             layers: Sequence[str] | None = None, x: str | None = None, y: str | None = None,
             crs: str | None = None, progress: Progress | None = None,
             runner: Runner | None = None) -> AssignSummary:
    """Re-assignment after a plan: the cells of plan ``plan_id`` for rows that carry cells
    of their own (e.g. years of incidents exported with their ``<kind>_id``).

    The output has the input's columns, then per layer ``plan_<kind>_id`` (and the nearest
    cell for rows outside the layer), then ``moved``: whether any layer's new id differs from
    the row's own ``<kind>_id`` (layers the input does not carry are not compared). Stored rows
    are not touched: incidents keep the cells of their time; this says where they would fall.

    Raises
    ------
    InvalidInput, NotFound
        As :func:`assign_with_plan`; also an input with a ``moved`` column.
    """
    started = time.perf_counter()
    fmt = out_format(output)
    given = parse_input_crs(crs) if crs is not None else None
    targets = plan_targets(engine, layers, None, plan_id, prefix="plan_")
    runner = runner or LocalRunner()
    head = runner.open(input_path, x, y)
    check_new_columns(head.table, [*(c for t in targets for c in t.columns), "moved"])
    carried = tuple((t.id_column.removeprefix("plan_"), t.id_column) for t in targets
                    if t.id_column.removeprefix("plan_") in head.table.column_names)
    source = source_crs(head, given, path=dataset_files(input_path)[0])
    job = Job(tuple(targets), source, plan_crs(), bounds_of(targets), _table_format(fmt), x,
              y, carried)
    return _run(runner, job, head, input_path, output, progress, started)


def plan_targets(engine: Engine, layers: Sequence[str] | None, as_of: date | None,
                 plan_id: int | None, prefix: str = "") -> list[Target]:
    """The indexed layers of a plan, as targets named ``<prefix><kind>_id`` and so on."""
    from gridsvc.db.models import AREA_KINDS
    from gridsvc.services.assignment import current_plan, plan_layers

    kinds = list(layers) if layers else list(AREA_KINDS)
    unknown = [k for k in kinds if k not in AREA_KINDS]
    if unknown:
        raise InvalidInput([Problem(f"unknown layer {k!r}: say {', '.join(AREA_KINDS)}",
                                    field="layers") for k in unknown])
    built = plan_layers(engine, plan_id if plan_id is not None else current_plan(engine, as_of))
    absent = [k for k in kinds if k not in built.layers]
    if layers and absent:
        raise InvalidInput([Problem(f"the plan has no {k} cells", field="layers")
                            for k in absent])
    targets = [Target(built.layers[k], pa.array(built.layers[k].ids.tolist(), pa.string()),
                      f"{prefix}{k}_id", f"{prefix}{k}_nearest_id", f"{prefix}{k}_distance_m")
               for k in kinds if k in built.layers]
    if not targets:
        raise NotFound("the plan has no cells")
    return targets


# -- where the parts run ----------------------------------------------------------------------
Kernel = Callable[[Any, Points, int], Any]


class Runner(ABC):
    """Runs the parts of an input through a kernel (``kernel(job, points, first_row)``, by
    default :func:`run_part`), yielding its results in input order."""

    @abstractmethod
    def open(self, path: Path, x: str | None, y: str | None) -> Points:
        """The input's first rows (or all of them): its columns, CRS and geometry."""

    @abstractmethod
    def run(self, job: Any, head: Points, path: Path, kernel: Kernel = run_part
            ) -> Iterator[Any]:
        """The kernel's result of each part of ``path``, in input order (``head`` is what
        :meth:`open` gave)."""

    @property
    def parts(self) -> int:
        return 1


class LocalRunner(Runner):
    """Parts in this process: each file read whole, cut into slices of ``rows`` rows."""

    def __init__(self, rows: int = PART_ROWS) -> None:
        self.rows = rows
        self._parts = 0

    def open(self, path: Path, x: str | None, y: str | None) -> Points:
        files = dataset_files(path)
        return read_points(files[0], x, y, lazy_crs=True)

    def run(self, job: Any, head: Points, path: Path, kernel: Kernel = run_part
            ) -> Iterator[Any]:
        files = dataset_files(path)
        first_row = 0
        for k, file in enumerate(files):
            points = head if k == 0 else read_points(file, job.x, job.y)
            if k:
                same_columns(head, points, file)
            for start in range(0, max(len(points), 1), self.rows):
                part = slice_points(points, start, start + self.rows)
                self._parts += 1
                yield kernel(job, part, first_row + start)
            first_row += len(points)

    @property
    def parts(self) -> int:
        return self._parts


def dataset_files(path: Path) -> list[Path]:
    """The files of an input: itself, or a folder's (Geo)Parquet files in natural name order
    (``part.2`` before ``part.10``).

    Raises
    ------
    InvalidInput
        A folder without Parquet files.
    """
    if not path.is_dir():
        return [path]
    files = sorted((p for p in path.iterdir() if p.suffix.lower() in PARQUET_SUFFIXES
                    and not p.name.startswith((".", "_"))), key=_natural)
    if not files:
        raise InvalidInput([Problem(f"no .parquet files in the folder {path}", field="input")])
    return files


def _natural(path: Path) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def same_columns(head: Points, points: Points, file: Path) -> None:
    """Every file of a dataset has the first file's columns and types."""
    if points.table.schema.remove_metadata() != head.table.schema.remove_metadata():
        raise InvalidInput([Problem(
            f"{file.name} has other columns than the dataset's first file: "
            f"{points.table.schema.names} against {head.table.schema.names}",
            field="input")])


def slice_points(points: Points, start: int, stop: int) -> Points:
    """Rows ``start:stop`` of ``points``, without copying."""
    return replace(points, table=points.table.slice(start, stop - start),
                   x=points.x[start:stop], y=points.y[start:stop])


# -- the steps shared by both modes -----------------------------------------------------------
def source_crs(points: Points, given: InputCRS | None, target_crs: Any = None,
               path: Path | None = None) -> InputCRS:
    """The points' CRS: ``--crs``, else what the file says, else EPSG:4326 for columns.

    A CRS read lazily (a :class:`LazyCRS` from ``path``) that states the document of
    ``target_crs`` (the cells') is taken as it is, without pyproj; any other is checked and
    read.

    Raises
    ------
    InvalidInput
        Geometries without a CRS, or a CRS pyproj cannot read.
    """
    if isinstance(points.crs, LazyCRS):
        if given is None and points.crs.same_document(target_crs):
            return stated_input_crs(points.crs)
        # Read now, as an eager read would have: an unreadable document is an error even
        # with --crs (and the output compares the file's CRS with the one written).
        stated = checked_crs(points.crs, path or Path("input"))
        return given if given is not None else declared_crs(stated)
    if given is not None:
        return given
    if points.crs is not None:
        return declared_crs(points.crs)
    if points.geometry is not None:
        raise InvalidInput([Problem("the file does not say the CRS of its geometries: give it "
                                    "with --crs", field="crs")])
    return parse_input_crs(DEFAULT_COLUMN_CRS)


def _run(runner: Runner, job: Job, head: Points, input_path: Path, output: Path,
         progress: Progress | None, started: float) -> AssignSummary:
    """Every part through the runner into one output file, written while the next part is
    assigned; then the checks over all parts. Nothing is left behind on an error."""
    read = time.perf_counter()
    total = Counts()
    known = _known_rows(input_path, head) if progress is not None else 0
    folder = out_format(output) == FOLDER
    writer_of = FolderWriter if folder else PointsWriter
    with writer_of(output) as writer, ThreadPoolExecutor(max_workers=1) as io:
        if folder:
            job = replace(job, out_dir=writer.tmp)
        pending: Future | None = None
        for table, counts in runner.run(job, head, input_path):
            total = total + counts
            if pending is not None:
                pending.result()
            pending = io.submit(writer.write, table)
            if progress is not None:
                progress(total.rows, max(total.rows, known))
        if pending is not None:
            pending.result()
        assigned = time.perf_counter()
        check_swapped(total, job.source, head.x_field, head.y_field)
    done = time.perf_counter()
    n_has = total.with_coordinates
    return AssignSummary(
        rows=total.rows, assigned=total.assigned, unassigned=n_has - total.assigned,
        without_coordinates=total.rows - n_has, seconds=done - started, columns=job.columns,
        timings={"read and index": read - started, "assign and write": assigned - read,
                 "finish": done - assigned},
        parts=runner.parts, moved=total.moved)


def _table_format(fmt: str) -> str:
    return "parquet" if fmt == FOLDER else fmt


def _known_rows(path: Path, head: Points) -> int:
    """Rows of the whole input when cheap to know (Parquet footers), else the first file's."""
    files = dataset_files(path)
    if files[0].suffix.lower() not in PARQUET_SUFFIXES:
        return len(head)
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)
