"""Balanced proposals: SQL for reading what a proposal divides and writing the draft it makes."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import Connection, func, insert, literal, not_, select, tuple_

from gridsvc.db.models import SRID, Area, House, Road


def cell(conn: Connection, plan_id: int, kind: str, business_id: str) -> dict[str, Any] | None:
    """One cell of a plan: ``business_id, code, name, parent_id, geom`` (shapely), or None."""
    row = conn.execute(
        select(Area.business_id, Area.code, Area.name, Area.parent_id,
               func.ST_AsBinary(Area.geom).label("wkb"))
        .where(Area.plan_id == plan_id, Area.kind == kind, Area.business_id == business_id)
    ).first()
    if row is None:
        return None
    out = dict(row._mapping)
    out["geom"] = shapely.from_wkb(bytes(out.pop("wkb")))
    return out


def cells(conn: Connection, plan_id: int, kind: str, *, parent_id: str | None = None,
          within: shapely.Geometry | None = None) -> list[dict[str, Any]]:
    """Cells of one kind in a plan, by business id: all, a parent's children, or those whose
    interior meets ``within`` (touching its edge is not enough). Same columns as :func:`cell`."""
    query = (select(Area.business_id, Area.code, Area.name, Area.parent_id,
                    func.ST_AsBinary(Area.geom).label("wkb"))
             .where(Area.plan_id == plan_id, Area.kind == kind)
             .order_by(Area.business_id))
    if parent_id is not None:
        query = query.where(Area.parent_id == parent_id)
    if within is not None:
        g = func.ST_GeomFromWKB(literal(shapely.to_wkb(within)), SRID)
        query = query.where(func.ST_Intersects(Area.geom, g),
                            func.ST_Relate(Area.geom, g, "2********"))
    out = []
    for row in conn.execute(query):
        rec = dict(row._mapping)
        rec["geom"] = shapely.from_wkb(bytes(rec.pop("wkb")))
        out.append(rec)
    return out


def houses_in(conn: Connection, geom: shapely.Geometry) -> dict[str, list]:
    """Houses covered by ``geom`` (EPSG:4490): ``lon, lat, households, residents`` lists."""
    g = func.ST_GeomFromWKB(literal(shapely.to_wkb(geom)), SRID)
    rows = conn.execute(
        select(func.ST_X(House.geom), func.ST_Y(House.geom), House.households, House.residents)
        .where(func.ST_Covers(g, House.geom)).order_by(House.business_id)).all()
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return {"lon": list(cols[0]), "lat": list(cols[1]),
            "households": [int(v or 0) for v in cols[2]],
            "residents": [int(v or 0) for v in cols[3]]}


def roads_in(conn: Connection, geom: shapely.Geometry) -> list[shapely.Geometry]:
    """The roads meeting ``geom``, clipped to it (lines only)."""
    g = func.ST_GeomFromWKB(literal(shapely.to_wkb(geom)), SRID)
    rows = conn.execute(
        select(func.ST_AsBinary(func.ST_CollectionExtract(func.ST_Intersection(Road.geom, g), 2)))
        .where(func.ST_Intersects(Road.geom, g)).order_by(Road.business_id)).scalars()
    lines = [shapely.from_wkb(bytes(w)) for w in rows]
    return [g for g in lines if not g.is_empty]


def used_children(conn: Connection, kind: str, parent_id: str) -> list[dict[str, Any]]:
    """``business_id, code`` of every cell of ``kind`` under ``parent_id`` in any plan (the
    sequence a new child continues)."""
    rows = conn.execute(select(Area.business_id, Area.code).distinct()
                        .where(Area.kind == kind, Area.parent_id == parent_id))
    return [dict(r._mapping) for r in rows]


def ids_in_use(conn: Connection, kind: str, ids: list[str]) -> set[str]:
    """Which of these business ids a cell of ``kind`` has in any plan."""
    if not ids:
        return set()
    return set(conn.execute(select(Area.business_id).distinct()
                            .where(Area.kind == kind, Area.business_id.in_(ids))).scalars())


def copy_cells(conn: Connection, source_plan: int, target_plan: int,
               leave_out: list[tuple[str, str]]) -> int:
    """Copy every cell of ``source_plan`` into ``target_plan`` except ``(kind, business id)``
    pairs in ``leave_out``, in one INSERT ... SELECT; returns how many were copied."""
    columns = ("kind", "business_id", "code", "name", "parent_id", "households", "residents",
               "attrs", "geom")
    query = select(literal(target_plan), *(getattr(Area, c) for c in columns)).where(
        Area.plan_id == source_plan)
    if leave_out:
        query = query.where(not_(tuple_(Area.kind, Area.business_id).in_(leave_out)))
    table = Area.__table__
    return conn.execute(insert(table).from_select(["plan_id", *columns], query)).rowcount

