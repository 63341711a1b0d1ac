"""Patrol: rounds and the visits each point needs, check-ins, and coverage per shift.

The rules (what counts, late, closed rounds, impossible speed) are in
:mod:`gridsvc.domain.duty.patrol`; this module reads what they need and writes check-ins.

Check-ins are not copied into the audit log: the table is itself an append-only record (the
web service's role may only read and insert it) of who sent what, from which account, at which
server time; and the in-memory lookup and dispatcher indexes key on the newest audit entry, so
an audit row per check-in would rebuild them for every scan of a patrol point.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine

from gridsvc.db import audit
from gridsvc.db import duty as duty_repo
from gridsvc.db import patrol as repo
from gridsvc.domain.accounts import Principal
from gridsvc.domain.duty.hotspots import in_hours, parse_hours, propose
from gridsvc.domain.duty.patrol import (
    Occurrence,
    Rules,
    coverage,
    distance_m,
    effective_time,
    occurrences,
    patrol_cells,
    shift_bounds,
    shift_day,
)
from gridsvc.domain.geo.coords import parse_input_crs, to_cgcs2000
from gridsvc.errors import Conflict, InvalidInput, Problem
from gridsvc.settings import DutySettings

#: Check-ins of a person this far either side of a new one inform its speed check.
NEIGHBOURS = timedelta(hours=3)


def rules_of(settings: DutySettings) -> Rules:
    return Rules(radius_m=settings.radius_m, max_accuracy_m=settings.max_accuracy_m,
                 grace_s=settings.grace_minutes * 60, skew_s=settings.clock_skew_seconds,
                 max_speed_mps=settings.max_speed_kmh / 3.6,
                 visit_gap_s=settings.visit_gap_minutes * 60)


def day_starts(settings: DutySettings) -> time:
    return time.fromisoformat(settings.day_starts)


def set_rounds(engine: Engine, *, station_id: str, rounds: list[dict[str, Any]], actor: str
               ) -> list[dict[str, Any]]:
    """Create or change a station's rounds (``code, name, starts, ends`` as ``HH:MM``)."""
    problems, parsed = [], []
    for i, r in enumerate(rounds):
        where = f"round {i + 1}"
        try:
            starts, ends = time.fromisoformat(str(r["starts"])), time.fromisoformat(str(r["ends"]))
        except (KeyError, ValueError):
            problems.append(Problem("starts and ends must be times like 22:00", where, "starts"))
            continue
        if starts == ends:
            problems.append(Problem("a round must not start when it ends", where, "ends"))
        if not str(r.get("code") or "").strip():
            problems.append(Problem("is needed", where, "code"))
        parsed.append((str(r.get("code")).strip(), str(r.get("name") or r.get("code")),
                       starts, ends))
    if problems:
        raise InvalidInput(problems)
    with engine.begin() as conn:
        ids = [repo.upsert_round(conn, station_id, *p) for p in parsed]
        audit.record(conn, actor=actor, action="patrol.rounds.set", object_kind="patrol_round",
                     object_id=station_id, after={"rounds": [list(map(str, p)) for p in parsed]})
    return [{"id": i, "code": p[0], "name": p[1], "starts": p[2].isoformat("minutes"),
             "ends": p[3].isoformat("minutes")} for i, p in zip(ids, parsed, strict=True)]


def set_requirements(engine: Engine, *, station_id: str, rows: list[dict[str, Any]],
                     actor: str) -> dict[str, Any]:
    """Set how many visits points need per round: rows ``point_id, round (code), visits``
    (0: not in that round). The listed points' earlier requirements are replaced."""
    with engine.begin() as conn:
        by_code = {r.code: r.id for r in repo.rounds(conn, station_id).get(station_id, [])}
        known = {p["id"] for p in repo.points(conn, station_id)}
        problems, out = [], []
        for i, row in enumerate(rows):
            where = f"row {i + 1}"
            if row.get("point_id") not in known:
                problems.append(Problem(f"no patrol point {row.get('point_id')!r} in station "
                                        f"{station_id}", where, "point_id"))
            if row.get("round") not in by_code:
                problems.append(Problem(f"station {station_id} has no round "
                                        f"{row.get('round')!r}", where, "round"))
            visits = row.get("visits")
            if not isinstance(visits, int) or not 0 <= visits <= 24:
                problems.append(Problem("must be a whole number from 0 to 24", where, "visits"))
            elif not problems and visits > 0:
                out.append({"point_id": row["point_id"], "round_id": by_code[row["round"]],
                            "station_id": station_id, "visits": visits})
        if problems:
            raise InvalidInput(problems)
        points = sorted({r["point_id"] for r in rows})
        dropped = repo.replace_requirements(conn, station_id, points, out)
        audit.record(conn, actor=actor, action="patrol.requirements.set",
                     object_kind="patrol_requirement", object_id=station_id,
                     before={"dropped": dropped}, after={"rows": rows})
    return {"station_id": station_id, "points": len(points), "requirements": len(out)}


