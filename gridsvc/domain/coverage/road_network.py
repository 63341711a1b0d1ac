"""Walking along roads: the road layer as a graph, and walking distances over it.

Everything is in a metric CRS (x, y in metres).

How the graph is built (:meth:`RoadNetwork.build`):

1. Roads (LineStrings or MultiLineStrings) are split where they cross (:func:`shapely.node`),
   so crossings become shared vertices.
2. Vertices are rounded to 0.1 m (:data:`NODE_DECIMALS`); equal rounded vertices are one node,
   so roads sharing a vertex are joined. Zero-length segments are dropped.
3. **Near-miss junctions are snapped**: a dangling end (a node on one segment only) within
   ``snap_m`` (5 m by default) of a segment not ending at it is joined to the nearest point of
   that segment by a straight connector (the segment is split there). Digitised roads often stop
   a metre or two short of the road they meet; without this, everything beyond is unreachable.
   The price: two roads that truly do not meet (a dead end 4 m from a parallel road behind a
   fence) are joined too; set ``snap_m`` to 0 to switch snapping off.

A point (office, house, candidate site) reaches the graph by a straight leg to its nearest road
point, on segment ``s`` at ``pos`` metres from the segment's start; from there it walks to
either end of the segment, or directly to another point of the same segment. Distances are
Dijkstra's (:func:`networkx.single_source_dijkstra_path_length`) from a virtual source joined to
the ends of the sources' segments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import networkx as nx
import numpy as np
import shapely

__all__ = ["NODE_DECIMALS", "SNAP_M", "Attachment", "RoadNetwork", "road_segments"]

#: Road vertices are rounded to this many decimals of a metre (0.1 m) to become graph nodes.
NODE_DECIMALS = 1
#: Dangling road ends within this many metres of another road are joined to it.
SNAP_M = 5.0
_SOURCE = -1


def _noded(roads: Iterable[Any]) -> np.ndarray:
    """Segments ``x0, y0, x1, y1`` of the roads split where they cross, rounded, non-empty."""
    lines = [line for geom in roads if geom is not None and not shapely.is_empty(geom)
             for line in getattr(geom, "geoms", [geom])]
    if lines:
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


def _snap_dangling(seg: np.ndarray, snap_m: float) -> np.ndarray:
    """``seg`` with every dangling end joined to the nearest segment within ``snap_m`` that does
    not end at it: that segment is split at the nearest point (rounded to 0.1 m) and a connector
    segment is added."""
    ends = seg.reshape(-1, 2)
    uniq, counts = np.unique(ends, axis=0, return_counts=True)
    dangling = uniq[counts == 1]
    if len(dangling) == 0 or len(seg) < 2:
        return seg
    tree = shapely.STRtree(shapely.linestrings(seg.reshape(-1, 2, 2)))
    pi, si = tree.query(shapely.points(dangling), predicate="dwithin", distance=snap_m)
    d = dangling[pi]
    incident = (seg[si, :2] == d).all(axis=1) | (seg[si, 2:] == d).all(axis=1)
    pi, si = pi[~incident], si[~incident]
    if len(pi) == 0:
        return seg
    a, b = seg[si, :2], seg[si, 2:]
    ab = b - a
    t = np.clip(((dangling[pi] - a) * ab).sum(axis=1) / (ab**2).sum(axis=1), 0.0, 1.0)
    foot = a + ab * t[:, None]
    gap = np.hypot(*(dangling[pi] - foot).T)
    # The nearest segment of each dangling end (ties: the lower segment index).
    order = np.lexsort((si, gap, pi))
    first = np.unique(pi[order], return_index=True)[1]
    pick = order[first]
    foot = np.round(foot[pick], NODE_DECIMALS)
    splits: dict[int, list[tuple[float, float, float]]] = {}
    connectors = []
    for p, s, f, tt in zip(pi[pick].tolist(), si[pick].tolist(), foot.tolist(), t[pick].tolist(),
                           strict=True):
        splits.setdefault(s, []).append((tt, f[0], f[1]))
        connectors.append([*dangling[p], *f])
    keep = [row for k, row in enumerate(seg.tolist()) if k not in splits]
    for s, cuts in splits.items():
        points = [tuple(seg[s, :2]), *[(x, y) for _, x, y in sorted(cuts)], tuple(seg[s, 2:])]
        keep += [[*p, *q] for p, q in pairwise(points)]
    out = np.array(keep + connectors, dtype=float)
    return out[(out[:, 0] != out[:, 2]) | (out[:, 1] != out[:, 3])]


def road_segments(roads: Iterable[Any], snap_m: float = SNAP_M) -> np.ndarray:
    """The graph's edges: rows ``x0, y0, x1, y1`` in metres (see the module docstring).

    A road stopping 2 m short of another is joined to it by a 2 m connector:

    >>> seg = road_segments([shapely.LineString([(0, 0), (100, 0)]),
    ...                      shapely.LineString([(50, 2), (50, 80)])])
    >>> seg.tolist()[-1]  # the connector
    [50.0, 2.0, 50.0, 0.0]
    >>> len(seg)  # the long road split at (50, 0), the short one, the connector
    4
    """
    seg = _noded(roads)
    return _snap_dangling(seg, snap_m) if snap_m > 0 and len(seg) else seg


@dataclass
class Attachment:
    """How points reach the graph: per point, its nearest segment, the position along it (m from
    the segment's start) and the straight leg (m) from the point to the road."""

    seg: np.ndarray
    pos: np.ndarray
    leg: np.ndarray


@dataclass
class RoadNetwork:
    """The walking graph of a road layer; build it with :meth:`build`.

    Attributes
    ----------
    seg
        ``(m, 4)`` segments (see :func:`road_segments`).
    nodes
        ``(n, 2)`` node coordinates; node ``i`` of the graph is ``nodes[i]``.
    ends
        ``(m, 2)`` node of each segment's start and end.
    lengths
        ``(m,)`` segment lengths (m).
    graph
        :class:`networkx.Graph` on the node numbers, edge attribute ``weight`` (m). Queries
        add and remove a virtual source node: do not share one network between threads.
    """

    seg: np.ndarray
    nodes: np.ndarray
    ends: np.ndarray
    lengths: np.ndarray
    graph: nx.Graph
    tree: shapely.STRtree | None

    @classmethod
    def build(cls, roads: Iterable[Any], snap_m: float = SNAP_M) -> RoadNetwork:
        """The network of ``roads`` (shapely lines in metres); ``snap_m`` 0: no snapping."""
        seg = road_segments(roads, snap_m)
        nodes, inverse = np.unique(seg.reshape(-1, 2), axis=0, return_inverse=True)
        ends = inverse.reshape(-1, 2)
        lengths = np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])
        graph = nx.Graph()
        graph.add_nodes_from(range(len(nodes)))
        # Parallel segments between the same two nodes: the shorter one is the walk.
        for (u, v), w in sorted(zip(map(tuple, ends.tolist()), lengths.tolist(), strict=True),
                                key=lambda e: -e[1]):
            graph.add_edge(u, v, weight=w)
        tree = shapely.STRtree(shapely.linestrings(seg.reshape(-1, 2, 2))) if len(seg) else None
        return cls(seg, nodes, ends, lengths, graph, tree)

    def attach(self, points_xy: np.ndarray) -> Attachment:
        """Each point's nearest segment, position along it and straight leg (see the class)."""
        points = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        which = np.zeros(len(points), dtype=np.int64)
        if len(points) and self.tree is not None:
            idx = self.tree.query_nearest(shapely.points(points), all_matches=False)
            which[idx[0]] = idx[1]
        a, b = self.seg[which, :2], self.seg[which, 2:]
        ab = b - a
        t = np.clip(((points - a) * ab).sum(axis=1) / self.lengths[which] ** 2, 0.0, 1.0)
        foot = a + ab * t[:, None]
        leg = np.hypot(points[:, 0] - foot[:, 0], points[:, 1] - foot[:, 1])
        return Attachment(which, t * self.lengths[which], leg)

    def _from(self, src: Attachment, cutoff: float | None) -> np.ndarray:
        """Distance from the nearest source to every node (``inf``: beyond ``cutoff`` or not
        connected)."""
        graph = self.graph
        graph.add_node(_SOURCE)
        try:
            for s, pos, leg in zip(src.seg.tolist(), src.pos.tolist(), src.leg.tolist(),
                                   strict=True):
                u, v = self.ends[s]
                for node, w in ((u, leg + pos), (v, leg + self.lengths[s] - pos)):
                    if not graph.has_edge(_SOURCE, node) or graph[_SOURCE][node]["weight"] > w:
                        graph.add_edge(_SOURCE, int(node), weight=w)
            found = nx.single_source_dijkstra_path_length(graph, _SOURCE, cutoff=cutoff,
                                                          weight="weight")
        finally:
            graph.remove_node(_SOURCE)
        dist = np.full(len(self.nodes), np.inf)
        found.pop(_SOURCE, None)
        if found:
            dist[np.fromiter(found.keys(), np.int64)] = np.fromiter(found.values(), float)
        return dist

    def _to(self, node_dist: np.ndarray, src: Attachment, dst: Attachment) -> np.ndarray:
        """Per destination point: from its segment's ends, or along its segment from a source
        on the same segment."""
        u, v = self.ends[dst.seg, 0], self.ends[dst.seg, 1]
        out = np.minimum(node_dist[u] + dst.pos, node_dist[v] + self.lengths[dst.seg] - dst.pos)
        for s, pos, leg in zip(src.seg.tolist(), src.pos.tolist(), src.leg.tolist(), strict=True):
            same = dst.seg == s
            out[same] = np.minimum(out[same], leg + np.abs(dst.pos[same] - pos))
        return out + dst.leg

    def distances(self, points_xy: np.ndarray, sources_xy: np.ndarray,
                  cutoff: float | None = None) -> np.ndarray:
        """Walking distance (m) from each point to its nearest source along the roads.

        Parameters
        ----------
        points_xy, sources_xy
            ``(n, 2)`` and ``(k, 2)`` metres.
        cutoff
            Walks longer than this may come back as ``inf`` (faster); None: every distance.

        Returns
        -------
        numpy.ndarray
            One distance per point; ``inf`` when unreachable, and for every point when there
            are no sources or no roads.
        """
        points = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        sources = np.asarray(sources_xy, dtype=float).reshape(-1, 2)
        if len(self.seg) == 0 or len(sources) == 0 or len(points) == 0:
            return np.full(len(points), np.inf)
        src = self.attach(sources)
        out = self._to(self._from(src, cutoff), src, self.attach(points))
        if cutoff is not None:
            out[out > cutoff] = np.inf
        return out

    def reach(self, points_xy: np.ndarray, sites_xy: np.ndarray, radius_m: float) -> np.ndarray:
        """``(n, m)`` booleans: point ``i`` is within a walk of ``radius_m`` from site ``j``.

        One Dijkstra per site, cut off at the radius. ``reach[:, j].any()`` agrees exactly
        with ``distances(points, [site j]) <= radius_m``: the same attachments, the same sums.
        """
        points = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        sites = np.asarray(sites_xy, dtype=float).reshape(-1, 2)
        out = np.zeros((len(points), len(sites)), dtype=bool)
        if len(self.seg) == 0 or len(points) == 0:
            return out
        dst, src = self.attach(points), self.attach(sites)
        for j in range(len(sites)):
            one = Attachment(src.seg[j:j + 1], src.pos[j:j + 1], src.leg[j:j + 1])
            out[:, j] = self._to(self._from(one, radius_m), one, dst) <= radius_m
        return out

    def candidate_sites(self, points_xy: np.ndarray, max_candidates: int) -> np.ndarray:
        """Road nodes where new offices could stand: for each point (a house), the end of its
        segment nearer along the road, once each, in the points' order, then at most
        ``max_candidates`` of them at evenly spaced positions of that order.

        Returns
        -------
        numpy.ndarray
            ``(k, 2)`` node coordinates (empty with no roads or no points).
        """
        points = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        if len(self.seg) == 0 or len(points) == 0:
            return np.empty((0, 2))
        at = self.attach(points)
        nearer = np.where(at.pos <= self.lengths[at.seg] / 2, self.ends[at.seg, 0],
                          self.ends[at.seg, 1])
        first = np.sort(np.unique(nearer, return_index=True)[1])
        nodes = nearer[first]
        if len(nodes) > max_candidates:
            picks = np.unique(np.linspace(0, len(nodes) - 1, max_candidates).round().astype(int))
            nodes = nodes[picks]
        return self.nodes[nodes].copy()

    def reachable(self, sources_xy: np.ndarray, radius_m: float) -> np.ndarray:
        """The stretches of road within a walk of ``radius_m`` from the nearest source.

        A segment is walked in from each end the source reaches, as far as the walk left at
        that end allows, and both ways from a source attached to it; the stretches of one
        segment are merged. The walk counts the straight leg from a source to the road.

        Returns
        -------
        numpy.ndarray
            ``(k, 4)`` stretches ``x0, y0, x1, y1`` (empty with no roads or no sources).

        Examples
        --------
        >>> net = RoadNetwork.build([shapely.LineString([(0, 0), (100, 0), (100, 100)])])
        >>> net.reachable(np.array([[0.0, 10.0]]), 60.0).round(1).tolist()
        [[0.0, 0.0, 50.0, 0.0]]
        """
        sources = np.asarray(sources_xy, dtype=float).reshape(-1, 2)
        if len(self.seg) == 0 or len(sources) == 0:
            return np.empty((0, 4))
        src = self.attach(sources)
        dist = self._from(src, radius_m)
        left = radius_m - dist  # walk left at each node (negative or -inf: not reached)
        u, v = self.ends[:, 0], self.ends[:, 1]
        n = len(self.seg)
        # Intervals along each segment (metres from its start): from the start end, from the
        # far end, and around any source attached to the segment.
        lo = np.full((n, 3), np.inf)
        hi = np.full((n, 3), -np.inf)
        start = left[u] >= 0
        lo[start, 0], hi[start, 0] = 0.0, np.minimum(self.lengths[start], left[u][start])
        far = left[v] >= 0
        lo[far, 1] = np.maximum(0.0, self.lengths[far] - left[v][far])
        hi[far, 1] = self.lengths[far]
        for s, pos, leg in zip(src.seg.tolist(), src.pos.tolist(), src.leg.tolist(), strict=True):
            if leg <= radius_m:
                reach = radius_m - leg
                lo[s, 2] = min(lo[s, 2], max(0.0, pos - reach))
                hi[s, 2] = max(hi[s, 2], min(self.lengths[s], pos + reach))
        out = []
        for s in np.flatnonzero(np.isfinite(lo).any(axis=1)):
            spans = sorted((a, b) for a, b in zip(lo[s], hi[s], strict=True) if a <= b)
            merged: list[list[float]] = []
            for a, b in spans:
                if merged and a <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], b)
                else:
                    merged.append([a, b])
            x0, y0, x1, y1 = self.seg[s]
            length = self.lengths[s]
            for a, b in merged:
                if b - a <= 0:
                    continue
                ta, tb = a / length, b / length
                out.append((x0 + (x1 - x0) * ta, y0 + (y1 - y0) * ta,
                            x0 + (x1 - x0) * tb, y0 + (y1 - y0) * tb))
        return np.array(out, dtype=float).reshape(-1, 4)
