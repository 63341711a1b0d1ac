"""Duty, patrol and responsibility-field data for the demo town (part of ``gridsvc demo load``).

For every station of the demo plan: three duty groups (一组, 二组, 三组) of the officers and
auxiliaries linked to its beats, rotating daily from :data:`ANCHOR` (main 24 h, second
08:00-17:00, standby 08:00-22:00), with a swap, a leave, a substitute and an extra duty among the
exceptions, materialised from the anchor to the horizon; a day round (08:00-22:00) and a night
round (22:00-06:00) with the visits each patrol point needs (level-1 points twice a day and in
the night round; the night round's 0-6 o'clock full patrol also takes the level-2 points at
shops, banks, markets, internet cafés and the like); check-ins of the recent shifts (see
:mod:`gridsvc.domain.duty.demo`); and responsibility fields from the officers' grids.

Randomness: ``numpy.random.default_rng(SEED)``; the recent shifts are those before the day the
demo is loaded, so the maps show last night's patrol.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import audit
from gridsvc.db import duty as repo
from gridsvc.db import patrol as patrol_repo
from gridsvc.domain.duty import demo
from gridsvc.domain.duty.patrol import distance_m, effective_time, occurrences, shift_day
from gridsvc.domain.duty.rotation import daily_rotation
from gridsvc.services.duty import rematerialise
from gridsvc.services.patrol import day_starts
from gridsvc.settings import DutySettings

log = logging.getLogger(__name__)

SEED = 14
#: The first day of the demo rotation (the first demo incident's day).
ANCHOR = date(2025, 11, 1)
#: Shifts with generated check-ins, ending with the last full shift before the load.
RECENT_SHIFTS = 28
ROUNDS = (("day", "日间巡逻", "08:00", "22:00"),
          ("night", "夜间巡逻(0-6时重点部位全覆盖)", "22:00", "06:00"))
#: Level-2 points with these words in their names are in the night round too.
NIGHT_WORDS = ("网吧", "KTV", "银行", "加油站", "市场", "超市", "菜场", "快递", "汽车站", "大桥",
               "卫生院", "信用社", "储蓄", "酒店", "宾馆", "旅馆")


def load(engine: Engine, settings: DutySettings, *, actor: str, replace: bool = False,
         now: datetime | None = None) -> dict[str, int]:
    """Write the demo duty data for the stations of the demo plan, in one transaction.

    Idempotent: nothing happens when the stations have duty groups already, unless
    ``replace`` (after the demo town itself was reloaded). Returns counts of what was written.
    """
    # Imported here: the demo town's loader calls this one at its end.
    from gridsvc.services.demo import SOURCE

    now = (now or datetime.now(ZoneInfo(settings.zone))).astimezone(ZoneInfo(settings.zone))
    with engine.begin() as conn:
        plan = area_repo.find_plan_by_source(conn, SOURCE)
        if plan is None:
            return {}
        stations = sorted(area_repo.business_ids(conn, plan["id"], "station"))
        if not replace and any(repo.groups(conn, s) for s in stations):
            return {}
        repo.delete_station_duty(conn, stations)
        patrol_repo.delete_station_data(conn, stations)
        rng = np.random.default_rng(SEED)
        counts: dict[str, int] = {}
        for station in stations:
            for k, v in _station(conn, settings, plan["id"], station, now, rng, actor).items():
                counts[k] = counts.get(k, 0) + v
        audit.record(conn, actor=actor, action="demo.duty.load", object_kind="duty_group",
                     object_id=",".join(stations), after=counts)
    log.info("demo duty loaded: %s", counts)
    return counts


def _station(conn: Connection, settings: DutySettings, plan_id: int, station: str,
             now: datetime, rng: np.random.Generator, actor: str) -> dict[str, int]:
    tz = ZoneInfo(settings.zone)
    officers = repo.station_officers(conn, plan_id, station)
    people = repo.people(conn)
    beats = {b for o in officers for b in o["beats"]}
    linked = [{"id": p["id"], "role": p["role"], "beats": p["beats"], "pk": pk}
              for pk, p in people.items() if set(p["beats"]) & beats]
    pk_of = {p["id"]: p["pk"] for p in linked}
    group_ids = []
    for g in demo.demo_groups(linked):
        gid = repo.insert_group(conn, station, g["code"], g["name"],
                                pk_of[g["leader"]] if g["leader"] else None)
        repo.set_members(conn, gid, [pk_of[m] for m in g["members"]])
        group_ids.append(gid)
    rules = daily_rotation(group_ids, ANCHOR)
    repo.insert_rules(conn, [{"group_id": r.group, "kind": r.kind, "dtstart": r.dtstart,
                              "zone": settings.zone, "rrule": r.rrule, "minutes": r.minutes,
                              "valid_from": r.valid_from, "created_by": actor} for r in rules])
    members = {g["id"]: g["members"] for g in repo.groups(conn, station)}
    changes = _changes(station, group_ids, members, now, tz, actor)
    for c in changes:
        repo.insert_change(conn, c)
    horizon = datetime.combine(now.date() + timedelta(days=settings.horizon_days), time(), tz)
    made = rematerialise(conn, settings, station, datetime.combine(ANCHOR, time(), tz), horizon)
    check_ins = _patrol(conn, settings, station, now, rng)
    fields = _fields(conn, plan_id, station, officers, actor)
    return {"duty_groups": len(group_ids), "duty_rules": len(rules),
            "duty_changes": len(changes), "duty_intervals": made["inserted"],
            "check_ins": check_ins, "responsibility_fields": fields}


def _changes(station: str, groups: list[int], members: dict[int, list[int]], now: datetime,
             tz: ZoneInfo, actor: str) -> list[dict[str, Any]]:
    """A swap last month and one next week, a week's leave with a substitute, an extra
    standby: exceptions of every kind, in the past (kept) and in the future."""
    a, b, c = groups[:3]
    today = now.date()
    first_of_month = today.replace(day=1)
    leave_from = datetime.combine(today - timedelta(days=10), time(8), tz)
    base = {"station_id": station, "created_by": actor}
    return [
        {**base, "kind": "swap", "day": first_of_month - timedelta(days=20), "group_id": a,
         "other_group_id": b, "note": "换班: 一组与二组对调"},
        {**base, "kind": "swap", "day": today + timedelta(days=5), "group_id": b,
         "other_group_id": c, "note": "换班: 二组与三组对调"},
        {**base, "kind": "leave", "person_pk": members[a][0], "start": leave_from,
         "end": leave_from + timedelta(days=7), "note": "年休假"},
        {**base, "kind": "substitute", "person_pk": members[b][-1],
         "other_person_pk": members[c][-1], "start": leave_from + timedelta(days=2),
         "end": leave_from + timedelta(days=3), "note": "顶班"},
        {**base, "kind": "extra", "person_pk": members[c][0], "duty_kind": "standby",
         "start": datetime.combine(today + timedelta(days=2), time(18), tz),
         "end": datetime.combine(today + timedelta(days=2), time(23), tz),
         "note": "节前安保加班"},
    ]


def _patrol(conn: Connection, settings: DutySettings, station: str, now: datetime,
            rng: np.random.Generator) -> int:
    round_ids = {code: patrol_repo.upsert_round(conn, station, code, name,
                                                time.fromisoformat(s), time.fromisoformat(e))
                 for code, name, s, e in ROUNDS}
    points = patrol_repo.points(conn, station)
    need: list[dict[str, Any]] = []
    for p in points:
        night = p["level"] == 1 or any(w in p["name"] for w in NIGHT_WORDS)
        need.append({"point_id": p["id"], "round_id": round_ids["day"], "station_id": station,
                     "visits": 2 if p["level"] == 1 else 1})
        if night:
            need.append({"point_id": p["id"], "round_id": round_ids["night"],
                         "station_id": station, "visits": 1})
    patrol_repo.replace_requirements(conn, station, [p["id"] for p in points], need)
    rounds = patrol_repo.rounds(conn, station)[station]
    by_round: dict[int, dict[str, int]] = {}
    for r in need:
        by_round.setdefault(r["round_id"], {})[r["point_id"]] = r["visits"]
    pts = {p["id"]: demo.DemoPoint(p["id"], p["lon"], p["lat"], p["beat_id"]) for p in points}
    starts = day_starts(settings)
    last = shift_day(now, starts, settings.zone) - timedelta(days=1)
    grace = timedelta(minutes=settings.grace_minutes)
    people = repo.people(conn)
    rows: list[dict[str, Any]] = []
    for back in range(RECENT_SHIFTS - 1, -1, -1):
        day = last - timedelta(days=back)
        for occ in occurrences(rounds, day, starts, settings.zone, grace):
            on_main = sorted({iv.person for _, iv in repo.intervals_at(
                conn, occ.start + timedelta(minutes=30), station)
                if iv.kind == "main" and iv.person is not None})
            walkers = [(pk, people[pk]["beats"]) for pk in on_main]
            made = demo.round_check_ins(occ, by_round.get(occ.round_id, {}), pts, walkers, rng,
                                        day.isoformat())
            if back == 0 and occ.code == "night":
                fast = demo.impossible_pair(made, pts)
                made += [fast] if fast else []
            rows += made
    cells = {p["id"]: {c: p[c] for c in patrol_repo.POINT_CELLS} for p in points}
    lon = np.array([r["lon"] for r in rows])
    lat = np.array([r["lat"] for r in rows])
    plon = np.array([pts[r["point_id"]].lon for r in rows])
    plat = np.array([pts[r["point_id"]].lat for r in rows])
    dist = distance_m(lon, lat, plon, plat) if rows else []
    return patrol_repo.insert_check_ins(conn, [{
        **r, "at": effective_time(r["device_at"], r["server_at"], settings.clock_skew_seconds),
        "distance_m": float(d), "src_x": r["lon"], "src_y": r["lat"], "src_crs": "EPSG:4326",
        **cells[r["point_id"]]} for r, d in zip(rows, dist, strict=True)])


def _fields(conn: Connection, plan_id: int, station: str, officers: list[dict[str, Any]],
            actor: str) -> int:
    """Each officer's villages: those of the grids they are linked to."""
    village_of = repo.grid_villages(conn, plan_id)
    links = repo.grid_links(conn)
    mine = {o["pk"] for o in officers}
    pairs = sorted({(pk, village_of[g]) for pk, g in links
                    if pk in mine and village_of.get(g)})
    repo.replace_fields(conn, station, pairs, actor)
    return len(pairs)