def requirements(engine: Engine, station_id: str) -> list[dict[str, Any]]:
    """Each patrol point of the station with its visits per round and patrol cells."""
    with engine.connect() as conn:
        rounds = repo.rounds(conn, station_id).get(station_id, [])
        need = repo.requirements(conn, station_id)
        pts = repo.points(conn, station_id)
    code = {r.id: r.code for r in rounds}
    visits: dict[str, dict[str, int]] = {}
    for r in need:
        visits.setdefault(r["point_id"], {})[code[r["round_id"]]] = r["visits"]
    return [{"point_id": p["id"], "name": p["name"], "level": p["level"],
             "beat_id": p["beat_id"], "grid_id": p["grid_id"],
             "patrol_cells": list(patrol_cells(p["beat_id"], p["grid_id"])),
             "visits": visits.get(p["id"], {})} for p in pts]


def _person_pk(conn: Connection, person_pk: int | None, person_id: str | None) -> int:
    if person_pk is not None:
        return person_pk
    if not person_id:
        raise InvalidInput([Problem("who checks in: give person_id (your account has no person)",
                                    field="person_id")])
    found = duty_repo.person_pks(conn, [person_id])
    if person_id not in found:
        raise InvalidInput([Problem(f"no person {person_id!r}", field="person_id")])
    return found[person_id]


def check_in(engine: Engine, settings: DutySettings, *, point_id: str, device_at: datetime,
             lon: float, lat: float, accuracy_m: float, key: str, crs: str = "4326",
             person_pk: int | None = None, person_id: str | None = None,
             account_id: int | None = None) -> tuple[dict[str, Any], bool]:
    """Record a check-in at a patrol point; returns it with its status, and whether it is new.

    A repeated ``key`` returns the check-in made with it the first time (a phone resending its
    queue never counts twice); the same key from another person is a conflict.

    Raises
    ------
    InvalidInput
        Unknown person or point, a device time without a time zone, bad coordinates or
        accuracy (nothing is written).
    Conflict
        ``key`` was used by another person.
    """
    problems = []
    if device_at.tzinfo is None:
        problems.append(Problem("needs a time zone (e.g. 2026-11-30T23:10:00+08:00)",
                                field="device_at"))
    if not (np.isfinite(accuracy_m) and accuracy_m >= 0):
        problems.append(Problem("must be a number of metres, 0 or more", field="accuracy_m"))
    x, y = to_cgcs2000(np.array([lon], dtype=float), np.array([lat], dtype=float),
                       parse_input_crs(crs))
    x0, y0 = float(x[0]), float(y[0])
    if not (np.isfinite(x0) and np.isfinite(y0) and abs(x0) <= 180 and abs(y0) <= 90):
        problems.append(Problem(f"({lon}, {lat}) are not coordinates in {crs}", field="lon,lat"))
    if not key or len(key) > 100:
        problems.append(Problem("needs an idempotency key of 1 to 100 characters",
                                field="idempotency_key"))
    if problems:
        raise InvalidInput(problems)
    with engine.begin() as conn:
        pk = _person_pk(conn, person_pk, person_id)
        found = repo.points(conn, ids=[point_id])
        if not found:
            raise InvalidInput([Problem(f"no patrol point {point_id!r}", field="point_id")])
        point = found[0]
        dist = float(distance_m(np.array([x0]), np.array([y0]), np.array([point["lon"]]),
                                np.array([point["lat"]]))[0])
        server_now = datetime.now(ZoneInfo(settings.zone))
        new = repo.insert_check_in(conn, {
            "idempotency_key": key, "person_pk": pk, "account_id": account_id,
            "point_id": point_id, "device_at": device_at, "server_at": server_now,
            "at": effective_time(device_at, server_now, settings.clock_skew_seconds),
            "accuracy_m": float(accuracy_m), "distance_m": dist, "lon": x0, "lat": y0,
            "src_x": float(lon), "src_y": float(lat), "src_crs": parse_input_crs(crs).name,
            **{c: point[c] for c in repo.POINT_CELLS}})
        row = repo.check_in_by_key(conn, key)
        assert row is not None
        if new is None and row["person_pk"] != pk:
            raise Conflict("this idempotency key was used by another person's check-in")
        return _evaluate(conn, settings, row, point), new is not None


