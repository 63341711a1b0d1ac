"""House visits (走访): a grid worker or an officer records that they visited a house, from
their phone (the offline page ``/m/visit``), the API or the CLI; the assessments count the
houses visited over the houses in scope (:mod:`gridsvc.services.assessments`).

A visit belongs to a person (the signed-in one; a dispatcher or above, or an account without a
person, names one), carries the phone's time, an optional note and an optional GPS fix, and an
idempotency key made by the sender: a resend returns the first visit instead of a second one.
Its cells are the house's, so the API sees and records visits only of houses in the caller's
scope (row-level security), and every new visit goes to the audit log.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, Engine

from gridsvc.db import audit
from gridsvc.db import duty as duty_repo
from gridsvc.db import visits as repo
from gridsvc.domain.accounts import Role
from gridsvc.domain.geo.coords import parse_input_crs, to_cgcs2000
from gridsvc.errors import Conflict, InvalidInput, Problem

#: A dispatcher or above may record a visit for someone else.
RECORD_FOR_OTHERS = Role.dispatcher
#: How far ahead of the server's clock a phone's time may be (clocks drift).
MAX_AHEAD = timedelta(minutes=10)
MAX_NOTE = 2000
#: Visits the demo town gets per house and year, on average (seeded; see :func:`demo_visits`).
DEMO_PER_HOUSE = 3.0
DEMO_SEED = 1717


def visitor(role: Role, own_person: str | None, asked: str | None) -> str:
    """The business id of the person a visit is recorded for: the caller's own, or ``asked``
    when the caller may record for others (or has no person).

    >>> visitor(Role.reporter, "GW01", None), visitor(Role.dispatcher, "OFF1", "GW02")
    ('GW01', 'GW02')

    Raises
    ------
    InvalidInput
        ``asked`` is someone else and the caller is below :data:`RECORD_FOR_OTHERS`, or no
        person is named at all (field ``person_id``).
    """
    if asked and own_person and asked != own_person and role < RECORD_FOR_OTHERS:
        raise InvalidInput([Problem(
            f"a visit is the signed-in person's own ({own_person}); only a "
            f"{RECORD_FOR_OTHERS.name} or above may record one for someone else",
            field="person_id")])
    found = asked or own_person
    if not found:
        raise InvalidInput([Problem("who visited: give person_id (this account has no person)",
                                    field="person_id")])
    return found


def _check(visited_at: datetime, key: str, note: str | None, fix: tuple | None,
           crs: str) -> tuple[float, float] | None:
    """Validate the inputs; the fix in CGCS2000 (or None)."""
    problems = []
    if visited_at.tzinfo is None:
        problems.append(Problem("needs a time zone (e.g. 2026-11-30T15:10:00+08:00)",
                                field="visited_at"))
    elif visited_at > datetime.now(visited_at.tzinfo) + MAX_AHEAD:
        problems.append(Problem("is in the future", field="visited_at"))
    if not key or len(key) > 100:
        problems.append(Problem("needs an idempotency key of 1 to 100 characters",
                                field="idempotency_key"))
    if note is not None and len(note) > MAX_NOTE:
        problems.append(Problem(f"at most {MAX_NOTE} characters", field="note"))
    point = None
    if fix is not None:
        lon, lat, accuracy = fix
        if lon is None or lat is None:
            problems.append(Problem("give both lon and lat, or neither", field="lon,lat"))
        else:
            x, y = to_cgcs2000(np.array([lon], dtype=float), np.array([lat], dtype=float),
                               parse_input_crs(crs))
            point = float(x[0]), float(y[0])
            if not (np.isfinite(point).all() and abs(point[0]) <= 180 and abs(point[1]) <= 90):
                problems.append(Problem(f"({lon}, {lat}) are not coordinates in {crs}",
                                        field="lon,lat"))
        if accuracy is not None and not (np.isfinite(accuracy) and accuracy >= 0):
            problems.append(Problem("must be a number of metres, 0 or more",
                                    field="accuracy_m"))
    if problems:
        raise InvalidInput(problems)
    return point


def _public(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "person_pk"}
    for k in ("visited_at", "server_at"):
        out[k] = row[k].isoformat()
    return out


def record_visit(engine: Engine, *, house_id: str, visited_at: datetime, key: str, actor: str,
                 person_pk: int | None = None, person_id: str | None = None,
                 account_id: int | None = None, note: str | None = None,
                 lon: float | None = None, lat: float | None = None,
                 accuracy_m: float | None = None, crs: str = "4326"
                 ) -> tuple[dict[str, Any], bool]:
    """Record a visit to a house; returns it and whether it is new.

    A repeated ``key`` returns the visit made with it the first time (a phone resending its
    queue never counts twice); the same key from another person is a conflict. On the API's
    engine a house outside the caller's scope is "no house" (as one that does not exist).

    Raises
    ------
    InvalidInput
        Unknown house or person, a time without a time zone or in the future, a half or bad
        GPS fix, a note too long, a missing key (nothing is written).
    Conflict
        ``key`` was used by another person.
    """
    fix = None if lon is None and lat is None and accuracy_m is None else (lon, lat, accuracy_m)
    point = _check(visited_at, key, note, fix, crs)
    with engine.begin() as conn:
        pk = _person_pk(conn, person_pk, person_id)
        cells = repo.house(conn, house_id)
        if cells is None:
            raise InvalidInput([Problem(f"no house {house_id!r}", field="house_id")])
        made = repo.insert(conn, {
            "idempotency_key": key, "person_pk": pk, "account_id": account_id,
            "house_id": house_id, "visited_at": visited_at, "note": note or None,
            "accuracy_m": None if accuracy_m is None else float(accuracy_m),
            "lon": point[0] if point else None, "lat": point[1] if point else None,
            "src_x": None if point is None else float(lon),  # type: ignore[arg-type]
            "src_y": None if point is None else float(lat),  # type: ignore[arg-type]
            "src_crs": None if point is None else parse_input_crs(crs).name, **cells})
        row = repo.by_key(conn, key)
        if row is None or row["person_pk"] != pk:
            # Taken by a visit this caller may not see, or by another person's.
            raise Conflict("this idempotency key was used by another visit")
        if made is not None:
            audit.record(conn, actor=actor, action="visit.create", object_kind="house_visit",
                         object_id=str(made), after=_public(row))
        return _public(row), made is not None


def _person_pk(conn: Connection, person_pk: int | None, person_id: str | None) -> int:
    if person_pk is not None:
        return person_pk
    found = duty_repo.person_pks(conn, [person_id] if person_id else [])
    if person_id not in found:
        raise InvalidInput([Problem(f"no person {person_id!r}", field="person_id")])
    return found[person_id]  # type: ignore[index]


def list_visits(engine: Engine, *, person_id: str | None = None, house_id: str | None = None,
                first: date | None = None, last: date | None = None,
                zone: str = "Asia/Shanghai", limit: int = 100, offset: int = 0
                ) -> list[dict[str, Any]]:
    """Visits the engine sees, newest first, by person (business id), house and local days
    ``first`` to ``last`` (both included). An unknown person lists nothing."""
    with engine.connect() as conn:
        pk = None
        if person_id is not None:
            pk = duty_repo.person_pks(conn, [person_id]).get(person_id, -1)
        rows = repo.search(conn, person_pk=pk, house_id=house_id, first=first, last=last,
                           zone=zone, limit=limit, offset=offset)
    return [_public(r) for r in rows]


def demo_visits(conn: Connection, *, today: date, zone: str = "Asia/Shanghai",
                seed: int = DEMO_SEED) -> int:
    """The demo town's visits over the year before ``today`` (seeded): each house gets a
    Poisson number of visits (mean :data:`DEMO_PER_HOUSE`) by a grid worker of its grid or,
    one in four, an officer of its beat, on a random day between 08:00 and 19:00, with no GPS
    fix. Keys are ``demo-visit-<n>``, so a reload adds nothing. Returns how many were new."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(zone)
    houses, people = repo.demo_inputs(conn)
    rows = []
    for h in houses:
        workers = people.get(("grid", h["grid_id"]), [])
        officers = people.get(("beat", h["beat_id"]), [])
        for _ in range(int(rng.poisson(DEMO_PER_HOUSE))):
            pool = officers if (rng.random() < 0.25 and officers) or not workers else workers
            day = today - timedelta(days=int(rng.integers(1, 366)))
            minute = int(rng.integers(8 * 60, 19 * 60))
            if not pool:
                continue
            at = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
            rows.append({"idempotency_key": f"demo-visit-{len(rows)}",
                         "person_pk": pool[int(rng.integers(len(pool)))], "account_id": None,
                         "house_id": h["business_id"], "visited_at": at,
                         "note": "入户走访 · demo visit", "accuracy_m": None,
                         "lon": None, "lat": None,
                         **{c: h[c] for c in repo.CELLS}})
    return repo.insert_many(conn, rows)


