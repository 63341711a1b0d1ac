"""The parts every map page shares: an offline Folium map, cell layers, labels, a legend.

Pages load Leaflet and its plugins from gridsvc (``/static/maps/...``, see
:mod:`gridsvc.maps.vendor`), or carry them inline when exported to a file, never from a CDN.
Every page sets ``window.gridsvc = {layers: {name: count}, ready: ms}`` once its layers are on the
map and drawn, which the browser tests and the page benchmark read; ``window.gridsvcPage`` has
the Leaflet ``map`` and ``layer(name)``, a layer by its display name.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from typing import Any

import folium
import numpy as np
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from gridsvc.maps import geometry, vendor

STATIC_URL = "/static/maps"
# System fonts only: a CJK web font would weigh several MB. Command-centre PCs have one of these.
CSS = """
.leaflet-container, .gridsvc-legend, .gridsvc-label, .leaflet-tooltip {
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
    "WenQuanYi Micro Hei", sans-serif; }
.gridsvc-label { background: none; border: none; white-space: nowrap; font-size: 12px;
  color: #222; text-shadow: 0 0 3px #fff, 0 0 3px #fff; transform: translate(-50%, -50%); }
.gridsvc-legend { background: rgba(255,255,255,.9); padding: 6px 10px; font-size: 12px;
  border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3); line-height: 18px; }
.gridsvc-legend i { display: inline-block; width: 14px; height: 14px; margin-right: 6px;
  vertical-align: -2px; border: 1px solid #555; }
.gridsvc-legend b { display: block; margin-top: 4px; }
"""


@dataclass
class Page:
    """A Folium map being built, plus what the labels and the probe need to know."""

    map: folium.Map
    words: dict[str, str]
    gcj02: bool = False
    layers: dict[str, str] = field(default_factory=dict)
    labels: list[dict[str, Any]] = field(default_factory=list)

    def shift(self, geoms: np.ndarray) -> np.ndarray:
        """Geometries as the basemap wants them (GCJ-02 when the tiles are GCJ-02)."""
        return geometry.shift_gcj02(geoms) if self.gcj02 else geoms


def new_page(bounds: tuple[float, float, float, float], map_settings: Any, title: str,
             features: tuple[str, ...] = ("leaflet",)) -> Page:
    """An empty page fitted to ``bounds`` (lon/lat), with the basemap of the settings, if any."""
    from gridsvc.maps.i18n import words

    w = words(map_settings.language)
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True, zoom_snap=0.25)
    # Folium gives max_zoom to its tile layer only; with no basemap the map itself needs it
    # (marker clustering refuses a map without one).
    m.options["maxZoom"] = geometry.MAX_ZOOM
    m.default_js, m.default_css = [], []
    m.get_root().header.add_child(Element(f"<title>gridsvc · {html.escape(title)}</title>"
                                          f"<style>{CSS}</style>"
                                          # no /favicon.ico request (a 404 in the console)
                                          '<link rel="icon" href="data:,">'),
                                  name="gridsvc-head")
    page = Page(m, w, gcj02=bool(map_settings.tiles) and map_settings.tiles_crs == "gcj02")
    for feature in features:
        use(page, feature)
    if map_settings.tiles:
        folium.TileLayer(tiles=map_settings.tiles, attr=map_settings.tiles_attribution or " ",
                         name=w["basemap"], max_zoom=geometry.MAX_ZOOM).add_to(m)
    x0, y0, x1, y1 = bounds
    corners = page.shift(shapely.points([x0, x1], [y0, y1]))
    (x0, y0), (x1, y1) = (c.coords[0] for c in corners)
    m.fit_bounds([[y0, x0], [y1, x1]])
    return page


def use(page: Page, feature: str) -> None:
    """Load a library on the page (``leaflet``, ``cluster``, ``heat``, ``tiles``), once."""
    m = page.map
    for i, path in enumerate(vendor.SCRIPTS[feature]):
        if (f"{feature}-{i}", f"{STATIC_URL}/{path}") not in m.default_js:
            m.default_js.append((f"{feature}-{i}", f"{STATIC_URL}/{path}"))
    for i, path in enumerate(vendor.STYLES[feature]):
        if (f"{feature}-css-{i}", f"{STATIC_URL}/{path}") not in m.default_css:
            m.default_css.append((f"{feature}-css-{i}", f"{STATIC_URL}/{path}"))


def add_layer(page: Page, name: str, layer: Any, show: bool = True) -> Any:
    """Add a Folium layer under a display name (the layer control and the probe use it)."""
    layer.layer_name = name
    layer.show = show
    layer.add_to(page.map)
    page.layers[name] = layer.get_name()
    return layer


def tooltip(page: Page, fields: list[str]) -> folium.GeoJsonTooltip:
    """A hover tooltip listing ``fields`` under their words."""
    return folium.GeoJsonTooltip(fields=fields, aliases=[page.words.get(f, f) for f in fields],
                                 sticky=True)


def add_labels(page: Page, layer_name: str, kind: str, points: np.ndarray, texts: list[str],
               min_zoom: int) -> None:
    """Label a layer: names shown from ``min_zoom`` on, only those in view (at most 400)."""
    page.labels.append({
        "layer": page.layers[layer_name], "kind": kind, "minZoom": min_zoom,
        "points": [[float(lat), float(lon), html.escape(t)]
                   for (lon, lat), t in zip(points, texts, strict=True)],
    })


def add_legend(page: Page, title: str, items: list[tuple[str, str]], note: str = "") -> None:
    """A legend in the bottom-right corner: ``items`` are (CSS colour, text)."""
    rows = "".join(f'<div><i style="background:{c}"></i>{html.escape(t)}</div>' for c, t in items)
    body = f"<b>{html.escape(title)}</b>{rows}"
    if note:
        body += f"<div>{html.escape(note)}</div>"
    Control(body, "bottomright", "gridsvc-legend").add_to(page.map)


class Control(MacroElement):
    """A Leaflet control showing fixed HTML (legends, filters)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var c = L.control({position: {{ this.position|tojson }}});
            c.onAdd = function() {
                var d = L.DomUtil.create('div', {{ this.css_class|tojson }});
                d.innerHTML = {{ this.body|tojson }};
                return d;
            };
            c.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, body: str, position: str, css_class: str) -> None:
        super().__init__()
        self.body, self.position, self.css_class = body, position, css_class


