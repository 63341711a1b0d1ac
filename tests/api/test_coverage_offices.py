"""Office coverage on the demo town: shares agree with a direct computation, roads only lengthen
walks, and the proposals come back as points."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest

from tests.conftest import ROOT, run_cli

DEMO = ROOT / "data" / "demo_town"


@pytest.fixture(scope="module")
def straight(client, auth):
    response = client.get("/api/v1/coverage/offices", headers=auth("viewer"))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def roads(client, auth):
    response = client.get("/api/v1/coverage/offices?along_roads=true", headers=auth("viewer"))
    assert response.status_code == 200, response.text
    return response.json()


def test_straight_line_share_matches_a_direct_computation(straight):
    houses = gpd.read_file(DEMO / "houses.geojson").set_crs(4490, allow_override=True)
    offices = gpd.read_file(DEMO / "offices.geojson").set_crs(4490, allow_override=True)
    h, o = houses.to_crs(4549).geometry, offices.to_crs(4549).geometry
    nearest = np.min([h.distance(p).to_numpy() for p in o], axis=0)
    s = straight["summary"]
    assert s["houses"] == len(houses) and s["offices"] == len(offices)
    assert 0 < s["house_share"] < 1
    assert s["covered_houses"] == int((nearest <= 1125.0).sum())
    assert s["house_share"] == pytest.approx((nearest <= 1125.0).mean(), abs=1e-6)
    assert len(straight["uncovered_house_ids"]) == s["houses"] - s["covered_houses"]
    beats = straight["beats"]
    assert sum(b["houses"] for b in beats) == s["houses"]
    assert sum(b["covered_residents"] for b in beats) == s["covered_residents"]
    assert all(b["house_share"] is None or 0 <= b["house_share"] <= 1 for b in beats)


def test_along_roads_covers_no_more(straight, roads):
    assert roads["along_roads"] and roads["radius_m"] == 1125.0
    assert roads["summary"]["house_share"] <= straight["summary"]["house_share"]
    assert set(straight["uncovered_house_ids"]) <= set(roads["uncovered_house_ids"])


def test_propose_one_site(client, auth):
    response = client.get("/api/v1/coverage/offices?propose_k=1", headers=auth("viewer"))
    assert response.status_code == 200, response.text
    proposals = response.json()["proposals"]
    mclp = proposals["mclp"]
    assert mclp["sites"] == len(mclp["features"]["features"]) == 1
    lon, lat = mclp["features"]["features"][0]["geometry"]["coordinates"]
    assert 70 < lon < 140 and 10 < lat < 60  # EPSG:4490 degrees
    assert proposals["lscp"]["sites"] >= 1 and mclp["houses_covered"] > 0


def test_proposals_along_roads_cover_what_they_claim(client, auth, roads):
    """Sites are road nodes; measured again along the roads (offices + sites), the houses they
    cover are the houses they claim."""
    from gridsvc.domain.coverage.road_network import RoadNetwork

    response = client.get("/api/v1/coverage/offices?along_roads=true&propose_k=2",
                          headers=auth("viewer"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["snap_m"] == 5.0
    assert report["summary"]["covered_houses"] == roads["summary"]["covered_houses"]

    def metres(name_or_features):
        frame = (gpd.read_file(DEMO / f"{name_or_features}.geojson")
                 if isinstance(name_or_features, str)
                 else gpd.GeoDataFrame.from_features(name_or_features, crs=4490))
        frame = frame.set_crs(4490, allow_override=True).to_crs(4549)
        return frame

    houses, offices, road_lines = metres("houses"), metres("offices"), metres("roads")
    network = RoadNetwork.build(list(road_lines.geometry))
    hxy = np.column_stack([houses.geometry.x, houses.geometry.y])
    oxy = np.column_stack([offices.geometry.x, offices.geometry.y])
    before = network.distances(hxy, oxy) <= 1125.0
    assert int(before.sum()) == report["summary"]["covered_houses"]
    for method, k in (("mclp", 2), ("lscp", None)):
        proposal = report["proposals"][method]
        sites = metres(proposal["features"]["features"])
        if k:
            assert proposal["sites"] == k
        sxy = np.column_stack([sites.geometry.x, sites.geometry.y])
        # On the road (nodes are rounded to 0.1 m, and EPSG:4490 to about 1 cm).
        assert sites.distance(road_lines.union_all()).max() < 0.1
        after = network.distances(hxy, np.vstack([oxy, sxy])) <= 1125.0
        gained = int((after & ~before).sum())
        assert gained == proposal["houses_covered"], method
        assert proposal["houses_covered"] > 0


def test_needs_a_token_and_sane_parameters(client, auth):
    assert client.get("/api/v1/coverage/offices").status_code == 401
    for bad in ("speed_kmh=0", "propose_k=-1", "propose_k=51", "snap_m=-1", "snap_m=51"):
        response = client.get(f"/api/v1/coverage/offices?{bad}", headers=auth("viewer"))
        assert response.status_code == 422, bad


def test_cli_writes_beat_rows_and_the_whole_report(engine, pg, tmp_path, straight):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    out = tmp_path / "coverage.csv"
    run_cli("report", "coverage", "-o", str(out), env=env, check=True)
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert {"beat_id", "houses", "covered_houses", "house_share", "resident_share"} <= set(header)
    out = tmp_path / "coverage.json"
    run_cli("report", "coverage", "-o", str(out), "--along-roads", "--snap-m", "0", env=env,
            check=True)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["along_roads"] and report["snap_m"] == 0
    assert report["summary"]["houses"] == straight["summary"]["houses"]
