"""Patrol rounds, check-ins and coverage (一网、两级、多格、多点).

**Patrol cells.** The patrol net has two levels of cells derived from the boundaries in effect,
so they follow every redrawn boundary with no second layer to keep in step: a level-1 cell
(巡区) is a beat, a level-2 cell (巡格) is the part of a grid inside a beat, id
``"<beat>/<grid>"`` (:func:`patrol_cells`). Level-1 points are set by the station, level-2 by
the beat (``patrol_point.level``); both are counted in both levels of cells.

**Rounds and shifts.** A round is a daily window of a station (e.g. day 08:00-22:00, night
22:00-06:00, crossing midnight). A shift is a duty day: the rounds starting from the day's start
(08:00) until the same time the next day. A round *closes* at its end plus the grace: nothing
received after that can complete it.

**A check-in counts** for an occurrence of a round in which its point must be visited when all
of these hold (else its ``status`` says why; it is kept and reported, never dropped):

- the phone was within the radius of the point, with a GPS accuracy no worse than the maximum
  (``too_far``, ``poor_accuracy``);
- its time (``at``: the device's clock unless ahead of the server's beyond the allowed skew)
  falls in ``[start, end + grace)``: ``on_time`` before the end, ``late`` after
  (``not_due`` when in no such window);
- it reached the server before the round closed (``after_close``);
- it is not one of two check-ins of one person needing an impossible speed between them:
  distance minus both GPS accuracies over the time between them, above the maximum speed
  (``impossible_speed``; both of the pair are flagged, since either may be the false one).

A check-in fitting two occurrences (22:10: late for the day round, on time for the night round)
counts once, on time first. Check-ins at one point within the visit gap of the previous one are
the same visit (``repeat``). A point-occurrence is **visited** when its visits reach those
required, else **missed**.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from pyproj import Geod

from gridsvc.domain.accounts.roles import Role
from gridsvc.errors import InvalidInput, Problem

_GEOD = Geod(ellps="GRS80")
STATUSES = ("on_time", "late", "repeat", "too_far", "poor_accuracy", "impossible_speed",
            "after_close", "not_due")


@dataclass(frozen=True)
class Round:
    """A daily patrol window of a station (``ends`` <= ``starts``: it crosses midnight)."""

    id: int
    code: str
    name: str
    starts: time
    ends: time


@dataclass(frozen=True)
class Occurrence:
    """One round on one shift: ``[start, end)``, late until ``closes`` (end + grace)."""

    round_id: int
    code: str
    start: datetime
    end: datetime
    closes: datetime


@dataclass(frozen=True)
class Rules:
    """The thresholds of the settings, in SI units."""

    radius_m: float = 50.0
    max_accuracy_m: float = 100.0
    grace_s: float = 1800.0
    skew_s: float = 300.0
    max_speed_mps: float = 40 / 3.6
    visit_gap_s: float = 1200.0


#: From this role up a caller may record a check-in for someone else (the duty desk
#: entering a radio call-in); below it a check-in is always the caller's own.
RECORD_FOR_OTHERS = Role.dispatcher


def who_checks_in(role: Role, own_person: str | None, asked: str | None) -> str | None:
    """The business id of the person a check-in is recorded for.

    A check-in belongs to the signed-in person: ``asked`` may be omitted or repeat the caller's
    own id. A caller of :data:`RECORD_FOR_OTHERS` or above may name someone else; an account
    without a person (a service token, an office) must name one.

    >>> who_checks_in(Role.handler, "OFF01", None), who_checks_in(Role.dispatcher, "OFF01", "AUX02")
    ('OFF01', 'AUX02')

    Raises
    ------
    InvalidInput
        ``asked`` is another person and the caller is below :data:`RECORD_FOR_OTHERS`
        (field ``person_id``), or neither the caller nor ``asked`` names a person.
    """
    if asked and own_person and asked != own_person and role < RECORD_FOR_OTHERS:
        raise InvalidInput([Problem(
            f"a check-in is the signed-in person's own ({own_person}); only a "
            f"{RECORD_FOR_OTHERS.name} or above may record one for someone else",
            field="person_id")])
    found = asked or own_person
    if not found:
        raise InvalidInput([Problem("who checks in: give person_id (this account has no "
                                    "person)", field="person_id")])
    return found


def patrol_cells(beat: str | None, grid: str | None) -> tuple[str | None, str | None]:
    """The level-1 and level-2 patrol cells of a point in ``beat`` and ``grid``.

    >>> patrol_cells("B01", "G102001001")
    ('B01', 'B01/G102001001')
    >>> patrol_cells("B01", None)
    ('B01', None)
    """
    return beat, (f"{beat}/{grid}" if beat and grid else None)


def shift_bounds(day: date, day_starts: time, zone: str) -> tuple[datetime, datetime]:
    """The shift of duty day ``day``: from its start to the same time the next day."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, day_starts, tz)
    nxt = day + timedelta(days=1)
    return start, datetime.combine(nxt, day_starts, tz)


