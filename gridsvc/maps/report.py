"""The grid worker's report page (``/m/report``): report an event from a phone, with GPS or a
house, a category and grade from the catalogue, a photo; and the list of my events.

The page is static HTML plus ``/static/events/report.js``, which keeps every report in an
outbox in the browser (``localStorage``) with an idempotency key made once, and sends it to
the events API (then its photo) when the network allows (at once, on the ``online`` event,
and by retries with backoff), so a report made with no signal is filed exactly once. Narrow
screens first, touch targets of at least 44 px, nothing that needs hover, and only files
served by gridsvc itself.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

from gridsvc.domain.events.catalogue import GRADE_NAMES, Grade
from gridsvc.domain.events.words import STATE_WORDS

#: How many of my events the page lists (newest first).
MINE = 50

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>事件上报 · Report</title>
<link rel="stylesheet" href="/static/events/report.css">
</head><body>
<header><a href="/me" id="home">‹ 我的辖区</a><h1>事件上报 · Report</h1></header>
<p id="net" class="net" role="status"></p>
<form id="report" autocomplete="off">
<label for="category">类别 Category</label>
<select id="category" name="category" required>{categories}</select>
<label for="grade">等级 Grade</label>
<select id="grade" name="grade">{grades}</select>
<fieldset><legend>地点 Place</legend>
<button type="button" id="locate">用我的位置 Use my location</button>
<p id="where" class="muted">未定位 · no position yet</p>
<label for="house">或门牌 or house (e.g. 东灌底村203号)</label>
<input id="house" name="house" maxlength="200" placeholder="东灌底村203号">
</fieldset>
<label for="description">情况 Description</label>
<textarea id="description" name="description" maxlength="4000" rows="4" required></textarea>
<label for="parties">当事人 Parties</label>
<input id="parties" name="parties" maxlength="4000">
<label for="photo" class="file">照片 Photo</label>
<input id="photo" name="photo" type="file" accept="image/*" capture="environment">
<img id="preview" alt="" hidden>
<button type="submit" id="submit">上报 · Send</button>
</form>
<section id="outbox-section"><h2>待发送 · Waiting to send (<span id="outbox-count">0</span>)</h2>
<ul id="outbox"></ul></section>
<section><h2>我的事件 · My events</h2><ul id="mine">{mine}</ul>
<input id="more-photo" type="file" accept="image/*" capture="environment" hidden></section>
<script>window.gridsvcReport = {config};</script>
<script src="/static/phone/outbox.js"></script>
<script src="/static/events/report.js"></script>
</body></html>
"""


def event_item(event: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """One line of "my events" (HTML): business id, category, state, overdue, description,
    and a button to add a photo (it goes through the outbox like a report)."""
    esc = html.escape
    state = str(event["state"])
    overdue = " <b class='overdue'>超期</b>" if event.get("overdue") else ""
    return (f"<li data-id='{int(event['id'])}'><b>{esc(str(event.get('business_id') or ''))}"
            f"</b> {esc(names.get(event['category'], event['category']))} "
            f"<span class='state state-{esc(state)}'>{esc(STATE_WORDS.get(state, state))}"
            f"</span>{overdue}<br><span class='muted'>"
            f"{esc(str(event.get('description') or '')[:80])}</span>"
            f"<button type='button' class='add-photo' data-id='{int(event['id'])}'>"
            f"补充照片 · add a photo</button></li>")


def report_page(catalogue: Iterable[Mapping[str, Any]], mine: Iterable[Mapping[str, Any]],
                user: str = "") -> str:
    """The page's HTML from the catalogue (``{code, name, parent_code}``), my events and my
    account's name (``user``: a phone shared by two people sends each one's reports only
    while that person is signed in)."""
    esc = html.escape
    rows = list(catalogue)
    names = {c["code"]: c["name"] for c in rows}
    options = "".join(
        f"<option value='{esc(c['code'])}'>"
        f"{esc((names.get(c['parent_code'], '') + ' · ') if c.get('parent_code') else '')}"
        f"{esc(c['name'])}</option>" for c in rows)
    grades = "".join(f"<option value='{g.value}'>{GRADE_NAMES[g]} {g.value}</option>"
                     for g in Grade)
    items = "".join(event_item(e, names) for e in mine) or (
        "<li class='muted' id='none'>还没有事件 · none yet</li>")
    config = {"post": "/api/v1/events", "photos": "/api/v1/events/{id}/photos",
              "mine": f"/api/v1/events?mine=true&limit={MINE}", "names": names,
              "states": STATE_WORDS, "user": user}
    script = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    return PAGE.format(categories=options, grades=grades, mine=items, config=script)
