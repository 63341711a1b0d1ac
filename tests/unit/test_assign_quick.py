"""The fast start of ``gridsvc assign --cells``: the hand-read options, the lazily read CRS,
the index opened without its geometries, and numpy's gather of ids.

Each shortcut is checked against the path it stands in for: Typer's reading of the same
command line, pyproj's CRS, shapely's geometries, Arrow's ``take``.
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyproj import CRS
from typer.testing import CliRunner

from gridsvc.cli.main import app
from gridsvc.cli.quick import parse
from gridsvc.domain.assign import store
from gridsvc.domain.geo.lazy_crs import LazyCRS, linear_unit
from gridsvc.domain.geo.synthetic import synthetic_city
from gridsvc.domain.io.arrow_io import take
from gridsvc.errors import InvalidInput
from gridsvc.services.assign_files import assign_with_cells
from gridsvc.services.index_cache import cells_target
from tests.conftest import ROOT, run_cli

FILE_MODE = ["assign", "in.parquet", "--cells", "c.parquet", "--cell-id", "id", "-o", "o.csv"]


# -- the hand-read command line -----------------------------------------------------------------
def test_the_plain_file_mode_call_is_read_as_typer_reads_it():
    verbose, got = parse(["-v", *FILE_MODE, "--x=lon", "--y", "lat", "--crs", "gcj02",
                          "--cells-crs", "4490", "--part-rows", "5000", "--index-cache", "ic",
                          "--no-index-cache"])
    assert verbose
    assert got == {"input_path": Path("in.parquet"), "cells": Path("c.parquet"),
                   "cell_id": "id", "output": Path("o.csv"), "x": "lon", "y": "lat",
                   "crs": "gcj02", "cells_crs": "4490", "part_rows": 5000,
                   "index_cache": Path("ic"), "no_index_cache": True}
    assert parse(["assign", "--output", "o.csv", "--cells", "c", "--cell-id", "id", "in"])[1][
        "input_path"] == Path("in")


@pytest.mark.parametrize("argv", [
    [],
    ["--help"],
    ["assign", "--help"],
    [*FILE_MODE, "--help"],
    ["layers", "list"],
    ["-v", "-v", *FILE_MODE],
    FILE_MODE[:-2],                                  # no output: Typer says what is missing
    ["assign", "in.parquet", "-o", "o.csv"],         # plan mode: the database
    [*FILE_MODE, "--workers", "2"],                  # Dask
    [*FILE_MODE, "--layers", "grid"],                # Typer's combination errors
    [*FILE_MODE, "--plan", "3"],
    [*FILE_MODE, "other.parquet"],                   # an extra argument
    [*FILE_MODE, "--cell-id", "again"],              # an option twice
    [*FILE_MODE, "--crs"],                           # a value missing
    [*FILE_MODE, "--crs", "-x"],                     # a value like an option
    [*FILE_MODE, "--crs="],
    [*FILE_MODE, "--part-rows", "999"],              # below the option's minimum
    [*FILE_MODE, "--part-rows", "many"],
    [*FILE_MODE, "-o=x.csv"],
    [*FILE_MODE, "--no-index-cache=1"],
    [*FILE_MODE, "--"],
    [*FILE_MODE, ""],
])
def test_anything_else_is_left_to_typer(argv):
    assert parse(argv) is None


def test_shell_completion_is_left_to_typer(monkeypatch):
    monkeypatch.setenv("_GRIDSVC_COMPLETE", "bash_source")
    assert parse(FILE_MODE) is None


# -- both paths, real processes ----------------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """60 cells in metres; points over a box wider than the city (some outside), one row
    without coordinates."""
    d = tmp_path_factory.mktemp("quick")
    city = synthetic_city(60, seed=4, size_m=2_000)
    city[["cell_id", "geometry"]].to_parquet(d / "cells.parquet")
    rng = np.random.default_rng(8)
    xmin, ymin, xmax, ymax = city.total_bounds
    xy = rng.uniform((xmin - 100, ymin - 100), (xmax + 100, ymax + 100), (2_000, 2))
    points = gpd.GeoDataFrame({"n": np.arange(2_000)}, crs=city.crs,
                              geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]))
    points.loc[7, "geometry"] = None
    points.to_parquet(d / "points.parquet")
    return {"dir": d, "cells": d / "cells.parquet", "points": d / "points.parquet"}


def _summary(stderr: str) -> str:
    """The summary line without its seconds and output."""
    line = next(s for s in stderr.splitlines() if " rows: " in s)
    return re.sub(r", [0-9.]+ s -> .*$", "", line)


def test_the_fast_start_writes_what_typer_writes(files, tmp_path):
    args = [str(files["points"]), "--cells", str(files["cells"]), "--cell-id", "cell_id",
            "--index-cache", str(tmp_path / "cache")]
    fast = run_cli("assign", *args, "-o", str(tmp_path / "fast.parquet"), check=True)
    typer_run = CliRunner().invoke(app, ["assign", *args, "-o", str(tmp_path / "typer.parquet")],
                                   prog_name="gridsvc")
    assert typer_run.exit_code == 0, typer_run.output
    a, b = pq.read_table(tmp_path / "fast.parquet"), pq.read_table(tmp_path / "typer.parquet")
    assert a.equals(b) and a.schema.metadata == b.schema.metadata
    assert _summary(fast.stderr) == _summary(typer_run.output)
    assert "note: 1 row without coordinates: written with empty ids" in fast.stderr
    # Again, with the index from the cache this time.
    again = run_cli("assign", *args, "-o", str(tmp_path / "again.parquet"), check=True)
    assert pq.read_table(tmp_path / "again.parquet").equals(a) and _summary(
        again.stderr) == _summary(fast.stderr)


def test_the_fast_start_fails_as_typer_does(files, tmp_path):
    bad = run_cli("assign", str(files["points"]), "--cells", str(files["cells"]),
                  "--cell-id", "nope", "-o", str(tmp_path / "bad.parquet"))
    assert bad.returncode == 2 and "field 'nope': no such field" in bad.stderr
    assert not (tmp_path / "bad.parquet").exists()
    typer_bad = CliRunner().invoke(app, ["assign", str(files["points"]), "--cells",
                                         str(files["cells"]), "--cell-id", "nope", "-o",
                                         str(tmp_path / "bad.parquet")])
    assert typer_bad.exit_code == 2 and "field 'nope': no such field" in typer_bad.output
    missing = run_cli("assign", str(files["points"]), "--cells", str(files["cells"]),
                      "-o", str(tmp_path / "bad.parquet"))  # Typer's own message
    assert missing.returncode == 2 and "--cells and --cell-id go together" in missing.stderr


def test_a_cached_run_loads_neither_typer_rich_pyproj_shapely_nor_scipy(files, tmp_path):
    out = tmp_path / "o.parquet"
    args = [str(files["points"]), "--cells", str(files["cells"]), "--cell-id", "cell_id",
            "-o", str(out), "--index-cache", str(tmp_path / "cache")]
    run_cli("assign", *args, check=True)  # builds and saves the index
    # A point inside, so the nearest-cell search is not prepared either.
    cells = gpd.read_parquet(files["cells"])
    inside = gpd.GeoDataFrame({"n": [1]}, crs=cells.crs,
                              geometry=[cells.geometry.iloc[0].representative_point()])
    inside.to_parquet(tmp_path / "one.parquet")
    code = (
        "import sys; from gridsvc.cli import quick\n"
        "quick._exit = lambda code: print(code, sorted(m for m in ('typer', 'rich', 'pyproj',"
        " 'shapely', 'scipy', 'pyarrow.compute', 'sqlalchemy', 'pydantic') if m in "
        "sys.modules))\n"
        f"quick.main(['assign', {str(tmp_path / 'one.parquet')!r}, *{args[1:]!r}])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "0 []", done.stderr


# -- the CRS as the file states it ---------------------------------------------------------------
def test_a_lazy_crs_answers_as_pyproj_does():
    for code in (4549, 4490, 3857, 4326):
        crs = CRS.from_epsg(code)
        lazy = LazyCRS(crs.to_json_dict())
        assert lazy.same_document(LazyCRS(crs.to_json_dict()))
        assert "_crs" not in dir(lazy) or lazy._crs is None  # not read yet
        assert lazy.is_geographic == crs.is_geographic
        if not crs.is_geographic:
            assert linear_unit(lazy) == crs.axis_info[0].unit_conversion_factor
        assert lazy._crs is None  # none of that needed pyproj
        assert lazy.equals(crs) and lazy == crs and lazy.to_string() == crs.to_string()
        assert pickle.loads(pickle.dumps(lazy)).same_document(lazy)
    feet = CRS.from_epsg(2263)  # NAD83 / New York Long Island (ftUS)
    assert linear_unit(LazyCRS(feet.to_json_dict())) == pytest.approx(0.3048006096)
    assert not LazyCRS(CRS.from_epsg(4549).to_json_dict()).same_document(
        LazyCRS(CRS.from_epsg(4490).to_json_dict()))


def test_points_in_another_crs_document_are_converted(files, tmp_path):
    """Points whose file states another CRS (here lon/lat) go through pyproj as before."""
    points = gpd.read_parquet(files["points"]).to_crs(4490)
    points.to_parquet(tmp_path / "lonlat.parquet")
    kw = {"cells": files["cells"], "cell_id": "cell_id", "index_cache": tmp_path / "cache"}
    assign_with_cells(files["points"], tmp_path / "a.parquet", **kw)
    assign_with_cells(tmp_path / "lonlat.parquet", tmp_path / "b.parquet", **kw)
    a, b = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    same = np.mean(np.array(a["cell_id"].to_pylist()) == np.array(b["cell_id"].to_pylist()))
    assert same > 0.99  # the round trip through degrees moves a few boundary points at most


def test_an_unreadable_crs_document_is_named(files, tmp_path):
    table = pq.read_table(files["points"])
    geo = table.schema.metadata[b"geo"].replace(b'"ProjectedCRS"', b'"NoSuchCRS"')
    pq.write_table(table.replace_schema_metadata({b"geo": geo}), tmp_path / "bad.parquet")
    message = re.escape("bad.parquet: unreadable CRS in the geo metadata")
    with pytest.raises(InvalidInput, match=message):
        assign_with_cells(tmp_path / "bad.parquet", tmp_path / "o.parquet",
                          cells=files["cells"], cell_id="cell_id",
                          index_cache=tmp_path / "cache")
    assert not (tmp_path / "o.parquet").exists()
    with pytest.raises(InvalidInput, match=message):  # --crs does not hide it
        assign_with_cells(tmp_path / "bad.parquet", tmp_path / "o.parquet", crs="EPSG:4549",
                          cells=files["cells"], cell_id="cell_id",
                          index_cache=tmp_path / "cache")


# -- the index opened from disk ------------------------------------------------------------------
def test_an_opened_index_makes_its_geometries_only_when_asked(files, tmp_path):
    built, _, _ = cells_target(files["cells"], "cell_id", ("a", "b", "c"), tmp_path)
    from gridsvc.services.index_cache import wait_saved

    wait_saved()
    folder = next(p for p in tmp_path.iterdir() if not p.name.startswith("."))
    layer, values, _ = store.load(folder)
    assert layer.index._geoms is None and isinstance(layer.crs, LazyCRS)
    assert layer.index.bounds == built.layer.index.bounds  # from index.json
    assert layer.index._geoms is None
    x = np.linspace(layer.index.bounds[0] - 50, layer.index.bounds[2] + 50, 500)
    y = np.linspace(layer.index.bounds[1] - 50, layer.index.bounds[3] + 50, 500)
    assert (layer.assign(x, y) == built.layer.assign(x, y)).all()
    near, dist = layer.nearest(x, y)
    near_b, dist_b = built.layer.nearest(x, y)
    assert (near == near_b).all() and np.array_equal(dist, dist_b, equal_nan=True)
    assert all(a.equals(b) for a, b in zip(layer.index.geoms, built.layer.index.geoms,
                                           strict=True))
    # Pickled whole (to a process that cannot see the folder): geometries included.
    copy = pickle.loads(pickle.dumps(layer.detached()))
    assert (copy.assign(x, y) == built.layer.assign(x, y)).all()
    assert values.equals(built.values)


# -- ids gathered with numpy ----------------------------------------------------------------------
@pytest.mark.parametrize("values", [
    pa.array([f"G{i:04d}" for i in range(50)], pa.large_string()),
    pa.array([f"G{i:04d}" for i in range(50)], pa.string()),
    pa.array([f"G{i:04d}" for i in range(60)]).slice(7, 50),
    pa.array(["a" * (i % 5 + 1) for i in range(50)]),      # widths differ: Arrow's take
    pa.array(["a", None] * 25),                            # nulls: Arrow's take
    pa.array(np.arange(50) * 7, pa.int64()),
    pa.array(np.arange(50) / 3, pa.float64()),
])
def test_take_is_arrows_take(values):
    rng = np.random.default_rng(1)
    for index in (rng.integers(-1, 50, 3_000), np.full(9, -1), np.arange(50),
                  np.zeros(0, dtype=np.int64)):
        got = take(values, index)
        got.validate(full=True)
        want = values.take(pa.array(np.maximum(index, 0))).to_pylist()
        assert got.type == values.type
        assert got.to_pylist() == [w if i >= 0 else None for w, i in zip(want, index,
                                                                          strict=True)]
