"""The assignment of one part of a points file: the kernel every path runs.

``gridsvc assign`` cuts its input into parts (a Parquet file's row groups, or the whole file);
each part is checked, converted into the cells' CRS, assigned and given the nearest cell where no
cell covers a point, by :func:`assign_part`, whether the parts run one after the other in one
process or on the workers of a Dask cluster. What must look at every part at once (whether
most points are outside the cells because lat/lon were swapped) is summed in :class:`Counts`
and decided by :func:`check_swapped` afterwards, so both paths say the same, row for row.

Pure: arrays in, arrays out; nothing is read or written here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from gridsvc.domain.assign.layers import Layer
from gridsvc.domain.geo.coords import InputCRS, looks_swapped, to_cgcs2000
from gridsvc.domain.geo.lazy_crs import as_pyproj
from gridsvc.domain.io.arrow_io import arrow_array, row_label, row_problems, take
from gridsvc.domain.io.points_io import Points
from gridsvc.errors import InvalidInput, Problem

if TYPE_CHECKING:  # pyproj loads only when points need converting
    from pyproj import CRS

#: When more than this share of the points is outside every cell, look for swapped lat/lon.
SWAP_SHARE = 0.5

Convert = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
Bounds = tuple[float, float, float, float]


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
class Counts:
    """What a part held, summed over parts with ``+``.

    Attributes
    ----------
    rows, with_coordinates, assigned
        Rows; rows with coordinates; rows with coordinates that a cell of every layer covers.
    outside
        Rows with coordinates that no cell of any layer covers.
    swapped
        Of those, how many fall inside the cells' bounds with x and y exchanged (counted only
        for geographic input, where swapping is the usual mistake).
    first_outside
        The first outside row (0-based, in the whole input) and its raw x and y; None if none.
    moved
        Re-assignment: rows whose new cells differ from the cells they carried.
    """

    rows: int = 0
    with_coordinates: int = 0
    assigned: int = 0
    outside: int = 0
    swapped: int = 0
    first_outside: tuple[int, float, float] | None = None
    moved: int = 0

    def __add__(self, other: Counts) -> Counts:
        firsts = [f for f in (self.first_outside, other.first_outside) if f is not None]
        return Counts(self.rows + other.rows, self.with_coordinates + other.with_coordinates,
                      self.assigned + other.assigned, self.outside + other.outside,
                      self.swapped + other.swapped, min(firsts) if firsts else None,
                      self.moved + other.moved)


def converter(source: InputCRS, target: CRS) -> Convert:
    """A function taking the points' coordinates into the cells' CRS.

    GCJ-02 and BD-09 are not CRSs pyproj knows: they go to CGCS2000 first. A source equal to the
    target (axis order aside: x is always the longitude here) is not transformed at all, which
    saves the time of a million-point PROJ call; so is a source that states the target's own
    CRS document (:func:`gridsvc.domain.geo.coords.stated_input_crs`), without asking pyproj.
    """
    if source.stated is not None and source.stated.same_document(target):
        return lambda x, y: (x, y)
    if source.is_offset:
        onward = converter(InputCRS("EPSG:4490", geographic=True), target)
        return lambda x, y: onward(*to_cgcs2000(x, y, source))
    from pyproj import CRS, Transformer

    crs = CRS.from_user_input(source.name)
    target = as_pyproj(target)
    if crs.equals(target, ignore_axis_order=True):
        return lambda x, y: (x, y)
    transformer = Transformer.from_crs(crs, target, always_xy=True)

    def convert(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore"):
            cx, cy = transformer.transform(x, y)
        return np.asarray(cx, dtype=float), np.asarray(cy, dtype=float)

    return convert


def bounds_of(targets: Sequence[Target]) -> Bounds:
    """The bounding box of every target's cells."""
    boxes = np.array([t.layer.index.bounds for t in targets])
    return (float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()),
            float(boxes[:, 3].max()))


