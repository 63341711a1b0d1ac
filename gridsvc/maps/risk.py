"""The risk page: compounds and grids in red/orange/green (分色预警), floating-population
levels, and rental houses by star rating."""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from gridsvc.domain.reports.risk import COLOURS
from gridsvc.maps import geometry
from gridsvc.maps.cells import add_cells, layers_bounds
from gridsvc.maps.page import Page, add_layer, add_legend, geojson_layer, new_page
from gridsvc.maps.tiles import Tiled, add_tile_cells

RISK_FIELDS = ["name", "code", "households", "incidents", "rate", "level"]
FLOATING_FIELDS = ["name", "code", "registered", "floating_n", "level"]
STAR_COLOURS = {1: "#1b5e20", 2: "#7cb342", 3: "#fdd835", 4: "#fb8c00", 5: "#c62828"}


def _star_style(feature: dict[str, Any]) -> dict[str, Any]:
    stars = int(feature["properties"]["stars"])
    colour = STAR_COLOURS.get(stars, "#757575")
    return {"color": colour, "fillColor": colour, "radius": 3 + stars}


def _fill(feature: dict[str, Any]) -> dict[str, Any]:
    colour = COLOURS[feature["properties"]["colour"]]
    return {"color": "#424242", "weight": 1, "fillColor": colour, "fillOpacity": 0.55}


def risk_map(compounds: gpd.GeoDataFrame, grids: gpd.GeoDataFrame | Tiled, attrs: pd.DataFrame,
             rentals: gpd.GeoDataFrame, window: str, red: float, orange: float,
             map_settings: Any) -> Page:
    """Build the risk page.

    Parameters
    ----------
    compounds
        Polygons (EPSG:4490) with ``name, code, households, incidents, rate`` (text), ``level``
        (the words of the colour) and ``colour`` (``red``/``orange``/``green``/``none``).
    grids
        Grid polygons (EPSG:4490, ``id`` column), or a :class:`~gridsvc.maps.tiles.Tiled` layer.
    attrs
        Per grid id (the index): ``name, code, households, incidents, rate, level, colour,
        floating_level, floating_colour, registered, floating_n``.
    rentals
        Points with ``name, stars, residents, floating_n``.
    window
        The time window, as shown in the legend.
    red, orange
        The thresholds (incidents per 1,000 households), shown in the legend.
    """
    page = new_page(layers_bounds([grids, compounds]), map_settings, "risk")
    w = page.words
    risk_name, fl_fields = f'{w["grid"]} · {w["risk_title"]}', FLOATING_FIELDS
    fl = attrs.assign(level=attrs["floating_level"], colour=attrs["floating_colour"])
    if isinstance(grids, Tiled):
        outline = {"color": "#424242", "weight": 1, "fillOpacity": 0.55}
        for name, frame, fields, show in ((risk_name, attrs, RISK_FIELDS, True),
                                          (w["floating"], fl, fl_fields, False)):
            extra = frame[[f for f in fields if f not in ("name", "code")]].assign(
                fill_colour=frame["colour"].map(COLOURS))
            add_tile_cells(page, grids, "grid", fields, outline, name, show=show, extra=extra,
                           labels=False)
    elif len(grids):
        cols = ["id", "geometry"]
        joined = grids[cols].merge(attrs.drop(columns=["geometry"], errors="ignore"),
                                   left_on="id", right_index=True, how="left")
        add_cells(page, joined, "grid", RISK_FIELDS, style=_fill, name=risk_name, labels=False,
                  extra=("colour",))
        joined = grids[cols].merge(fl, left_on="id", right_index=True, how="left")
        add_cells(page, joined, "grid", fl_fields, style=_fill, name=w["floating"], show=False,
                  labels=False, extra=("colour",))
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

