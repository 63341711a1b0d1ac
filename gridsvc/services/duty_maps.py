"""Duty on the maps: the duty page (on duty and patrol coverage of a shift), the
responsibility-fields page, and the duty layers of the command centre's coverage page.

Read what a page shows (through the duty, patrol and fields services) and hand it to
:mod:`gridsvc.maps.duty`. Everything is read on the engine given: the web service's, bound to
the caller, so the database's policies cut people, points and check-ins to their scope.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import shapely

from gridsvc.db import duty as duty_repo
from gridsvc.db import maps as map_repo
from gridsvc.db import patrol as patrol_repo
from gridsvc.db.models import SRID
from gridsvc.domain.duty.patrol import occurrences, shift_bounds, shift_day
from gridsvc.maps.duty import DutyLayers, duty_map, fields_map
from gridsvc.maps.page import render
from gridsvc.services import fields as fields_service
from gridsvc.services import patrol
from gridsvc.services.assignment import current_plan
from gridsvc.services.maps import cell_frame
from gridsvc.services.onduty import on_duty_by_beat
from gridsvc.settings import DutySettings, Settings

KIND_WORDS = {"main": "主班", "second": "副班", "standby": "备勤"}


def _people_text(people: list[dict[str, Any]]) -> str:
    return "、".join(f'{p["name"]}({KIND_WORDS.get(p.get("duty", ""), "-")})'
                    for p in people) or "-"


def _points_frame(report: dict[str, Any], points: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Each patrol point with its status in the shift of ``report``: ``missed`` (a round
    closed unvisited), else ``open`` (a round may still be done), else ``late``, ``visited``,
    or ``not_due`` (no round of the shift needs it)."""
    by_point: dict[str, list[dict[str, Any]]] = {}
    for row in report["points"]:
        by_point.setdefault(row["point_id"], []).append(row)
    rows = []
    for p in points:
        need = by_point.get(p["id"], [])
        # The worst of the point's rounds: one missed round makes the point missed.
        statuses = {r["status"] for r in need}
        status = next((s for s in ("missed", "open", "late", "visited") if s in statuses),
                      "not_due")
        rows.append({"name": p["name"], "level": p["level"], "status": status,
                     "rounds": " · ".join(f'{r["round"]} {r["visits"]}/{r["due"]}'
                                          for r in need) or "-",
                     "checked_in_by": "、".join(r["checked_in_by"] for r in need
                                               if r["checked_in_by"]) or "-",
                     "lon": p["lon"], "lat": p["lat"]})
    frame = pd.DataFrame(rows, columns=["name", "level", "status", "rounds", "checked_in_by",
                                        "lon", "lat"])
    return gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), crs=SRID,
                            geometry=gpd.points_from_xy(frame["lon"], frame["lat"], crs=SRID))


def _point_rows(rows: list[dict[str, Any]], columns: list[str]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=[*columns, "lon", "lat"])
    return gpd.GeoDataFrame(frame[columns], crs=SRID,
                            geometry=gpd.points_from_xy(frame["lon"], frame["lat"], crs=SRID))


