"""The incidents page: a heat map and clustered markers, by category and time window."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

import geopandas as gpd
from folium import plugins

from gridsvc.maps import geometry
from gridsvc.maps.cells import add_cells
from gridsvc.maps.page import Control, Page, add_layer, new_page


def _filters(page: Page, categories: list[str], chosen: str | None, window: str,
             query: dict[str, str]) -> None:
    # Category filter as plain links to this page: works with the session cookie, no script.
    w = page.words
    links = []
    for value in [None, *categories]:
        params = {k: v for k, v in query.items() if k != "category"}
        if value is not None:
            params["category"] = value
        label = html.escape(value or "全部 / all")
        text = f"<b>{label}</b>" if value == chosen else label
        links.append(f'<a href="?{html.escape(urlencode(params))}">{text}</a>')
    body = (f'<b>{html.escape(w["incidents_title"])}</b>'
            f'<div>{html.escape(w["window"])}: {html.escape(window)}</div>'
            f'<div>{html.escape(w["category"])}: {" · ".join(links)}</div>')
    Control(body, "bottomright", "gridsvc-legend").add_to(page.map)


def incidents_map(incidents: gpd.GeoDataFrame, beats: gpd.GeoDataFrame, categories: list[str],
                  chosen: str | None, window: str, query: dict[str, str],
                  map_settings: Any) -> Page:
    """Build the incidents page.

    Parameters
    ----------
    incidents
        Points (EPSG:4490) with ``id, category, time`` (text) in the window and category.
    beats
        Beat outlines for orientation, with ``name, code``.
    categories
        Every category there is (the filter links).
    chosen
        The category shown, or None for all.
    window
        The time window as text.
    query
        The page's other query parameters, kept by the filter links.
    """
    frames = [f for f in (beats, incidents) if len(f)]
    bounds = gpd.pd.concat(frames).total_bounds if frames else (119.0, 28.0, 119.1, 28.1)
    page = new_page(tuple(bounds), map_settings, "incidents",
                    features=("leaflet", "cluster", "heat"))
    w = page.words
    # The plugins' own default_js point at CDNs; new_page already loads local copies.
    if len(beats):
        add_cells(page, beats, "beat", ["name", "code"])
    points = page.shift(incidents.geometry.values) if len(incidents) else []
    latlon = [[round(p.y, geometry.DECIMALS), round(p.x, geometry.DECIMALS)] for p in points]
    heat = plugins.HeatMap(latlon, radius=18, blur=15, min_opacity=0.3)
    heat.default_js, heat.default_css = [], []
    add_layer(page, w["heat"], heat)
    texts = [f"{c} · {t} · {i}" for c, t, i in
             zip(incidents["category"], incidents["time"], incidents["id"], strict=True)]
    callback = """function (row) {
        var m = L.circleMarker(new L.LatLng(row[0], row[1]),
                               {radius: 5, color: '#b71c1c', weight: 1, fillOpacity: 0.8});
        m.bindTooltip(row[2]);
        return m;
    }"""
    cluster = plugins.FastMarkerCluster([[a, b, t] for (a, b), t in zip(latlon, texts,
                                                                        strict=True)],
                                        callback=callback)
    cluster.default_js, cluster.default_css = [], []
    add_layer(page, w["cluster"], cluster)
    _filters(page, categories, chosen, window, query)
    return page
