"""Cell layers (towns, villages, grids, stations, beats) on a page: simplified, labelled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np

from gridsvc.maps import geometry
from gridsvc.maps.page import Page, add_labels, add_layer, geojson_layer

#: Outline colour, weight, dash and fill of each kind on the coverage page.
STYLES: dict[str, dict[str, Any]] = {
    "town": {"color": "#4a148c", "weight": 3, "fillOpacity": 0.0},
    "village": {"color": "#6d4c41", "weight": 2, "fillOpacity": 0.0, "dashArray": "6 4"},
    "grid": {"color": "#2e7d32", "weight": 1, "fillColor": "#a5d6a7", "fillOpacity": 0.15},
    "station": {"color": "#0d47a1", "weight": 3, "fillOpacity": 0.0},
    "beat": {"color": "#1565c0", "weight": 2, "fillColor": "#90caf9", "fillOpacity": 0.12},
}


DEFAULT_BOUNDS = (119.0, 28.0, 119.1, 28.1)


def layers_bounds(layers: Any) -> tuple[float, float, float, float]:
    """The extent of GeoDataFrames and tiled layers together (a default when all are empty)."""
    boxes = [tuple(layer.total_bounds) if hasattr(layer, "total_bounds") else layer.bounds
             for layer in layers if len(getattr(layer, "labels", layer))]
    if not boxes:
        return DEFAULT_BOUNDS
    b = np.array(boxes, dtype=float)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def prepare(page: Page, frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Geometries ready to draw, their label points and the zoom labels appear from.

    The tolerance is half a pixel one zoom level before the labels appear, i.e. the detail a
    user sees while the layer is read as a whole; closer in, edges may be off by that much
    (a few metres for grids), which a wall map tolerates and the lookup API never does.
    """
    geoms = page.shift(np.asarray(frame.geometry.values, dtype=object))
    lat = float(np.mean(frame.total_bounds[[1, 3]])) if len(frame) else 0.0
    min_zoom = geometry.zoom_for(geometry.typical_width_m(geoms), geometry.LABEL_MIN_PX, lat)
    metres_per_px = 156_543.03 * np.cos(np.radians(lat)) / 2 ** max(min_zoom - 1, 0)
    tolerance = 0.5 * metres_per_px / geometry.METRES_PER_DEGREE
    drawn = geometry.round_coords(geometry.simplify_layer(geoms, tolerance))
    return drawn, geometry.label_points(geoms), min_zoom


def add_cells(page: Page, frame: gpd.GeoDataFrame, kind: str, fields: list[str],
              style: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
              name: str | None = None, show: bool = True, labels: bool = True,
              extra: tuple[str, ...] = ()) -> None:
    """Draw one layer of cells with a tooltip of ``fields`` and zoom-dependent name labels.

    ``frame`` has the ``fields`` columns, ``name`` and a geometry in EPSG:4490. ``style`` maps
    a GeoJSON feature to a Leaflet path style (default: :data:`STYLES` of the kind); ``extra``
    columns go into the features' properties for it, without showing in the tooltip.
    """
    drawn, points, min_zoom = prepare(page, frame)
    columns = list(dict.fromkeys([*fields, *extra]))
    props = frame[columns].astype(object).where(frame[columns].notna(), "-").to_dict("records")
    data = geometry.feature_collection(drawn, props)
    base = STYLES[kind]
    layer = geojson_layer(data, style or (lambda f: base), fields, page)
    layer_name = name or page.words[kind]
    add_layer(page, layer_name, layer, show=show)
    if labels and len(frame):
        add_labels(page, layer_name, kind, points, frame["name"].astype(str).tolist(), min_zoom)
