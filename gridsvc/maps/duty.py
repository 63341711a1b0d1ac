"""Duty pages: who is on duty per beat and the patrol coverage of a shift (missed points red);
responsibility fields now and as proposed."""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd

from gridsvc.maps import geometry
from gridsvc.maps.cells import add_cells, layers_bounds
from gridsvc.maps.page import Page, add_layer, add_legend, geojson_layer, new_page

WORDS = {
    "zh": {"duty_title": "值班与巡逻", "on_duty": "在岗", "covered_by": "替岗", "visited": "已巡",
           "missed": "漏巡", "late": "迟到巡", "not_due": "本班无要求", "flagged": "异常打卡",
           "hotspots": "夜巡热点建议", "status": "状态", "rounds": "巡逻要求/实际",
           "checked_in_by": "打卡人", "main_duty": "主班", "fields_now": "现状责任田",
           "fields_proposed": "建议责任田", "fields_title": "责任田", "score": "复杂度",
           "officer": "民警", "reason": "依据", "shift": "班次", "patrol_cell": "巡格",
           "rentals": "出租房屋", "incidents": "警情数", "floating_n": "流动人口",
           "households": "户数", "name": "名称", "level": "等级", "code": "编码"},
    "en": {"duty_title": "Duty and patrol", "on_duty": "On duty", "covered_by": "Covered by",
           "visited": "visited", "missed": "missed", "late": "visited late",
           "not_due": "not due this shift", "flagged": "Flagged check-ins",
           "hotspots": "Night hot spots (proposed)", "status": "Status",
           "rounds": "Required/done", "checked_in_by": "Checked in by", "main_duty": "Main duty",
           "fields_now": "Responsibility fields now", "fields_proposed": "Proposed fields",
           "fields_title": "Responsibility fields", "score": "Complexity", "officer": "Officer",
           "reason": "Reason", "shift": "Shift", "patrol_cell": "Patrol cell",
           "rentals": "Rentals", "incidents": "Incidents", "floating_n": "Floating",
           "households": "Households", "name": "Name", "level": "Level", "code": "Code"},
}
STATUS_COLOURS = {"visited": "#2e7d32", "late": "#f9a825", "missed": "#d50000",
                  "not_due": "#9e9e9e"}
#: Field colours (officer i gets PALETTE[i % len]).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939")


def _words(page: Page, language: str) -> dict[str, str]:
    page.words = {**page.words, **WORDS.get(language, WORDS["zh"])}
    return page.words


def _points(page: Page, frame: gpd.GeoDataFrame, fields: list[str]) -> dict[str, Any]:
    geoms = geometry.round_coords(page.shift(frame.geometry.values))
    props = frame[fields].astype(object).where(frame[fields].notna(), "-").to_dict("records")
    return geometry.feature_collection(geoms, props)


