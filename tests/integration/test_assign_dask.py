"""``gridsvc assign`` on a Dask cluster gives the single-process output, row for row.

A real ``LocalCluster`` of two worker processes (no mocks); small synthetic inputs cut into
many parts, with points outside every cell and rows without coordinates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gridsvc.domain.geo.synthetic import synthetic_city
from gridsvc.errors import InvalidInput
from gridsvc.services.assign_dask import DaskRunner, dask_client, plan_parts
from gridsvc.services.assign_files import LocalRunner, assign_with_cells, assign_with_plan

N_POINTS = 5_000


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2, threads=1) as c:
        yield c


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """200 cells (metres) and points over a box 10% wider (about 17% outside), 1% without
    coordinates, in row groups of 700 rows; and the same points as a 3-file dataset."""
    d = tmp_path_factory.mktemp("dask")
    city = synthetic_city(200, seed=3, size_m=5_000)
    city[["cell_id", "geometry"]].to_parquet(d / "cells.parquet")
    rng = np.random.default_rng(5)
    xmin, ymin, xmax, ymax = city.total_bounds
    x = rng.uniform(xmin - 250, xmax + 250, N_POINTS)
    y = rng.uniform(ymin - 250, ymax + 250, N_POINTS)
    points = gpd.GeoDataFrame({"n": np.arange(N_POINTS), "label": [f"p{i}" for i in
                                                                   range(N_POINTS)]},
                              geometry=gpd.points_from_xy(x, y), crs=city.crs)
    points.loc[rng.choice(N_POINTS, 50, replace=False), "geometry"] = None
    points.to_parquet(d / "points.parquet", row_group_size=700)
    (d / "dataset").mkdir()
    for k, (lo, hi) in enumerate([(0, 1_200), (1_200, 3_900), (3_900, N_POINTS)]):
        points.iloc[lo:hi].to_parquet(d / "dataset" / f"part.{k}.parquet", row_group_size=500)
    return {"dir": d, "cells": d / "cells.parquet", "points": d / "points.parquet",
            "dataset": d / "dataset"}


def _same(a: Path, b: Path, metadata: bool = True) -> None:
    ta, tb = pq.read_table(a), pq.read_table(b)
    if metadata:  # a dataset's metadata is its first file's (pandas index, bbox): not compared
        assert ta.schema.metadata == tb.schema.metadata
    assert ta.replace_schema_metadata().equals(tb.replace_schema_metadata())


def test_file_mode_on_dask_is_the_single_process_output(client, files, tmp_path):
    d = files["dir"]
    kw = {"cells": files["cells"], "cell_id": "cell_id", "index_cache": tmp_path / "cache"}
    local = assign_with_cells(files["points"], d / "local.parquet", **kw)
    assert not local.index_cached and local.unassigned > 500 and local.without_coordinates == 50
    # From the cache now; parts of 1,000 rows: one and a half row groups each.
    dask = assign_with_cells(files["points"], d / "dask.parquet",
                             runner=DaskRunner(client, rows=1_000), **kw)
    assert dask.index_cached and dask.parts > 2
    _same(d / "local.parquet", d / "dask.parquet")
    assert (dask.rows, dask.assigned, dask.unassigned) == (local.rows, local.assigned,
                                                         local.unassigned)
    # The nearest cell and its distance are there for every outside row.
    out = pq.read_table(d / "dask.parquet")
    outside = out.filter(pa.compute.is_null(out["cell_id"]))
    assert outside["nearest_id"].null_count == 50 and outside["distance_m"].null_count == 50
    # A partitioned dataset gives the same rows as the one file; big row groups are sliced.
    assign_with_cells(files["dataset"], d / "dataset_dask.parquet",
                      runner=DaskRunner(client, rows=400), **kw)
    assign_with_cells(files["dataset"], d / "dataset_local.parquet",
                      runner=LocalRunner(rows=333), **kw)
    _same(d / "local.parquet", d / "dataset_dask.parquet", metadata=False)
    _same(d / "dataset_local.parquet", d / "dataset_dask.parquet")


def test_parts_cover_every_row_once(files):
    files_ = sorted(files["dataset"].iterdir(), key=lambda p: p.name)
    parts = plan_parts(files_, 400)
    starts = [p.first_row for p in parts]
    assert starts == sorted(starts) and starts[0] == 0
    assert sum(p.n_rows for p in parts) == N_POINTS
    assert all(b.first_row == a.first_row + a.n_rows for a, b in pairwise(parts))


def test_a_bad_row_in_a_late_part_is_named_in_the_whole_input(client, files, tmp_path):
    table = pq.read_table(files["points"])
    x = np.zeros(N_POINTS)
    x[4_321] = np.inf
    bad = table.drop_columns(["geometry"]).append_column("x", pa.array(x)).append_column(
        "y", pa.array(np.zeros(N_POINTS))).replace_schema_metadata()
    pq.write_table(bad, tmp_path / "bad.parquet", row_group_size=700)
    out = tmp_path / "out.parquet"
    with pytest.raises(InvalidInput) as caught:
        assign_with_cells(tmp_path / "bad.parquet", out, cells=files["cells"],
                          cell_id="cell_id", crs="EPSG:4549", index_cache=None,
                          runner=DaskRunner(client, rows=1_000))
    assert caught.value.problems[0].feature == "row 4322"
    assert not out.exists() and not list(tmp_path.glob(".out*"))


@pytest.mark.db
def test_plan_mode_on_dask_is_the_single_process_output(client, engine, tmp_path):
    """Demo houses' coordinates spread past the town's edge, against the plan in effect."""
    with engine.connect() as conn:
        lon, lat = np.array(conn.exec_driver_sql(
            "SELECT ST_X(geom), ST_Y(geom) FROM house ORDER BY pk LIMIT 3000").all()).T
    rng = np.random.default_rng(2)
    lon = lon + rng.normal(0, 0.01, len(lon))
    lat = lat + rng.normal(0, 0.01, len(lat))
    points = gpd.GeoDataFrame({"k": np.arange(len(lon))}, crs="EPSG:4490",
                              geometry=gpd.points_from_xy(lon, lat))
    points.to_parquet(tmp_path / "houses.parquet", row_group_size=400)
    local = assign_with_plan(engine, tmp_path / "houses.parquet", tmp_path / "local.parquet")
    dask = assign_with_plan(engine, tmp_path / "houses.parquet", tmp_path / "dask.parquet",
                            runner=DaskRunner(client, rows=500))
    assert local.unassigned > 0 and dask.parts == 4
    _same(tmp_path / "local.parquet", tmp_path / "dask.parquet")


@pytest.mark.db
def test_reassignment_and_risk_colours_on_dask_match_one_process(client, engine, tmp_path):
    """Houses exported with their cells: under the plan in effect none moves but the ten whose
    grid was altered; incidents counted per grid on the cluster equal one process's counts and
    the database's (the risk page's)."""
    from gridsvc.db import maps as maps_repo
    from gridsvc.services.assign_files import reassign
    from gridsvc.services.assignment import current_plan
    from gridsvc.services.risk_batch import risk_colours

    with engine.connect() as conn:
        houses = gpd.read_postgis("SELECT business_id, grid_id, beat_id, geom FROM house "
                                  "ORDER BY pk", conn, geom_col="geom")
        incidents = gpd.read_postgis("SELECT business_id, geom FROM incident ORDER BY pk", conn,
                                     geom_col="geom")
        plan = current_plan(engine)
        in_db = maps_repo.incident_counts(conn, plan, "grid", datetime(1900, 1, 1, tzinfo=UTC),
                                          datetime(2200, 1, 1, tzinfo=UTC), None)
    houses.loc[houses.index[:10], "grid_id"] = "nowhere"
    houses.to_parquet(tmp_path / "houses.parquet", row_group_size=1_500)
    local = reassign(engine, plan, tmp_path / "houses.parquet", tmp_path / "local.parquet")
    dask = reassign(engine, plan, tmp_path / "houses.parquet", tmp_path / "dask.parquet",
                    runner=DaskRunner(client, rows=2_000))
    assert local.moved == dask.moved == 10 and dask.parts > 2
    _same(tmp_path / "local.parquet", tmp_path / "dask.parquet")
    assert pq.read_table(tmp_path / "dask.parquet")["moved"].to_pylist()[:11] == [True] * 10 + [
        False]

    incidents.to_parquet(tmp_path / "incidents.parquet", row_group_size=300)
    one = risk_colours(engine, tmp_path / "incidents.parquet", tmp_path / "risk_local.csv",
                       red=30, orange=15)
    many = risk_colours(engine, tmp_path / "incidents.parquet", tmp_path / "risk_dask.csv",
                        red=30, orange=15, runner=DaskRunner(client, rows=500))
    assert one == many and one["incidents"] == sum(in_db.values()) > 0
    assert (tmp_path / "risk_local.csv").read_text() == (tmp_path / "risk_dask.csv").read_text()
    got = _csv_counts(tmp_path / "risk_dask.csv")
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in in_db.items() if v}


def _csv_counts(path: Path) -> dict[str, int]:
    import csv

    with path.open() as f:
        return {r["grid_id"]: int(r["incidents"]) for r in csv.DictReader(f)}
