"""Arrow tables of points and cells without pandas: reading, checking, naming rows.

Shared by :mod:`gridsvc.domain.io.points_io` (points) and :mod:`gridsvc.domain.io.cells_file`
(cells).
Rows are named as a spreadsheet user counts data rows: ``row 1`` is the first row after the
header (the first feature of a GeoJSON file, the first row of a Parquet file).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from gridsvc.domain.geo.lazy_crs import LazyCRS
from gridsvc.errors import InvalidInput, Problem

if TYPE_CHECKING:
    from pyproj import CRS

ROW_NOTE = "rows are counted from 1 at the first data row, the header not counted"
#: Problems listed one by one before the rest are summed up (a million bad rows need one line).
MAX_LISTED = 20
GEOMETRY = "geometry"


def row_label(i: int) -> str:
    """The name of 0-based row ``i`` for a user: ``row i+1``."""
    return f"row {i + 1}"


def shift_rows(error: InvalidInput, offset: int) -> InvalidInput:
    """``error`` with its rows renamed for a part that starts at 0-based row ``offset``.

    >>> shift_rows(InvalidInput([Problem("bad", "row 2", "x")]), 10).problems[0].feature
    'row 12'
    """
    def shifted(feature: str | None) -> str | None:
        if feature and feature.startswith("row ") and feature[4:].isdigit():
            return row_label(int(feature[4:]) - 1 + offset)
        return feature

    return InvalidInput([Problem(p.message, shifted(p.feature), p.field)
                         for p in error.problems])


def read_failed(path: Path, exc: Exception) -> InvalidInput:
    return InvalidInput([Problem(f"cannot read {path.name}: {exc}")])


def missing_file(path: Path) -> InvalidInput:
    return InvalidInput([Problem(f"no such file: {path}")])


def row_problems(rows: np.ndarray, message: Callable[[int], str], field: str | None
                 ) -> list[Problem]:
    """One problem per bad row (0-based indices), the first :data:`MAX_LISTED` listed."""
    problems = [Problem(message(int(i)), feature=row_label(int(i)), field=field)
                for i in rows[:MAX_LISTED]]
    if len(rows) > MAX_LISTED:
        problems.append(Problem(f"... and {len(rows) - MAX_LISTED:,} more rows like these "
                                f"({ROW_NOTE})", field=field))
    elif problems:
        problems[-1] = Problem(f"{problems[-1].message} ({ROW_NOTE})", problems[-1].feature,
                               problems[-1].field)
    return problems


# -- Arrow <-> numpy without pandas --------------------------------------------------------------
# pyarrow imports pandas (a fifth of a second) the first time it converts to or from numpy or
# Python objects (pa.array, to_numpy, pa.scalar), to check for pandas types. These helpers go
# through the buffers instead, which is also zero-copy.
def valid_mask(array: pa.Array) -> np.ndarray:
    """Which entries of an Arrow array are not null, as a numpy bool array."""
    bitmap = array.buffers()[0]
    if bitmap is None or array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[array.offset:array.offset + len(array)].astype(bool)


def float_values(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric Arrow column as float64, NaN for nulls."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for chunk in chunks:
        chunk = chunk.cast(pa.float64())
        values = np.frombuffer(chunk.buffers()[1], dtype=np.float64)
        values = values[chunk.offset:chunk.offset + len(chunk)].copy()
        values[~valid_mask(chunk)] = np.nan
        parts.append(values)
    return np.concatenate(parts) if parts else np.empty(0)


def arrow_array(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An int64 or float64 numpy array as Arrow, null where ``valid`` is False.

    Examples
    --------
    >>> arrow_array(np.array([1.5, 2.0]), np.array([True, False])).to_pylist()
    [1.5, None]
    """
    values = np.ascontiguousarray(values)
    kind = {np.dtype(np.int64): pa.int64(), np.dtype(np.float64): pa.float64()}[values.dtype]
    bitmap = None if valid is None or valid.all() else pa.py_buffer(
        np.packbits(valid, bitorder="little"))
    nulls = 0 if bitmap is None else int(len(values) - valid.sum())
    return pa.Array.from_buffers(kind, len(values), [bitmap, pa.py_buffer(values)],
                                 null_count=nulls)


