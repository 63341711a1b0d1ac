"""What a draft moves: houses, incidents, patrol points, cameras and offices changing cells,
the workload per beat, grid, officer and grid worker before and after, and newly split cells.

Only points in the box of a cell whose geometry changed can change cells (a point covered by
unchanged cells only is covered by the same cells in both plans), so only those are read and
assigned, against small indexes of the cells around them (:class:`~gridsvc.domain.assign.
layers.Layer`, the same covers rule and tie-break as every lookup). The same moves are what
activation writes (:mod:`gridsvc.services.plan_activation`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import plans as repo
from gridsvc.db.models import SRID
from gridsvc.domain.assign.layers import Layer
from gridsvc.domain.reports import staffing
from gridsvc.domain.reports.fusion import _splits as split_findings
from gridsvc.errors import InvalidInput, NotFound, Problem
from gridsvc.services.fusion import metric_crs
from gridsvc.services.plans import get_plan

#: Point tables in the preview, in the order they are listed.
TABLES = ("house", "incident", "patrol_point", "camera", "office", "compound_entrance")
#: Default window of the incidents listed, months back from today.
DEFAULT_MONTHS = 12


@dataclass
class Moves:
    """Rows of one table near changed cells, and their cells under two plans.

    ``cols`` are the rows' columns (see :func:`gridsvc.db.plans.candidate_points`);
    ``before``/``after`` the cell id per changed kind under each plan (None: in no cell);
    ``moved`` marks rows whose cell differs for at least one kind.
    """

    table: str
    cols: dict[str, np.ndarray]
    before: dict[str, np.ndarray]
    after: dict[str, np.ndarray]
    moved: np.ndarray


def geometry_changes(conn: Connection, base: int, draft: int,
                     changes: list[dict[str, Any]] | None = None) -> dict[str, list[str]]:
    """Ids of the cells whose geometry differs (or which exist in one plan only), by kind
    (from ``changes``, :func:`gridsvc.db.plans.changed_cells`, when the caller has them)."""
    out: dict[str, list[str]] = defaultdict(list)
    for change in changes if changes is not None else repo.changed_cells(conn, base, draft):
        if change["geometry"]:
            out[change["kind"]].append(change["id"])
    return dict(out)


def _assigner(conn: Connection, box: tuple[float, float, float, float]):
    built: dict[tuple[int, str], Layer | None] = {}

    def assign(plan_id: int, kind: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        key = (plan_id, kind)
        if key not in built:
            ids, wkb = repo.cells_in_box(conn, plan_id, kind, box)
            built[key] = None if not ids else Layer.build(
                kind, ids, shapely.from_wkb(np.array(wkb, dtype=object)), SRID, one_off=True)
        layer = built[key]
        if layer is None:
            return np.full(len(x), None, dtype=object)
        return np.append(layer.ids, None)[layer.assign(x, y)]

    return assign


def point_moves(conn: Connection, base: int, draft: int, changed: dict[str, list[str]],
                tables: tuple[str, ...] = TABLES, *, since: datetime | None = None
                ) -> dict[str, Moves]:
    """Per table, the rows near changed cells with their cells under ``base`` and ``draft``.

    ``since`` limits incidents to those from that time on.
    """
    kinds = [k for k, ids in changed.items() for _ in ids]
    ids = [i for k in changed for i in changed[k]]
    cols = {t: repo.candidate_points(conn, t, [base, draft], kinds, ids,
                                     since=since if t == "incident" else None)
            for t in tables} if ids else {}
    xs = np.concatenate([c["x"] for c in cols.values()] or [np.zeros(0)])
    ys = np.concatenate([c["y"] for c in cols.values()] or [np.zeros(0)])
    out = {}
    assign = _assigner(conn, (xs.min(), ys.min(), xs.max(), ys.max())) if len(xs) else None
    for table in tables:
        c = cols.get(table) or {"id": np.zeros(0, dtype=object), "x": np.zeros(0),
                                "y": np.zeros(0)}
        n = len(c["id"])
        before, after = {}, {}
        moved = np.zeros(n, dtype=bool)
        if n and assign is not None:
            for kind in changed:
                before[kind] = assign(base, kind, c["x"], c["y"])
                after[kind] = assign(draft, kind, c["x"], c["y"])
                moved |= before[kind] != after[kind]
        out[table] = Moves(table, c, before, after, moved)
    return out


def _months_ago(months: int, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now - timedelta(days=round(months * 30.4375))


def _items(m: Moves) -> list[dict[str, Any]]:
    """The moved rows as dicts: id, the table's own columns, lon/lat, cells before and after
    (only the kinds that change)."""
    skip = {"id", "x", "y", "cells_plan_id", *(f"{k}_id" for k in
                                               ("town", "village", "grid", "station", "beat"))}
    extra = [k for k in m.cols if k not in skip]
    out = []
    for i in np.flatnonzero(m.moved):
        row: dict[str, Any] = {"id": m.cols["id"][i]}
        for k in extra:
            value = m.cols[k][i]
            row["village_id" if k == "address_village_id" else k] = (
                value.isoformat() if isinstance(value, datetime) else value)
        row["lon"], row["lat"] = round(float(m.cols["x"][i]), 7), round(float(m.cols["y"][i]), 7)
        changed = [k for k in m.before if m.before[k][i] != m.after[k][i]]
        row["before"] = {k: m.before[k][i] for k in changed}
        row["after"] = {k: m.after[k][i] for k in changed}
        out.append(row)
    return out


def _sums(moves: Moves, kind: str, before: dict[str, tuple[int, int, int]]
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Houses, households and residents per cell of ``kind``, before and after the moves."""
    cells = sorted(before)
    frame = pd.DataFrame({f"{kind}_id": cells,
                          "houses": [before[c][0] for c in cells],
                          "households": [before[c][1] for c in cells],
                          "residents": [before[c][2] for c in cells]})
    if kind not in moves.before or not moves.moved.any():
        return frame, frame.copy()
    m = moves.moved & (moves.before[kind] != moves.after[kind])
    hh = moves.cols["households"][m].astype(float)
    rs = moves.cols["residents"][m].astype(float)
    out = pd.DataFrame({"cell": moves.before[kind][m], "houses": -1.0, "households": -hh,
                        "residents": -rs})
    into = pd.DataFrame({"cell": moves.after[kind][m], "houses": 1.0, "households": hh,
                         "residents": rs})
    delta = pd.concat([out, into]).dropna(subset=["cell"]).groupby("cell").sum()
    after = frame.set_index(f"{kind}_id").add(delta, fill_value=0).rename_axis(f"{kind}_id")
    return frame, after.reset_index().astype({"houses": "int64", "households": "int64",
                                              "residents": "int64"})


