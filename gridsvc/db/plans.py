"""Plans (drafts, activation) and their cells: SQL for editing, comparing and moving objects."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import Connection, bindparam, delete, func, select, text, update

from gridsvc.db.areas import PLAN
from gridsvc.db.models import SRID, Area, Plan
from gridsvc.db.objects import ASSIGNED

#: Cell columns of a point object.
CELL_COLUMNS = ("town_id", "village_id", "grid_id", "station_id", "beat_id")
#: Extra columns read per table for the impact preview.
EXTRA = {"house": ("address_village_id", "number", "households", "residents"),
         "incident": ("occurred_at", "category"), "office": ("name",),
         "patrol_point": ("name",), "camera": ("name",),
         "compound_entrance": ("name", "compound_id")}


def list_plans(conn: Connection) -> list[dict[str, Any]]:
    """Every plan, newest first, with its number of cells per kind (``cells``)."""
    rows = conn.execute(text("""
        SELECT p.id, p.name, p.status, p.effective_from, p.based_on_id, p.version, p.source,
               p.note, p.created_by, p.created_at,
               (SELECT jsonb_object_agg(kind, n) FROM (SELECT kind, count(*) AS n FROM area
                 WHERE plan_id = p.id GROUP BY kind) c) AS cells
        FROM plan p ORDER BY p.id DESC"""))
    return [dict(r._mapping) for r in rows]


def lock_plan(conn: Connection, plan_id: int) -> dict[str, Any] | None:
    """The plan's row, locked until the transaction ends (``FOR UPDATE``), or None."""
    row = conn.execute(select(Plan.__table__).where(Plan.id == plan_id).with_for_update()).first()
    return None if row is None else dict(row._mapping)


def take_version(conn: Connection, plan_id: int, expected: int) -> int | None:
    """Bump a draft's version if it still is ``expected``; the new version, else None.

    The row lock this takes makes a second editor wait for the first one's commit; the second
    then sees the bumped version and gets None (the caller says why).
    """
    return conn.execute(
        update(Plan).where(Plan.id == plan_id, Plan.version == expected, Plan.status == "draft")
        .values(version=Plan.version + 1).returning(Plan.version)).scalar_one_or_none()


def set_status(conn: Connection, plan_id: int, status: str,
               effective_from: date | None = None) -> None:
    values: dict[str, Any] = {"status": status}
    if effective_from is not None:
        values["effective_from"] = effective_from
    conn.execute(update(Plan).where(Plan.id == plan_id).values(**values))


def copy_areas(conn: Connection, source: int, target: int) -> int:
    """Copy every cell of plan ``source`` into plan ``target``; returns how many."""
    return conn.execute(text("""
        INSERT INTO area (plan_id, kind, business_id, code, name, parent_id, households,
                          residents, attrs, geom)
        SELECT :target, kind, business_id, code, name, parent_id, households, residents, attrs,
               geom FROM area WHERE plan_id = :source"""),
        {"source": source, "target": target}).rowcount


