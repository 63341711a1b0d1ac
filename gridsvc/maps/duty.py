"""Duty pages: who is on duty per beat and the patrol coverage of a shift (missed points red);
responsibility fields now and as proposed; and the duty layers of the command centre's
coverage page (:func:`add_duty_layers`)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import folium
import geopandas as gpd
from folium.map import Layer
from folium.template import Template

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
           "households": "户数", "name": "名称", "level": "等级", "code": "编码",
           "open": "待巡", "duty_main_layer": "值班 · 主班",
           "duty_beats_layer": "值班 · 警务区民警",
           "patrol_now": "巡逻 · 本班", "patrol_last": "巡逻 · 上一班", "fields_layer": "责任田",
           "group": "值班组", "duty_hours": "值班时段", "leader": "带班领导", "members": "值班人员",
           "off_duty": "不在岗", "status_text": "状态", "officers_field": "责任民警",
           "beat_on": "警务区 · 本区民警在岗", "beat_off": "警务区 · 本区民警不在岗(替岗)",
           "station_main": "派出所 · 主班", "now": "绘制于"},
    "en": {"duty_title": "Duty and patrol", "on_duty": "On duty", "covered_by": "Covered by",
           "visited": "visited", "missed": "missed", "late": "visited late",
           "not_due": "not due this shift", "flagged": "Flagged check-ins",
           "hotspots": "Night hot spots (proposed)", "status": "Status",
           "rounds": "Required/done", "checked_in_by": "Checked in by", "main_duty": "Main duty",
           "fields_now": "Responsibility fields now", "fields_proposed": "Proposed fields",
           "fields_title": "Responsibility fields", "score": "Complexity", "officer": "Officer",
           "reason": "Reason", "shift": "Shift", "patrol_cell": "Patrol cell",
           "rentals": "Rentals", "incidents": "Incidents", "floating_n": "Floating",
           "households": "Households", "name": "Name", "level": "Level", "code": "Code",
           "open": "open", "duty_main_layer": "Duty · main duty",
           "duty_beats_layer": "Duty · beat officers", "patrol_now": "Patrol · this shift",
           "patrol_last": "Patrol · last shift", "fields_layer": "Responsibility fields",
           "group": "Group", "duty_hours": "On duty", "leader": "Leader",
           "members": "On duty now", "off_duty": "Off duty", "status_text": "Status",
           "officers_field": "Officers", "beat_on": "Beat · own officer on duty",
           "beat_off": "Beat · own officer off (covered)", "station_main": "Station · main duty",
           "now": "drawn at"},
}
STATUS_COLOURS = {"visited": "#2e7d32", "late": "#f9a825", "missed": "#d50000",
                  "open": "#546e7a", "not_due": "#9e9e9e"}
#: Beats whose own officer is on duty, and those covered by someone else.
BEAT_ON, BEAT_OFF, STATION_MAIN = "#1565c0", "#ef6c00", "#00897b"
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
    for status in ("visited", "late", "missed", "open", "not_due"):
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


@dataclass
class DutyLayers:
    """What the duty layers of the coverage page show (points, EPSG:4490).

    Attributes
    ----------
    stations
        A point per station with ``name, group, duty_hours, leader, members`` (text; ``-`` when no
        group holds main duty).
    beats
        A point per beat with ``name, on_duty, off_duty, covered_by`` (text) and ``covered``
        (True when one of the beat's own officers is on duty).
    shifts
        ``(day, points)`` of the shift in progress, then the shift before: patrol points with
        ``name, level, status`` (``visited``, ``late``, ``missed``, ``open``), ``rounds``,
        ``checked_in_by``.
    fields
        A point per village in someone's responsibility field, with ``name, officers``.
    at
        The instant shown, as text.
    """

    stations: gpd.GeoDataFrame
    beats: gpd.GeoDataFrame
    shifts: list[tuple[date, gpd.GeoDataFrame]]
    fields: gpd.GeoDataFrame
    at: str


class DutyMarkers(Layer):
    """Circle markers built in the browser from ``[lat, lon, colour, value...]`` rows (as the
    coverage page's camera sectors are), their tooltips made on hover from the values and the
    words given once: a city's 2,000 beats or 10,000 patrol points cost a fraction of GeoJSON
    features with their properties and per-feature styles. The rows are written as UTF-8 JSON
    (not ``\\u`` escapes, which double the bytes of Chinese text), values HTML-escaped. Each
    marker keeps its colour's key (a status) as ``gridsvcKey`` for tests."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function() {
            var group = L.featureGroup(), rows = {{ this.rows_json }};
            var colours = {{ this.colours|tojson }}, keys = {{ this.keys|tojson }};
            var words = {{ this.words|tojson }};
            function tip(r) {
                var t = '<b>' + r[3] + '</b>';
                for (var i = 1; i < words.length; i++) t += '<br>' + words[i] + ': ' + r[3 + i];
                return t;
            }
            rows.forEach(function(r) {
                var m = L.circleMarker([r[0], r[1]], {radius: {{ this.radius }},
                    color: '#263238', weight: 1.5, fillColor: colours[r[2]], fillOpacity: 0.9});
                m.gridsvcKey = keys[r[2]];
                m.bindTooltip(function() { return tip(r); }, {sticky: true}).addTo(group);
            });
            return group;
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list[list[Any]], words: list[str], keys: list[str],
                 colours: list[str], radius: int) -> None:
        super().__init__(overlay=True)
        self.rows_json = json.dumps(rows, ensure_ascii=False,
                                    separators=(",", ":")).replace("</", "<\\/")
        self.words = [html.escape(x) for x in words]
        self.keys, self.colours, self.radius = keys, colours, radius


def _marker_layer(page: Page, frame: gpd.GeoDataFrame, fields: list[str], key: str,
                  colours: dict[str, str], radius: int) -> DutyMarkers:
    """Markers coloured by ``colours[row[key]]``, with a tooltip of ``fields`` (the first in
    bold, the others under their words)."""
    points = page.shift(frame.geometry.values)
    keys = list(colours)
    index = {k: i for i, k in enumerate(keys)}
    rows = [[round(p.y, geometry.DECIMALS), round(p.x, geometry.DECIMALS),
             index.get(rec[key], 0), *(html.escape(str(rec[f])) for f in fields)]
            for p, rec in zip(points, frame[[*fields, key]].astype(object).to_dict("records"),
                              strict=True)]
    return DutyMarkers(rows, [page.words.get(f, f) for f in fields], keys,
                       [colours[k] for k in keys], radius)


def add_duty_layers(page: Page, duty: DutyLayers, language: str) -> None:
    """Add who is on duty and the patrol coverage to a page (the coverage page), each a layer
    of its own to switch on and off: main duty per station and beat officers on or off duty
    (shown), this shift's patrol points (shown) and the last shift's (one click away), missed
    points red, visited green; responsibility fields (one click away)."""
    w = _words(page, language)
    if len(duty.stations):
        stations = duty.stations.assign(
            held=["main" if g != "-" else "none" for g in duty.stations["group"]])
        add_layer(page, w["duty_main_layer"], _marker_layer(
            page, stations, ["name", "group", "duty_hours", "leader", "members"], "held",
            {"main": STATION_MAIN, "none": STATUS_COLOURS["not_due"]}, 11))
    if len(duty.beats):
        beats = duty.beats.assign(covered=["on" if c else "off" for c in duty.beats["covered"]])
        add_layer(page, w["duty_beats_layer"], _marker_layer(
            page, beats, ["name", "on_duty", "off_duty", "covered_by"], "covered",
            {"on": BEAT_ON, "off": BEAT_OFF}, 8))
    for (_day, points), key, show in zip(duty.shifts, ("patrol_now", "patrol_last"),
                                        (True, False), strict=False):
        if not len(points):
            continue
        points = points.assign(status_text=[w[s] for s in points["status"]])
        add_layer(page, w[key], _marker_layer(
            page, points, ["name", "level", "status_text", "rounds", "checked_in_by"], "status",
            {s: STATUS_COLOURS[s] for s in ("visited", "late", "missed", "open")}, 5),
            show=show)
    if len(duty.fields):
        colour = {o: PALETTE[i % len(PALETTE)]
                  for i, o in enumerate(sorted(set(duty.fields["officers"])))}
        fields = duty.fields.rename(columns={"officers": "officers_field"})
        add_layer(page, w["fields_layer"], _marker_layer(
            page, fields.assign(held=fields["officers_field"]), ["name", "officers_field"],
            "held", colour, 7), show=False)
    shifts = " / ".join(f"{w[k]}: {d.isoformat()}"
                        for (d, _), k in zip(duty.shifts, ("patrol_now", "patrol_last"),
                                             strict=False))
    add_legend(page, f'{w["duty_title"]} · {w["now"]} {duty.at}', [
        (STATION_MAIN, w["station_main"]), (BEAT_ON, w["beat_on"]), (BEAT_OFF, w["beat_off"]),
        *[(STATUS_COLOURS[s], f'{w["patrol_point"]} · {w[s]}')
          for s in ("visited", "late", "missed", "open")]], note=shifts)