def _workload(conn: Connection, base: int, moves: Moves) -> dict[str, Any]:
    """Beats and grids whose houses change, against the staffing standard, and the officers
    and grid workers responsible for them, before and after."""
    empty = {"beats": [], "grids": [], "officers": [], "grid_workers": []}
    if not moves.moved.any():
        return empty
    touched_by: dict[str, list[str]] = {}
    for kind in ("beat", "grid"):
        if kind in moves.before:
            m = moves.moved
            touched_by[kind] = sorted({c for c in np.concatenate(
                [moves.before[kind][m], moves.after[kind][m]]) if c is not None})
    links = pd.DataFrame(repo.people_links(conn, touched_by),
                         columns=["kind", "area_id", "id", "name", "role"])
    out: dict[str, Any] = {}
    for kind in ("beat", "grid"):
        if kind not in touched_by:
            out[f"{kind}s"] = []
            continue
        touched = touched_by[kind]
        stored = repo.cell_sums(conn, base, kind, touched)
        before, after = _sums(moves, kind, {c: stored.get(c, (0, 0, 0)) for c in touched})
        cells = pd.DataFrame({"id": touched, "station_id": None})
        table = staffing.beat_table if kind == "beat" else staffing.grid_table
        rows_b = staffing.to_records(table(before, links, cells))
        rows_a = staffing.to_records(table(after, links, cells))
        out[f"{kind}s"] = [{"id": b[f"{kind}_id"], "before": _strip(b, kind),
                            "after": _strip(a, kind)} for b, a in zip(rows_b, rows_a, strict=True)
                           if b != a]
    by_cell = {(k[:-1], r["id"]): r for k in ("beats", "grids") for r in out[k]}
    people = []
    for role, kind in (("officer", "beat"), ("officer", "grid"), ("grid_worker", "grid")):
        mine = links[(links["role"] == role) & (links["kind"] == kind)]
        for rec in mine.to_dict("records"):
            cell = by_cell.get((kind, rec["area_id"]))
            if cell is not None:
                people.append({"id": rec["id"], "name": rec["name"], "role": role,
                               kind: rec["area_id"], "before": cell["before"],
                               "after": cell["after"]})
    out["officers"] = [p for p in people if p["role"] == "officer"]
    out["grid_workers"] = [p for p in people if p["role"] == "grid_worker"]
    return out


def _strip(row: dict[str, Any], kind: str) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in (f"{kind}_id", "station_id")}
    if kind == "grid":  # the standard sets no ratio for grid workers: the load is shown as is
        workers = out.get("grid_workers") or 0
        out["households_per_grid_worker"] = (
            round(out["households"] / workers, 2) if workers else None)
    return out


