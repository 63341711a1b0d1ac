"""The risk page: compounds and grids in red/orange/green (分色预警), floating-population
levels, and rental houses by star rating."""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd

from gridsvc.domain.risk import COLOURS
from gridsvc.maps import geometry
from gridsvc.maps.cells import add_cells
from gridsvc.maps.page import Page, add_layer, add_legend, geojson_layer, new_page

RISK_FIELDS = ["name", "code", "households", "incidents", "rate", "level"]
STAR_COLOURS = {1: "#1b5e20", 2: "#7cb342", 3: "#fdd835", 4: "#fb8c00", 5: "#c62828"}


def _star_style(feature: dict[str, Any]) -> dict[str, Any]:
    stars = int(feature["properties"]["stars"])
    colour = STAR_COLOURS.get(stars, "#757575")
    return {"color": colour, "fillColor": colour, "radius": 3 + stars}


def _fill(feature: dict[str, Any]) -> dict[str, Any]:
    colour = COLOURS[feature["properties"]["colour"]]
    return {"color": "#424242", "weight": 1, "fillColor": colour, "fillOpacity": 0.55}


def risk_map(compounds: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, rentals: gpd.GeoDataFrame,
             window: str, red: float, orange: float, map_settings: Any) -> Page:
    """Build the risk page.

    Parameters
    ----------
    compounds, grids
        Polygons (EPSG:4490) with ``name, code, households, incidents, rate`` (text), ``level``
        (the words of the colour) and ``colour`` (``red``/``orange``/``green``/``none``); grids
        also ``floating_level``, ``floating_colour``, ``registered``, ``floating_n``.
    rentals
        Points with ``name, stars, residents, floating_n``.
    window
        The time window, as shown in the legend.
    red, orange
        The thresholds (incidents per 1,000 households), shown in the legend.
    """
    frames = [f for f in (grids, compounds) if len(f)]
    bounds = gpd.pd.concat(frames).total_bounds if frames else (119.0, 28.0, 119.1, 28.1)
    page = new_page(tuple(bounds), map_settings, "risk")
    w = page.words
    if len(grids):
        add_cells(page, grids, "grid", RISK_FIELDS, style=_fill, name=f'{w["grid"]} · '
                  f'{w["risk_title"]}', labels=False, extra=("colour",))
        fl = grids.assign(level=grids["floating_level"], colour=grids["floating_colour"])
        add_cells(page, fl, "grid", ["name", "code", "registered", "floating_n", "level"],
                  style=_fill, name=w["floating"], show=False, labels=False,
                  extra=("colour",))
    if len(compounds):
        add_cells(page, compounds, "grid", RISK_FIELDS, style=_fill,
                  name=f'{w["compound"]} · {w["risk_title"]}', extra=("colour",))
    if len(rentals):
        geoms = geometry.round_coords(page.shift(rentals.geometry.values))
        fields = ["name", "stars", "residents", "floating_n"]
        data = geometry.feature_collection(geoms, rentals[fields].to_dict("records"))
        marker = folium.CircleMarker(radius=4, weight=1, fill=True, fill_opacity=0.85)
        add_layer(page, w["rental"], geojson_layer(data, _star_style, fields, page,
                                                   marker=marker, highlight=False), show=False)
    add_legend(page, f'{w["risk_title"]} ({w["per_1000"]})', [
        (COLOURS["red"], f'{w["risk_red"]} ≥ {red:g}'),
        (COLOURS["orange"], f'{w["risk_orange"]} {orange:g}–{red:g}'),
        (COLOURS["green"], f'{w["risk_green"]} < {orange:g}'),
        (COLOURS["none"], w["none"] + " " + w["households"]),
    ], note=f'{w["window"]}: {window}')
    fs = map_settings
    add_legend(page, f'{w["floating"]} ({w["fl_title"]})', [
        (COLOURS["red"], f'{w["fl_red"]} ≥ {fs.floating_red:g}'),
        (COLOURS["orange"], f'{w["fl_orange"]} ≥ {fs.floating_orange:g}'),
        (COLOURS["yellow"], f'{w["fl_yellow"]} ≥ {fs.floating_yellow:g}'),
        (COLOURS["blue"], f'{w["fl_blue"]} < {fs.floating_yellow:g}'),
    ])
    add_legend(page, w["stars_title"], [(c, f"{s} ★") for s, c in STAR_COLOURS.items()])
    return page

