"""Files of points in, the same rows with their cells out; cells from any vector file.

Points come from CSV (coordinates in two columns), GeoJSON or GeoParquet (point geometries);
results go to CSV or GeoParquet with every input column kept as it was. Cells come from
GeoParquet or anything GDAL reads (GeoJSON, Shapefile, zipped Shapefile, GeoPackage).

Why not geopandas: importing it costs about half a second and a GeoDataFrame of a million points
costs a million shapely objects. Here a table stays an Arrow table from reading to writing, and
coordinates are numpy arrays: GeoParquet's 2D points are decoded straight from their WKB bytes,
and CSV cells are parsed by Arrow's multithreaded reader. pyogrio (which imports geopandas) is
only used for formats Arrow cannot read.

Rows are named as a spreadsheet user counts data rows: ``row 1`` is the first row after the
header (the first feature of a GeoJSON file, the first row of a Parquet file). Cells are named
``feature N (id 'X')`` as in :mod:`gridsvc.domain.cells_io` (N counted from 0, as GDAL does).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gridsvc.domain.cells_io import cell_problems
from gridsvc.errors import InvalidInput, Problem

#: Column names taken for longitude and latitude when none is given (case ignored), by priority.
X_NAMES = ("lon", "lng", "longitude", "x")
Y_NAMES = ("lat", "latitude", "y")
#: Output formats by suffix.
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".geoparquet": "parquet"}
POINT_SUFFIXES = {".csv": "csv", ".geojson": "geojson", ".json": "geojson",
                  ".parquet": "parquet", ".geoparquet": "parquet"}
ROW_NOTE = "rows are counted from 1 at the first data row, the header not counted"
#: Problems listed one by one before the rest are summed up (a million bad rows need one line).
MAX_LISTED = 20
GEOPARQUET_VERSION = "1.0.0"
_GEOMETRY = "geometry"
# A 2D point in little-endian WKB: byte order 1, type 1 (uint32), x and y (float64), 21 bytes.
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
_NUMBER_CHARS = set("0123456789+-.eE")


def row_label(i: int) -> str:
    """The name of 0-based row ``i`` for a user: ``row i+1``."""
    return f"row {i + 1}"


def _read_failed(path: Path, exc: Exception) -> InvalidInput:
    return InvalidInput([Problem(f"cannot read {path.name}: {exc}")])


def _missing(path: Path) -> InvalidInput:
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
    """``values[index]``, null where ``index`` is negative (no cell)."""
    return values.take(arrow_array(np.maximum(index, 0).astype(np.int64), index >= 0))


# -- points -----------------------------------------------------------------------------------
@dataclass
class Points:
    """Rows read from a file, with their coordinates.

    Attributes
    ----------
    table
        Every column of the input, in order, as read: CSV columns as text (so ``"0422"`` stays
        ``"0422"``), the geometry of GeoJSON and GeoParquet as WKB in column :attr:`geometry`.
    x, y
        Coordinates, float64; NaN where a row has none (empty cells, null or empty geometry).
    crs
        What the file says its CRS is; None when it says nothing (CSV, Parquet without ``geo``
        metadata, GeoParquet with ``"crs": null``).
    x_field, y_field
        Where the coordinates come from, for messages: the columns, or the geometry column.
    geometry
        Name of the geometry column of :attr:`table`, None when there is none (CSV).
    geo
        The input's GeoParquet ``geo`` metadata, kept for the output; None when there is none.
    """

    table: pa.Table
    x: np.ndarray
    y: np.ndarray
    crs: CRS | None
    x_field: str
    y_field: str
    geometry: str | None = None
    geo: dict[str, Any] | None = None

    def __len__(self) -> int:
        return self.table.num_rows


def point_format(path: Path) -> str:
    """``csv``, ``geojson`` or ``parquet``, from the suffix of ``path``.

    Raises
    ------
    InvalidInput
        For any other suffix.
    """
    fmt = POINT_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput([Problem(
            f"cannot read points from {path.name}: use a .csv, .geojson or .parquet file",
            field="input")])
    return fmt


def output_format(path: Path) -> str:
    """``csv`` or ``parquet``, from the suffix of ``path``.

    Raises
    ------
    InvalidInput
        For any other suffix (field ``output``).

    Examples
    --------
    >>> output_format(Path("out.GeoParquet"))
    'parquet'
    """
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput([Problem(
            f"cannot write {path.name}: the output must end in .csv, .parquet or .geoparquet",
            field="output")])
    return fmt


def read_points(path: Path, x: str | None = None, y: str | None = None) -> Points:
    """Read rows with points from a CSV, GeoJSON or (Geo)Parquet file.

    Parameters
    ----------
    path
        The file; its suffix says the format (see :func:`point_format`).
    x, y
        Columns with the coordinates: required in meaning for CSV and Parquet without geometry
        (by default the first column named lon, lng, longitude or x, and lat, latitude or y, case
        ignored); with a geometry column they must not be given.

    Returns
    -------
    Points
        With NaN coordinates for rows without any (an empty CSV cell, a null geometry).

    Raises
    ------
    InvalidInput
        The file is missing or unreadable; a coordinate column is missing (the message lists the
        columns); a value is not a number (naming every such row and its column, up to
        :data:`MAX_LISTED`); a geometry is not a point; a file geometry's CRS is not readable.
    """
    if not path.exists():
        raise _missing(path)
    fmt = point_format(path)
    if fmt == "csv":
        return _columns_points(_read_csv(path), x, y)
    if fmt == "geojson":
        return _read_geojson(path, x, y)
    return _read_parquet(path, x, y)


def _no_xy_with_geometry(path: Path, x: str | None, y: str | None) -> None:
    if x or y:
        raise InvalidInput([Problem(
            f"{path.name} has point geometries: --x and --y are only for CSV files",
            field="x" if x else "y")])


def _read_csv(path: Path) -> pa.Table:
    """Every column as text, exactly as in the file (only the coordinates are parsed)."""
    import pyarrow.csv as pacsv

    try:
        # The header as Arrow parses it (quotes, BOM, separators), to type every column as text.
        with pacsv.open_csv(path) as reader:
            names = reader.schema.names
        text_types = {name: pa.string() for name in names}
        try:
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                column_types=text_types))
        except pa.ArrowInvalid:
            # Quoted line breaks need the slower reader that looks for them.
            return pacsv.read_csv(
                path, parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(column_types=text_types))
    except (pa.ArrowInvalid, OSError) as exc:
        raise _read_failed(path, exc) from None


def _find_column(names: Sequence[str], given: str | None, wanted: Sequence[str], option: str,
                 what: str) -> str:
    columns = ", ".join(names) or "none"
    if given is not None:
        if given in names:
            return given
        raise InvalidInput([Problem(f"no such column; the columns are: {columns}",
                                    field=given)])
    by_lower = {}
    for name in names:
        by_lower.setdefault(name.strip().lower(), name)
    for candidate in wanted:
        if candidate in by_lower:
            return by_lower[candidate]
    raise InvalidInput([Problem(
        f"no {what} column (looked for {', '.join(wanted)}, case ignored): name it with "
        f"{option}; the columns are: {columns}", field=option)])


def _columns_points(table: pa.Table, x: str | None, y: str | None) -> Points:
    x_col = _find_column(table.column_names, x, X_NAMES, "--x", "longitude (x)")
    y_col = _find_column(table.column_names, y, Y_NAMES, "--y", "latitude (y)")
    problems: list[Problem] = []
    xs = _parse_numbers(table.column(x_col), x_col, problems)
    ys = _parse_numbers(table.column(y_col), y_col, problems)
    if problems:
        raise InvalidInput(problems)
    return Points(table, xs, ys, None, x_col, y_col)


def _parse_numbers(column: pa.ChunkedArray, name: str, problems: list[Problem]) -> np.ndarray:
    """Float64 values of a column, NaN where empty or null; bad values go to ``problems``."""
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return float_values(column)
    if pa.types.is_null(column.type):
        return np.full(len(column), np.nan)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        problems.append(Problem(f"holds {column.type} values, not numbers", field=name))
        return np.full(len(column), np.nan)
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(column)
    try:
        return np.concatenate([float_values(_blank_as_null(c)) for c in text.chunks]
                              ) if text.num_chunks else np.empty(0)
    except pa.ArrowInvalid:
        pass
    # Only on bad input: find which rows Arrow could not read, to name them.
    values = text.to_pylist()
    bad = np.array([i for i, v in enumerate(values) if v and not _is_number(v)], dtype=np.int64)
    if len(bad) == 0:  # Arrow refused something Python accepts: still name the column
        problems.append(Problem("holds values that are not numbers", field=name))
    problems.extend(row_problems(bad, lambda i: f"{values[i]!r} is not a number", name))
    return np.full(len(column), np.nan)


def _blank_as_null(chunk: pa.Array) -> pa.Array:
    """The same strings, with empty ones null (so a cast to numbers leaves them out)."""
    _, offsets, data = chunk.buffers()
    kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    ends = np.frombuffer(offsets, dtype=kind)[chunk.offset:chunk.offset + len(chunk) + 1]
    valid = (np.diff(ends) > 0) & valid_mask(chunk)
    bits = np.zeros(chunk.offset + len(chunk), dtype=bool)  # the offset applies to bits too
    bits[chunk.offset:] = valid
    bitmap = pa.py_buffer(np.packbits(bits, bitorder="little"))
    return pa.Array.from_buffers(chunk.type, len(chunk), [bitmap, offsets, data],
                                 null_count=int(len(chunk) - valid.sum()), offset=chunk.offset)


def _is_number(text: str) -> bool:
    if not set(text) <= _NUMBER_CHARS and text.lower() not in (
            "nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"):
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_geojson(path: Path, x: str | None, y: str | None) -> Points:
    _no_xy_with_geometry(path, x, y)
    meta, table = _read_ogr(path)
    name = meta.get("geometry_name") or "wkb_geometry"
    if name not in table.column_names:
        raise InvalidInput([Problem(f"{path.name} has no geometries")])
    # GDAL names the column after its storage; a user's file calls it "geometry". The field
    # metadata (an Arrow extension tag) would be stale once the table is written elsewhere.
    i = table.column_names.index(name)
    table = table.set_column(i, pa.field(_GEOMETRY, table.column(i).type), table.column(i))
    xs, ys = _decode_points(table.column(i))
    return Points(table, xs, ys, _ogr_crs(path, meta.get("crs")), _GEOMETRY, _GEOMETRY,
                  geometry=_GEOMETRY)


def _read_parquet(path: Path, x: str | None, y: str | None) -> Points:
    try:
        table = _read_parquet_file(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _read_failed(path, exc) from None
    geo = geo_metadata(table)
    if geo is None:  # plain Parquet: coordinates in columns, as in a CSV
        return _columns_points(table, x, y)
    _no_xy_with_geometry(path, x, y)
    name = geo.get("primary_column", _GEOMETRY)
    column_meta = geo.get("columns", {}).get(name)
    if column_meta is None or name not in table.column_names:
        raise InvalidInput([Problem(f"{path.name}: the geo metadata names no geometry column "
                                    f"{name!r} in the file", field=name)])
    encoding = str(column_meta.get("encoding", "WKB")).lower()
    if encoding == "wkb":
        xs, ys = _decode_points(table.column(name), name)
    elif encoding == "point":
        xs, ys = _native_points(table.column(name))
    else:
        raise InvalidInput([Problem(f"geometry encoding {encoding!r} is not points",
                                    field=name)])
    return Points(table, xs, ys, geoparquet_crs(column_meta, path), name, name,
                  geometry=name, geo=geo)


def _read_parquet_file(path: Path) -> pa.Table:
    """One Parquet file, read without ``pq.read_table``: that goes through ``pyarrow.dataset``,
    which imports pandas (a quarter of a second) for nothing."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        return file.read()


