"""Duty groups, rules, changes and the materialised duty intervals: SQL for them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import Range

from gridsvc.db.model_duty import (
    DutyChange,
    DutyGroup,
    DutyInterval,
    DutyMember,
    DutyRule,
    ResponsibilityField,
)
from gridsvc.db.models import Person, PersonArea
from gridsvc.domain.duty.rotation import Change, Interval, Rule, Stored, Update


def lock_station(conn: Connection, station_id: str) -> None:
    """Serialise writers of one station's duty (transaction-scoped advisory lock)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('duty:' || :s))"), {"s": station_id})


def person_pks(conn: Connection, business_ids: Iterable[str]) -> dict[str, int]:
    """Business id -> pk of the people that exist among ``business_ids``."""
    ids = list(dict.fromkeys(business_ids))
    if not ids:
        return {}
    return dict(conn.execute(select(Person.business_id, Person.pk)
                             .where(Person.business_id.in_(ids))).all())


def people(conn: Connection, pks: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
    """pk -> ``id, name, role, phone`` and the beats the person is linked to (``beats``)."""
    query = select(Person.pk, Person.business_id.label("id"), Person.name, Person.role,
                   Person.phone)
    if pks is not None:
        query = query.where(Person.pk.in_(list(pks)))
    found = {r.pk: {**r._mapping, "beats": []} for r in conn.execute(query)}
    links = conn.execute(select(PersonArea.person_pk, PersonArea.area_id)
                         .where(PersonArea.kind == "beat",
                                PersonArea.person_pk.in_(list(found)))
                         .order_by(PersonArea.area_id))
    for pk, beat in links:
        found[pk]["beats"].append(beat)
    for p in found.values():
        p.pop("pk")
    return found


def groups(conn: Connection, station_id: str | None = None) -> list[dict[str, Any]]:
    """Duty groups (of a station) with ``members`` (person pks, sorted) and ``leader_pk``."""
    query = select(DutyGroup.id, DutyGroup.station_id, DutyGroup.code, DutyGroup.name,
                   DutyGroup.leader_pk).order_by(DutyGroup.station_id, DutyGroup.code)
    if station_id is not None:
        query = query.where(DutyGroup.station_id == station_id)
    found = {r.id: {**r._mapping, "members": []} for r in conn.execute(query)}
    rows = conn.execute(select(DutyMember.group_id, DutyMember.person_pk)
                        .where(DutyMember.group_id.in_(list(found)))
                        .order_by(DutyMember.person_pk))
    for group_id, pk in rows:
        found[group_id]["members"].append(pk)
    return list(found.values())


def insert_group(conn: Connection, station_id: str, code: str, name: str,
                 leader_pk: int | None) -> int:
    return conn.execute(insert(DutyGroup).values(
        station_id=station_id, code=code, name=name, leader_pk=leader_pk)
        .returning(DutyGroup.id)).scalar_one()


def set_members(conn: Connection, group_id: int, pks: list[int]) -> None:
    """Make ``pks`` the group's members (each person leaves any other group first)."""
    conn.execute(delete(DutyMember).where(DutyMember.group_id == group_id))
    if pks:
        conn.execute(delete(DutyMember).where(DutyMember.person_pk.in_(pks)))
        conn.execute(insert(DutyMember), [{"group_id": group_id, "person_pk": p} for p in pks])


def rules(conn: Connection, station_id: str) -> list[Rule]:
    """Every rule of the station's groups (all versions)."""
    rows = conn.execute(
        select(DutyRule.__table__).join(DutyGroup, DutyGroup.id == DutyRule.group_id)
        .where(DutyGroup.station_id == station_id).order_by(DutyRule.id))
    return [Rule(r.id, r.group_id, r.kind, r.dtstart, r.rrule, r.minutes, r.valid_from,
                 r.valid_until) for r in rows]


def rule_rows(conn: Connection, station_id: str) -> list[dict[str, Any]]:
    """The station's rules as rows (for listing)."""
    cols = [c for c in DutyRule.__table__.columns]
    rows = conn.execute(select(*cols, DutyGroup.code.label("group_code"))
                        .join(DutyGroup, DutyGroup.id == DutyRule.group_id)
                        .where(DutyGroup.station_id == station_id).order_by(DutyRule.id))
    return [dict(r._mapping) for r in rows]


def zone(conn: Connection, station_id: str) -> str | None:
    """The time zone of the station's newest rule."""
    return conn.execute(select(DutyRule.zone).join(DutyGroup, DutyGroup.id == DutyRule.group_id)
                        .where(DutyGroup.station_id == station_id)
                        .order_by(DutyRule.id.desc()).limit(1)).scalar_one_or_none()


def supersede_rules(conn: Connection, station_id: str, from_day: Any) -> dict[str, int]:
    """End the station's rules before ``from_day``: rules starting on or after it are deleted,
    open or later-ending ones end there. Returns how many of each."""
    group_ids = select(DutyGroup.id).where(DutyGroup.station_id == station_id)
    deleted = conn.execute(delete(DutyRule).where(DutyRule.group_id.in_(group_ids),
                                                  DutyRule.valid_from >= from_day)).rowcount
    ended = conn.execute(update(DutyRule).where(
        DutyRule.group_id.in_(group_ids),
        (DutyRule.valid_until.is_(None)) | (DutyRule.valid_until > from_day))
        .values(valid_until=from_day)).rowcount
    return {"deleted": deleted, "ended": ended}


def insert_rules(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    return list(conn.execute(insert(DutyRule).returning(DutyRule.id), rows).scalars())


def changes(conn: Connection, station_id: str) -> list[Change]:
    """The station's changes in force (not withdrawn)."""
    rows = conn.execute(select(DutyChange.__table__)
                        .where(DutyChange.station_id == station_id,
                               DutyChange.withdrawn_at.is_(None)).order_by(DutyChange.id))
    return [Change(c.id, c.kind, c.day, c.group_id, c.other_group_id, c.person_pk,
                   c.other_person_pk, c.duty_kind,
                   c.during.lower if c.during is not None else None,
                   c.during.upper if c.during is not None else None) for c in rows]


def change_rows(conn: Connection, station_id: str, ids: list[int] | None = None
                ) -> list[dict[str, Any]]:
    query = select(DutyChange.__table__).where(DutyChange.station_id == station_id)
    if ids is not None:
        query = query.where(DutyChange.id.in_(ids))
    rows = conn.execute(query.order_by(DutyChange.id))
    out = []
    for r in rows:
        row = dict(r._mapping)
        during = row.pop("during")
        row["start"], row["end"] = (during.lower, during.upper) if during else (None, None)
        out.append(row)
    return out


def change_by_key(conn: Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(DutyChange.id, DutyChange.station_id)
                       .where(DutyChange.idempotency_key == key)).first()
    return None if row is None else dict(row._mapping)


def insert_change(conn: Connection, values: dict[str, Any]) -> int:
    values = dict(values)
    start, end = values.pop("start", None), values.pop("end", None)
    if start is not None:
        values["during"] = Range(start, end, bounds="[)")
    return conn.execute(insert(DutyChange).values(**values).returning(DutyChange.id)).scalar_one()


def withdraw_change(conn: Connection, station_id: str, change_id: int) -> bool:
    return conn.execute(update(DutyChange).where(
        DutyChange.id == change_id, DutyChange.station_id == station_id,
        DutyChange.withdrawn_at.is_(None)).values(withdrawn_at=func.now())).rowcount == 1


def _interval(row: Any) -> Interval:
    return Interval(row.lo, row.hi, row.kind, row.group_id, row.person_pk, row.source)


def _interval_columns():
    return (DutyInterval.id, func.lower(DutyInterval.during).label("lo"),
            func.upper(DutyInterval.during).label("hi"), DutyInterval.kind,
            DutyInterval.group_id, DutyInterval.person_pk, DutyInterval.source,
            DutyInterval.station_id)


def intervals_ending_after(conn: Connection, station_id: str, cut: datetime) -> list[Stored]:
    """The station's stored intervals that end after ``cut``."""
    rows = conn.execute(select(*_interval_columns()).where(
        DutyInterval.station_id == station_id, func.upper(DutyInterval.during) > cut))
    return [Stored(r.id, _interval(r)) for r in rows]


def apply_update(conn: Connection, station_id: str, upd: Update) -> None:
    """Delete, end early and insert, in that order (so the exclusion constraint never sees
    an old and a new main duty overlapping)."""
    if upd.delete:
        conn.execute(delete(DutyInterval).where(DutyInterval.id.in_(upd.delete)))
    for row_id, end in upd.truncate:
        conn.execute(update(DutyInterval).where(DutyInterval.id == row_id).values(
            during=func.tstzrange(func.lower(DutyInterval.during), literal(end), "[)")))
    if upd.insert:
        # INSERT ... SELECT FROM unnest, not COPY: this runs on the request path as the web
        # service's role, and PostgreSQL refuses COPY FROM into a table with row-level
        # security; one statement of arrays is still a few ms for a station-year.
        rows = upd.insert
        conn.execute(text(
            "INSERT INTO duty_interval (station_id, kind, group_id, person_pk, during, source)"
            " SELECT :station, k, g, p, tstzrange(s, e, '[)'), src FROM unnest("
            "CAST(:kinds AS text[]), CAST(:groups AS bigint[]), CAST(:people AS bigint[]),"
            " CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]),"
            " CAST(:sources AS text[])) AS t(k, g, p, s, e, src)"),
            {"station": station_id, "kinds": [iv.kind for iv in rows],
             "groups": [iv.group for iv in rows], "people": [iv.person for iv in rows],
             "starts": [iv.start for iv in rows], "ends": [iv.end for iv in rows],
             "sources": [iv.source for iv in rows]})


def copy_rows(conn: Connection, table: str, columns: tuple[str, ...],
              rows: Iterable[tuple[Any, ...]]) -> None:
    """Bulk insert with COPY, in the connection's transaction (100,000 check-ins take a tenth
    of the time executemany does). Values go as text: ranges as ``[a,b)``, geometries as
    EWKT. For the owner's bulk loads only (demo, bench): PostgreSQL refuses COPY FROM into a
    table with row-level security as the web service's role."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def intervals_at(conn: Connection, at: datetime, station_id: str | None = None
                 ) -> list[tuple[str, Interval]]:
    """(station, interval) of every stored interval holding ``at`` (GiST on ``during``)."""
    query = select(*_interval_columns()).where(DutyInterval.during.contains(at))
    if station_id is not None:
        query = query.where(DutyInterval.station_id == station_id)
    return [(r.station_id, _interval(r)) for r in conn.execute(query)]


def person_intervals_at(conn: Connection, person_pk: int, at: datetime
                        ) -> list[tuple[str, Interval]]:
    """(station, interval) of the person's own stored intervals holding ``at``."""
    query = select(*_interval_columns()).where(DutyInterval.during.contains(at),
                                               DutyInterval.person_pk == person_pk)
    return [(r.station_id, _interval(r)) for r in conn.execute(query)]


def intervals_between(conn: Connection, start: datetime, end: datetime,
                      station_id: str | None = None) -> list[tuple[str, Interval]]:
    """(station, interval) of every stored interval overlapping ``[start, end)``."""
    query = select(*_interval_columns()).where(
        DutyInterval.during.overlaps(func.tstzrange(literal(start), literal(end), "[)")))
    if station_id is not None:
        query = query.where(DutyInterval.station_id == station_id)
    return [(r.station_id, _interval(r)) for r in conn.execute(query.order_by("lo"))]


def materialised_until(conn: Connection, station_id: str) -> datetime | None:
    """The end of the station's last stored interval (None: nothing stored)."""
    return conn.execute(select(func.max(func.upper(DutyInterval.during)))
                        .where(DutyInterval.station_id == station_id)).scalar_one()


def stations_with_rules(conn: Connection) -> list[str]:
    return list(conn.execute(select(DutyGroup.station_id).join(
        DutyRule, DutyRule.group_id == DutyGroup.id).distinct()
        .order_by(DutyGroup.station_id)).scalars())


def delete_station_duty(conn: Connection, station_ids: list[str]) -> None:
    """Delete the stations' groups (their rules, members, changes and intervals go with them)
    and responsibility fields (replacing demo data)."""
    conn.execute(delete(DutyGroup).where(DutyGroup.station_id.in_(station_ids)))
    conn.execute(delete(DutyChange).where(DutyChange.station_id.in_(station_ids)))
    conn.execute(delete(DutyInterval).where(DutyInterval.station_id.in_(station_ids)))
    conn.execute(delete(ResponsibilityField)
                 .where(ResponsibilityField.station_id.in_(station_ids)))


def fields(conn: Connection, station_id: str | None) -> list[dict[str, Any]]:
    """The responsibility fields of a station (None: of every station): ``person_pk,
    person_id, name, village_id, station_id``."""
    query = (select(ResponsibilityField.person_pk, Person.business_id.label("person_id"),
                    Person.name, ResponsibilityField.village_id, ResponsibilityField.station_id)
             .join(Person, Person.pk == ResponsibilityField.person_pk)
             .order_by(Person.business_id, ResponsibilityField.village_id))
    if station_id is not None:
        query = query.where(ResponsibilityField.station_id == station_id)
    return [dict(r._mapping) for r in conn.execute(query)]


def map_state(conn: Connection, at: datetime, since: datetime
              ) -> tuple[str | None, int | None, datetime | None]:
    """What a duty layer drawn at ``at`` changes with, cheaply: a digest of the ids of the
    intervals holding ``at`` (GiST), and the newest check-in counting from ``since`` on (its
    primary key and server time; by the index on ``at``, so a scoped caller seeing few
    check-ins does not walk the whole table). Check-ins are not audited, so the data version
    alone would not see them."""
    row = conn.execute(text(
        "SELECT (SELECT md5(string_agg(id::text, ',' ORDER BY id)) FROM duty_interval"
        "        WHERE during @> CAST(:at AS timestamptz)),"
        "       c.pk, c.server_at"
        "  FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT pk, server_at FROM patrol_check_in"
        "        WHERE at >= :since ORDER BY pk DESC LIMIT 1) c ON true"),
        {"at": at, "since": since}).one()
    return row[0], row[1], row[2]


def replace_fields(conn: Connection, station_id: str, rows: list[tuple[int, str]],
                   actor: str) -> int:
    """Make ``(person pk, village id)`` pairs the station's fields; returns how many were
    dropped."""
    dropped = conn.execute(delete(ResponsibilityField).where(
        ResponsibilityField.station_id == station_id)).rowcount
    if rows:
        conn.execute(insert(ResponsibilityField), [
            {"person_pk": p, "village_id": v, "station_id": station_id, "assigned_by": actor}
            for p, v in rows])
    return dropped


def station_officers(conn: Connection, plan_id: int, station_id: str) -> list[dict[str, Any]]:
    """Officers linked to a beat of the station: ``pk, id, name, beats``."""
    rows = conn.execute(text(
        "SELECT p.pk, p.business_id AS id, p.name, array_agg(DISTINCT pa.area_id) AS beats"
        " FROM person p JOIN person_area pa ON pa.person_pk = p.pk AND pa.kind = 'beat'"
        " JOIN area b ON b.plan_id = :plan AND b.kind = 'beat' AND b.business_id = pa.area_id"
        " WHERE b.parent_id = :station AND p.role = 'officer'"
        " GROUP BY p.pk, p.business_id, p.name ORDER BY p.business_id"),
        {"plan": plan_id, "station": station_id})
    return [dict(r._mapping) for r in rows]


def station_villages(conn: Connection, plan_id: int, station_id: str, since: datetime
                     ) -> list[dict[str, Any]]:
    """The villages of a station (those whose inner point it covers) with what makes them
    complex: households, floating residents and rental houses of their houses, incidents
    since ``since``; ``wkb`` is the village's boundary."""
    rows = conn.execute(text("""
        SELECT v.business_id AS id, v.name, ST_AsBinary(v.geom) AS wkb,
               coalesce(h.households, 0) AS households, coalesce(h.floating, 0) AS floating,
               coalesce(h.rentals, 0) AS rentals, coalesce(i.n, 0) AS incidents
          FROM area v
          JOIN area s ON s.plan_id = v.plan_id AND s.kind = 'station'
                     AND s.business_id = :station AND ST_Covers(s.geom, ST_PointOnSurface(v.geom))
          LEFT JOIN (SELECT village_id, sum(households) AS households, sum(floating) AS floating,
                            count(*) FILTER (WHERE is_rental) AS rentals
                       FROM house GROUP BY village_id) h ON h.village_id = v.business_id
          LEFT JOIN (SELECT village_id, count(*) AS n FROM incident
                      WHERE occurred_at >= :since GROUP BY village_id) i
                 ON i.village_id = v.business_id
         WHERE v.plan_id = :plan AND v.kind = 'village'
         ORDER BY v.business_id"""), {"plan": plan_id, "station": station_id, "since": since})
    return [dict(r._mapping) for r in rows]


def grid_villages(conn: Connection, plan_id: int) -> dict[str, str]:
    """Grid id -> its village id in a plan."""
    return dict(conn.execute(text("SELECT business_id, parent_id FROM area"
                                  " WHERE plan_id = :plan AND kind = 'grid'"),
                             {"plan": plan_id}).all())


def grid_links(conn: Connection) -> list[tuple[int, str]]:
    """Every (person pk, grid id) link."""
    return [tuple(r) for r in conn.execute(select(PersonArea.person_pk, PersonArea.area_id)
                                           .where(PersonArea.kind == "grid"))]
