"""The fusion report on the demo town: exactly the generator's deliberate mismatches."""

from __future__ import annotations

import csv
import json

import pytest
import shapely
from shapely.geometry import shape

from tests.conftest import ROOT, run_cli

EXPECTED = json.loads((ROOT / "data" / "demo_town" / "expected_findings.json").read_text())


@pytest.fixture(scope="module")
def report(client, auth):
    response = client.get("/api/v1/fusion/report", headers=auth("viewer"))
    assert response.status_code == 200, response.text
    return response.json()


def of_kind(report, kind):
    return [f for f in report["findings"]["features"] if f["properties"]["kind"] == kind]


@pytest.mark.parametrize(("kind", "key"), [("gap", "beat_gaps"), ("overlap", "beat_overlaps")])
def test_the_beat_gap_and_overlap_exactly(report, kind, key):
    found = of_kind(report, kind)
    expected = EXPECTED[key]
    assert len(found) == len(expected) == 1  # and nothing else of this kind, in any layer
    (f,), (e,) = found, expected
    assert f["properties"]["layer"] == "beat"
    assert f["properties"]["cells"] == e["beat_ids"]
    assert f["properties"]["area_m2"] == pytest.approx(e["area_m2"], rel=0.01)
    # The geometry is in EPSG:4490 and holds the generator's point.
    assert shapely.covers(shape(f["geometry"]), shapely.Point(e["lon"], e["lat"]))


def test_the_straddling_grids_exactly(report):
    found = {f["properties"]["cells"][0]: f["properties"] for f in of_kind(report, "grid_split")}
    expected = {g["grid_id"]: g for g in EXPECTED["straddling_grids"]}
    assert set(found) == set(expected)
    for grid_id, e in expected.items():
        assert found[grid_id]["cells"][1:] == e["beat_ids"]
        assert found[grid_id]["shares"] == pytest.approx(e["shares"], abs=0.002)


def test_crosswalk_rows_and_summary(report):
    rows = report["crosswalk"]
    assert report["area_crs"] == "EPSG:4549"
    assert report["summary"]["pairs"] == len(rows)
    assert report["summary"]["findings"]["grid_split"] == len(EXPECTED["straddling_grids"])
    primaries = [r["grid_id"] for r in rows if r["primary"]]
    assert len(primaries) == len(set(primaries)) == report["summary"]["grids"] == 39
    split = {(r["grid_id"], r["beat_id"]): r for r in rows}
    assert split[("G102001002", "B01")]["grid_share"] == pytest.approx(0.671, abs=0.001)
    assert split[("G102001002", "B01")]["primary"]
    # Every house is in some overlap (a house on a beat edge counts in both pieces).
    assert sum(r["households"] for r in rows) >= EXPECTED["totals"]["households"]


def test_needs_a_token_and_a_sane_sliver(client, auth):
    assert client.get("/api/v1/fusion/report").status_code == 401
    bad = client.get("/api/v1/fusion/report?sliver_m2=-1", headers=auth("viewer"))
    assert bad.status_code == 422


def test_cli_writes_the_crosswalk_csv(engine, pg, tmp_path):
    out = tmp_path / "fusion.csv"
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    run_cli("report", "fusion", "-o", str(out), env=env, check=True)
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {"grid_id", "beat_id", "overlap_m2", "grid_share", "households", "residents",
            "primary"} <= set(rows[0])
    straddlers = {r["grid_id"] for r in rows if r["primary"] == "False"}
    assert straddlers == {g["grid_id"] for g in EXPECTED["straddling_grids"]}


def test_cli_geojson_and_bad_suffix(engine, pg, tmp_path):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    out = tmp_path / "findings.geojson"
    run_cli("report", "fusion", "-o", str(out), env=env, check=True)
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection" and collection["features"]
    bad = run_cli("report", "fusion", "-o", str(tmp_path / "x.txt"), env=env)
    assert bad.returncode == 2 and "unknown suffix" in bad.stderr


def test_a_drafts_fusion_report(demo_copy, client, auth):
    from gridsvc.services import fusion, plans

    draft = plans.create_draft(demo_copy, name="copy", actor="test")["id"]
    of_draft = fusion.fusion_report(demo_copy, plan_id=draft)
    in_effect = fusion.fusion_report(demo_copy)
    assert of_draft["plan_id"] == draft and of_draft["summary"] == in_effect["summary"]
    assert client.get("/api/v1/fusion/report?plan_id=999999",
                      headers=auth()).status_code == 404