def geo_metadata(table: pa.Table) -> dict[str, Any] | None:
    """The GeoParquet ``geo`` metadata of a table, None when there is none."""
    raw = (table.schema.metadata or {}).get(b"geo")
    return json.loads(raw) if raw else None


def geoparquet_crs(column_meta: dict[str, Any], path: Path) -> CRS | None:
    """The CRS of a GeoParquet column: a missing ``crs`` means OGC:CRS84 (lon/lat WGS84), by
    the specification; ``null`` means unknown (None)."""
    if "crs" not in column_meta:
        return CRS.from_user_input("OGC:CRS84")
    value = column_meta["crs"]
    if value is None:
        return None
    try:
        return CRS.from_json_dict(value) if isinstance(value, dict) else CRS.from_user_input(
            value)
    except CRSError as exc:
        raise InvalidInput([Problem(f"{path.name}: unreadable CRS in the geo metadata: {exc}",
                                    field="crs")]) from None


def _binary_chunks(column: pa.ChunkedArray) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Per chunk of a binary column: its data bytes, its offsets (``len + 1``), its length."""
    for chunk in column.chunks:
        _, offsets_buf, data_buf = chunk.buffers()
        kind = np.int64 if pa.types.is_large_binary(chunk.type) else np.int32
        offsets = np.frombuffer(offsets_buf, dtype=kind)
        offsets = offsets[chunk.offset:chunk.offset + len(chunk) + 1]
        data = (np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None
                else np.empty(0, np.uint8))
        yield data, offsets, len(chunk)


def _decode_points(column: pa.ChunkedArray, name: str = _GEOMETRY
                   ) -> tuple[np.ndarray, np.ndarray]:
    """x, y of WKB points (NaN for null or empty ones).

    The common case, 2D little-endian points, is read as fixed 21-byte records with numpy,
    a hundred times faster than making shapely objects; anything else goes to shapely.
    """
    if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
        raise InvalidInput([Problem(f"holds {column.type} values, not WKB geometries",
                                    field=name)])
    xs, ys = np.full(len(column), np.nan), np.full(len(column), np.nan)
    start = 0
    for (data, offsets, n), chunk in zip(_binary_chunks(column), column.chunks, strict=True):
        lengths = np.diff(offsets)
        valid = valid_mask(chunk) if chunk.null_count else None
        sizes = lengths if valid is None else lengths[valid]
        records = None
        if len(sizes) and (sizes == _WKB_POINT.itemsize).all():
            # Null rows take no bytes, so the valid records lie back to back.
            raw = data[offsets[0]:offsets[-1]].view(_WKB_POINT)
            if (raw["order"] == 1).all() and (raw["type"] == 1).all():
                records = raw
        where = slice(start, start + n) if valid is None else np.flatnonzero(valid) + start
        if records is not None:
            xs[where], ys[where] = records["x"], records["y"]
        elif n:
            cx, cy = _shapely_points(chunk, name, start)
            xs[start:start + n], ys[start:start + n] = cx, cy
        start += n
    return xs, ys


def _shapely_points(chunk: pa.Array, name: str, start: int) -> tuple[np.ndarray, np.ndarray]:
    geoms = shapely.from_wkb(np.array(chunk.to_pylist(), dtype=object), on_invalid="ignore")
    kinds = shapely.get_type_id(geoms)  # -1 for None
    known = ~shapely.is_missing(geoms)
    bad_wkb = np.flatnonzero(~known & valid_mask(chunk))
    not_point = np.flatnonzero(known & (kinds != 0))
    problems = row_problems(bad_wkb + start, lambda i: "unreadable WKB geometry", name)
    problems += row_problems(not_point + start, lambda i: (
        f"the geometry is a {geoms[i - start].geom_type}; points are wanted"), name)
    if problems:
        raise InvalidInput(problems)
    with np.errstate(invalid="ignore"):
        return shapely.get_x(geoms), shapely.get_y(geoms)  # NaN for None and empty points


def _native_points(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """x, y of GeoArrow ``point`` encoding: a struct of x, y or an interleaved list of 2."""
    array = column.combine_chunks()
    if pa.types.is_struct(array.type):
        xs, ys = float_values(array.field("x")), float_values(array.field("y"))
    else:
        flat = float_values(array.flatten())
        step = array.type.list_size
        xs, ys = flat[0::step].copy(), flat[1::step].copy()
    if array.null_count:
        valid = valid_mask(array)
        xs[~valid], ys[~valid] = np.nan, np.nan
    return xs, ys


# -- cells ------------------------------------------------------------------------------------
@dataclass
class Cells:
    """Cells read from a file, checked, one per id.

    Attributes
    ----------
    ids
        Business ids as text (whole floats lose their ``.0``), unique, in file order of their
        first feature.
    values
        The same ids as the file typed them (text, integers...), for the output column.
    geoms
        Valid Polygons or MultiPolygons; features sharing an id are merged into one.
    crs
        The cells' CRS.
    merged
        How many features were merged into another with the same id.
    """

    ids: np.ndarray
    values: pa.Array
    geoms: np.ndarray
    crs: CRS
    merged: int = 0


def read_cells_file(path: Path, id_field: str) -> Cells:
    """Read cells from GeoParquet, GeoJSON, Shapefile (``.shp`` or ``.zip``) or GeoPackage.

    Features sharing an id are parts of one cell, as Chicago's beat 3100 (three features): they
    are merged into one MultiPolygon (their union), which is what such a file means.

    Raises
    ------
    InvalidInput
        Listing every problem: the file is missing or unreadable, has no features or does not
        say its CRS; ``id_field`` is missing (the message lists the fields); per feature a
        missing id, or a geometry that is missing, empty, not polygonal, not finite, out of range
        for degrees, or invalid (self-intersecting: with GEOS's reason and place).
    """
    if not path.exists():
        raise _missing(path)
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        table, wkb, crs = _read_parquet_cells(path)
    else:
        meta, table = _read_ogr(path)
        geometry = meta.get("geometry_name") or "wkb_geometry"
        if geometry not in table.column_names:
            raise InvalidInput([Problem(f"{path.name} has no geometries")])
        wkb = table.column(geometry)
        table = table.drop_columns([geometry])
        crs = _ogr_crs(path, meta.get("crs"))
    problems: list[Problem] = []
    if id_field not in table.column_names:
        fields = ", ".join(table.column_names) or "none"
        problems.append(Problem(f"no such field in {path.name}; the fields are: {fields}",
                                field=id_field))
    if crs is None:
        problems.append(Problem(f"{path.name} does not say its CRS", field="crs"))
    if table.num_rows == 0:
        problems.append(Problem(f"{path.name} has no features"))
    if problems:
        raise InvalidInput(problems)
    assert crs is not None
    values = table.column(id_field).combine_chunks()
    ids = np.array([_id_text(v) for v in values.to_pylist()], dtype=object)
    geoms = shapely.from_wkb(np.array(wkb.to_pylist(), dtype=object), on_invalid="ignore")
    problems = cell_problems(ids.tolist(), geoms, crs.is_geographic, id_field)
    if problems:
        raise InvalidInput(problems)
    return _merge_duplicates(ids, values, geoms, crs)


def _read_parquet_cells(path: Path) -> tuple[pa.Table, pa.ChunkedArray, CRS | None]:
    try:
        table = _read_parquet_file(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _read_failed(path, exc) from None
    geo = geo_metadata(table)
    if geo is None:
        raise InvalidInput([Problem(f"{path.name} is not GeoParquet (no geo metadata)")])
    name = geo.get("primary_column", _GEOMETRY)
    column_meta = geo.get("columns", {}).get(name, {})
    if name not in table.column_names or str(column_meta.get("encoding", "WKB")).upper() != "WKB":
        raise InvalidInput([Problem(f"{path.name}: no WKB geometry column {name!r}",
                                    field=name)])
    return table.drop_columns([name]), table.column(name), geoparquet_crs(column_meta, path)


def _read_ogr(path: Path) -> tuple[dict[str, Any], pa.Table]:
    """Read a vector file with GDAL into Arrow (never a GeoDataFrame)."""
    import pyogrio

    try:
        meta, table = pyogrio.read_arrow(path)
    except Exception as exc:  # GDAL raises many types; the user needs its words
        raise _read_failed(path, exc) from None
    return meta, table


def _ogr_crs(path: Path, value: str | None) -> CRS | None:
    if not value:
        return None
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise InvalidInput([Problem(f"{path.name}: unreadable CRS: {exc}", field="crs")]
                           ) from None


def _id_text(value: Any) -> str | None:
    """An id as text, None when missing; ``3.0`` is ``"3"`` (a gap makes GDAL read integer
    ids as floats, and ``"3.0"`` would match no ``"3"``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _merge_duplicates(ids: np.ndarray, values: pa.Array, geoms: np.ndarray, crs: CRS) -> Cells:
    """One cell per id, in order of first appearance: the union of the id's features."""
    first: dict[str, int] = {}
    parts: dict[str, list[int]] = {}
    for i, ident in enumerate(ids.tolist()):
        if ident in first:
            parts.setdefault(ident, [first[ident]]).append(i)
        else:
            first[ident] = i
    keep = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    merged = geoms[keep]
    position = {ident: k for k, ident in enumerate(first)}
    for ident, members in parts.items():
        union = shapely.union_all(geoms[members])
        merged[position[ident]] = (union if union.geom_type == "MultiPolygon"
                                   else shapely.MultiPolygon([union]))
    return Cells(ids[keep], values.take(arrow_array(keep)), merged, crs,
                 merged=len(ids) - len(keep))


# -- output -----------------------------------------------------------------------------------
def point_wkb(x: np.ndarray, y: np.ndarray) -> pa.Array:
    """Little-endian 2D WKB points as an Arrow binary array; null where x or y is NaN.

    Examples
    --------
    >>> arr = point_wkb(np.array([1.0, np.nan]), np.array([2.0, 3.0]))
    >>> shapely.from_wkb(arr[0].as_py()).wkt, arr[1].is_valid
    ('POINT (1 2)', False)
    """
    valid = ~(np.isnan(x) | np.isnan(y))
    n_valid = int(valid.sum())
    records = np.zeros(n_valid, dtype=_WKB_POINT)
    records["order"], records["type"] = 1, 1
    records["x"], records["y"] = x[valid], y[valid]
    sizes = np.where(valid, _WKB_POINT.itemsize, 0)
    offsets = np.zeros(len(x) + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    validity = None if n_valid == len(x) else pa.py_buffer(np.packbits(valid,
                                                                     bitorder="little"))
    return pa.Array.from_buffers(pa.binary(), len(x), [
        validity, pa.py_buffer(offsets), pa.py_buffer(records.tobytes())],
        null_count=len(x) - n_valid)


def geo_point_metadata(crs: CRS, column: str = _GEOMETRY) -> dict[str, Any]:
    """GeoParquet 1.0 ``geo`` metadata for one WKB point column in ``crs``."""
    return {"version": GEOPARQUET_VERSION, "primary_column": column, "columns": {
        column: {"encoding": "WKB", "geometry_types": ["Point"], "crs": crs.to_json_dict()}}}


def check_new_columns(table: pa.Table, names: Sequence[str]) -> None:
    """Raise when the input already has a column the output would add."""
    clash = [n for n in names if n in table.column_names]
    if clash:
        raise InvalidInput([Problem(
            "the input already has this column, which the output adds: rename it first",
            field=n) for n in clash])


def write_points(path: Path, points: Points, new: dict[str, pa.Array], *, crs: CRS,
                 xy: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Write the input's columns, then ``new``, to CSV or GeoParquet (by suffix), atomically.

    Parameters
    ----------
    path
        ``.csv``, ``.parquet`` or ``.geoparquet``.
    points
        The input; all its columns are written, in order.
    new
        Columns to add at the end, one value per row.
    crs
        The CRS of the output's geometries, for the GeoParquet metadata.
    xy
        GeoParquet output: points to write as the geometry, in ``crs`` (null where x or y is
        NaN), in place of the input's geometry column, or as a new last input column
        ``geometry`` when the input has none (CSV). None keeps the input's geometries.

    Notes
    -----
    GeoParquet output keeps the input's ``geo`` metadata (with ``crs`` when it differs from the
    file's); other input gets GeoParquet 1.0 metadata. CSV output writes geometries as WKT, as
    the input gave them. The file appears whole or not at all: it is written under a temporary
    name and renamed.
    """
    fmt = output_format(path)
    table = points.table
    name = points.geometry or _GEOMETRY
    geo = None
    if fmt == "parquet":
        if xy is not None:
            wkb = point_wkb(*xy)
            table = (table.append_column(name, wkb) if points.geometry is None else
                     table.set_column(table.column_names.index(name), name, wkb))
        if points.geo is not None and xy is None:
            geo = json.loads(json.dumps(points.geo))  # a copy, nested dicts included
            if points.crs is None or not points.crs.equals(crs):
                geo["columns"][name]["crs"] = crs.to_json_dict()
        else:
            geo = geo_point_metadata(crs, name)
    elif points.geometry is not None:
        i = table.column_names.index(name)
        wkt = shapely.to_wkt(shapely.from_wkb(
            np.array(table.column(i).to_pylist(), dtype=object)))
        table = table.set_column(i, name, pa.array(wkt, type=pa.string()))
    for column, values in new.items():
        table = table.append_column(column, values)
    metadata = dict(table.schema.metadata or {})
    if geo is not None:
        metadata[b"geo"] = json.dumps(geo).encode()
    table = table.replace_schema_metadata(metadata or None)
    with _atomic(path) as tmp:
        if fmt == "csv":
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, tmp)
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary name next to ``path``, renamed to it on success and removed on failure."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a missing folder, no permission: the user can fix it
            raise InvalidInput([Problem(f"cannot write {path}: {exc}", field="output")]
                               ) from None
        raise