def _evaluate(conn: Connection, settings: DutySettings, row: dict[str, Any],
              point: dict[str, Any]) -> dict[str, Any]:
    """The check-in with its status among the same person's check-ins around it."""
    station = point["station_id"]
    rounds = repo.rounds(conn, station).get(station, []) if station else []
    starts = day_starts(settings)
    day = shift_day(row["at"], starts, settings.zone)
    grace = timedelta(minutes=settings.grace_minutes)
    occs = [o for d in (day - timedelta(days=1), day)
            for o in occurrences(rounds, d, starts, settings.zone, grace)]
    need = {r["round_id"]: r["visits"] for r in repo.requirements(conn, station)
            if r["point_id"] == point["id"]} if station else {}
    required = np.array([[need.get(o.round_id, 0) for o in occs]], dtype=np.int64)
    near = repo.check_ins(conn, row["at"] - NEIGHBOURS, row["at"] + NEIGHBOURS,
                          person_pk=row["person_pk"])
    frame = pd.DataFrame(near)
    at_point = (frame["point_id"] == point["id"]).to_numpy()
    cov = coverage(occs, required.reshape(1, -1) if occs else np.zeros((1, 0), np.int64),
                   np.where(at_point, 0, -1), frame["person_pk"].to_numpy(),
                   _seconds(frame["at"]), _seconds(frame["server_at"]),
                   frame["lon"].to_numpy(float), frame["lat"].to_numpy(float),
                   frame["accuracy_m"].to_numpy(float), frame["distance_m"].to_numpy(float),
                   rules_of(settings))
    me = int(np.flatnonzero(frame["pk"].to_numpy() == row["pk"])[0])
    status = str(cov.status[me])
    occ = occs[cov.occ[me]] if cov.occ[me] >= 0 else None
    partner = int(frame["pk"].iloc[cov.partner[me]]) if cov.partner[me] >= 0 else None
    return {**_public(row), "status": status, "counts": status in ("on_time", "late"),
            "round": _occurrence(occ) if occ else None, "partner_id": partner}


def _seconds(values: pd.Series) -> np.ndarray:
    return np.array([v.timestamp() for v in values], dtype=float)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("point_id", "person_id", "person_name", "accuracy_m")}
    out.update(id=row["pk"], idempotency_key=row["idempotency_key"],
               device_at=row["device_at"].isoformat(), server_at=row["server_at"].isoformat(),
               at=row["at"].isoformat(), distance_m=round(float(row["distance_m"]), 1),
               lon=row["lon"], lat=row["lat"])
    return out


def _occurrence(o: Occurrence) -> dict[str, Any]:
    return {"code": o.code, "start": o.start.isoformat(), "end": o.end.isoformat(),
            "closes": o.closes.isoformat()}


