"""Events (一网归集、分流、办理、反馈): intake, routing, the loop, time limits, figures.

Every function takes the engine to work on: the app engine (role ``gridsvc_app``, bound to the
caller's account, so the policies decide which events exist for the caller: one outside the
scope is NotFound, exactly as one that does not exist) or the owner's (the CLI, the periodic
sweep). Each call is one transaction: an event, its history row and its audit entry commit
together or not at all.

An event gets the cells of the plan in effect when it is reported. While it is open, a plan
taking effect moves it to the new cells and re-routes it (:func:`reroute_for_plan`, called in the
activation's own transaction); a final event keeps its cells for good, like an incident.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from gridsvc.db import audit
from gridsvc.db import events as repo
from gridsvc.db.model_events import OPEN_SQL
from gridsvc.domain.events.catalogue import Grade
from gridsvc.domain.events.limits import ZONE, Limit, WorkingHours, due_at, limit_hours
from gridsvc.domain.events.routing import UNIT_KINDS, Place, Routing, Rule, route
from gridsvc.domain.events.states import (
    FINAL,
    LEVELS,
    NEEDS_REASON,
    Action,
    State,
    apply,
    parse_action,
    start_level,
)
from gridsvc.domain.geo.coords import parse_input_crs
from gridsvc.errors import Conflict, InvalidInput, NotFound, Problem
from gridsvc.services.assignment import current_plan, locate, plan_layers

#: Longest description and parties text (characters).
MAX_TEXT = 4000
#: Points this close to the edge of their grid, beat or village are flagged (metres).
NEAR_BOUNDARY_M = 10.0
#: Largest photo (bytes) and the types accepted, by their first bytes.
MAX_PHOTO_BYTES = 8 * 1024 * 1024
#: Levels a daily summary or figures may group by (cell columns), and the other groupings.
SUMMARY_LEVELS = ("town", "village", "grid", "station", "beat")
FIGURE_GROUPS = (*SUMMARY_LEVELS, "category", "day", "month")
SYSTEM = "system"


def calendar(settings: Any) -> WorkingHours | None:
    """The working-hours calendar the settings ask for, or None for calendar hours."""
    return WorkingHours() if getattr(settings, "events_working_hours", False) else None


# -- catalogue and admin tables ----------------------------------------------------------------

def catalogue(engine: Engine, *, include_inactive: bool = False) -> list[dict[str, Any]]:
    """The categories ``{code, name, parent_code, description, active}``, parents first."""
    with engine.connect() as conn:
        return repo.categories(conn, active_only=not include_inactive)


def put_category(engine: Engine, data: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Add or change a category (an admin's edit). A code with a dot is a sub-category: its
    parent (the part before the dot) must exist and be top-level.

    Raises
    ------
    InvalidInput
        A code that is not ``word`` or ``word.word``, or a missing parent.
    """
    code = data["code"].strip()
    parent = code.split(".", 1)[0] if "." in code else None
    parts = code.split(".")
    if len(parts) > 2 or not all(p and p.replace("_", "").isalnum() for p in parts):
        raise InvalidInput([Problem("a code is a word or parent.word (letters, digits, _)",
                                    field="code")])
    with engine.begin() as conn:
        known = {c["code"]: c for c in repo.categories(conn)}
        if parent is not None and (parent not in known or known[parent]["parent_code"]):
            raise InvalidInput([Problem(f"no top-level category {parent!r}", field="code")])
        row = {"code": code, "name": data["name"], "parent_code": parent,
               "description": data.get("description") or "", "active": data.get("active", True)}
        repo.upsert_category(conn, row)
        audit.record(conn, actor=actor, action="event_category.put",
                     object_kind="event_category", object_id=code, before=known.get(code),
                     after=row)
    return row


def limits(engine: Engine) -> list[dict[str, Any]]:
    """The time limits ``{category, grade, state, hours}``."""
    with engine.connect() as conn:
        return [{"category": lim.category, "grade": lim.grade.value, "state": lim.state.value,
                 "hours": lim.hours} for lim in repo.limits(conn)]


def set_limit(engine: Engine, category: str, grade: str, state: str, hours: float | None, *,
              actor: str) -> list[dict[str, Any]]:
    """Set (or with ``hours`` None drop) one limit; returns them all. Events keep the deadline
    they have; the new limit applies from their next step.

    Raises
    ------
    InvalidInput
        Unknown grade, a state without a clock (rejected, closed), hours not above 0.
    """
    problems = []
    try:
        grade = _grade(grade).value
    except InvalidInput as exc:
        problems += exc.problems
    if state not in {s.value for s in State} - {s.value for s in FINAL}:
        problems.append(Problem(f"{state!r} is not a state with a clock", field="state"))
    if hours is not None and not hours > 0:
        problems.append(Problem("hours must be above 0", field="hours"))
    if problems:
        raise InvalidInput(problems)
    with engine.begin() as conn:
        repo.set_limit(conn, category, grade, state, hours)
        audit.record(conn, actor=actor, action="event_limit.set", object_kind="event_limit",
                     object_id=f"{category}/{grade}/{state}", after={"hours": hours})
    return limits(engine)


def rules(engine: Engine) -> list[dict[str, Any]]:
    """The routing table, one dict per rule."""
    with engine.connect() as conn:
        return [_rule_dict(r) for r in repo.rules(conn)]


def replace_rules(engine: Engine, rows: list[dict[str, Any]], *, actor: str
                  ) -> list[dict[str, Any]]:
    """Replace the whole routing table (an admin's edit; open events keep their routing until
    their next re-route).

    Raises
    ------
    InvalidInput
        Each bad row (its unit kind, level or grade), naming it.
    """
    built, problems = [], []
    for i, r in enumerate(rows):
        where = f"rule {i + 1}"
        if r["unit_kind"] not in UNIT_KINDS:
            problems.append(Problem(f"unit_kind is one of {', '.join(UNIT_KINDS)}", where,
                                    "unit_kind"))
        if r["level"] not in ("*", *LEVELS):
            problems.append(Problem(f"level is * or one of {', '.join(LEVELS)}", where, "level"))
        try:
            grade = _grade(r.get("min_grade", "general"))
        except InvalidInput:
            problems.append(Problem("unknown grade", where, "min_grade"))
            continue
        built.append(Rule(r["category"], r["level"], grade, r["unit_kind"], r["unit_name"],
                          tuple(r.get("roles") or ()),
                          tuple((k, tuple(v)) for k, v in r.get("also") or ())))
    if problems:
        raise InvalidInput(problems)
    with engine.begin() as conn:
        before = [_rule_dict(r) for r in repo.rules(conn)]
        repo.replace_rules(conn, built)
        audit.record(conn, actor=actor, action="event_rule.replace", object_kind="event_rule",
                     before=before, after=[_rule_dict(r) for r in built])
    return [_rule_dict(r) for r in built]


