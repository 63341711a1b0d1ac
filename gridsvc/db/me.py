"""SQL for a person's own area (their first page), run as the app role: the policies decide
which houses and people come back, so nothing here filters by scope itself."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

#: Most houses the page lists (a grid has a few hundred; a station a few thousand).
MAX_HOUSES = 2000


def scope_cells(conn: Connection) -> list[tuple[str, str]]:
    """The bound account's cells and those below them under the plan in effect, sorted."""
    keys = conn.execute(text("SELECT gridsvc_scope_cells()")).scalar_one() or []
    return sorted(tuple(k.split(":", 1)) for k in keys)  # type: ignore[misc]


def cells(conn: Connection, plan_id: int, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """GeoJSON features (``id, kind, name, code``) of these cells of a plan."""
    if not keys:
        return []
    rows = conn.execute(text("""
        SELECT business_id, kind, name, code, ST_AsGeoJSON(geom, 6) AS geometry FROM area
        WHERE plan_id = :plan AND (kind || ':' || business_id) = ANY(:keys)
        ORDER BY kind, business_id"""), {"plan": plan_id, "keys": [f"{k}:{a}" for k, a in keys]})
    return [{"type": "Feature", "id": r.business_id,
             "properties": {"id": r.business_id, "kind": r.kind, "name": r.name,
                            "code": r.code},
             "geometry": json.loads(r.geometry)} for r in rows]


def houses(conn: Connection, plan_id: int, limit: int = MAX_HOUSES) -> list[dict[str, Any]]:
    """Houses the account sees, in register order, with their village's name."""
    rows = conn.execute(text("""
        SELECT h.business_id AS id, h.address_village_id AS village_id, v.name AS village,
               h.number, h.sub_number, h.building, h.unit, h.room, h.households, h.residents,
               h.floating, h.is_rental, h.rental_stars, h.grid_id,
               ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
        FROM house h LEFT JOIN area v ON v.plan_id = :plan AND v.kind = 'village'
                                      AND v.business_id = h.address_village_id
        ORDER BY h.address_village_id, h.number, h.sub_number NULLS FIRST, h.business_id
        LIMIT :limit"""), {"plan": plan_id, "limit": limit})
    return [dict(r._mapping) for r in rows]


def count_houses(conn: Connection) -> int:
    """How many houses the account sees."""
    return conn.execute(text("SELECT count(*) FROM house")).scalar_one()


def people(conn: Connection) -> list[dict[str, Any]]:
    """People the account sees, with the cells (it may see) they are linked to."""
    rows = conn.execute(text("""
        SELECT p.business_id AS id, p.name, p.role, p.phone,
               array_agg(pa.kind || ':' || pa.area_id ORDER BY pa.kind, pa.area_id) AS cells
        FROM person p JOIN person_area pa ON pa.person_pk = p.pk
        GROUP BY p.pk ORDER BY p.role, p.business_id"""))
    return [dict(r._mapping) for r in rows]
