"""``gridsvc assign``, run as a user runs it: real processes on real files, no mocks."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import Polygon, box

from gridsvc.domain.geo.coords import wgs84_to_gcj02
from tests.conftest import CHICAGO, ROOT, run_cli

# A 4 x 3 block of 0.01-degree cells (about 1 km) in the demo town's part of China (WGS84).
X0, Y0, STEP = 118.95, 28.15, 0.01
NEW = ["cell_id", "nearest_id", "distance_m"]


def _cells() -> gpd.GeoDataFrame:
    ids, geoms = [], []
    for i in range(4):
        for j in range(3):
            ids.append(f"C{i}{j}")
            geoms.append(box(X0 + i * STEP, Y0 + j * STEP, X0 + (i + 1) * STEP,
                             Y0 + (j + 1) * STEP))
    return gpd.GeoDataFrame({"cell_id": ids, "name": [f"cell {i}" for i in ids]},
                            geometry=geoms, crs="EPSG:4326")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Cells as GeoJSON, GeoParquet, GeoPackage and zipped Shapefile; points as CSV, GeoJSON and
    GeoParquet: 300 random points over the block and a margin around it, and 2 rows without
    coordinates."""
    d = tmp_path_factory.mktemp("assign")
    cells = _cells()
    out = {"cells_geojson": d / "cells.geojson", "cells_parquet": d / "cells.parquet",
           "cells_gpkg": d / "cells.gpkg", "cells_zip": d / "cells.zip"}
    cells.to_file(out["cells_geojson"])
    cells.to_parquet(out["cells_parquet"])
    cells.to_file(out["cells_gpkg"])
    (d / "shp").mkdir()
    cells.to_file(d / "shp" / "cells.shp")
    with zipfile.ZipFile(out["cells_zip"], "w") as z:
        for part in (d / "shp").iterdir():
            z.write(part, part.name)
    rng = np.random.default_rng(7)
    n = 300
    lon = rng.uniform(X0 - 0.005, X0 + 4 * STEP + 0.005, n)
    lat = rng.uniform(Y0 - 0.005, Y0 + 3 * STEP + 0.005, n)
    table = pd.DataFrame({"name": [f"p{i:03d}" for i in range(n)], "lat": lat.round(7),
                          "lon": lon.round(7), "code": [f"{i:04d}" for i in range(n)]})
    table.loc[[10, 20], ["lat", "lon"]] = np.nan
    out["csv"] = d / "points.csv"
    table.to_csv(out["csv"], index=False)
    points = gpd.GeoDataFrame(table[["name", "code"]], crs="EPSG:4326",
                              geometry=gpd.points_from_xy(table.lon, table.lat))
    points.loc[[10, 20], "geometry"] = None
    out["geojson"] = d / "points.geojson"
    points.to_file(out["geojson"])
    out["parquet"] = d / "points.parquet"
    points.to_crs("EPSG:4490").to_parquet(out["parquet"])
    return out


def _reference(lon: np.ndarray, lat: np.ndarray) -> tuple[list, list, np.ndarray]:
    """Expected cell (shapely), nearest cell and its distance in metres (UTM 50N) per point."""
    cells = _cells()
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    inside, nearest, dist = [], [], np.full(len(lon), np.nan)
    metric_cells = cells.to_crs(32650)
    metric_pts = pts.to_crs(32650)
    for k, p in enumerate(pts):
        if np.isnan(lon[k]) or np.isnan(lat[k]):
            inside.append(None)
            nearest.append(None)
            continue
        hit = cells.cell_id[cells.covers(p)].min()
        inside.append(None if pd.isna(hit) else hit)
        if inside[-1] is None:
            d = metric_cells.distance(metric_pts.iloc[k])
            nearest.append(cells.cell_id[d.idxmin()])
            dist[k] = d.min()
        else:
            nearest.append(None)
    return inside, nearest, dist


def _none(values) -> list:
    return [None if (v is None or v == "" or (isinstance(v, float) and np.isnan(v))) else v
            for v in values]


def _check(result: pd.DataFrame, lon: np.ndarray, lat: np.ndarray) -> None:
    inside, nearest, dist = _reference(lon, lat)
    assert _none(result["cell_id"]) == inside
    assert _none(result["nearest_id"]) == nearest
    got = pd.to_numeric(result["distance_m"], errors="coerce").to_numpy(dtype=float)
    np.testing.assert_allclose(got, dist, rtol=2e-3, atol=0.5)  # nan where nan
    assert sum(v is not None for v in inside) > 150 and sum(v is not None for v in nearest) > 50


