"""Police office coverage: is every resident within a 15-minute walk of a police office?

Everything here works in a metric CRS (x, y in metres). A house is *covered* when its walking
distance to the nearest office is at most the walk radius, ``speed_kmh * 1000 / 60 * minutes``
(4.5 km/h and 15 minutes give 1,125 m; the edge itself is covered).

Two distances:

- **straight line** (default): the Euclidean distance to the nearest office;
- **along roads** (:func:`road_distances`,
  :class:`gridsvc.domain.coverage.road_network.RoadNetwork`):
  a graph of the road segments (split where roads cross, vertices rounded to 0.1 m, dangling
  ends within ``snap_m`` of another road joined to it), each office and house connected to its
  nearest road point by a straight leg, and Dijkstra from the offices. A house whose road piece
  is not connected to any office's gets ``inf``.

New office sites (:func:`propose_sites`) are chosen with PySAL spopt: LSCP, the fewest sites so
that every house is covered (Toregas et al. 1971, "The location of emergency service
facilities"), and MCLP, the best ``k`` sites by residents covered (Church and ReVelle 1974, "The
maximal covering location problem"). Given a road network, candidates are road nodes and a
candidate covers the houses within the walk **along the roads** (one Dijkstra per candidate,
cut off at the walk), so the proposed sites cover what they claim when the coverage is measured
along roads again. See that function for how the problem is kept small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gridsvc.domain.coverage.road_network import SNAP_M, RoadNetwork

#: Default walking speed (km/h) and the standard's walk (minutes).
SPEED_KMH = 4.5
MINUTES = 15.0
#: Most candidate sites offered to the solvers.
MAX_CANDIDATES = 300


def walk_radius_m(speed_kmh: float = SPEED_KMH, minutes: float = MINUTES) -> float:
    """Metres walked in ``minutes`` at ``speed_kmh``.

    >>> walk_radius_m()
    1125.0
    """
    return float(speed_kmh) * 1000.0 / 60.0 * float(minutes)


def straight_distances(houses_xy: np.ndarray, offices_xy: np.ndarray) -> np.ndarray:
    """Straight-line distance (m) from each house to its nearest office; ``inf`` with no office.

    >>> straight_distances(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 0.0]]))
    array([0., 5.])
    """
    houses_xy = np.asarray(houses_xy, dtype=float).reshape(-1, 2)
    offices_xy = np.asarray(offices_xy, dtype=float).reshape(-1, 2)
    best = np.full(len(houses_xy), np.inf)
    for ox, oy in offices_xy:
        best = np.minimum(best, np.hypot(houses_xy[:, 0] - ox, houses_xy[:, 1] - oy))
    return best


def road_distances(houses_xy: np.ndarray, offices_xy: np.ndarray,
                   roads: Sequence[Any], snap_m: float = SNAP_M) -> np.ndarray:
    """Walking distance (m) along the roads from each house to its nearest office.

    The walk is: straight leg from the office to its nearest road point, along the road graph,
    straight leg from the road to the house (see :mod:`gridsvc.domain.coverage.road_network`).

    Parameters
    ----------
    houses_xy, offices_xy
        ``(n, 2)`` arrays of metres.
    roads
        Shapely LineStrings or MultiLineStrings in the same metres.
    snap_m
        Road ends within this distance of another road are joined to it; 0: never.

    Returns
    -------
    numpy.ndarray
        One distance per house; ``inf`` when unreachable, and for every house when there are no
        offices or no road segments.
    """
    return RoadNetwork.build(roads, snap_m).distances(houses_xy, offices_xy)


def beat_coverage(houses: pd.DataFrame, distance: np.ndarray, radius_m: float) -> pd.DataFrame:
    """Houses and residents per beat, and how many and what share are within ``radius_m``.

    Parameters
    ----------
    houses
        Columns ``beat_id`` (None for a house in no beat) and ``residents``.
    distance
        Each house's walking distance to the nearest office (m).
    radius_m
        The walk; a house at exactly this distance is covered.

    Returns
    -------
    pandas.DataFrame
        One row per beat (sorted, houses in no beat last with ``beat_id`` None): ``beat_id,
        houses, residents, covered_houses, covered_residents, house_share, resident_share``;
        a share is None when its denominator is 0.
    """
    covered = np.asarray(distance) <= radius_m
    residents = houses["residents"].fillna(0).to_numpy(dtype=np.int64)
    frame = pd.DataFrame({"beat_id": houses["beat_id"].to_numpy(dtype=object), "houses": 1,
                          "residents": residents, "covered_houses": covered.astype(np.int64),
                          "covered_residents": np.where(covered, residents, 0)})
    frame["beat_id"] = frame["beat_id"].where(frame["beat_id"].notna(), "")
    rows = frame.groupby("beat_id", sort=True).sum().reset_index()
    rows = pd.concat([rows[rows["beat_id"] != ""], rows[rows["beat_id"] == ""]],
                     ignore_index=True)
    rows["beat_id"] = pd.Series([b or None for b in rows["beat_id"]], dtype=object)
    rows["house_share"] = _share(rows["covered_houses"], rows["houses"])
    rows["resident_share"] = _share(rows["covered_residents"], rows["residents"])
    return rows


def _share(part: pd.Series, whole: pd.Series) -> list[float | None]:
    return [None if w == 0 else round(float(p) / float(w), 6)
            for p, w in zip(part.tolist(), whole.tolist(), strict=True)]


def candidate_sites(houses_xy: np.ndarray, max_candidates: int = MAX_CANDIDATES) -> np.ndarray:
    """Candidate office sites: a regular sample of the house points, at most ``max_candidates``.

    Houses are taken at evenly spaced positions of the given order (the service orders them by
    business id, so every village is sampled in proportion to its houses). A site at a house is
    a place where people already live and that roads reach.

    >>> candidate_sites(np.arange(20.0).reshape(10, 2), 3)
    array([[ 0.,  1.],
           [ 8.,  9.],
           [18., 19.]])
    """
    houses_xy = np.asarray(houses_xy, dtype=float).reshape(-1, 2)
    if len(houses_xy) <= max_candidates:
        return houses_xy.copy()
    picks = np.unique(np.linspace(0, len(houses_xy) - 1, max_candidates).round().astype(int))
    return houses_xy[picks]


@dataclass
class Proposal:
    """New office sites chosen by a solver.

    Attributes
    ----------
    method
        ``"LSCP"`` or ``"MCLP"``.
    sites
        ``(k, 2)`` metres of the chosen candidates.
    houses_covered, residents_covered
        Of the houses not covered by the existing offices, those the new sites cover.
    uncoverable_houses
        Indices of houses within the walk of no candidate (left out of the problem; LSCP cannot
        cover them with these candidates).
    """

    method: str
    sites: np.ndarray
    houses_covered: int
    residents_covered: int
    uncoverable_houses: list[int] = field(default_factory=list)


def propose_sites(houses_xy: np.ndarray, residents: np.ndarray, covered: np.ndarray,
                  radius_m: float, k: int | None = None,
                  candidates: np.ndarray | None = None,
                  network: RoadNetwork | None = None) -> Proposal:
    """New office sites: the fewest covering every house (``k`` None: LSCP) or the best ``k``.

    The problem is kept small and equivalent: houses already ``covered`` by the existing offices
    are dropped (the existing offices count as sites, and they cover those houses whatever is
    added), houses within the walk of no candidate are dropped and reported, and houses with the
    same set of candidates within the walk are merged into one demand row (their residents
    summed, for MCLP's weights). Without ``network``, candidates cover by **straight line**
    (``radius_m``); with it, by the walk along its roads (as
    :meth:`~gridsvc.domain.coverage.road_network.RoadNetwork.reach`), which should then also have
    decided ``covered``.

    Parameters
    ----------
    houses_xy
        ``(n, 2)`` metres.
    residents
        Residents per house (MCLP's weights).
    covered
        Boolean per house: within the walk of an existing office.
    radius_m
        The walk (m).
    k
        None for LSCP; else the number of new sites for MCLP (at least 1).
    candidates
        ``(m, 2)`` candidate sites; by default :func:`candidate_sites` of the houses, or with
        a ``network`` its :meth:`~gridsvc.domain.coverage.road_network.RoadNetwork.candidate_sites`
        (road nodes near the houses).
    network
        Measure the walk along these roads instead of in a straight line.

    Returns
    -------
    Proposal
        With no house left to cover, no site.
    """
    import pulp
    from spopt.locate import LSCP, MCLP

    houses_xy = np.asarray(houses_xy, dtype=float).reshape(-1, 2)
    residents = np.asarray(residents, dtype=float)
    if candidates is not None:
        cands = np.asarray(candidates, float).reshape(-1, 2)
    elif network is not None:
        cands = network.candidate_sites(houses_xy, MAX_CANDIDATES)
    else:
        cands = candidate_sites(houses_xy)
    method = "LSCP" if k is None else "MCLP"
    todo = np.flatnonzero(~np.asarray(covered, dtype=bool))
    if network is not None:
        reach = network.reach(houses_xy[todo], cands, radius_m)
    else:
        diff = houses_xy[todo, None, :] - cands[None, :, :]
        reach = np.hypot(diff[..., 0], diff[..., 1]) <= radius_m
    coverable = reach.any(axis=1)
    uncoverable = todo[~coverable].tolist()
    reach, todo = reach[coverable], todo[coverable]
    if len(todo) == 0 or len(cands) == 0:
        return Proposal(method, np.empty((0, 2)), 0, 0, uncoverable)
    rows, inverse = np.unique(reach, axis=0, return_inverse=True)
    weights = np.bincount(inverse.ravel(), weights=residents[todo], minlength=len(rows))
    # spopt covers where cost <= radius: 0 for "within the walk", 2 for "not".
    cost = np.where(rows, 0.0, 2.0)
    solver = pulp.PULP_CBC_CMD(msg=False)
    if k is None:
        model = LSCP.from_cost_matrix(cost, service_radius=1.0).solve(solver, results=False)
    else:
        p = min(int(k), len(cands))
        model = MCLP.from_cost_matrix(cost, weights, service_radius=1.0,
                                      p_facilities=p).solve(solver, results=False)
    chosen = [j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5]
    hit = reach[:, chosen].any(axis=1)
    people = int(np.rint(residents[todo][hit].sum()))
    return Proposal(method, cands[chosen], int(hit.sum()), people, uncoverable)
