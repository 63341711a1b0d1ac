"""Planning: drafts copied from the boundaries in effect, and edits of a draft's cells.

Every edit names the draft's version it was made on (``version``); the edit bumps it, so a
second planner who edited the same version gets a :class:`~gridsvc.errors.Conflict` (HTTP 409)
saying who changed the draft since. Every edit is checked (:mod:`gridsvc.services.
plan_validation`) and written to the audit log with the cells before and after and the check's
result, in the edit's transaction. An invalid geometry is rejected (or repaired with
``make_valid`` when the edit says ``repair``); other problems (overlaps, gaps, ...) are kept in
the draft and listed, because a redraw often passes through them, and activation refuses a
draft that still has errors.

Edits (``op``): ``replace`` (a cell's geometry), ``split`` (a cell by a line), ``merge``
(cells into one), ``transfer`` (a drawn area, or chosen houses, from a cell to its neighbour),
``create`` and ``retire`` (a cell). Geometries are GeoJSON in ``crs`` (default EPSG:4490).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import audit
from gridsvc.db import plans as repo
from gridsvc.db import proposals as proposals_repo
from gridsvc.db.models import AREA_KINDS, PARENT_KIND
from gridsvc.domain.geo.coords import geometries_to_cgcs2000
from gridsvc.domain.plans import plan_edits as edits
from gridsvc.errors import Conflict, InvalidInput, NotFound, Problem
from gridsvc.services.fusion import metric_crs
from gridsvc.services.plan_validation import base_plan, check, problems_geojson

OPS = ("replace", "split", "merge", "transfer", "create", "retire")
#: Most cells an audit entry shows with their geometry (the ids are always all there).
MAX_AUDIT_GEOMETRIES = 20


def _bad(message: str, field: str | None = None, feature: str | None = None) -> InvalidInput:
    return InvalidInput([Problem(message, feature=feature, field=field)])


def get_plan(conn: Connection, plan_id: int) -> dict[str, Any]:
    plan = area_repo.get_plan(conn, plan_id)
    if plan is None:
        raise NotFound(f"no plan with id {plan_id}")
    return plan


def public_plan(plan: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in plan.items() if k != "content_hash"}
    for k in ("effective_from", "created_at"):
        if out.get(k) is not None:
            out[k] = out[k].isoformat()
    return out


def create_draft(engine: Engine, *, name: str, actor: str, from_plan: int | None = None,
                 note: str | None = None, commit: bool = True) -> dict[str, Any]:
    """A new draft: a copy of the cells of ``from_plan`` (default: the plan in effect today).
    With ``commit`` false nothing is kept (a dry run: the answer says what would be made).

    Raises
    ------
    InvalidInput
        An empty name.
    NotFound
        No such plan, or no plan in effect.
    """
    if not name.strip():
        raise _bad("give the draft a name", field="name")
    with engine.connect() as conn, conn.begin() as tx:
        source = from_plan if from_plan is not None else area_repo.current_plan_id(conn)
        if source is None:
            raise NotFound("no plan is in effect to copy: load or import boundaries first")
        get_plan(conn, source)
        plan_id = area_repo.create_plan(
            conn, name=name.strip(), status="draft", based_on_id=source, version=1,
            source="draft", note=note, created_by=actor)
        copied = repo.copy_areas(conn, source, plan_id)
        audit.record(conn, actor=actor, action="plan.create", object_kind="plan",
                     object_id=str(plan_id), after={"based_on_id": source, "cells": copied,
                                                    "name": name.strip()})
        plan = {**get_plan(conn, plan_id), "cells": copied, "committed": commit}
        if not commit:
            tx.rollback()
    return public_plan(plan)


def list_plans(engine: Engine) -> list[dict[str, Any]]:
    """Every plan, newest first, with ``in_effect`` true for the plan in effect today."""
    with engine.connect() as conn:
        rows = repo.list_plans(conn)
        current = area_repo.current_plan_id(conn)
    return [{**public_plan(r), "in_effect": r["id"] == current} for r in rows]


def show_plan(engine: Engine, plan_id: int) -> dict[str, Any]:
    """A plan, its cell counts, and (for a draft) the cells it changes against its base."""
    with engine.connect() as conn:
        plan = get_plan(conn, plan_id)
        counts = area_repo.area_counts(conn, plan_id)
        base = base_plan(conn, plan)
        changes = repo.changed_cells(conn, base, plan_id) if base is not None else []
        current = area_repo.current_plan_id(conn)
    return {**public_plan(plan), "in_effect": plan_id == current, "cells": counts,
            "compared_with": base, "changes": changes}


def take_version(conn: Connection, plan_id: int, version: int | None) -> int:
    """Bump the draft's version if the caller has the latest; else a clear Conflict."""
    if version is None:
        raise _bad("say which version of the draft you edit (If-Match header or 'version')",
                   field="version")
    new = repo.take_version(conn, plan_id, version)
    if new is not None:
        return new
    plan = get_plan(conn, plan_id)
    if plan["status"] != "draft":
        raise Conflict(f"plan {plan_id} is {plan['status']}: only a draft can be edited; "
                       "make a new draft from it")
    last = repo.last_change(conn, plan_id)
    who = f" by {last['actor']} at {last['at']:%Y-%m-%d %H:%M:%S}" if last else ""
    raise Conflict(f"plan {plan_id} is at version {plan['version']}, not {version}: it was "
                   f"changed{who} since you read it; reload the draft and make your edit again")


