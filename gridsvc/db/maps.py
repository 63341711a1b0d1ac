"""SQL feeding the map pages: cells with their totals, points, incidents, compounds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridsvc.db.staffing import cell_sql


def _rows(conn: Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def cells(conn: Connection, plan_id: int, kind: str) -> list[dict[str, Any]]:
    """Cells of one kind: ``id, code, name, parent_id, wkb`` (EPSG:4490), by business id."""
    sql = """SELECT business_id AS id, code, name, parent_id, ST_AsBinary(geom) AS wkb
             FROM area WHERE plan_id = :plan AND kind = :kind ORDER BY business_id"""
    rows = _rows(conn, sql, plan=plan_id, kind=kind)
    for r in rows:
        r["wkb"] = bytes(r["wkb"])
    return rows


def house_totals(conn: Connection, plan_id: int, kind: str) -> list[dict[str, Any]]:
    """Per cell of ``kind`` under the plan: ``id, houses, households, residents, registered,
    floating, rentals``; houses in no cell of that kind are left out."""
    sql = f"""
        SELECT cell AS id, count(*) AS houses, sum(households) AS households,
               sum(residents) AS residents, sum(registered) AS registered,
               sum(floating) AS floating, count(*) FILTER (WHERE is_rental) AS rentals
        FROM (SELECT {cell_sql(kind, "h")} AS cell, h.households, h.residents, h.registered,
                     h.floating, h.is_rental FROM house h) AS t
        WHERE cell IS NOT NULL GROUP BY cell"""
    return _rows(conn, sql, plan=plan_id)


def incident_counts(conn: Connection, plan_id: int, kind: str, since: datetime,
                    until: datetime, category: str | None) -> dict[str, int]:
    """Incidents in ``[since, until)`` per cell of ``kind`` (the cell under the plan asked
    about, so a redrawn grid is coloured by what happened inside its current boundary)."""
    sql = f"""
        SELECT cell, count(*) AS n
        FROM (SELECT {cell_sql(kind, "i")} AS cell FROM incident i
              WHERE i.occurred_at >= :since AND i.occurred_at < :until
                AND (CAST(:category AS text) IS NULL OR i.category = :category)) AS t
        WHERE cell IS NOT NULL GROUP BY cell"""
    rows = conn.execute(text(sql), {"plan": plan_id, "since": since, "until": until,
                                    "category": category})
    return {r.cell: r.n for r in rows}


def compounds(conn: Connection, since: datetime, until: datetime, category: str | None
              ) -> list[dict[str, Any]]:
    """Compounds: ``id, name, village_id, stored risk colour, the 三无 flags, households`` (the
    compound's own figure, else the sum of its houses), ``incidents`` in the window and ``wkb``."""
    sql = """
        SELECT c.business_id AS id, c.name, c.village_id, c.risk_colour,
               c.no_property_management, c.no_competent_department, c.no_security,
               coalesce(c.households, (SELECT sum(h.households) FROM house h
                                       WHERE h.compound_id = c.business_id), 0) AS households,
               (SELECT count(*) FROM incident i
                WHERE ST_Covers(c.geom, i.geom) AND i.occurred_at >= :since
                  AND i.occurred_at < :until
                  AND (CAST(:category AS text) IS NULL OR i.category = :category)) AS incidents,
               ST_AsBinary(c.geom) AS wkb
        FROM compound c ORDER BY c.business_id"""
    rows = _rows(conn, sql, since=since, until=until, category=category)
    for r in rows:
        r["wkb"] = bytes(r["wkb"])
    return rows


def incidents(conn: Connection, since: datetime, until: datetime, category: str | None
              ) -> list[dict[str, Any]]:
    """Incidents in the window: ``id, occurred_at, category, grid_id, beat_id, lon, lat``."""
    sql = """
        SELECT business_id AS id, occurred_at, category, grid_id, beat_id,
               ST_X(geom) AS lon, ST_Y(geom) AS lat
        FROM incident WHERE occurred_at >= :since AND occurred_at < :until
          AND (CAST(:category AS text) IS NULL OR category = :category)
        ORDER BY occurred_at, business_id"""
    return _rows(conn, sql, since=since, until=until, category=category)


def incident_categories(conn: Connection) -> list[str]:
    """Every incident category there is, sorted."""
    return [r[0] for r in conn.execute(text(
        "SELECT DISTINCT category FROM incident ORDER BY category"))]


def rentals(conn: Connection) -> list[dict[str, Any]]:
    """Rental houses: ``id, village_id, number, rental_stars, residents, floating, lon, lat``."""
    sql = """SELECT business_id AS id, address_village_id AS village_id, number, rental_stars,
                    residents, floating, ST_X(geom) AS lon, ST_Y(geom) AS lat
             FROM house WHERE is_rental ORDER BY business_id"""
    return _rows(conn, sql)


def point_layer(conn: Connection, table: str) -> list[dict[str, Any]]:
    """Patrol points (``id, name, level``) or cameras (``id, name, heading_deg, fov_deg,
    range_m``) with ``lon, lat``."""
    extra = {"patrol_point": "name, level",
             "camera": "name, heading_deg, fov_deg, range_m"}[table]
    sql = f"""SELECT business_id AS id, {extra}, ST_X(geom) AS lon, ST_Y(geom) AS lat
              FROM {table} ORDER BY business_id"""
    return _rows(conn, sql)
