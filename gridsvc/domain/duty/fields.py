"""Responsibility fields (责任田): how complex each village is, and a fair share among officers.

**Complexity** of village *v* (:func:`complexity`): for each measure *k* (households, floating
residents, rental houses, incidents of the period), its count divided by the mean over the
station's villages, weighted and summed:

    score(v) = sum_k  w_k * x_k(v) / mean_u x_k(u)

so an average village scores the sum of the weights (5.0 with the default weights 1, 1, 1, 2),
a measure no village has counts for nothing, and the weights (settings) say how much a measure
matters, independently of its units.

**Sharing** (:func:`share`): the station's villages are divided among its officers into
contiguous fields of about equal total complexity, by the districting of
:mod:`gridsvc.domain.districting` (SKATER and seeded growth, then the AZP local search) with the
complexity score in place of households. Equal totals mean a very complex village fills an
officer's field nearly alone while ordinary ones come three or four to a field: complex villages
go to fewer hands. Fields are contiguous where the villages touch (an island village joins its
nearest neighbour's field). The fields are then matched to the officers (Hungarian method,
:func:`scipy.optimize.linear_sum_assignment`) so that each officer keeps as much of their
present field as possible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from scipy.optimize import linear_sum_assignment

from gridsvc.domain.districting import TOLERANCE, partition
from gridsvc.domain.districting.blocks import Blocks, block_graph, metres_scale

MEASURES = ("households", "floating", "rentals", "incidents")
#: Scores are shared as whole numbers of hundredths (the districting counts integers).
SCALE = 100


def complexity(counts: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """The complexity score of each village (see the module docstring).

    >>> complexity({"households": np.array([100, 300]), "incidents": np.array([0, 0])},
    ...            {"households": 1.0, "incidents": 2.0}).tolist()
    [0.5, 1.5]
    """
    n = len(next(iter(counts.values())))
    score = np.zeros(n)
    for k, x in counts.items():
        x = np.asarray(x, dtype=float)
        mean = x.mean() if n else 0.0
        if mean > 0:
            score += weights.get(k, 0.0) * x / mean
    return score


def share(ids: Sequence[str], geoms: Sequence[Any], scores: np.ndarray, officers: Sequence[str],
          current: Mapping[str, set[str]], rng: np.random.Generator) -> dict[str, Any]:
    """Divide the villages among the officers (see the module docstring).

    Parameters
    ----------
    ids, geoms, scores
        The station's villages (lon/lat polygons) and their complexity.
    officers
        The officers' ids; with more officers than villages, the extra ones get none.
    current
        Officer id -> the villages they hold now (to keep fields where they are).
    rng
        The only source of randomness.

    Returns
    -------
    dict
        ``fields`` (officer -> villages), ``load`` (officer -> total complexity),
        ``mean``, ``max_deviation``, ``within_tolerance`` (every load within ±10% of the
        mean), ``reasons`` (why not), ``contiguous`` (officer
        -> whether the field is in one piece), ``kept`` (villages that stay with their officer).
    """
    geoms = np.asarray(geoms, dtype=object)
    n = min(len(officers), len(ids))
    if n == 0:
        return {"fields": {o: [] for o in officers}, "load": {o: 0.0 for o in officers},
                "mean": 0.0, "max_deviation": 0.0, "within_tolerance": True, "reasons": [],
                "contiguous": {o: True for o in officers}, "kept": 0}
    lat = float(np.mean(shapely.total_bounds(geoms)[[1, 3]]))
    weight = np.maximum(np.rint(np.asarray(scores) * SCALE), 0).astype(np.int64)
    blocks = Blocks(list(ids), geoms, weight, np.zeros(0, dtype=np.int64))
    graph = block_graph(blocks, scale=metres_scale(lat))
    result = partition(graph, n, rng=rng)
    # Keep fields with the officers who hold most of them now (by complexity held).
    held = np.zeros((n, len(officers)))
    for v, region in enumerate(result.labels):
        for j, o in enumerate(officers):
            if ids[v] in current.get(o, set()):
                held[region, j] += scores[v] + 1e-9
    rows, cols = linear_sum_assignment(-held)
    owner = {int(r): officers[int(c)] for r, c in zip(rows, cols, strict=True)}
    fields: dict[str, list[str]] = {o: [] for o in officers}
    for v, region in enumerate(result.labels):
        fields[owner[int(region)]].append(ids[v])
    load = {o: round(float(sum(scores[list(ids).index(v)] for v in vs)), 3)
            for o, vs in fields.items()}
    kept = sum(1 for o, vs in fields.items() for v in vs if v in current.get(o, set()))
    mean = float(np.sum(scores)) / n
    high = mean * (1 + TOLERANCE)
    # The districting speaks of households; say it in complexity.
    reasons = [f"village {ids[v]} alone has complexity {scores[v]:.1f}, more than a field "
               f"may have ({high:.1f}): it goes to one officer alone"
               for v in np.flatnonzero(np.asarray(scores) > high)]
    if not result.within_tolerance and not reasons:
        reasons = [f"the villages' sizes and shapes leave a field "
                   f"{result.max_deviation:.0%} off the mean"]
    return {"fields": fields, "load": load, "mean": round(mean, 3),
            "max_deviation": round(result.max_deviation, 4),
            "within_tolerance": result.within_tolerance, "reasons": reasons,
            "contiguous": {o: _contiguous(vs, ids, geoms) for o, vs in fields.items()},
            "kept": kept}


def _contiguous(field: Sequence[str], ids: Sequence[str], geoms: np.ndarray) -> bool:
    """Whether the villages of a field form one piece (touching along an edge or at a point)."""
    if len(field) <= 1:
        return True
    index = {v: i for i, v in enumerate(ids)}
    union = shapely.union_all(shapely.buffer(geoms[[index[v] for v in field]], 1e-7))
    return union.geom_type == "Polygon"