def shift_day(at: datetime, day_starts: time, zone: str) -> date:
    """The duty day an instant belongs to (02:00 belongs to the day before).

    >>> tz = ZoneInfo("Asia/Shanghai")
    >>> shift_day(datetime(2026, 3, 2, 2, tzinfo=tz), time(8), "Asia/Shanghai")
    datetime.date(2026, 3, 1)
    """
    local = at.astimezone(ZoneInfo(zone))
    return local.date() if local.time() >= day_starts else local.date() - timedelta(days=1)


def occurrences(rounds: list[Round], day: date, day_starts: time, zone: str,
                grace: timedelta) -> list[Occurrence]:
    """The occurrences of ``rounds`` on the shift of ``day``, by start.

    >>> night = Round(2, "night", "夜巡", time(22), time(6))
    >>> [o.closes.isoformat() for o in occurrences([night], date(2026, 3, 1), time(8),
    ...                                             "Asia/Shanghai", timedelta(minutes=30))]
    ['2026-03-02T06:30:00+08:00']
    """
    tz = ZoneInfo(zone)
    out = []
    for r in rounds:
        first = day if r.starts >= day_starts else day + timedelta(days=1)
        start = datetime.combine(first, r.starts, tz)
        last = first if r.ends > r.starts else first + timedelta(days=1)
        end = datetime.combine(last, r.ends, tz)
        out.append(Occurrence(r.id, r.code, start, end, end + grace))
    return sorted(out, key=lambda o: (o.start, o.round_id))


def effective_time(device_at: datetime, server_at: datetime, skew_s: float) -> datetime:
    """The time a check-in counts at: the device's, unless it is ahead of the server's by more
    than ``skew_s`` (a phone's clock set forward proves nothing), then the server's.

    >>> tz = ZoneInfo("Asia/Shanghai")
    >>> t = datetime(2026, 3, 2, 5, 50, tzinfo=tz)
    >>> effective_time(t, t + timedelta(minutes=40), 300) == t   # sent late from a queue
    True
    >>> effective_time(t + timedelta(hours=1), t, 300) == t      # device clock ahead
    True
    """
    return server_at if (device_at - server_at).total_seconds() > skew_s else device_at


def distance_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
               ) -> np.ndarray:
    """Geodesic distances (GRS80, CGCS2000's ellipsoid) between pairs of points."""
    return np.asarray(_GEOD.inv(lon1, lat1, lon2, lat2)[2], dtype=float)


def speed_flags(person: np.ndarray, at_s: np.ndarray, lon: np.ndarray, lat: np.ndarray,
                accuracy_m: np.ndarray, max_speed_mps: float) -> tuple[np.ndarray, np.ndarray]:
    """Check-ins forming an impossible pair with the same person's previous or next one.

    Returns
    -------
    flagged : bool array
    partner : int array
        Index of the other check-in of an impossible pair (-1 when not flagged).

    Examples
    --------
    One person at two places 1 km apart one minute apart (60 km/h):

    >>> f, p = speed_flags(np.array([1, 1]), np.array([0., 60]), np.array([119.0, 119.0]),
    ...                    np.array([28.0, 28.009]), np.array([10., 10]), 40 / 3.6)
    >>> f.tolist(), p.tolist()
    ([True, True], [1, 0])
    """
    n = len(person)
    flagged = np.zeros(n, dtype=bool)
    partner = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return flagged, partner
    order = np.lexsort((at_s, person))
    a, b = order[:-1], order[1:]
    same = person[a] == person[b]
    a, b = a[same], b[same]
    if not len(a):
        return flagged, partner
    metres = distance_m(lon[a], lat[a], lon[b], lat[b])
    slack = np.maximum(metres - accuracy_m[a] - accuracy_m[b], 0.0)
    dt = at_s[b] - at_s[a]
    bad = slack > max_speed_mps * dt
    flagged[a[bad]] = True
    flagged[b[bad]] = True
    partner[b[bad]] = a[bad]
    # A check-in flagged with both neighbours keeps the earlier partner's index.
    first = bad & (partner[a] < 0)
    partner[a[first]] = b[first]
    return flagged, partner


