"""Fusion report benchmark: crosswalk + findings, 10,000 grids x 2,000 beats (target <= 30 s).

Grids are ``synthetic_city(10_000, seed=1)`` and beats ``synthetic_city(2_000, seed=2)``, on
the same 50 km square in EPSG:4549, so their edges never coincide (the worst case for the
crosswalk). Villages and towns are built from the beats' city at coarser counts, grids' parents
by the village covering their centroid; houses are 100,000 random points.

    .venv/bin/python bench/fusion.py [--grids N] [--beats N] [--houses N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import shapely

from gridsvc.domain.geo.synthetic import synthetic_city
from gridsvc.domain.reports.fusion import crosswalk, findings


def _layer(city, parents=None):
    frame = city.rename(columns={"cell_id": "id"})
    if parents is None:
        frame["parent_id"] = None
        return frame
    centroids = shapely.point_on_surface(frame.geometry.values)
    ic, ip = shapely.STRtree(parents.geometry.values).query(centroids, predicate="within")
    parent = np.full(len(frame), None, dtype=object)
    parent[ic] = parents["id"].to_numpy()[ip]
    frame["parent_id"] = parent
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--beats", type=int, default=2_000)
    parser.add_argument("--houses", type=int, default=100_000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    towns = _layer(synthetic_city(20, seed=4))
    villages = _layer(synthetic_city(500, seed=3), towns)
    grids = _layer(synthetic_city(args.grids, seed=1), villages)
    beats = _layer(synthetic_city(args.beats, seed=2))
    x0, y0, x1, y1 = grids.total_bounds
    rng = np.random.default_rng(5)
    houses = pd.DataFrame({"x": rng.uniform(x0, x1, args.houses),
                           "y": rng.uniform(y0, y1, args.houses),
                           "households": rng.integers(1, 4, args.houses),
                           "residents": rng.integers(1, 8, args.houses)})
    print(f"inputs built in {time.perf_counter() - t0:.1f} s: {len(grids)} grids, "
          f"{len(beats)} beats, {len(villages)} villages, {len(towns)} towns, "
          f"{len(houses)} houses")

    t1 = time.perf_counter()
    pairs = crosswalk(grids, beats, houses)
    t2 = time.perf_counter()
    found = findings(grids, beats, villages, towns, sliver_m2=500.0)
    t3 = time.perf_counter()
    kinds = pd.Series([f.kind for f in found]).value_counts().to_dict()
    print(f"crosswalk: {len(pairs)} pairs in {t2 - t1:.1f} s")
    print(f"findings:  {len(found)} {kinds} in {t3 - t2:.1f} s")
    total = t3 - t1
    print(f"total:     {total:.1f} s (target <= 30 s: {'met' if total <= 30 else 'MISSED'})")


if __name__ == "__main__":
    main()
