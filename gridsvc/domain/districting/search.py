"""The search behind :func:`gridsvc.domain.districting.regions.partition`: start partitions (SKATER,
seeded growth) and the AZP local search on the districting objective. See that module's
docstring for the method and its sources.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Iterator

import numpy as np

from gridsvc.domain.districting.graph import BlockGraph

#: SKATER's cut search grows about with the square of the blocks (40 s for 500): above this
#: many blocks only seeded growth starts are used.
SKATER_MAX_BLOCKS = 200
#: ... and with the regions: each of the ``n - 1`` cuts searches the whole tree again (199
#: blocks of a demo village took 2.5 s into 5 regions, 16 s into 30, 199 s into 100 on a busy
#: machine: about ``n x blocks^2``, worse for large n). Above this ``n x blocks^2`` (about 2 s
#: there; a demo village into 3 grids stays below) only seeded-growth starts are used: they and
#: the local search take milliseconds at these sizes. A town's villages are divided one after
#: the other, so this is paid once per village.
SKATER_MAX_WORK = 150_000

Adjacency = list[list[tuple[int, float]]]


class LocalSearch:
    """The AZP local search on the districting objective: lexicographic (households outside
    ``[low, high]``, boundary cost + ``balance_weight`` x squared relative deviations)."""

    def __init__(self, adj: Adjacency, h: np.ndarray, n: int,
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
                if b is None or not connected_without(members[a], v, self.adj):
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


def connected_without(region: set[int], v: int, adj: Adjacency) -> bool:
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


def starts(blocks: BlockGraph, adj: Adjacency, n: int,
           rng: np.random.Generator, restarts: int, *, skater: bool) -> Iterator[np.ndarray]:
    """SKATER's partition (when asked, the graph is small enough for its cost, see
    :data:`SKATER_MAX_WORK`, and spopt finds one), then ``restarts`` seeded-growth partitions.
    Lazy: each start is made when the caller asks for it."""
    small = len(blocks) <= SKATER_MAX_BLOCKS and n * len(blocks) ** 2 <= SKATER_MAX_WORK
    skater = _skater(blocks, n) if skater and small else None
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


def _grow(blocks: BlockGraph, adj: Adjacency, n: int,
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
