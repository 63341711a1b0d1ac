"""Police office coverage: is every resident within a 15-minute walk of a police office?

Everything here works in a metric CRS (x, y in metres). A house is *covered* when its walking
distance to the nearest office is at most the walk radius, ``speed_kmh * 1000 / 60 * minutes``
(4.5 km/h and 15 minutes give 1,125 m; the edge itself is covered).

Two distances:

- **straight line** (default): the Euclidean distance to the nearest office;
- **along roads** (:func:`road_distances`): a graph is built from the road segments (nodes are the
  roads, split where they cross (:func:`shapely.node`), with vertices rounded to 0.1 m, so
  crossing roads and roads sharing a vertex are joined), each office and house is connected to
  its nearest road point by a straight leg, and a multi-source Dijkstra from the offices
  (:func:`networkx.multi_source_dijkstra_path_length`) gives every house's distance. A house
  whose road piece is not connected to any office's gets ``inf``.

New office sites (:func:`propose_sites`) are chosen with PySAL spopt: LSCP, the fewest sites so
that every house is covered (Toregas et al. 1971, "The location of emergency service
facilities"), and MCLP, the best ``k`` sites by residents covered (Church and ReVelle 1974, "The
maximal covering location problem"). See that function for how the problem is kept small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import shapely

#: Default walking speed (km/h) and the standard's walk (minutes).
SPEED_KMH = 4.5
MINUTES = 15.0
#: Most candidate sites offered to the solvers.
MAX_CANDIDATES = 300
#: Road vertices are rounded to this many decimals of a metre (0.1 m) to become graph nodes.
NODE_DECIMALS = 1


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


def _segments(roads: Iterable[Any]) -> np.ndarray:
    """Every segment of the roads (LineStrings or MultiLineStrings), split where roads cross,
    as rows ``x0, y0, x1, y1``, endpoints rounded to 0.1 m, zero-length segments dropped."""
    lines = [line for geom in roads if geom is not None and not shapely.is_empty(geom)
             for line in getattr(geom, "geoms", [geom])]
    if lines:
        # Split the roads where they cross, so crossings are shared vertices (graph nodes).
        lines = list(shapely.node(shapely.MultiLineString(lines)).geoms)
    parts = []
    for line in lines:
        xy = np.round(shapely.get_coordinates(line), NODE_DECIMALS)
        if len(xy) >= 2:
            parts.append(np.hstack([xy[:-1], xy[1:]]))
    if not parts:
        return np.empty((0, 4))
    seg = np.vstack(parts)
    return seg[(seg[:, 0] != seg[:, 2]) | (seg[:, 1] != seg[:, 3])]


def _snap(points: np.ndarray, seg: np.ndarray, tree: shapely.STRtree
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point: the nearest segment's index, the position along it (m from its start)
    and the straight leg (m) from the point to the road."""
    geoms = shapely.points(points)
    idx = tree.query_nearest(geoms, all_matches=False, return_distance=False)
    order = np.argsort(idx[0])
    which = idx[1][order]
    a, b = seg[which, :2], seg[which, 2:]
    ab = b - a
    length = np.hypot(ab[:, 0], ab[:, 1])
    t = np.clip(((points - a) * ab).sum(axis=1) / length**2, 0.0, 1.0)
    foot = a + ab * t[:, None]
    leg = np.hypot(points[:, 0] - foot[:, 0], points[:, 1] - foot[:, 1])
    return which, t * length, leg


