"""``gridsvc report staffing`` as a user runs it, on the demo town."""

from __future__ import annotations

import csv

from tests.conftest import run_cli


def test_staffing_csv_has_one_row_per_beat(pg, engine, tmp_path):
    out = tmp_path / "staffing.csv"
    done = run_cli("report", "staffing", "-o", str(out), env={"GRIDSVC_DATA_DIR": str(pg.data_dir)},
                   check=True)
    assert "shortfall" in done.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["beat_id"] for r in rows] == ["B01", "B02", "B03", "B04", "B05"]
    for r in rows:
        required = max(-(-int(r["households"]) // 1000), -(-int(r["residents"]) // 3000), 1)
        assert int(r["officers_required"]) == required
        assert int(r["shortfall"]) == max(required - int(r["officers"]), 0)


def test_unknown_suffix_exits_2(pg, engine, tmp_path):
    done = run_cli("report", "staffing", "-o", str(tmp_path / "x.txt"),
                   env={"GRIDSVC_DATA_DIR": str(pg.data_dir)})
    assert done.returncode == 2 and ".txt" in done.stderr


def test_coverage_and_cameras_reports(pg, engine, tmp_path):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    offices = tmp_path / "offices.csv"
    done = run_cli("report", "coverage", "-o", str(offices), env=env, check=True)
    assert "houses within 1125 m of an office" in done.stdout
    rows = list(csv.DictReader(offices.open(encoding="utf-8")))
    assert {r["beat_id"] for r in rows} >= {"B01", "B05"}
    blind = tmp_path / "blind.geojson"
    run_cli("report", "cameras", "-o", str(blind), env=env, check=True)
    import json

    spots = json.loads(blind.read_text(encoding="utf-8"))
    assert spots["type"] == "FeatureCollection" and spots["features"]


def test_cameras_uncovered_entrances_as_csv_and_geojson(pg, engine, tmp_path):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    out = tmp_path / "gates.csv"
    done = run_cli("report", "cameras", "-o", str(out), "--rows", "entrances", env=env,
                   check=True)
    assert "entrances seen 0 of 38" in done.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 38 and rows[0]["id"] == "EN001"
    assert {"compound_id", "kind", "grid_id", "lon", "lat"} <= set(rows[0])
    out = tmp_path / "compounds.csv"
    run_cli("report", "cameras", "-o", str(out), "--rows", "compounds", env=env, check=True)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 20 and sum(int(r["entrances"]) for r in rows) == 38
    out = tmp_path / "gates.geojson"
    run_cli("report", "cameras", "-o", str(out), "--rows", "entrances", env=env, check=True)
    import json

    gates = json.loads(out.read_text(encoding="utf-8"))
    assert len(gates["features"]) == 38
    assert gates["features"][0]["geometry"]["type"] == "Point"
    done = run_cli("report", "cameras", "-o", str(out), "--rows", "doors", env=env)
    assert done.returncode == 2
