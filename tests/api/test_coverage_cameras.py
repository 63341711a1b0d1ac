"""Camera coverage on the demo town: 300 cameras, 39 grids, 20 compounds."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import shape

from tests.conftest import ROOT

DEMO = ROOT / "data" / "demo_town"


def features(name):
    return json.loads((DEMO / f"{name}.geojson").read_text(encoding="utf-8"))["features"]


@pytest.fixture(scope="module")
def report(client, auth):
    response = client.get("/api/v1/coverage/cameras", headers=auth("viewer"))
    assert response.status_code == 200, response.text
    return response.json()


def test_summary_and_shares(report):
    summary = report["summary"]
    assert summary["cameras"] == 300
    assert report["area_crs"] == "EPSG:4549"
    assert summary["entrances"] == 38
    assert len(report["grids"]) == summary["grids"] == 39
    assert len(report["compounds"]) == 20
    for row in report["grids"] + report["compounds"]:
        assert 0 <= row["covered_share"] <= 1
        assert row["patrol_points_covered"] <= row["patrol_points"]
    assert 0 < summary["covered_share"] < 1
    assert sum(r["patrol_points"] for r in report["grids"]) >= summary["patrol_points"] == 120


def test_blind_spots_are_valid_polygons_inside_their_grid(report):
    grids = {f["properties"]["id"]: shape(f["geometry"]) for f in features("grids")}
    blind = report["blind_spots"]["features"]
    assert blind and len(blind) == report["summary"]["blind_spots"]
    blind_area = {}
    for f in blind:
        geom = shape(f["geometry"])
        assert geom.geom_type == "Polygon" and geom.is_valid
        grid_id = f["properties"]["grid_id"]
        assert grids[grid_id].buffer(1e-6).covers(geom)
        blind_area[grid_id] = blind_area.get(grid_id, 0) + f["properties"]["area_m2"]
    for row in report["grids"]:
        uncovered = row["area_m2"] - row["covered_m2"]
        assert blind_area.get(row["grid_id"], 0) == pytest.approx(uncovered, rel=0.01, abs=1)


def test_cameras_per_1000_residents_match_a_direct_count(report):
    grids = sorted(((f["properties"]["id"], shape(f["geometry"])) for f in features("grids")),
                   key=lambda g: g[0])

    def home(point):
        return next((gid for gid, geom in grids if geom.covers(point)), None)

    cameras, residents = {}, {}
    for f in features("cameras"):
        gid = home(shape(f["geometry"]))
        cameras[gid] = cameras.get(gid, 0) + 1
    for f in features("houses"):
        gid = home(shape(f["geometry"]))
        residents[gid] = residents.get(gid, 0) + f["properties"]["residents"]
    assert sum(r["cameras"] for r in report["grids"]) == 300 - cameras.get(None, 0)
    for row in report["grids"]:
        gid = row["grid_id"]
        assert row["cameras"] == cameras.get(gid, 0)
        assert row["residents"] == residents.get(gid, 0)
        if residents.get(gid):
            expected = cameras.get(gid, 0) * 1000 / residents[gid]
            assert row["cameras_per_1000"] == pytest.approx(expected, abs=1e-4)
        else:
            assert row["cameras_per_1000"] is None


def test_entrances_per_grid_and_compound_match_a_direct_check(report):
    """Each gate seen or not by a camera, decided here from heading, field of view and range
    alone (EPSG:4549), away from the sectors' edges. The demo's cameras watch the roads and none
    stands at a compound gate, so every gate is reported uncovered."""
    cams = gpd.read_file(DEMO / "cameras.geojson").to_crs(4549)
    gates = gpd.read_file(DEMO / "compound_entrances.geojson").to_crs(4549)
    uncovered = {f["properties"]["id"] for f in report["uncovered_entrances"]["features"]}
    for gid, gate in zip(gates["id"], gates.geometry, strict=True):
        dx, dy = gate.x - cams.geometry.x, gate.y - cams.geometry.y
        off = np.abs((np.degrees(np.arctan2(dx, dy)) - cams["heading_deg"] + 180) % 360 - 180)
        reach = np.hypot(dx, dy) / cams["range_m"]
        inside = (reach < 0.99) & (off < cams["fov_deg"] / 2 - 0.5)
        outside = (reach > 1.01) | (off > cams["fov_deg"] / 2 + 0.5)
        assert inside.any() or outside.all(), f"{gid} is on a sector's edge: no direct answer"
        assert (gid in uncovered) == (not inside.any()), gid
    summary = report["summary"]
    assert summary["entrances"] == len(gates) == 38
    assert summary["entrances_covered"] == 38 - len(uncovered) == 0
    counts = gates.groupby("compound_id").size()
    for row in report["compounds"]:
        assert row["entrances"] == counts[row["compound_id"]] and row["entrances_covered"] == 0
        assert row["entrance_share"] == 0
    assert sum(r["entrances"] for r in report["grids"]) == 38
    for f in report["uncovered_entrances"]["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 118 < lon < 120 and 28 < lat < 29 and f["properties"]["grid_id"]
        assert f["properties"]["kind"] in ("main", "vehicle", "side")


def test_needs_a_token(client):
    assert client.get("/api/v1/coverage/cameras").status_code == 401


def test_blind_spots_are_in_lon_lat(report):
    geom = shape(report["blind_spots"]["features"][0]["geometry"])
    x, y = geom.representative_point().coords[0]
    assert 100 < x < 130 and 20 < y < 40
