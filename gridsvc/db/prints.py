"""SQL of the printed products: bulletin counts, map shapes, advice, solved cases, card rows.

Everything is read with counts and ids only; the services assemble the pages.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import shapely
from sqlalchemy import Connection, text

from gridsvc.db.areas import PLAN

#: Cell column of incidents per bulletin area kind (offices are read as their beats).
COLUMN = {"beat": "beat_id", "station": "station_id"}


def cell(conn: Connection, plan_id: int, kind: str, business_id: str
         ) -> dict[str, Any] | None:
    """A cell's id, name, parent and outline (shapely), or None."""
    row = conn.execute(text(f"""
        SELECT business_id AS id, name, parent_id, ST_AsBinary(geom) AS wkb FROM area
        WHERE plan_id = {PLAN} AND kind = :kind AND business_id = :id"""),
        {"plan": plan_id, "kind": kind, "id": business_id}).mappings().first()
    if row is None:
        return None
    return {"id": row["id"], "name": row["name"], "parent_id": row["parent_id"],
            "geom": shapely.from_wkb(bytes(row["wkb"]))}


def cells(conn: Connection, plan_id: int, kind: str, *, simplify_deg: float = 0.0
          ) -> list[dict[str, Any]]:
    """Every cell of ``kind`` in a plan: id, name, parent_id and outline (simplified by
    ``simplify_deg`` degrees: a printed map of a few centimetres needs no more)."""
    rows = conn.execute(text(f"""
        SELECT business_id AS id, name, parent_id,
               ST_AsBinary(ST_SimplifyPreserveTopology(geom, :tol)) AS wkb
        FROM area WHERE plan_id = {PLAN} AND kind = :kind ORDER BY business_id"""),
        {"plan": plan_id, "kind": kind, "tol": simplify_deg}).mappings().all()
    geoms = shapely.from_wkb([bytes(r["wkb"]) for r in rows]) if rows else []
    return [{"id": r["id"], "name": r["name"], "parent_id": r["parent_id"], "geom": g}
            for r, g in zip(rows, geoms, strict=True)]


def office(conn: Connection, business_id: str) -> dict[str, Any] | None:
    """A police office: id, name, hours, phone, station and beat of its point."""
    row = conn.execute(text("""
        SELECT business_id AS id, name, opening_hours, phone, station_id, beat_id
        FROM office WHERE business_id = :id"""), {"id": business_id}).mappings().first()
    return None if row is None else dict(row)


def offices(conn: Connection) -> list[dict[str, Any]]:
    """Every police office (see :func:`office`)."""
    return [dict(r) for r in conn.execute(text("""
        SELECT business_id AS id, name, opening_hours, phone, station_id, beat_id
        FROM office ORDER BY business_id""")).mappings()]


def office_beats(conn: Connection, office_id: str) -> list[str]:
    """The beats an office serves: the one its point lies in, and those its officers and
    auxiliaries are linked to."""
    return list(conn.execute(text("""
        SELECT beat_id FROM office WHERE business_id = :id AND beat_id IS NOT NULL
        UNION
        SELECT pa.area_id FROM person p JOIN person_area pa ON pa.person_pk = p.pk
        WHERE p.office_id = :id AND pa.kind = 'beat' ORDER BY 1"""), {"id": office_id}).scalars())


def incident_counts(conn: Connection, column: str, ids: list[str] | None, start: datetime,
                    end: datetime) -> list[tuple[str, str | None, str, int, int]]:
    """Incidents per ``(area, village, category, weeks before end)`` in ``[start, end)``.

    ``weeks_before`` is 0 for the last 7 days before ``end``, 1 for the 7 before those, and so
    on. ``column`` is ``beat_id`` or ``station_id``; ``ids`` None means every area.
    """
    assert column in COLUMN.values()
    where = "" if ids is None else f"AND i.{column} = ANY(:ids)"
    rows = conn.execute(text(f"""
        SELECT i.{column} AS area, i.village_id, i.category,
               floor(extract(epoch FROM (:end - i.occurred_at)) / 604800)::int AS before,
               count(*) AS n
        FROM incident i
        WHERE i.occurred_at >= :start AND i.occurred_at < :end
          AND i.{column} IS NOT NULL {where}
        GROUP BY 1, 2, 3, 4"""), {"start": start, "end": end, "ids": ids})
    return [(r.area, r.village_id, r.category, r.before, r.n) for r in rows]


