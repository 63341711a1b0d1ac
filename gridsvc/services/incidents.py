"""Recording incidents (警情): each is assigned to the cells in effect at its time, for good."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import shapely
from sqlalchemy import Engine

from gridsvc.db import audit, objects
from gridsvc.domain.geo.coords import parse_input_crs
from gridsvc.errors import InvalidInput, NotFound, Problem
from gridsvc.services.assignment import current_plan, locate, plan_layers, set_cells


def create_incident(engine: Engine, *, occurred_at: datetime, category: str, lon: float,
                    lat: float, crs: str = "4326", summary: str | None = None,
                    actor: str) -> dict[str, Any]:
    """Record an incident and assign it to the cells of the plan in effect **on its date**.

    A call logged today about something that happened before a boundary change still gets the
    cells of its own time; later boundary changes never move it. The coordinates as given are
    kept (``src_x, src_y, src_crs``) beside the EPSG:4490 point.

    Raises
    ------
    InvalidInput
        A time without a time zone (field ``occurred_at``), an empty category, or a bad point
        (see :func:`~gridsvc.services.assignment.locate`).
    NotFound
        When no plan was in effect on that date.
    """
    if occurred_at.tzinfo is None:
        raise InvalidInput([Problem("give the time zone, e.g. 2026-11-23T20:15:00+08:00",
                                    field="occurred_at")])
    if not category.strip():
        raise InvalidInput([Problem("category is empty", field="category")])
    plan_id = current_plan(engine, occurred_at.date())
    layers = plan_layers(engine, plan_id)
    x, y, _ = locate(lon, lat, crs, layers)
    row: dict[str, Any] = {
        "occurred_at": occurred_at, "category": category.strip(), "summary": summary,
        "geom": shapely.Point(x, y), "src_x": lon, "src_y": lat,
        "src_crs": parse_input_crs(crs).name}
    set_cells(layers, [row], plan_id)
    with engine.begin() as conn:
        row["business_id"] = objects.next_business_id(conn, "incident", "INC")
        objects.insert_rows(conn, "incident", [row])
        stored = objects.get_row(conn, "incident", row["business_id"])
        audit.record(conn, actor=actor, action="incident.create", object_kind="incident",
                     object_id=row["business_id"], after=stored)
    return _public(stored)


def get_incident(engine: Engine, business_id: str) -> dict[str, Any]:
    """One incident with the cells it was assigned at its time."""
    with engine.connect() as conn:
        found = objects.get_row(conn, "incident", business_id)
    if found is None:
        raise NotFound(f"no incident with id {business_id!r}")
    return _public(found)


def _public(row: dict[str, Any] | None) -> dict[str, Any]:
    assert row is not None
    out = {k: v for k, v in row.items() if k != "pk"}
    out["id"] = out.pop("business_id")
    out["cells"] = {k: out.pop(f"{k}_id") for k in ("town", "village", "grid", "station", "beat")}
    out["cells"]["plan_id"] = out.pop("cells_plan_id")
    return out
