"""Cell layers as vector tiles: what keeps a 10,000-cell city smooth.

A page with every grid of a city inline weighs ~10 MB and takes seconds to parse (measured in
``bench/maps.py``). Large layers are drawn instead from ``/maps/tiles/{plan}/{kind}/{z}/{x}/{y}``
(``ST_AsMVT``, simplified to half a pixel of each zoom) with Leaflet.VectorGrid on canvas: a view
loads only its tiles, at the detail of its zoom, with the tooltip fields in each feature.
Colours that depend on the page's query (the risk colours) come inline as ``id -> colour``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from folium.map import Layer
from folium.template import Template

from gridsvc.maps import geometry
from gridsvc.maps.page import Page, add_labels, add_layer, use


class CellTiles(Layer):
    """A Leaflet.VectorGrid layer of cells with a hover tooltip. ``extra`` (``{"keys": [...],
    "rows": {id: [...]}}``) adds properties by id; a ``fill_colour`` key fills each cell."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        if (L.DomEvent && !L.DomEvent.fakeStop) {
            // Leaflet.VectorGrid 1.3 calls this; Leaflet 1.8 removed it.
            L.DomEvent.fakeStop = function () { return true; };
        }
        var {{ this.get_name() }} = (function() {
            var base = {{ this.style|tojson }}, extra = {{ this.extra|tojson }};
            var fields = {{ this.fields|tojson }}, seen = {};
            // extra: {keys: [...], rows: {id: [...]}}: values the query decides (risk colours,
            // incident counts), merged into each feature's properties by id.
            function props(p) {
                if (!extra) return p;
                var row = extra.rows[p.id] || [], out = Object.assign({}, p);
                extra.keys.forEach(function(k, i) { out[k] = row[i]; });
                return out;
            }
            var layer = L.vectorGrid.protobuf({{ this.url|tojson }}, {
                // Tiles drawn 512 pixels wide: a quarter of the requests of 256-pixel ones.
                // At map zoom z such a tile is the standard tile of zoom z - 1 ({tz} in the
                // URL; VectorGrid ignores zoomOffset).
                rendererFactory: L.canvas.tile, interactive: true, maxNativeZoom: 18,
                tileSize: 512, updateWhenZooming: false,
                tz: function(d) { return d.z - 1; },
                getFeatureId: function(f) { seen[f.properties.id] = 1; return f.properties.id; },
                vectorTileLayerStyles: {cells: function(p) {
                    var s = Object.assign({fill: true}, base), q = props(p);
                    if (q.fill_colour) { s.fillColor = q.fill_colour; }
                    return s;
                }}
            });
            layer._gridsvcSeen = seen;
            layer._gridsvcPending = true;
            layer.on('load', function() { layer._gridsvcPending = false; });
            var tip = L.tooltip({sticky: true, direction: 'top'});
            function esc(v) {
                return String(v === undefined || v === null ? '-' : v).replace(/[&<>"]/g,
                    function(c) { return {'&': '&amp;', '<': '&lt;', '>': '&gt;',
                                          '"': '&quot;'}[c]; });
            }
            layer.on('mouseover', function(e) {
                var p = props(e.layer.properties);
                tip.setContent('<table>' + fields.map(function(f) {
                    return '<tr><th>' + esc(f[1]) + '</th><td>' + esc(p[f[0]]) + '</td></tr>';
                }).join('') + '</table>').setLatLng(e.latlng);
                {{ this._parent.get_name() }}.openTooltip(tip);
            });
            layer.on('mouseout', function() { {{ this._parent.get_name() }}.closeTooltip(tip); });
            return layer;
        })();
        {% endmacro %}
    """)

    def __init__(self, url: str, fields: list[tuple[str, str]], style: dict[str, Any],
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(overlay=True)
        self.url, self.fields, self.style, self.extra = url, fields, style, extra


@dataclass
class Tiled:
    """A cell layer to draw from tiles: the tile URL (with ``{z}/{x}/{y}``), label points
    (``lon, lat, name`` columns, EPSG:4490), the cells' typical width in metres (when labels
    appear) and the layer's bounds."""

    url: str
    labels: pd.DataFrame
    width_m: float
    bounds: tuple[float, float, float, float]


def add_tile_cells(page: Page, layer: Tiled, kind: str, fields: list[str],
                   style: dict[str, Any], name: str, show: bool = True,
                   extra: pd.DataFrame | None = None, labels: bool = True) -> None:
    """Add a tiled cell layer with tooltip ``fields`` and zoom-dependent name labels.

    ``extra``: a frame indexed by cell id whose columns join the tiles' properties (a
    ``fill_colour`` column fills the cells)."""
    packed = None if extra is None else {
        "keys": list(extra.columns),
        "rows": {str(i): [v.item() if hasattr(v, "item") else v for v in r]
                 for i, r in zip(extra.index, extra.itertuples(index=False), strict=True)}}
    use(page, "tiles")
    tiles = CellTiles(layer.url, [(f, page.words.get(f, f)) for f in fields], style, packed)
    add_layer(page, name, tiles, show=show)
    if labels and len(layer.labels):
        points = shapely.get_coordinates(page.shift(
            shapely.points(layer.labels["lon"], layer.labels["lat"])))
        lat = float(np.mean(points[:, 1]))
        min_zoom = geometry.zoom_for(layer.width_m, geometry.LABEL_MIN_PX, lat)
        add_labels(page, name, kind, np.round(points, geometry.DECIMALS),
                   layer.labels["name"].astype(str).tolist(), min_zoom)
