"""Camera sectors and coverage, on hand-made cells in metres."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridsvc.domain.coverage.camera_coverage import camera_coverage, sectors
from gridsvc.errors import InvalidInput


def frame(ids, geoms):
    return gpd.GeoDataFrame({"id": ids}, geometry=gpd.GeoSeries(geoms))


def cams(*rows):
    return pd.DataFrame(rows, columns=["x", "y", "heading_deg", "fov_deg", "range_m"])


NO_POINTS = pd.DataFrame({"x": [], "y": []})
NO_COMPOUNDS = frame([], [])


def test_heading_90_points_east():
    (sector,) = sectors([0.0], [0.0], [90.0], [60.0], [50.0])
    assert sector.is_valid
    assert sector.contains(shapely.Point(10, 0))
    assert not sector.contains(shapely.Point(-10, 0))
    assert not sector.contains(shapely.Point(0, 10))  # north is outside a 60-degree east view


def test_heading_0_is_north_and_clockwise():
    north, east_of_north = sectors([0.0, 0.0], [0.0, 0.0], [0.0, 45.0], [10.0, 10.0], [50, 50])
    assert north.contains(shapely.Point(0, 40))
    assert east_of_north.contains(shapely.Point(20, 20))
    assert not east_of_north.contains(shapely.Point(-20, 20))


def test_fov_360_is_a_disc():
    (disc,) = sectors([100.0], [200.0], [0.0], [360.0], [30.0])
    assert disc.is_valid
    assert disc.area == pytest.approx(math.pi * 30**2, rel=0.01)
    assert disc.contains(shapely.Point(100, 200))


def test_sector_area_and_bad_input():
    (quarter,) = sectors([0.0], [0.0], [0.0], [90.0], [10.0])
    assert quarter.area == pytest.approx(math.pi * 100 / 4, rel=0.01)
    assert len(sectors([], [], [], [], [])) == 0
    with pytest.raises(InvalidInput) as err:
        sectors([0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 90.0], [10.0, -1.0])
    assert {p.field for p in err.value.problems} == {"fov_deg", "range_m"}


def test_a_grid_half_covered():
    # Two grids side by side; a camera on their shared edge looking east sees only the east one.
    cells = frame(["G1", "G2"], [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    cameras = cams((100.0, 50.0, 90.0, 180.0, 1000.0))
    result = camera_coverage(frame(["ALL"], [shapely.box(0, 0, 200, 100)]), cameras, NO_POINTS,
                             {"ALL": 2000}, NO_COMPOUNDS)
    (row,) = result.grids.to_dict("records")
    assert row["covered_share"] == pytest.approx(0.5, abs=0.01)
    assert row["cameras"] == 1
    assert row["cameras_per_1000"] == pytest.approx(0.5)
    per_grid = camera_coverage(cells, cameras, NO_POINTS, {}, NO_COMPOUNDS).grids
    assert per_grid["covered_share"].tolist() == pytest.approx([0.0, 1.0], abs=0.01)
    # On the shared edge: the camera counts for the smallest id only.
    assert per_grid["cameras"].tolist() == [1, 0]
    assert per_grid["cameras_per_1000"].isna().all()  # no residents


def test_patrol_points_and_compounds():
    cells = frame(["G1"], [shapely.box(0, 0, 100, 100)])
    cameras = cams((0.0, 0.0, 45.0, 90.0, 50.0))  # the quarter disc in the south-west corner
    points = pd.DataFrame({"x": [10.0, 90.0, 95.0], "y": [10.0, 90.0, 5.0]})
    compounds = frame(["C1"], [shapely.box(0, 0, 20, 20)])
    result = camera_coverage(cells, cameras, points, {"G1": 100}, compounds)
    (row,) = result.grids.to_dict("records")
    assert (row["patrol_points"], row["patrol_points_covered"]) == (3, 1)
    assert row["patrol_share"] == pytest.approx(1 / 3)
    (c,) = result.compounds.to_dict("records")
    assert c["covered_share"] == pytest.approx(1.0)
    assert (c["patrol_points"], c["patrol_points_covered"]) == (1, 1)
    assert result.summary["patrol_points_covered"] == 1
    assert result.summary["cameras"] == 1


def test_blind_spot_is_cell_minus_sectors():
    cell = shapely.box(0, 0, 100, 100)
    cameras = cams((0.0, 0.0, 45.0, 90.0, 50.0), (100.0, 100.0, 225.0, 90.0, 50.0))
    result = camera_coverage(frame(["G1"], [cell]), cameras, NO_POINTS, {}, NO_COMPOUNDS)
    seen = shapely.union_all(sectors(cameras["x"], cameras["y"], cameras["heading_deg"],
                                     cameras["fov_deg"], cameras["range_m"]))
    blind = shapely.union_all(result.blind_spots.geometry.values)
    assert shapely.equals_exact(shapely.normalize(blind),
                                shapely.normalize(cell.difference(seen)), tolerance=1e-6)
    assert (result.blind_spots.geom_type == "Polygon").all()
    assert result.blind_spots["area_m2"].sum() == pytest.approx(
        1e4 - 2 * math.pi * 2500 / 4, rel=0.01)
    assert result.grids["covered_share"].iloc[0] == pytest.approx(
        np.pi * 2500 / 2 / 1e4, rel=0.01)


def test_no_cameras_everything_blind():
    cell = shapely.box(0, 0, 10, 10)
    result = camera_coverage(frame(["G1"], [cell]), cams(), NO_POINTS, {"G1": 5}, NO_COMPOUNDS)
    assert result.grids["covered_share"].iloc[0] == 0
    assert result.blind_spots.geometry.iloc[0].equals(cell)


def test_compound_entrances_one_seen_one_not():
    cells = frame(["G1", "G2"], [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    compounds = frame(["C1", "C2"], [shapely.box(20, 20, 60, 60), shapely.box(120, 20, 160, 60)])
    # Looking east from (0, 40) with a 30 m range: sees the west gate (20 m), not the east (60 m).
    cameras = cams((0.0, 40.0, 90.0, 60.0, 30.0))
    gates = pd.DataFrame({"id": ["E1", "E2", "E3", "E4"], "compound_id": ["C1", "C1", "CX", "C1"],
                          "kind": ["main", "side", "main", "vehicle"],
                          "x": [20.0, 60.0, 500.0, 40.0], "y": [40.0, 40.0, 500.0, 60.0]})
    result = camera_coverage(cells, cameras, NO_POINTS, {}, compounds, entrances=gates)
    g1, g2 = result.grids.to_dict("records")
    assert (g1["entrances"], g1["entrances_covered"]) == (3, 1)
    assert g1["entrance_share"] == pytest.approx(1 / 3)
    assert g2["entrances"] == 0 and np.isnan(g2["entrance_share"])
    c1, c2 = result.compounds.to_dict("records")
    assert (c1["entrances"], c1["entrances_covered"], c1["entrance_share"]) == (3, 1, 1 / 3)
    assert c2["entrances"] == 0 and np.isnan(c2["entrance_share"])
    rows = result.entrances.set_index("id")
    assert rows["covered"].to_dict() == {"E1": True, "E2": False, "E3": False, "E4": False}
    assert rows.loc["E3", "grid_id"] is None and rows.loc["E1", "grid_id"] == "G1"
    assert rows.loc["E2", "kind"] == "side"  # other columns are passed through
    s = result.summary
    assert (s["entrances"], s["entrances_covered"], s["entrance_share"]) == (4, 1, 0.25)


def test_no_entrances_given():
    result = camera_coverage(frame(["G1"], [shapely.box(0, 0, 10, 10)]), cams(), NO_POINTS, {},
                             NO_COMPOUNDS)
    assert result.summary["entrances"] == 0 and result.summary["entrance_share"] is None
    assert result.grids["entrances"].tolist() == [0] and result.entrances.empty