def solved_counts(conn: Connection, column: str, ids: list[str] | None, first: date,
                  last: date) -> dict[str, int]:
    """Per area, incidents solved from ``first`` to ``last`` (local dates, inclusive); an
    area with no solved mark ever is absent (its cases are "not recorded")."""
    where = "" if ids is None else f"AND i.{column} = ANY(:ids)"
    rows = conn.execute(text(f"""
        SELECT i.{column} AS area,
               count(*) FILTER (WHERE s.solved_on BETWEEN :first AND :last) AS n
        FROM incident_solved s JOIN incident i ON i.business_id = s.incident_id
        WHERE i.{column} IS NOT NULL {where} GROUP BY 1"""),
        {"first": first, "last": last, "ids": ids})
    return {r.area: r.n for r in rows}


def advice(conn: Connection) -> dict[str, str]:
    """The prevention advice by category."""
    return dict(conn.execute(text("SELECT category, advice FROM prevention_advice")).all())


def advice_rows(conn: Connection) -> list[dict[str, Any]]:
    """Every advice row with who changed it last and when."""
    return [dict(r) for r in conn.execute(text(
        "SELECT category, advice, updated_by, updated_at FROM prevention_advice "
        "ORDER BY category")).mappings()]


def put_advice(conn: Connection, category: str, advice_text: str, actor: str
               ) -> dict[str, Any] | None:
    """Set a category's advice; returns the previous row (None when new)."""
    before = conn.execute(text("SELECT category, advice FROM prevention_advice "
                               "WHERE category = :c FOR UPDATE"),
                          {"c": category}).mappings().first()
    conn.execute(text("""
        INSERT INTO prevention_advice (category, advice, updated_by) VALUES (:c, :a, :by)
        ON CONFLICT (category) DO UPDATE SET advice = :a, updated_by = :by, updated_at = now()"""),
        {"c": category, "a": advice_text, "by": actor})
    return None if before is None else dict(before)


def delete_advice(conn: Connection, category: str) -> dict[str, Any] | None:
    """Remove a category's advice; returns the removed row (None when there was none)."""
    row = conn.execute(text("DELETE FROM prevention_advice WHERE category = :c "
                            "RETURNING category, advice"), {"c": category}).mappings().first()
    return None if row is None else dict(row)


def incident_exists(conn: Connection, incident_id: str) -> bool:
    """Whether an incident with this business id exists (visible to the caller)."""
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM incident WHERE business_id = :id)"),
                        {"id": incident_id}).scalar_one()


def mark_solved(conn: Connection, incident_id: str, solved_on: date, actor: str
                ) -> dict[str, Any] | None:
    """Record (or re-date) a solved case; returns the previous mark (None when new)."""
    before = conn.execute(text("SELECT incident_id, solved_on FROM incident_solved "
                               "WHERE incident_id = :id FOR UPDATE"),
                          {"id": incident_id}).mappings().first()
    conn.execute(text("""
        INSERT INTO incident_solved (incident_id, solved_on, recorded_by) VALUES (:id, :d, :by)
        ON CONFLICT (incident_id) DO UPDATE SET solved_on = :d, recorded_by = :by,
                                                recorded_at = now()"""),
                 {"id": incident_id, "d": solved_on, "by": actor})
    return None if before is None else dict(before)


def card_rows(conn: Connection, village_id: str) -> list[dict[str, Any]]:
    """The houses of a village (its current cell, ``house.village_id``) with their address
    parts and cells, in address order."""
    return [dict(r) for r in conn.execute(text("""
        SELECT h.business_id AS id, h.number, h.sub_number, h.building, h.unit, h.room,
               h.beat_id, h.grid_id, h.station_id, h.address_village_id
        FROM house h WHERE h.village_id = :v
        ORDER BY h.number, h.sub_number NULLS FIRST, h.building NULLS FIRST,
                 h.unit NULLS FIRST, h.room NULLS FIRST, h.business_id"""),
        {"v": village_id}).mappings()]