class _Finish(MacroElement):
    """Labels in view, and the probe: ``window.gridsvc`` with layer sizes and first render."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var sets = {{ this.labels|tojson }};
            var group = L.layerGroup().addTo(map);
            function layerOf(name) { return window[name]; }
            function redraw() {
                group.clearLayers();
                var b = map.getBounds().pad(0.1), z = map.getZoom(), n = 0;
                sets.forEach(function(s) {
                    var layer = layerOf(s.layer);
                    if (!layer || !map.hasLayer(layer) || z < s.minZoom) return;
                    for (var i = 0; i < s.points.length && n < 400; i++) {
                        var p = s.points[i];
                        if (!b.contains([p[0], p[1]])) continue;
                        L.marker([p[0], p[1]], {interactive: false, keyboard: false,
                            icon: L.divIcon({className: 'gridsvc-label gridsvc-label-' + s.kind,
                                             html: p[2], iconSize: null})}).addTo(group);
                        n++;
                    }
                });
            }
            map.on('moveend overlayadd overlayremove', redraw);
            redraw();
            var names = {{ this.layers|tojson }};
            window.gridsvc = {layers: {}, ready: null};
            // The map and its layers by display name, for tests (apart: the probe above is
            // read as JSON, and the map refers to itself).
            window.gridsvcPage = {map: map,
                                  layer: function(name) { return layerOf(names[name]); }};
            function sizes() {
                var out = {};
                Object.keys(names).forEach(function(k) {
                    var l = layerOf(names[k]);
                    out[k] = !l ? -1 : l._gridsvcSeen ? Object.keys(l._gridsvcSeen).length
                           : l._latlngs ? l._latlngs.length
                           : l.getLayers ? l.getLayers().length : 1;
                });
                return out;
            }
            // Ready: every tiled layer on the map has loaded its tiles, then two frames drawn.
            var wait = setInterval(function() {
                var pending = Object.keys(names).some(function(k) {
                    var l = layerOf(names[k]);
                    return l && l._gridsvcPending && map.hasLayer(l);
                });
                if (pending) return;
                clearInterval(wait);
                requestAnimationFrame(function() { requestAnimationFrame(function() {
                    window.gridsvc.layers = sizes();
                    window.gridsvc.ready = performance.now();
                }); });
            }, 20);
        })();
        {% endmacro %}
    """)

    def __init__(self, labels: list[dict[str, Any]], layers: dict[str, str]) -> None:
        super().__init__()
        self.labels, self.layers = labels, layers


def render(page: Page, inline: bool = False) -> str:
    """The page's HTML. ``inline``: scripts, styles and images embedded (a file that opens
    anywhere, with no server); otherwise they are loaded from ``/static/maps``."""
    folium.LayerControl(collapsed=False).add_to(page.map)
    _Finish(page.labels, page.layers).add_to(page.map)
    text = page.map.get_root().render()
    return _inline(text) if inline else text


def _inline(text: str) -> str:
    def read(url: str) -> str:
        return (vendor.STATIC_DIR / url.removeprefix(STATIC_URL + "/")).read_text("utf-8")

    def script(m: re.Match) -> str:
        return "<script>" + read(m.group(1)).replace("</script", "<\\/script") + "</script>"

    def style(m: re.Match) -> str:
        path = m.group(1)
        css = read(path)
        folder = (vendor.STATIC_DIR / path.removeprefix(STATIC_URL + "/")).parent

        def image(u: re.Match) -> str:
            f = folder / u.group(1)
            if not f.is_file():
                return u.group(0)
            return f"url(data:image/png;base64,{base64.b64encode(f.read_bytes()).decode()})"

        return "<style>" + re.sub(r"url\(([^):]+\.png)\)", image, css) + "</style>"

    prefix = re.escape(STATIC_URL)
    text = re.sub(rf'<script src="({prefix}/[^"]+)"></script>', script, text)
    return re.sub(rf'<link rel="stylesheet" href="({prefix}/[^"]+)"/>', style, text)


def geojson_layer(data: dict[str, Any], style: Any, tooltip_fields: list[str] | None,
                  page: Page, marker: Any = None, highlight: bool = True) -> folium.GeoJson:
    """A GeoJson layer with a per-feature style function and an optional hover tooltip."""
    return folium.GeoJson(
        data, style_function=style, marker=marker, smooth_factor=1.0,
        highlight_function=(lambda f: {"weight": 3, "fillOpacity": 0.35}) if highlight else None,
        tooltip=tooltip(page, tooltip_fields) if tooltip_fields else None,
        zoom_on_click=False, embed=True)
