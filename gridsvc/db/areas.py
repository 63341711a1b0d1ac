"""Plans and cells: SQL for finding, reading and writing them."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from geoalchemy2.shape import from_shape
from shapely import MultiPolygon
from sqlalchemy import Connection, delete, func, insert, select, text, update

from gridsvc.db.models import SRID, Area, Plan

#: The plan id bound as ``integer``. psycopg binds a small Python int as ``smallint``, and the
#: GiST index over ``area (plan_id, kind, geom)`` (btree_gist) has no smallint-integer operator:
#: with ``a.plan_id = :plan`` PostgreSQL falls back to the plan-blind geometry search, whose
#: cost grows with the number of plans stored. Every spatial query on ``area`` uses this.
PLAN = "CAST(:plan AS integer)"

AREA_PROPERTIES = ("id", "kind", "code", "name", "parent_id", "households", "residents")


def current_plan_id(conn: Connection, as_of: date | None = None) -> int | None:
    """The plan in effect on ``as_of`` (today when None): the active plan with the latest
    ``effective_from`` on or before that date; ties go to the newest plan. None if there is none.
    """
    as_of = as_of or date.today()
    return conn.execute(
        select(Plan.id)
        .where(Plan.status == "active", Plan.effective_from <= as_of)
        .order_by(Plan.effective_from.desc(), Plan.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def get_plan(conn: Connection, plan_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(Plan.__table__).where(Plan.id == plan_id)).first()
    return None if row is None else dict(row._mapping)


def find_plan_by_source(conn: Connection, source: str) -> dict[str, Any] | None:
    """The newest plan written by ``source`` (e.g. ``"demo"``), or None."""
    row = conn.execute(
        select(Plan.__table__).where(Plan.source == source).order_by(Plan.id.desc()).limit(1)
    ).first()
    return None if row is None else dict(row._mapping)


def create_plan(conn: Connection, **values: Any) -> int:
    """Insert a plan; returns its id."""
    return conn.execute(insert(Plan).values(**values).returning(Plan.id)).scalar_one()


def delete_plan(conn: Connection, plan_id: int) -> None:
    """Delete a plan and, by cascade, its cells (used only to replace the demo data)."""
    conn.execute(delete(Plan).where(Plan.id == plan_id))


def _select_features(plan_id: int):
    return select(
        Area.business_id.label("id"), Area.kind, Area.code, Area.name, Area.parent_id,
        Area.households, Area.residents, Area.attrs,
        func.ST_AsGeoJSON(Area.geom, 7).label("geometry"),
    ).where(Area.plan_id == plan_id)


def _feature(row: Any) -> dict[str, Any]:
    props = {k: getattr(row, k) for k in AREA_PROPERTIES}
    props.update(row.attrs or {})
    return {"type": "Feature", "id": row.id, "properties": props,
            "geometry": json.loads(row.geometry)}


def area_features(conn: Connection, plan_id: int, kind: str) -> list[dict[str, Any]]:
    """GeoJSON features of every cell of ``kind`` in a plan, ordered by business id."""
    rows = conn.execute(
        _select_features(plan_id).where(Area.kind == kind).order_by(Area.business_id))
    return [_feature(r) for r in rows]


def area_feature(conn: Connection, plan_id: int, kind: str, business_id: str
                 ) -> dict[str, Any] | None:
    """One cell as a GeoJSON feature, or None."""
    row = conn.execute(
        _select_features(plan_id).where(Area.kind == kind, Area.business_id == business_id)
    ).first()
    return None if row is None else _feature(row)


def business_ids(conn: Connection, plan_id: int, kind: str) -> set[str]:
    """The business ids of a plan's cells of one kind."""
    return set(conn.execute(
        select(Area.business_id).where(Area.plan_id == plan_id, Area.kind == kind)).scalars())


def area_counts(conn: Connection, plan_id: int) -> dict[str, int]:
    """Number of cells of each kind in a plan."""
    rows = conn.execute(
        select(Area.kind, func.count()).where(Area.plan_id == plan_id).group_by(Area.kind))
    return {k: n for k, n in rows}


def delete_areas(conn: Connection, plan_id: int, kind: str) -> int:
    """Delete a plan's cells of one kind; returns how many."""
    return conn.execute(delete(Area).where(Area.plan_id == plan_id, Area.kind == kind)).rowcount


def insert_areas(conn: Connection, plan_id: int, kind: str, rows: list[dict[str, Any]]) -> None:
    """Insert cells. Each row has ``business_id, code, name, parent_id, households, residents,
    attrs`` and ``geom`` (a shapely MultiPolygon in EPSG:4490)."""
    if not rows:
        return
    values = []
    for r in rows:
        geom = r["geom"]
        if not isinstance(geom, MultiPolygon):
            geom = MultiPolygon([geom])
        values.append({**r, "plan_id": plan_id, "kind": kind,
                       "attrs": r.get("attrs") or {}, "geom": from_shape(geom, srid=SRID)})
    conn.execute(insert(Area), values)


def area_geometries(conn: Connection, plan_id: int, kind: str) -> tuple[list[str], list[bytes]]:
    """Business ids and WKB geometries of a plan's cells of one kind (for building indexes)."""
    rows = conn.execute(
        select(Area.business_id, func.ST_AsBinary(Area.geom))
        .where(Area.plan_id == plan_id, Area.kind == kind).order_by(Area.business_id))
    ids, wkb = [], []
    for business_id, geom in rows:
        ids.append(business_id)
        wkb.append(bytes(geom))
    return ids, wkb


def plan_version(conn: Connection, plan_id: int) -> int | None:
    """The plan's version number (bumped by every edit), or None if there is no such plan."""
    return conn.execute(select(Plan.version).where(Plan.id == plan_id)).scalar_one_or_none()


def area_labels(conn: Connection, plan_id: int) -> dict[tuple[str, str], dict[str, Any]]:
    """``(kind, business id) -> {id, code, name}`` for every cell of a plan."""
    rows = conn.execute(select(Area.kind, Area.business_id, Area.code, Area.name)
                        .where(Area.plan_id == plan_id))
    return {(r.kind, r.business_id): {"id": r.business_id, "code": r.code, "name": r.name}
            for r in rows}


def area_parents(conn: Connection, plan_id: int) -> dict[tuple[str, str], str | None]:
    """``(kind, business id) -> parent's business id`` for every cell of a plan."""
    rows = conn.execute(select(Area.kind, Area.business_id, Area.parent_id)
                        .where(Area.plan_id == plan_id))
    return {(r.kind, r.business_id): r.parent_id for r in rows}


def bump_version(conn: Connection, plan_id: int) -> int:
    """Mark a plan as changed (every edit of its cells calls this); returns the new version.

    Indexes built from the plan compare versions to know they are stale.
    """
    return conn.execute(
        update(Plan).where(Plan.id == plan_id).values(version=Plan.version + 1)
        .returning(Plan.version)).scalar_one()


def plan_centre(conn: Connection, plan_id: int) -> tuple[float, float] | None:
    """Centre (lon, lat) of the extent of a plan's cells, or None when it has none."""
    row = conn.execute(text(
        "SELECT (ST_XMin(e) + ST_XMax(e)) / 2, (ST_YMin(e) + ST_YMax(e)) / 2 "
        "FROM (SELECT ST_Extent(geom) AS e FROM area WHERE plan_id = :plan) AS t"),
        {"plan": plan_id}).one()
    return None if row[0] is None else (float(row[0]), float(row[1]))
