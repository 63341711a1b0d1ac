"""Weekly bulletins (警情公告) of a beat, police office or station, and the advice texts.

A bulletin is built from the current data on every request (no cache): the incidents keep the
cells of their own time, so a redrawn boundary changes only the map, not the counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import Engine

from gridsvc.db import audit
from gridsvc.db import prints as repo
from gridsvc.domain.reports import bulletin as domain
from gridsvc.errors import InvalidInput, NotFound, Problem
from gridsvc.services.assignment import current_plan

#: Map outlines are simplified by this many degrees (about 10 m: invisible at 78 mm).
SIMPLIFY_DEG = 0.0001
MAP_UNITS = 300.0


def week_monday(week: str) -> date:
    """The Monday of ``week`` (``YYYY-Www``); InvalidInput (field ``week``) when malformed."""
    try:
        return domain.parse_week(week)
    except ValueError as exc:
        raise InvalidInput([Problem(str(exc), field="week")]) from None


def _window(monday: date, previous_weeks: int, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), tz)
    return end - timedelta(days=7 * (previous_weeks + 1)), end


def _office_for(offices: list[dict[str, Any]], kind: str, area_id: str) -> dict[str, Any] | None:
    """The office a bulletin's contact line names: the office itself, the one in the beat, or
    the first of the station."""
    key = {"office": "id", "beat": "beat_id", "station": "station_id"}[kind]
    return next((o for o in offices if o[key] == area_id), None)


def bulletin(engine: Engine, kind: str, area_id: str, week: str, *, previous_weeks: int = 4,
             zone: str = "Asia/Shanghai") -> domain.Bulletin:
    """The bulletin of one beat, office or station for an ISO week.

    The area's outline and villages are those of the plan in effect on the week's Sunday; the
    counts are of the incidents recorded in the area (by the cells of their own time).

    Raises
    ------
    InvalidInput
        A malformed week, an unknown kind, or ``previous_weeks`` outside 1..26.
    NotFound
        No plan in effect that week, or no such beat, office or station.
    """
    if kind not in domain.KINDS:
        raise InvalidInput([Problem(f"kind is one of {', '.join(domain.KINDS)}", field="kind")])
    if not 1 <= previous_weeks <= 26:
        raise InvalidInput([Problem("between 1 and 26", field="previous_weeks")])
    monday = week_monday(week)
    sunday = monday + timedelta(days=6)
    plan_id = current_plan(engine, sunday)
    start, end = _window(monday, previous_weeks, zone)
    with engine.connect() as conn, conn.begin():
        offices = repo.offices(conn)
        if kind == "office":
            found = repo.office(conn, area_id)
            if found is None:
                raise NotFound(f"no police office {area_id!r}")
            beat_ids = repo.office_beats(conn, area_id)
            beats = [c for c in (repo.cell(conn, plan_id, "beat", b) for b in beat_ids) if c]
            name = found["name"]
            outline = shapely.union_all([c["geom"] for c in beats]) if beats else None
            column, ids = "beat_id", beat_ids
        else:
            found = repo.cell(conn, plan_id, kind, area_id)
            if found is None:
                raise NotFound(f"no {kind} {area_id!r} in the plan in effect on {sunday}")
            name, outline = found["name"], found["geom"]
            column, ids = repo.COLUMN[kind], [area_id]
        counts = repo.incident_counts(conn, column, ids, start, end)
        solved = repo.solved_counts(conn, column, ids, monday, sunday)
        villages = repo.cells(conn, plan_id, "village", simplify_deg=SIMPLIFY_DEG)
        advice = repo.advice(conn)
    solved_n = sum(solved.values()) if solved else None
    made = domain.build(
        kind=kind, area_id=area_id, area_name=name, monday=monday,
        previous_weeks=previous_weeks, counts=[r[1:] for r in counts],
        village_names={v["id"]: v["name"] for v in villages}, advice=advice, solved=solved_n)
    made.office = _office_for(offices, kind, area_id)
    made.map = _map(outline, villages, made)
    return made


def _map(outline: Any, villages: list[dict[str, Any]], made: domain.Bulletin) -> dict[str, Any]:
    if outline is None:
        return domain.map_shapes(None, [], MAP_UNITS, MAP_UNITS)
    week_counts = {v["village_id"]: v["count"] for v in made.villages}
    near = [v for v in villages if v["geom"].intersects(outline)]
    return domain.map_shapes(outline, [(v["id"], v["name"], v["geom"],
                                        week_counts.get(v["id"], 0)) for v in near],
                             MAP_UNITS, MAP_UNITS)


def every_beat(engine: Engine, week: str, *, previous_weeks: int = 4,
               zone: str = "Asia/Shanghai") -> Iterator[domain.Bulletin]:
    """The bulletins of every beat of the plan in effect that week, read in a few bulk queries
    (one per table, not one per beat), for printing a whole city's wall at once."""
    monday = week_monday(week)
    sunday = monday + timedelta(days=6)
    plan_id = current_plan(engine, sunday)
    start, end = _window(monday, previous_weeks, zone)
    with engine.connect() as conn, conn.begin():
        offices = repo.offices(conn)
        beats = repo.cells(conn, plan_id, "beat", simplify_deg=SIMPLIFY_DEG)
        villages = repo.cells(conn, plan_id, "village", simplify_deg=SIMPLIFY_DEG)
        counts = repo.incident_counts(conn, "beat_id", None, start, end)
        solved = repo.solved_counts(conn, "beat_id", None, monday, sunday)
        advice = repo.advice(conn)
    by_beat: dict[str, list[tuple[str | None, str, int, int]]] = {}
    for beat, *rest in counts:
        by_beat.setdefault(beat, []).append(tuple(rest))  # type: ignore[arg-type]
    tree = shapely.STRtree([v["geom"] for v in villages])
    names = {v["id"]: v["name"] for v in villages}
    for beat in beats:
        made = domain.build(kind="beat", area_id=beat["id"], area_name=beat["name"],
                            monday=monday, previous_weeks=previous_weeks,
                            counts=by_beat.get(beat["id"], []), village_names=names,
                            advice=advice, solved=solved.get(beat["id"]))
        made.office = _office_for(offices, "beat", beat["id"])
        near = [villages[i] for i in tree.query(beat["geom"], predicate="intersects")]
        made.map = _map(beat["geom"], near, made)
        yield made


