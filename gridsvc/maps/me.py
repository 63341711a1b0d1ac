"""The first page of a signed-in person: their own area, made for a phone.

Narrow screens first (one column, map on top, lists below), touch targets at least 44 px,
nothing that needs hover (popups open on tap), and only files served by gridsvc itself
(Leaflet from ``/static/maps``), so it works on an intranet and keeps working from the phone's
cache when the signal drops.
"""

from __future__ import annotations

import html
import json
from typing import Any

ROLE_WORDS = {"grid_worker": "网格员", "officer": "社区民警", "auxiliary": "辅警",
              "volunteer": "乡贤", "viewer": "查看", "reporter": "网格员 reporter",
              "handler": "处置 handler", "dispatcher": "调度 dispatcher",
              "planner": "规划 planner", "admin": "管理 admin"}
KIND_WORDS = {"town": "乡镇", "village": "村/社区", "grid": "网格", "station": "派出所",
              "beat": "警务区"}

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>我的辖区 · {title}</title>
<link rel="stylesheet" href="/static/maps/leaflet/dist/leaflet.css">
<style>
*{{box-sizing:border-box}} body{{margin:0;font-family:sans-serif;font-size:16px;color:#222}}
header{{display:flex;align-items:center;justify-content:space-between;gap:.5rem;
  padding:.5rem .75rem;background:#0d47a1;color:#fff}}
header h1{{font-size:1.05rem;margin:0}} header small{{display:block;opacity:.85}}
header button{{min-height:44px;min-width:44px;padding:0 .9rem;font-size:1rem;border:0;
  border-radius:6px;background:#fff;color:#0d47a1}}
nav{{display:flex;overflow-x:auto;gap:.25rem;padding:.25rem;background:#e3f2fd}}
nav a{{flex:0 0 auto;display:flex;align-items:center;min-height:44px;padding:0 .9rem;
  border-radius:6px;color:#0d47a1;text-decoration:none;background:#fff}}
#map{{height:48vh;min-height:240px;width:100%}}
section{{padding:.5rem .75rem;border-bottom:1px solid #ddd}} h2{{font-size:1.05rem}}
ul{{list-style:none;margin:0;padding:0}} li{{padding:.6rem 0;border-top:1px solid #eee}}
a.tel{{display:inline-flex;align-items:center;min-height:44px;padding:0 .6rem;
  text-decoration:none}}
summary{{min-height:44px;display:flex;align-items:center;cursor:pointer}}
.later{{color:#666}} .muted{{color:#666;font-size:.9rem}}
.leaflet-touch .leaflet-bar a{{width:44px;height:44px;line-height:44px}}
</style></head>
<body>
<header><div><h1>{title}</h1><small>{subtitle}</small></div>
<form method="post" action="/logout"><button type="submit" id="logout">退出</button></form>
</header>
<nav><a href="#my-area">我的辖区</a><a href="#people">人员</a><a href="#houses">门牌</a>
{tabs}</nav>
<div id="map" role="img" aria-label="map of my area"></div>
<section id="my-area"><h2>我的辖区 · My area</h2>{cells}</section>
<section id="people"><h2>人员 · People ({n_people})</h2><ul>{people}</ul></section>
<section id="houses"><h2>门牌 · Houses ({n_houses})</h2>
<details><summary>列出 {shown} 户 · list them</summary><ul>{houses}</ul></details></section>
{sections}
<script src="/static/maps/leaflet/dist/leaflet.js"></script>
<script>
const cells = {cells_json};
const houses = {houses_json};
const map = L.map('map', {{tap: true, zoomControl: true, attributionControl: false}});
const layer = L.geoJSON(cells, {{style: {{color: '#0d47a1', weight: 3, fillOpacity: 0.08}},
  onEachFeature: (f, l) => l.bindPopup(f.properties.name)}}).addTo(map);
const dots = L.layerGroup(houses.map(h => L.circleMarker([h[1], h[0]], {{radius: 6,
  color: h[3] ? '#e65100' : '#2e7d32', weight: 2}}).bindPopup(h[2]))).addTo(map);
const bounds = layer.getBounds();
if (bounds.isValid()) {{ map.fitBounds(bounds, {{padding: [12, 12]}}); }}
else if (houses.length) {{ map.fitBounds(houses.map(h => [h[1], h[0]])); }}
else {{ map.setView([28.19, 118.99], 12); }}
window.gridsvc = {{ready: performance.now(),
  layers: {{cells: cells.features.length, houses: houses.length}}}};
</script>
</body></html>
"""


def _address(h: dict[str, Any]) -> str:
    text = f"{h['village'] or h['village_id']}{h['number']}"
    if h.get("sub_number"):
        text += f"-{h['sub_number']}"
    text += "号"
    for key, unit in (("building", "幢"), ("unit", "单元"), ("room", "室")):
        if h.get(key):
            text += f"{h[key]}{unit}"
    return text


def my_area_page(principal: Any, area: dict[str, Any], sections: list[tuple[Any, str]]) -> str:
    """The HTML of the first page, from :func:`gridsvc.services.home.my_area` and the
    sections' fragments (already HTML)."""
    esc = html.escape
    who = principal.display_name or principal.username or principal.name
    cells = "".join(
        f"<li>{esc(KIND_WORDS.get(f['properties']['kind'], ''))} "
        f"<b>{esc(f['properties']['name'])}</b> "
        f"<span class='muted'>{esc(f['properties']['id'])}</span></li>" for f in area["cells"])
    if principal.scope.everything:
        cells = ("<p>全部辖区 · everything: "
                 "<a href='/maps/coverage'>指挥中心地图 command-centre map</a></p>")
    people = "".join(
        f"<li><b>{esc(p['name'])}</b> {esc(ROLE_WORDS.get(p['role'], p['role']))} "
        + (f"<a class='tel' href='tel:{esc(p['phone'])}'>{esc(p['phone'])}</a>"
           if p["phone"] else "")
        + f" <span class='muted'>{esc(' '.join(p['cells']))}</span></li>"
        for p in area["people"])
    houses = "".join(
        f"<li>{esc(_address(h))} <span class='muted'>{h['households']} 户 · "
        f"{h['residents']} 人{' · 出租' if h['is_rental'] else ''}</span></li>"
        for h in area["houses"])
    points = [[round(h["lon"], 6), round(h["lat"], 6), _address(h), bool(h["is_rental"])]
              for h in area["houses"]]
    tabs = "".join(f'<a href="#{esc(s.id)}">{esc(s.title.split(" · ")[0])}</a>'
                   for s, _ in sections)
    blocks = "".join(f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>{body}</section>'
                     for s, body in sections)

    def script_json(value: Any) -> str:
        # Inside <script>: no "</" may end the element early.
        return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")

    return PAGE.format(
        title=esc(who), subtitle=esc(ROLE_WORDS.get(principal.role.name, principal.role.name)),
        tabs=tabs, cells=f"<ul>{cells}</ul>" if area["cells"] else cells,
        n_people=len(area["people"]), people=people, n_houses=area["houses_total"],
        shown=len(area["houses"]), houses=houses, sections=blocks,
        cells_json=script_json({"type": "FeatureCollection", "features": area["cells"]}),
        houses_json=script_json(points))


DUTY_WORDS = {"main": "主班", "second": "副班", "standby": "备勤"}


def patrol_fragment(found: dict[str, Any]) -> str:
    """The "my patrol" section from :func:`gridsvc.services.patrol.my_patrol`: on duty now or
    not, this shift's points due, visited and missed, the open and missed points, and the
    link to the check-in page (a large touch target)."""
    esc = html.escape
    duty = found["on_duty"]
    if duty is None:
        state = ""
    elif duty["now"]:
        state = "<p id='on-duty' data-on-duty='1'><b>在岗 · on duty now</b> " + "、".join(
            f"{esc(DUTY_WORDS.get(d['kind'], d['kind']))} 至 {esc(d['until'][11:16])}"
            for d in duty["duties"]) + "</p>"
    else:
        state = "<p id='on-duty' data-on-duty='0'>不在岗 · off duty now</p>"

    def points(items: list[dict[str, Any]], more: int) -> str:
        rows = "".join(
            f"<li>{esc(p['name'] or p['point_id'])} <span class='muted'>{esc(p['point_id'])} · "
            f"{esc(p['round'])}" + (f" · 截止 {esc(p['closes'][11:16])}" if p["closes"] else "")
            + "</span></li>" for p in items)
        extra = f"<li class='muted'>另有 {more - len(items)} 个 · and more</li>" \
            if more > len(items) else ""
        return f"<ul>{rows}{extra}</ul>"

    mine = sum(found["my_check_ins"].values())
    return (
        f"{state}<p id='patrol-totals' data-due='{found['due']}' "
        f"data-visited='{found['visited']}' data-missed='{found['missed']}'>"
        f"本班 {esc(found['day'])}: 应巡 <b>{found['due']}</b> · 已巡 <b>{found['visited']}</b>"
        f" · 漏巡 <b>{found['missed']}</b> · 待巡 {found['open']}"
        f" <span class='muted'>(due · visited · missed · open; 我的打卡 my check-ins {mine})"
        "</span></p>"
        "<p><a class='tel' id='check-in-link' href='/patrol/check-in'>"
        "巡逻打卡 · check in at a point</a></p>"
        f"<details><summary>待巡 · still open ({found['open']})</summary>"
        f"{points(found['open_points'], found['open'])}</details>"
        f"<details><summary>漏巡 · missed ({found['missed']})</summary>"
        f"{points(found['missed_points'], found['missed'])}</details>")
