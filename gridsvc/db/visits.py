"""SQL of house visits (走访): record one, read them back, and count houses visited per cell or
per person for the assessments.

A visit's cells are copied from its house when it is recorded, so row-level security scopes it
as the house (the API's engine sees only the houses and visits of the caller's scope).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from gridsvc.db.duty import copy_rows
from gridsvc.db.models import SRID

#: The cell columns a visit copies from its house.
CELLS = ("town_id", "village_id", "grid_id", "station_id", "beat_id", "cells_plan_id")
#: Columns of a visit as answered (``id`` is the pk; ``person_id`` the person's business id).
_COLUMNS = """v.pk AS id, v.idempotency_key, p.business_id AS person_id, p.name AS person_name,
    v.house_id, v.visited_at, v.server_at, v.note, v.accuracy_m,
    ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat, v.village_id, v.grid_id, v.beat_id, v.station_id"""


def house(conn: Connection, house_id: str) -> dict[str, Any] | None:
    """The house's cells (:data:`CELLS`) if the connection sees it, else None."""
    row = conn.execute(text(f"SELECT {', '.join(CELLS)} FROM house WHERE business_id = :id"),
                       {"id": house_id}).mappings().first()
    return None if row is None else dict(row)


def insert(conn: Connection, row: dict[str, Any]) -> int | None:
    """Insert a visit unless its idempotency key is taken: the new pk, or None.

    ``row`` holds the table's columns with ``lon``/``lat`` (CGCS2000, or None for no fix)
    instead of ``geom``.
    """
    values = {k: v for k, v in row.items() if k not in ("lon", "lat")}
    has_fix = row.get("lon") is not None and row.get("lat") is not None
    geom = f"ST_SetSRID(ST_MakePoint(:lon, :lat), {SRID})" if has_fix else "NULL"
    columns = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    return conn.execute(text(f"""
        INSERT INTO house_visit ({columns}, geom) VALUES ({marks}, {geom})
        ON CONFLICT (idempotency_key) DO NOTHING RETURNING pk"""),
        {**values, "lon": row.get("lon"), "lat": row.get("lat")}).scalar_one_or_none()


def by_key(conn: Connection, key: str) -> dict[str, Any] | None:
    """The visit recorded with this idempotency key (if the connection sees it)."""
    row = conn.execute(text(f"""
        SELECT {_COLUMNS}, v.person_pk FROM house_visit v JOIN person p ON p.pk = v.person_pk
        WHERE v.idempotency_key = :k"""), {"k": key}).mappings().first()
    return None if row is None else dict(row)


def search(conn: Connection, *, person_pk: int | None = None, house_id: str | None = None,
           first: date | None = None, last: date | None = None, zone: str = "Asia/Shanghai",
           limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Visits the connection sees, newest first, filtered by person, house and local days
    ``first`` to ``last`` (both included)."""
    where, params = [], {"z": zone, "limit": limit, "offset": offset}
    for column, name, value in (("v.person_pk", "pk", person_pk), ("v.house_id", "h", house_id)):
        if value is not None:
            where.append(f"{column} = :{name}")
            params[name] = value
    if first is not None:
        where.append("(v.visited_at AT TIME ZONE :z)::date >= :first")
        params["first"] = first
    if last is not None:
        where.append("(v.visited_at AT TIME ZONE :z)::date <= :last")
        params["last"] = last
    rows = conn.execute(text(f"""
        SELECT {_COLUMNS} FROM house_visit v JOIN person p ON p.pk = v.person_pk
        WHERE {' AND '.join(where) or 'true'}
        ORDER BY v.visited_at DESC, v.pk DESC LIMIT :limit OFFSET :offset"""), params)
    return [dict(r._mapping) for r in rows]


def insert_many(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert many visits at once (loaders), skipping keys already taken; returns how many
    were new. Rows as for :func:`insert`, all with the same keys."""
    if not rows:
        return 0
    conn.execute(text("CREATE TEMP TABLE visit_load (LIKE house_visit INCLUDING DEFAULTS) "
                      "ON COMMIT DROP"))
    columns = tuple(k for k in rows[0] if k not in ("lon", "lat"))

    def geom(r: dict[str, Any]) -> str | None:
        if r.get("lon") is None:
            return None
        return f"SRID={SRID};POINT({float(r['lon'])!r} {float(r['lat'])!r})"

    copy_rows(conn, "visit_load", (*columns, "geom"),
              ((*(r[c] for c in columns), geom(r)) for r in rows))
    names = ", ".join((*columns, "geom"))
    made = conn.execute(text(f"""
        INSERT INTO house_visit ({names}) SELECT {names} FROM visit_load
        ON CONFLICT (idempotency_key) DO NOTHING""")).rowcount
    conn.execute(text("DROP TABLE visit_load"))
    return made


def houses_visited(conn: Connection, column: str, first: date, last: date, zone: str
                   ) -> dict[str, tuple[int, int]]:
    """Per value of a house cell ``column``: (houses, houses visited by anyone on local days
    ``first`` to ``last``)."""
    rows = conn.execute(text(f"""
        SELECT h.{column} AS key, count(*) AS houses,
               count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM house_visit v WHERE v.house_id = h.business_id
                   AND (v.visited_at AT TIME ZONE :z)::date BETWEEN :f AND :l)) AS visited
        FROM house h WHERE h.{column} IS NOT NULL GROUP BY 1"""),
        {"z": zone, "f": first, "l": last})
    return {r.key: (r.houses, r.visited) for r in rows}


def houses_visited_by_people(conn: Connection, role: str, kind: str, first: date, last: date,
                             zone: str) -> dict[str, tuple[int, int]]:
    """Per person of ``role`` (business id): (houses in the cells of ``kind`` they are linked
    to, those of them the person visited on local days ``first`` to ``last``)."""
    rows = conn.execute(text(f"""
        SELECT p.business_id AS key, count(DISTINCT h.pk) AS houses,
               count(DISTINCT h.pk) FILTER (WHERE EXISTS (
                   SELECT 1 FROM house_visit v WHERE v.house_id = h.business_id
                   AND v.person_pk = p.pk
                   AND (v.visited_at AT TIME ZONE :z)::date BETWEEN :f AND :l)) AS visited
        FROM person p JOIN person_area pa ON pa.person_pk = p.pk AND pa.kind = :kind
        JOIN house h ON h.{kind}_id = pa.area_id
        WHERE p.role = :role GROUP BY 1"""),
        {"z": zone, "f": first, "l": last, "kind": kind, "role": role})
    return {r.key: (r.houses, r.visited) for r in rows}


def demo_inputs(conn: Connection) -> tuple[list[dict[str, Any]], dict[tuple[str, str], list[int]]]:
    """For the demo's visits: every house (``business_id`` and :data:`CELLS`) in id order, and
    the person pks of the grid workers per ``("grid", id)`` and officers per ``("beat", id)``."""
    houses = [dict(r) for r in conn.execute(text(
        f"SELECT business_id, {', '.join(CELLS)} FROM house ORDER BY business_id")).mappings()]
    people: dict[tuple[str, str], list[int]] = {}
    for r in conn.execute(text("""
            SELECT pa.kind, pa.area_id, p.pk FROM person p JOIN person_area pa
              ON pa.person_pk = p.pk
            WHERE (p.role = 'grid_worker' AND pa.kind = 'grid')
               OR (p.role = 'officer' AND pa.kind = 'beat')
            ORDER BY pa.kind, pa.area_id, p.pk""")):
        people.setdefault((r.kind, r.area_id), []).append(r.pk)
    return houses, people