def take(values: pa.Array, index: np.ndarray) -> pa.Array:
    """``values[index]``, null where ``index`` is negative (no cell).

    Ids of one width (codes such as ``"G0012"``, the usual case) and integers are gathered
    with numpy; other values with Arrow's ``take`` (whose module, ``pyarrow.compute``, takes
    longer to import than a million ids take to gather).

    Examples
    --------
    >>> ids = pa.array(["a1", "b2", "c3"])
    >>> take(ids, np.array([2, -1, 0])).to_pylist()
    ['c3', None, 'a1']
    >>> take(pa.array(["a", "bb"]), np.array([1, 0, -1])).to_pylist()
    ['bb', 'a', None]
    """
    valid = index >= 0
    if not valid.any():
        return pa.nulls(len(index), values.type)
    if values.null_count == 0:
        if values.type in (pa.int64(), pa.float64()):
            kind = np.int64 if values.type == pa.int64() else np.float64
            numbers = np.frombuffer(values.buffers()[1], dtype=kind)
            numbers = numbers[values.offset:values.offset + len(values)]
            return arrow_array(numbers[np.where(valid, index, 0)], valid)
        if values.type in (pa.string(), pa.large_string()):
            gathered = _take_one_width(values, index, valid)
            if gathered is not None:
                return gathered
    return values.take(arrow_array(np.maximum(index, 0).astype(np.int64), valid))


def _take_one_width(values: pa.Array, index: np.ndarray, valid: np.ndarray) -> pa.Array | None:
    """:func:`take` of strings that all have the same number of bytes; None if they do not."""
    kind = np.int64 if values.type == pa.large_string() else np.int32
    offsets = np.frombuffer(values.buffers()[1], dtype=kind)
    offsets = offsets[values.offset:values.offset + len(values) + 1]
    width = int(offsets[1] - offsets[0]) if len(values) else 0
    if width == 0 or int(offsets[-1] - offsets[0]) != width * len(values) or not (
            np.diff(offsets) == width).all() or width * len(index) >= np.iinfo(kind).max:
        return None
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    rows = np.take(data.reshape(len(values), width), index[valid], axis=0)  # 5x data[...]
    out_offsets = np.zeros(len(index) + 1, dtype=kind)
    np.cumsum(valid * kind(width), out=out_offsets[1:])
    nulls = int(len(index) - rows.shape[0])
    bitmap = None if nulls == 0 else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(values.type, len(index), [
        bitmap, pa.py_buffer(out_offsets), pa.py_buffer(np.ascontiguousarray(rows))],
        null_count=nulls)


def read_parquet_file(path: Path) -> pa.Table:
    """One Parquet file, read without ``pq.read_table``: that goes through ``pyarrow.dataset``,
    which imports pandas (a quarter of a second) for nothing."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        return file.read()


def geo_metadata(table: pa.Table) -> dict[str, Any] | None:
    """The GeoParquet ``geo`` metadata of a table, None when there is none."""
    raw = (table.schema.metadata or {}).get(b"geo")
    return json.loads(raw) if raw else None


def geoparquet_crs(column_meta: dict[str, Any], path: Path, lazy: bool = False
                   ) -> CRS | LazyCRS | None:
    """The CRS of a GeoParquet column: a missing ``crs`` means OGC:CRS84 (lon/lat WGS84), by
    the specification; ``null`` means unknown (None). ``lazy``: a PROJJSON document comes
    back as a :class:`LazyCRS`, unread by pyproj (check it with :func:`checked_crs`)."""
    value = column_meta.get("crs", ...)
    if value is None:
        return None
    if lazy and isinstance(value, dict):
        return LazyCRS(value)
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if value is ...:
        return CRS.from_user_input("OGC:CRS84")
    try:
        return CRS.from_json_dict(value) if isinstance(value, dict) else CRS.from_user_input(
            value)
    except CRSError as exc:
        raise InvalidInput([Problem(f"{path.name}: unreadable CRS in the geo metadata: {exc}",
                                    field="crs")]) from None


def read_ogr(path: Path) -> tuple[dict[str, Any], pa.Table]:
    """Read a vector file with GDAL into Arrow (never a GeoDataFrame)."""
    import pyogrio

    try:
        meta, table = pyogrio.read_arrow(path)
    except Exception as exc:  # GDAL raises many types; the user needs its words
        raise read_failed(path, exc) from None
    return meta, table


def checked_crs(crs: LazyCRS, path: Path) -> CRS:
    """The pyproj CRS of a lazily read GeoParquet CRS, with :func:`geoparquet_crs`'s error.

    Raises
    ------
    InvalidInput
        When pyproj cannot read the document.
    """
    from pyproj.exceptions import CRSError

    try:
        return crs.crs
    except CRSError as exc:
        raise InvalidInput([Problem(f"{path.name}: unreadable CRS in the geo metadata: {exc}",
                                    field="crs")]) from None


def ogr_crs(path: Path, value: str | None) -> CRS | None:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if not value:
        return None
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise InvalidInput([Problem(f"{path.name}: unreadable CRS: {exc}", field="crs")]
                           ) from None