def _geometry(value: Any, crs: str, field: str, where: str) -> shapely.Geometry:
    if not isinstance(value, dict) or "type" not in value:
        raise _bad("must be a GeoJSON geometry object", field=field, feature=where)
    try:
        geom = shapely.geometry.shape(value)
    except Exception as exc:  # shapely raises several types for bad GeoJSON
        raise _bad(f"not a readable GeoJSON geometry: {exc}", field=field,
                   feature=where) from None
    return geometries_to_cgcs2000(geom, crs)


def _cell(conn: Connection, plan_id: int, kind: str, cid: Any, field: str) -> dict[str, Any]:
    if not isinstance(cid, str) or not cid:
        raise _bad("give a cell id", field=field)
    found = repo.cells(conn, plan_id, kind, [cid]).get(cid)
    if found is None:
        raise _bad(f"the draft has no {kind} {cid!r}", field=field)
    return found


def _taken(conn: Connection, kind: str) -> set[str]:
    """Every id of ``kind`` in use, read under the lock proposals take too: two drafts never
    give one new id to two different cells (the lock holds until the edit commits)."""
    proposals_repo.lock_new_ids(conn, kind)
    return repo.taken_ids(conn, kind)


def _new_cell(conn: Connection, plan_id: int, kind: str, parent_id: str | None,
              name: str | None, geom: shapely.Geometry, taken: set[str]) -> dict[str, Any]:
    parent = None
    if parent_id is not None and PARENT_KIND[kind] is not None:
        parent = repo.cells(conn, plan_id, PARENT_KIND[kind], [parent_id]).get(parent_id)
    ident = edits.next_identity(kind, parent, repo.siblings(conn, kind, parent_id), taken)
    taken.add(ident.business_id)
    return {"business_id": ident.business_id, "code": ident.code, "name": name or ident.name,
            "parent_id": parent_id, "households": None, "residents": None, "attrs": {},
            "geom": geom}