def _rule_dict(r: Rule) -> dict[str, Any]:
    return {"category": r.category, "level": r.level, "min_grade": r.min_grade.value,
            "unit_kind": r.unit_kind, "unit_name": r.unit_name, "roles": list(r.roles),
            "also": [[k, list(v)] for k, v in r.also]}


# -- intake ------------------------------------------------------------------------------------

def _grade(value: str) -> Grade:
    try:
        return Grade.parse(value)
    except ValueError as exc:
        raise InvalidInput([Problem(str(exc), field="grade")]) from None


def _text(data: dict[str, Any], key: str, required: bool) -> str | None:
    value = data.get(key)
    value = value.strip() if isinstance(value, str) else None
    if required and not value:
        raise InvalidInput([Problem(f"{key} is empty", field=key)])
    if value and len(value) > MAX_TEXT:
        raise InvalidInput([Problem(f"{key} is longer than {MAX_TEXT} characters", field=key)])
    return value or None


class _Context:
    """What routing reads: rules, limits and the calendar.

    Rules and limits are kept per process and database (:func:`_context`), checked against
    the version ``event_config`` keeps in the database (moved, in the changing transaction,
    by every edit of the catalogue, the routing table or the limits): a report reads one
    number instead of two tables."""

    def __init__(self, rules: list[Rule], limits: list[Limit],
                 working_hours: WorkingHours | None) -> None:
        self.rules = rules
        self.limits = limits
        self.calendar = working_hours

    def deadline(self, start: datetime, category: str, grade: Grade, state: State
                 ) -> datetime | None:
        if state in FINAL:
            return None
        hours = limit_hours(self.limits, category, grade, state)
        return None if hours is None else due_at(start, hours, self.calendar)


#: ``database URL -> (config version, rules, limits)``: see :class:`_Context`.
_configs: dict[str, tuple[int, list[Rule], list[Limit]]] = {}
#: ``(database URL, plan id) -> (plan version, layers)``: the intake's plan index. A plan in
#: effect is not edited (only drafts are), and each report checks the version anyway.
_intake_layers: dict[tuple[str, int], tuple[int, Any]] = {}
#: How many plans' indexes the intake keeps (the oldest made goes first).
_INTAKE_LAYERS_KEPT = 4


def _context(conn: Connection, working_hours: WorkingHours | None,
             version: int | None = None) -> _Context:
    """The routing context, from memory when ``version`` (read now when None) is the one the
    rules and limits in memory were read under. Edge case: a version read before a concurrent
    edit commits, and the tables after, caches the newer tables under the older number; the
    next check then reloads them (never the reverse: the tables are read after the number)."""
    if version is None:
        version = repo.config_version(conn)
    key = str(conn.engine.url)
    cached = _configs.get(key)
    if cached is None or cached[0] != version:
        cached = (version, repo.rules(conn), repo.limits(conn))
        _configs[key] = cached
    return _Context(cached[1], cached[2], working_hours)


def _layers_for_intake(engine: Engine, plan_id: int, known: int | None = None
                       ) -> tuple[int, Any]:
    """``(plan version, layers)`` of a plan from memory; read again when ``known`` (the version
    the database just gave) differs from the one in memory."""
    key = (str(engine.url), plan_id)
    cached = _intake_layers.get(key)
    if cached is None or (known is not None and cached[0] != known):
        from gridsvc.db.areas import plan_version

        with engine.connect() as conn:
            version = plan_version(conn, plan_id)
        if version is None:
            raise NotFound(f"no plan with id {plan_id}")
        cached = (version, plan_layers(engine, plan_id))
        _intake_layers[key] = cached
        while len(_intake_layers) > _INTAKE_LAYERS_KEPT:  # plans replaced by activations
            del _intake_layers[next(iter(_intake_layers))]
    return cached


def _routing(conn: Connection, ctx: _Context, plan_id: int | None, cells: dict[str, Any],
             category: str, grade: Grade, level: str,
             people: tuple[dict, dict] | None = None,
             names: dict[tuple[str, str], str] | None = None) -> dict[str, Any]:
    """The routing of one event as stored: the unit, its handlers and who is told, by name."""
    present = {(k, v) for k, v in cells.items() if v is not None}
    links, who = people if people is not None else repo.cell_people(conn, present)
    if names is None:
        names = repo.names_of(conn, plan_id, present) if plan_id is not None else {}
    place = Place(cells, {k: names.get((k, v), "") for k, v in present})
    result: Routing = route(place, category, grade, level, ctx.rules, links)
    out = result.as_dict()
    out["people"] = [{"pk": pk, **who[pk], "handler": pk in result.handlers}
                     for pk in (*result.handlers, *result.informed) if pk in who]
    return out


def _locate(engine: Engine, data: dict[str, Any], dispatch: Any) -> tuple[float, float, str, dict]:
    """The point of a report: ``(x, y, crs name, extra)`` from lon/lat, a house or a compound."""
    if data.get("lon") is not None and data.get("lat") is not None:
        crs = str(data.get("crs") or "4326")
        try:
            name = parse_input_crs(crs).name
        except InvalidInput:
            raise
        except Exception as exc:  # pyproj's own errors: a CRS no one can read
            raise InvalidInput([Problem(f"unknown CRS: {exc}", field="crs")]) from None
        return float(data["lon"]), float(data["lat"]), name, {}
    if data.get("house"):
        if dispatch is None:
            from gridsvc.services.dispatch import DispatchService
            from gridsvc.services.lookup import LookupService

            dispatch = DispatchService(engine, LookupService(engine))
        found = dispatch.dispatch(data["house"], limit=3)
        best = found.get("best")
        if best is None:
            raise InvalidInput([Problem(f"no house matches {data['house']!r}: say the village "
                                        "and the number, e.g. 东灌底村203号", field="house")])
        lon, lat = best["point"]["cgcs2000"]
        return lon, lat, "EPSG:4490", {"house_id": best["house_id"]}
    if data.get("compound_id"):
        with engine.connect() as conn:
            point = repo.compound_point(conn, data["compound_id"])
        if point is None:
            raise InvalidInput([Problem(f"no compound {data['compound_id']!r}",
                                        field="compound_id")])
        return point[0], point[1], "EPSG:4490", {"compound_id": data["compound_id"]}
    raise InvalidInput([Problem("say where: lon and lat, a house, or a compound_id",
                                field="lon,lat")])