def _ok(*args: str, env: dict[str, str] | None = None):
    done = run_cli("assign", *args, env=env, check=True)
    assert "rows:" in done.stderr
    return done


# -- file mode, formats -----------------------------------------------------------------------
def test_csv_to_csv_and_geoparquet_keeps_every_column(files, tmp_path):
    out = tmp_path / "out.csv"
    done = _ok(str(files["csv"]), "--cells", str(files["cells_geojson"]), "--cell-id",
               "cell_id", "-o", str(out))
    assert "2 rows without coordinates" in done.stderr
    source = pd.read_csv(files["csv"], dtype=str, keep_default_na=False)
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(result.columns) == [*source.columns, *NEW]
    pd.testing.assert_frame_equal(result[source.columns], source)  # "0007" stays "0007"
    lon, lat = (pd.to_numeric(source[c], errors="coerce").to_numpy() for c in ("lon", "lat"))
    _check(result, lon, lat)
    assert result.loc[[10, 20], NEW].eq("").all().all()

    geo_out = tmp_path / "out.parquet"
    _ok(str(files["csv"]), "--cells", str(files["cells_gpkg"]), "--cell-id", "cell_id",
        "-o", str(geo_out))
    read = gpd.read_parquet(geo_out)
    assert read.crs.equals("EPSG:4326")
    assert list(read.columns) == [*source.columns, "geometry", *NEW]
    assert read.geometry.isna().sum() == 2
    np.testing.assert_allclose(read.geometry.x.dropna(), lon[~np.isnan(lon)])
    _check(read, lon, lat)


def test_geoparquet_to_geoparquet(files, tmp_path):
    out = tmp_path / "out.geoparquet"
    _ok(str(files["parquet"]), "--cells", str(files["cells_parquet"]), "--cell-id", "cell_id",
        "-o", str(out))
    source = gpd.read_parquet(files["parquet"])
    result = gpd.read_parquet(out)
    assert result.crs.equals("EPSG:4490")
    assert list(result.columns) == [*source.columns, *NEW]
    pd.testing.assert_frame_equal(result[["name", "code"]], source[["name", "code"]])
    assert result.geometry.equals(source.geometry)
    _check(result, source.geometry.x.to_numpy(), source.geometry.y.to_numpy())


def test_on_a_dask_cluster_the_output_is_the_same(files, tmp_path):
    """``--workers 1`` (a LocalCluster) in parts of 1,000 rows writes what one process does."""
    args = [str(files["parquet"]), "--cells", str(files["cells_parquet"]), "--cell-id",
            "cell_id"]
    _ok(*args, "-o", str(tmp_path / "one.parquet"))
    _ok(*args, "-o", str(tmp_path / "dask.parquet"), "--workers", "1", "--part-rows", "1000")
    assert pq.read_table(tmp_path / "one.parquet").equals(pq.read_table(tmp_path / "dask.parquet"))
    done = run_cli("assign", str(files["csv"]), "--cells", str(files["cells_parquet"]),
                   "--cell-id", "cell_id", "-o", str(tmp_path / "x.csv"), "--workers", "1")
    assert done.returncode == 2 and "(Geo)Parquet" in done.stderr


def test_geojson_to_csv_with_zipped_shapefile_cells(files, tmp_path):
    out = tmp_path / "out.csv"
    _ok(str(files["geojson"]), "--cells", str(files["cells_zip"]), "--cell-id", "cell_id",
        "-o", str(out))
    source = gpd.read_file(files["geojson"])
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(result.columns) == ["name", "code", "geometry", *NEW]
    assert result["code"].tolist() == source["code"].tolist()
    xy = [shapely.from_wkt(w) if w else None for w in result["geometry"]]
    lon = np.array([np.nan if p is None else p.x for p in xy])
    lat = np.array([np.nan if p is None else p.y for p in xy])
    _check(result, lon, lat)


