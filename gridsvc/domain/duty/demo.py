"""Generated duty data for the demo town: groups, and patrol check-ins of recent shifts.

Everything random comes from the generator passed in, so the same inputs give the same data.
The check-ins are realistic enough to show every rule at work: each person on main duty walks
(or drives, at about 25 km/h) their share of the round's points in a nearest-neighbour order,
pausing a few minutes at each; a few points are skipped (missed), a few visits are late (within
the grace), a few fixes are far off the point, a few phones send their queue only later (some
after the round closed), and on the last shift one person checks in at two points a kilometre
or more apart one minute apart (an impossible speed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from gridsvc.domain.duty.patrol import Occurrence, distance_m

#: Group codes and names of the demo rotation.
GROUPS = (("A", "一组"), ("B", "二组"), ("C", "三组"))
SPEED_MPS = 25 / 3.6
STOP_S = 240.0
P_MISSED, P_LATE, P_FAR, P_QUEUED = 0.04, 0.03, 0.02, 0.02


def demo_groups(people: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Share the officers and auxiliaries linked to beats among the three groups.

    People are dealt in turn by (role, first beat, id), so the officers of one beat land in
    different groups and some beat has an officer on duty most days. The first officer of
    each group leads it.

    >>> people = [{"id": f"OFF{i}", "role": "officer", "beats": [f"B{i // 2}"]} for i in range(4)]
    >>> [(g["code"], g["members"], g["leader"]) for g in demo_groups(people)]
    [('A', ['OFF0', 'OFF3'], 'OFF0'), ('B', ['OFF1'], 'OFF1'), ('C', ['OFF2'], 'OFF2')]
    """
    ranked = sorted((p for p in people if p["beats"] and p["role"] in ("officer", "auxiliary")),
                    key=lambda p: (p["role"] != "officer", p["beats"][0], p["id"]))
    members: list[list[str]] = [[] for _ in GROUPS]
    for i, p in enumerate(ranked):
        members[i % len(GROUPS)].append(p["id"])
    roles = {p["id"]: p["role"] for p in people}
    return [{"code": code, "name": name, "members": m,
             "leader": next((x for x in m if roles[x] == "officer"), None)}
            for (code, name), m in zip(GROUPS, members, strict=True)]


@dataclass(frozen=True)
class DemoPoint:
    id: str
    lon: float
    lat: float
    beat: str | None


def _offset(lon: float, lat: float, metres: float, bearing: float) -> tuple[float, float]:
    dy = metres * np.cos(bearing) / 111_320.0
    dx = metres * np.sin(bearing) / (111_320.0 * np.cos(np.radians(lat)))
    return lon + dx, lat + dy


def _tour(points: list[DemoPoint], rng: np.random.Generator) -> list[DemoPoint]:
    """A nearest-neighbour order through the points from a random first one."""
    if not points:
        return []
    left = list(points)
    order = [left.pop(int(rng.integers(len(left))))]
    while left:
        here = order[-1]
        d = distance_m(np.full(len(left), here.lon), np.full(len(left), here.lat),
                       np.array([p.lon for p in left]), np.array([p.lat for p in left]))
        order.append(left.pop(int(np.argmin(d))))
    return order


def round_check_ins(occ: Occurrence, due: Mapping[str, int], points: Mapping[str, DemoPoint],
                    walkers: Sequence[tuple[int, Sequence[str]]], rng: np.random.Generator,
                    day_key: str) -> list[dict[str, Any]]:
    """Check-ins of one round on one shift.

    Parameters
    ----------
    occ
        The round's occurrence.
    due
        Point id -> visits it needs in this round.
    points
        Point id -> the point.
    walkers
        The people on main duty: (person pk, the beats they are linked to).
    rng
        The source of randomness.
    day_key
        Part of the idempotency keys (the shift's day).
    """
    if not walkers:
        return []
    share: dict[int, list[DemoPoint]] = defaultdict(list)
    for pid in sorted(due):
        p = points[pid]
        local = [pk for pk, beats in walkers if p.beat in beats]
        pk = int(rng.choice(local)) if local else min(
            (w[0] for w in walkers), key=lambda w: (len(share[w]), w))
        share[pk].append(p)
    rows = []
    span = (occ.end - occ.start).total_seconds()
    for pk, mine in share.items():
        passes = max(due[p.id] for p in mine)
        for n in range(passes):
            todo = [p for p in mine if due[p.id] > n]
            t = occ.start + timedelta(seconds=span * n / passes + float(rng.uniform(600, 2400)))
            prev = None
            for p in _tour(todo, rng):
                if prev is not None:
                    metres = float(distance_m(np.array([prev.lon]), np.array([prev.lat]),
                                              np.array([p.lon]), np.array([p.lat]))[0])
                    t += timedelta(seconds=metres / SPEED_MPS + STOP_S)
                prev = p
                if rng.random() < P_MISSED:
                    continue
                rows.append(_row(pk, p, t, occ, rng, f"demo-{day_key}-{occ.code}-{p.id}-{n}"))
    return rows


def _row(pk: int, p: DemoPoint, t: datetime, occ: Occurrence, rng: np.random.Generator,
         key: str) -> dict[str, Any]:
    if rng.random() < P_LATE:  # finished after the end, within the grace
        t = occ.end + (occ.closes - occ.end) * float(rng.uniform(0.1, 0.8))
    far = rng.random() < P_FAR
    lon, lat = _offset(p.lon, p.lat, float(rng.uniform(80, 150)) if far else
                       abs(float(rng.normal(0, 6))), float(rng.uniform(0, 2 * np.pi)))
    delay = float(rng.uniform(3600, 7200)) if rng.random() < P_QUEUED else \
        float(rng.exponential(4.0))
    return {"person_pk": pk, "point_id": p.id, "device_at": t,
            "server_at": t + timedelta(seconds=delay), "lon": lon, "lat": lat,
            "accuracy_m": round(float(rng.uniform(4, 25)), 1), "idempotency_key": key}


def impossible_pair(rows: list[dict[str, Any]], points: Mapping[str, DemoPoint],
                    min_m: float = 1000.0) -> dict[str, Any] | None:
    """A check-in one minute after the last of ``rows`` by the same person, at a point at least
    ``min_m`` away from it (None when no point is that far)."""
    if not rows:
        return None
    last = max(rows, key=lambda r: r["device_at"])
    here = points[last["point_id"]]
    far = sorted((p for p in points.values()
                  if float(distance_m(np.array([here.lon]), np.array([here.lat]),
                                      np.array([p.lon]), np.array([p.lat]))[0]) >= min_m),
                 key=lambda p: p.id)
    if not far:
        return None
    p = far[0]
    t = last["device_at"] + timedelta(minutes=1)
    return {"person_pk": last["person_pk"], "point_id": p.id, "device_at": t,
            "server_at": t + timedelta(seconds=2), "lon": p.lon, "lat": p.lat,
            "accuracy_m": 8.0, "idempotency_key": f"{last['idempotency_key']}-fast"}
