"""The in-memory demo town and the conversion of metric geometries to its CRS."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .geometry import GEOGRAPHIC_CRS, METRIC_CRS

LAYERS = (
    "towns",
    "villages",
    "grids",
    "stations",
    "beats",
    "offices",
    "houses",
    "compounds",
    "roads",
    "incidents",
    "patrol_points",
    "cameras",
    "compound_entrances",
)
AREA_COLUMNS = ["id", "code", "name", "parent_id", "households", "residents"]
COLUMNS = {
    "towns": ["id", "code", "name", "parent_id", "level", "households", "residents"],
    "villages": AREA_COLUMNS,
    "grids": AREA_COLUMNS,
    "stations": AREA_COLUMNS,
    "beats": AREA_COLUMNS,
    "offices": ["id", "name", "station_id", "opening_hours", "phone"],
    "houses": [
        "id",
        "village_id",
        "number",
        "sub_number",
        "building",
        "unit",
        "room",
        "aliases",
        "households",
        "registered",
        "residents",
        "floating",
        "is_rental",
        "rental_stars",
        "compound_id",
    ],
    "compounds": [
        "id",
        "name",
        "village_id",
        "risk_colour",
        "no_property_management",
        "no_competent_department",
        "no_security",
        "households",
    ],
    "roads": ["id", "name", "road_class"],
    "incidents": ["id", "occurred_at", "category", "summary"],
    "patrol_points": ["id", "name", "level"],
    "cameras": ["id", "name", "heading_deg", "fov_deg", "range_m"],
    "compound_entrances": ["id", "compound_id", "name", "kind"],
}
"""Columns of every layer, in file order (geometry comes last)."""


@dataclass
class DemoTown:
    """The demo town: one GeoDataFrame (EPSG:4490) per layer, the people and the findings.

    Columns and ids are those of data/README.md (see `COLUMNS`); every table is sorted by id.
    """

    towns: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    beats: gpd.GeoDataFrame
    offices: gpd.GeoDataFrame
    houses: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    incidents: gpd.GeoDataFrame
    patrol_points: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame
    compound_entrances: gpd.GeoDataFrame
    people: pd.DataFrame
    expected_findings: dict

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The geographic layers by name, in the order of data/README.md."""
        return {name: getattr(self, name) for name in LAYERS}


def to_geographic(geoms) -> np.ndarray:
    """Metric geometries to EPSG:4490, rounded to 1e-7 degree vertex by vertex.

    Rounding each vertex on its own (not snap-rounding a whole polygon) keeps the shared edges of
    neighbouring cells identical.
    """
    transformer = Transformer.from_crs(METRIC_CRS, GEOGRAPHIC_CRS, always_xy=True)
    out = shapely.transform(
        np.asarray(geoms, dtype=object), lambda xy: np.column_stack(transformer.transform(*xy.T))
    )
    return shapely.set_precision(out, 1e-7, mode="pointwise")


def as_written(xy: np.ndarray) -> np.ndarray:
    """Metric points as they will read back from the files (rounded in EPSG:4490).

    House numbers follow 80 m rows; computing them on these coordinates makes them reproducible
    from the files, even for a house within a centimetre of a row edge.
    """
    transformer = Transformer.from_crs(GEOGRAPHIC_CRS, METRIC_CRS, always_xy=True)
    lonlat = shapely.get_coordinates(to_geographic(shapely.points(xy)))
    return np.column_stack(transformer.transform(*lonlat.T))


def frame(df: pd.DataFrame, geoms, layer: str) -> gpd.GeoDataFrame:
    """`df` (in cell or arbitrary order) as the sorted EPSG:4490 GeoDataFrame of `layer`."""
    gdf = gpd.GeoDataFrame(
        df[COLUMNS[layer]].reset_index(drop=True),
        geometry=to_geographic(geoms),
        crs=GEOGRAPHIC_CRS,
    )
    return gdf.sort_values("id", kind="stable").reset_index(drop=True)
