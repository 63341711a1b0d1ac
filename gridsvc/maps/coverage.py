"""The coverage page: who covers what.

Towns, villages, grids, stations and beats as layers with tooltips (name, code, officers,
auxiliaries, grid workers, households, residents), police offices with their 15-minute walk,
cameras as their sectors, and patrol points.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd

from gridsvc.maps import geometry
from gridsvc.maps.cells import add_cells
from gridsvc.maps.page import Page, add_layer, add_legend, geojson_layer, new_page

CELL_FIELDS = {
    "town": ["name", "code", "households", "residents"],
    "village": ["name", "code", "grid_workers", "households", "residents"],
    "grid": ["name", "code", "grid_workers", "officers", "households", "residents"],
    "station": ["name", "code", "officers", "households", "residents"],
    "beat": ["name", "code", "officers", "auxiliaries", "households", "residents"],
}
#: Drawn bottom to top; beats and grids are on by default, the other layers one click away.
ORDER = ("town", "village", "station", "beat", "grid")
SHOWN = {"beat", "grid"}


def _points(page: Page, frame: gpd.GeoDataFrame, fields: list[str]) -> dict[str, Any]:
    geoms = geometry.round_coords(page.shift(frame.geometry.values))
    props = frame[fields].astype(object).where(frame[fields].notna(), "-").to_dict("records")
    return geometry.feature_collection(geoms, props)


def coverage_map(cells: dict[str, gpd.GeoDataFrame], offices: gpd.GeoDataFrame,
                 walk_radius_m: float, sectors: gpd.GeoDataFrame,
                 patrol_points: gpd.GeoDataFrame, map_settings: Any) -> Page:
    """Build the coverage page.

    Parameters
    ----------
    cells
        Kind -> cells (EPSG:4490) with the :data:`CELL_FIELDS` columns; missing kinds are
        skipped (a plan with no police layer still gets its governance layers).
    offices
        Points with ``name, phone, hours``.
    walk_radius_m
        The 15-minute walk as a straight-line radius, drawn around each office.
    sectors
        Camera sectors (polygons) with ``name, heading, fov, range``.
    patrol_points
        Points with ``name, level``.
    map_settings
        :class:`gridsvc.settings.MapSettings`.
    """
    frames = [f for f in cells.values() if len(f)]
    bounds = (gpd.pd.concat(frames).total_bounds if frames else (119.0, 28.0, 119.1, 28.1))
    page = new_page(tuple(bounds), map_settings, "coverage")
    for kind in ORDER:
        if kind in cells:
            add_cells(page, cells[kind], kind, CELL_FIELDS[kind], show=kind in SHOWN)
    w = page.words
    if len(sectors):
        data = _points(page, sectors, ["name", "heading", "fov", "range"])
        style = {"color": "#ef6c00", "weight": 1, "fillColor": "#ffb74d", "fillOpacity": 0.35}
        add_layer(page, w["camera"], geojson_layer(data, lambda f: style,
                                                   ["name", "heading", "fov", "range"], page))
    if len(offices):
        walk = folium.FeatureGroup()
        for geom in page.shift(offices.geometry.values):
            folium.Circle([geom.y, geom.x], radius=walk_radius_m, color="#c62828", weight=2,
                          fill=True, fill_opacity=0.06, dash_array="4 4",
                          interactive=False).add_to(walk)
        add_layer(page, w["walk"], walk)
        marker = folium.CircleMarker(radius=7, color="#b71c1c", fill=True, fill_opacity=1.0,
                                     weight=2)
        data = _points(page, offices, ["name", "phone", "hours"])
        add_layer(page, w["office"], geojson_layer(data, None, ["name", "phone", "hours"], page,
                                                   marker=marker, highlight=False))
    if len(patrol_points):
        marker = folium.CircleMarker(radius=4, color="#6a1b9a", fill=True, fill_opacity=0.9,
                                     weight=1)
        data = _points(page, patrol_points, ["name", "level"])
        add_layer(page, w["patrol_point"], geojson_layer(data, None, ["name", "level"], page,
                                                         marker=marker, highlight=False))
    add_legend(page, w["coverage_title"], [
        ("#90caf9", w["beat"]), ("#a5d6a7", w["grid"]), ("#ffb74d", w["camera"]),
        ("#b71c1c", w["office"]), ("#6a1b9a", w["patrol_point"])])
    return page