#: Days the first page's "my visits" counts back.
MY_DAYS = 30


def my_visits_html(engine: Engine, principal: Any) -> str:
    """The "house visits" section of a person's first page: their visits of the last
    :data:`MY_DAYS` days of Asia/Shanghai (the newest five listed) and the link to the visit
    page, as escaped HTML. An account without a person gets the link only."""
    from html import escape

    link = ("<p><a class='tel' id='visit-link' href='/m/visit'>"
            "入户走访 · record a house visit</a></p>")
    if principal.person_pk is None:
        return link
    zone = ZoneInfo("Asia/Shanghai")
    today = datetime.now(zone).date()
    with engine.connect() as conn:
        rows = repo.search(conn, person_pk=principal.person_pk,
                           first=today - timedelta(days=MY_DAYS - 1), limit=1000)
    houses = len({r["house_id"] for r in rows})
    items = "".join(f"<li>{escape(r['house_id'])} <span class='muted'>"
                    f"{r['visited_at'].astimezone(zone):%m-%d %H:%M}"
                    f"{' · ' + escape(r['note']) if r['note'] else ''}</span></li>"
                    for r in rows[:5])
    return (f"<p id='visit-totals' data-visits='{len(rows)}' data-houses='{houses}'>"
            f"近 {MY_DAYS} 天走访 <b>{len(rows)}</b> 次 · <b>{houses}</b> 户 "
            f"<span class='muted'>(visits · houses, last {MY_DAYS} days)</span></p>"
            f"{link}<ul>{items}</ul>")