def duty_page(engine: Any, settings: Settings, *, day: date | None = None,
              station_id: str | None = None, at: datetime | None = None,
              hotspots_until: date | None = None, inline: bool = False) -> str:
    """HTML of the duty page: who is on duty per beat at ``at`` (now), the patrol coverage of
    the shift of ``day`` (default: the last full shift, i.e. last night's), flagged
    check-ins, and proposed night hot spots (incidents up to ``hotspots_until``)."""
    tz = ZoneInfo(settings.duty.zone)
    at = (at or datetime.now(tz)).astimezone(tz)
    starts = patrol.day_starts(settings.duty)
    day = day or shift_day(datetime.now(tz), starts, settings.duty.zone) - timedelta(days=1)
    report = patrol.shift_coverage(engine, settings.duty, day=day, station_id=station_id)
    plan_id = current_plan(engine, at.date())
    blocks = on_duty_by_beat(engine, at, plan_id)
    with engine.connect() as conn:
        beats = cell_frame(conn, plan_id, "beat")
        grids = cell_frame(conn, plan_id, "grid")
    points = patrol.points_of(engine, station_id)
    staff = {b: (blk.get("beat") or {}).get("people", []) for b, blk in blocks.items()}
    beats["on_duty"] = [_people_text([p for p in staff.get(b, []) if p["on_duty"]])
                        for b in beats["id"]]
    beats["covered_by"] = [_people_text(blocks[b]["covered_by"]["people"]) if b in blocks
                           else "-" for b in beats["id"]]
    beats["covered"] = [blocks.get(b, {}).get("covered_by", {}).get("rule") == "beat_officer"
                        for b in beats["id"]]
    flagged = [dict(c, name=f'{c["person_name"]} · {c["point_id"]}')
               for c in report["check_ins"]
               if c["status"] in ("too_far", "poor_accuracy", "impossible_speed",
                                  "after_close")]
    spots = patrol.hotspots(engine, settings.duty, station_id=station_id,
                            until=hotspots_until)["proposals"]
    for i, s in enumerate(spots):
        s["name"] = f"#{i + 1} ({s['night_count']})"
    page = duty_map(beats, grids, _points_frame(report, points),
                    _point_rows(flagged, ["name", "status"]),
                    _point_rows(spots, ["name", "reason"]),
                    f'{report["shift"]["start"][:16]} – {report["shift"]["end"][:16]}',
                    settings.map)
    return render(page, inline=inline)


def fields_page(engine: Any, settings: Settings, *, station_id: str, seed: int = 0,
                inline: bool = False) -> str:
    """HTML of the responsibility-fields page: villages coloured by officer, now and as
    proposed, with each village's complexity."""
    found = fields_service.proposal(engine, settings.duty, station_id, seed=seed)
    plan_id = current_plan(engine)
    with engine.connect() as conn:
        villages = cell_frame(conn, plan_id, "village")
    names = {o["id"]: o["name"] for o in found["officers"]}
    info = {v["id"]: v for v in found["villages"]}
    proposed = {v: names[o] for o, vs in found["proposal"]["fields"].items() for v in vs}
    villages = villages[villages["id"].isin(info)].copy()
    villages["score"] = [round(info[i]["score"], 2) for i in villages["id"]]
    villages["floating_n"] = [info[i]["floating"] for i in villages["id"]]
    villages["incidents"] = [info[i]["incidents"] for i in villages["id"]]
    villages["rentals"] = [info[i]["rentals"] for i in villages["id"]]
    villages["now"] = ["、".join(names.get(p, p) for p in info[i]["held_by"]) or "-"
                       for i in villages["id"]]
    villages["proposed"] = [proposed.get(i, "-") for i in villages["id"]]
    load = found["proposal"]["load"]
    officers = [{"name": o["name"], "load_now": o["load"], "load_proposed": load[o["id"]]}
                for o in found["officers"]]
    villages = gpd.GeoDataFrame(villages, geometry="geometry", crs=SRID)
    villages["geometry"] = shapely.make_valid(villages.geometry.values)
    return render(fields_map(villages, officers, settings.map), inline=inline)


def _member_text(p: dict[str, Any]) -> str:
    return f'{p["name"]}({KIND_WORDS.get(p.get("duty", ""), "-")})'


#: While check-ins keep coming, the coverage page's duty layers are redrawn at most this often.
CHECK_IN_REDRAW = timedelta(minutes=5)