def test_gcj02_point_lands_in_its_cell(files, tmp_path):
    # Just inside C11's south-west corner: the GCJ-02 shift (hundreds of metres north-east
    # here) moves the raw numbers into another cell, so only a real conversion finds C11.
    wgs = (X0 + STEP + 0.0005, Y0 + STEP + 0.0005)
    g_lon, g_lat = (float(v) for v in wgs84_to_gcj02(*wgs))
    cells = _cells()
    assert cells.cell_id[cells.covers(shapely.Point(g_lon, g_lat))].tolist() != ["C11"]
    src = tmp_path / "gcj.csv"
    src.write_text(f"id,lng,lat\n1,{g_lon!r},{g_lat!r}\n")
    out = tmp_path / "out.csv"
    _ok(str(src), "--crs", "gcj02", "--cells", str(files["cells_geojson"]), "--cell-id",
        "cell_id", "-o", str(out))
    assert pd.read_csv(out, dtype=str)["cell_id"].tolist() == ["C11"]


def test_gcj02_cells_with_cells_crs(files, tmp_path):
    # The cells file in GCJ-02 (as DataV GeoAtlas boundaries are), the points in WGS84: with
    # --cells-crs gcj02 every point gets the same cell as against the WGS84 cells.
    cells = _cells()
    shifted = cells.geometry.apply(lambda g: shapely.transform(
        g, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))))
    gcj = tmp_path / "cells_gcj.geojson"
    gpd.GeoDataFrame(cells[["cell_id"]], geometry=shifted, crs="EPSG:4326").to_file(gcj)
    out = tmp_path / "out.csv"
    _ok(str(files["csv"]), "--cells", str(gcj), "--cell-id", "cell_id", "--cells-crs", "gcj02",
        "-o", str(out))
    source = pd.read_csv(files["csv"], dtype=str, keep_default_na=False)
    lon, lat = (pd.to_numeric(source[c], errors="coerce").to_numpy() for c in ("lon", "lat"))
    _check(pd.read_csv(out, dtype=str, keep_default_na=False), lon, lat)
    err = _fails(tmp_path, str(files["csv"]), "--cells", str(gcj), "--cell-id", "cell_id",
                 "--cells-crs", "mars")
    assert "unknown CRS 'mars'" in err and "gcj02" in err and "bd09" in err


# -- Chicago: real data, official beats ---------------------------------------------------------
@pytest.mark.skipif(not (CHICAGO / "police_beats.geojson").exists(), reason="no Chicago data")
@pytest.mark.parametrize(("cells", "field", "official", "expected"), [
    ("police_beats.geojson", "BEAT_NUM", "Beat", 9825),
    ("police_districts.geojson", "DIST_NUM", "District", 9835),
])
def test_chicago_reproduces_the_official_cells(tmp_path, cells, field, official, expected):
    out = tmp_path / "out.csv"
    done = _ok(str(CHICAGO / "crimes_2015_10k.csv"), "--x", "Longitude", "--y", "Latitude",
               "--cells", str(CHICAGO / cells), "--cell-id", field, "-o", str(out))
    assert "162 rows without coordinates" in done.stderr
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    has = result["Latitude"] != ""
    assert has.sum() == 9837 and len(result) == 9999
    assert (result.loc[has, "cell_id"] != "").all()  # no row with coordinates unassigned
    assert (result.loc[~has, NEW] == "").all().all()
    if official == "District":
        same = result.loc[has, "cell_id"].astype(int) == result.loc[has, official].astype(int)
    else:
        same = result.loc[has, "cell_id"] == result.loc[has, official]
    assert same.sum() == expected