def create_event(engine: Engine, data: dict[str, Any], *, actor: str, account_id: int | None,
                 idempotency_key: str | None, dispatch: Any = None, lookup: Any = None,
                 near_boundary_m: float = NEAR_BOUNDARY_M,
                 working_hours: WorkingHours | None = None) -> tuple[dict[str, Any], bool]:
    """Report an event: placed, given the cells of the plan in effect, routed, timed.

    Parameters
    ----------
    data
        ``category`` (a code of the catalogue), ``grade`` (general|major|serious|urgent or
        一般/较大/重大/紧急), ``description``, ``parties``; the place: ``lon, lat`` (in ``crs``,
        default EPSG:4326), or ``house`` (as a caller says it), or ``compound_id``;
        ``occurred_at`` (with a time zone; default now).
    idempotency_key
        The client's key for this report: a retry with the same key (from the same account)
        makes nothing and answers the event made the first time.
    dispatch
        The app's :class:`~gridsvc.services.dispatch.DispatchService` (to parse a house);
        one is built when None.
    lookup
        The app's :class:`~gridsvc.services.lookup.LookupService`, for the plan in effect.

    Returns
    -------
    (event, created)
        ``created`` is False when the key was seen before.

    Raises
    ------
    InvalidInput
        Unknown category or grade; empty or too long text; no place, or one outside the
        service area; a time without a zone or in the future.
    Conflict
        The plan in effect was edited twice while the report was being placed (send it again).
    """
    key = None if idempotency_key is None else f"{account_id or 0}:{idempotency_key}"
    grade = _grade(str(data.get("grade") or "general"))
    description = _text(data, "description", True)
    parties = _text(data, "parties", False)
    occurred = data.get("occurred_at")
    if occurred is not None and occurred.tzinfo is None:
        raise InvalidInput([Problem("give the time zone, e.g. 2026-12-05T09:30:00+08:00",
                                    field="occurred_at")])
    lon, lat, crs_name, extra = _locate(engine, data, dispatch)
    # The app's lookup knows the plan in effect (rechecked once a second): no round trip.
    plan_id = lookup.plan_for(None) if lookup is not None else current_plan(engine)
    category = str(data.get("category") or "").strip()
    # One transaction of two round trips (intake is the hot path: bench/events.py): what it
    # reads in one statement, what it writes (event, history, audit) in another.
    known_version = None
    for _ in range(2):
        version, layers = _layers_for_intake(engine, plan_id, known_version)
        x, y, cells = locate(lon, lat, crs_name, layers)
        cells = {k: cells.get(k) for k in repo.CELL_KINDS}
        with engine.begin() as conn:
            facts = repo.intake_facts(conn, key, category, plan_id, cells, x, y,
                                      near_boundary_m)
            if facts["plan_version"] != version:
                known_version = facts["plan_version"]
                continue  # the plan changed since its index was built: locate again
            if facts["seen"] is not None:
                return get_event(engine, facts["seen"]), False
            made = _report(conn, facts, data, plan_id, cells, x, y, lon, lat, crs_name,
                           extra, grade, category, description, parties, occurred, key,
                           actor, account_id, working_hours)
        if made is None:  # the same key committed by a concurrent retry: that one stands
            with engine.connect() as conn:
                seen = repo.id_by_key(conn, key or "")
            return get_event(engine, seen), False
        return made, True
    raise Conflict(f"the boundaries of plan {plan_id} changed while reporting; send it again")


def _report(conn: Connection, facts: dict[str, Any], data: dict[str, Any], plan_id: int,
            cells: dict[str, Any], x: float, y: float, lon: float, lat: float, crs_name: str,
            extra: dict[str, Any], grade: Grade, category: str, description: str | None,
            parties: str | None, occurred: datetime | None, key: str | None, actor: str,
            account_id: int | None, working_hours: WorkingHours | None
            ) -> dict[str, Any] | None:
    """Route, time and write a new report in the caller's transaction; the event as
    :func:`get_event` answers it, built from what was written (no read back), or None when
    the key was taken meanwhile."""
    at, event_id = facts["at"], facts["id"]
    if not facts["known"]:
        _category(conn, data.get("category"))  # raises, naming the categories
    if occurred is not None and occurred > at + timedelta(minutes=5):
        raise InvalidInput([Problem("occurred_at is in the future", field="occurred_at")])
    ctx = _context(conn, working_hours, facts["config"])
    level = start_level(grade is Grade.urgent)
    routing = _routing(conn, ctx, plan_id, cells, category, grade, level,
                       people=facts["people"], names=facts["names"])
    row = {"id": event_id, "business_id": f"EV{event_id:08d}", "category": category,
           "grade": grade.value, "state": State.reported.value, "level": level,
           "description": description, "parties": parties,
           "house_id": extra.get("house_id"), "compound_id": extra.get("compound_id"),
           "reporter": actor, "reporter_account_id": account_id, "routing": routing,
           "unit_kind": routing["unit_kind"], "unit_id": routing["unit_id"],
           "near_boundary": facts["near"], "occurred_at": occurred or at,
           "expected_at": ctx.deadline(at, category, grade, State.reported),
           "idempotency_key": key, "x": x, "y": y,
           **{f"{k}_id": v for k, v in cells.items()},
           "src_x": lon, "src_y": lat, "src_crs": crs_name, "cells_plan_id": plan_id}
    first = {"event_id": event_id, "actor": actor, "account_id": account_id,
             "action": "report", "from_state": None, "to_state": State.reported.value,
             "from_level": None, "to_level": level, "details": {"routing": _brief(routing)}}
    entry = {"actor": actor, "action": "event.create", "object_kind": "event",
             "object_id": row["business_id"],
             "after": {k: v for k, v in row.items() if k != "routing"}}
    written = repo.report(conn, row, first, entry)
    if written is None:
        return None
    visible = facts["visible"]
    event = {k: row[k] for k in _EVENT_KEYS if k in row}
    zone = at.tzinfo  # times as the database gives them back (its session's zone)
    event |= {"lon": x, "lat": y, "overdue": False, "late": False, "created_at": at,
              "occurred_at": row["occurred_at"].astimezone(zone),
              "expected_at": row["expected_at"] and row["expected_at"].astimezone(zone),
              "updated_at": at, "handled_at": None, "finished_at": None, "version": 1,
              "routing": {**routing, "people": [p for p in routing["people"]
                                                if p["pk"] in visible]}}
    history = [{"id": written[0], "at": written[1], "actor": actor, "action": "report",
                "from_state": None, "to_state": State.reported.value, "from_level": None,
                "to_level": level, "note": None, "reason": None, "attachments": [],
                "details": first["details"]}]
    return {**{k: event[k] for k in _EVENT_ORDER}, "history": history, "photos": []}