def _cell_features(conn: Connection, base: int, draft: int,
                   changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The changed cells before (``version: before``, from the base plan) and after."""
    by_kind: dict[str, dict[str, str]] = defaultdict(dict)
    for c in changes:
        by_kind[c["kind"]][c["id"]] = c["change"]
    features = []
    for kind, ids in by_kind.items():
        for version, plan_id in (("before", base), ("after", draft)):
            for f in repo.cell_features(conn, plan_id, kind, list(ids)):
                props = {"kind": kind, "id": f["id"], "code": f["code"], "name": f["name"],
                         "parent_id": f["parent_id"], "change": ids[f["id"]],
                         "version": version}
                features.append({"type": "Feature", "properties": props,
                                 "geometry": json.loads(f["geometry"])})
    return {"type": "FeatureCollection", "features": features}


def _frame(conn: Connection, plan_id: int, kind: str, box: tuple[float, ...], crs: str
           ) -> gpd.GeoDataFrame:
    ids, wkb = repo.cells_in_box(conn, plan_id, kind, box)
    geoms = shapely.from_wkb(np.array(wkb, dtype=object)) if ids else []
    return gpd.GeoDataFrame({"id": ids}, geometry=gpd.GeoSeries(geoms, crs=SRID),
                            crs=SRID).to_crs(crs)


def _new_splits(conn: Connection, base: int, draft: int, cells: dict[str, Any]
                ) -> list[dict[str, Any]]:
    """Grids and villages cut by 2+ beats in the draft that were not cut so before."""
    geoms = [shapely.geometry.shape(f["geometry"]) for f in cells["features"]
             if f["properties"]["kind"] in ("grid", "village", "beat")]
    if not geoms:
        return []
    box = tuple(shapely.total_bounds(np.array(geoms, dtype=object)))
    crs = metric_crs(conn, draft)
    found = {}
    for plan_id in (base, draft):
        grids, villages, beats = (_frame(conn, plan_id, k, box, crs)
                                  for k in ("grid", "village", "beat"))
        found[plan_id] = (split_findings("grid_split", "grid", grids, beats, "beat")
                          + split_findings("beat_cuts_village", "village", villages, beats,
                                           "beat"))
    old = {(f.kind, f.cells[0]): set(f.cells[1:]) for f in found[base]}
    return [{"kind": f.kind, "cell": f.cells[0], "cut_by": list(f.cells[1:]),
             "shares": f.detail.get("shares"), "message": f.message}
            for f in found[draft] if old.get((f.kind, f.cells[0])) != set(f.cells[1:])]


def impact(engine: Engine, plan_id: int, *, months: int = DEFAULT_MONTHS,
           against: int | None = None) -> dict[str, Any]:
    """What activating the plan would move, compared with the plan in effect today.

    Parameters
    ----------
    plan_id
        The draft (any plan may be compared).
    months
        Incidents of this many months back from today are listed (incidents keep their
        cells when a plan is activated: the list shows where they *would* fall).
    against
        Compare with this plan instead of the one in effect today.

    Returns
    -------
    dict
        ``plan_id``, ``against``, ``months``, ``summary`` (counts, households and residents
        moved), ``cells`` (GeoJSON of the changed cells, ``version`` before/after, for the
        map), ``houses``, ``incidents``, ``patrol_points``, ``cameras``, ``offices``,
        ``compound_entrances`` (each
        moved row with ``before`` and ``after`` cells: only the kinds that change),
        ``workload`` (beats and grids against the standard, officers and grid workers, before
        and after), ``splits`` (grids and villages newly cut by 2+ beats) and ``standard``.

    Raises
    ------
    InvalidInput
        ``months`` below 0, or comparing a plan with itself.
    NotFound
        No such plan, or none in effect.
    """
    if months < 0:
        raise InvalidInput([Problem("must not be negative", field="months")])
    with engine.connect() as conn, conn.begin():
        get_plan(conn, plan_id)
        base = against if against is not None else area_repo.current_plan_id(conn)
        if base is None:
            raise NotFound("no plan is in effect to compare with")
        get_plan(conn, base)
        if base == plan_id:
            raise InvalidInput([Problem(f"plan {plan_id} is the plan it is compared with",
                                        field="against")])
        changes = repo.changed_cells(conn, base, plan_id)
        changed = geometry_changes(conn, base, plan_id, changes)
        moves = point_moves(conn, base, plan_id, changed, since=_months_ago(months))
        cells = _cell_features(conn, base, plan_id, changes)
        workload = _workload(conn, base, moves["house"])
        splits = _new_splits(conn, base, plan_id, cells)
    lists = {f"{t}s": _items(m) for t, m in moves.items()}
    summary = {
        "cells_changed": len(changes),
        **{k: len(v) for k, v in lists.items()},
        "households": sum(h["households"] or 0 for h in lists["houses"]),
        "residents": sum(h["residents"] or 0 for h in lists["houses"]),
        "beats_not_meeting_after": sum(not b["after"]["meets"] for b in workload["beats"]),
        "splits": len(splits),
    }
    return {"plan_id": plan_id, "against": base, "months": months, "summary": summary,
            "cells": cells, **lists, "workload": workload, "splits": splits,
            "standard": {"households_per_officer": staffing.HOUSEHOLDS_PER_OFFICER,
                         "residents_per_officer": staffing.RESIDENTS_PER_OFFICER,
                         "min_grid_workers": staffing.MIN_GRID_WORKERS}}
