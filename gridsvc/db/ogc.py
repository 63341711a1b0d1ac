"""OGC API Features: SQL for pages of features, counts, single features and extents.

Features are written as GeoJSON text by PostgreSQL itself (``ST_AsGeoJSON`` and
``json_build_object`` concatenated per row), so a page of 1,000 cells costs one query and a join
of strings, with no Python object per coordinate. Table and column names come from
:mod:`gridsvc.domain.ogc.catalog` (ours); every value is a bound parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridsvc.domain.ogc.catalog import Collection
from gridsvc.domain.ogc.crs import Crs
from gridsvc.domain.ogc.filters import Filter
from gridsvc.domain.ogc.query import ItemsQuery


def _geometry(crs: Crs) -> str:
    """SQL of the stored geometry in ``crs``, axis order included."""
    if crs.same_as_storage:
        return "ST_FlipCoordinates(t.geom)" if crs.lat_first else "t.geom"
    moved = f"ST_Transform(t.geom, {int(crs.srid)})"
    return f"ST_FlipCoordinates({moved})" if crs.lat_first else moved


def _feature_sql(c: Collection, crs: Crs, properties: tuple[str, ...] | None) -> str:
    names = properties if properties is not None else tuple(p.name for p in c.properties)
    pairs = ", ".join(f"'{n}', {c.prop(n).sql()}" for n in names)  # type: ignore[union-attr]
    return (
        """'{"type":"Feature","id":' || to_json(t.business_id)::text"""
        f""" || ',"geometry":' || ST_AsGeoJSON({_geometry(crs)}, {int(crs.decimals)})"""
        f""" || ',"properties":' || json_build_object({pairs})::text || '}}'""")


def _base(c: Collection, plan_id: int | None) -> tuple[list[str], dict[str, Any]]:
    if c.cell_kind is None:
        return [], {}
    return ["t.plan_id = :plan", "t.kind = :kind"], {"plan": plan_id, "kind": c.cell_kind}


def conditions(c: Collection, query: ItemsQuery, plan_id: int | None,
               cql: Filter | None) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of an items request (``TRUE`` when nothing restricts) and its
    parameters: the plan and kind of a cell collection, ``bbox`` (features that intersect it),
    ``datetime`` on the temporal property, equality on queryables, and the CQL2 filter."""
    where, params = _base(c, plan_id)
    if query.bbox is not None:
        box = "ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, :bsrid)"
        if not query.bbox_crs.same_as_storage:
            box = f"ST_Transform({box}, 4490)"
        else:
            box = f"ST_SetSRID({box}, 4490)"
        where.append(f"ST_Intersects(t.geom, {box})")
        params.update(zip(("bx0", "by0", "bx1", "by1"), query.bbox, strict=True))
        params["bsrid"] = query.bbox_crs.srid
    if query.datetime is not None and c.temporal is not None:
        column = c.prop(c.temporal).sql()  # type: ignore[union-attr]
        if query.datetime.start is not None:
            where.append(f"{column} >= :dt_start")
            params["dt_start"] = query.datetime.start
        if query.datetime.end is not None:
            where.append(f"{column} <= :dt_end")
            params["dt_end"] = query.datetime.end
    for i, (name, value) in enumerate(query.equals.items()):
        where.append(f"{c.prop(name).sql()} = :eq_{i}")  # type: ignore[union-attr]
        params[f"eq_{i}"] = value
    if cql is not None:
        where.append(cql.sql)
        params.update(cql.params)
    return " AND ".join(where) or "TRUE", params


def page(conn: Connection, c: Collection, where: str, params: dict[str, Any], *, crs: Crs,
         properties: tuple[str, ...] | None, limit: int, offset: int) -> list[str]:
    """GeoJSON text of each feature of one page, ordered by business id.

    The page's rows are picked first (by primary key, ``c.key``) and only they are written as
    GeoJSON: with the features in the same SELECT as OFFSET, PostgreSQL would write every
    skipped row too (page 6 of 1,000 cells took 3 times as long as page 1).
    """
    sql = (f"SELECT {_feature_sql(c, crs, properties)} FROM {c.table} t JOIN ("
           f"SELECT t.{c.key} FROM {c.table} t WHERE {where} ORDER BY t.business_id "
           f"LIMIT :limit OFFSET :offset) p ON p.{c.key} = t.{c.key} ORDER BY t.business_id")
    return list(conn.execute(text(sql), {**params, "limit": limit, "offset": offset}).scalars())


def count(conn: Connection, c: Collection, where: str, params: dict[str, Any]) -> int:
    """How many features match (``numberMatched``)."""
    return conn.execute(text(f"SELECT count(*) FROM {c.table} t WHERE {where}"),
                        params).scalar_one()


def feature(conn: Connection, c: Collection, plan_id: int | None, feature_id: str, *,
            crs: Crs, properties: tuple[str, ...] | None = None) -> tuple[str, str] | None:
    """One feature's GeoJSON text (``properties``: only these) and its ETag (a hash of the
    stored row, whatever is shown), or None."""
    where, params = _base(c, plan_id)
    where.append("t.business_id = :fid")
    sql = (f"SELECT {_feature_sql(c, crs, properties)}, md5(CAST(t AS text)) FROM {c.table} t "
           f"WHERE {' AND '.join(where)}")
    row = conn.execute(text(sql), {**params, "fid": feature_id}).first()
    return None if row is None else (row[0], row[1])


def etag(conn: Connection, c: Collection, plan_id: int | None, feature_id: str) -> str | None:
    """The ETag of a stored feature (see :func:`feature`), or None when there is none."""
    where, params = _base(c, plan_id)
    where.append("t.business_id = :fid")
    return conn.execute(text(
        f"SELECT md5(CAST(t AS text)) FROM {c.table} t WHERE {' AND '.join(where)}"),
        {**params, "fid": feature_id}).scalar_one_or_none()


def extent(conn: Connection, c: Collection, plan_id: int | None
           ) -> tuple[list[float] | None, tuple[datetime | None, datetime | None] | None]:
    """The bbox (lon/lat) of the features, and the interval of the temporal property (None
    when the collection has none); the bbox is None when there are no features."""
    where, params = _base(c, plan_id)
    first = last = "NULL"
    if c.temporal is not None:
        column = c.prop(c.temporal).sql()  # type: ignore[union-attr]
        first, last = f"min({column})", f"max({column})"
    row = conn.execute(text(
        f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), s0, s1 FROM ("
        f"SELECT ST_Extent(t.geom) AS e, {first} AS s0, {last} AS s1 FROM {c.table} t "
        f"WHERE {' AND '.join(where) or 'TRUE'}) q"), params).one()
    bbox = None if row[0] is None else [round(float(v), 7) for v in row[:4]]
    interval = (row[4], row[5]) if c.temporal is not None else None
    return bbox, interval


def created_with_key(conn: Connection, plan_id: int, actor: str, key: str) -> str | None:
    """The id of the cell an earlier OGC create by ``actor`` with this ``Idempotency-Key`` added
    to the plan (read from its audit entry), or None."""
    return conn.execute(text("""
        SELECT c->>'id' FROM audit_log, jsonb_array_elements(after->'changes') AS c
        WHERE action = 'plan.edit' AND object_kind = 'plan' AND object_id = :plan
          AND actor = :actor AND after->'op'->>'idempotency_key' = :key
          AND c->>'change' = 'added'
        ORDER BY id DESC LIMIT 1"""),
        {"plan": str(plan_id), "actor": actor, "key": key}).scalar_one_or_none()
