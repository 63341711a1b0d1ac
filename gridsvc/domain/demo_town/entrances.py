"""Compound entrances (小区出入口): one to three gates on every compound's fence.

Entrances are drawn from their **own** generator (`entrance_rng`), derived from the town's seed,
so adding them left every other layer of the demo town byte-identical.

Every compound gets a main gate (正门) on the side of its fence that faces the nearest road, at
the fence point nearest that road; then, with equal chances, nothing more, a vehicle gate
(车行出入口) on the same side 15-25 m from the main gate (or on a neighbouring side when the road
side is too short), or a vehicle gate and a side gate (侧门) on another side. Gates keep
`CORNER_M` from the fence's corners and, like every other generated point, clear of cell
boundaries (``is_clear``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import shapely

#: Chinese name of each kind of gate, appended to the compound's name.
KIND_NAMES = {"main": "正门", "vehicle": "车行出入口", "side": "侧门"}
#: Gates keep this far (m) from the corners of the fence.
CORNER_M = 8.0
#: Mixed into the town's seed to derive the entrances' own generator.
STREAM = 5


def entrance_rng(seed: int) -> np.random.Generator:
    """The generator of the entrances, independent of the town's main generator."""
    return np.random.default_rng([seed, STREAM])


def _sides(fence: shapely.Polygon) -> list[tuple[np.ndarray, np.ndarray]]:
    """The straight sides of a fence: (start, end) pairs of its exterior ring."""
    xy = shapely.get_coordinates(fence.exterior)
    return [(xy[i], xy[i + 1]) for i in range(len(xy) - 1)
            if np.hypot(*(xy[i + 1] - xy[i])) > 2 * CORNER_M]


def _on_side(side: tuple[np.ndarray, np.ndarray], along: float,
             is_clear: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """The point ``along`` metres from the side's start, clamped off the corners; when it is not
    clear of boundaries, the nearest clear point of the side (1 m steps), or None."""
    a, b = side
    length = float(np.hypot(*(b - a)))
    lo, hi = CORNER_M, length - CORNER_M
    steps = np.arange(lo, hi + 1e-9, 1.0)
    first = float(np.clip(along, lo, hi))
    order = np.concatenate([[first], steps[np.argsort(np.abs(steps - first), kind="stable")]])
    points = a + (b - a) * (order[:, None] / length)
    ok = is_clear(points)
    return points[int(np.argmax(ok))] if ok.any() else None


def place_entrances(compounds: pd.DataFrame, network: shapely.Geometry,
                    is_clear: Callable[[np.ndarray], np.ndarray],
                    rng: np.random.Generator) -> pd.DataFrame:
    """Entrances of the compounds (in their order), facing the nearest road.

    Parameters
    ----------
    compounds
        Columns ``id``, ``name`` and ``geometry`` (metric Polygons).
    network
        The roads (metric), e.g. their union.
    is_clear
        ``(m, 2)`` points -> booleans: clear of cell boundaries.
    rng
        The entrances' generator (see `entrance_rng`).

    Returns
    -------
    pandas.DataFrame
        ``id`` ("EN001".., compound by compound), ``compound_id``, ``name``, ``kind`` ("main",
        "vehicle", "side"), ``x``, ``y``. A compound whose fence has no clear point gets none.
    """
    rows = []
    for cid, cname, fence in zip(compounds["id"], compounds["name"], compounds["geometry"],
                                 strict=True):
        sides = _sides(fence)
        if not sides:
            continue
        lines = [shapely.LineString(s) for s in sides]
        front = int(np.argmin(shapely.distance(lines, network)))
        near = shapely.get_point(shapely.shortest_line(lines[front], network), 0)
        at = lines[front].project(near)
        n_gates = int(rng.integers(1, 4))
        gates = [("main", _on_side(sides[front], at, is_clear))]
        if n_gates >= 2:
            offset = float(rng.uniform(15.0, 25.0)) * rng.choice((-1.0, 1.0))
            length = lines[front].length
            if CORNER_M <= at + offset <= length - CORNER_M:
                spot = _on_side(sides[front], at + offset, is_clear)
            elif CORNER_M <= at - offset <= length - CORNER_M:
                spot = _on_side(sides[front], at - offset, is_clear)
            else:
                neighbour = sides[(front + 1) % len(sides)]
                spot = _on_side(neighbour, CORNER_M, is_clear)
            gates.append(("vehicle", spot))
        if n_gates == 3:
            others = [k for k in range(len(sides)) if k != front]
            side = sides[others[int(rng.integers(len(others)))]]
            along = float(rng.uniform(0.0, float(np.hypot(*(side[1] - side[0])))))
            gates.append(("side", _on_side(side, along, is_clear)))
        for kind, spot in gates:
            if spot is not None:
                rows.append({"compound_id": cid, "name": cname + KIND_NAMES[kind], "kind": kind,
                             "x": float(spot[0]), "y": float(spot[1])})
    out = pd.DataFrame(rows, columns=["compound_id", "name", "kind", "x", "y"])
    out.insert(0, "id", [f"EN{i + 1:03d}" for i in range(len(out))])
    return out
