"""Balanced proposals: SQL for reading what a proposal divides (the draft is written with
:mod:`gridsvc.db.plans` and :mod:`gridsvc.db.areas`)."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import Connection, func, literal, select

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



def lock_new_ids(conn: Connection, kind: str) -> None:
    """Hold a transaction-level advisory lock on new business ids of ``kind``: a second
    proposal writing cells of the kind waits until this transaction ends, then sees its ids
    (two drafts never give one new id to two different cells)."""
    conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"gridsvc:new-ids:{kind}"))))
