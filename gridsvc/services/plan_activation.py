"""Activating a draft on a date, retiring a plan, restoring one, and moving objects to the
plan in effect.

Plans form a timeline: the plan in effect on a day is the active plan with the latest
``effective_from`` on or before it (:func:`gridsvc.db.areas.current_plan_id`). Activating a
draft puts it on the timeline; the plan it replaces stays ``active`` (it is still the plan of
the days before), so lookups and reports ``as_of`` a past date answer with the boundaries of
that date. Retiring a plan takes it off the timeline (the plan before it is in effect again);
restoring a retired plan puts it back.

Houses, patrol points, cameras and offices carry the cells of the plan in effect. Whenever the
plan in effect today changes (activation on today's date, retire, restore, or a future date
that has come: :func:`sync`), they are moved to the new cells in the same transaction as the
change, or nothing is: the four tables are locked against writes while it runs. Incidents are
never moved: they keep the cells of their own time. Open events move and are routed again
(``moved["event"]``: those whose cells or routing changed); final ones keep their cells.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import audit, objects
from gridsvc.db import plans as repo
from gridsvc.errors import Conflict, InvalidInput, NotFound, Problem
from gridsvc.services import events
from gridsvc.services.plan_impact import geometry_changes, point_moves
from gridsvc.services.plan_validation import check

#: Tables whose rows move to the cells of the plan in effect (incidents keep theirs).
MOVING = ("house", "patrol_point", "camera", "office", "compound_entrance")
#: Most ids per table an audit entry lists (counts are always complete).
MAX_AUDIT_IDS = 1000


def _cells(stored: dict[str, np.ndarray], new: dict[str, np.ndarray], sel: np.ndarray
           ) -> dict[str, list[str | None]]:
    out = {}
    for kind in ("town", "village", "grid", "station", "beat"):
        column = new[kind][sel] if kind in new else stored[f"{kind}_id"][sel]
        out[f"{kind}_id"] = [None if v is None else str(v) for v in column]
    return out


def sync_objects(conn: Connection, target: int) -> dict[str, list[str]]:
    """Move every house, patrol point, camera, office and compound entrance to the cells of
    plan ``target``, in the caller's transaction; returns the ids whose cells changed, per
    table.

    Rows are moved from the plan their cells came from: only rows near a cell whose geometry
    differs are assigned again (see :mod:`gridsvc.services.plan_impact`), the others are
    re-labelled in one UPDATE. Rows never assigned go through the SQL path
    (:func:`gridsvc.db.objects.assign_cells`, which agrees with the in-memory one).
    """
    repo.lock_tables(conn, MOVING)
    moved: dict[str, list[str]] = {t: [] for t in MOVING}
    sources = {p for t in MOVING for p in repo.source_plans(conn, t)} - {target}
    for source in sorted(sources, key=lambda p: -1 if p is None else p):
        if source is None:
            for table in MOVING:
                ids = repo.unassigned_ids(conn, table)
                objects.assign_cells(conn, table, target, ids)
                moved[table] += ids
            continue
        changed = geometry_changes(conn, source, target)
        for table, m in point_moves(conn, source, target, changed, MOVING).items():
            mine = m.cols["cells_plan_id"] == source if len(m.cols["id"]) else m.moved
            differs = np.zeros(len(mine), dtype=bool)
            for kind, after in m.after.items():
                differs |= m.cols[f"{kind}_id"] != after
            sel = mine & differs
            ids = [str(i) for i in m.cols["id"][sel]]
            if ids:
                repo.set_point_cells(conn, table, ids, _cells(m.cols, m.after, sel), target)
            repo.repoint(conn, table, source, target)
            moved[table] += ids
    return moved


def _summary(moved: dict[str, list[str]]) -> dict[str, Any]:
    return {"counts": {t: len(ids) for t, ids in moved.items()},
            "ids": {t: ids[:MAX_AUDIT_IDS] for t, ids in moved.items()}}


def _locked(conn: Connection, plan_id: int) -> dict[str, Any]:
    plan = repo.lock_plan(conn, plan_id)
    if plan is None:
        raise NotFound(f"no plan with id {plan_id}")
    return plan


def _check_version(plan: dict[str, Any], version: int | None) -> None:
    if version is not None and version != plan["version"]:
        raise Conflict(f"plan {plan['id']} is at version {plan['version']}, not {version}: it "
                       "was changed since you read it; reload it and check it again")


def _run(engine: Engine, commit: bool, work) -> dict[str, Any]:
    """Run ``work(conn)`` in one transaction; keep it only when ``commit`` (else a dry run)."""
    with engine.connect() as conn, conn.begin() as tx:
        repo.lock_timeline(conn)
        result = work(conn)
        if not commit:
            tx.rollback()
    return {**result, "committed": commit}


def _sync_today(conn: Connection, today: date, actor: str) -> dict[str, list[str]]:
    """Objects to the plan in effect today, and open events with them (moved and routed
    again, in this same transaction: :func:`gridsvc.services.events.reroute_for_plan`)."""
    current = area_repo.current_plan_id(conn, today)
    if current is None:
        return {t: [] for t in MOVING}
    moved = sync_objects(conn, current)
    moved["event"] = events.reroute_for_plan(conn, current, actor=actor)["ids"]
    return moved


def activate(engine: Engine, plan_id: int, *, effective_from: date | None = None,
             version: int | None = None, actor: str, commit: bool = True,
             today: date | None = None) -> dict[str, Any]:
    """Put a draft in effect from ``effective_from`` (default today; a future date is kept
    and takes effect then, when :func:`sync` moves the objects).

    Returns
    -------
    dict
        ``plan_id``, ``effective_from``, ``in_effect`` (already today), ``replaces`` (the
        plan in effect on that date until now), ``moved`` (counts and ids per table; empty
        for a future date) and ``committed``.

    Raises
    ------
    InvalidInput
        A date before today (it would rewrite history), or a draft with errors (listed).
    Conflict
        Not a draft; ``version`` is not the current one; or the draft was drawn from another
        plan than the one in effect on that date (someone activated a plan since).
    NotFound
        No such plan.
    """
    today = today or date.today()
    when = effective_from or today

    def work(conn: Connection) -> dict[str, Any]:
        plan = _locked(conn, plan_id)
        if plan["status"] != "draft":
            raise Conflict(f"plan {plan_id} is {plan['status']}, not a draft")
        _check_version(plan, version)
        if when < today:
            raise InvalidInput([Problem(f"{when} is in the past: a plan takes effect today or "
                                        "later (history is never rewritten)",
                                        field="effective_from")])
        replaces = area_repo.current_plan_id(conn, when)
        if plan["based_on_id"] is not None and replaces != plan["based_on_id"]:
            raise Conflict(f"plan {plan_id} was drawn from plan {plan['based_on_id']}, but plan "
                           f"{replaces} is in effect on {when}: make a new draft from it")
        errors = [f for f in check(conn, plan) if f.detail.get("severity") == "error"]
        if errors:
            raise InvalidInput([Problem(f.message, feature=", ".join(f.cells), field=f.kind)
                                for f in errors])
        repo.set_status(conn, plan_id, "active", when)
        moved = _sync_today(conn, today, actor) if when <= today else {t: [] for t in MOVING}
        audit.record(conn, actor=actor, action="plan.activate", object_kind="plan",
                     object_id=str(plan_id),
                     before={"status": plan["status"], "version": plan["version"],
                             "in_effect": replaces},
                     after={"status": "active", "effective_from": when, **_summary(moved)})
        return {"plan_id": plan_id, "effective_from": when.isoformat(),
                "in_effect": when <= today, "replaces": replaces,
                "moved": {t: len(v) for t, v in moved.items()}, "moved_ids": moved}

    return _run(engine, commit, work)


def retire(engine: Engine, plan_id: int, *, version: int | None = None, actor: str,
           commit: bool = True, today: date | None = None) -> dict[str, Any]:
    """Retire a plan: a draft is dropped, an active plan leaves the timeline (the plan before
    it is in effect again, and objects move back to its cells).

    Raises
    ------
    Conflict
        Already retired; ``version`` not current; or no plan would be in effect today.
    NotFound
        No such plan.
    """
    today = today or date.today()

    def work(conn: Connection) -> dict[str, Any]:
        plan = _locked(conn, plan_id)
        if plan["status"] == "retired":
            raise Conflict(f"plan {plan_id} is retired already")
        _check_version(plan, version)
        before = area_repo.current_plan_id(conn, today)
        repo.set_status(conn, plan_id, "retired")
        now = area_repo.current_plan_id(conn, today)
        if now is None and before is not None:
            raise Conflict(f"retiring plan {plan_id} would leave no plan in effect on {today}: "
                           "activate another plan first")
        moved = _sync_today(conn, today, actor) if now != before else {t: [] for t in MOVING}
        audit.record(conn, actor=actor, action="plan.retire", object_kind="plan",
                     object_id=str(plan_id),
                     before={"status": plan["status"], "in_effect": before},
                     after={"status": "retired", "in_effect": now, **_summary(moved)})
        return {"plan_id": plan_id, "in_effect": now,
                "moved": {t: len(v) for t, v in moved.items()}}

    return _run(engine, commit, work)


def restore(engine: Engine, plan_id: int, *, effective_from: date | None = None,
            actor: str, commit: bool = True, today: date | None = None) -> dict[str, Any]:
    """Put a retired plan back on the timeline, from its own date or ``effective_from``.

    Raises
    ------
    InvalidInput
        A plan that never had a date (a dropped draft) and no ``effective_from``.
    Conflict
        The plan is not retired.
    NotFound
        No such plan.
    """
    today = today or date.today()

    def work(conn: Connection) -> dict[str, Any]:
        plan = _locked(conn, plan_id)
        if plan["status"] != "retired":
            raise Conflict(f"plan {plan_id} is {plan['status']}: only a retired plan can be "
                           "restored")
        when = effective_from or plan["effective_from"]
        if when is None:
            raise InvalidInput([Problem("the plan never had a date: give effective_from",
                                        field="effective_from")])
        before = area_repo.current_plan_id(conn, today)
        repo.set_status(conn, plan_id, "active", when)
        now = area_repo.current_plan_id(conn, today)
        moved = _sync_today(conn, today, actor) if now != before else {t: [] for t in MOVING}
        audit.record(conn, actor=actor, action="plan.restore", object_kind="plan",
                     object_id=str(plan_id),
                     before={"status": "retired", "in_effect": before},
                     after={"status": "active", "effective_from": when, "in_effect": now,
                            **_summary(moved)})
        return {"plan_id": plan_id, "effective_from": when.isoformat(), "in_effect": now,
                "moved": {t: len(v) for t, v in moved.items()}}

    return _run(engine, commit, work)


def sync(engine: Engine, *, actor: str, commit: bool = True,
         today: date | None = None) -> dict[str, Any]:
    """Move objects to the plan in effect today (run daily: a plan activated for a future
    date takes effect for lookups on its date by itself, and for the objects' stored cells
    when this runs). Audited only when something was relabelled or moved."""
    today = today or date.today()

    def work(conn: Connection) -> dict[str, Any]:
        current = area_repo.current_plan_id(conn, today)
        stale = any(p != current for t in MOVING for p in repo.source_plans(conn, t))
        moved = _sync_today(conn, today, actor) if stale else {t: [] for t in MOVING}
        if stale:
            audit.record(conn, actor=actor, action="plan.sync", object_kind="plan",
                         object_id=str(current), after=_summary(moved))
        return {"plan_id": current, "moved": {t: len(v) for t, v in moved.items()}}

    return _run(engine, commit, work)
