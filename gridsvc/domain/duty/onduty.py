"""Who is on duty at an instant, and who covers a beat whose officer is not.

A :class:`DutyBoard` holds the duty intervals of a window in memory: per station the main-duty
group's intervals as sorted arrays (one bisection per question), per person their intervals.
:func:`answer` turns the board into the "on duty now" block of the lookup, the dispatcher's
answer and ``/api/v1/onduty``.

Who covers a beat (``covered_by``), in this order:

1. ``beat_officer``: the beat's own officers (role officer) who are on duty of any kind at the
   instant (main, second or standby: all are at work and reachable);
2. ``nearest_beat``: else the members of the station's main-duty group who are on main duty at
   the instant (not on leave; substitutes included) and linked to a beat, taking the beats of
   the station in order of distance from the asked beat (the beat itself first, then touching
   beats, then by boundary distance); officers before auxiliaries;
3. ``main_group``: else anyone on the group's main duty (linked to no beat of the station);
4. ``group_leader``: else the main-duty group's leader (带班领导), with whether they are on duty;
5. ``none``: no group holds main duty at the instant (the rules leave a gap, or the instant is
   outside what was materialised): the answer says so instead of guessing.

The main-duty group takes every call (主班), so the cover is drawn from it alone.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import shapely

from gridsvc.domain.duty.rotation import Interval

ROLE_ORDER = {"officer": 0, "auxiliary": 1}


@dataclass
class DutyBoard:
    """Duty intervals of ``[start, end)`` in memory.

    Attributes
    ----------
    start, end
        The window the board answers for (``covers``); outside it, ask the database.
    mains
        Station -> (starts, ends, groups): the main-duty group intervals, sorted, timestamps
        in seconds.
    persons
        Person pk -> their intervals (start s, end s, kind, group), sorted by start.
    on_main
        Group -> (start s, end s, person pk) of the people on the group's main duty (members,
        and substitutes standing in for one).
    """

    start: datetime
    end: datetime
    mains: dict[str, tuple[list[float], list[float], list[int | None]]] = field(
        default_factory=dict)
    persons: dict[int, list[tuple[float, float, str, int | None]]] = field(default_factory=dict)
    on_main: dict[int, list[tuple[float, float, int]]] = field(default_factory=dict)

    @classmethod
    def build(cls, intervals: Iterable[tuple[str, Interval]], start: datetime,
              end: datetime) -> DutyBoard:
        """A board from ``(station, interval)`` pairs overlapping ``[start, end)``."""
        mains: dict[str, list[tuple[float, float, int | None]]] = defaultdict(list)
        persons: dict[int, list[tuple[float, float, str, int | None]]] = defaultdict(list)
        on_main: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
        for station, iv in intervals:
            s, e = iv.start.timestamp(), iv.end.timestamp()
            if iv.person is None:
                if iv.kind == "main":
                    mains[station].append((s, e, iv.group))
            else:
                persons[iv.person].append((s, e, iv.kind, iv.group))
                if iv.kind == "main" and iv.group is not None:
                    on_main[iv.group].append((s, e, iv.person))
        board = cls(start, end, on_main=dict(on_main))
        for station, rows in mains.items():
            rows.sort(key=lambda r: r[0])
            board.mains[station] = ([r[0] for r in rows], [r[1] for r in rows],
                                    [r[2] for r in rows])
        board.persons = {p: sorted(rows) for p, rows in persons.items()}
        return board

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end

    @cached_property
    def _boundaries(self) -> list[float]:
        ends = {t for starts, stops, _ in self.mains.values() for t in (*starts, *stops)}
        ends |= {t for rows in self.persons.values() for r in rows for t in r[:2]}
        return sorted(ends)

    def steady(self, at: datetime) -> tuple[float, float]:
        """The stretch ``[lo, hi)`` (seconds) around ``at`` in which no interval of the board
        starts or ends: every answer of the board is the same throughout it."""
        t = at.timestamp()
        cuts = self._boundaries
        i = bisect.bisect_right(cuts, t)
        return (cuts[i - 1] if i else -math.inf), (cuts[i] if i < len(cuts) else math.inf)

    def main_group(self, station: str, at: datetime) -> tuple[int | None, float, float] | None:
        """(group, start s, end s) of the main-duty interval holding ``at``, or None."""
        found = self.mains.get(station)
        if not found:
            return None
        starts, ends, grps = found
        t = at.timestamp()
        i = bisect.bisect_right(starts, t) - 1
        if i >= 0 and t < ends[i]:
            return grps[i], starts[i], ends[i]
        return None

    def on_main_duty(self, group: int, at: datetime) -> list[int]:
        """The people on the group's main duty at ``at`` (sorted, no duplicates)."""
        t = at.timestamp()
        return sorted({pk for s, e, pk in self.on_main.get(group, ()) if s <= t < e})

    def duties(self, person: int, at: datetime) -> list[tuple[float, float, str, int | None]]:
        """The person's intervals holding ``at`` (a person may hold two: e.g. extra duty)."""
        t = at.timestamp()
        return [r for r in self.persons.get(person, ()) if r[0] <= t < r[1]]


