"""Assigning every point of a file to cells, from a cells file (no database) or the plan in effect.

The file is read whole into Arrow and numpy (see :mod:`gridsvc.domain.io.points_io`), checked
before anything is assigned, converted into the cells' CRS, assigned in chunks (so a caller can
show progress), and written with the input's columns first and the cells' ids after them. A
point that no cell covers gets the nearest cell and its distance in metres instead. Nothing is
written when the input has a problem: the output appears whole or not at all.

Heavy or slow modules (the database layer) are imported only by the mode that needs them, so the
file mode never pays for SQLAlchemy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import shapely
from pyproj import CRS, Transformer

from gridsvc.domain.assign.layers import Layer
from gridsvc.domain.geo.coords import (
    InputCRS,
    declared_crs,
    looks_swapped,
    parse_input_crs,
    to_cgcs2000,
)
from gridsvc.domain.io.arrow_io import arrow_array, row_label, row_problems, take
from gridsvc.domain.io.cells_file import Cells, read_cells_file
from gridsvc.domain.io.points_io import (
    Points,
    check_new_columns,
    output_format,
    read_points,
    write_points,
)
from gridsvc.errors import InvalidInput, NotFound, Problem

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from gridsvc.domain.assign.layers import LayerSet

#: Points assigned per step; each step reports progress.
CHUNK_ROWS = 250_000
#: Default CRS of coordinates in columns (CSV, plain Parquet): what GPS and web maps give.
DEFAULT_COLUMN_CRS = "EPSG:4326"
PLAN_CRS = CRS.from_epsg(4490)
#: When more than this share of the points is outside every cell, look for swapped lat/lon.
SWAP_SHARE = 0.5

Progress = Callable[[int, int], None]
Convert = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Target:
    """One layer to assign to, and the output columns it fills.

    ``values[i]`` is what the output says for ``layer.ids[i]`` (the id as the cells file typed
    it: text, or an integer).
    """

    layer: Layer
    values: pa.Array
    id_column: str
    nearest_column: str
    distance_column: str

    @property
    def columns(self) -> tuple[str, str, str]:
        return self.id_column, self.nearest_column, self.distance_column


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
        Seconds per step, in order: read and index, check and convert, assign, nearest, write.
    """

    rows: int
    assigned: int
    unassigned: int
    without_coordinates: int
    seconds: float
    columns: tuple[str, ...]
    merged_cells: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def assign_with_cells(input_path: Path, output: Path, *, cells: Path, cell_id: str,
                      x: str | None = None, y: str | None = None, crs: str | None = None,
                      cells_crs: str | None = None, progress: Progress | None = None
                      ) -> AssignSummary:
    """Assign the points of ``input_path`` to the cells of a vector file; no database.

    Parameters
    ----------
    input_path
        CSV, GeoJSON or (Geo)Parquet of points.
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
        Called with ``(rows done, rows)`` after each chunk.

    Raises
    ------
    InvalidInput
        Anything wrong with the points, the cells or the options, naming the row or feature and
        the column or field; nothing is written.
    """
    started = time.perf_counter()
    output_format(output)
    given = parse_input_crs(crs) if crs is not None else None
    if cells_crs is not None:
        parse_input_crs(cells_crs)  # a bad --cells-crs fails before the points are read
    names = ("cell_id", "nearest_id", "distance_m")
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Indexing the cells takes longest: it runs while the points are read (numpy and
        # Arrow release the GIL, so the two really overlap on a machine with two cores).
        cells_job = pool.submit(_cells_target, cells, cell_id, cells_crs, names)
        points = read_points(input_path, x, y)
        check_new_columns(points.table, names)
        source = _source_crs(points, given)
        target, found = cells_job.result()
    summary = _run(points, output, source, found.crs, [target], progress, started)
    return replace(summary, merged_cells=found.merged)


def _cells_target(cells: Path, cell_id: str, crs: str | None, names: tuple[str, str, str]
                  ) -> tuple[Target, Cells]:
    """Read, check and index the cells of a file."""
    found = read_cells_file(cells, cell_id, crs)
    layer = Layer.build(cells.stem, found.ids, found.geoms, found.crs, one_off=True)
    # The output says each id as the file typed it; the layer keeps its ids sorted as text.
    position = {ident: k for k, ident in enumerate(found.ids.tolist())}
    values = found.values.take(arrow_array(np.array(
        [position[i] for i in layer.ids.tolist()], dtype=np.int64)))
    return Target(layer, values, *names), found


def assign_with_plan(engine: Engine, input_path: Path, output: Path, *,
                     layers: Sequence[str] | None = None, x: str | None = None,
                     y: str | None = None, crs: str | None = None,
                     progress: Progress | None = None, as_of: date | None = None
                     ) -> AssignSummary:
    """Assign the points of ``input_path`` to the cells of the plan in effect (on ``as_of``,
    default today).

    Parameters
    ----------
    layers
        Kinds of cells, in output order (default: all of town, village, grid, station and
        beat that the plan has). For each, the output gets ``<kind>_id``, and for rows outside
        the layer ``<kind>_nearest_id`` and ``<kind>_distance_m``.

    Other parameters are as for :func:`assign_with_cells`; points are converted to EPSG:4490.

    Raises
    ------
    InvalidInput
        As :func:`assign_with_cells`; also an unknown kind, or one the plan has no cells of.
    NotFound
        When no plan is in effect.
    """
    from gridsvc.db.models import AREA_KINDS
    from gridsvc.services.assignment import current_plan, plan_layers

    started = time.perf_counter()
    output_format(output)
    given = parse_input_crs(crs) if crs is not None else None
    kinds = list(layers) if layers else list(AREA_KINDS)
    unknown = [k for k in kinds if k not in AREA_KINDS]
    if unknown:
        raise InvalidInput([Problem(f"unknown layer {k!r}: say {', '.join(AREA_KINDS)}",
                                    field="layers") for k in unknown])
    points = read_points(input_path, x, y)
    check_new_columns(points.table, [f"{k}_{c}" for k in kinds
                                     for c in ("id", "nearest_id", "distance_m")])
    source = _source_crs(points, given)
    built: LayerSet = plan_layers(engine, current_plan(engine, as_of))
    absent = [k for k in kinds if k not in built.layers]
    if layers and absent:
        raise InvalidInput([Problem(f"the plan in effect has no {k} cells", field="layers")
                            for k in absent])
    targets = [Target(built.layers[k], pa.array(built.layers[k].ids.tolist(), pa.string()),
                      f"{k}_id", f"{k}_nearest_id", f"{k}_distance_m")
               for k in kinds if k in built.layers]
    if not targets:
        raise NotFound("the plan in effect has no cells")
    return _run(points, output, source, PLAN_CRS, targets, progress, started)


# -- the steps shared by both modes -----------------------------------------------------------
def _source_crs(points: Points, given: InputCRS | None) -> InputCRS:
    """The points' CRS: ``--crs``, else what the file says, else EPSG:4326 for columns."""
    if given is not None:
        return given
    if points.crs is not None:
        return declared_crs(points.crs)
    if points.geometry is not None:
        raise InvalidInput([Problem("the file does not say the CRS of its geometries: give it "
                                    "with --crs", field="crs")])
    return parse_input_crs(DEFAULT_COLUMN_CRS)


def _converter(source: InputCRS, target: CRS) -> Convert:
    """A function taking the points' coordinates into the cells' CRS.

    GCJ-02 and BD-09 are not CRSs pyproj knows: they go to CGCS2000 first. A source equal to the
    target (axis order aside: x is always the longitude here) is not transformed at all, which
    saves the time of a million-point PROJ call.
    """
    if source.is_offset:
        onward = _converter(InputCRS("EPSG:4490", geographic=True), target)
        return lambda x, y: onward(*to_cgcs2000(x, y, source))
    crs = CRS.from_user_input(source.name)
    if crs.equals(target, ignore_axis_order=True):
        return lambda x, y: (x, y)
    transformer = Transformer.from_crs(crs, target, always_xy=True)

    def convert(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore"):
            cx, cy = transformer.transform(x, y)
        return np.asarray(cx, dtype=float), np.asarray(cy, dtype=float)

    return convert


def _run(points: Points, output: Path, source: InputCRS, target_crs: CRS,
         targets: list[Target], progress: Progress | None, started: float) -> AssignSummary:
    marks = [("read and index", time.perf_counter())]
    x, y = points.x, points.y
    has = ~(np.isnan(x) | np.isnan(y))
    convert = _converter(source, target_crs)
    bounds = _bounds(targets)
    _check_raw(points, source, has, convert, target_crs, bounds)
    cx, cy = convert(x, y)
    _check_converted(points, source, has, cx, cy, target_crs)
    marks.append(("check and convert", time.perf_counter()))
    found = _assign_chunks(targets, cx, cy, progress)
    marks.append(("assign", time.perf_counter()))
    inside_all = np.logical_and.reduce([f >= 0 for f in found]) & has
    inside_any = np.logical_or.reduce([f >= 0 for f in found])
    _check_swapped(points, source, has & ~inside_any, has, convert, target_crs, bounds)
    new: dict[str, pa.Array] = {}
    for target, idx in zip(targets, found, strict=True):
        new.update(_columns(target, idx, cx, cy))
    marks.append(("nearest", time.perf_counter()))
    # The output's geometries are the points as read, in the CRS they were read in, except
    # GCJ-02 and BD-09, which no CRS can name: those are written converted to CGCS2000.
    if source.is_offset:
        out_crs, xy = PLAN_CRS, to_cgcs2000(x, y, source)
    else:
        out_crs = CRS.from_user_input(source.name)
        xy = (x, y) if points.geometry is None else None
    write_points(output, points, new, crs=out_crs, xy=xy)
    marks.append(("write", time.perf_counter()))
    n_has = int(has.sum())
    return AssignSummary(
        rows=len(points), assigned=int(inside_all.sum()),
        unassigned=n_has - int(inside_all.sum()), without_coordinates=len(points) - n_has,
        seconds=time.perf_counter() - started,
        columns=tuple(c for t in targets for c in t.columns),
        timings={name: end - start for (name, end), (_, start)
                 in zip(marks, [("", started), *marks[:-1]], strict=True)})


def _bounds(targets: list[Target]) -> tuple[float, float, float, float]:
    boxes = np.array([shapely.total_bounds(t.layer.index.geoms) for t in targets])
    return (float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()),
            float(boxes[:, 3].max()))


def _assign_chunks(targets: list[Target], cx: np.ndarray, cy: np.ndarray,
                   progress: Progress | None) -> list[np.ndarray]:
    """Per target, the index of the cell covering each point (-1 for none), chunk by chunk so
    that progress can be shown (the engine spreads each chunk over the cores itself)."""
    n = len(cx)
    found = [np.full(n, -1, dtype=np.int64) for _ in targets]
    steps = [(k, start, min(n, start + CHUNK_ROWS)) for start in range(0, n, CHUNK_ROWS)
             for k in range(len(targets))]
    for done, (k, start, stop) in enumerate(steps, start=1):
        found[k][start:stop] = targets[k].layer.assign(cx[start:stop], cy[start:stop])
        if progress is not None:
            progress(min(n, done * n // len(steps)), n)
    return found


def _columns(target: Target, idx: np.ndarray, cx: np.ndarray, cy: np.ndarray
             ) -> dict[str, pa.Array]:
    """The id, nearest id and distance columns of one layer (nulls where they do not apply)."""
    ids = take(target.values, idx)
    outside = np.flatnonzero((idx < 0) & ~(np.isnan(cx) | np.isnan(cy)))
    nearest = np.full(len(idx), -1, dtype=np.int64)
    distance = np.full(len(idx), np.nan)
    if len(outside):
        near, metres = target.layer.nearest(cx[outside], cy[outside])
        nearest[outside], distance[outside] = near, metres
    return {
        target.id_column: ids,
        target.nearest_column: take(target.values, nearest),
        target.distance_column: arrow_array(distance, ~np.isnan(distance)),
    }


# -- checks -----------------------------------------------------------------------------------
def _fields(points: Points) -> tuple[str, str]:
    return points.x_field, points.y_field


def _check_raw(points: Points, source: InputCRS, has: np.ndarray, convert: Convert,
               target_crs: CRS, bounds: tuple[float, float, float, float]) -> None:
    """Infinite values, and degrees out of range (with a hint when lat/lon look swapped)."""
    x, y = points.x, points.y
    x_field, y_field = _fields(points)
    infinite = np.flatnonzero(np.isinf(x) | np.isinf(y))
    if len(infinite):
        raise InvalidInput(row_problems(infinite, lambda i: "the coordinate is not finite",
                                        x_field if np.isinf(x[infinite[0]]) else y_field))
    if not source.geographic:
        return
    with np.errstate(invalid="ignore"):
        bad_x = np.flatnonzero(has & (np.abs(x) > 180))
        bad_y = np.flatnonzero(has & (np.abs(y) > 90))
    if not (len(bad_x) or len(bad_y)):
        return
    bad = np.union1d(bad_x, bad_y)
    if _swapped(x[bad], y[bad], convert, target_crs, bounds).mean() > SWAP_SHARE:
        raise _swapped_error(points, bad, len(bad), int(has.sum()))
    problems = row_problems(bad_y, lambda i: f"latitude {y[i]:.10g} is out of range (-90..90)",
                            y_field)
    problems += row_problems(
        bad_x, lambda i: f"longitude {x[i]:.10g} is out of range (-180..180)", x_field)
    raise InvalidInput(problems)


def _check_converted(points: Points, source: InputCRS, has: np.ndarray, cx: np.ndarray,
                     cy: np.ndarray, target_crs: CRS) -> None:
    """Points that PROJ could not take into the cells' CRS (far outside a projection)."""
    failed = np.flatnonzero(has & ~(np.isfinite(cx) & np.isfinite(cy)))
    if len(failed):
        target = target_crs.to_string()
        raise InvalidInput(row_problems(failed, lambda i: (
            f"({points.x[i]:.10g}, {points.y[i]:.10g}) cannot be converted from {source.name} "
            f"to {target}: is --crs right?"), points.x_field))


def _check_swapped(points: Points, source: InputCRS, outside: np.ndarray, has: np.ndarray,
                   convert: Convert, target_crs: CRS,
                   bounds: tuple[float, float, float, float]) -> None:
    """Most points outside every cell, but inside with x and y exchanged: a swapped file."""
    n_has = int(has.sum())
    n_out = int(outside.sum())
    if not source.geographic or n_has == 0 or n_out <= SWAP_SHARE * n_has:
        return
    rows = np.flatnonzero(outside)
    if _swapped(points.x[rows], points.y[rows], convert, target_crs, bounds).mean() > SWAP_SHARE:
        raise _swapped_error(points, rows, n_out, n_has)


def _swapped(x: np.ndarray, y: np.ndarray, convert: Convert, target_crs: CRS,
             bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Which lon/lat points are outside the cells' bounds but inside with x and y exchanged."""
    if target_crs.is_geographic:
        # Degrees in, degrees out: datum shifts and the GCJ-02 offset are far below the margin
        # of looks_swapped, so the raw values can be tested against the cells' bounds directly.
        return looks_swapped(x, y, bounds)
    xmin, ymin, xmax, ymax = bounds
    margin = 0.05 * max(xmax - xmin, ymax - ymin)
    with np.errstate(invalid="ignore"):
        sx, sy = convert(y, x)
        return ((sx >= xmin - margin) & (sx <= xmax + margin)
                & (sy >= ymin - margin) & (sy <= ymax + margin))


def _swapped_error(points: Points, rows: np.ndarray, n_bad: int, n_has: int) -> InvalidInput:
    first = int(rows[0])
    x_field, y_field = _fields(points)
    if x_field == y_field:  # a geometry column
        fix = "write the geometries as x = longitude, y = latitude"
    else:
        fix = f"give --x {y_field} --y {x_field}"
    return InvalidInput([Problem(
        f"lat/lon look swapped: {n_bad:,} of {n_has:,} points are outside the cells (or out of "
        f"range) but fall inside them with x and y exchanged (first: x {points.x[first]:.10g}, "
        f"y {points.y[first]:.10g}); x must be the longitude: {fix}",
        feature=row_label(first), field=f"{x_field}, {y_field}" if x_field != y_field
        else x_field)])
