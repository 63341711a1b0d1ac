"""Balanced proposal benchmark: the districting behind ``gridsvc plans propose`` (issue 7, item 6).

Cases, from the demo town's files (no database: the SQL around it reads one village's houses and
roads, milliseconds):

- the largest demo village (V102001, 1,540 houses) into 3 grids: blocks from house clusters cut
  along roads;
- the demo town 八都镇 (T102, 17 villages) into 4 beats, and the whole station area (S01, 30
  villages) into 5 beats: villages as blocks;
- a synthetic county of 500 villages (``synthetic_city(500)``, 50 km square, 100-900
  households each) into 20 beats: how it scales.

Each is compared in the same run with PySAL spopt on the same block graph: SKATER alone
(``spopt.region.Skater``, compact but blind to households) and region k-means
(``spopt.region.RegionKMeansHeuristic``, seed 0): the largest deviation from the mean each
leaves, and the time.

Then the whole service, ``gridsvc.services.proposals.propose`` (SQL reads, districting, and with
commit the draft plan written: a copy of the demo plan's 77 cells with the parent's children
replaced, and the audit entry), on a private embedded PostGIS with the demo town loaded; this
adds the town T102 into 20 grids (shared among its 17 villages, each village then divided).

``--large-n`` runs only the service with large N, as a fuzzer sends it (dry runs, the API's
default time budget): V102001 into 100 grids took 199 s before SKATER was limited by
regions x blocks (its cut search alone), and the whole request 211 s under a fuzzer.

    .venv/bin/python bench/proposals.py [--seed N] [--repeat N] [--skip-service] [--large-n]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridsvc.domain.districting import blocks as dbk
from gridsvc.domain.districting.regions import BlockGraph, partition
from gridsvc.domain.geo.synthetic import synthetic_city

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo_town"


def _peers(graph: BlockGraph, n: int) -> dict[str, tuple[float, float]]:
    """Largest deviation and seconds of spopt's SKATER and region k-means on the same graph."""
    from libpysal.weights import W
    from spopt.region import RegionKMeansHeuristic, Skater

    neighbours: dict[int, list[int]] = {i: [] for i in range(len(graph))}
    for i, j in graph.edges.tolist():
        neighbours[i].append(j)
        neighbours[j].append(i)
    frame = pd.DataFrame({"x": graph.x, "y": graph.y})
    mean = graph.households.sum() / n
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = W(neighbours, silence_warnings=True)
        for name, make in (
                ("spopt Skater", lambda: Skater(frame, w, ["x", "y"], n_clusters=n)),
                ("spopt RegionKMeans", lambda: RegionKMeansHeuristic(
                    frame[["x", "y"]].to_numpy(), n, w, seed=0))):
            t = time.perf_counter()
            model = make()
            model.solve()
            sec = time.perf_counter() - t
            totals = np.bincount(np.asarray(model.labels_), weights=graph.households,
                                 minlength=n)
            out[name] = (float(np.abs(totals / mean - 1).max()), sec)
    return out


def _run(name: str, build, n: int, seed: int, repeat: int) -> None:
    t0 = time.perf_counter()
    blocks, graph = build()
    t_blocks = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = partition(graph, n, rng=np.random.default_rng(seed))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    geoms = dbk.region_geometries(blocks, result.labels, n)
    t_geoms = time.perf_counter() - t
    ours = min(times)
    print(f"\n{name}: {len(graph)} blocks, {len(graph.edges)} adjacencies, N={n}")
    print(f"  blocks + graph {t_blocks:.2f} s, partition {ours:.2f} s (best of {repeat}), "
          f"region geometries {t_geoms:.3f} s: {t_blocks + ours + t_geoms:.2f} s in all")
    print(f"  gridsvc: largest deviation {result.max_deviation:.1%}, within ±10%: "
          f"{result.within_tolerance}, boundaries {result.boundary_m / 1000:.1f} km "
          f"({result.along_roads_m / 1000:.1f} km along roads), valid "
          f"{all(g.is_valid for g in geoms)}")
    for peer, (dev, sec) in _peers(graph, n).items():
        print(f"  {peer}: largest deviation {dev:.1%} ({dev / max(result.max_deviation, 1e-9):.1f}"
              f"x ours), {sec:.2f} s ({sec / ours:.2f}x ours)")


def _village(vid: str):
    villages = gpd.read_file(DEMO / "villages.geojson")
    houses = gpd.read_file(DEMO / "houses.geojson")
    roads = gpd.read_file(DEMO / "roads.geojson")

    def build():
        v = villages[villages.id == vid].geometry.iloc[0]
        hs = houses[houses.geometry.within(v)]
        xy = shapely.get_coordinates(hs.geometry.values)
        lines = [shapely.intersection(r, v) for r in roads.geometry if r.intersects(v)]
        scale = dbk.metres_scale(v.centroid.y)
        blocks = dbk.house_blocks(v, xy, hs.households.to_numpy(), lines, scale=scale,
                                  parent_id=vid)
        return blocks, dbk.block_graph(blocks, lines, scale=scale)
    return build


