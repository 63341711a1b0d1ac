"""Point objects, compounds, roads and people: SQL for bulk writing them."""

from __future__ import annotations

from typing import Any

from geoalchemy2.shape import from_shape
from sqlalchemy import Connection, delete, func, insert, select, text

from gridsvc.db.areas import PLAN
from gridsvc.db.models import (
    AREA_KINDS,
    SRID,
    Camera,
    Compound,
    CompoundEntrance,
    House,
    Incident,
    Office,
    PatrolPoint,
    Person,
    PersonArea,
    Road,
)
from gridsvc.db.partitions import ensure_incident_months

#: Tables whose rows carry the cells they are in (``AssignedCells``).
ASSIGNED = {"office": Office, "house": House, "incident": Incident,
            "patrol_point": PatrolPoint, "camera": Camera, "compound_entrance": CompoundEntrance}
#: Every table keyed by a business id, by name.
TABLES = {**ASSIGNED, "compound": Compound, "road": Road, "person": Person}


def insert_rows(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows into ``table``; a ``geom`` value may be a shapely geometry (EPSG:4490)."""
    if not rows:
        return
    model = TABLES[table]
    values = [
        {**r, "geom": from_shape(r["geom"], srid=SRID)} if "geom" in r else r for r in rows
    ]
    if table == "incident":  # partitioned by month: each month's partition made first
        ensure_incident_months(conn, (r["occurred_at"] for r in rows))
    conn.execute(insert(model), values)


def delete_by_business_ids(conn: Connection, table: str, ids: list[str]) -> int:
    """Delete the rows of ``table`` with these business ids; returns how many."""
    model = TABLES[table]
    return conn.execute(delete(model).where(model.business_id.in_(ids))).rowcount


def link_people(conn: Connection, links: list[tuple[str, str, str]]) -> None:
    """Link people to cells: ``(person business id, area kind, area business id)``."""
    if not links:
        return
    pks = dict(conn.execute(select(Person.business_id, Person.pk).where(
        Person.business_id.in_({p for p, _, _ in links}))).all())
    conn.execute(insert(PersonArea), [
        {"person_pk": pks[p], "kind": k, "area_id": a} for p, k, a in links])


# The tie-break of "which cell": among cells covering the point, the lowest business id in
# code-point order (COLLATE "C"), as the in-memory engine (gridsvc.domain.assign) does. The
# plan is bound as integer so the plan-keyed GiST index is used (see gridsvc.db.staffing.PLAN).
_ASSIGN = "UPDATE {table} AS t SET " + ", ".join(
    f"""{kind}_id = (SELECT a.business_id FROM area a WHERE a.plan_id = {PLAN}
        AND a.kind = '{kind}' AND ST_Covers(a.geom, t.geom)
        ORDER BY a.business_id COLLATE "C" LIMIT 1)""" for kind in AREA_KINDS
) + ", cells_plan_id = :plan"


def assign_cells(conn: Connection, table: str, plan_id: int, ids: list[str] | None = None) -> int:
    """Set the cell ids of rows of ``table`` from a plan's boundaries, with ``ST_Covers``.

    A point on a shared edge goes to the covering cell with the lowest business id; a point in
    no cell of a kind gets NULL for that kind. ``ids`` limits the update to those business ids.
    Returns the number of rows updated.
    """
    model = ASSIGNED[table]
    sql = _ASSIGN.format(table=model.__tablename__)
    params: dict[str, Any] = {"plan": plan_id}
    if ids is not None:
        sql += " WHERE t.business_id = ANY(:ids)"
        params["ids"] = ids
    return conn.execute(text(sql), params).rowcount


def people_links(conn: Connection, kinds: list[str] | None = None) -> list[dict[str, Any]]:
    """Every person's link to a cell (of ``kinds``, when given): ``kind, area_id, id, name,
    role, phone``."""
    query = (
        select(PersonArea.kind, PersonArea.area_id, Person.business_id.label("id"), Person.name,
               Person.role, Person.phone)
        .join(Person, Person.pk == PersonArea.person_pk)
        .order_by(PersonArea.kind, PersonArea.area_id, Person.role, Person.business_id))
    if kinds is not None:
        query = query.where(PersonArea.kind.in_(kinds))
    rows = conn.execute(query)
    return [dict(r._mapping) for r in rows]


def offices(conn: Connection) -> list[dict[str, Any]]:
    """Every police office with its point (EPSG:4490 lon/lat)."""
    rows = conn.execute(
        select(Office.business_id.label("id"), Office.name, Office.phone, Office.opening_hours,
               func.ST_X(Office.geom).label("lon"), func.ST_Y(Office.geom).label("lat"))
        .order_by(Office.business_id))
    return [dict(r._mapping) for r in rows]


def data_version(conn: Connection) -> int:
    """A number that grows with every change of data: the newest audit entry (every change is
    audited), sign-ins and tokens left out (``gridsvc_data_version()``, which any role may call
    whatever part of the log it may read)."""
    return conn.execute(text("SELECT gridsvc_data_version()")).scalar_one()


def get_row(conn: Connection, table: str, business_id: str) -> dict[str, Any] | None:
    """One row by business id, with its point as ``lon``/``lat`` instead of ``geom``."""
    model = TABLES[table]
    columns = [c for c in model.__table__.columns if c.name != "geom"]
    row = conn.execute(
        select(*columns, func.ST_X(model.geom).label("lon"), func.ST_Y(model.geom).label("lat"))
        .where(model.business_id == business_id)).first()
    return None if row is None else dict(row._mapping)


def next_business_id(conn: Connection, table: str, prefix: str) -> str:
    """A new business id: ``prefix`` + the next number after the highest one in use.

    Takes a transaction-scoped advisory lock on the table's name, so two writers cannot pick
    the same number; it is released when the caller's transaction ends.
    """
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": table})
    # Through a function that sees every row: ids are unique over rows the caller's account
    # may not see (row-level security).
    taken = conn.execute(text("SELECT gridsvc_max_business_number(CAST(:t AS regclass), :p)"),
                         {"t": TABLES[table].__tablename__, "p": prefix}).scalar_one()
    return f"{prefix}{(taken or 0) + 1:05d}"


def analyze(conn: Connection, tables: list[str]) -> None:
    """Refresh the planner's statistics after a bulk load. Without them, a freshly loaded city
    got a nested-loop plan that took 118 s for one map tile instead of 0.4 s (bench/maps.py);
    autovacuum would catch up only later."""
    for table in tables:
        conn.execute(text(f"ANALYZE {table}"))