def _iso(ts: float, tz: Any) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat()


def _person(pk: int, people: Mapping[int, dict[str, Any]], board: DutyBoard, at: datetime,
            tz: Any) -> dict[str, Any]:
    info = people.get(pk, {"id": None, "name": None, "role": None, "phone": None, "beats": []})
    held = board.duties(pk, at)
    out = {k: info.get(k) for k in ("id", "name", "role", "phone")}
    out["beats"] = list(info.get("beats", []))
    out["on_duty"] = bool(held)
    if held:
        kind_rank = {"main": 0, "second": 1, "standby": 2}
        best = min(held, key=lambda r: kind_rank.get(r[2], 9))
        out["duty"] = best[2]
        out["until"] = _iso(max(r[1] for r in held), tz)
    return out


def answer(board: DutyBoard, station: str | None, beat: str | None, at: datetime,
           groups: Mapping[int, dict[str, Any]], people: Mapping[int, dict[str, Any]],
           beat_people: Mapping[str, Sequence[int]], beat_order: Sequence[str]) -> dict[str, Any]:
    """The "on duty now" block for a station and beat at ``at``.

    Parameters
    ----------
    board
        Intervals holding ``at`` (the window's board, or one built for that instant).
    station, beat
        Business ids of the cells covering the place (None when outside every one).
    groups
        Group id -> ``{id, code, name, leader_pk, members}``.
    people
        Person pk -> ``{id, name, role, phone, beats}``.
    beat_people
        Beat id -> pks of the people linked to it (officers and auxiliaries).
    beat_order
        The station's beats from the asked beat outwards (see the module docstring).

    Returns
    -------
    dict
        ``at``, ``station_id``, ``main_duty`` (group, since, until, leader, members with their
        duty), ``beat`` (id and its officers and auxiliaries, each with ``on_duty``) and
        ``covered_by`` (``rule``, ``beat_id``, ``people``).
    """
    tz = at.tzinfo
    out: dict[str, Any] = {"at": at.isoformat(), "station_id": station, "main_duty": None,
                           "beat": None, "covered_by": {"rule": "none", "beat_id": None,
                                                        "people": []}}
    held = board.main_group(station, at) if station else None
    group = groups.get(held[0]) if held and held[0] is not None else None
    on_main: list[int] = []
    if group is not None and held is not None:
        on_main = board.on_main_duty(group["id"], at)
        # Substitutes are on the group's main duty without being members: listed after them.
        listed = list(group["members"]) + [pk for pk in on_main if pk not in group["members"]]
        members = [_person(pk, people, board, at, tz) for pk in listed]
        leader = group.get("leader_pk")
        out["main_duty"] = {
            "group": {k: group[k] for k in ("id", "code", "name")},
            "since": _iso(held[1], tz), "until": _iso(held[2], tz),
            "leader": _person(leader, people, board, at, tz) if leader else None,
            "members": members,
        }
    if beat is not None:
        linked = sorted(beat_people.get(beat, ()),
                        key=lambda pk: (ROLE_ORDER.get(people.get(pk, {}).get("role"), 9), pk))
        staff = [_person(pk, people, board, at, tz) for pk in linked]
        out["beat"] = {"id": beat, "people": staff}
        officers = [p for p in staff if p["role"] == "officer" and p["on_duty"]]
        if officers:
            out["covered_by"] = {"rule": "beat_officer", "beat_id": beat, "people": officers}
            return out
    if group is None:
        return out
    for other in beat_order:
        near = [pk for pk in on_main if other in people.get(pk, {}).get("beats", ())]
        if near:
            near.sort(key=lambda pk: (ROLE_ORDER.get(people[pk]["role"], 9), pk))
            out["covered_by"] = {"rule": "nearest_beat", "beat_id": other,
                                 "people": [_person(pk, people, board, at, tz) for pk in near]}
            return out
    if on_main:
        anyone = sorted(on_main, key=lambda pk: (ROLE_ORDER.get(people.get(pk, {}).get("role"),
                                                                9), pk))
        out["covered_by"] = {"rule": "main_group", "beat_id": None,
                             "people": [_person(pk, people, board, at, tz) for pk in anyone]}
    elif group.get("leader_pk"):
        out["covered_by"] = {"rule": "group_leader", "beat_id": None,
                             "people": [out["main_duty"]["leader"]]}
    return out