def _area(stem: str, pid: str):
    parents = gpd.read_file(DEMO / f"{stem}.geojson")
    villages = gpd.read_file(DEMO / "villages.geojson")
    houses = gpd.read_file(DEMO / "houses.geojson")
    roads = gpd.read_file(DEMO / "roads.geojson")

    def build():
        p = parents[parents.id == pid].geometry.iloc[0]
        vs = villages[villages.intersects(p)]
        scale = dbk.metres_scale(p.centroid.y)
        blocks = dbk.area_blocks(p, vs.geometry.values, vs.id.tolist(),
                                 shapely.get_coordinates(houses.geometry.values),
                                 houses.households.to_numpy(), parent_id=pid)
        lines = [shapely.intersection(r, p) for r in roads.geometry if r.intersects(p)]
        return blocks, dbk.block_graph(blocks, lines, scale=scale)
    return build


def _county():
    def build():
        city = synthetic_city(500, seed=3)
        parent = shapely.union_all(city.geometry.values)
        rng = np.random.default_rng(11)
        hh = rng.integers(100, 900, len(city))
        xy = shapely.get_coordinates(shapely.point_on_surface(city.geometry.values))
        blocks = dbk.area_blocks(parent, city.geometry.values, city.cell_id.astype(str).tolist(),
                                 xy, hh, parent_id="county")
        return blocks, dbk.block_graph(blocks)
    return build


#: (parent kind, parent id, n, kind) of the end-to-end cases.
SERVICE_CASES = (("village", "V102001", 3, "grid"), ("town", "T102", 20, "grid"),
                 ("town", "T102", 4, "beat"), ("station", "S01", 5, "beat"))
#: Large N, as a fuzzer sends it (run dry, with the API's time budget).
LARGE_N_CASES = (("village", "V102001", 30, "grid"), ("village", "V102001", 100, "grid"),
                 ("village", "V102001", 199, "grid"), ("town", "T102", 150, "grid"),
                 ("town", "T102", 200, "grid"))


def _service(seed: int, repeat: int, large_n: bool = False) -> None:
    """propose() end to end, dry run and commit, on a private PostGIS with the demo town
    (``large_n``: only the large-N dry runs, with the API's budget)."""
    from sqlalchemy import create_engine

    from gridsvc.db import migrate
    from gridsvc.db.embedded import EmbeddedPostgres
    from gridsvc.services.demo import load_demo
    from gridsvc.services.proposals import propose
    from gridsvc.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="gridsvc-bench-proposals-"))
    data_dir.chmod(0o755)  # the server may run as 'postgres'
    pg = EmbeddedPostgres(data_dir)
    try:
        pg.start()
        engine = create_engine(pg.url())
        migrate.upgrade(engine)
        load_demo(engine, DEMO, actor="bench")
        budget = Settings().proposal_budget_seconds if large_n else None
        print(f"\nservice (propose(), PostGIS, demo town{', large N' if large_n else ''}):")
        for parent_kind, parent_id, n, kind in LARGE_N_CASES if large_n else SERVICE_CASES:
            for commit in (False,) if large_n else (False, True):
                times = []
                for _ in range(repeat if not commit else 1):
                    t = time.perf_counter()
                    out = propose(engine, parent_kind=parent_kind, parent_id=parent_id, n=n,
                                  kind=kind, seed=seed, commit=commit, actor="bench",
                                  budget_s=budget)
                    times.append(time.perf_counter() - t)
                print(f"  {parent_kind} {parent_id} into {n} {kind}s, "
                      f"{'commit (draft written)' if commit else 'dry run'}: "
                      f"{min(times):.2f} s, largest deviation {out['max_deviation']:.1%}, "
                      f"{out['blocks']} blocks"
                      + (f", budget {budget:.0f} s, stopped early: {out['stopped_early']}"
                         if large_n else ""))
        engine.dispose()
    finally:
        with contextlib.suppress(Exception):
            pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-service", action="store_true",
                        help="only the districting, no database")
    parser.add_argument("--large-n", action="store_true",
                        help="only the service with large N (dry runs, the API's budget)")
    args = parser.parse_args()
    if args.large_n:
        _service(args.seed, 1, large_n=True)
        return
    t = time.perf_counter()
    import spopt.region  # noqa: F401 - paid once per process; not part of a proposal's time
    print(f"importing spopt: {time.perf_counter() - t:.2f} s (once per process)")
    _run("village V102001 (八都社区) into grids", _village("V102001"), 3, args.seed, args.repeat)
    _run("town T102 (八都镇) into beats", _area("towns", "T102"), 4, args.seed, args.repeat)
    _run("station S01 area into beats", _area("stations", "S01"), 5, args.seed, args.repeat)
    _run("synthetic county, 500 villages, into beats", _county(), 20, args.seed, 1)
    if not args.skip_service:
        _service(args.seed, args.repeat)


if __name__ == "__main__":
    main()
