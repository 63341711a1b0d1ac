"""Assignment end to end against plain geopandas, and on Dask with 1 and 2 workers (issue 16).

Data: the 10,000-cell synthetic city (``synthetic_city(10_000, seed=1)``, EPSG:4549) as
GeoParquet, and 1,000,000 uniform points as GeoParquet (one row group, as geopandas writes it):
all inside the city, or over a box 4.3% wider each way so that 8% (79,598) lie outside.

Part 1, end to end (a process each, start-up included), runs interleaved:

- ``gridsvc assign POINTS --cells CELLS --cell-id cell_id -o OUT``, cold (empty index cache:
  the cells are read, checked, indexed and the index saved) and cached (the index opened from
  the cache);
- the plain geopandas script: ``read_parquet`` both, ``sjoin(predicate="within", how="left")``,
  ``to_parquet``; with points outside, ``sjoin_nearest`` (``distance_col``) on the unmatched.

Part 2, in memory (no I/O, no start-up): gridsvc's ``Layer.assign`` + ``Layer.nearest`` of the
outside points against ``geopandas.sjoin`` + ``sjoin_nearest`` of the unmatched points.

Part 3, Hilbert order: the same points sorted along a Hilbert curve with dask-geopandas
(``spatial_shuffle(by="hilbert")``), assigned in this process against file order: neighbouring
points hit neighbouring buckets, so the index's arrays stay in cache.

Part 4, Dask: ``gridsvc assign`` through a ``DaskRunner`` on a ``LocalCluster`` of 1 worker (2
threads) and of 2 workers (1 thread each), against the single-process path in the same run,
outputs compared row for row; the input as row groups of 250,000 rows, 1M and 4M points (a
4-file dataset). Where time goes comes from the cluster's task stream (compute on workers) and
the client's clock. A projection for 100M points on N machines is printed from the measured
rates, with its assumptions.

Run::

    .venv/bin/python bench/assign_dask.py                  # about 6 minutes
    .venv/bin/python bench/assign_dask.py --repeat 3 --skip-dask
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GRIDSVC = str(Path(sys.executable).parent / "gridsvc")

GPD_INSIDE = """
import sys
import geopandas as gpd
points = gpd.read_parquet(sys.argv[1])
cells = gpd.read_parquet(sys.argv[2])[["cell_id", "geometry"]]
out = gpd.sjoin(points, cells, predicate="within", how="left").drop(columns="index_right")
out.to_parquet(sys.argv[3])
"""
GPD_OUTSIDE = """
import sys
import geopandas as gpd
points = gpd.read_parquet(sys.argv[1])
cells = gpd.read_parquet(sys.argv[2])[["cell_id", "geometry"]]
out = gpd.sjoin(points, cells, predicate="within", how="left").drop(columns="index_right")
out = out[~out.index.duplicated()]
missing = out["cell_id"].isna()
near = gpd.sjoin_nearest(out.loc[missing, ["geometry"]],
                         cells.rename(columns={"cell_id": "nearest_id"}), distance_col="distance_m")
