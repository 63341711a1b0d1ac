"""Checking a draft where it differs from its base plan (:mod:`gridsvc.domain.plans.plan_checks`).

Only the changed cells and the cells around them are read and checked, so a check after an
edit costs the same on a town as on a city of 10,000 grids. Areas are measured in the plan's
metric CRS (as the fusion report); the problems' geometries come back in EPSG:4490.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Connection

from gridsvc.db import areas as area_repo
from gridsvc.db import plans as repo
from gridsvc.db.models import PARENT_KIND, SRID
from gridsvc.domain.plans.plan_checks import DEFAULT_MIN_AREA_M2, check_layer, check_nesting
from gridsvc.domain.reports.fusion import Finding
from gridsvc.services.fusion import findings_geojson, metric_crs


def base_plan(conn: Connection, plan: dict[str, Any]) -> int | None:
    """The plan a plan is compared with: the one it was drawn from, else the one in effect."""
    if plan.get("based_on_id") is not None:
        return plan["based_on_id"]
    current = area_repo.current_plan_id(conn)
    return None if current == plan["id"] else current


def _frame(rows: list[dict[str, Any]], crs: str) -> gpd.GeoDataFrame:
    seen: dict[str, dict[str, Any]] = {r["id"]: r for r in rows}  # drops repeats
    geoms = shapely.from_wkb(np.array([bytes(r["wkb"]) for r in seen.values()], dtype=object))
    frame = gpd.GeoDataFrame(
        {"id": list(seen), "parent_id": [r["parent_id"] for r in seen.values()]},
        geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)
    return frame.to_crs(crs)


def check(conn: Connection, plan: dict[str, Any], *,
          min_area_m2: float = DEFAULT_MIN_AREA_M2) -> list[Finding]:
    """Problems the plan adds to its base plan (geometries in :func:`metric_crs` of the plan;
    empty when no base)."""
    base = base_plan(conn, plan)
    if base is None:
        return []
    draft = plan["id"]
    crs = metric_crs(conn, draft)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for change in repo.changed_cells(conn, base, draft):
        by_kind[change["kind"]].append(change["id"])
    out: list[Finding] = []
    for kind, ids in by_kind.items():
        near_draft = _frame(repo.cells_near(conn, draft, kind, [base, draft], ids), crs)
        near_base = _frame(repo.cells_near(conn, base, kind, [base, draft], ids), crs)
        out += check_layer(kind, near_draft, near_base, ids, min_area_m2=min_area_m2)
    for child, parent in PARENT_KIND.items():
        if parent is None:
            continue
        kids, parents = by_kind.get(child, []), by_kind.get(parent, [])
        if not kids and not parents:
            continue
        kids_draft = (repo.cells_by_ids(conn, draft, child, kids)
                      + repo.children_of(conn, draft, child, parents))
        kids_base = (repo.cells_by_ids(conn, base, child, kids)
                     + repo.children_of(conn, base, child, parents))
        pids = sorted({*parents, *(r["parent_id"] for r in kids_draft + kids_base
                                   if r["parent_id"] is not None)})
        out += check_nesting(
            child, parent, _frame(kids_draft, crs),
            _frame(repo.cells_by_ids(conn, draft, parent, pids), crs),
            _frame(kids_base, crs), _frame(repo.cells_by_ids(conn, base, parent, pids), crs),
            kids, parents)
    return out


def problems_geojson(found: list[Finding], crs: str) -> dict[str, Any]:
    """Problems (geometries in ``crs``, as :func:`check` gives them) as GeoJSON (EPSG:4490):
    ``kind`` (the check), ``severity``, ``layer``, ``cells``, ``area_m2``, ``message``; errors
    first."""
    ordered = sorted(found, key=lambda f: (f.detail.get("severity") != "error", f.layer, f.kind))
    return findings_geojson(ordered, crs)
