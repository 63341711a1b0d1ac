"""SQL feeding the map pages: cells with their totals, points, incidents, compounds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridsvc.db.areas import PLAN
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
    # OFFSET 0 keeps the subquery whole: pulled up, "cell IS NOT NULL" would run the per-row
    # cell lookup a second time (twice the cost for a draft, whose houses are all looked up).
    sql = f"""
        SELECT cell AS id, count(*) AS houses, sum(households) AS households,
               sum(residents) AS residents, sum(registered) AS registered,
               sum(floating) AS floating, count(*) FILTER (WHERE is_rental) AS rentals
        FROM (SELECT {cell_sql(kind, "h")} AS cell, h.households, h.residents, h.registered,
                     h.floating, h.is_rental FROM house h OFFSET 0) AS t
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
                AND (CAST(:category AS text) IS NULL OR i.category = :category) OFFSET 0) AS t
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


# One vector tile of one cell layer, drawn 512 pixels wide. Geometry is simplified to half a
# pixel before ST_AsMVTGeom clips and quantises it (4096 steps a tile, 64 of buffer so outlines
# do not show seams). Totals count houses assigned under this plan (cells_plan_id), people
# their links.
_TILE = """
WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env,
                       ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.02), 4490) AS env4490),
cells AS (
    SELECT a.business_id, a.name, a.code, a.geom FROM area a, bounds
    WHERE a.plan_id = {plan} AND a.kind = :kind AND a.geom && bounds.env4490),
totals AS (
    SELECT h.{kind}_id AS id, count(*) AS houses, sum(h.households) AS households,
           sum(h.residents) AS residents
    FROM house h WHERE h.cells_plan_id = :plan
      AND h.{kind}_id IN (SELECT business_id FROM cells) GROUP BY h.{kind}_id),
people AS (
    SELECT pa.area_id AS id,
           string_agg(p.name, '、' ORDER BY p.business_id) FILTER (WHERE p.role = 'officer')
               AS officers,
           string_agg(p.name, '、' ORDER BY p.business_id) FILTER (WHERE p.role = 'auxiliary')
               AS auxiliaries,
           string_agg(p.name, '、' ORDER BY p.business_id) FILTER (WHERE p.role = 'grid_worker')
               AS grid_workers
    FROM person_area pa JOIN person p ON p.pk = pa.person_pk
    WHERE pa.kind = :kind AND pa.area_id IN (SELECT business_id FROM cells) GROUP BY pa.area_id),
mvt AS (
    SELECT c.business_id AS id, c.name, c.code, t.households, t.residents,
           pe.officers, pe.auxiliaries, pe.grid_workers,
           ST_AsMVTGeom(ST_Simplify(ST_Transform(c.geom, 3857), :tolerance, true),
                        bounds.env, 4096, 64, true) AS geom
    FROM cells c CROSS JOIN bounds LEFT JOIN totals t ON t.id = c.business_id
    LEFT JOIN people pe ON pe.id = c.business_id)
SELECT ST_AsMVT(mvt, 'cells', 4096, 'geom') FROM mvt WHERE geom IS NOT NULL
"""
#: Web-mercator metres across the world, and the pixels a tile is drawn on.
WORLD_M = 40_075_016.686
TILE_PX = 512


def cell_tile(conn: Connection, plan_id: int, kind: str, z: int, x: int, y: int) -> bytes:
    """The Mapbox vector tile ``z/x/y`` of a plan's cells of ``kind`` (layer ``cells``; each
    feature with ``id, name, code, households, residents, officers, auxiliaries,
    grid_workers``). ``kind`` must be one of the five cell kinds (it names a column)."""
    if kind not in ("town", "village", "grid", "station", "beat"):
        raise ValueError(f"unknown kind {kind!r}")
    tolerance = 0.5 * WORLD_M / (TILE_PX * 2**z)
    tile = conn.execute(text(_TILE.format(kind=kind, plan=PLAN)), {
        "plan": plan_id, "kind": kind, "z": z, "x": x, "y": y, "tolerance": tolerance,
    }).scalar_one()
    return bytes(tile or b"")


def label_points(conn: Connection, plan_id: int, kind: str) -> list[dict[str, Any]]:
    """A point inside each cell of ``kind`` (``ST_PointOnSurface``): ``id, name, lon, lat``."""
    sql = """SELECT business_id AS id, name, ST_X(p) AS lon, ST_Y(p) AS lat
             FROM (SELECT business_id, name, ST_PointOnSurface(geom) AS p FROM area
                   WHERE plan_id = :plan AND kind = :kind) AS t ORDER BY business_id"""
    return _rows(conn, sql, plan=plan_id, kind=kind)


def layer_stats(conn: Connection, plan_id: int, kind: str) -> dict[str, Any]:
    """``n`` and the extent ``x0, y0, x1, y1`` (EPSG:4490; None when there are no cells) of a
    plan's cells of ``kind``, from the index-sized boxes only (cheap for 10,000 cells)."""
    sql = """SELECT count(*) AS n, ST_XMin(ST_Extent(geom)) AS x0, ST_YMin(ST_Extent(geom)) AS y0,
                    ST_XMax(ST_Extent(geom)) AS x1, ST_YMax(ST_Extent(geom)) AS y1
             FROM area WHERE plan_id = :plan AND kind = :kind"""
    return _rows(conn, sql, plan=plan_id, kind=kind)[0]


def house_totals_only(conn: Connection, plan_id: int, kind: str) -> list[dict[str, Any]]:
    """Every cell of ``kind`` (no geometry) with ``name, code`` and its house totals."""
    totals = {r["id"]: r for r in house_totals(conn, plan_id, kind)}
    sql = """SELECT business_id AS id, name, code FROM area
             WHERE plan_id = :plan AND kind = :kind ORDER BY business_id"""
    zero = {"houses": 0, "households": 0, "residents": 0, "registered": 0, "floating": 0,
            "rentals": 0}
    return [{**r, **{k: v for k, v in totals.get(r["id"], zero).items() if k != "id"}}
            for r in _rows(conn, sql, plan=plan_id, kind=kind)]
