"""Geometry for the browser: simplified per layer, rounded, optionally shifted to GCJ-02.

The pages draw every cell on one canvas, so what matters is vertices and bytes. A layer is
simplified with ``shapely.coverage_simplify`` (shared edges are simplified once, the same way on
both sides, so neighbours never open slivers or overlap on screen), with a tolerance of about
half a screen pixel at the zoom the layer is first looked at. Coordinates are rounded to 1e-5
degrees (about 1 m), which is below a pixel at every zoom the pages allow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from gridsvc.domain.geo.coords import wgs84_to_gcj02

DECIMALS = 5
METRES_PER_DEGREE = 111_320.0
#: A cell is labelled from the zoom at which its typical width spans this many pixels.
LABEL_MIN_PX = 70.0
MAX_ZOOM = 19


def zoom_for(width_m: float, pixels: float, lat: float) -> int:
    """The smallest web-map zoom at which ``width_m`` metres span at least ``pixels`` pixels.

    >>> zoom_for(1000.0, 70.0, 28.0)
    14
    >>> zoom_for(0.0, 70.0, 28.0)
    19
    """
    if width_m <= 0:
        return MAX_ZOOM
    metres_per_px = width_m / pixels
    z = math.log2(156_543.03 * math.cos(math.radians(lat)) / metres_per_px)
    return int(min(MAX_ZOOM, max(0, math.ceil(z))))


def typical_width_m(geoms: np.ndarray) -> float:
    """Median of the square root of the cells' areas, in metres (geoms in degrees)."""
    if len(geoms) == 0:
        return 0.0
    lat = float(np.mean(shapely.bounds(geoms)[:, [1, 3]]))
    deg2 = np.median(shapely.area(geoms))
    return float(math.sqrt(deg2) * METRES_PER_DEGREE * math.sqrt(math.cos(math.radians(lat))))


def simplify_layer(geoms: np.ndarray, tolerance_deg: float) -> np.ndarray:
    """Simplify a layer of polygons, keeping shared edges shared.

    ``coverage_simplify`` needs a valid coverage; a layer with overlaps (which the fusion report
    flags) is simplified cell by cell instead, topology preserved within each cell.
    """
    if len(geoms) == 0 or tolerance_deg <= 0:
        return geoms
    if shapely.coverage_is_valid(geoms):
        return shapely.coverage_simplify(geoms, tolerance_deg)
    return shapely.simplify(geoms, tolerance_deg, preserve_topology=True)


def shift_gcj02(geoms: np.ndarray) -> np.ndarray:
    """Move geometries from WGS84/CGCS2000 to GCJ-02, for basemaps drawn in GCJ-02."""
    return shapely.transform(geoms, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))


def round_coords(geoms: np.ndarray) -> np.ndarray:
    """Round coordinates to :data:`DECIMALS` (repeated vertices are dropped by GEOS)."""
    return shapely.set_precision(geoms, 10.0 ** -DECIMALS, mode="pointwise")


def feature_collection(geoms: Sequence[Any], properties: list[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection; features with an empty geometry are left out."""
    features = []
    for geom, props in zip(geoms, properties, strict=True):
        if geom is None or geom.is_empty:
            continue
        features.append({"type": "Feature", "properties": props,
                         "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def label_points(geoms: np.ndarray) -> np.ndarray:
    """A point inside each polygon (``point_on_surface``), as an (n, 2) lon/lat array."""
    if len(geoms) == 0:
        return np.empty((0, 2))
    return np.round(shapely.get_coordinates(shapely.point_on_surface(geoms)), DECIMALS)