def shift_coverage(engine: Engine, settings: DutySettings, *, day: date,
                   station_id: str | None = None, all_check_ins: bool = False,
                   now: datetime | None = None) -> dict[str, Any]:
    """Patrol coverage of the shift of ``day`` (of one station, or every station), as it
    stands at ``now`` (default: now).

    A point-round not visited is ``missed`` once its round has closed (end + grace) at
    ``now``, else ``open``: a past shift has nothing open, the shift in progress has its
    later rounds open (a round still open can be finished; a closed one never).

    Returns
    -------
    dict
        ``totals`` (point-rounds due, visited, missed, open, the ratio, late visits, check-ins
        by status), ``by`` (the same per ``beat``, ``grid``, ``patrol_cell_1`` and
        ``patrol_cell_2``, each with its missed points), ``points`` (each point-round: due,
        visits, late, visited, ``status`` one of ``visited``, ``late`` (visited, some visits
        late), ``missed``, ``open``; the round's ``closes``; who checked in) and
        ``check_ins`` (those that did not count or came late; every one with
        ``all_check_ins``).
    """
    starts = day_starts(settings)
    grace = timedelta(minutes=settings.grace_minutes)
    with engine.connect() as conn:
        by_station = repo.rounds(conn, station_id)
        need = repo.requirements(conn, station_id)
        pts = pd.DataFrame(repo.points(conn, station_id),
                           columns=["id", "name", "level", *repo.POINT_CELLS, "lon", "lat"])
        occs: list[tuple[str, Occurrence]] = [
            (s, o) for s, rounds in by_station.items()
            for o in occurrences(rounds, day, starts, settings.zone, grace)]
        shift_start, shift_end = shift_bounds(day, starts, settings.zone)
        if occs:
            lo = min(o.start for _, o in occs) - NEIGHBOURS
            hi = max(o.closes for _, o in occs) + NEIGHBOURS
        else:
            lo, hi = shift_start, shift_end
        arrays = repo.check_in_arrays(conn, lo, hi, station_id)
        people = duty_repo.people(conn, set(arrays["person_pk"].tolist()))
    point_of = {p: i for i, p in enumerate(pts["id"].tolist())}
    occ_index = {(s, o.round_id): k for k, (s, o) in enumerate(occs)}
    required = np.zeros((len(pts), len(occs)), dtype=np.int64)
    for r in need:
        k = occ_index.get((r["station_id"], r["round_id"]))
        p = point_of.get(r["point_id"])
        if k is not None and p is not None:
            required[p, k] = r["visits"]
    point = np.array([point_of.get(p, -1) for p in arrays["point_id"].tolist()],
                     dtype=np.int64)
    cov = coverage([o for _, o in occs], required, point, arrays["person_pk"], arrays["at"],
                   arrays["server_at"], arrays["lon"], arrays["lat"], arrays["accuracy_m"],
                   arrays["distance_m"], rules_of(settings))
    now = now or datetime.now(ZoneInfo(settings.zone))
    return _report(day, station_id, shift_start, shift_end, occs, pts, cov, arrays, people,
                   all_check_ins, now)


#: How many open and missed point-rounds the first page lists (the rest are counted).
MY_PATROL_LISTED = 20


def my_patrol(engine: Engine, settings: DutySettings, principal: Principal,
              now: datetime | None = None) -> dict[str, Any]:
    """A person's patrol for the current shift, for their first page.

    Read on the app engine bound to the caller: the points are those of their scope (the
    patrol point policy), their duty their own stored intervals.

    Returns
    -------
    dict
        ``day`` (the shift's day), ``shift`` (start, end), ``due``, ``visited``, ``missed``
        (point-rounds whose round has closed unvisited), ``open`` (unvisited, still open),
        ``missed_points`` and ``open_points`` (at most :data:`MY_PATROL_LISTED` each:
        ``point_id, name, round, closes``), ``my_check_ins`` (the caller's own this shift, by
        status), ``on_duty`` (``None`` for an account without a person, else
        ``{"now": bool, "duties": [{kind, until}]}``).
    """
    tz = ZoneInfo(settings.zone)
    now = (now or datetime.now(tz)).astimezone(tz)
    day = shift_day(now, day_starts(settings), settings.zone)
    report = shift_coverage(engine, settings, day=day, all_check_ins=True)
    closes = {(r["station_id"], r["code"]): datetime.fromisoformat(r["closes"])
              for r in report["rounds"]}
    missed, still_open = [], []
    for p in report["points"]:
        if p["visited"]:
            continue
        ends = closes.get((p["station_id"], p["round"]))
        item = {"point_id": p["point_id"], "name": p["name"], "round": p["round"],
                "closes": ends.isoformat() if ends else None}
        (missed if ends is not None and ends <= now else still_open).append(item)
    mine = Counter(c["status"] for c in report["check_ins"]
                   if principal.person_id and c["person_id"] == principal.person_id)
    on_duty = None
    if principal.person_pk is not None:
        with engine.connect() as conn:
            held = duty_repo.person_intervals_at(conn, principal.person_pk, now)
        on_duty = {"now": bool(held), "duties": [
            {"kind": iv.kind, "until": iv.end.astimezone(tz).isoformat()}
            for _, iv in sorted(held, key=lambda h: h[1].end)]}
    totals = report["totals"]
    return {"day": day.isoformat(), "shift": report["shift"], "due": totals["due"],
            "visited": totals["visited"], "missed": len(missed), "open": len(still_open),
            "missed_points": missed[:MY_PATROL_LISTED],
            "open_points": still_open[:MY_PATROL_LISTED],
            "my_check_ins": dict(mine), "on_duty": on_duty}