#: The keys of an event as :func:`get_event` answers it (``repo.COLUMNS``), in that order.
_EVENT_ORDER = ("id", "business_id", "category", "grade", "state", "level", "description",
                "parties", "house_id", "compound_id", "lon", "lat", "town_id", "village_id",
                "grid_id", "station_id", "beat_id", "cells_plan_id", "src_x", "src_y",
                "src_crs", "reporter", "reporter_account_id", "routing", "unit_kind",
                "unit_id", "expected_at", "overdue", "late", "near_boundary", "occurred_at",
                "created_at", "updated_at", "handled_at", "finished_at", "version")
_EVENT_KEYS = frozenset(_EVENT_ORDER)


def _category(conn: Connection, code: Any) -> str:
    known = {c["code"] for c in repo.categories(conn, active_only=True)}
    code = str(code or "").strip()
    if code not in known:
        raise InvalidInput([Problem(f"unknown category {code!r}; categories are "
                                    f"{', '.join(sorted(known))}", field="category")])
    return code


def _brief(routing: dict[str, Any]) -> dict[str, Any]:
    return {k: routing.get(k) for k in ("unit_kind", "unit_id", "unit_name", "handlers",
                                        "fallback")}


# -- reading -----------------------------------------------------------------------------------

def _public(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["overdue"] = bool(out.get("overdue"))
    out["station_id"] = out.get("station_id")
    return out


def _hide_people(conn: Connection, items: list[dict[str, Any]],
                 visible: set[int] | None = None) -> list[dict[str, Any]]:
    """Events with their routing's ``people`` cut to those the caller may see (the person
    policy): routing names everyone of the unit, a grid worker need not see the beat's
    auxiliaries by name."""
    pks = {p["pk"] for e in items for p in (e.get("routing") or {}).get("people", [])}
    if not pks:
        return items
    seen = repo.visible_people(conn, pks) if visible is None else visible
    for e in items:
        routing = e.get("routing") or {}
        if "people" in routing:
            e["routing"] = {**routing, "people": [p for p in routing["people"]
                                                  if p["pk"] in seen]}
    return items


def get_event(engine: Engine, event_id: int) -> dict[str, Any]:
    """One event with its ``history`` (every transition, oldest first) and ``photos``.

    Raises
    ------
    NotFound
        No such event, or one outside the caller's scope (the same answer).
    """
    with engine.connect() as conn:
        row = repo.get(conn, event_id)
        if row is None:
            raise NotFound(f"no event with id {event_id}")
        return {**_hide_people(conn, [_public(row)])[0],
                "history": repo.history(conn, event_id), "photos": repo.photos(conn, event_id)}


def _filters(state: str | Iterable[str] | None = None, grid_id: str | None = None,
             village_id: str | None = None, category: str | None = None,
             since: datetime | None = None, until: datetime | None = None,
             overdue: bool | None = None, reporter_account_id: int | None = None,
             open_only: bool = False) -> tuple[list[str], dict[str, Any], str]:
    """The SQL conditions, parameters and order of a list (see :func:`list_events`)."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if state is not None:
        states = [state] if isinstance(state, str) else list(state)
        where.append("e.state = ANY(:states)")
        params["states"] = states
    if open_only:
        where.append(f"e.{OPEN_SQL}")
    for column, value in (("grid_id", grid_id), ("village_id", village_id)):
        if value is not None:
            where.append(f"e.{column} = :{column}")
            params[column] = value
    if category is not None:
        where.append("(e.category = :cat OR e.category LIKE :cat_prefix)")
        params |= {"cat": category, "cat_prefix": category.replace("%", "") + ".%"}
    if since is not None:
        where.append("e.created_at >= :since")
        params["since"] = since
    if until is not None:
        where.append("e.created_at < :until")
        params["until"] = until
    if overdue is True:
        where.append(f"e.{OPEN_SQL} AND e.expected_at < now()")
    elif overdue is False:
        where.append(f"NOT (e.{OPEN_SQL} AND coalesce(e.expected_at < now(), false))")
    if reporter_account_id is not None:
        where.append("e.reporter_account_id = :reporter")
        params["reporter"] = reporter_account_id
    order = "e.expected_at, e.id" if overdue else "e.created_at DESC, e.id DESC"
    return where, params, order


def list_events(engine: Engine, *, limit: int = 100, offset: int = 0,
                **filters: Any) -> dict[str, Any]:
    """Events the caller may see, newest first: ``{items, total}``.

    Filters (keywords, all optional): ``state`` one state or several, ``grid_id``,
    ``village_id``, ``category`` (the code and its sub-categories), ``since`` and ``until``
    (reported in [since, until)), ``overdue`` (True: open and past the deadline, oldest
    deadline first; False: the others), ``reporter_account_id``, ``open_only``.
    """
    where, params, order = _filters(**filters)
    with engine.connect() as conn:
        items, total, visible = repo.search(conn, where, params, order=order, limit=limit,
                                            offset=offset)
        return {"items": _hide_people(conn, [_public(i) for i in items], visible),
                "total": total}


def list_events_json(engine: Engine, *, limit: int = 100, offset: int = 0,
                     **filters: Any) -> str:
    """:func:`list_events` as the JSON text of the answer, written by the database (a page of
    a grid's list is 100 routing documents: parsing them into Python to write them out again
    was most of the list's time). The same keys and values; times in ISO 8601."""
    where, params, order = _filters(**filters)
    with engine.connect() as conn:
        items, total = repo.search_json(conn, where, params, order=order, limit=limit,
                                        offset=offset)
    return f'{{"items": [{", ".join(items)}], "total": {int(total)}}}'


def overdue(engine: Engine, *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Open events past their deadline, the longest overdue first."""
    return list_events(engine, overdue=True, limit=limit, offset=offset)


def changes_since(engine: Engine, after_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """Transitions after ``after_id`` in order, each with its event's id, state, level and
    point (a live map's feed: poll with the last id seen)."""
    with engine.connect() as conn:
        return [{**r, "overdue": bool(r["overdue"])}
                for r in repo.changes_since(conn, after_id, limit)]


# -- the loop ----------------------------------------------------------------------------------

def transition(engine: Engine, event_id: int, action: str, *, actor: str,
               account_id: int | None, note: str | None = None, reason: str | None = None,
               version: int | None = None, attachments: list[int] | None = None,
               working_hours: WorkingHours | None = None) -> dict[str, Any]:
    """Move an event along the loop: ``accept``, ``reject``, ``dispatch``, ``start``,
    ``return``, ``handle``, ``verify``, ``reopen``, ``close``, ``escalate`` or ``reroute``.

    The new step gets its deadline; escalation raises the level (the event is routed again at
    that level); a step done after its deadline marks the event late.

    Raises
    ------
    InvalidInput
        Unknown action; no reason for reject, return, reopen or escalate; attachments that are
        not this event's photos.
    NotFound
        No such event (or outside the scope).
    Conflict
        ``version`` is not the event's current one.
    IllegalTransition
        The action may not start from the event's state (409, naming the state).
    """
    try:
        act = parse_action(action)
    except ValueError as exc:
        raise InvalidInput([Problem(str(exc), field="action")]) from None
    reason = (reason or "").strip() or None
    note = (note or "").strip() or None
    if act in NEEDS_REASON and not (reason or note):
        raise InvalidInput([Problem(f"say why ({act.value} needs a reason)", field="reason")])
    with engine.begin() as conn:
        row = repo.get(conn, event_id, lock=True)
        if row is None:
            raise NotFound(f"no event with id {event_id}")
        if version is not None and version != row["version"]:
            raise Conflict(f"event {event_id} is at version {row['version']}, not {version}: "
                           "it changed since you read it; reload it")
        if attachments:
            mine = {p["id"] for p in repo.photos(conn, event_id)}
            stray = sorted(set(attachments) - mine)
            if stray:
                raise InvalidInput([Problem(f"photos {stray} are not this event's",
                                            field="attachments")])
        state, level = State(row["state"]), row["level"]
        step = apply(state, level, act)
        at = repo.now(conn)
        ctx = _context(conn, working_hours)
        grade = Grade(row["grade"])
        values: dict[str, Any] = {"state": step.state.value, "level": step.level}
        if row["expected_at"] is not None and at > row["expected_at"] and \
                row["handled_at"] is None:
            values["late"] = True
        if step.state is not state or step.level != level:
            values["expected_at"] = ctx.deadline(at, row["category"], grade, step.state)
        details: dict[str, Any] = {}
        if step.level != level or act is Action.reroute:
            routing = _routing(conn, ctx, row["cells_plan_id"], _cells_of(row),
                               row["category"], grade, step.level)
            values |= {"routing": routing, "unit_kind": routing["unit_kind"],
                       "unit_id": routing["unit_id"]}
            details = {"routing_before": _brief(row["routing"]), "routing": _brief(routing)}
        if step.state is State.handled:
            values["handled_at"] = at
        if step.state in FINAL:
            values["finished_at"] = at
        repo.update(conn, event_id, values)
        repo.add_transitions(conn, [{
            "event_id": event_id, "actor": actor, "account_id": account_id,
            "action": act.value, "from_state": state.value, "to_state": step.state.value,
            "from_level": level, "to_level": step.level, "note": note, "reason": reason,
            "attachments": list(attachments or []), "details": details}])
        audit.record(conn, actor=actor, action=f"event.{act.value}", object_kind="event",
                     object_id=row["business_id"],
                     before={"state": state.value, "level": level, "version": row["version"]},
                     after={**{k: v for k, v in values.items() if k != "routing"},
                            "note": note, "reason": reason})
    return get_event(engine, event_id)


def update_event(engine: Engine, event_id: int, *, actor: str, account_id: int | None,
                 category: str | None = None, grade: str | None = None,
                 description: str | None = None, parties: str | None = None,
                 version: int | None = None,
                 working_hours: WorkingHours | None = None) -> dict[str, Any]:
    """Correct an open event's category, grade, description or parties. A new category or
    grade routes it again (a ``reroute`` step in its history), else an ``edit`` step.

    Raises
    ------
    InvalidInput
        Unknown category or grade, empty or too long text.
    NotFound
        No such event (or outside the scope).
    Conflict
        The event is final, or ``version`` is not its current one.
    """
    with engine.begin() as conn:
        row = repo.get(conn, event_id, lock=True)
        if row is None:
            raise NotFound(f"no event with id {event_id}")
        if version is not None and version != row["version"]:
            raise Conflict(f"event {event_id} is at version {row['version']}, not {version}: "
                           "it changed since you read it; reload it")
        if State(row["state"]) in FINAL:
            raise Conflict(f"event {event_id} is {row['state']}: a final event is not edited")
        values: dict[str, Any] = {}
        if category is not None and category != row["category"]:
            values["category"] = _category(conn, category)
        if grade is not None and _grade(grade).value != row["grade"]:
            values["grade"] = _grade(grade).value
        for key, value in (("description", description), ("parties", parties)):
            if value is not None:
                values[key] = _text({key: value}, key, key == "description")
        if not values:
            return get_event(engine, event_id)
        reroute = "category" in values or "grade" in values
        details: dict[str, Any] = {"before": {k: row[k] for k in values}, "after": dict(values)}
        if reroute:
            ctx = _context(conn, working_hours)
            new_grade = Grade(values.get("grade", row["grade"]))
            new_category = values.get("category", row["category"])
            routing = _routing(conn, ctx, row["cells_plan_id"], _cells_of(row), new_category,
                               new_grade, row["level"])
            values |= {"routing": routing, "unit_kind": routing["unit_kind"],
                       "unit_id": routing["unit_id"],
                       "expected_at": ctx.deadline(repo.now(conn), new_category, new_grade,
                                                   State(row["state"]))}
            details |= {"routing_before": _brief(row["routing"]), "routing": _brief(routing)}
        repo.update(conn, event_id, values)
        repo.add_transitions(conn, [{
            "event_id": event_id, "actor": actor, "account_id": account_id,
            "action": "reroute" if reroute else "edit", "from_state": row["state"],
            "to_state": row["state"], "from_level": row["level"], "to_level": row["level"],
            "details": details}])
        audit.record(conn, actor=actor, action="event.edit", object_kind="event",
                     object_id=row["business_id"], before=details["before"],
                     after=details["after"])
    return get_event(engine, event_id)


def _cells_of(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[f"{k}_id"] for k in repo.CELL_KINDS}


# -- the periodic sweep and re-routing in bulk -------------------------------------------------

def _reroute_rows(conn: Connection, ctx: _Context, rows: list[dict[str, Any]], plan_id: int,
                  cells: list[dict[str, Any]], levels: list[str]) -> list[dict[str, Any]]:
    """Routing of many events at once: people and names fetched once for all their cells."""
    present = {(k, v) for c in cells for k, v in c.items() if v is not None}
    people = repo.cell_people(conn, present)
    names = repo.names_of(conn, plan_id, present)
    cache: dict[tuple, dict[str, Any]] = {}
    out = []
    for row, c, level in zip(rows, cells, levels, strict=True):
        key = (tuple(sorted(c.items(), key=lambda kv: kv[0])), row["category"], row["grade"],
               level)
        if key not in cache:
            cache[key] = _routing(conn, ctx, plan_id, c, row["category"], Grade(row["grade"]),
                                  level, people, names)
        out.append(cache[key])
    return out


def sweep(engine: Engine, *, at: datetime | None = None, limit: int = 2000,
          working_hours: WorkingHours | None = None) -> dict[str, Any]:
    """Escalate every open event whose deadline has passed (上报): one level up, routed again
    there, with a new deadline, marked late; recorded as done by ``system``. Events already at
    the county are marked late.

    Safe with several service processes: the sweep takes a transaction-level advisory lock and
    skips when another holds it, and skips events locked by a person changing them right now.
    Run it with the owner's engine (the sweep sees every event).

    Returns
    -------
    dict
        ``escalated`` (business ids), ``late_at_top`` (count), ``skipped`` (another sweep ran).
    """
    with engine.begin() as conn:
        if not repo.try_sweep_lock(conn):
            return {"escalated": [], "late_at_top": 0, "skipped": True}
        now = at or repo.now(conn)
        rows = repo.overdue_to_escalate(conn, now, limit)
        if rows:
            ctx = _context(conn, working_hours)
            steps = [apply(State(r["state"]), r["level"], Action.escalate) for r in rows]
            by_plan: dict[int | None, list[int]] = {}
            for i, r in enumerate(rows):
                by_plan.setdefault(r["cells_plan_id"], []).append(i)
            routings: list[dict[str, Any]] = [{}] * len(rows)
            for plan_id, idx in by_plan.items():
                found = _reroute_rows(conn, ctx, [rows[i] for i in idx], plan_id or 0,
                                      [_cells_of(rows[i]) for i in idx],
                                      [steps[i].level for i in idx])
                for i, r in zip(idx, found, strict=True):
                    routings[i] = r
            updates, history = [], []
            for r, step, routing in zip(rows, steps, routings, strict=True):
                updates.append({
                    "id": r["id"], "state": step.state.value, "level": step.level,
                    "routing": routing, "unit_kind": routing["unit_kind"],
                    "unit_id": routing["unit_id"], "late": True,
                    "expected_at": ctx.deadline(now, r["category"], Grade(r["grade"]),
                                                step.state),
                    **{f"{k}_id": r[f"{k}_id"] for k in repo.CELL_KINDS},
                    "cells_plan_id": r["cells_plan_id"]})
                history.append({
                    "event_id": r["id"], "actor": SYSTEM, "action": "escalate",
                    "from_state": r["state"], "to_state": step.state.value,
                    "from_level": r["level"], "to_level": step.level,
                    "reason": f"time limit passed at {r['expected_at'].isoformat()}",
                    "details": {"routing_before": _brief(r["routing"]),
                                "routing": _brief(routing)}})
            repo.update_many(conn, updates)
            repo.add_transitions(conn, history)
        top = repo.mark_late_at_top(conn, now)
        escalated = [r["business_id"] for r in rows]
        if escalated or top:
            audit.record(conn, actor=SYSTEM, action="event.sweep", object_kind="event",
                         after={"escalated": escalated[:1000], "count": len(escalated),
                                "late_at_top": top})
    return {"escalated": escalated, "late_at_top": top, "skipped": False}


def reroute_for_plan(conn: Connection, plan_id: int, *, actor: str) -> dict[str, Any]:
    """Move every open event to the cells of ``plan_id`` and route it again, in the caller's
    transaction (a plan taking effect). Events whose cells or routing change get a
    ``reroute`` step naming the cells before; final events keep theirs.

    Returns
    -------
    dict
        ``rerouted``: how many events changed, ``ids``: their business ids.
    """
    import numpy as np

    rows = repo.open_for_reroute(conn)
    if not rows:
        return {"rerouted": 0, "ids": []}
    ctx = _context(conn, None)
    # The plan's cells index in memory (as houses are moved): one vectorised pass.
    found = plan_layers(conn.engine, plan_id).assign(
        np.array([r["lon"] for r in rows]), np.array([r["lat"] for r in rows]))
    columns = {k: found[k].tolist() if k in found else [None] * len(rows)
               for k in repo.CELL_KINDS}
    cells = [{k: (None if columns[k][i] is None else str(columns[k][i]))
              for k in repo.CELL_KINDS} for i in range(len(rows))]
    routings = _reroute_rows(conn, ctx, rows, plan_id, cells, [r["level"] for r in rows])
    # Events of the same cells, category, grade and level share one routing object: its
    # brief is made, and the routing sent to the database, once.
    index: dict[int, int] = {}
    distinct: list[dict[str, Any]] = []
    briefs: list[dict[str, Any]] = []
    changed, relabel = [], []
    for r, c, routing in zip(rows, cells, routings, strict=True):
        i = index.get(id(routing))
        if i is None:
            i = index[id(routing)] = len(distinct)
            distinct.append(routing)
            briefs.append(_brief(routing))
        if c == _cells_of(r) and briefs[i] == r["brief"]:
            if r["cells_plan_id"] != plan_id:
                relabel.append(r["id"])  # same cells, same unit: only the plan id moves
            continue
        changed.append((r["business_id"], [r["id"], *(c[k] for k in repo.CELL_KINDS), i]))
    repo.reroute_many(conn, plan_id, [row for _, row in changed], distinct, actor=actor,
                      note=f"boundaries of plan {plan_id} took effect")
    repo.relabel_plan(conn, relabel, plan_id)
    return {"rerouted": len(changed), "ids": [business_id for business_id, _ in changed]}


# -- photos ------------------------------------------------------------------------------------

def photo_type(data: bytes) -> str | None:
    """The media type of an image from its first bytes (JPEG, PNG, WebP), or None.

    >>> photo_type(b"\\x89PNG\\r\\n\\x1a\\n...")
    'image/png'
    >>> photo_type(b"GIF89a") is None
    True
    """
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def add_photo(engine: Engine, event_id: int, data: bytes, *, actor: str,
              account_id: int | None, photo_dir: Path,
              max_bytes: int = MAX_PHOTO_BYTES) -> dict[str, Any]:
    """Attach a photo to an event the caller may see. The bytes go to ``photo_dir`` under
    their SHA-256 (the same photo twice is stored once), the row names them.

    Raises
    ------
    InvalidInput
        Empty, larger than ``max_bytes``, or not a JPEG, PNG or WebP by its first bytes
        (whatever the request's Content-Type said).
    NotFound
        No such event (or outside the scope).
    """
    if not data:
        raise InvalidInput([Problem("the photo is empty", field="body")])
    if len(data) > max_bytes:
        raise InvalidInput([Problem(f"the photo is larger than {max_bytes:,} bytes",
                                    field="body")])
    media = photo_type(data)
    if media is None:
        raise InvalidInput([Problem("not a JPEG, PNG or WebP image", field="body")])
    digest = hashlib.sha256(data).hexdigest()
    with engine.begin() as conn:
        row = repo.get(conn, event_id, lock=True)
        if row is None:
            raise NotFound(f"no event with id {event_id}")
        path = _photo_path(photo_dir, digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a reader never sees half a photo
        photo_id = repo.add_photo(conn, {"event_id": event_id, "sha256": digest,
                                         "media_type": media, "size": len(data),
                                         "uploaded_by": actor, "account_id": account_id})
        audit.record(conn, actor=actor, action="event.photo", object_kind="event",
                     object_id=row["business_id"],
                     after={"photo_id": photo_id, "sha256": digest, "size": len(data)})
    return {"id": photo_id, "event_id": event_id, "sha256": digest, "media_type": media,
            "size": len(data)}


def get_photo(engine: Engine, event_id: int, photo_id: int, *, photo_dir: Path
              ) -> tuple[str, Path]:
    """``(media type, path)`` of a photo of an event the caller may see.

    Raises
    ------
    NotFound
        No such event or photo, or its file is gone.
    """
    with engine.connect() as conn:
        if repo.get(conn, event_id) is None:
            raise NotFound(f"no event with id {event_id}")
        found = repo.photo(conn, event_id, photo_id)
    if found is None:
        raise NotFound(f"event {event_id} has no photo {photo_id}")
    path = _photo_path(photo_dir, found["sha256"])
    if not path.exists():
        raise NotFound(f"the file of photo {photo_id} is missing from the data folder")
    return found["media_type"], path


def _photo_path(photo_dir: Path, digest: str) -> Path:
    return Path(photo_dir) / digest[:2] / digest


# -- figures -----------------------------------------------------------------------------------

def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), ZONE)
    return start, start + timedelta(days=1)


def today() -> date:
    """Today in Asia/Shanghai (days of the summaries and figures are the town's days)."""
    return datetime.now(ZONE).date()


def daily_summary(engine: Engine, day: date | None = None, *, level: str = "grid"
                  ) -> list[dict[str, Any]]:
    """Per cell of ``level`` (days in Asia/Shanghai; default today): 上报 reported that day,
    化解 handled that day, 在办 open at its end and 超期 of those past their current deadline
    then (the deadline they have now: a past day's 超期 counts today's deadlines).

    Raises
    ------
    InvalidInput
        A level that is not a cell kind.
    """
    if level not in SUMMARY_LEVELS:
        raise InvalidInput([Problem(f"level is one of {', '.join(SUMMARY_LEVELS)}",
                                    field="level")])
    day = day or today()
    start, end = _day_bounds(day)
    with engine.connect() as conn:
        rows = repo.daily_counts(conn, f"{level}_id", start, end)
        plan = _plan_or_none(conn)
        names = repo.names_of(conn, plan, {(level, r["cell"]) for r in rows if r["cell"]}) \
            if plan else {}
    return [{"day": day.isoformat(), "level": level, "cell_id": r["cell"],
             "name": names.get((level, r["cell"])), "reported": r["reported"],
             "resolved": r["resolved"], "open": r["open"], "overdue": r["overdue"]}
            for r in rows]


def _plan_or_none(conn: Connection) -> int | None:
    from gridsvc.db.areas import current_plan_id

    return current_plan_id(conn)


def figures(engine: Engine, *, by: str = "grid", since: date | None = None,
            until: date | None = None, category: str | None = None) -> list[dict[str, Any]]:
    """The assessment figures of events reported in [since, until) per ``by`` (a cell kind,
    ``category``, ``day`` or ``month``): counts, and the rates

    - 按期处置率 ``on_time_rate``: handled within every deadline / handled;
    - 结案率 ``closure_rate``: closed / reported and not rejected;
    - 化解率 ``resolution_rate``: handled (处置反馈 given) / reported and not rejected.

    A rate with nothing to divide by is None.

    Raises
    ------
    InvalidInput
        An unknown grouping.
    """
    groups = {**{k: f"e.{k}_id" for k in SUMMARY_LEVELS}, "category": "e.category",
              "day": "to_char(e.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')",
              "month": "to_char(e.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"}
    if by not in groups:
        raise InvalidInput([Problem(f"by is one of {', '.join(groups)}", field="by")])
    where, params = [], {}
    if since is not None:
        where.append("e.created_at >= :since")
        params["since"] = _day_bounds(since)[0]
    if until is not None:
        where.append("e.created_at < :until")
        params["until"] = _day_bounds(until)[0]
    if category is not None:
        where.append("(e.category = :cat OR e.category LIKE :cat_prefix)")
        params |= {"cat": category, "cat_prefix": category.replace("%", "") + ".%"}
    with engine.connect() as conn:
        rows = repo.figure_counts(conn, groups[by], where, params)
        plan = _plan_or_none(conn)
        names = repo.names_of(conn, plan, {(by, r["key"]) for r in rows if r["key"]}) \
            if plan and by in SUMMARY_LEVELS else {}
    out = []
    for r in rows:
        accepted = r["reported"] - r["rejected"]
        out.append({"by": by, "key": r["key"], "name": names.get((by, r["key"])), **r,
                    "on_time_rate": _rate(r["handled_on_time"], r["handled"]),
                    "closure_rate": _rate(r["closed"], accepted),
                    "resolution_rate": _rate(r["handled"], accepted)})
    return out


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


# -- the first page's section --------------------------------------------------------------------

STATE_NAMES = {"reported": "已上报", "accepted": "已立案", "rejected": "不予立案",
               "dispatched": "已派遣", "in_hand": "处置中", "returned": "已退回",
               "handled": "已处置", "verified": "已核查", "closed": "已结案"}
#: Events the first page lists.
MY_EVENTS = 20


def my_events_html(engine: Engine, principal: Any) -> str:
    """The "my events" section of a person's first page: the events they reported and the open
    events of their cells (the policies decide which), newest first, as escaped HTML."""
    from html import escape

    mine = list_events(engine, reporter_account_id=principal.account_id or 0,
                       limit=MY_EVENTS)["items"] if principal.account_id else []
    around = list_events(engine, open_only=True, limit=MY_EVENTS)["items"]
    seen: dict[int, dict[str, Any]] = {}
    for e in (*mine, *around):
        seen.setdefault(e["id"], e)
    if not seen:
        return '<p class="later">还没有事件 · no events yet</p>'
    names = {c["code"]: c["name"] for c in catalogue(engine, include_inactive=True)}
    items = []
    for e in sorted(seen.values(), key=lambda e: e["created_at"], reverse=True)[:MY_EVENTS]:
        flag = ' <b class="overdue">超期</b>' if e["overdue"] else ""
        who = "我上报" if e["reporter_account_id"] == principal.account_id else e["reporter"]
        items.append(
            f'<li data-event-id="{e["id"]}" data-state="{escape(e["state"])}">'
            f'<span class="muted">{escape(e["business_id"])}</span> '
            f'{escape(names.get(e["category"], e["category"]))} · '
            f'{escape(STATE_NAMES.get(e["state"], e["state"]))}{flag}<br>'
            f'<span class="muted">{escape(e["description"][:80])} · {escape(who)} · '
            f'{e["created_at"].astimezone(ZONE):%m-%d %H:%M}</span></li>')
    return f'<ul class="events">{"".join(items)}</ul>'


# -- the demo town's year of events --------------------------------------------------------------

DEMO_SEED = 20261213


def load_demo_events(conn: Connection, plan_id: int, *, actor: str, seed: int = DEMO_SEED,
                     end: datetime | None = None, per_day: float = 8.0) -> int:
    """A year of generated events (:mod:`gridsvc.domain.events.demo`) in the caller's
    transaction: reported by the grid's worker at a house of the grid, routed, timed, each
    with its whole history. Idempotent: nothing when the demo's events are there already.
    Returns how many were made."""
    import numpy as np

    from gridsvc.domain.events import demo

    if repo.has_demo(conn):
        return 0
    places = repo.demo_places(conn, plan_id)
    end = end or repo.now(conn)
    made = demo.generate(np.random.default_rng(seed), len(places), end, per_day=per_day)
    if not made:
        return 0
    ctx = _context(conn, None)
    reporters = repo.grid_reporters(conn)
    rows = [{"category": e.category, "grade": e.grade.value} for e in made]
    cells = [{k: places[e.place][f"{k}_id"] for k in repo.CELL_KINDS} for e in made]
    routings = _reroute_rows(conn, ctx, rows, plan_id, cells, [e.level for e in made])
    ids = repo.next_ids(conn, len(made))
    events_out, history = [], []
    for n, (e, routing, event_id) in enumerate(zip(made, routings, ids, strict=True)):
        place = places[e.place]
        account, username = reporters.get(place["grid_id"], (None, "demo"))
        out = _demo_row(ctx, e, event_id, n, place, routing, account, username, plan_id)
        events_out.append(out)
        history += _demo_history(e, event_id, account, username, routing)
    repo.insert_many(conn, events_out)
    repo.add_transitions(conn, history)
    audit.record(conn, actor=actor, action="event.demo", object_kind="event",
                 after={"events": len(events_out), "transitions": len(history), "seed": seed})
    return len(events_out)


def _demo_row(ctx: _Context, e: Any, event_id: int, n: int, place: dict[str, Any],
              routing: dict[str, Any], account: int | None, username: str, plan_id: int
              ) -> dict[str, Any]:
    """The stored row of a generated event: its deadline from its last step, late when a step
    took longer than its limit before it was handled."""
    last = e.steps[-1][1] if e.steps else e.created_at
    handled = [at for action, at, _ in e.steps if action is Action.handle]
    finished = e.steps[-1][1] if e.state in FINAL else None
    late, state, level, since = False, State.reported, start_level(e.grade is Grade.urgent), \
        e.created_at
    for action, at, _ in e.steps:
        if handled and at > handled[0]:
            break  # only the steps up to the first handling count for 按期处置
        limit = ctx.deadline(since, e.category, e.grade, state)
        late = late or (limit is not None and at > limit)
        step = apply(state, level, action)
        state, level, since = step.state, step.level, at
    return {"id": event_id, "business_id": f"EV{event_id:08d}", "category": e.category,
            "grade": e.grade.value, "state": e.state.value, "level": e.level,
            "description": e.description, "parties": e.parties or None,
            "house_id": place["house_id"], "reporter": username, "reporter_account_id": account,
            "routing": routing, "unit_kind": routing["unit_kind"],
            "unit_id": routing["unit_id"], "occurred_at": e.created_at,
            "created_at": e.created_at, "updated_at": last,
            "expected_at": ctx.deadline(last, e.category, e.grade, e.state), "late": late,
            "handled_at": handled[-1] if handled else None, "finished_at": finished,
            "version": 1 + len(e.steps), "idempotency_key": f"demo:{n}",
            "x": place["x"], "y": place["y"], "cells_plan_id": plan_id,
            **{f"{k}_id": place[f"{k}_id"] for k in repo.CELL_KINDS}}


def _demo_history(e: Any, event_id: int, account: int | None, username: str,
                  routing: dict[str, Any]) -> list[dict[str, Any]]:
    """The report and every step of a generated event, with who did it (the grid's worker
    reports, the command centre accepts, dispatches, verifies and closes, the unit handles)."""
    out = [{"event_id": event_id, "actor": username, "account_id": account, "action": "report",
            "from_state": None, "to_state": "reported", "from_level": None,
            "to_level": start_level(e.grade is Grade.urgent), "at": e.created_at,
            "details": {}}]
    state, level = State.reported, out[0]["to_level"]
    for action, at, note in e.steps:
        step = apply(state, level, action)
        who = {Action.start: routing["unit_name"], Action.handle: routing["unit_name"],
               Action.return_: routing["unit_name"], Action.escalate: SYSTEM}.get(
                   action, "command")
        out.append({"event_id": event_id, "actor": who, "action": action.value,
                    "from_state": state.value, "to_state": step.state.value,
                    "from_level": level, "to_level": step.level, "at": at,
                    "note": None if action in NEEDS_REASON else note,
                    "reason": note if action in NEEDS_REASON else None, "details": {}})
        state, level = step.state, step.level
    return out


def latest_change_id(engine: Engine) -> int:
    """The id of the newest change of any event (0 when none): where a live feed starts."""
    from gridsvc.db.events_live import latest_change_id as latest

    with engine.connect() as conn:
        return latest(conn)