@dataclass
class Coverage:
    """Coverage of one shift.

    Attributes
    ----------
    req_point, req_occ, req_due
        Per requirement row (a point in an occurrence): the point index, the occurrence index,
        and the visits required.
    req_visits, req_late
        Visits counted (on time or late) and, of those, late ones.
    status
        Per check-in: one of :data:`STATUSES`.
    occ
        Per check-in: the occurrence it counted for, or whose visit it repeats (-1: none).
    partner
        Per check-in: the other check-in of an impossible-speed pair (-1: none).
    """

    req_point: np.ndarray
    req_occ: np.ndarray
    req_due: np.ndarray
    req_visits: np.ndarray
    req_late: np.ndarray
    status: np.ndarray
    occ: np.ndarray
    partner: np.ndarray

    @property
    def visited(self) -> np.ndarray:
        """Per requirement row: required visits reached."""
        return self.req_visits >= self.req_due


def coverage(occs: list[Occurrence], required: np.ndarray, point: np.ndarray,
             person: np.ndarray, at_s: np.ndarray, server_s: np.ndarray, lon: np.ndarray,
             lat: np.ndarray, accuracy_m: np.ndarray, distance: np.ndarray,
             rules: Rules) -> Coverage:
    """Which check-ins count for which occurrence, and the visits of each requirement.

    Parameters
    ----------
    occs
        The shift's occurrences.
    required
        ``(n_points, len(occs))`` ints: visits each point needs in each occurrence (0: none).
    point, person
        Per check-in: the point's index (rows of ``required``; -1 for a point not in it) and
        the person.
    at_s, server_s
        Per check-in: the time that counts and the server's time, in epoch seconds. Check-ins
        outside the shift may be given (they inform the speed check and count for nothing).
    lon, lat, accuracy_m, distance
        Per check-in: the phone's position, its accuracy and its distance to the point.
    rules
        The thresholds.

    Returns
    -------
    Coverage
    """
    n = len(point)
    n_occ = len(occs)
    status = np.full(n, "not_due", dtype=object)
    chosen = np.full(n, -1, dtype=np.int64)
    fast, partner = speed_flags(person, at_s, lon, lat, accuracy_m, rules.max_speed_mps)
    known = point >= 0
    late_pick = np.full(n, -1, dtype=np.int64)
    closed = np.zeros(n, dtype=bool)
    for k, o in enumerate(occs):
        start, end, closes = o.start.timestamp(), o.end.timestamp(), o.closes.timestamp()
        due = np.zeros(n, dtype=bool)
        due[known] = required[point[known], k] > 0
        inside = due & (at_s >= start) & (at_s < closes)
        closed |= inside & (server_s >= closes)
        ok = inside & (server_s < closes)
        on_time = ok & (at_s < end) & (chosen < 0)
        chosen[on_time] = k
        late_pick[ok & (at_s >= end) & (late_pick < 0)] = k
    late = (chosen < 0) & (late_pick >= 0)
    chosen[late] = late_pick[late]
    status[chosen >= 0] = "on_time"
    status[late] = "late"
    status[(chosen < 0) & closed] = "after_close"
    # A flag shows whether or not the check-in fell in a round: it is never silent.
    valid = chosen >= 0
    flagged = np.zeros(n, dtype=bool)
    for name, bad in (("impossible_speed", fast), ("poor_accuracy",
                                                   accuracy_m > rules.max_accuracy_m),
                      ("too_far", distance > rules.radius_m)):
        status[bad & ~flagged] = name
        flagged |= bad
    valid &= ~flagged
    chosen[~valid] = -1
    # Visits: a counted check-in starts a new visit unless the previous counted one at the
    # same point in the same occurrence was within the gap.
    idx = np.flatnonzero(valid)
    order = idx[np.lexsort((at_s[idx], chosen[idx], point[idx]))]
    new_visit = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        same = (point[order[1:]] == point[order[:-1]]) & (chosen[order[1:]] == chosen[order[:-1]])
        near = at_s[order[1:]] - at_s[order[:-1]] <= rules.visit_gap_s
        new_visit[1:] = ~(same & near)
    status[order[~new_visit]] = "repeat"
    counted = order[new_visit]
    pts, oc = np.nonzero(required > 0) if n_occ else (np.array([], int), np.array([], int))
    row_of = np.full(required.shape, -1, dtype=np.int64)
    row_of[pts, oc] = np.arange(len(pts))
    visits = np.zeros(len(pts), dtype=np.int64)
    lates = np.zeros(len(pts), dtype=np.int64)
    rows = row_of[point[counted], chosen[counted]]
    np.add.at(visits, rows, 1)
    np.add.at(lates, rows[status[counted] == "late"], 1)
    return Coverage(pts, oc, required[pts, oc], visits, lates, status, chosen, partner)