near = near[~near.index.duplicated()]
out["nearest_id"] = near["nearest_id"]
out["distance_m"] = near["distance_m"]
out.to_parquet(sys.argv[3])
"""


def make_data(folder: Path, n_points: int) -> dict[str, Path]:
    import geopandas as gpd
    import pyarrow.parquet as pq

    from gridsvc.domain.geo.synthetic import synthetic_city, synthetic_points

    city = synthetic_city(10_000, seed=1)
    files = {"cells": folder / "cells.parquet", "inside": folder / "inside.parquet",
             "outside": folder / "outside.parquet"}
    city[["cell_id", "geometry"]].to_parquet(files["cells"])
    xmin, ymin, xmax, ymax = city.total_bounds
    k = (1 / 0.92) ** 0.5  # a box whose area is the city's / 0.92: 8% outside
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    w, h = (xmax - xmin) * k / 2, (ymax - ymin) * k / 2
    for name, box, seed in (("inside", city.total_bounds, 2),
                            ("outside", (cx - w, cy - h, cx + w, cy + h), 3)):
        xy = synthetic_points(n_points, box, seed=seed)
        gpd.GeoDataFrame({"id": np.arange(n_points)}, crs=city.crs,
                         geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1])).to_parquet(files[name])
    # For Dask: row groups of 250,000, and a 4-file dataset of 4M points.
    table = pq.read_table(files["outside"])
    files["outside_rg"] = folder / "outside_rg.parquet"
    pq.write_table(table, files["outside_rg"], row_group_size=250_000)
    files["dataset"] = folder / "dataset"
    files["dataset"].mkdir()
    for i in range(4):
        pq.write_table(table, files["dataset"] / f"part.{i}.parquet", row_group_size=250_000)
    return files


def run(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def end_to_end(files: dict[str, Path], folder: Path, repeat: int) -> dict[str, dict[str, list]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cache = folder / "index-cache"
    scripts = {"inside": folder / "gpd_inside.py", "outside": folder / "gpd_outside.py"}
    scripts["inside"].write_text(GPD_INSIDE)
    scripts["outside"].write_text(GPD_OUTSIDE)
    out: dict[str, dict[str, list]] = {}
    for case in ("inside", "outside"):
        times: dict[str, list] = {"gridsvc cold": [], "gridsvc cached": [], "geopandas": []}
        ours = [GRIDSVC, "assign", str(files[case]), "--cells", str(files["cells"]),
                "--cell-id", "cell_id", "-o", str(folder / f"ours_{case}.parquet"),
                "--index-cache", str(cache)]
        for _ in range(repeat):
            shutil.rmtree(cache, ignore_errors=True)
            times["gridsvc cold"].append(run(ours, env))
            times["gridsvc cached"].append(run(ours, env))
            times["geopandas"].append(run([sys.executable, str(scripts[case]), str(files[case]),
                                           str(files["cells"]),
                                           str(folder / f"gpd_{case}.parquet")], env))
        out[case] = times
        _check_same(folder / f"ours_{case}.parquet", folder / f"gpd_{case}.parquet")
    return out


def _check_same(ours: Path, theirs: Path) -> None:
    """gridsvc's cell ids (and nearest ids, distances) equal geopandas' on every row."""
    import pyarrow.parquet as pq

    a, b = pq.read_table(ours), pq.read_table(theirs)
    same = a["cell_id"].to_pylist() == b["cell_id"].to_pylist()
    if "nearest_id" in b.column_names:
        same &= a["nearest_id"].to_pylist() == b["nearest_id"].to_pylist()
        da = np.array(a["distance_m"].to_pylist(), dtype=float)
        db = np.array(b["distance_m"].to_pylist(), dtype=float)
        same &= bool(np.allclose(da, db, equal_nan=True, rtol=0, atol=1e-6))
    print(f"  {ours.name}: {'same answers as geopandas on every row' if same else 'DIFFERS'}")


def in_memory(files: dict[str, Path], repeat: int) -> dict[str, float]:
    import geopandas as gpd

    from gridsvc.domain.assign.layers import Layer
    from gridsvc.domain.io.points_io import read_points

    cells = gpd.read_parquet(files["cells"])
    layer = Layer.build("cells", cells["cell_id"].to_numpy(), cells.geometry.to_numpy(),
                        cells.crs)
    pts = read_points(files["outside"])
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts.x, pts.y), crs=cells.crs)
    layer.nearest(pts.x[:10], pts.y[:10])  # the outline's tree, once per layer
    best = {"gridsvc assign": [], "gridsvc nearest": [], "geopandas sjoin": [],
            "geopandas sjoin_nearest": []}
    for _ in range(repeat):
        t = time.perf_counter()
        idx = layer.assign(pts.x, pts.y)
        best["gridsvc assign"].append(time.perf_counter() - t)
        out = np.flatnonzero(idx < 0)
        t = time.perf_counter()
        layer.nearest(pts.x[out], pts.y[out])
        best["gridsvc nearest"].append(time.perf_counter() - t)
        t = time.perf_counter()
        joined = gpd.sjoin(points, cells, predicate="within", how="left")
        best["geopandas sjoin"].append(time.perf_counter() - t)
        missing = points.loc[joined.index[joined["cell_id"].isna()].unique()]
        t = time.perf_counter()
        gpd.sjoin_nearest(missing, cells, distance_col="d")
        best["geopandas sjoin_nearest"].append(time.perf_counter() - t)
    return {k: min(v) for k, v in best.items()} | {"outside": len(out)}


def dask_runs(files: dict[str, Path], folder: Path, repeat: int) -> list[dict]:
    import pyarrow.parquet as pq
    from distributed import get_task_stream

    from gridsvc.services.assign_dask import DaskRunner, dask_client
    from gridsvc.services.assign_files import LocalRunner, assign_with_cells

    cache = folder / "index-cache"
    kw = {"cells": files["cells"], "cell_id": "cell_id", "index_cache": cache}
    assign_with_cells(files["outside_rg"], folder / "warm.parquet", **kw)  # the cache, once
    rows: list[dict] = []
    for workers, threads in ((1, 2), (2, 1)):
        t = time.perf_counter()
        with dask_client(workers, threads=threads) as client:
            up = time.perf_counter() - t
            for name in ("outside_rg", "dataset"):
                source = files[name]
                runner = DaskRunner(client, rows=250_000)
                first = assign_with_cells(source, folder / "dask.parquet", runner=runner, **kw)
                for _ in range(repeat):
                    local = assign_with_cells(source, folder / "local.parquet",
                                              runner=LocalRunner(), **kw)
                    with get_task_stream(client) as ts:
                        dask = assign_with_cells(source, folder / "dask.parquet",
                                                 runner=DaskRunner(client, rows=250_000), **kw)
                    compute = sum(s["stop"] - s["start"] for task in ts.data
                                  for s in task["startstops"] if s["action"] == "compute")
                    same = pq.read_table(folder / "local.parquet").equals(
                        pq.read_table(folder / "dask.parquet"))
                    rows.append({"workers": workers, "threads": threads, "input": name,
                                 "rows": dask.rows, "parts": dask.parts, "cluster_up": up,
                                 "first": first.seconds, "local": local.seconds,
                                 "dask": dask.seconds, "compute": compute, "same": same,
                                 "timings": dask.timings})
    return rows


def hilbert(files: dict[str, Path], folder: Path, repeat: int) -> dict[str, float]:
    """The 8%-outside points in file order and sorted along a Hilbert curve (dask-geopandas'
    ``spatial_shuffle``, 4 partitions): assignment in this process, best of the runs."""
    import dask_geopandas

    from gridsvc.services.assign_files import assign_with_cells

    t = time.perf_counter()
    shuffled = dask_geopandas.read_parquet(files["outside_rg"]).spatial_shuffle(
        by="hilbert", npartitions=4)
    shuffled.to_parquet(folder / "hilbert")
    sort_s = time.perf_counter() - t
    kw = {"cells": files["cells"], "cell_id": "cell_id", "index_cache": folder / "index-cache"}
    best = {"file order": [], "hilbert order": []}
    for _ in range(repeat):
        for name, source in (("file order", files["outside_rg"]),
                             ("hilbert order", folder / "hilbert")):
            done = assign_with_cells(source, folder / "h.parquet", **kw)
            best[name].append(done.timings["assign and write"])
    return {k: min(v) for k, v in best.items()} | {"sort": sort_s}


def report(e2e: dict, mem: dict, dask: list[dict], hil: dict | None = None) -> None:
    med = statistics.median
    if e2e:
        print("\nEnd to end, 1,000,000 points x 10,000 cells (process start included), "
              "median of the interleaved runs")
        for case, times in e2e.items():
            g = med(times["geopandas"])
            for name in ("gridsvc cold", "gridsvc cached"):
                print(f"  {case:8s} {name:15s} {med(times[name]):6.2f} s  geopandas {g:6.2f} s"
                      f"  ratio {g / med(times[name]):5.2f}x  (runs: "
                      f"{', '.join(f'{v:.2f}' for v in times[name])}; geopandas "
                      f"{', '.join(f'{v:.2f}' for v in times['geopandas'])})")
    if mem:
        ours = mem["gridsvc assign"] + mem["gridsvc nearest"]
        theirs = mem["geopandas sjoin"] + mem["geopandas sjoin_nearest"]
        print(f"\nIn memory, {mem['outside']:,} of 1,000,000 points outside (best of runs): "
              f"gridsvc assign {mem['gridsvc assign']:.3f} s + nearest "
              f"{mem['gridsvc nearest']:.3f} s = {ours:.3f} s; geopandas sjoin "
              f"{mem['geopandas sjoin']:.3f} s + sjoin_nearest "
              f"{mem['geopandas sjoin_nearest']:.3f} s = {theirs:.3f} s: {theirs / ours:.1f}x")
    if hil:
        print(f"\nHilbert order (dask-geopandas spatial_shuffle, {hil['sort']:.1f} s once): "
              f"assign and write {hil['hilbert order']:.3f} s against {hil['file order']:.3f} s "
              f"in file order ({hil['file order'] / hil['hilbert order']:.2f}x)")
    if dask:
        print("\nDask (1M: one file of 4 row groups; 4M: 4 files), medians of the runs")
        keys = sorted({(r["workers"], r["threads"], r["input"]) for r in dask})
        for key in keys:
            runs = [r for r in dask if (r["workers"], r["threads"], r["input"]) == key]
            local, dk, comp = (med([r[k] for r in runs]) for k in ("local", "dask", "compute"))
            n = runs[0]["rows"]
            print(f"  {key[0]} worker(s) x {key[1]} thread(s), {n / 1e6:.1f}M points, "
                  f"{runs[0]['parts']} parts: single process {local:.2f} s "
                  f"({n / local / 1e6:.2f} M pts/s), Dask {dk:.2f} s ({n / dk / 1e6:.2f} M pts/s,"
                  f" {dk / local:.2f}x the single process), worker compute {comp:.2f} s, "
                  f"cluster start {runs[0]['cluster_up']:.1f} s, first run {runs[0]['first']:.2f}"
                  f" s; identical output: {all(r['same'] for r in runs)}")
        two = [r for r in dask if r["workers"] == 2 and r["input"] == "dataset"]
        if two:
            r_compute = two[0]["rows"] / med([r["compute"] for r in two])  # per core-second
            r_client = two[0]["rows"] / med([r["dask"] for r in two])
            print(f"\nProjection, 100M points: worker compute {r_compute / 1e6:.2f} M pts per "
                  f"core-second measured; the client writes one file at <= "
                  f"{r_client / 1e6:.2f} M pts/s here (an upper bound on its rate).")
            for n in (1, 4, 16, 64):
                cores = 8 * n
                compute = 100e6 / (r_compute * cores)
                print(f"  {n:2d} machines x 8 cores: compute {compute:6.1f} s; one output file "
                      f"written by the client >= {100e6 / r_client:5.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-hilbert", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    folder = Path(tempfile.mkdtemp(prefix="gridsvc-bench-dask-"))
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        files = make_data(folder, args.points)
        e2e = {} if args.skip_e2e else end_to_end(files, folder, args.repeat)
        mem = {} if args.skip_memory else in_memory(files, args.repeat)
        hil = None if args.skip_hilbert else hilbert(files, folder, max(args.repeat // 2, 2))
        dask = [] if args.skip_dask else dask_runs(files, folder, max(args.repeat // 2, 2))
        report(e2e, mem, dask, hil)
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
