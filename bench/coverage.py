"""Office coverage benchmark: the demo town's 9,000 houses along the roads (target <= 5 s).

Part 1, in process from the demo files (EPSG:4549): the road graph (with and without snapping
near-miss junctions), the walk from the offices to every house, and the LSCP / MCLP proposals
along roads, each against its peer in the same run: the straight-line computation the report
makes by default, and for the walk, ``scipy.sparse.csgraph.dijkstra`` (compiled) on the same
graph, which also checks every distance.

Part 2, end to end: ``gridsvc.services.coverage.office_coverage`` on a private embedded PostGIS
with the demo town loaded (query, projection, graph, walk, per-beat sums), straight and along
roads, without and with proposals; best of ``--repeat`` runs.

    .venv/bin/python bench/coverage.py [--repeat 3] [--propose-k 5] [--skip-postgis]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from cluster import private_cluster  # noqa: E402  (bench/cluster.py; bench/ is not a package)

from gridsvc.domain.coverage import office_coverage as oc  # noqa: E402
from gridsvc.domain.coverage.road_network import RoadNetwork  # noqa: E402

DEMO = ROOT / "data" / "demo_town"
TARGET_S = 5.0


def _best(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def _xy(stem: str) -> np.ndarray:
    frame = gpd.read_file(DEMO / f"{stem}.geojson").to_crs(4549)
    return np.column_stack([frame.geometry.x, frame.geometry.y])


def _scipy_walk(net: RoadNetwork, houses: np.ndarray, offices: np.ndarray) -> np.ndarray:
    """The same walk with scipy's Dijkstra: a virtual source row joined to the offices'
    segment ends, then each house from its segment's ends (or along its offices' segment)."""
    n = len(net.nodes)
    src, dst = net.attach(offices), net.attach(houses)
    rows = [*net.ends[:, 0], *net.ends[:, 1]]
    cols = [*net.ends[:, 1], *net.ends[:, 0]]
    weights = [*net.lengths, *net.lengths]
    for s, pos, leg in zip(src.seg, src.pos, src.leg, strict=True):
        u, v = net.ends[s]
        rows += [n, n]
        cols += [u, v]
        weights += [leg + pos, leg + net.lengths[s] - pos]
    graph = coo_matrix((weights, (rows, cols)), shape=(n + 1, n + 1)).tocsr()
    node = dijkstra(graph, directed=True, indices=n)[:n]
    u, v = net.ends[dst.seg, 0], net.ends[dst.seg, 1]
    out = np.minimum(node[u] + dst.pos, node[v] + net.lengths[dst.seg] - dst.pos)
    for s, pos, leg in zip(src.seg, src.pos, src.leg, strict=True):
        same = dst.seg == s
        out[same] = np.minimum(out[same], leg + np.abs(dst.pos[same] - pos))
    return out + dst.leg


def in_process(repeat: int, k: int) -> None:
    houses, offices = _xy("houses"), _xy("offices")
    roads = list(gpd.read_file(DEMO / "roads.geojson").to_crs(4549).geometry)
    residents = gpd.read_file(DEMO / "houses.geojson")["residents"].to_numpy(dtype=float)
    radius = oc.walk_radius_m()
    print(f"demo town: {len(houses)} houses, {len(offices)} offices, {len(roads)} roads; "
          f"walk {radius:g} m; best of {repeat}")

    straight, t_straight = _best(lambda: oc.straight_distances(houses, offices), repeat)
    print(f"straight line:            {t_straight * 1000:7.1f} ms   "
          f"{(straight <= radius).sum()} houses covered")
    for snap in (0.0, 5.0):
        net, t_build = _best(lambda snap=snap: RoadNetwork.build(roads, snap), repeat)
        walk, t_walk = _best(lambda net=net: net.distances(houses, offices), repeat)
        n_parts = connected_components(coo_matrix(
            (net.lengths, (net.ends[:, 0], net.ends[:, 1])),
            shape=(len(net.nodes),) * 2), directed=False)[0]
        print(f"along roads, snap {snap:g} m:  build {t_build * 1000:6.1f} ms + walk "
              f"{t_walk * 1000:6.1f} ms   {(walk <= radius).sum()} covered, "
              f"{np.isinf(walk).sum()} unreachable; graph {len(net.nodes)} nodes, "
              f"{len(net.seg)} segments, {n_parts} piece(s)")
    peer, t_peer = _best(lambda: _scipy_walk(net, houses, offices), repeat)
    finite = np.isfinite(peer)
    agree = np.array_equal(np.isfinite(walk), finite) and np.allclose(walk[finite],
                                                                      peer[finite], atol=1e-6)
    print(f"  peer scipy dijkstra:    {t_peer * 1000:7.1f} ms   (networkx / scipy "
          f"{t_walk / t_peer:.1f}x; distances agree: {agree})")

    covered_s, covered_r = straight <= radius, walk <= radius
    for method, kk in (("LSCP", None), (f"MCLP k={k}", k)):
        prop_s, t_s = _best(lambda kk=kk: oc.propose_sites(houses, residents, covered_s, radius,
                                                           k=kk), repeat)
        prop_r, t_r = _best(lambda kk=kk: oc.propose_sites(houses, residents, covered_r, radius,
                                                           k=kk, network=net), repeat)
        again = net.distances(houses, np.vstack([offices, prop_s.sites])) <= radius
        print(f"{method:<10} straight: {t_s:5.2f} s, {len(prop_s.sites):3d} sites, claims "
              f"{prop_s.houses_covered} houses; along roads they cover "
              f"{int((again & ~covered_r).sum())}")
        again = net.distances(houses, np.vstack([offices, prop_r.sites])) <= radius
        print(f"{method:<10} roads:    {t_r:5.2f} s, {len(prop_r.sites):3d} sites, claims "
              f"{prop_r.houses_covered} houses; along roads they cover "
              f"{int((again & ~covered_r).sum())}  ({t_r / t_s:.1f}x the straight-line time)")


def end_to_end(repeat: int, k: int) -> None:
    from gridsvc.services.coverage import office_coverage
    from gridsvc.services.database import ready_engine
    from gridsvc.services.demo import load_demo
    from gridsvc.settings import Settings

    with private_cluster("gridsvc-bench-coverage-") as pg:
        engine = ready_engine(Settings(data_dir=pg.data_dir, database_url=""))
        load_demo(engine, DEMO, actor="bench")
        runs = {"straight": {}, "along roads": {"along_roads": True},
                f"straight, propose k={k}": {"propose_k": k},
                f"along roads, propose k={k}": {"along_roads": True, "propose_k": k}}
        base = None
        for name, kwargs in runs.items():
            report, t = _best(lambda kwargs=kwargs: office_coverage(engine, **kwargs), repeat)
            base = base or t
            s = report["summary"]
            verdict = ""
            if name == "along roads":
                verdict = f"  (target <= {TARGET_S:g} s: {'met' if t <= TARGET_S else 'MISSED'})"
            extra = ""
            if "proposals" in report:
                p = report["proposals"]
                extra = (f"; LSCP {p['lscp']['sites']} sites, MCLP {p['mclp']['sites']} "
                         f"sites covering {p['mclp']['houses_covered']} more houses")
            print(f"service, {name:<26} {t:6.2f} s ({t / base:4.1f}x straight)  "
                  f"{s['covered_houses']} of {s['houses']} covered{extra}{verdict}")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--propose-k", type=int, default=5)
    parser.add_argument("--skip-postgis", action="store_true")
    args = parser.parse_args()
    in_process(args.repeat, args.propose_k)
    if not args.skip_postgis:
        end_to_end(args.repeat, args.propose_k)


if __name__ == "__main__":
    main()
