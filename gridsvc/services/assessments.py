"""Assessments (考核) per officer, grid worker, grid, beat or station for a month, quarter,
half year or year: patrol coverage, staffing, events, houses visited, and a weighted score.

Where the figures come from (see :mod:`gridsvc.domain.reports.assessment` for the score)
- **Patrol coverage** is :func:`gridsvc.services.patrol.shift_coverage` summed over the
  period's days **that have patrol records** (from the first to the last check-in day inside
  the period): rounds carry no start date, so days before patrols were recorded would count
  as all missed. A person's figure is that of their cells (beats for an officer, grids for a
  grid worker), and ``check_ins`` counts their own check-ins of the period.
- **Staffing** is today's :func:`gridsvc.services.staffing.staffing_tables` (the standard is
  about the current staff, not a past period).
- **Events** come from the events service's figures (:func:`gridsvc.services.events.figures`:
  events reported in the period, by the cells they were reported in) and the returned count
  (:func:`gridsvc.db.prints.returned_counts`: those of them sent back at least once):
  ``events_reported``, ``events_handled``, ``events_on_time_ratio`` (按期处置率, handled
  within every deadline / handled), ``events_closed``, ``events_returned``. A person's are
  those of their cells (like patrol coverage), summed; a person's ``own_reports`` are the
  events they reported themselves (through their account), wherever the event was.
- **Houses visited** (:mod:`gridsvc.services.visits`): ``houses`` in the unit's cells (today's
  houses), ``houses_visited`` of them with a visit on a day of the period and
  ``visits_ratio``. For a person, only their own visits count; for a cell, anyone's.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine

from gridsvc.db import prints
from gridsvc.db import visits as visit_repo
from gridsvc.domain.reports import assessment as domain
from gridsvc.domain.reports.staffing import MIN_GRID_WORKERS
from gridsvc.errors import InvalidInput, Problem
from gridsvc.services import events
from gridsvc.services.patrol import shift_coverage
from gridsvc.services.staffing import staffing_tables
from gridsvc.settings import AssessSettings, DutySettings

EVENT_COLUMNS = ("events_reported", "events_handled", "events_on_time_ratio", "events_closed",
                 "events_returned")
VISIT_COLUMNS = ("houses", "houses_visited", "visits_ratio")
#: The counts behind the event columns, per cell.
_COUNTS = ("reported", "handled", "handled_on_time", "closed", "returned")


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def event_counts(engine: Engine, kind: str, first: date, last: date
                 ) -> dict[str, dict[str, int]]:
    """Per cell of ``kind`` (grid, beat, station): events reported from ``first`` to ``last``
    (local days, both included), handled, handled on time, closed and returned."""
    figures = events.figures(engine, by=kind, since=first, until=last + timedelta(days=1))
    since = datetime.combine(first, time(0), events.ZONE)
    until = datetime.combine(last + timedelta(days=1), time(0), events.ZONE)
    with engine.connect() as conn:
        returned = prints.returned_counts(conn, f"{kind}_id", since, until)
    return {r["key"]: {"reported": r["reported"], "handled": r["handled"],
                       "handled_on_time": r["handled_on_time"], "closed": r["closed"],
                       "returned": returned.get(r["key"], 0)}
            for r in figures if r["key"] is not None}


def events_figures(counts: dict[str, dict[str, int]], cells: list[str]) -> dict[str, Any]:
    """The event columns of a unit whose cells are ``cells``, from :func:`event_counts`.

    >>> events_figures({"B1": {"reported": 4, "handled": 2, "handled_on_time": 1,
    ...                        "closed": 1, "returned": 0}}, ["B1", "B2"])["events_on_time_ratio"]
    0.5
    """
    total = dict.fromkeys(_COUNTS, 0)
    for c in cells:
        for k, v in counts.get(c, {}).items():
            total[k] += v
    return {"events_reported": total["reported"], "events_handled": total["handled"],
            "events_on_time_ratio": _ratio(total["handled_on_time"], total["handled"]),
            "events_closed": total["closed"], "events_returned": total["returned"]}


def _own_reports(engine: Engine, level: str, first: date, last: date
                 ) -> dict[str, int] | None:
    """Events each person of ``level`` reported themselves in the period; None for cells."""
    if level not in ("officer", "grid_worker"):
        return None
    since = datetime.combine(first, time(0), events.ZONE)
    until = datetime.combine(last + timedelta(days=1), time(0), events.ZONE)
    with engine.connect() as conn:
        return prints.own_reports(conn, level, since, until)


def _visits(engine: Engine, level: str, first: date, last: date, zone: str
            ) -> dict[str, tuple[int, int]]:
    """(houses, houses visited) per unit of ``level`` (persons: by their own visits)."""
    with engine.connect() as conn:
        if level == "officer":
            return visit_repo.houses_visited_by_people(conn, "officer", "beat", first, last,
                                                       zone)
        if level == "grid_worker":
            return visit_repo.houses_visited_by_people(conn, "grid_worker", "grid", first,
                                                       last, zone)
        return visit_repo.houses_visited(conn, f"{level}_id", first, last, zone)


def _days_with_patrols(engine: Engine, first: date, last: date, zone: str) -> list[date]:
    with engine.connect() as conn:
        lo, hi = prints.check_in_days(conn, first, last, zone)
    if lo is None:
        return []
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def _patrols(engine: Engine, duty: DutySettings, days: list[date]
             ) -> dict[str, dict[str, list[int]]]:
    """Due and visited point-rounds per beat and per grid, summed over ``days``."""
    sums: dict[str, dict[str, list[int]]] = {"beat": {}, "grid": {}}
    for day in days:
        report = shift_coverage(engine, duty, day=day)
        for level in ("beat", "grid"):
            for row in report["by"][level]:
                if row["id"] is None:
                    continue
                due_visited = sums[level].setdefault(row["id"], [0, 0])
                due_visited[0] += row["due"]
                due_visited[1] += row["visited"]
    return sums


def _people(engine: Engine, role: str, zone: str, first: date, last: date
            ) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return prints.people_with_check_ins(conn, role, zone, first, last)


def assessment(engine: Engine, level: str, period: str, *, assess: AssessSettings,
               duty: DutySettings) -> dict[str, Any]:
    """The assessment table of every unit of ``level`` for ``period``.

    Returns
    -------
    dict
        ``level, period, first, last, patrol_days, patrol_from, patrol_to`` (the days
        counted), ``weights``,
        ``targets``, ``notes`` and ``rows`` (one per unit; see the module's docstring).

    Raises
    ------
    InvalidInput
        An unknown level or a malformed period.
    NotFound
        No plan in effect (for the staffing figures).
    """
    if level not in domain.LEVELS:
        raise InvalidInput([Problem(f"level is one of {', '.join(domain.LEVELS)}",
                                    field="level")])
    try:
        first, last = domain.period_bounds(period)
    except ValueError as exc:
        raise InvalidInput([Problem(str(exc), field="period")]) from None
    days = _days_with_patrols(engine, first, last, duty.zone)
    patrols = _patrols(engine, duty, days)
    plan_id, tables, _ = staffing_tables(engine)
    beats = {r["beat_id"]: r for r in tables["beats"].to_dict("records")}
    grids = {r["grid_id"]: r for r in tables["grids"].to_dict("records")}
    stations = {r["station_id"]: r for r in tables["stations"].to_dict("records")}
    units: list[dict[str, Any]] = []
    if level in ("officer", "grid_worker"):
        kind = "beat" if level == "officer" else "grid"
        for p in _people(engine, level, duty.zone, first, last):
            units.append({"id": p["id"], "name": p["name"], "cells": sorted(p["cells"]),
                          "check_ins": p["check_ins"], "kind": kind})
    else:
        table = {"beat": beats, "grid": grids, "station": stations}[level]
        with engine.connect() as conn:
            names = prints.names(conn, plan_id, level, sorted(table))
        units = [{"id": k, "name": names.get(k), "cells": [k], "check_ins": None,
                  "kind": level} for k in sorted(table)]
    counts = event_counts(engine, "station" if level == "station" else
                          "grid" if level in ("grid", "grid_worker") else "beat", first, last)
    visited_by = _visits(engine, level, first, last, duty.zone)
    own = _own_reports(engine, level, first, last)
    rows = []
    for u in units:
        due = visited = 0
        cell_beats = ([b for b, r in beats.items() if r["station_id"] == u["id"]]
                      if u["kind"] == "station" else u["cells"])
        source = patrols["grid"] if u["kind"] == "grid" else patrols["beat"]
        for c in cell_beats:
            d, v = source.get(c, (0, 0))
            due, visited = due + d, visited + v
        if u["kind"] == "grid":
            have = sum(min(grids[c]["grid_workers"] / MIN_GRID_WORKERS, 1.0)
                       for c in u["cells"] if c in grids)
            staffing = round(have / len(u["cells"]), 4) if u["cells"] else None
        else:
            staff = [stations[u["id"]]] if u["kind"] == "station" else \
                [beats[c] for c in u["cells"] if c in beats]
            need = sum(r["officers_required"] for r in staff)
            staffing = round(min(sum(r["officers"] for r in staff) / need, 1.0), 4) \
                if need else None
        patrol = round(visited / due, 4) if due else None
        ev = events_figures(counts, u["cells"])
        houses, visited_houses = visited_by.get(u["id"], (0, 0))
        visits = _ratio(visited_houses, houses)
        total, basis = domain.score({"patrol": patrol, "staffing": staffing,
                                     "on_time": ev["events_on_time_ratio"], "visits": visits},
                                    assess.weights(), assess.targets())
        rows.append({
            "level": level, "id": u["id"], "name": u["name"], "cells": " ".join(u["cells"]),
            "patrol_due": due, "patrol_visited": visited, "patrol_ratio": patrol,
            "check_ins": u["check_ins"], "staffing_ratio": staffing,
            **ev, "own_reports": own.get(u["id"], 0) if own is not None else None,
            "houses": houses, "houses_visited": visited_houses, "visits_ratio": visits,
            "score": total, "basis": " ".join(basis)})
    notes = [f"patrol coverage over {len(days)} day(s) with patrol records"
             + (f" ({days[0]} to {days[-1]})" if days else ""),
             "staffing is today's staff against the standard",
             "events: those reported in the period in the unit's cells; 按期处置率 = handled "
             "within every deadline / handled",
             "houses visited: houses of the unit's cells with a visit in the period"
             + (" by the person" if level in ("officer", "grid_worker") else "")]
    return {"level": level, "period": period, "first": first.isoformat(),
            "last": last.isoformat(), "patrol_days": len(days),
            "patrol_from": days[0].isoformat() if days else None,
            "patrol_to": days[-1].isoformat() if days else None, "weights": assess.weights(),
            "targets": assess.targets(), "notes": notes, "rows": rows}
