"""Shifts: duty groups, rotations, exceptions and the materialised intervals.

Writes own their transaction and hold the station's advisory lock, so two changes of one
station's duty never interleave. Every change of rules or exceptions re-materialises the station's
intervals from *now* on (:func:`gridsvc.domain.duty.rotation.reconcile`): the past stays as it
was, so "who was on duty at T" is exact for any past T. A change that would leave an instant
with no main-duty group, or two, is refused with the instants named, and nothing is written.

Who is on duty is answered by :mod:`gridsvc.services.onduty`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import audit
from gridsvc.db import duty as repo
from gridsvc.domain.duty.rotation import (
    CHANGE_KINDS,
    KINDS,
    Rule,
    daily_rotation,
    expand,
    main_duty_problems,
    reconcile,
    rule_problems,
)
from gridsvc.errors import Conflict, InvalidInput, NotFound, Problem
from gridsvc.settings import DutySettings


def _now(settings: DutySettings) -> datetime:
    return datetime.now(ZoneInfo(settings.zone))


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _station_exists(conn: Connection, station_id: str) -> None:
    plan_id = area_repo.current_plan_id(conn)
    if plan_id is None or station_id not in area_repo.business_ids(conn, plan_id, "station"):
        raise NotFound(f"no station {station_id!r} in the plan in effect")


def _pks(conn: Connection, ids: list[str], field_name: str) -> dict[str, int]:
    found = repo.person_pks(conn, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput([Problem(f"no person {i!r}", field=field_name) for i in missing])
    return found


def create_group(engine: Engine, *, station_id: str, code: str, name: str,
                 member_ids: list[str], leader_id: str | None, actor: str) -> dict[str, Any]:
    """A new duty group of a station with its members (person business ids) and leader.

    Raises
    ------
    NotFound
        No such station in the plan in effect.
    InvalidInput
        An unknown person.
    Conflict
        The station has a group with that code (the database's unique constraint).
    """
    with engine.begin() as conn:
        _station_exists(conn, station_id)
        repo.lock_station(conn, station_id)
        if any(g["code"] == code for g in repo.groups(conn, station_id)):
            raise Conflict(f"station {station_id} has a group {code!r} already")
        pks = _pks(conn, [*member_ids, *([leader_id] if leader_id else [])], "members")
        group_id = repo.insert_group(conn, station_id, code, name,
                                     pks[leader_id] if leader_id else None)
        repo.set_members(conn, group_id, [pks[i] for i in member_ids])
        after = {"station_id": station_id, "code": code, "name": name, "members": member_ids,
                 "leader": leader_id}
        audit.record(conn, actor=actor, action="duty.group.create", object_kind="duty_group",
                     object_id=str(group_id), after=after)
    return {"id": group_id, **after}


def list_groups(engine: Engine, station_id: str) -> list[dict[str, Any]]:
    """The station's groups with members and leader as people (id, name, role, phone).

    On the app engine the people outside the caller's scope are not readable (the person
    policy): they are left out of ``members``, and a hidden leader is None, as in the
    on-duty answers."""
    with engine.connect() as conn:
        groups = repo.groups(conn, station_id)
        people = repo.people(conn, {pk for g in groups for pk in
                                    [*g["members"], *([g["leader_pk"]] if g["leader_pk"] else [])]})
    return [{**{k: g[k] for k in ("id", "station_id", "code", "name")},
             "leader": people.get(g["leader_pk"]) if g["leader_pk"] else None,
             "members": [people[pk] for pk in g["members"] if pk in people]} for g in groups]


def rematerialise(conn: Connection, settings: DutySettings, station_id: str, cut: datetime,
                 end: datetime) -> dict[str, int]:
    """Re-materialise the station's intervals over ``[cut, end)``; raise before writing when
    main duty would have a gap or an overlap there."""
    groups = repo.groups(conn, station_id)
    rules = repo.rules(conn, station_id)
    zone = repo.zone(conn, station_id) or settings.zone
    fresh = expand(rules, repo.changes(conn, station_id),
                   {g["id"]: g["members"] for g in groups}, zone, cut, end)
    mains = [iv for iv in fresh if iv.kind == "main" and iv.person is None]
    if mains:
        names = {g["id"]: g["code"] for g in groups}
        check_from = max(cut, min(iv.start for iv in mains))
        problems = main_duty_problems(fresh, check_from, end, names)
        if problems:
            raise InvalidInput(problems[:20])
    update = reconcile(repo.intervals_ending_after(conn, station_id, cut), fresh, cut)
    repo.apply_update(conn, station_id, update)
    return {"deleted": len(update.delete), "ended_early": len(update.truncate),
            "inserted": len(update.insert)}


def _window(settings: DutySettings, now: datetime | None) -> tuple[datetime, datetime]:
    tz = ZoneInfo(settings.zone)
    now = (now or _now(settings)).astimezone(tz)
    return now, _midnight(now.date() + timedelta(days=settings.horizon_days), tz)


def materialise(engine: Engine, settings: DutySettings, station_id: str, *, actor: str,
                now: datetime | None = None, since: datetime | None = None) -> dict[str, Any]:
    """Materialise the station's duty from now (or ``since``) to the horizon.

    ``since`` earlier than now back-fills history, which is allowed only where nothing is
    stored yet (the past is never rewritten).

    Raises
    ------
    InvalidInput
        ``since`` where intervals are stored already; the rules leave a gap in main duty or
        give it to two groups at once (the instants are named).
    """
    cut, end = _window(settings, now)
    with engine.begin() as conn:
        repo.lock_station(conn, station_id)
        if since is not None and since < cut:
            stored = repo.materialised_until(conn, station_id)
            if stored is not None and stored > since:
                raise InvalidInput([Problem(
                    f"intervals are stored up to {stored.isoformat()}: the past is kept, so "
                    "only a station with nothing stored after `since` can be back-filled",
                    field="since")])
            cut = since
        counts = rematerialise(conn, settings, station_id, cut, end)
        if counts["deleted"] or counts["ended_early"] or counts["inserted"]:
            audit.record(conn, actor=actor, action="duty.materialise",
                         object_kind="duty_interval", object_id=station_id,
                         after={**counts, "from": cut.isoformat(), "until": end.isoformat()})
    return {"station_id": station_id, "from": cut.isoformat(), "until": end.isoformat(),
            **counts}


def set_rotation(engine: Engine, settings: DutySettings, *, station_id: str,
                 valid_from: date, actor: str, group_codes: list[str] | None = None,
                 rules: list[dict[str, Any]] | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """Replace the station's rotation from ``valid_from`` on and re-materialise the future.

    Either ``group_codes`` (the usual daily rotation of :func:`daily_rotation`, anchored on
    ``valid_from``, the first group on main duty that day) or ``rules``: each ``{group (code),
    kind, dtstart (local, ISO), rrule, minutes}``. Rules of the station starting on or after
    ``valid_from`` are replaced; earlier ones end the day before it.

    Raises
    ------
    InvalidInput
        Unknown groups, a bad rule (each problem names the rule), or a rotation that leaves
        main duty with a gap or an overlap (nothing is written).
    """
    if (group_codes is None) == (rules is None):
        raise InvalidInput([Problem("give either groups (the usual rotation) or rules",
                                    field="rules")])
    cut, end = _window(settings, now)
    with engine.begin() as conn:
        _station_exists(conn, station_id)
        repo.lock_station(conn, station_id)
        by_code = {g["code"]: g["id"] for g in repo.groups(conn, station_id)}
        codes = group_codes if group_codes is not None else [r.get("group") for r in rules or []]
        unknown = sorted({str(c) for c in codes if c not in by_code})
        if unknown:
            raise InvalidInput([Problem(f"station {station_id} has no group {c!r}",
                                        field="groups") for c in unknown])
        if group_codes is not None:
            new = daily_rotation([by_code[c] for c in group_codes], valid_from)
        else:
            new = _parse_rules(rules or [], by_code, valid_from)
        superseded = repo.supersede_rules(conn, station_id, valid_from)
        ids = repo.insert_rules(conn, [
            {"group_id": r.group, "kind": r.kind, "dtstart": r.dtstart, "zone": settings.zone,
             "rrule": r.rrule, "minutes": r.minutes, "valid_from": r.valid_from,
             "valid_until": None, "created_by": actor} for r in new])
        counts = rematerialise(conn, settings, station_id, cut, end)
        audit.record(conn, actor=actor, action="duty.rotation.set", object_kind="duty_rule",
                     object_id=station_id, before=superseded,
                     after={"valid_from": valid_from, "rules": ids, "materialised": counts})
    return {"station_id": station_id, "valid_from": valid_from.isoformat(), "rules": ids,
            "superseded": superseded, "materialised": counts}


def _parse_rules(rows: list[dict[str, Any]], by_code: dict[str, int], valid_from: date
                 ) -> list[Rule]:
    problems: list[Problem] = []
    out = []
    for i, row in enumerate(rows):
        where = f"rule {i + 1}"
        try:
            start = datetime.fromisoformat(str(row.get("dtstart")))
        except ValueError:
            problems.append(Problem("must be a local date-time like 2026-01-01T08:00",
                                    where, "dtstart"))
            continue
        if start.tzinfo is not None:
            problems.append(Problem("must be local wall time, without a time zone", where,
                                    "dtstart"))
            continue
        rule = Rule(0, by_code[row["group"]], str(row.get("kind")), start,
                    str(row.get("rrule", "")), int(row.get("minutes") or 0), valid_from)
        problems += rule_problems(rule, where)
        out.append(rule)
    if problems:
        raise InvalidInput(problems)
    return out


def add_change(engine: Engine, settings: DutySettings, *, station_id: str, kind: str,
               actor: str, key: str | None = None, day: date | None = None,
               group: str | None = None, other_group: str | None = None,
               person: str | None = None, other_person: str | None = None,
               duty_kind: str | None = None, start: datetime | None = None,
               end: datetime | None = None, note: str | None = None,
               now: datetime | None = None) -> tuple[dict[str, Any], bool]:
    """Record an exception (swap, leave, substitute, extra) and re-materialise the future.

    Returns the change and whether it was made now (False: ``key`` was used before, and the
    change made then is returned).

    Raises
    ------
    InvalidInput
        A missing or unknown field for the kind, an end not after the start, a change wholly in
        the past (the past is kept), or one that breaks main duty.
    """
    cut, horizon = _window(settings, now)
    with engine.begin() as conn:
        if key:
            done = repo.change_by_key(conn, key)
            if done is not None:
                return repo.change_rows(conn, done["station_id"], [done["id"]])[0], False
        _station_exists(conn, station_id)
        repo.lock_station(conn, station_id)
        values = _change_values(conn, station_id, kind, day, group, other_group, person,
                                other_person, duty_kind, start, end, cut)
        change_id = repo.insert_change(conn, {**values, "station_id": station_id, "kind": kind,
                                              "note": note, "idempotency_key": key,
                                              "created_by": actor})
        counts = rematerialise(conn, settings, station_id, cut, horizon)
        row = repo.change_rows(conn, station_id, [change_id])[0]
        audit.record(conn, actor=actor, action=f"duty.change.{kind}",
                     object_kind="duty_change", object_id=str(change_id),
                     after={**row, "materialised": counts})
    return {**row, "materialised": counts}, True


def _change_values(conn: Connection, station_id: str, kind: str, day: date | None,
                   group: str | None, other_group: str | None, person: str | None,
                   other_person: str | None, duty_kind: str | None, start: datetime | None,
                   end: datetime | None, cut: datetime) -> dict[str, Any]:
    problems: list[Problem] = []
    if kind not in CHANGE_KINDS:
        raise InvalidInput([Problem(f"must be one of {', '.join(CHANGE_KINDS)}", field="kind")])
    need = {"swap": ("day", "group", "other_group"), "leave": ("person", "start", "end"),
            "substitute": ("person", "other_person", "start", "end"),
            "extra": ("person", "duty_kind", "start", "end")}[kind]
    given = {"day": day, "group": group, "other_group": other_group, "person": person,
             "other_person": other_person, "duty_kind": duty_kind, "start": start, "end": end}
    problems += [Problem(f"is needed for a {kind}", field=f) for f in need if given[f] is None]
    if problems:
        raise InvalidInput(problems)
    values: dict[str, Any] = {}
    if kind == "swap":
        by_code = {g["code"]: g["id"] for g in repo.groups(conn, station_id)}
        for f, code in (("group_id", group), ("other_group_id", other_group)):
            if code not in by_code:
                problems.append(Problem(f"station {station_id} has no group {code!r}",
                                        field=f.removesuffix("_id")))
        if group == other_group:
            problems.append(Problem("a group cannot swap with itself", field="other_group"))
        if day is not None and day < cut.date():
            problems.append(Problem("the day is past: the past is kept", field="day"))
        if not problems:
            values.update(day=day, group_id=by_code[group], other_group_id=by_code[other_group])
    else:
        ids = [p for p in (person, other_person) if p]
        found = repo.person_pks(conn, ids)
        problems += [Problem(f"no person {p!r}", field=f) for f, p in
                     (("person", person), ("other_person", other_person)) if p and p not in found]
        if duty_kind is not None and duty_kind not in KINDS:
            problems.append(Problem(f"must be one of {', '.join(KINDS)}", field="duty_kind"))
        if start is not None and end is not None:
            if start.tzinfo is None or end.tzinfo is None:
                problems.append(Problem("start and end need a time zone", field="start"))
            elif end <= start:
                problems.append(Problem("must be after start", field="end"))
            elif end <= cut:
                problems.append(Problem("the change is over already: the past is kept",
                                        field="end"))
        if person and other_person and person == other_person:
            problems.append(Problem("a person cannot stand in for themselves",
                                    field="other_person"))
        if not problems:
            values.update(person_pk=found[person], start=start, end=end, duty_kind=duty_kind,
                          other_person_pk=found.get(other_person) if other_person else None)
    if problems:
        raise InvalidInput(problems)
    return values


def withdraw_change(engine: Engine, settings: DutySettings, *, station_id: str,
                    change_id: int, actor: str, now: datetime | None = None) -> dict[str, Any]:
    """Withdraw an exception (kept, marked) and re-materialise the future without it."""
    cut, horizon = _window(settings, now)
    with engine.begin() as conn:
        repo.lock_station(conn, station_id)
        if not repo.withdraw_change(conn, station_id, change_id):
            raise NotFound(f"no change {change_id} in force at station {station_id}")
        counts = rematerialise(conn, settings, station_id, cut, horizon)
        audit.record(conn, actor=actor, action="duty.change.withdraw",
                     object_kind="duty_change", object_id=str(change_id),
                     after={"materialised": counts})
    return {"id": change_id, "withdrawn": True, "materialised": counts}


def list_changes(engine: Engine, station_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return repo.change_rows(conn, station_id)


def list_rules(engine: Engine, station_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return repo.rule_rows(conn, station_id)


def extend_all(engine: Engine, settings: DutySettings, *, actor: str,
                 now: datetime | None = None) -> list[dict[str, Any]]:
    """Extend every station's materialised duty to the horizon (daily job)."""
    with engine.connect() as conn:
        stations = repo.stations_with_rules(conn)
    return [materialise(engine, settings, s, actor=actor, now=now) for s in stations]
