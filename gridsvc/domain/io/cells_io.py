"""Reading cell layers (polygons) from vector files, checked before anything is written.

GeoJSON, Shapefile (also zipped) and GeoPackage are read with geopandas/pyogrio. Every problem
in a file is collected (not just the first), each naming the feature and the field, so a user can
fix the file in one go.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import CRS

from gridsvc.domain.geo.coords import declared_crs, geometries_to_cgcs2000, parse_input_crs
from gridsvc.errors import InvalidInput, Problem

if TYPE_CHECKING:  # imported where used: the assign CLI needs cell_problems, not pandas
    import geopandas as gpd
    import pandas as pd

TARGET_CRS = CRS.from_epsg(4490)
ATTRIBUTE_FIELDS = ("households", "residents")


@dataclass(frozen=True)
class FieldMap:
    """Which columns of the file hold what. Only ``id_field`` is required."""

    id_field: str
    name_field: str | None = None
    code_field: str | None = None
    parent_field: str | None = None


def read_vector(path: Path) -> gpd.GeoDataFrame:
    """Read a vector file; a ``.zip`` is opened as a zipped Shapefile (or any single layer).

    Raises
    ------
    InvalidInput
        When the file is missing or GDAL cannot read it; the message is GDAL's.
    """
    if not path.exists():
        raise InvalidInput([Problem(f"no such file: {path}")])
    import geopandas as gpd

    try:
        return gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # GDAL raises many types; the user needs its words, not the type
        raise InvalidInput([Problem(f"cannot read {path.name}: {exc}")]) from None


def _label(i: int, ident: Any) -> str:
    return f"feature {i}" + (f" (id {ident!r})" if ident is not None else "")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def _out_of_range(bounds: np.ndarray) -> str:
    """Why lon/lat bounds ``(xmin, ymin, xmax, ymax)`` are impossible degrees."""
    xmin, ymin, xmax, ymax = bounds
    if xmin >= -90 and xmax <= 90 and ymin >= -180 and ymax <= 180:
        return (f"latitude {max(abs(ymin), abs(ymax)):.6g} is out of range: the coordinates "
                "look like lat/lon swapped; GeoJSON and gridsvc want lon, lat")
    return (f"coordinates out of range for degrees (x {xmin:.6g}..{xmax:.6g}, y {ymin:.6g}.."
            f"{ymax:.6g}): the file may be in a projected CRS; give it with --crs")


def cell_problems(ids: Sequence[str | None], geoms: np.ndarray, geographic: bool,
                  id_field: str) -> list[Problem]:
    """Every problem of every cell, by feature, found with vectorised checks (a city has
    10,000 cells): a missing id; a missing or empty geometry; one that is not a polygon; non-
    finite coordinates; impossible degrees in a geographic CRS (with a hint when lat/lon look
    swapped); an invalid polygon, with GEOS's reason and place (e.g. a self-intersection).

    Duplicate ids are the caller's business: some callers merge them.
    """
    found: dict[int, list[Problem]] = {}

    def add(which: np.ndarray, field: str, why: Callable[[int], str]) -> None:
        for i in which.tolist():
            found.setdefault(i, []).append(Problem(why(i), _label(i, ids[i]), field))

    add(np.flatnonzero([v is None for v in ids]), id_field, lambda i: "id is missing")
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    add(np.flatnonzero(missing), "geometry", lambda i: "geometry is empty or missing")
    kinds = shapely.get_type_id(geoms)
    polygonal = (kinds == 3) | (kinds == 6)
    add(np.flatnonzero(~missing & ~polygonal), "geometry",
        lambda i: f"geometry is a {geoms[i].geom_type}; cells must be polygons")
    ok = np.flatnonzero(~missing & polygonal)
    coords, of = shapely.get_coordinates(geoms[ok], return_index=True)
    finite = np.ones(len(ok), dtype=bool)
    finite[of[~np.isfinite(coords).all(axis=1)]] = False
    add(ok[~finite], "geometry", lambda i: "geometry has non-finite coordinates")
    ok = ok[finite]
    if geographic and len(ok):
        b = shapely.bounds(geoms[ok])
        out = (b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90)
        bounds_of = dict(zip(ok[out].tolist(), b[out], strict=True))
        add(ok[out], "geometry", lambda i: _out_of_range(bounds_of[i]))
        ok = ok[~out]
    add(ok[~shapely.is_valid(geoms[ok])], "geometry",
        lambda i: f"invalid polygon: {shapely.is_valid_reason(geoms[i])}")
    return [p for i in sorted(found) for p in found[i]]


def read_cells(path: Path, fields: FieldMap, crs: str | int | None = None, *,
               merge_duplicates: bool = False) -> gpd.GeoDataFrame:
    """Read and check a file of cells; return them in EPSG:4490.

    Parameters
    ----------
    path
        GeoJSON, Shapefile (``.shp`` or ``.zip``) or GeoPackage (first layer).
    fields
        Which columns hold the business id, name, official code and parent's business id.
    crs
        The CRS of the coordinates when the file does not say, or says wrongly (it overrides the
        file's), in any form :func:`~gridsvc.domain.geo.coords.parse_input_crs` takes: an EPSG
        code, gcj02 (as the DataV GeoAtlas boundary files are), bd09... GeoJSON without a
        ``crs`` member is WGS84 by the standard.
    merge_duplicates
        Features sharing an id are parts of one cell (as Chicago's beat 3100, in three
        features): merge them into one MultiPolygon, keeping the first feature's attributes.
        Without it, a repeated id is a problem.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``business_id, name, code, parent_id, households, residents, attrs, geometry``
        (MultiPolygon, EPSG:4490), in file order. ``name`` falls back to the id; ``attrs`` holds
        the file's other columns.

    Raises
    ------
    InvalidInput
        Listing every problem: a missing field; an unknown or missing CRS; per feature a missing
        id, a duplicate id (naming the first feature with it), an empty, non-polygonal, invalid
        (self-intersecting: with the place) or zero-area geometry, coordinates out of range (with
        a hint when lat/lon look swapped). An empty file is a problem too.
    """
    gdf = read_vector(path)
    problems: list[Problem] = []
    wanted = [f for f in (fields.id_field, fields.name_field, fields.code_field,
                          fields.parent_field) if f]
    for name in wanted:
        if name not in gdf.columns:
            known = ", ".join(c for c in gdf.columns if c != "geometry") or "none"
            problems.append(Problem(f"no such field in {path.name}; fields are: {known}",
                                    field=name))
    # --crs overrides what the file says (GDAL calls every plain GeoJSON WGS84, GCJ-02 too).
    if crs is not None:
        source_crs = parse_input_crs(crs)
    elif gdf.crs is not None:
        source_crs = declared_crs(CRS.from_user_input(gdf.crs))
    else:
        problems.append(Problem(f"{path.name} does not say its CRS; give it with --crs",
                                field="crs"))
        source_crs = None
    if len(gdf) == 0:
        problems.append(Problem(f"{path.name} has no features"))
    if problems:
        raise InvalidInput(problems)

    assert source_crs is not None
    ids = [_text(v) for v in gdf[fields.id_field]]
    problems = cell_problems(ids, np.asarray(gdf.geometry.values, dtype=object),
                             source_crs.geographic, fields.id_field)
    first_seen: dict[str, int] = {}
    for i, ident in enumerate(ids):
        label = _label(i, ident)
        if ident is not None and ident in first_seen and not merge_duplicates:
            problems.append(Problem(
                f"duplicate id: {_label(first_seen[ident], ident)} has it too",
                feature=label, field=fields.id_field))
        elif ident is not None:
            first_seen.setdefault(ident, i)
        for name in ATTRIBUTE_FIELDS:
            if name in gdf.columns and not _is_count(gdf[name].iat[i]):
                problems.append(Problem(f"{gdf[name].iat[i]!r} is not a count (a whole number "
                                        ">= 0)", feature=label, field=name))
    if problems:
        raise InvalidInput(problems)

    geoms = geometries_to_cgcs2000(np.asarray(gdf.geometry.values, dtype=object), source_crs)
    own = set(wanted) | {"geometry", *ATTRIBUTE_FIELDS}
    extra = [c for c in gdf.columns if c not in own]

    def texts(field_name: str | None) -> list[str | None]:
        return [_text(v) for v in gdf[field_name]] if field_name else [None] * len(gdf)

    names = [n or i for n, i in zip(texts(fields.name_field), ids, strict=True)]
    columns = {
        "business_id": ids, "name": names, "code": texts(fields.code_field),
        "parent_id": texts(fields.parent_field),
        "households": _int_column(gdf, "households"), "residents": _int_column(gdf, "residents"),
        "attrs": [_attrs(row) for row in gdf[extra].to_dict("records")] if extra
        else [{} for _ in range(len(gdf))],
    }
    # object dtype keeps None as None (pandas would turn it into NaN in float columns).
    import geopandas as gpd
    import pandas as pd

    out = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    cells = gpd.GeoDataFrame(out, geometry=[_as_multi(g) for g in geoms], crs=TARGET_CRS)
    if merge_duplicates and len(first_seen) < len(cells):
        cells = _merge_parts(cells)
    return cells


def _merge_parts(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per business id: the first row's attributes, the union of the geometries."""
    first = cells.drop_duplicates("business_id", keep="first").set_index("business_id")
    merged = cells.groupby("business_id", sort=False).geometry.agg(
        lambda parts: _as_multi(shapely.union_all(parts.values)))
    first = first.set_geometry(merged.reindex(first.index).values, crs=TARGET_CRS)
    return first.reset_index()


def _as_multi(geom: shapely.Geometry) -> shapely.MultiPolygon:
    return geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])


def _text(value: Any) -> str | None:
    """A field value as text; None when missing. Whole floats lose their ``.0``: pandas reads
    an integer column with a gap as floats, and ``"1.0"`` would not match the id ``"1"``."""
    if _is_missing(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _is_count(value: Any) -> bool:
    if _is_missing(value):
        return True
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return number >= 0 and number.is_integer()


def _int_column(gdf: pd.DataFrame, name: str) -> list[int | None]:
    if name not in gdf.columns:
        return [None] * len(gdf)
    return [None if _is_missing(v) else int(float(v)) for v in gdf[name]]


def _attrs(row: dict[str, Any]) -> dict[str, Any]:
    """The file's other columns, as JSON-able values (missing ones dropped)."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if _is_missing(v) or (isinstance(v, float) and not math.isfinite(v)):
            continue
        out[str(k)] = v.item() if isinstance(v, np.generic) else (
            v if isinstance(v, str | int | float | bool) else str(v))
    return out
