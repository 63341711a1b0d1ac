"""The coverage page: who covers what.

Towns, villages, grids, stations and beats as layers with tooltips (name, code, officers,
auxiliaries, grid workers, households, residents), police offices with their 15-minute walk,
cameras as their sectors, and patrol points; and, when given, who is on duty and the patrol
coverage of this and the last shift (:mod:`gridsvc.maps.duty`).
"""

from __future__ import annotations

import html
from typing import Any

import folium
import geopandas as gpd
from folium.map import Layer
from folium.template import Template

from gridsvc.maps import geometry
from gridsvc.maps.cells import STYLES, add_cells, layers_bounds
from gridsvc.maps.duty import DutyLayers, add_duty_layers
from gridsvc.maps.page import Page, add_layer, add_legend, geojson_layer, new_page
from gridsvc.maps.tiles import Tiled, add_tile_cells

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


class CameraSectors(Layer):
    """Cameras drawn as their sectors, built in the browser from ``[lat, lon, heading, fov,
    range, name]`` rows (five numbers a camera instead of a polygon: a city's 3,000 cameras
    cost ~150 KB, not ~1 MB). Metres become degrees locally (equirectangular), which is exact
    to well under a metre over a camera's range."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function() {
            var group = L.featureGroup(), rows = {{ this.rows|tojson }};
            var words = {{ this.words|tojson }};
            rows.forEach(function(r) {
                var lat = r[0], lon = r[1], h = r[2], fov = r[3], range = r[4];
                var ky = range / 111320, kx = range / (111320 * Math.cos(lat * Math.PI / 180));
                var pts = fov >= 360 ? [] : [[lat, lon]];
                var steps = Math.max(2, Math.ceil(fov / 10));
                for (var i = 0; i <= steps; i++) {
                    var b = (h - fov / 2 + fov * i / steps) * Math.PI / 180;
                    pts.push([lat + ky * Math.cos(b), lon + kx * Math.sin(b)]);
                }
                L.polygon(pts, {color: '#ef6c00', weight: 1, fillColor: '#ffb74d',
                                fillOpacity: 0.35})
                 .bindTooltip(r[5] + '<br>' + words[0] + ' ' + h + ' · ' + words[1] + ' ' + fov
                              + ' · ' + words[2] + ' ' + range, {sticky: true})
                 .addTo(group);
            });
            return group;
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list[list[Any]], words: list[str]) -> None:
        super().__init__(overlay=True)
        self.rows, self.words = rows, words


def coverage_map(cells: dict[str, Any], offices: gpd.GeoDataFrame, walk_radius_m: float,
                 cameras: gpd.GeoDataFrame, patrol_points: gpd.GeoDataFrame,
                 map_settings: Any, walk_roads: gpd.GeoSeries | None = None,
                 roads: gpd.GeoSeries | None = None, duty: DutyLayers | None = None) -> Page:
    """Build the coverage page.

    Parameters
    ----------
    cells
        Kind -> cells (EPSG:4490) with the :data:`CELL_FIELDS` columns, or a
        :class:`~gridsvc.maps.tiles.Tiled` layer (whose tiles carry those fields); missing kinds
        are skipped (a plan with no police layer still gets its governance layers).
    offices
        Points with ``name, phone, hours``.
    walk_radius_m
        The 15-minute walk as a straight-line radius, drawn around each office.
    cameras
        Camera points with ``name, heading_deg, fov_deg, range_m``, drawn as sectors.
    patrol_points
        Points with ``name, level``.
    map_settings
        :class:`gridsvc.settings.MapSettings`.
    walk_roads
        The stretches of road within the walk of an office (lines, EPSG:4490), when there is a
        road layer: drawn, and the straight-line circles are then one click away.
    roads
        The road layer (lines, EPSG:4490), drawn thin under everything else.
    duty
        Who is on duty and the patrol of this and the last shift
        (:func:`gridsvc.maps.duty.add_duty_layers`), drawn over the rest; None: left out.
    """
    page = new_page(layers_bounds(cells.values()), map_settings, "coverage")
    for kind in ORDER:
        layer = cells.get(kind)
        if isinstance(layer, Tiled):
            add_tile_cells(page, layer, kind, CELL_FIELDS[kind], STYLES[kind], page.words[kind],
                           show=kind in SHOWN)
        elif layer is not None:
            add_cells(page, layer, kind, CELL_FIELDS[kind], show=kind in SHOWN)
    w = page.words
    if roads is not None and len(roads):
        lines = geometry.round_coords(page.shift(roads.values))
        data = geometry.feature_collection(lines, [{} for _ in range(len(lines))])
        style = {"color": "#757575", "weight": 2, "opacity": 0.7}
        add_layer(page, w["road"], geojson_layer(data, lambda f: style, None, page,
                                                 highlight=False))
    if len(cameras):
        points = page.shift(cameras.geometry.values)
        rows = [[round(p.y, geometry.DECIMALS), round(p.x, geometry.DECIMALS), float(h),
                 float(f), float(r), html.escape(str(n))] for p, h, f, r, n in zip(
                     points, cameras["heading_deg"], cameras["fov_deg"], cameras["range_m"],
                     cameras["name"], strict=True)]
        labels = [w["heading"], w["fov"], w["range"]]
        add_layer(page, w["camera"], CameraSectors(rows, labels))
    if len(offices):
        walk = folium.FeatureGroup()
        for geom in page.shift(offices.geometry.values):
            folium.Circle([geom.y, geom.x], radius=walk_radius_m, color="#c62828", weight=2,
                          fill=True, fill_opacity=0.06, dash_array="4 4",
                          interactive=False).add_to(walk)
        along_roads = walk_roads is not None and len(walk_roads) > 0
        add_layer(page, w["walk"], walk, show=not along_roads)
        if along_roads:
            lines = geometry.round_coords(page.shift(walk_roads.values))
            data = geometry.feature_collection(lines, [{} for _ in range(len(lines))])
            style = {"color": "#d50000", "weight": 4, "opacity": 0.6}
            add_layer(page, w["walk_roads"], geojson_layer(data, lambda f: style, None, page,
                                                           highlight=False))
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
    if duty is not None:
        add_duty_layers(page, duty, map_settings.language)
    return page