def render(made: domain.Bulletin, fmt: str, zone: str = "Asia/Shanghai") -> bytes:
    """The bulletin as ``pdf`` or ``html`` (UTF-8) bytes, stamped with the local time."""
    from gridsvc.printing import bulletin as page

    now = datetime.now(ZoneInfo(zone))
    return page.pdf(made, now) if fmt == "pdf" else page.html(made, now).encode("utf-8")


def list_advice(engine: Engine) -> list[dict[str, Any]]:
    """Every prevention advice text, by category."""
    with engine.connect() as conn:
        return repo.advice_rows(conn)


def set_advice(engine: Engine, category: str, advice: str, *, actor: str) -> dict[str, Any]:
    """Set (or add) the advice printed for a category; audited.

    Raises
    ------
    InvalidInput
        An empty category or text.
    """
    category, advice = category.strip(), advice.strip()
    problems = [Problem("empty", field=f) for f, v in (("category", category),
                                                        ("advice", advice)) if not v]
    if problems:
        raise InvalidInput(problems)
    with engine.begin() as conn:
        before = repo.put_advice(conn, category, advice, actor)
        audit.record(conn, actor=actor, action="advice.set", object_kind="prevention_advice",
                     object_id=category, before=before,
                     after={"category": category, "advice": advice})
    return {"category": category, "advice": advice}


def delete_advice(engine: Engine, category: str, *, actor: str) -> None:
    """Remove a category's advice (its bulletins then print none); audited.

    Raises
    ------
    NotFound
        The category has no advice.
    """
    with engine.begin() as conn:
        before = repo.delete_advice(conn, category)
        if before is None:
            raise NotFound(f"no advice for category {category!r}")
        audit.record(conn, actor=actor, action="advice.delete", object_kind="prevention_advice",
                     object_id=category, before=before, after=None)


def mark_solved(engine: Engine, incident_id: str, solved_on: date, *, actor: str
                ) -> dict[str, Any]:
    """Record that an incident's case was solved on ``solved_on`` (again: re-dates it);
    audited. Idempotent: the incident id is the key.

    Raises
    ------
    NotFound
        No such incident (or not visible to the caller).
    """
    with engine.begin() as conn:
        if not repo.incident_exists(conn, incident_id):
            raise NotFound(f"no incident with id {incident_id!r}")
        before = repo.mark_solved(conn, incident_id, solved_on, actor)
        after = {"incident_id": incident_id, "solved_on": solved_on.isoformat()}
        audit.record(conn, actor=actor, action="incident.solved", object_kind="incident",
                     object_id=incident_id,
                     before=None if before is None else
                     {**before, "solved_on": before["solved_on"].isoformat()}, after=after)
    return after