def beyond_bounds(x: np.ndarray, y: np.ndarray, bounds: Bounds) -> bool:
    """Whether some point lies outside ``bounds`` (so surely outside every cell).

    >>> beyond_bounds(np.array([0.5, 2.0]), np.array([0.5, 0.5]), (0.0, 0.0, 1.0, 1.0))
    True
    """
    xmin, ymin, xmax, ymax = bounds
    with np.errstate(invalid="ignore"):  # NaN is no point
        return bool(((x < xmin) | (x > xmax) | (y < ymin) | (y > ymax)).any())


def assign_part(points: Points, targets: Sequence[Target], source: InputCRS, target_crs: CRS,
                bounds: Bounds, *, first_row: int = 0, threads: int | None = None
                ) -> tuple[dict[str, pa.Array], Counts]:
    """Check, convert and assign one part of the input.

    Parameters
    ----------
    points
        The part's rows.
    targets
        The layers, in output order.
    source, target_crs
        The points' CRS and the cells'.
    bounds
        :func:`bounds_of` the targets (for the swapped lat/lon hint).
    first_row
        The part's first row in the whole input (0-based), for messages and
        :attr:`Counts.first_outside`.
    threads
        Threads for the assignment (default: one per core); 1 where parts already run in
        parallel (the threads of a Dask worker).

    Returns
    -------
    columns, counts
        Per target, its id, nearest id and distance (metres) columns, in order; and the
        part's :class:`Counts`.

    Raises
    ------
    InvalidInput
        Infinite coordinates, degrees out of range (or swapped), points that cannot be converted
        into the cells' CRS: each row named in the whole input.
    """
    x, y = points.x, points.y
    has = ~(np.isnan(x) | np.isnan(y))
    convert = converter(source, target_crs)
    _check_raw(points, source, has, convert, target_crs, bounds, first_row)
    cx, cy = convert(x, y)
    _check_converted(points, source, has, cx, cy, target_crs, first_row)
    found = [t.layer.assign(cx, cy, threads=threads) for t in targets]
    inside_all = np.logical_and.reduce([f >= 0 for f in found]) & has
    outside = has & ~np.logical_or.reduce([f >= 0 for f in found])
    columns: dict[str, pa.Array] = {}
    for target, idx in zip(targets, found, strict=True):
        columns.update(_columns(target, idx, cx, cy))
    rows = np.flatnonzero(outside)
    swapped = 0
    if source.geographic and len(rows):
        swapped = int(_swapped(x[rows], y[rows], convert, target_crs, bounds).sum())
    first = None if not len(rows) else (first_row + int(rows[0]), float(x[rows[0]]),
                                        float(y[rows[0]]))
    return columns, Counts(len(points), int(has.sum()), int(inside_all.sum()), len(rows),
                           swapped, first)


def count_part(points: Points, target: Target, source: InputCRS, target_crs: CRS,
               bounds: Bounds, *, first_row: int = 0, threads: int | None = None
               ) -> np.ndarray:
    """Points per cell of ``target`` (``len(target.layer.ids)`` counts), checked and
    converted as :func:`assign_part` does; points no cell covers are not counted.

    Raises
    ------
    InvalidInput
        As :func:`assign_part`.
    """
    x, y = points.x, points.y
    has = ~(np.isnan(x) | np.isnan(y))
    convert = converter(source, target_crs)
    _check_raw(points, source, has, convert, target_crs, bounds, first_row)
    cx, cy = convert(x, y)
    _check_converted(points, source, has, cx, cy, target_crs, first_row)
    idx = target.layer.assign(cx, cy, threads=threads)
    return np.bincount(idx[idx >= 0], minlength=len(target.layer.ids))


def moved_rows(carried: pa.Array | pa.ChunkedArray, now: pa.Array) -> np.ndarray:
    """Which rows' cell ``now`` differs from the cell they ``carried`` (as text; a cell gained
    or lost counts as a move, none before and none now does not).

    >>> moved_rows(pa.array(["a", "b", None, None]), pa.array(["a", "c", None, "d"])).tolist()
    [False, True, False, True]
    """
    import pyarrow.compute as pc

    old = carried.cast(pa.string())
    old_null = np.asarray(pc.is_null(old).to_numpy(zero_copy_only=False), dtype=bool)
    new_null = np.asarray(pc.is_null(now).to_numpy(zero_copy_only=False), dtype=bool)
    differ = pc.fill_null(pc.not_equal(old, now.cast(pa.string())), False)
    return np.asarray(differ.to_numpy(zero_copy_only=False), dtype=bool) | (old_null != new_null)