def road_distances(houses_xy: np.ndarray, offices_xy: np.ndarray,
                   roads: Sequence[Any]) -> np.ndarray:
    """Walking distance (m) along the roads from each house to its nearest office.

    The walk is: straight leg from the office to its nearest road point, along the road graph,
    straight leg from the road to the house. See the module docstring for how the graph is built.

    Parameters
    ----------
    houses_xy, offices_xy
        ``(n, 2)`` arrays of metres.
    roads
        Shapely LineStrings or MultiLineStrings in the same metres.

    Returns
    -------
    numpy.ndarray
        One distance per house; ``inf`` when unreachable, and for every house when there are no
        offices or no road segments.
    """
    houses_xy = np.asarray(houses_xy, dtype=float).reshape(-1, 2)
    offices_xy = np.asarray(offices_xy, dtype=float).reshape(-1, 2)
    seg = _segments(roads)
    if len(seg) == 0 or len(offices_xy) == 0 or len(houses_xy) == 0:
        return np.full(len(houses_xy), np.inf)
    node_ids: dict[tuple[float, float], int] = {}

    def node(x: float, y: float) -> int:
        return node_ids.setdefault((x, y), len(node_ids))

    ends = [(node(x0, y0), node(x1, y1)) for x0, y0, x1, y1 in seg.tolist()]
    lengths = np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])
    # Positions along each segment that are graph nodes: both ends, plus offices' road points.
    stops: dict[int, list[tuple[float, Any]]] = {}
    tree = shapely.STRtree(shapely.linestrings(seg.reshape(-1, 2, 2)))
    o_seg, o_pos, o_leg = _snap(offices_xy, seg, tree)
    sources = []
    for i, (s, pos) in enumerate(zip(o_seg.tolist(), o_pos.tolist(), strict=True)):
        stops.setdefault(s, []).append((pos, ("road", i)))
        sources.append(("office", i))

    graph = nx.Graph()

    def join(u: Any, v: Any, w: float) -> None:
        if u != v and (not graph.has_edge(u, v) or graph[u][v]["weight"] > w):
            graph.add_edge(u, v, weight=w)

    for s, ((u, v), length) in enumerate(zip(ends, lengths.tolist(), strict=True)):
        chain = [(0.0, u), *sorted(stops.get(s, []), key=lambda p: p[0]), (length, v)]
        for (p, a), (q, b) in pairwise(chain):
            join(a, b, q - p)
    for i, leg in enumerate(o_leg.tolist()):
        graph.add_edge(("office", i), ("road", i), weight=leg)
    dist = nx.multi_source_dijkstra_path_length(graph, sources, weight="weight")

    h_seg, h_pos, h_leg = _snap(houses_xy, seg, tree)
    out = np.full(len(houses_xy), np.inf)
    for k, (s, pos, leg) in enumerate(zip(h_seg.tolist(), h_pos.tolist(), h_leg.tolist(),
                                          strict=True)):
        u, v = ends[s]
        chain = [(0.0, u), *sorted(stops.get(s, []), key=lambda p: p[0]), (lengths[s], v)]
        # The house lies between two consecutive stops of its segment: reach it from either.
        for (p, a), (q, b) in pairwise(chain):
            if p <= pos <= q:
                best = min(dist.get(a, np.inf) + pos - p, dist.get(b, np.inf) + q - pos)
                out[k] = min(out[k], best + leg)
    return out


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
                  candidates: np.ndarray | None = None) -> Proposal:
    """New office sites: the fewest covering every house (``k`` None: LSCP) or the best ``k``.

    The problem is kept small and equivalent: houses already ``covered`` by the existing offices
    are dropped (the existing offices count as sites, and they cover those houses whatever is
    added), houses within the walk of no candidate are dropped and reported, and houses with the
    same set of candidates within the walk are merged into one demand row (their residents
    summed, for MCLP's weights). Candidates cover by **straight line** (``radius_m``), whatever
    distance decided ``covered``.

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
        ``(m, 2)`` candidate sites; :func:`candidate_sites` of the houses by default.

    Returns
    -------
    Proposal
        With no house left to cover, no site.
    """
    import pulp
    from spopt.locate import LSCP, MCLP

    houses_xy = np.asarray(houses_xy, dtype=float).reshape(-1, 2)
    residents = np.asarray(residents, dtype=float)
    cands = candidate_sites(houses_xy) if candidates is None else np.asarray(candidates, float)
    method = "LSCP" if k is None else "MCLP"
    todo = np.flatnonzero(~np.asarray(covered, dtype=bool))
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
