"""Reading cell layers (polygons) from vector files, checked before anything is written.

GeoJSON, Shapefile (also zipped) and GeoPackage are read with geopandas/pyogrio. Every problem
in a file is collected (not just the first), each naming the feature and the field, so a user can
fix the file in one go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gridsvc.errors import InvalidInput, Problem

TARGET_CRS = CRS.from_epsg(4490)
ATTRIBUTE_FIELDS = ("households", "residents")


@dataclass(frozen=True)
class FieldMap:
    """Which columns of the file hold what. Only ``id_field`` is required."""

    id_field: str
    name_field: str | None = None
    code_field: str | None = None
    parent_field: str | None = None


def parse_crs(value: str | int) -> CRS:
    """A CRS from an EPSG code (``4326``, ``"EPSG:3857"``) or any string pyproj understands.

    Raises
    ------
    InvalidInput
        When pyproj does not know the CRS (field ``crs``).
    """
    text = str(value).strip()
    try:
        return CRS.from_user_input(int(text) if text.isdigit() else text)
    except CRSError as exc:
        raise InvalidInput([Problem(f"unknown CRS {text!r}: {exc}", field="crs")]) from None


def read_vector(path: Path) -> gpd.GeoDataFrame:
    """Read a vector file; a ``.zip`` is opened as a zipped Shapefile (or any single layer).

    Raises
    ------
    InvalidInput
        When the file is missing or GDAL cannot read it; the message is GDAL's.
    """
    if not path.exists():
        raise InvalidInput([Problem(f"no such file: {path}")])
    try:
        return gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # GDAL raises many types; the user needs its words, not the type
        raise InvalidInput([Problem(f"cannot read {path.name}: {exc}")]) from None


def _label(i: int, ident: Any) -> str:
    return f"feature {i}" + (f" (id {ident!r})" if ident is not None else "")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def _out_of_range(geom: shapely.Geometry) -> str | None:
    """Why a geometry's lon/lat are impossible, or None. Only for geographic CRSs."""
    xmin, ymin, xmax, ymax = geom.bounds
    if xmin >= -180 and xmax <= 180 and ymin >= -90 and ymax <= 90:
        return None
    if xmin >= -90 and xmax <= 90 and ymin >= -180 and ymax <= 180:
        return (f"latitude {max(abs(ymin), abs(ymax)):.6g} is out of range: the coordinates "
                "look like lat/lon swapped; GeoJSON and gridsvc want lon, lat")
    return (f"coordinates out of range for degrees (x {xmin:.6g}..{xmax:.6g}, y {ymin:.6g}.."
            f"{ymax:.6g}): the file may be in a projected CRS; give it with --crs")


def _geometry_problem(geom: Any, geographic: bool) -> str | None:
    if geom is None or geom.is_empty:
        return "geometry is empty or missing"
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return f"geometry is a {geom.geom_type}; cells must be polygons"
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        return "geometry has non-finite coordinates"
    if geographic and (why := _out_of_range(geom)):
        return why
    if not geom.is_valid:
        return f"invalid polygon: {shapely.is_valid_reason(geom)}"
    return None


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
        file's). GeoJSON without a ``crs`` member is WGS84 by the standard.
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
    if crs is not None:
        source_crs = parse_crs(crs)
    elif gdf.crs is None:
        problems.append(Problem(f"{path.name} does not say its CRS; give it with --crs",
                                field="crs"))
        source_crs = None
    else:
        source_crs = CRS.from_user_input(gdf.crs)
    if len(gdf) == 0:
        problems.append(Problem(f"{path.name} has no features"))
    if problems:
        raise InvalidInput(problems)

    assert source_crs is not None
    ids = [_text(v) for v in gdf[fields.id_field]]
    first_seen: dict[str, int] = {}
    for i, (ident, geom) in enumerate(zip(ids, gdf.geometry, strict=True)):
        label = _label(i, ident)
        if ident is None:
            problems.append(Problem("id is missing", feature=label, field=fields.id_field))
        elif ident in first_seen and not merge_duplicates:
            problems.append(Problem(
                f"duplicate id: {_label(first_seen[ident], ident)} has it too",
                feature=label, field=fields.id_field))
        else:
            first_seen.setdefault(ident, i)
        if why := _geometry_problem(geom, source_crs.is_geographic):
            problems.append(Problem(why, feature=label, field="geometry"))
        for name in ATTRIBUTE_FIELDS:
            if name in gdf.columns and not _is_count(gdf[name].iat[i]):
                problems.append(Problem(f"{gdf[name].iat[i]!r} is not a count (a whole number "
                                        ">= 0)", feature=label, field=name))
    if problems:
        raise InvalidInput(problems)

    # --crs overrides what the file says (GDAL calls every plain GeoJSON WGS84).
    geoms = gdf.geometry.set_crs(source_crs, allow_override=True).to_crs(TARGET_CRS)
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