# -- bad input: exit 2, the row and column named, nothing written -------------------------------
def _fails(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    out = tmp_path / "bad-out.csv"
    done = run_cli("assign", *args, "-o", str(out), env=env)
    assert done.returncode == 2, done.stderr
    assert not out.exists()
    return done.stderr


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "in.csv"
    path.write_text(text)
    return str(path)


def test_bad_points_exit_2_naming_row_and_column(files, tmp_path):
    cells = ["--cells", str(files["cells_geojson"]), "--cell-id", "cell_id"]
    err = _fails(tmp_path, str(files["csv"]), "--x", "LONG", *cells)
    assert "'LONG'" in err and "the columns are: name, lat, lon, code" in err
    err = _fails(tmp_path, _csv(tmp_path, "lon,lat\n119,28.2\n119,28.2\nabc,28.2\n"), *cells)
    assert "row 3, field 'lon': 'abc' is not a number" in err
    assert "counted from 1 at the first data row" in err
    err = _fails(tmp_path, _csv(tmp_path, "lon,lat\n119,28.2\n119,95\n"), *cells)
    assert "row 2, field 'lat': latitude 95 is out of range" in err
    err = _fails(tmp_path, str(files["csv"]), "--crs", "EPSG:999999", *cells)
    assert "unknown CRS 'EPSG:999999'" in err


def test_swapped_lat_lon_is_named(files, tmp_path):
    table = pd.read_csv(files["csv"]).rename(columns={"lat": "lon", "lon": "lat"})
    path = tmp_path / "swapped.csv"
    table.to_csv(path, index=False)
    err = _fails(tmp_path, str(path), "--cells", str(files["cells_parquet"]), "--cell-id",
                 "cell_id")
    assert "lat/lon look swapped" in err and "give --x lat --y lon" in err


def test_bad_cells_and_output_exit_2(files, tmp_path):
    bowtie = Polygon([(X0, Y0), (X0 + STEP, Y0 + STEP), (X0 + STEP, Y0), (X0, Y0 + STEP)])
    bad = gpd.GeoDataFrame({"cell_id": ["A", "B"]}, crs="EPSG:4326",
                           geometry=[box(X0, Y0, X0 + STEP, Y0 + STEP), bowtie])
    bad.to_file(tmp_path / "bad.geojson")
    err = _fails(tmp_path, str(files["csv"]), "--cells", str(tmp_path / "bad.geojson"),
                 "--cell-id", "cell_id")
    assert "feature 1 (id 'B'), field 'geometry': invalid polygon: Self-intersection" in err
    err = _fails(tmp_path, str(files["csv"]), "--cells", str(files["cells_geojson"]),
                 "--cell-id", "nope")
    assert "field 'nope': no such field" in err and "cell_id, name" in err
    txt = tmp_path / "out.txt"
    done = run_cli("assign", str(files["csv"]), "--cells", str(files["cells_geojson"]),
                   "--cell-id", "cell_id", "-o", str(txt))
    assert done.returncode == 2 and "must end in .csv, .parquet or .geoparquet" in done.stderr
    assert not txt.exists()


# -- plan mode: the plan in effect, in the suite's database -------------------------------------
@pytest.fixture(scope="module")
def houses_csv(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The first 500 demo houses' coordinates (EPSG:4490, as lon/lat columns)."""
    data = json.loads((ROOT / "data" / "demo_town" / "houses.geojson").read_text())
    rows = [{"house": f["properties"]["id"], "lon": f["geometry"]["coordinates"][0],
             "lat": f["geometry"]["coordinates"][1]} for f in data["features"][:500]]
    path = tmp_path_factory.mktemp("plan") / "houses.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["house", "lon", "lat"])
        writer.writeheader()
        writer.writerows(rows)
    return path, pd.DataFrame(rows)


@pytest.mark.db
def test_plan_mode_matches_plan_layers(pg, engine, houses_csv, tmp_path):
    from gridsvc.services.assignment import current_plan, plan_layers

    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    path, houses = houses_csv
    out = tmp_path / "out.csv"
    _ok(str(path), "--crs", "4490", "-o", str(out), env=env)
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    layers = plan_layers(engine, current_plan(engine))
    expected = layers.assign(houses.lon.to_numpy(), houses.lat.to_numpy())
    kinds = [k for k in ("town", "village", "grid", "station", "beat") if k in layers.layers]
    assert list(result.columns) == ["house", "lon", "lat", *[
        f"{k}_{c}" for k in kinds for c in ("id", "nearest_id", "distance_m")]]
    for kind in kinds:
        assert _none(result[f"{kind}_id"]) == list(expected[kind])
    assert (result["grid_id"] != "").all()

    two = tmp_path / "two.parquet"
    _ok(str(path), "--crs", "4490", "--layers", "grid,beat", "-o", str(two), env=env)
    read = pq.read_table(two)
    assert read.column_names == ["house", "lon", "lat", "geometry", "grid_id",
                                 "grid_nearest_id", "grid_distance_m", "beat_id",
                                 "beat_nearest_id", "beat_distance_m"]
    assert read.column("grid_id").to_pylist() == result["grid_id"].tolist()


@pytest.mark.db
def test_plan_mode_swapped_demo_town(pg, engine, houses_csv, tmp_path):
    _, houses = houses_csv
    swapped = houses.rename(columns={"lon": "lat", "lat": "lon"})
    src = tmp_path / "swapped.csv"
    swapped.to_csv(src, index=False)
    err = _fails(tmp_path, str(src), env={"GRIDSVC_DATA_DIR": str(pg.data_dir)})
    assert "lat/lon look swapped" in err