def _report(day: date, station_id: str | None, shift_start: datetime, shift_end: datetime,
            occs: list[tuple[str, Occurrence]], pts: pd.DataFrame, cov: Any,
            arrays: dict[str, np.ndarray], people: dict[int, dict[str, Any]],
            all_check_ins: bool, now: datetime) -> dict[str, Any]:
    rows = pts.iloc[cov.req_point].reset_index(drop=True)
    cells = [patrol_cells(b, g) for b, g in zip(rows["beat_id"], rows["grid_id"], strict=True)]
    rows["patrol_cell_1"] = [c[0] for c in cells]
    rows["patrol_cell_2"] = [c[1] for c in cells]
    rows["round"] = [occs[k][1].code for k in cov.req_occ]
    rows["due"], rows["visits"], rows["late"] = cov.req_due, cov.req_visits, cov.req_late
    rows["visited"] = cov.visited
    rows["closes"] = [occs[k][1].closes for k in cov.req_occ]
    rows["status"] = np.where(cov.visited, np.where(cov.req_late > 0, "late", "visited"),
                              np.where(np.array([c <= now for c in rows["closes"]], dtype=bool),
                                       "missed", "open")) if len(rows) else []
    counted = np.flatnonzero(np.isin(cov.status, ["on_time", "late"]))
    by_row: dict[tuple[str, int], list[str]] = {}
    names_of = {pk: p.get("name") or "?" for pk, p in people.items()}
    for point_id, occ, pk in zip(arrays["point_id"][counted].tolist(),
                                 cov.occ[counted].tolist(),
                                 arrays["person_pk"][counted].tolist(), strict=True):
        names = by_row.setdefault((point_id, occ), [])
        if names_of.get(pk, "?") not in names:
            names.append(names_of.get(pk, "?"))
    rows["checked_in_by"] = ["、".join(by_row.get((p, int(k)), []))
                             for p, k in zip(rows["id"], cov.req_occ, strict=True)]
    by = {level: _group(rows, level) for level in ("beat_id", "grid_id", "patrol_cell_1",
                                                   "patrol_cell_2")}
    in_shift = (arrays["at"] >= min([o.start for _, o in occs], default=shift_start).timestamp()) \
        & (arrays["at"] < max([o.closes for _, o in occs], default=shift_end).timestamp())
    statuses = Counter(cov.status[in_shift].tolist())
    show = in_shift if all_check_ins else in_shift & ~np.isin(cov.status, ["on_time"])
    tz = shift_start.tzinfo
    check_ins = [{
        "id": int(arrays["pk"][i]), "point_id": str(arrays["point_id"][i]),
        "person_id": people.get(int(arrays["person_pk"][i]), {}).get("id"),
        "person_name": people.get(int(arrays["person_pk"][i]), {}).get("name"),
        "at": datetime.fromtimestamp(float(arrays["at"][i]), tz).isoformat(),
        "server_at": datetime.fromtimestamp(float(arrays["server_at"][i]), tz).isoformat(),
        "distance_m": round(float(arrays["distance_m"][i]), 1),
        "accuracy_m": float(arrays["accuracy_m"][i]), "status": str(cov.status[i]),
        "lon": float(arrays["lon"][i]), "lat": float(arrays["lat"][i]),
        "round": occs[cov.occ[i]][1].code if cov.occ[i] >= 0 else None,
        "partner_id": int(arrays["pk"][cov.partner[i]]) if cov.partner[i] >= 0 else None,
    } for i in np.flatnonzero(show)]
    due, visited = len(rows), int(rows["visited"].sum())
    still_open = int((rows["status"] == "open").sum()) if len(rows) else 0
    return {
        "day": day.isoformat(), "station_id": station_id,
        "shift": {"start": shift_start.isoformat(), "end": shift_end.isoformat()},
        "rounds": [{"station_id": s, **_occurrence(o)} for s, o in occs],
        "totals": {"due": due, "visited": visited, "missed": due - visited - still_open,
                   "open": still_open,
                   "ratio": round(visited / due, 4) if due else None,
                   "late_visits": int(rows["late"].sum()), "check_ins": dict(statuses)},
        "by": {k.removesuffix("_id"): v for k, v in by.items()},
        "points": [{"point_id": r.id, "name": r.name, "level": int(r.level), "round": r.round,
                    "due": int(r.due), "visits": int(r.visits), "late": int(r.late),
                    "visited": bool(r.visited), "status": r.status,
                    "closes": r.closes.isoformat(), "station_id": r.station_id,
                    "beat_id": r.beat_id, "grid_id": r.grid_id,
                    "patrol_cell_1": r.patrol_cell_1, "patrol_cell_2": r.patrol_cell_2,
                    "checked_in_by": r.checked_in_by, "lon": float(r.lon), "lat": float(r.lat)}
                   for r in rows.itertuples()],
        "check_ins": check_ins,
    }


