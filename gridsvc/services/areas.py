"""Reading cells (towns, villages, grids, stations, beats) of the plan in effect."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine

from gridsvc.db import areas as repo
from gridsvc.db.models import AREA_KINDS
from gridsvc.errors import InvalidInput, NotFound, Problem


def _check_kind(kind: str) -> None:
    if kind not in AREA_KINDS:
        raise InvalidInput([Problem(f"unknown kind {kind!r}; kinds are {', '.join(AREA_KINDS)}",
                                    field="kind")])


def _plan(conn: Any, plan_id: int | None, as_of: date | None) -> int:
    if plan_id is not None:
        if repo.get_plan(conn, plan_id) is None:
            raise NotFound(f"no plan with id {plan_id}")
        return plan_id
    found = repo.current_plan_id(conn, as_of)
    if found is None:
        raise NotFound("no plan is in effect: load the demo town or import boundaries first")
    return found


def feature_collection(engine: Engine, kind: str, *, plan_id: int | None = None,
                       as_of: date | None = None) -> dict[str, Any]:
    """All cells of ``kind`` as a GeoJSON FeatureCollection (EPSG:4490 lon/lat)."""
    _check_kind(kind)
    with engine.connect() as conn:
        pid = _plan(conn, plan_id, as_of)
        features = repo.area_features(conn, pid, kind)
    return {"type": "FeatureCollection", "plan_id": pid, "features": features}


def feature(engine: Engine, kind: str, business_id: str, *, plan_id: int | None = None,
            as_of: date | None = None) -> dict[str, Any]:
    """One cell as a GeoJSON Feature; raises NotFound when the plan has no such cell."""
    _check_kind(kind)
    with engine.connect() as conn:
        pid = _plan(conn, plan_id, as_of)
        found = repo.area_feature(conn, pid, kind, business_id)
    if found is None:
        raise NotFound(f"no {kind} with id {business_id!r} in plan {pid}")
    return found