def _apply(conn: Connection, plan_id: int, op: dict[str, Any]
           ) -> tuple[str, dict[str, dict], dict[str, shapely.Geometry], list[dict], list[str]]:
    """Run one edit: ``(kind, cells before, new geometries, new cells, retired ids)``."""
    name = op.get("op")
    if name not in OPS:
        raise _bad(f"unknown edit {name!r}; edits are {', '.join(OPS)}", field="op")
    kind = op.get("kind", "grid")
    if kind not in AREA_KINDS:
        raise _bad(f"unknown kind {kind!r}; kinds are {', '.join(AREA_KINDS)}", field="kind")
    crs, repair = str(op.get("crs") or "4490"), bool(op.get("repair", False))
    before: dict[str, dict] = {}
    geoms: dict[str, shapely.Geometry] = {}
    new: list[dict] = []
    retired: list[str] = []
    if name == "replace":
        cell = _cell(conn, plan_id, kind, op.get("id"), "id")
        where = f"{kind} {cell['id']}"
        before[cell["id"]] = cell
        geoms[cell["id"]] = edits.polygonal(_geometry(op.get("geometry"), crs, "geometry", where),
                                            repair=repair, where=where)
    elif name == "split":
        cell = _cell(conn, plan_id, kind, op.get("id"), "id")
        where = f"{kind} {cell['id']}"
        pieces = edits.split(cell["geom"], _geometry(op.get("line"), crs, "line", where),
                             where=where)
        before[cell["id"]] = cell
        geoms[cell["id"]] = pieces[0]
        names = list(op.get("names") or [])
        taken = _taken(conn, kind)
        for i, piece in enumerate(pieces[1:]):
            new.append(_new_cell(conn, plan_id, kind, cell["parent_id"],
                                 names[i] if i < len(names) else None, piece, taken))
    elif name == "merge":
        ids = op.get("ids")
        if not isinstance(ids, list) or len(set(ids)) < 2:
            raise _bad("give two or more cell ids to merge", field="ids")
        cells = [_cell(conn, plan_id, kind, i, "ids") for i in dict.fromkeys(ids)]
        keep = op.get("keep") or cells[0]["id"]
        if keep not in ids:
            raise _bad(f"{keep!r} is not one of the merged cells", field="keep")
        parents = {c["parent_id"] for c in cells}
        if len(parents) > 1:
            raise _bad(f"the cells have different parents ({', '.join(map(str, parents))}): "
                       "move them to one parent first", field="ids")
        before.update({c["id"]: c for c in cells})
        geoms[keep] = edits.merge([c["geom"] for c in cells])
        retired = [c["id"] for c in cells if c["id"] != keep]
    elif name == "transfer":
        source = _cell(conn, plan_id, kind, op.get("from"), "from")
        target = _cell(conn, plan_id, kind, op.get("to"), "to")
        if source["id"] == target["id"]:
            raise _bad("'from' and 'to' are the same cell", field="to")
        where = f"{kind} {source['id']} -> {target['id']}"
        area = _transfer_area(conn, op, source, crs, where)
        rest, grown, _ = edits.transfer(source["geom"], target["geom"], area, where=where)
        before.update({source["id"]: source, target["id"]: target})
        geoms.update({source["id"]: rest, target["id"]: grown})
    elif name == "create":
        parent_id = op.get("parent_id")
        if PARENT_KIND[kind] is not None:
            if not parent_id:
                raise _bad(f"a new {kind} needs its {PARENT_KIND[kind]}", field="parent_id")
            _cell(conn, plan_id, PARENT_KIND[kind], parent_id, "parent_id")
        where = f"new {kind}"
        geom = edits.polygonal(_geometry(op.get("geometry"), crs, "geometry", where),
                               repair=repair, where=where)
        new.append(_new_cell(conn, plan_id, kind, parent_id, op.get("name"), geom,
                             _taken(conn, kind)))
    else:  # retire
        cell = _cell(conn, plan_id, kind, op.get("id"), "id")
        child = next((k for k, p in PARENT_KIND.items() if p == kind), None)
        if child and repo.children_of(conn, plan_id, child, [cell["id"]]):
            raise _bad(f"{kind} {cell['id']} still has {child}s: retire or move them first",
                       field="id")
        before[cell["id"]] = cell
        retired = [cell["id"]]
    return kind, before, geoms, new, retired


def _transfer_area(conn: Connection, op: dict[str, Any], source: dict[str, Any], crs: str,
                   where: str) -> shapely.Geometry:
    """The drawn ``area``, or the part of the source nearest to the chosen ``houses``."""
    if op.get("area") is not None:
        return _geometry(op["area"], crs, "area", where)
    chosen = op.get("houses")
    if not isinstance(chosen, list) or not chosen:
        raise _bad("give the area to move (GeoJSON) or the houses to move (their ids)",
                   field="area")
    geom = source["geom"]
    inside = repo.houses_in_box(conn, shapely.bounds(geom).tolist())
    points = shapely.points(inside["x"], inside["y"])
    covered = shapely.covers(geom, points) if len(points) else np.zeros(0, bool)
    ids = inside["id"][covered]
    xy = np.column_stack([inside["x"][covered], inside["y"][covered]])
    wanted = np.isin(ids, chosen)
    missing = sorted(set(chosen) - set(ids[wanted].tolist()))
    if missing:
        raise _bad(f"not in {source['kind']} {source['id']}: {', '.join(missing[:20])}",
                   field="houses", feature=where)
    return edits.houses_region(geom, xy[wanted], xy[~wanted])