def only_visible(block: dict[str, Any], visible: Container[str]) -> dict[str, Any]:
    """The block with the people outside the caller's scope left out (a new dict: blocks are
    shared between callers).

    The same rule as the lookup's ``people``: a person is shown only when ``visible`` (the
    business ids of the people in the caller's scope) holds them. The group, the beat and the
    cover rule stay (cells and duty groups say nothing about a person); a hidden leader is
    None; a cover whose people are all hidden keeps its rule with no one in it.

    >>> b = {"main_duty": {"leader": {"id": "A"}, "members": [{"id": "A"}, {"id": "B"}]},
    ...      "beat": {"id": "B1", "people": [{"id": "B"}]},
    ...      "covered_by": {"rule": "beat_officer", "people": [{"id": "B"}]}}
    >>> out = only_visible(b, {"B"})
    >>> out["main_duty"]["leader"], [p["id"] for p in out["main_duty"]["members"]]
    (None, ['B'])
    """
    def keep(people: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [p for p in people if p.get("id") in visible]

    out = dict(block)
    main = block.get("main_duty")
    if main is not None:
        leader = main.get("leader")
        out["main_duty"] = {**main, "members": keep(main.get("members", [])),
                            "leader": leader if leader and leader.get("id") in visible else None}
    if block.get("beat") is not None:
        out["beat"] = {**block["beat"], "people": keep(block["beat"].get("people", []))}
    if block.get("covered_by") is not None:
        out["covered_by"] = {**block["covered_by"],
                             "people": keep(block["covered_by"].get("people", []))}
    return out


def without_phones(value: Any) -> Any:
    """``value`` (an answer, or any part of one) with every ``phone`` at any depth None: what a
    caller below dispatcher is shown. A new value; the one given is left as it is (answers are
    shared between callers).

    >>> without_phones({"members": [{"id": "A", "phone": "138"}], "phone": None})
    {'members': [{'id': 'A', 'phone': None}], 'phone': None}
    """
    if isinstance(value, dict):
        return {k: None if k == "phone" else without_phones(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_phones(v) for v in value]
    return value


def beat_order(ids: Sequence[str], geoms: Sequence[Any], stations: Sequence[str | None]
               ) -> dict[str, list[str]]:
    """For each beat, the beats of its station from itself outwards.

    Beats are ranked by the distance between their boundaries (touching beats are at 0), ties
    by the distance between their representative points, then by id. Geometries are lon/lat;
    longitudes are scaled by the cosine of the middle latitude, which is exact enough to rank
    neighbours within a station.

    >>> boxes = [shapely.box(0, 0, .01, .01), shapely.box(.01, 0, .02, .01),
    ...          shapely.box(.05, 0, .06, .01)]
    >>> beat_order(["B1", "B2", "B3"], boxes, ["S", "S", "S"])["B3"]
    ['B3', 'B2', 'B1']
    """
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return {}
    _, y0, _, y1 = shapely.total_bounds(geoms)
    scale = float(np.cos(np.radians((y0 + y1) / 2)))
    metric = shapely.transform(geoms, lambda c: c * np.array([scale, 1.0]))
    points = shapely.point_on_surface(metric)
    by_station: dict[str | None, list[int]] = defaultdict(list)
    for i, station in enumerate(stations):
        by_station[station].append(i)
    out: dict[str, list[str]] = {}
    for members in by_station.values():
        for i in members:
            edge = shapely.distance(metric[i], metric[members])
            centre = shapely.distance(points[i], points[members])
            ranked = sorted(range(len(members)),
                            key=lambda k: (members[k] != i, round(float(edge[k]), 9),
                                           float(centre[k]), ids[members[k]]))
            out[ids[i]] = [ids[members[k]] for k in ranked]
    return out
