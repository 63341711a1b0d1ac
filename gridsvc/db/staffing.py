"""SQL feeding the staffing report: houses per cell, people's links, cells and offices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from gridsvc.db.areas import PLAN


def cell_sql(kind: str, alias: str) -> str:
    # A row's stored cell id is only trusted when it came from the plan asked about; otherwise
    # (a report ``as_of`` another plan) the cell is looked up with the same covers rule and
    # tie-break as gridsvc.db.objects.assign_cells. CASE evaluates the subquery only then.
    return f"""CASE WHEN {alias}.cells_plan_id = :plan THEN {alias}.{kind}_id ELSE (
        SELECT a.business_id FROM area a WHERE a.plan_id = {PLAN} AND a.kind = '{kind}'
        AND ST_Covers(a.geom, {alias}.geom) ORDER BY a.business_id COLLATE "C" LIMIT 1) END"""


def house_sums(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    """Houses, households and residents per (beat, grid) pair of a plan; ids may be NULL."""
    sql = f"""
        SELECT beat_id, grid_id, count(*) AS houses,
               coalesce(sum(households), 0) AS households, coalesce(sum(residents), 0) AS residents
        FROM (SELECT {cell_sql("beat", "h")} AS beat_id, {cell_sql("grid", "h")} AS grid_id,
                     h.households, h.residents FROM house h) AS cells
        GROUP BY beat_id, grid_id ORDER BY beat_id, grid_id"""
    return [dict(r._mapping) for r in conn.execute(text(sql), {"plan": plan_id})]


def person_links(conn: Connection) -> list[dict[str, Any]]:
    """One row per link of a person to a cell: ``id, role, office_id, kind, area_id``.

    A person with no link gets one row with ``kind`` and ``area_id`` NULL, so office staff
    without a cell are still counted for their office.
    """
    sql = """
        SELECT p.business_id AS id, p.role, p.office_id, pa.kind, pa.area_id
        FROM person p LEFT JOIN person_area pa ON pa.person_pk = p.pk
        ORDER BY p.business_id, pa.kind, pa.area_id"""
    return [dict(r._mapping) for r in conn.execute(text(sql))]


def cells(conn: Connection, plan_id: int, kind: str) -> list[dict[str, Any]]:
    """Cells of ``kind`` in a plan: ``id, name, parent_id`` by business id."""
    sql = """SELECT business_id AS id, name, parent_id FROM area
             WHERE plan_id = :plan AND kind = :kind ORDER BY business_id"""
    return [dict(r._mapping) for r in conn.execute(text(sql), {"plan": plan_id, "kind": kind})]


def offices(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    """Police offices with the station and beat their point lies in under the plan."""
    sql = f"""SELECT o.business_id AS id, o.name, {cell_sql("station", "o")} AS station_id,
                     {cell_sql("beat", "o")} AS beat_id
              FROM office o ORDER BY o.business_id"""
    return [dict(r._mapping) for r in conn.execute(text(sql), {"plan": plan_id})]
