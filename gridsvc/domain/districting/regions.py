"""Balanced districting: N contiguous regions of blocks, households within ±tolerance of the mean.

A *block* is the unit a region is made of: a whole village when a town or station is divided
(so a village is never split), or a piece of a village (house clusters cut along roads, see
:mod:`gridsvc.domain.districting.blocks`) when a village is divided into grids. Blocks come as a
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
   above :data:`~gridsvc.domain.districting.search.SKATER_MAX_BLOCKS` blocks or
   :data:`~gridsvc.domain.districting.search.SKATER_MAX_WORK` regions x blocks² (its cut search
   grows with the square of the blocks and with the regions).
4. With a ``deadline``, no start is begun after it: the best of the starts finished so far is
   returned (at least one always is: a seeded growth, never SKATER, when the deadline has
   already passed), with ``stopped_early`` set.

The starts and the search live in :mod:`gridsvc.domain.districting.search`.

The objective is lexicographic: first the **excess**, the households outside the band
``[mean * (1 - tolerance), mean * (1 + tolerance)]`` summed over regions (0 when balanced); then
the **boundary cost**: the length of the boundaries between regions, where a stretch along a road
counts only :data:`~gridsvc.domain.districting.graph.ROAD_WEIGHT` of its length (so boundaries
follow roads and regions stay compact), plus :data:`BALANCE_WEIGHT` x sqrt(total area) x the sum
of squared relative deviations (so balanced regions still drift towards the mean, leaving slack).

When the band cannot be met, the best partition found is returned anyway, with
``within_tolerance=False`` and the reasons (a block heavier than a region may be is named): the
planner gets a draft to review and sees why it is off. Only a request that cannot be answered at
all raises :class:`~gridsvc.errors.InvalidInput` (N below 1 or above the number of blocks, no
households at all).

All randomness comes from the ``numpy.random.Generator`` passed in: the same blocks and seed give
the same regions (when no deadline stops the search). (spopt's own random heuristics seed NumPy's
global generator, so only its deterministic SKATER is used.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from gridsvc.domain.districting.graph import BlockGraph
from gridsvc.domain.districting.search import LocalSearch, starts
from gridsvc.errors import InvalidInput, Problem

#: Allowed deviation of a region's households from the mean (±10%).
TOLERANCE = 0.10
#: Weight of the squared relative deviations in the boundary cost, per metre of sqrt(area).
BALANCE_WEIGHT = 20.0
#: Seeded-growth starts besides SKATER.
RESTARTS = 8
#: When no start meets the band, up to this many times ``restarts`` more starts are tried.
EXTRA_ROUNDS = 3


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
    stopped_early
        The deadline stopped the search before every start was tried.
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
    stopped_early: bool = False

    @property
    def max_deviation(self) -> float:
        """The largest ``|deviation|`` (0.07 means 7% off the mean)."""
        return float(np.abs(self.deviation).max())


def partition(blocks: BlockGraph, n: int, *, rng: np.random.Generator,
              tolerance: float = TOLERANCE, restarts: int = RESTARTS,
              band: tuple[float, float] | None = None, deadline: float | None = None,
              clock: Callable[[], float] = time.monotonic) -> Districting:
    """Divide the blocks into ``n`` contiguous regions with balanced households.

    Parameters
    ----------
    blocks
        The blocks; their graph should be connected (link islands first, as
        :func:`gridsvc.domain.districting.blocks.block_graph` does), else a region may be in parts.
    n
        Number of regions, ``1 <= n <= len(blocks)``.
    rng
        The only source of randomness (start seeds, visiting order).
    tolerance
        Allowed relative deviation from the mean.
    restarts
        Seeded-growth starts tried besides SKATER; the best result wins.
    band
        ``(low, high)`` households each region should have, when not the mean ± tolerance (a
        village's share of a town's grids is held to the town's band).
    deadline, clock
        No new start is begun once ``clock()`` has reached ``deadline`` (None: no limit); the
        start under way finishes, so the first one always does. ``clock`` is
        :func:`time.monotonic` unless a test gives its own.

    Returns
    -------
    Districting
        The best partition found; ``within_tolerance`` says whether the band was met,
        ``stopped_early`` whether the deadline cut the search short.

    Raises
    ------
    InvalidInput
        ``n`` below 1 or above the number of blocks (field ``n``); no households in any block
        when ``n`` > 1 (field ``households``). One region is the whole area, households or not.

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
    if n == 1:  # the whole area, balanced by definition (even with no households)
        mean = float(h.sum())
        return _summary(blocks, np.zeros(nb, dtype=np.int64), 1, mean,
                        mean * (1 - tolerance), mean * (1 + tolerance), tolerance)
    if h.sum() <= 0:
        raise InvalidInput([Problem("no households in the area: there is nothing to balance",
                                    field="households")])
    mean = h.sum() / n
    low, high = band if band is not None else (mean * (1 - tolerance), mean * (1 + tolerance))
    adj = blocks.adjacency()
    search = LocalSearch(adj, h, n, low, high, mean,
                         BALANCE_WEIGHT * float(np.sqrt(max(blocks.area.sum(), 1.0))))
    best: tuple[tuple[float, float], np.ndarray] | None = None
    stopped = False
    late = deadline is not None and clock() >= deadline  # no time for SKATER's seconds
    for round_ in range(1 + EXTRA_ROUNDS):
        for start in starts(blocks, adj, n, rng, restarts, skater=round_ == 0 and not late):
            if best is not None and deadline is not None and clock() >= deadline:
                stopped = True  # this start (and any after it) is left untried
                break
            labels = search.improve(start, rng)
            score = search.score(labels)
            if best is None or score < best[0]:
                best = (score, labels)
        if stopped or (best is not None and best[0][0] == 0):
            break
    assert best is not None
    labels = _renumber(best[1], blocks, n)
    result = _summary(blocks, labels, n, mean, low, high, tolerance)
    return replace(result, stopped_early=True) if stopped else result


def apportion(households: np.ndarray, n: int) -> np.ndarray:
    """How many of ``n`` regions each area gets, at least one each, so that households per
    region are as even as whole numbers allow: the Huntington-Hill method (Huntington 1928, "The
    apportionment of representatives in Congress", Trans. AMS 30(1)), which minimises the
    relative difference in households per region between any two areas. Used to share a town's
    grids among its villages (a grid never spans two villages).

    Ties go to the area listed first. An area with no households gets its one region only.

    Raises
    ------
    InvalidInput
        ``n`` smaller than the number of areas (field ``n``).

    Examples
    --------
    >>> apportion(np.array([2491, 226, 607]), 6).tolist()
    [4, 1, 1]
    >>> apportion(np.array([100, 100, 0]), 5).tolist()
    [2, 2, 1]
    """
    h = np.asarray(households, dtype=float)
    if n < len(h):
        raise InvalidInput([Problem(
            f"must be at least {len(h)}: each of the {len(h)} areas needs a region of its own",
            field="n")])
    k = np.ones(len(h), dtype=np.int64)
    for _ in range(n - len(h)):
        k[int(np.argmax(h / np.sqrt(k * (k + 1.0))))] += 1
    return k


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
                       f"households, more than a region may have ({high:.0f}); it cannot be "
                       "split")
    outside = [r for r in range(n) if not low <= totals[r] <= high]
    if outside and not reasons:
        reasons.append(f"no partition found with every region within {low:.0f}..{high:.0f} "
                       "households; the best one is returned")
    cut = labels[blocks.edges[:, 0]] != labels[blocks.edges[:, 1]] if len(blocks.edges) else []
    return Districting(
        labels=labels, households=totals, mean=float(mean), low=float(low), high=float(high),
        deviation=totals / mean - 1.0 if mean > 0 else np.zeros(n),
        within_tolerance=not outside, reasons=reasons,
        boundary_m=float(blocks.length[cut].sum()) if len(cut) else 0.0,
        along_roads_m=float(np.minimum(blocks.road, blocks.length)[cut].sum())
        if len(cut) else 0.0)