def cells(conn: Connection, plan_id: int, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Cells by business id: ``id, kind, code, name, parent_id, attrs, geom`` (shapely)."""
    rows = conn.execute(
        select(Area.business_id, Area.kind, Area.code, Area.name, Area.parent_id, Area.attrs,
               func.ST_AsBinary(Area.geom).label("wkb"))
        .where(Area.plan_id == plan_id, Area.kind == kind, Area.business_id.in_(ids)))
    out = {}
    for r in rows:
        out[r.business_id] = {"id": r.business_id, "kind": r.kind, "code": r.code,
                              "name": r.name, "parent_id": r.parent_id, "attrs": r.attrs,
                              "geom": shapely.from_wkb(bytes(r.wkb))}
    return out


def set_geometries(conn: Connection, plan_id: int, kind: str,
                   geoms: dict[str, shapely.Geometry]) -> None:
    """Replace cells' geometries (MultiPolygons in EPSG:4490)."""
    if not geoms:
        return
    table = Area.__table__
    stmt = (update(table).where(table.c.plan_id == plan_id, table.c.kind == kind,
                                table.c.business_id == bindparam("b_id"))
            .values(geom=bindparam("b_geom")))
    conn.execute(stmt, [{"b_id": k, "b_geom": from_shape(g, srid=SRID)}
                        for k, g in geoms.items()])


def delete_cells(conn: Connection, plan_id: int, kind: str, ids: list[str]) -> int:
    return conn.execute(delete(Area).where(Area.plan_id == plan_id, Area.kind == kind,
                                           Area.business_id.in_(ids))).rowcount


def siblings(conn: Connection, kind: str, parent_id: str | None) -> list[tuple[str, str | None]]:
    """``(business_id, code)`` of every cell of ``kind`` under ``parent_id``, in every plan."""
    cond = Area.parent_id.is_(None) if parent_id is None else Area.parent_id == parent_id
    rows = conn.execute(select(Area.business_id, Area.code).distinct()
                        .where(Area.kind == kind, cond).order_by(Area.business_id))
    return [(r.business_id, r.code) for r in rows]


def taken_ids(conn: Connection, kind: str) -> set[str]:
    """Every business id of ``kind`` in every plan (a retired id is never given again)."""
    return set(conn.execute(select(Area.business_id).distinct()
                            .where(Area.kind == kind)).scalars())


def changed_cells(conn: Connection, base: int, draft: int) -> list[dict[str, Any]]:
    """Cells that differ between two plans, by kind and id: ``kind, id, change`` (added,
    removed, changed) and ``geometry`` (True when the stored geometry differs)."""
    # Geometries are compared as stored bytes: a copied cell is byte for byte its original,
    # and comparing bytes is ten times faster on a city than ST_OrderingEquals in the SELECT
    # list. (A cell rewritten with the same vertices may count as changed: harmless, its
    # points are only checked again.) Sorted in Python, not dragging geometries through a sort.
    rows = conn.execute(text("""
        SELECT kind, business_id AS id,
               CASE WHEN b.pk IS NULL THEN 'added' WHEN d.pk IS NULL THEN 'removed'
                    ELSE 'changed' END AS change,
               (b.pk IS NULL OR d.pk IS NULL OR b.geom::bytea <> d.geom::bytea) AS geometry
        FROM (SELECT * FROM area WHERE plan_id = :base) b
        FULL JOIN (SELECT * FROM area WHERE plan_id = :draft) d USING (kind, business_id)
        WHERE b.pk IS NULL OR d.pk IS NULL OR b.geom::bytea <> d.geom::bytea
              OR b.parent_id IS DISTINCT FROM d.parent_id OR b.name IS DISTINCT FROM d.name
              OR b.code IS DISTINCT FROM d.code"""), {"base": base, "draft": draft})
    return sorted((dict(r._mapping) for r in rows), key=lambda r: (r["kind"], r["id"]))


def cells_near(conn: Connection, plan_id: int, kind: str, plans: list[int], ids: list[str],
               *, parents_of: bool = False) -> list[dict[str, Any]]:
    """Cells of ``kind`` in ``plan_id`` whose box meets the box of one of the cells ``ids``
    (of the same kind, in any of ``plans``): the changed cells and their neighbours.
    ``id, parent_id, wkb``."""
    rows = conn.execute(text("""
        SELECT a.business_id AS id, a.parent_id, ST_AsBinary(a.geom) AS wkb FROM area a
        WHERE a.plan_id = :plan AND a.kind = :kind AND EXISTS (
            SELECT 1 FROM area c WHERE c.plan_id = ANY(:plans) AND c.kind = :kind
            AND c.business_id = ANY(:ids) AND c.geom && a.geom)
        ORDER BY a.business_id"""), {"plan": plan_id, "kind": kind, "plans": plans, "ids": ids})
    return [dict(r._mapping) for r in rows]


def cells_by_ids(conn: Connection, plan_id: int, kind: str, ids: list[str]
                 ) -> list[dict[str, Any]]:
    """``id, parent_id, wkb`` of the given cells of a plan."""
    rows = conn.execute(text("""
        SELECT business_id AS id, parent_id, ST_AsBinary(geom) AS wkb FROM area
        WHERE plan_id = :plan AND kind = :kind AND business_id = ANY(:ids)
        ORDER BY business_id"""), {"plan": plan_id, "kind": kind, "ids": ids})
    return [dict(r._mapping) for r in rows]


def children_of(conn: Connection, plan_id: int, kind: str, parent_ids: list[str]
                ) -> list[dict[str, Any]]:
    """``id, parent_id, wkb`` of the cells of ``kind`` whose parent is one of ``parent_ids``."""
    rows = conn.execute(text("""
        SELECT business_id AS id, parent_id, ST_AsBinary(geom) AS wkb FROM area
        WHERE plan_id = :plan AND kind = :kind AND parent_id = ANY(:parents)
        ORDER BY business_id"""), {"plan": plan_id, "kind": kind, "parents": parent_ids})
    return [dict(r._mapping) for r in rows]


def cells_in_box(conn: Connection, plan_id: int, kind: str,
                 box: tuple[float, float, float, float]) -> tuple[list[str], list[bytes]]:
    """Business ids and WKB of a plan's cells of ``kind`` whose box meets ``box``."""
    rows = conn.execute(text(f"""
        SELECT business_id, ST_AsBinary(geom) FROM area
        WHERE plan_id = {PLAN} AND kind = :kind
          AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490) ORDER BY business_id"""),
        {"plan": plan_id, "kind": kind, "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]})
    ids, wkb = [], []
    for bid, geom in rows:
        ids.append(bid)
        wkb.append(bytes(geom))
    return ids, wkb


def candidate_points(conn: Connection, table: str, plans: list[int], kinds: list[str],
                     ids: list[str], *, since: datetime | None = None) -> dict[str, np.ndarray]:
    """Rows of a point table inside the box of a changed cell (``kinds[i], ids[i]`` in any of
    ``plans``): the only rows whose cells a change of those cells can move.

    Returns columns as arrays: ``id, x, y, cells_plan_id``, the cell columns and :data:`EXTRA`.
    ``since`` keeps incidents from that time on.
    """
    model = ASSIGNED[table]
    extra = "".join(f", t.{c}" for c in EXTRA[table])
    when = " AND t.occurred_at >= :since" if since is not None else ""
    # The changed cells first, by (plan, kind, id): joined straight to the points, PostgreSQL
    # may instead probe area's spatial index once per point, visiting every plan's copy.
    sql = f"""
        WITH changed AS MATERIALIZED (
            SELECT c.geom FROM area c WHERE c.plan_id = ANY(:plans)
            AND (c.kind, c.business_id) IN (SELECT * FROM unnest(
                CAST(:kinds AS varchar[]), CAST(:ids AS varchar[]))))
        SELECT t.business_id AS id, ST_X(t.geom) AS x, ST_Y(t.geom) AS y, t.cells_plan_id,
               {", ".join(f"t.{c}" for c in CELL_COLUMNS)}{extra}
        FROM {model.__tablename__} t
        WHERE t.pk IN (
            SELECT t2.pk FROM changed c JOIN {model.__tablename__} t2 ON c.geom && t2.geom){when}
        ORDER BY t.business_id"""
    params: dict[str, Any] = {"plans": plans, "kinds": kinds, "ids": ids}
    if since is not None:
        params["since"] = since
    result = conn.execute(text(sql), params)
    names = list(result.keys())
    rows = result.all()
    return {n: np.array([r[i] for r in rows], dtype=float if n in ("x", "y") else object)
            for i, n in enumerate(names)}


def set_point_cells(conn: Connection, table: str, ids: list[str],
                    cells: dict[str, list[str | None]], plan_id: int) -> int:
    """Set the cell columns (and ``cells_plan_id``) of rows by business id, in one statement."""
    if not ids:
        return 0
    model = ASSIGNED[table]
    cols = ", ".join(f"{c} = v.{c}" for c in CELL_COLUMNS)
    arrays = ", ".join(f"CAST(:{c} AS varchar[])" for c in CELL_COLUMNS)
    sql = f"""
        UPDATE {model.__tablename__} t SET {cols}, cells_plan_id = :plan
        FROM unnest(CAST(:ids AS varchar[]), {arrays})
            AS v(id, {", ".join(CELL_COLUMNS)})
        WHERE t.business_id = v.id"""
    params: dict[str, Any] = {"ids": ids, "plan": plan_id}
    params.update({c: cells[c] for c in CELL_COLUMNS})
    return conn.execute(text(sql), params).rowcount


def repoint(conn: Connection, table: str, source: int, target: int) -> int:
    """Say that rows whose cells came from plan ``source`` now have those of ``target``."""
    model = ASSIGNED[table]
    return conn.execute(text(
        f"UPDATE {model.__tablename__} SET cells_plan_id = :target "
        "WHERE cells_plan_id = :source"), {"source": source, "target": target}).rowcount


def source_plans(conn: Connection, table: str) -> list[int | None]:
    """The distinct plans the rows of a table have their cells from (None: never assigned)."""
    model = ASSIGNED[table]
    return list(conn.execute(select(model.cells_plan_id).distinct()).scalars())


def cell_sums(conn: Connection, plan_id: int, kind: str, ids: list[str]
              ) -> dict[str, tuple[int, int, int]]:
    """``id -> (houses, households, residents)`` of houses whose stored ``kind`` cell is one of
    ``ids`` and whose cells came from ``plan_id``."""
    rows = conn.execute(text(f"""
        SELECT {kind}_id, count(*), coalesce(sum(households), 0), coalesce(sum(residents), 0)
        FROM house WHERE cells_plan_id = :plan AND {kind}_id = ANY(:ids) GROUP BY 1"""),
        {"plan": plan_id, "ids": ids})
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}


def cell_features(conn: Connection, plan_id: int, kind: str, ids: list[str]
                  ) -> list[dict[str, Any]]:
    """``id, code, name, parent_id, geometry`` (GeoJSON text, 7 decimals) of cells."""
    rows = conn.execute(text("""
        SELECT business_id AS id, code, name, parent_id, ST_AsGeoJSON(geom, 7) AS geometry
        FROM area WHERE plan_id = :plan AND kind = :kind AND business_id = ANY(:ids)
        ORDER BY business_id"""), {"plan": plan_id, "kind": kind, "ids": ids})
    return [dict(r._mapping) for r in rows]


def last_change(conn: Connection, plan_id: int) -> dict[str, Any] | None:
    """Who changed the plan last and when (its newest audit entry), or None."""
    row = conn.execute(text("""
        SELECT actor, at, action FROM audit_log WHERE object_kind = 'plan' AND object_id = :id
        ORDER BY id DESC LIMIT 1"""), {"id": str(plan_id)}).first()
    return None if row is None else dict(row._mapping)


def houses_in_box(conn: Connection, box: list[float]) -> dict[str, np.ndarray]:
    """``id, x, y`` of the houses inside a box (EPSG:4490)."""
    rows = conn.execute(text("""
        SELECT business_id, ST_X(geom), ST_Y(geom) FROM house
        WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490) ORDER BY business_id"""),
        {"x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]}).all()
    return {"id": np.array([r[0] for r in rows], dtype=object),
            "x": np.array([r[1] for r in rows], dtype=float),
            "y": np.array([r[2] for r in rows], dtype=float)}


def unassigned_ids(conn: Connection, table: str) -> list[str]:
    """Business ids of the rows of a point table that were never given cells."""
    model = ASSIGNED[table]
    return list(conn.execute(select(model.business_id).where(model.cells_plan_id.is_(None))
                             .order_by(model.business_id)).scalars())


def people_links(conn: Connection, cells: dict[str, list[str]]) -> list[dict[str, Any]]:
    """People linked to some cells (``{kind: [ids]}``): ``kind, area_id, id, name, role``."""
    out: list[dict[str, Any]] = []
    for kind, ids in cells.items():
        rows = conn.execute(text("""
            SELECT pa.kind, pa.area_id, p.business_id AS id, p.name, p.role
            FROM person_area pa JOIN person p ON p.pk = pa.person_pk
            WHERE pa.kind = :kind AND pa.area_id = ANY(:ids)
            ORDER BY pa.area_id, p.role, p.business_id"""), {"kind": kind, "ids": ids})
        out += [dict(r._mapping) for r in rows]
    return out


def lock_timeline(conn: Connection) -> None:
    """Serialise changes of the plans in effect (activate, retire, restore, sync) until the
    transaction ends, so two activations cannot both replace the same plan."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('gridsvc.plan.timeline'))"))


def lock_tables(conn: Connection, tables: tuple[str, ...]) -> None:
    """Lock ``tables`` (names from the code, never from input) in EXCLUSIVE mode until the
    transaction ends: readers go on, writers wait, so no row moves while an activation
    re-points them."""
    conn.execute(text(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE"))