def check_swapped(counts: Counts, source: InputCRS, x_field: str, y_field: str) -> None:
    """Most points outside every cell, but inside with x and y exchanged: a swapped file.

    Raises
    ------
    InvalidInput
        Naming the first outside row and how to swap the columns back.
    """
    n_has, n_out = counts.with_coordinates, counts.outside
    if not source.geographic or n_has == 0 or n_out <= SWAP_SHARE * n_has:
        return
    if counts.swapped / n_out > SWAP_SHARE and counts.first_outside is not None:
        row, x, y = counts.first_outside
        raise _swapped_error(x_field, y_field, row, x, y, n_out, n_has)


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
def _problems(rows: np.ndarray, message: Callable[[int], str], field: str, first_row: int
              ) -> list[Problem]:
    """:func:`row_problems` for rows of a part, named by their row in the whole input."""
    return row_problems(rows + first_row, lambda i: message(i - first_row), field)


def _check_raw(points: Points, source: InputCRS, has: np.ndarray, convert: Convert,
               target_crs: CRS, bounds: Bounds, first_row: int) -> None:
    """Infinite values, and degrees out of range (with a hint when lat/lon look swapped)."""
    x, y = points.x, points.y
    x_field, y_field = points.x_field, points.y_field
    infinite = np.flatnonzero(np.isinf(x) | np.isinf(y))
    if len(infinite):
        raise InvalidInput(_problems(infinite, lambda i: "the coordinate is not finite",
                                     x_field if np.isinf(x[infinite[0]]) else y_field,
                                     first_row))
    if not source.geographic:
        return
    with np.errstate(invalid="ignore"):
        bad_x = np.flatnonzero(has & (np.abs(x) > 180))
        bad_y = np.flatnonzero(has & (np.abs(y) > 90))
    if not (len(bad_x) or len(bad_y)):
        return
    bad = np.union1d(bad_x, bad_y)
    if _swapped(x[bad], y[bad], convert, target_crs, bounds).mean() > SWAP_SHARE:
        first = int(bad[0])
        raise _swapped_error(x_field, y_field, first_row + first, float(x[first]),
                             float(y[first]), len(bad), int(has.sum()))
    problems = _problems(bad_y, lambda i: f"latitude {y[i]:.10g} is out of range (-90..90)",
                         y_field, first_row)
    problems += _problems(
        bad_x, lambda i: f"longitude {x[i]:.10g} is out of range (-180..180)", x_field,
        first_row)
    raise InvalidInput(problems)


def _check_converted(points: Points, source: InputCRS, has: np.ndarray, cx: np.ndarray,
                     cy: np.ndarray, target_crs: CRS, first_row: int) -> None:
    """Points that PROJ could not take into the cells' CRS (far outside a projection)."""
    failed = np.flatnonzero(has & ~(np.isfinite(cx) & np.isfinite(cy)))
    if len(failed):
        target = target_crs.to_string()
        raise InvalidInput(_problems(failed, lambda i: (
            f"({points.x[i]:.10g}, {points.y[i]:.10g}) cannot be converted from {source.name} "
            f"to {target}: is --crs right?"), points.x_field, first_row))


def _swapped(x: np.ndarray, y: np.ndarray, convert: Convert, target_crs: CRS, bounds: Bounds
             ) -> np.ndarray:
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


def _swapped_error(x_field: str, y_field: str, row: int, x: float, y: float, n_bad: int,
                   n_has: int) -> InvalidInput:
    if x_field == y_field:  # a geometry column
        fix = "write the geometries as x = longitude, y = latitude"
    else:
        fix = f"give --x {y_field} --y {x_field}"
    return InvalidInput([Problem(
        f"lat/lon look swapped: {n_bad:,} of {n_has:,} points are outside the cells (or out of "
        f"range) but fall inside them with x and y exchanged (first: x {x:.10g}, y {y:.10g}); "
        f"x must be the longitude: {fix}",
        feature=row_label(row), field=f"{x_field}, {y_field}" if x_field != y_field
        else x_field)])