def people_of(conn: Connection, kind: str, area_ids: list[str]) -> list[dict[str, Any]]:
    """People linked to cells of ``kind``: area_id, id, name, role, phone, office_id."""
    return [dict(r) for r in conn.execute(text("""
        SELECT pa.area_id, p.business_id AS id, p.name, p.role, p.phone, p.office_id
        FROM person_area pa JOIN person p ON p.pk = pa.person_pk
        WHERE pa.kind = :kind AND pa.area_id = ANY(:ids)
        ORDER BY pa.area_id, p.role, p.business_id"""), {"kind": kind, "ids": area_ids}).mappings()]


def names(conn: Connection, plan_id: int, kind: str, ids: list[str]) -> dict[str, str]:
    """Names of cells by id."""
    return dict(conn.execute(text(f"""
        SELECT business_id, name FROM area WHERE plan_id = {PLAN} AND kind = :kind
        AND business_id = ANY(:ids)"""), {"plan": plan_id, "kind": kind, "ids": ids}).all())


def insert_solved(conn: Connection, marks: list[dict[str, Any]], actor: str) -> int:
    """Insert solved marks ``{incident_id, solved_on}``, keeping any already there."""
    if not marks:
        return 0
    conn.execute(text("""
        INSERT INTO incident_solved (incident_id, solved_on, recorded_by)
        VALUES (:incident_id, :solved_on, :by) ON CONFLICT (incident_id) DO NOTHING"""),
        [{**m, "by": actor} for m in marks])
    return len(marks)


def returned_counts(conn: Connection, column: str, since: datetime, until: datetime
                    ) -> dict[str, int]:
    """Per value of an event cell ``column``: events reported in [since, until) that were
    returned (退回) at least once, at any time since (the same events the events service's
    figures count, :func:`gridsvc.services.events.figures`)."""
    rows = conn.execute(text(f"""
        SELECT e.{column} AS key, count(*) AS n FROM event e
        WHERE e.created_at >= :since AND e.created_at < :until AND e.{column} IS NOT NULL
          AND EXISTS (SELECT 1 FROM event_transition t
                      WHERE t.event_id = e.id AND t.action = 'return')
        GROUP BY 1"""), {"since": since, "until": until})
    return {r.key: r.n for r in rows}


def own_reports(conn: Connection, role: str, since: datetime, until: datetime
                ) -> dict[str, int]:
    """Per person of ``role`` (business id): events reported in [since, until) by an account
    of that person (their own reports, wherever the event was)."""
    rows = conn.execute(text("""
        SELECT p.business_id AS key, count(*) AS n FROM event e
        JOIN account a ON a.id = e.reporter_account_id JOIN person p ON p.pk = a.person_pk
        WHERE p.role = :role AND e.created_at >= :since AND e.created_at < :until
        GROUP BY 1"""), {"role": role, "since": since, "until": until})
    return {r.key: r.n for r in rows}


def check_in_days(conn: Connection, first: date, last: date, zone: str
                  ) -> tuple[date | None, date | None]:
    """The first and last local day (in ``zone``) between ``first`` and ``last`` with a patrol
    check-in; ``(None, None)`` when there is none."""
    lo, hi = conn.execute(text(
        "SELECT min((at AT TIME ZONE :z)::date), max((at AT TIME ZONE :z)::date) "
        "FROM patrol_check_in WHERE (at AT TIME ZONE :z)::date BETWEEN :f AND :l"),
        {"z": zone, "f": first, "l": last}).one()
    return lo, hi


def people_with_check_ins(conn: Connection, role: str, zone: str, first: date, last: date
                          ) -> list[dict[str, Any]]:
    """Every person of ``role`` with the cells they are linked to (beats for officers, grids
    for the others; empty when none) and their check-ins between the local days ``first``
    and ``last``."""
    rows = conn.execute(text("""
        SELECT p.pk, p.business_id AS id, p.name,
               array_remove(array_agg(DISTINCT pa.area_id)
                            FILTER (WHERE pa.kind = :kind), NULL) AS cells,
               (SELECT count(*) FROM patrol_check_in c WHERE c.person_pk = p.pk
                  AND (c.at AT TIME ZONE :z)::date BETWEEN :f AND :l) AS check_ins
        FROM person p LEFT JOIN person_area pa ON pa.person_pk = p.pk
        WHERE p.role = :role GROUP BY p.pk ORDER BY p.business_id"""),
        {"kind": "beat" if role == "officer" else "grid", "role": role, "z": zone,
         "f": first, "l": last}).mappings().all()
    return [dict(r) for r in rows]
