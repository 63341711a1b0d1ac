"""Balanced districting: N contiguous regions of blocks, households within ±tolerance of the mean.

A *block* is the unit a region is made of: a whole village when a town or station is divided
(so a village is never split), or a piece of a village (house clusters cut along roads, see
:mod:`gridsvc.domain.district_blocks`) when a village is divided into grids. Blocks come as a
:class:`BlockGraph`: households, centroid and area in metres, and the shared boundary of each
pair of touching blocks (its length, and how much of it runs along a road).

Method
------
1. **Starts.** SKATER (Assunção, Neves, Câmara and da Costa Freitas 2006, "Efficient
   regionalization techniques for socio-economic geographical units using minimum spanning
   trees", IJGIS 20(7); PySAL :class:`spopt.region.Skater`) on the block centroids: a
   deterministic, compact cut of the minimum spanning tree into N subtrees. Plus ``restarts``
   seeded-growth starts: N seed blocks spread with the k-means++ rule, then the lightest region
   takes the neighbouring block it shares the longest boundary with, until every block is taken
   (the growth phase of max-p, Duque, Anselin and Rey 2012, "The max-p-regions problem", JRS
   52(3)).
2. **Improvement.** The AZP local search (Openshaw 1977; Openshaw and Rao 1995, "Algorithms for
   reengineering 1991 census geography", EPA 27): a block on a region's edge moves to a
   neighbouring region when the donor stays contiguous and the objective improves; blocks are
   visited in an order drawn from the generator, until a full pass moves nothing.
3. The best local optimum over all starts is returned. When none meets the band, up to
   :data:`EXTRA_ROUNDS` more rounds of seeded-growth starts are tried first. SKATER is skipped
   above :data:`SKATER_MAX_BLOCKS` blocks (its cut search is about quadratic).

The objective is lexicographic: first the **excess**, the households outside the band
``[mean * (1 - tolerance), mean * (1 + tolerance)]`` summed over regions (0 when balanced); then
the **boundary cost**: the length of the boundaries between regions, where a stretch along a road
counts only :data:`ROAD_WEIGHT` of its length (so boundaries follow roads and regions stay
compact), plus :data:`BALANCE_WEIGHT` x sqrt(total area) x the sum of squared relative
deviations (so balanced regions still drift towards the mean, leaving slack).

When the band cannot be met, the best partition found is returned anyway, with
``within_tolerance=False`` and the reasons (a block heavier than a region may be is named): the
planner gets a draft to review and sees why it is off. Only a request that cannot be answered at
all raises :class:`~gridsvc.errors.InvalidInput` (N below 1 or above the number of blocks, no
households at all).

All randomness comes from the ``numpy.random.Generator`` passed in: the same blocks and seed give
the same regions. (spopt's own random heuristics seed NumPy's global generator, so only its
deterministic SKATER is used.)
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from gridsvc.errors import InvalidInput, Problem

#: Allowed deviation of a region's households from the mean (±10%).
TOLERANCE = 0.10
#: Share of a boundary's length that counts when the boundary runs along a road.
ROAD_WEIGHT = 0.1
#: Weight of the squared relative deviations in the boundary cost, per metre of sqrt(area).
BALANCE_WEIGHT = 20.0
#: Seeded-growth starts besides SKATER.
RESTARTS = 8
#: When no start meets the band, up to this many times ``restarts`` more starts are tried.
EXTRA_ROUNDS = 3
#: SKATER's cut search grows about with the square of the blocks (40 s for 500): above this
#: many blocks only seeded growth starts are used.
SKATER_MAX_BLOCKS = 200


@dataclass(frozen=True)
class BlockGraph:
    """Blocks and their adjacency, in metres.

    Attributes
    ----------
    ids
        One id per block (a village id, or a piece's id); used in messages.
    households
        Households per block (integers >= 0).
    x, y, area
        Centroid (m) and area (m²) per block.
    edges
        ``(m, 2)`` int array of touching block pairs ``i < j``.
    length, road
        Per edge: metres of shared boundary, and of those the metres along a road. An edge of
        length 0 links parts that do not touch (islands linked to their nearest block).
    """

    ids: list[str]
    households: np.ndarray
    x: np.ndarray
    y: np.ndarray
    area: np.ndarray
    edges: np.ndarray
    length: np.ndarray
    road: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def adjacency(self) -> list[list[tuple[int, float]]]:
        """Per block: ``(neighbour, boundary cost)`` pairs (cost as in the module docstring)."""
        cost = self.length - (1.0 - ROAD_WEIGHT) * np.minimum(self.road, self.length)
        adj: list[list[tuple[int, float]]] = [[] for _ in range(len(self))]
        for (i, j), c in zip(self.edges.tolist(), cost.tolist(), strict=True):
            adj[i].append((j, c))
            adj[j].append((i, c))
        return adj


@dataclass(frozen=True)
class Districting:
    """A partition of the blocks into regions, and how balanced it is.

    Attributes
    ----------
    labels
        Region of each block, ``0 .. n-1``, numbered west to east, north to south (by the
        area-weighted centroid of the region, in rows as tall as a region is on average).
    households
        Households per region.
    mean, low, high
        The mean and the band a region's households should lie in.
    deviation
        Per region ``households / mean - 1``.
    within_tolerance
        Every region is in the band.
    reasons
        Why not, when not (empty when balanced).
    boundary_m, along_roads_m
        Length of the boundaries between regions, and of those the metres along roads.
    """

    labels: np.ndarray
    households: np.ndarray
    mean: float
    low: float
    high: float
    deviation: np.ndarray
    within_tolerance: bool
    reasons: list[str] = field(default_factory=list)
    boundary_m: float = 0.0
    along_roads_m: float = 0.0

    @property
    def max_deviation(self) -> float:
        """The largest ``|deviation|`` (0.07 means 7% off the mean)."""
        return float(np.abs(self.deviation).max())


def partition(blocks: BlockGraph, n: int, *, rng: np.random.Generator,
              tolerance: float = TOLERANCE, restarts: int = RESTARTS) -> Districting:
    """Divide the blocks into ``n`` contiguous regions with balanced households.

    Parameters
    ----------
    blocks
        The blocks; their graph should be connected (link islands first, as
        :func:`gridsvc.domain.district_blocks.block_graph` does), else a region may be in parts.
    n
        Number of regions, ``1 <= n <= len(blocks)``.
    rng
        The only source of randomness (start seeds, visiting order).
    tolerance
        Allowed relative deviation from the mean.
    restarts
        Seeded-growth starts tried besides SKATER; the best result wins.

    Returns
    -------
    Districting
        The best partition found; ``within_tolerance`` says whether the band was met.

    Raises
    ------
    InvalidInput
        ``n`` below 1 or above the number of blocks (field ``n``); no households in any block
        (field ``households``).

    Examples
    --------
    Four blocks in a row, 10 households each, into two regions:

    >>> g = BlockGraph(["a", "b", "c", "d"], np.array([10, 10, 10, 10]),
    ...                np.array([0., 1, 2, 3]), np.zeros(4), np.ones(4),
    ...                np.array([[0, 1], [1, 2], [2, 3]]), np.ones(3), np.zeros(3))
    >>> d = partition(g, 2, rng=np.random.default_rng(0))
    >>> d.labels.tolist(), d.households.tolist(), d.within_tolerance
    ([0, 0, 1, 1], [20, 20], True)
    """
    nb = len(blocks)
    h = np.asarray(blocks.households, dtype=float)
    if not 1 <= n <= nb:
        raise InvalidInput([Problem(
            f"must be between 1 and the number of blocks ({nb}): {n} regions cannot be made "
            f"of {nb} block(s) without splitting one", field="n")])
    if h.sum() <= 0:
        raise InvalidInput([Problem("no households in the area: there is nothing to balance",
                                    field="households")])
    mean = h.sum() / n
    low, high = mean * (1 - tolerance), mean * (1 + tolerance)
    adj = blocks.adjacency()
    search = _Search(adj, h, n, low, high, mean,
                     BALANCE_WEIGHT * float(np.sqrt(max(blocks.area.sum(), 1.0))))
    best: tuple[tuple[float, float], np.ndarray] | None = None
    for round_ in range(1 + EXTRA_ROUNDS):
        for start in _starts(blocks, adj, n, rng, restarts, skater=round_ == 0):
            labels = search.improve(start, rng)
            score = search.score(labels)
            if best is None or score < best[0]:
                best = (score, labels)
        if best is not None and best[0][0] == 0:
            break
    assert best is not None
    labels = _renumber(best[1], blocks, n)
    return _summary(blocks, labels, n, mean, low, high, tolerance)


class _Search:
    """The AZP local search on one objective (see the module docstring)."""

    def __init__(self, adj: list[list[tuple[int, float]]], h: np.ndarray, n: int,
                 low: float, high: float, mean: float, balance_weight: float) -> None:
        self.adj, self.h, self.n = adj, h, n
        self.low, self.high, self.mean, self.bw = low, high, mean, balance_weight

    def _excess(self, total: float) -> float:
        return max(0.0, self.low - total, total - self.high)

    def _balance(self, total: float) -> float:
        return self.bw * ((total - self.mean) / self.mean) ** 2

    def score(self, labels: np.ndarray) -> tuple[float, float]:
        totals = np.bincount(labels, weights=self.h, minlength=self.n)
        cut = sum(c for i, nbrs in enumerate(self.adj) for j, c in nbrs
                  if i < j and labels[i] != labels[j])
        return (sum(self._excess(t) for t in totals),
                cut + sum(self._balance(t) for t in totals))

    def improve(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        labels = labels.copy()
        totals = np.bincount(labels, weights=self.h, minlength=self.n)
        members = [set(np.flatnonzero(labels == r).tolist()) for r in range(self.n)]
        moved = True
        while moved:
            moved = False
            for v in rng.permutation(len(labels)).tolist():
                a = int(labels[v])
                if len(members[a]) == 1:
                    continue
                b = self._best_move(v, a, labels, totals)
                if b is None or not _connected_without(members[a], v, self.adj):
                    continue
                labels[v] = b
                members[a].discard(v)
                members[b].add(v)
                totals[a] -= self.h[v]
                totals[b] += self.h[v]
                moved = True
        return labels

    def _best_move(self, v: int, a: int, labels: np.ndarray, totals: np.ndarray) -> int | None:
        """The neighbouring region whose taking ``v`` improves the objective most, or None."""
        inside, towards = 0.0, {}
        for u, c in self.adj[v]:
            r = int(labels[u])
            if r == a:
                inside += c
            else:
                towards[r] = towards.get(r, 0.0) + c
        hv, ta = self.h[v], totals[a]
        best, best_delta = None, (0.0, -1e-9)
        for b, shared in towards.items():
            tb = totals[b]
            d_excess = (self._excess(ta - hv) + self._excess(tb + hv)
                        - self._excess(ta) - self._excess(tb))
            d_cost = (inside - shared + self._balance(ta - hv) + self._balance(tb + hv)
                      - self._balance(ta) - self._balance(tb))
            delta = (round(d_excess, 9), d_cost)
            if delta < best_delta:
                best, best_delta = b, delta
        return best


def _connected_without(region: set[int], v: int, adj: list[list[tuple[int, float]]]) -> bool:
    """Whether ``region`` minus block ``v`` is still one connected piece (a BFS)."""
    rest = region - {v}
    start = next(iter(rest))
    seen, queue = {start}, deque([start])
    while queue:
        for u, _ in adj[queue.popleft()]:
            if u in rest and u not in seen:
                seen.add(u)
                queue.append(u)
    return len(seen) == len(rest)


def _starts(blocks: BlockGraph, adj: list[list[tuple[int, float]]], n: int,
            rng: np.random.Generator, restarts: int, *, skater: bool):
    """SKATER's partition (when asked, the graph is small enough and spopt finds one), then
    ``restarts`` seeded-growth partitions."""
    skater = _skater(blocks, n) if skater and len(blocks) <= SKATER_MAX_BLOCKS else None
    if skater is not None:
        yield skater
    for _ in range(max(restarts, 0 if skater is not None else 1)):
        yield _grow(blocks, adj, n, rng)


def _skater(blocks: BlockGraph, n: int) -> np.ndarray | None:
    if n == 1:
        return np.zeros(len(blocks), dtype=np.int64)
    import pandas as pd
    from libpysal.weights import W
    from spopt.region import Skater

    neighbours: dict[int, list[int]] = {i: [] for i in range(len(blocks))}
    for i, j in blocks.edges.tolist():
        neighbours[i].append(j)
        neighbours[j].append(i)
    frame = pd.DataFrame({"x": blocks.x, "y": blocks.y})
    with warnings.catch_warnings():
        # Islands and "no valid cut" come back as fewer regions, checked below.
        warnings.simplefilter("ignore")
        w = W(neighbours, silence_warnings=True)
        model = Skater(frame, w, ["x", "y"], n_clusters=n)
        model.solve()
    labels = np.asarray(model.labels_, dtype=np.int64)
    return labels if len(np.unique(labels)) == n else None


def _grow(blocks: BlockGraph, adj: list[list[tuple[int, float]]], n: int,
          rng: np.random.Generator) -> np.ndarray:
    """Seeded growth: k-means++ seeds (the first drawn by households, so a heavy block tends
    to start a region of its own), then the lightest region takes its best neighbour."""
    xy = np.column_stack([blocks.x, blocks.y])
    h = blocks.households.astype(float)
    seeds = [int(rng.choice(len(blocks), p=h / h.sum() if h.sum() > 0 else None))]
    d2 = ((xy - xy[seeds[0]]) ** 2).sum(axis=1)
    while len(seeds) < n:
        p = d2 / d2.sum() if d2.sum() > 0 else None
        nxt = int(rng.choice(len(blocks), p=p))
        if nxt in seeds:  # only when every remaining block sits on a seed's centroid
            nxt = int(rng.choice(np.setdiff1d(np.arange(len(blocks)), seeds)))
        seeds.append(nxt)
        d2 = np.minimum(d2, ((xy - xy[nxt]) ** 2).sum(axis=1))
    labels = np.full(len(blocks), -1, dtype=np.int64)
    totals = np.zeros(n)
    for r, s in enumerate(seeds):
        labels[s] = r
        totals[r] = blocks.households[s]
    left = len(blocks) - n
    while left:
        for r in np.argsort(totals + rng.random(n) * 1e-6).tolist():
            shared: dict[int, float] = {}
            for v in np.flatnonzero(labels == r).tolist():
                for u, c in adj[v]:
                    if labels[u] < 0:
                        shared[u] = shared.get(u, 0.0) + c + 1e-9
            if shared:
                u = max(shared, key=lambda k: (shared[k], -k))
                labels[u] = r
                totals[r] += blocks.households[u]
                left -= 1
                break
        else:  # unreachable blocks (a disconnected graph): give each to region 0
            labels[labels < 0] = 0
            break
    return labels


def _renumber(labels: np.ndarray, blocks: BlockGraph, n: int) -> np.ndarray:
    """Regions numbered west to east, north to south (rows as tall as an average region)."""
    area = np.maximum(blocks.area, 1e-9)
    weight = np.bincount(labels, weights=area, minlength=n)
    cx = np.bincount(labels, weights=blocks.x * area, minlength=n) / weight
    cy = np.bincount(labels, weights=blocks.y * area, minlength=n) / weight
    row_height = max(float(np.sqrt(blocks.area.sum() / n)), 1e-9)
    rows = np.floor((cy.max() - cy) / row_height)
    order = np.lexsort((cx, rows))
    new = np.empty(n, dtype=np.int64)
    new[order] = np.arange(n)
    return new[labels]


def _summary(blocks: BlockGraph, labels: np.ndarray, n: int, mean: float, low: float,
             high: float, tolerance: float) -> Districting:
    totals = np.bincount(labels, weights=blocks.households, minlength=n).astype(np.int64)
    reasons = []
    for i in np.flatnonzero(blocks.households > high).tolist():
        reasons.append(f"block {blocks.ids[i]} alone has {int(blocks.households[i])} "
                       f"households, more than a region may have ({high:.0f}: mean "
                       f"{mean:.0f} + {tolerance:.0%}); it cannot be split")
    outside = [r for r in range(n) if not low <= totals[r] <= high]
    if outside and not reasons:
        reasons.append(f"no partition found with every region within ±{tolerance:.0%} "
                       f"({low:.0f}..{high:.0f} households); the best one is returned")
    cut = labels[blocks.edges[:, 0]] != labels[blocks.edges[:, 1]] if len(blocks.edges) else []
    return Districting(
        labels=labels, households=totals, mean=float(mean), low=float(low), high=float(high),
        deviation=totals / mean - 1.0, within_tolerance=not outside, reasons=reasons,
        boundary_m=float(blocks.length[cut].sum()) if len(cut) else 0.0,
        along_roads_m=float(np.minimum(blocks.road, blocks.length)[cut].sum())
        if len(cut) else 0.0)
