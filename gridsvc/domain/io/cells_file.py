"""Cells from any vector file, as Arrow and shapely: the database-free side of ``gridsvc assign``.

GeoParquet is read with pyarrow; anything else GDAL reads (GeoJSON, Shapefile, zipped Shapefile,
GeoPackage) with ``pyogrio.read_arrow``, never as a GeoDataFrame. Cells are named
``feature N (id 'X')`` as in :mod:`gridsvc.domain.io.cells_io` (N counted from 0, as GDAL does), and
checked by the same :func:`~gridsvc.domain.io.cells_io.cell_problems`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely
from pyproj import CRS

from gridsvc.domain.geo.coords import TARGET_EPSG, geometries_to_cgcs2000, parse_input_crs
from gridsvc.domain.io.arrow_io import (
    GEOMETRY,
    arrow_array,
    geo_metadata,
    geoparquet_crs,
    missing_file,
    ogr_crs,
    read_failed,
    read_ogr,
    read_parquet_file,
)
from gridsvc.domain.io.cells_io import cell_problems
from gridsvc.errors import InvalidInput, Problem


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


def read_cells_file(path: Path, id_field: str, crs: str | int | None = None) -> Cells:
    """Read cells from GeoParquet, GeoJSON, Shapefile (``.shp`` or ``.zip``) or GeoPackage.

    Features sharing an id are parts of one cell, as Chicago's beat 3100 (three features): they
    are merged into one MultiPolygon (their union), which is what such a file means.

    Parameters
    ----------
    path, id_field
        The file, and the field with the cells' ids.
    crs
        The cells' CRS when the file does not say it, or says it wrongly (it overrides the
        file's), in any form :func:`~gridsvc.domain.geo.coords.parse_input_crs` takes. GCJ-02
        and BD-09, which no pyproj CRS names, are converted to CGCS2000 (EPSG:4490) here.

    Raises
    ------
    InvalidInput
        Listing every problem: the file is missing or unreadable, has no features or does not
        say its CRS; ``id_field`` is missing (the message lists the fields); ``crs`` is unknown;
        per feature a missing id, or a geometry that is missing, empty, not polygonal, not
        finite, out of range for degrees, or invalid (self-intersecting: with GEOS's reason and
        place).
    """
    given = None if crs is None else parse_input_crs(crs)
    if not path.exists():
        raise missing_file(path)
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        table, wkb, declared = _read_parquet_cells(path)
    else:
        meta, table = read_ogr(path)
        geometry = meta.get("geometry_name") or "wkb_geometry"
        if geometry not in table.column_names:
            raise InvalidInput([Problem(f"{path.name} has no geometries")])
        wkb = table.column(geometry)
        table = table.drop_columns([geometry])
        declared = ogr_crs(path, meta.get("crs"))
    problems: list[Problem] = []
    if id_field not in table.column_names:
        fields = ", ".join(table.column_names) or "none"
        problems.append(Problem(f"no such field in {path.name}; the fields are: {fields}",
                                field=id_field))
    if given is None and declared is None:
        problems.append(Problem(f"{path.name} does not say its CRS; give it with --cells-crs",
                                field="crs"))
    if table.num_rows == 0:
        problems.append(Problem(f"{path.name} has no features"))
    if problems:
        raise InvalidInput(problems)
    assert given is not None or declared is not None
    values = table.column(id_field).combine_chunks()
    ids = np.array([_id_text(v) for v in values.to_pylist()], dtype=object)
    geoms = shapely.from_wkb(np.array(wkb.to_pylist(), dtype=object), on_invalid="ignore")
    geographic = given.geographic if given is not None else declared.is_geographic
    problems = cell_problems(ids.tolist(), geoms, geographic, id_field)
    if problems:
        raise InvalidInput(problems)
    if given is None:
        crs_of_cells = declared
    elif given.is_offset:  # no pyproj CRS names GCJ-02 or BD-09: index such cells in CGCS2000
        geoms = geometries_to_cgcs2000(geoms, given)
        crs_of_cells = CRS.from_epsg(TARGET_EPSG)
    else:
        crs_of_cells = CRS.from_user_input(given.name)
    return _merge_duplicates(ids, values, geoms, crs_of_cells)


def _read_parquet_cells(path: Path) -> tuple[pa.Table, pa.ChunkedArray, CRS | None]:
    try:
        table = read_parquet_file(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise read_failed(path, exc) from None
    geo = geo_metadata(table)
    if geo is None:
        raise InvalidInput([Problem(f"{path.name} is not GeoParquet (no geo metadata)")])
    name = geo.get("primary_column", GEOMETRY)
    column_meta = geo.get("columns", {}).get(name, {})
    if name not in table.column_names or str(column_meta.get("encoding", "WKB")).upper() != "WKB":
        raise InvalidInput([Problem(f"{path.name}: no WKB geometry column {name!r}",
                                    field=name)])
    return table.drop_columns([name]), table.column(name), geoparquet_crs(column_meta, path)


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