def duty_map(beats: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, points: gpd.GeoDataFrame,
             flagged: gpd.GeoDataFrame, hotspots: gpd.GeoDataFrame, shift: str,
             map_settings: Any) -> Page:
    """Build the duty page.

    Parameters
    ----------
    beats
        Beats (EPSG:4490) with ``name, code, on_duty, covered_by`` (text) and ``covered``
        (True when one of the beat's own officers is on duty).
    grids
        Grid outlines with ``name, code``.
    points
        Patrol points with ``name, level, status`` (``visited``, ``late``, ``missed``,
        ``not_due``), ``rounds`` and ``checked_in_by`` (text).
    flagged
        Check-ins that did not count, at the phone's position, with ``name`` and ``status``.
    hotspots
        Proposed night patrol points with ``name`` and ``reason``.
    shift
        The shift, as shown in the legend.
    """
    page = new_page(layers_bounds([beats, points]), map_settings, "duty")
    w = _words(page, map_settings.language)
    if len(grids):
        add_cells(page, grids, "grid", ["name", "code"], show=False)
    if len(beats):
        def style(f: dict[str, Any]) -> dict[str, Any]:
            ok = f["properties"]["covered"] == "yes"
            return {"color": "#1565c0", "weight": 2, "fillOpacity": 0.15,
                    "fillColor": "#64b5f6" if ok else "#ffb74d"}

        add_cells(page, beats.assign(covered=["yes" if c else "no" for c in beats["covered"]]),
                  "beat", ["name", "code", "on_duty", "covered_by"], style=style,
                  extra=("covered",))
    for status in ("visited", "late", "missed", "not_due"):
        part = points[points["status"] == status] if len(points) else points
        if not len(part):
            continue
        colour = STATUS_COLOURS[status]
        marker = folium.CircleMarker(radius=7 if status == "missed" else 5, color=colour,
                                     fill=True, fill_opacity=0.9, weight=1)
        data = _points(page, part, ["name", "level", "rounds", "checked_in_by"])
        add_layer(page, f'{w["patrol_point"]} · {w[status]}',
                  geojson_layer(data, None, ["name", "level", "rounds", "checked_in_by"], page,
                                marker=marker, highlight=False), show=status != "not_due")
    if len(flagged):
        marker = folium.CircleMarker(radius=4, color="#6a1b9a", fill=True, fill_opacity=1.0,
                                     weight=2)
        data = _points(page, flagged, ["name", "status"])
        add_layer(page, w["flagged"], geojson_layer(data, None, ["name", "status"], page,
                                                    marker=marker, highlight=False))
    if len(hotspots):
        marker = folium.CircleMarker(radius=10, color="#000", fill=True, fill_color="#ff1744",
                                     fill_opacity=0.6, weight=2)
        data = _points(page, hotspots, ["name", "reason"])
        add_layer(page, w["hotspots"], geojson_layer(data, None, ["name", "reason"], page,
                                                     marker=marker, highlight=False),
                  show=False)
    add_legend(page, w["duty_title"], [
        ("#64b5f6", f'{w["beat"]} · {w["on_duty"]}'),
        ("#ffb74d", f'{w["beat"]} · {w["covered_by"]}'),
        *[(c, f'{w["patrol_point"]} · {w[s]}') for s, c in STATUS_COLOURS.items()],
        ("#6a1b9a", w["flagged"])], note=f'{w["shift"]}: {shift}')
    return page


def fields_map(villages: gpd.GeoDataFrame, officers: list[dict[str, Any]],
               map_settings: Any) -> Page:
    """Build the responsibility-fields page.

    Parameters
    ----------
    villages
        Villages (EPSG:4490) with ``name, code, score, households, floating_n, rentals,
        incidents`` and ``now`` / ``proposed`` (the officers' names, text).
    officers
        ``{name, load_now, load_proposed}`` per officer, in legend order.
    """
    page = new_page(layers_bounds([villages]), map_settings, "fields")
    w = _words(page, map_settings.language)
    colour = {o["name"]: PALETTE[i % len(PALETTE)] for i, o in enumerate(officers)}
    fields = ["name", "score", "households", "floating_n", "rentals", "incidents"]
    for column, layer_name, show in (("now", w["fields_now"], False),
                                     ("proposed", w["fields_proposed"], True)):
        def style(f: dict[str, Any], column: str = column) -> dict[str, Any]:
            first = str(f["properties"][column]).split("、")[0]
            return {"color": "#424242", "weight": 1, "fillOpacity": 0.55,
                    "fillColor": colour.get(first, "#eeeeee")}

        frame = villages.assign(officer=villages[column])
        add_cells(page, frame, "village", [*fields, "officer"], style=style, name=layer_name,
                  show=show, labels=column == "proposed", extra=(column,))
    add_legend(page, w["fields_title"], [
        (colour[o["name"]], f'{o["name"]} {o["load_now"]:.1f} → {o["load_proposed"]:.1f}')
        for o in officers], note=f'{w["score"]}: {w["fields_now"]} → {w["fields_proposed"]}')
    return page
