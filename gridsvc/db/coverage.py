"""SQL for the office coverage report: offices' and houses' points, and the road layer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from gridsvc.db.staffing import cell_sql


def office_points(conn: Connection) -> list[dict[str, Any]]:
    """Every office: ``id, lon, lat`` (EPSG:4490), by business id."""
    sql = """SELECT business_id AS id, ST_X(geom) AS lon, ST_Y(geom) AS lat
             FROM office ORDER BY business_id"""
    return [dict(r._mapping) for r in conn.execute(text(sql))]


def house_points(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    """Every house: ``id, lon, lat, beat_id, residents``, the beat under the plan, by id."""
    sql = f"""SELECT h.business_id AS id, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat,
                     {cell_sql("beat", "h")} AS beat_id, coalesce(h.residents, 0) AS residents
              FROM house h ORDER BY h.business_id"""
    return [dict(r._mapping) for r in conn.execute(text(sql), {"plan": plan_id})]


def road_geometries(conn: Connection) -> list[bytes]:
    """Every road's geometry as WKB (EPSG:4490), by business id."""
    rows = conn.execute(text("SELECT ST_AsBinary(geom) FROM road ORDER BY business_id"))
    return [bytes(r[0]) for r in rows]