def _group(rows: pd.DataFrame, column: str) -> list[dict[str, Any]]:
    """Due, visited and missed point-rounds per cell of ``column`` (plain loops: a city has
    thousands of cells, and a pandas selection per cell cost seconds)."""
    due: dict[Any, int] = {}
    visited: dict[Any, int] = {}
    still_open: dict[Any, int] = {}
    missed: dict[Any, list[str]] = {}
    for cell, ok, status, point, code in zip(rows[column].fillna("-").tolist(),
                                             rows["visited"].tolist(), rows["status"].tolist(),
                                             rows["id"].tolist(), rows["round"].tolist(),
                                             strict=True):
        due[cell] = due.get(cell, 0) + 1
        visited[cell] = visited.get(cell, 0) + bool(ok)
        if status == "open":
            still_open[cell] = still_open.get(cell, 0) + 1
        elif not ok:
            missed.setdefault(cell, []).append(f"{point}@{code}")
    return [{"id": None if cell == "-" else cell, "due": due[cell], "visited": visited[cell],
             "open": still_open.get(cell, 0), "ratio": round(visited[cell] / due[cell], 4),
             "missed": missed.get(cell, [])} for cell in sorted(due, key=str)]


CSV_COLUMNS = ("day", "round", "point_id", "name", "level", "beat_id", "grid_id",
               "patrol_cell_2", "due", "visits", "late", "visited", "checked_in_by", "closes")
#: The ``visited`` column of the CSV: a spreadsheet filter on MISSED finds what was not done.
CSV_VISITED = {"visited": "yes", "late": "yes", "missed": "MISSED", "open": "OPEN"}


def report_csv(report: dict[str, Any]) -> str:
    """The per-shift patrol report as CSV: one row per point and round (``visited``: yes,
    MISSED once the round has closed unvisited, OPEN while it may still be done)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for p in report["points"]:
        writer.writerow([report["day"], *(p[c] if c != "visited" else CSV_VISITED[p["status"]]
                                          for c in CSV_COLUMNS[1:])])
    return out.getvalue()


def points_of(engine: Engine, station_id: str | None = None) -> list[dict[str, Any]]:
    """Patrol points (of a station) with their cells and ``lon``/``lat``."""
    with engine.connect() as conn:
        return repo.points(conn, station_id)


def hotspots(engine: Engine, settings: DutySettings, *, station_id: str | None = None,
             weeks: int | None = None, until: date | None = None,
             hours: str | None = None) -> dict[str, Any]:
    """Proposed night patrol points from the incidents and events of the last weeks by hour
    of day (both count alike: a place where people report trouble at night is one to pass).

    Raises
    ------
    InvalidInput
        ``hours`` not like ``0-6`` (field ``hours``).
    """
    tz = ZoneInfo(settings.zone)
    try:
        span = parse_hours(hours or settings.hotspot_hours)
    except ValueError as exc:
        raise InvalidInput([Problem(str(exc), field="hours")]) from None
    weeks = weeks or settings.hotspot_weeks
    end_day = (until or datetime.now(tz).date()) + timedelta(days=1)
    end = datetime.combine(end_day, time(), tz)
    start = end - timedelta(weeks=weeks)
    with engine.connect() as conn:
        incidents = repo.incidents(conn, start, end, station_id)
        events = repo.events(conn, start, end, station_id)
        pts = repo.points(conn, station_id)
    found = incidents + events
    local = [i["occurred_at"].astimezone(tz).hour for i in found]
    night = in_hours(np.array(local, dtype=int), span)
    spots = propose(np.array([i["lon"] for i in found]), np.array([i["lat"] for i in found]),
                    np.array(local, dtype=int), [i["category"] for i in found], span,
                    cell_m=settings.hotspot_cell_m, top=settings.hotspot_top,
                    min_count=settings.hotspot_min_count,
                    points=(np.array([p["lon"] for p in pts]), np.array([p["lat"] for p in pts]),
                            [p["id"] for p in pts]))
    return {"station_id": station_id, "since": start.isoformat(), "until": end.isoformat(),
            "hours": f"{span[0]}-{span[1]}", "incidents": len(incidents),
            "events": len(events), "night_incidents": int(night[:len(incidents)].sum()),
            "night_events": int(night[len(incidents):].sum()), "proposals": spots}
