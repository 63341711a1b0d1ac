"""Files of points in, the same rows with their cells out.

Points come from CSV (coordinates in two columns), GeoJSON or GeoParquet (point geometries);
results go to CSV or GeoParquet with every input column kept as it was. (Cells come from
:mod:`gridsvc.domain.io.cells_file`.)

Why not geopandas: importing it costs about half a second and a GeoDataFrame of a million points
costs a million shapely objects. Here a table stays an Arrow table from reading to writing, and
coordinates are numpy arrays: GeoParquet's 2D points are decoded straight from their WKB bytes,
and CSV cells are parsed by Arrow's multithreaded reader. pyogrio (which imports geopandas) is
only used for formats Arrow cannot read.

Rows are named as a spreadsheet user counts data rows (see :mod:`gridsvc.domain.io.arrow_io`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from gridsvc.domain.io.arrow_io import (
    GEOMETRY,
    float_values,
    geo_metadata,
    geoparquet_crs,
    missing_file,
    ogr_crs,
    read_failed,
    read_ogr,
    read_parquet_file,
    row_problems,
    valid_mask,
)
from gridsvc.errors import InvalidInput, Problem

if TYPE_CHECKING:  # shapely and pyproj load where used: GeoParquet points need neither
    from pyproj import CRS

    from gridsvc.domain.geo.lazy_crs import LazyCRS

#: Column names taken for longitude and latitude when none is given (case ignored), by priority.
X_NAMES = ("lon", "lng", "longitude", "x")
Y_NAMES = ("lat", "latitude", "y")
#: Output formats by suffix.
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".geoparquet": "parquet"}
POINT_SUFFIXES = {".csv": "csv", ".geojson": "geojson", ".json": "geojson",
                  ".parquet": "parquet", ".geoparquet": "parquet"}
GEOPARQUET_VERSION = "1.0.0"
# A 2D point in little-endian WKB: byte order 1, type 1 (uint32), x and y (float64), 21 bytes.
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
_NUMBER_CHARS = set("0123456789+-.eE")

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
    crs: CRS | LazyCRS | None
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


def read_points(path: Path, x: str | None = None, y: str | None = None, *,
                lazy_crs: bool = False) -> Points:
    """Read rows with points from a CSV, GeoJSON or (Geo)Parquet file.

    Parameters
    ----------
    path
        The file; its suffix says the format (see :func:`point_format`).
    x, y
        Columns with the coordinates: required in meaning for CSV and Parquet without geometry
        (by default the first column named lon, lng, longitude or x, and lat, latitude or y, case
        ignored); with a geometry column they must not be given.
    lazy_crs
        A GeoParquet file's CRS document comes as a :class:`~gridsvc.domain.geo.lazy_crs.
        LazyCRS`, not yet read by pyproj (nor checked: see :func:`~gridsvc.domain.io.
        arrow_io.checked_crs`).

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
        raise missing_file(path)
    fmt = point_format(path)
    if fmt == "csv":
        return _columns_points(_read_csv(path), x, y)
    if fmt == "geojson":
        return _read_geojson(path, x, y)
    return _read_parquet(path, x, y, lazy_crs)


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
        raise read_failed(path, exc) from None


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
    meta, table = read_ogr(path)
    name = meta.get("geometry_name") or "wkb_geometry"
    if name not in table.column_names:
        raise InvalidInput([Problem(f"{path.name} has no geometries")])
    # GDAL names the column after its storage; a user's file calls it "geometry". The field
    # metadata (an Arrow extension tag) would be stale once the table is written elsewhere.
    i = table.column_names.index(name)
    table = table.set_column(i, pa.field(GEOMETRY, table.column(i).type), table.column(i))
    xs, ys = _decode_points(table.column(i))
    return Points(table, xs, ys, ogr_crs(path, meta.get("crs")), GEOMETRY, GEOMETRY,
                  geometry=GEOMETRY)


def _read_parquet(path: Path, x: str | None, y: str | None, lazy_crs: bool = False
                  ) -> Points:
    try:
        table = read_parquet_file(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise read_failed(path, exc) from None
    return _parquet_points(table, path, x, y, lazy_crs)


def read_parquet_part(path: Path, row_groups: Sequence[int], x: str | None = None,
                      y: str | None = None, rows: tuple[int, int] | None = None) -> Points:
    """Some row groups of a (Geo)Parquet file, read as :func:`read_points` reads the whole.

    ``rows`` (start, stop) keeps only those rows of the row groups read. Rows in messages are
    counted from the first row read: callers shift them (:func:`~gridsvc.domain.arrow_io.
    shift_rows`).
    """
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as file:
            table = file.read_row_groups(list(row_groups))
    except (pa.ArrowInvalid, OSError) as exc:
        raise read_failed(path, exc) from None
    if rows is not None:
        table = table.slice(rows[0], rows[1] - rows[0])
    return _parquet_points(table, path, x, y)


def _parquet_points(table: pa.Table, path: Path, x: str | None, y: str | None,
                    lazy_crs: bool = False) -> Points:
    geo = geo_metadata(table)
    if geo is None:  # plain Parquet: coordinates in columns, as in a CSV
        return _columns_points(table, x, y)
    _no_xy_with_geometry(path, x, y)
    name = geo.get("primary_column", GEOMETRY)
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
    return Points(table, xs, ys, geoparquet_crs(column_meta, path, lazy_crs), name, name,
                  geometry=name, geo=geo)

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


def _decode_points(column: pa.ChunkedArray, name: str = GEOMETRY
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
    import shapely

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

# -- output -----------------------------------------------------------------------------------
def point_wkb(x: np.ndarray, y: np.ndarray) -> pa.Array:
    """Little-endian 2D WKB points as an Arrow binary array; null where x or y is NaN.

    Examples
    --------
    >>> import shapely
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


def geo_point_metadata(crs: CRS, column: str = GEOMETRY) -> dict[str, Any]:
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
    points, new, crs, xy
        As for :func:`output_table`.

    Notes
    -----
    The file appears whole or not at all: it is written under a temporary name and renamed.
    """
    with PointsWriter(path) as writer:
        writer.write(output_table(output_format(path), points, new, crs=crs, xy=xy))


def output_table(fmt: str, points: Points, new: dict[str, pa.Array], *, crs: CRS,
                 xy: tuple[np.ndarray, np.ndarray] | None = None) -> pa.Table:
    """The input's columns, then ``new``, as written to ``fmt`` (``csv`` or ``parquet``).

    Parameters
    ----------
    points
        The input; all its columns are kept, in order.
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
    the input gave them.
    """
    table = points.table
    name = points.geometry or GEOMETRY
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
        import shapely

        i = table.column_names.index(name)
        wkt = shapely.to_wkt(shapely.from_wkb(
            np.array(table.column(i).to_pylist(), dtype=object)))
        table = table.set_column(i, name, pa.array(wkt, type=pa.string()))
    for column, values in new.items():
        table = table.append_column(column, values)
    metadata = dict(table.schema.metadata or {})
    if geo is not None:
        metadata[b"geo"] = json.dumps(geo).encode()
    return table.replace_schema_metadata(metadata or None)


class PointsWriter:
    """Tables written one after another into one CSV or Parquet file (by suffix), atomically.

    The schema (and GeoParquet metadata) is the first table's; each table becomes one or more
    row groups. The file appears when the ``with`` block ends without an error, and never
    otherwise.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "out.csv"
    >>> with PointsWriter(out) as w:
    ...     w.write(pa.table({"a": [1]}))
    ...     w.write(pa.table({"a": [2]}))
    >>> out.read_text().split()
    ['"a"', '1', '2']
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = output_format(path)
        self._atomic = _atomic(path)
        self._writer: Any = None
        self._tmp: Path | None = None

    def __enter__(self) -> PointsWriter:
        self._tmp = self._atomic.__enter__()
        return self

    def write(self, table: pa.Table) -> None:
        """Append ``table`` (its schema must be the first table's)."""
        assert self._tmp is not None
        if self._writer is None:
            if self.format == "csv":
                import pyarrow.csv as pacsv

                self._writer = pacsv.CSVWriter(self._tmp, table.schema)
            else:
                import pyarrow.parquet as pq

                # Geometries (WKB) are all different: a dictionary never pays and min/max
                # statistics of WKB bytes say nothing, yet both cost a quarter of the write.
                geo = geo_metadata(table)
                plain = set(geo.get("columns", {})) if geo else set()
                others = [n for n in table.schema.names if n not in plain]
                self._writer = pq.ParquetWriter(
                    self._tmp, table.schema, use_dictionary=others if plain else True,
                    write_statistics=others if plain else True)
        self._writer.write_table(table)

    def __exit__(self, *exc: Any) -> None:
        try:
            if self._writer is None and exc[0] is None:  # no rows: an empty file all the same
                self.write(pa.table({}))
            if self._writer is not None:
                self._writer.close()
        except BaseException:
            if exc[0] is None:  # closing failed: that is the error (the file is removed)
                self._atomic.__exit__(*sys.exc_info())
                raise
        self._atomic.__exit__(*exc)


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
