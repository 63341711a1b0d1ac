"""SQL for the camera coverage report: cameras, patrol points, compounds and their entrances."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from gridsvc.db.models import Camera, Compound, CompoundEntrance, PatrolPoint


def cameras(conn: Connection) -> dict[str, list]:
    """Every camera's ``id, lon, lat`` (EPSG:4490), ``heading_deg, fov_deg, range_m``, as
    columns, ordered by id."""
    rows = conn.execute(select(Camera.business_id, func.ST_X(Camera.geom), func.ST_Y(Camera.geom),
                               Camera.heading_deg, Camera.fov_deg, Camera.range_m)
                        .order_by(Camera.business_id)).all()
    columns = ("id", "lon", "lat", "heading_deg", "fov_deg", "range_m")
    return {name: [r[i] for r in rows] for i, name in enumerate(columns)}


def patrol_points(conn: Connection) -> dict[str, list]:
    """Every patrol point's ``id, lon, lat`` (EPSG:4490), as columns, ordered by id."""
    rows = conn.execute(select(PatrolPoint.business_id, func.ST_X(PatrolPoint.geom),
                               func.ST_Y(PatrolPoint.geom))
                        .order_by(PatrolPoint.business_id)).all()
    columns = ("id", "lon", "lat")
    return {name: [r[i] for r in rows] for i, name in enumerate(columns)}


def compounds(conn: Connection) -> tuple[list[str], list[bytes]]:
    """Business ids and WKB geometries (EPSG:4490) of every compound, ordered by id."""
    rows = conn.execute(select(Compound.business_id, func.ST_AsBinary(Compound.geom))
                        .order_by(Compound.business_id))
    ids, wkb = [], []
    for business_id, geom in rows:
        ids.append(business_id)
        wkb.append(bytes(geom))
    return ids, wkb


def entrances(conn: Connection) -> dict[str, list]:
    """Every compound entrance's ``id, compound_id, name, kind, lon, lat`` (EPSG:4490), as
    columns, ordered by id."""
    e = CompoundEntrance
    rows = conn.execute(select(e.business_id, e.compound_id, e.name, e.kind,
                               func.ST_X(e.geom), func.ST_Y(e.geom))
                        .order_by(e.business_id)).all()
    columns = ("id", "compound_id", "name", "kind", "lon", "lat")
    return {name: [r[i] for r in rows] for i, name in enumerate(columns)}