def _snapshot(cells: dict[str, dict], geoms: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, (cid, cell) in enumerate(cells.items()):
        geom = geoms.get(cid, cell.get("geom"))
        item = {k: cell.get(k) for k in ("kind", "code", "name", "parent_id")}
        item["id"] = cid
        if i < MAX_AUDIT_GEOMETRIES and geom is not None:
            item["geometry"] = shapely.geometry.mapping(
                shapely.transform(geom, lambda xy: np.round(xy, 7)))
        out.append(item)
    return out


def edit(engine: Engine, plan_id: int, op: dict[str, Any], *, version: int | None,
         actor: str, commit: bool = True) -> dict[str, Any]:
    """Apply one edit to a draft, check the draft, and audit it, in one transaction (rolled
    back when ``commit`` is false: a dry run showing what the edit would give).

    Returns
    -------
    dict
        ``plan_id``, ``version`` (the new one: send it with the next edit), ``op``,
        ``cells`` (``kind, id, change``: changed, added or retired), ``errors`` and
        ``warnings`` (counts) and ``problems`` (GeoJSON; see
        :func:`gridsvc.services.plan_validation.check`).

    Raises
    ------
    InvalidInput
        A bad edit (unknown op, kind or cell, unreadable or invalid geometry, a line that does
        not cut, cells that are not neighbours, ...), each problem naming its field.
    NotFound
        No such plan.
    Conflict
        The plan is not a draft, or ``version`` is not its current version.
    """
    with engine.connect() as conn, conn.begin() as tx:
        plan = get_plan(conn, plan_id)
        new_version = take_version(conn, plan_id, version)
        kind, before, geoms, new, retired = _apply(conn, plan_id, op)
        repo.set_geometries(conn, plan_id, kind, geoms)
        area_repo.insert_areas(conn, plan_id, kind, new)
        repo.delete_cells(conn, plan_id, kind, retired)
        found = check(conn, plan)
        cells = ([{"kind": kind, "id": c, "change": "changed"} for c in geoms]
                 + [{"kind": kind, "id": c["business_id"], "change": "added"} for c in new]
                 + [{"kind": kind, "id": c, "change": "retired"} for c in retired])
        errors = sum(f.detail.get("severity") == "error" for f in found)
        after_cells = {c: before[c] for c in geoms} | {
            c["business_id"]: {**c, "kind": kind} for c in new}
        audit.record(
            conn, actor=actor, action="plan.edit", object_kind="plan", object_id=str(plan_id),
            before={"version": version, "cells": _snapshot(before, {})},
            after={"version": new_version, "op": _op_summary(op), "changes": cells,
                   "cells": _snapshot(after_cells, geoms),
                   "validation": {"errors": errors, "warnings": len(found) - errors,
                                  "messages": [f.message for f in found[:50]]}})
        problems = problems_geojson(found, metric_crs(conn, plan_id))
        if not commit:
            tx.rollback()
    return {"plan_id": plan_id, "version": new_version if commit else version,
            "op": op.get("op"), "committed": commit, "cells": cells, "errors": errors,
            "warnings": len(found) - errors, "problems": problems}


def _op_summary(op: dict[str, Any]) -> dict[str, Any]:
    """The edit as given, without its (possibly large) geometries."""
    return {k: v for k, v in op.items() if k not in ("geometry", "area", "line")}


def validate(engine: Engine, plan_id: int, *, actor: str) -> dict[str, Any]:
    """Check a plan's changes against its base; the result goes to the audit log."""
    with engine.begin() as conn:
        plan = get_plan(conn, plan_id)
        found = check(conn, plan)
        errors = sum(f.detail.get("severity") == "error" for f in found)
        result = {"plan_id": plan_id, "version": plan["version"],
                  "compared_with": base_plan(conn, plan), "errors": errors,
                  "warnings": len(found) - errors, "checked_at": date.today().isoformat()}
        audit.record(conn, actor=actor, action="plan.validate", object_kind="plan",
                     object_id=str(plan_id),
                     after={**result, "messages": [f.message for f in found[:100]]})
        crs = metric_crs(conn, plan_id)
    return {**result, "problems": problems_geojson(found, crs)}
