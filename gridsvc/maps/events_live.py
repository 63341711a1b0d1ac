"""The command centre's live events page (``/maps/events``): open events on a Leaflet map,
coloured by state and ringed red when overdue, kept current by server-sent events (the page's
``EventSource`` on ``/maps/events/stream``), and the day's summary per grid (上报, 化解, 在办,
超期) as a table and a plain SVG bar chart. Only files served by gridsvc itself.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

#: Marker colour of each open state (final states leave the map).
STATE_COLOURS = {"reported": "#1565c0", "accepted": "#6a1b9a", "dispatched": "#f9a825",
                 "in_hand": "#ef6c00", "returned": "#795548", "handled": "#2e7d32",
                 "verified": "#00897b"}
OVERDUE_COLOUR = "#c62828"
#: The summary's columns: key of :func:`gridsvc.services.events.daily_summary`, label, colour.
SUMMARY = (("reported", "上报 reported", "#1565c0"), ("resolved", "化解 resolved", "#2e7d32"),
           ("open", "在办 open", "#f9a825"), ("overdue", "超期 overdue", "#c62828"))

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>事件实况 · Live events</title>
<link rel="stylesheet" href="/static/maps/leaflet/dist/leaflet.css">
<link rel="stylesheet" href="/static/events/live.css">
</head><body>
<header><h1>事件实况 · Live events</h1>
<span id="status" role="status">连接中 connecting</span>
<span>在图 on map: <b id="count">{count}</b></span></header>
<div id="map" role="img" aria-label="map of open events"></div>
<aside><h2>图例 · Legend</h2><ul class="legend">{legend}</ul>
<div id="day-summary">{summary}</div></aside>
<script>window.gridsvcLive = {data};</script>
<script src="/static/maps/leaflet/dist/leaflet.js"></script>
<script src="/static/events/live.js"></script>
</body></html>
"""


def marker(event: Mapping[str, Any]) -> dict[str, Any]:
    """What the page needs of an event (from a list item or a change of the feed).

    >>> marker({"id": 3, "event_id": 3, "business_id": "E1", "state": "in_hand",
    ...         "category": "fire", "grade": "urgent", "lon": 119.0, "lat": 28.2,
    ...         "overdue": True, "grid_id": "G1"})["colour"]
    '#ef6c00'
    """
    state = str(event["state"])
    return {"id": int(event.get("event_id") or event["id"]),
            "business_id": event.get("business_id"), "state": state,
            "category": event.get("category"), "grade": event.get("grade"),
            "grid_id": event.get("grid_id"), "lon": event.get("lon"), "lat": event.get("lat"),
            "overdue": bool(event.get("overdue")),
            "colour": STATE_COLOURS.get(state), "open": state in STATE_COLOURS}


def chart(rows: Sequence[Mapping[str, Any]], width: int = 360, bar: int = 6) -> str:
    """A grouped horizontal bar chart (one group of four bars per grid) as inline SVG.

    >>> chart([])
    '<p class="muted">今天还没有事件 · no events today</p>'
    >>> '<rect' in chart([{"cell_id": "G1", "name": "一格", "reported": 2, "resolved": 1,
    ...                    "open": 1, "overdue": 0}])
    True
    """
    if not rows:
        return '<p class="muted">今天还没有事件 · no events today</p>'
    top = max(max(int(r[k] or 0) for k, _, _ in SUMMARY) for r in rows) or 1
    label_w, group = 110, bar * len(SUMMARY) + 8
    scale = (width - label_w - 30) / top
    parts = []
    for i, r in enumerate(rows):
        y = i * group
        name = html.escape(str(r.get("name") or r.get("cell_id") or "—"))
        parts.append(f'<text x="0" y="{y + group / 2 + 4:.0f}" class="lbl">{name}</text>')
        for j, (key, label, colour) in enumerate(SUMMARY):
            value = int(r[key] or 0)
            parts.append(
                f'<rect x="{label_w}" y="{y + j * bar}" width="{value * scale:.1f}" '
                f'height="{bar - 1}" fill="{colour}"><title>{html.escape(label)}: {value}'
                f'</title></rect><text x="{label_w + value * scale + 3:.1f}" '
                f'y="{y + j * bar + bar - 1}" class="val">{value}</text>')
    height = len(rows) * group
    return (f'<svg id="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
            f'aria-label="上报 化解 在办 超期 per grid">{"".join(parts)}</svg>')


def summary_html(summary: Sequence[Mapping[str, Any]], day: str) -> str:
    """The day's summary per grid: a heading, the chart and the table (an HTML fragment; the
    page fetches it again when events change)."""
    esc = html.escape
    heads = "".join(f"<th>{esc(label)}</th>" for _, label, _ in SUMMARY)
    rows = "".join(
        f"<tr data-cell='{esc(str(r.get('cell_id') or ''))}'><td>"
        f"{esc(str(r.get('name') or r.get('cell_id') or '—'))}</td>"
        + "".join(f"<td>{int(r[k] or 0)}</td>" for k, _, _ in SUMMARY) + "</tr>"
        for r in summary)
    return (f"<h2>{esc(day)} 各网格 · per grid</h2>{chart(summary)}<table id='summary'>"
            f"<thead><tr><th>网格 grid</th>{heads}</tr></thead><tbody>{rows}</tbody></table>")


def live_page(events: Sequence[Mapping[str, Any]], summary: Sequence[Mapping[str, Any]],
              day: str, after: int, grids: Mapping[str, Any] | None = None) -> str:
    """The page's HTML: open ``events`` (list items of the events service), the day's
    ``summary`` rows, ``after``, the newest change already shown (the feed starts there), and
    the ``grids`` to outline under them (a GeoJSON FeatureCollection, or None)."""
    esc = html.escape
    markers = [m for m in (marker(e) for e in events) if m["open"] and m["lon"] is not None]
    legend = "".join(f'<li><i style="background:{c}"></i>{esc(s)}</li>'
                     for s, c in STATE_COLOURS.items())
    legend += f'<li><i class="ring" style="border-color:{OVERDUE_COLOUR}"></i>超期 overdue</li>'
    data = json.dumps({"events": markers, "after": after, "stream": "/maps/events/stream",
                       "grids": grids or {"type": "FeatureCollection", "features": []},
                       "summary": f"/maps/events?part=summary&day={day}",
                       "colours": STATE_COLOURS, "overdue": OVERDUE_COLOUR},
                      ensure_ascii=False).replace("</", "<\\/")
    return PAGE.format(count=len(markers), legend=legend, summary=summary_html(summary, day),
                       data=data)