def coverage_state(engine: Any, settings: DutySettings, now: datetime) -> tuple:
    """What the duty layers of the coverage page change with, for its cache key: who holds
    duty at ``now`` (the intervals holding it), the shift, the rounds closed by ``now`` (a
    closed round turns its unvisited points from open to missed), and the check-ins.

    Check-ins: while they keep coming (the newest is under :data:`CHECK_IN_REDRAW` old) the
    key moves once per such period, not per check-in (a city's night brings one a second, and
    the page takes seconds to draw); once they stop it is the newest check-in itself. A
    check-in is on the map within :data:`CHECK_IN_REDRAW`, and a quiet map is drawn once."""
    starts = patrol.day_starts(settings)
    day = shift_day(now, starts, settings.zone)
    grace = timedelta(minutes=settings.grace_minutes)
    with engine.connect() as conn:
        # Check-ins of the two shifts shown (and the hours before, for the speed check).
        since = shift_bounds(day - timedelta(days=1), starts, settings.zone)[0] \
            - patrol.NEIGHBOURS
        held, newest, newest_at = duty_repo.map_state(conn, now, since)
        rounds = patrol_repo.rounds(conn)
    closed = sum(o.closes <= now for rs in rounds.values() for d in (day - timedelta(days=1), day)
                 for o in occurrences(rs, d, starts, settings.zone, grace))
    period = CHECK_IN_REDRAW.total_seconds()
    coming = newest_at is not None and now - newest_at < CHECK_IN_REDRAW
    check_ins = ("period", int(now.timestamp() // period)) if coming else ("newest", newest)
    return held, day, closed, check_ins


def coverage_layers(engine: Any, settings: DutySettings, plan_id: int, now: datetime
                    ) -> DutyLayers:
    """The duty layers of the command centre's coverage page at ``now``.

    - per station, the group on main duty (主班) with its hours, leader and members;
    - per beat, its officers and auxiliaries on and off duty and who covers it;
    - the patrol points of the shift in progress and of the shift before (each point by the
      worst of its rounds: missed red, open, late, visited green);
    - the villages of officers' responsibility fields.
    """
    tz = ZoneInfo(settings.zone)
    now = now.astimezone(tz)
    blocks = on_duty_by_beat(engine, now, plan_id)
    with engine.connect() as conn:
        beat_at = map_repo.label_points(conn, plan_id, "beat")
        station_at = map_repo.label_points(conn, plan_id, "station")
        village_at = map_repo.label_points(conn, plan_id, "village")
        held = duty_repo.fields(conn, None)
    main: dict[str, dict[str, Any]] = {}
    beats = []
    for b in beat_at:
        block = blocks.get(b["id"], {})
        people = (block.get("beat") or {}).get("people", [])
        cover = block.get("covered_by") or {}
        if block.get("main_duty") and block.get("station_id"):
            main.setdefault(block["station_id"], block["main_duty"])
        beats.append({**b, "on_duty": "、".join(_member_text(p) for p in people
                                                if p["on_duty"]) or "-",
                      "off_duty": "、".join(p["name"] for p in people if not p["on_duty"])
                      or "-",
                      "covered_by": "、".join(p["name"] for p in cover.get("people", []))
                      or "-",
                      "covered": cover.get("rule") == "beat_officer"})
    stations = []
    for st in station_at:
        group = main.get(st["id"])
        if group is None:
            stations.append({**st, "group": "-", "duty_hours": "-", "leader": "-",
                             "members": "-"})
            continue
        leader = group.get("leader") or {}
        stations.append({**st, "group": f'{group["group"]["code"]} {group["group"]["name"]}',
                         "duty_hours": " – ".join(str(group.get(k, ""))[:16].replace("T", " ")
                                                  for k in ("since", "until")),
                         "leader": leader.get("name") or "-",
                         "members": "、".join(_member_text(p)
                                             for p in group.get("members", [])) or "-"})
    starts = patrol.day_starts(settings)
    today = shift_day(now, starts, settings.zone)
    points = patrol.points_of(engine)
    shifts = []
    for day in (today, today - timedelta(days=1)):
        report = patrol.shift_coverage(engine, settings, day=day, now=now)
        frame = _points_frame(report, points)
        shifts.append((day, frame[frame["status"] != "not_due"]))
    officers: dict[str, list[str]] = {}
    for h in held:
        officers.setdefault(h["village_id"], []).append(h["name"])
    fields = [{**v, "officers": "、".join(officers[v["id"]])} for v in village_at
              if v["id"] in officers]
    return DutyLayers(
        stations=_point_rows(stations, ["id", "name", "group", "duty_hours", "leader", "members"]),
        beats=_point_rows(beats, ["id", "name", "on_duty", "off_duty", "covered_by",
                                   "covered"]),
        shifts=shifts, fields=_point_rows(fields, ["id", "name", "officers"]),
        at=now.strftime("%Y-%m-%d %H:%M"))
