"""SQL for the fusion report: cells' parents and the houses' points and people."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from gridsvc.db.models import Area, House


def parent_ids(conn: Connection, plan_id: int, kind: str) -> dict[str, str | None]:
    """Business id -> parent's business id of a plan's cells of one kind."""
    rows = conn.execute(select(Area.business_id, Area.parent_id)
                        .where(Area.plan_id == plan_id, Area.kind == kind))
    return {business_id: parent for business_id, parent in rows}


def house_points(conn: Connection) -> dict[str, list]:
    """Every house's ``lon, lat`` (EPSG:4490), ``households`` and ``residents``, as columns."""
    rows = conn.execute(select(func.ST_X(House.geom), func.ST_Y(House.geom), House.households,
                               House.residents).order_by(House.business_id)).all()
    columns = ("lon", "lat", "households", "residents")
    return {name: [r[i] for r in rows] for i, name in enumerate(columns)}
