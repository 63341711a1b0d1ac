"""The fusion domain functions on hand-made boxes (metres), where every number is known."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from gridsvc.domain.reports.fusion import CROSSWALK_COLUMNS, crosswalk, findings


def cells(**geoms) -> gpd.GeoDataFrame:
    """``cells(G1=(geom, parent), ...)`` or ``cells(B1=geom, ...)`` -> a layer."""
    rows = [(k, *(v if isinstance(v, tuple) else (v, None))) for k, v in geoms.items()]
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "parent_id": [r[2] for r in rows]},
                            geometry=[r[1] for r in rows], crs="EPSG:4549")


def houses(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["x", "y", "households", "residents"])


# --- crosswalk -----------------------------------------------------------------------------

def test_crosswalk_numbers():
    grids = cells(G1=box(0, 0, 100, 100), G2=box(100, 0, 200, 100))
    beats = cells(B1=box(0, 0, 70, 100), B2=box(70, 0, 200, 100))
    # The house at x=70 is on the beats' shared edge: both overlaps cover it, so both count it.
    h = houses((10, 10, 2, 5), (80, 50, 1, 3), (70, 50, 4, 10), (150, 50, 1, 1), (500, 500, 9, 9))
    out = crosswalk(grids, beats, h)
    assert tuple(out.columns) == CROSSWALK_COLUMNS
    assert out.to_dict("records") == [
        {"grid_id": "G1", "beat_id": "B1", "overlap_m2": 7000.0, "grid_share": 0.7,
         "households": 6, "residents": 15, "shared_boundary_m": 240.0, "primary": True},
        {"grid_id": "G1", "beat_id": "B2", "overlap_m2": 3000.0, "grid_share": 0.3,
         "households": 5, "residents": 13, "shared_boundary_m": 60.0, "primary": False},
        {"grid_id": "G2", "beat_id": "B2", "overlap_m2": 10000.0, "grid_share": 1.0,
         "households": 1, "residents": 1, "shared_boundary_m": 300.0, "primary": True},
    ]


def test_crosswalk_tie_goes_to_lowest_beat_id_and_touching_pairs_are_left_out():
    grids = cells(G1=box(0, 0, 100, 100))
    beats = cells(B9=box(50, 0, 100, 100), B3=box(0, 0, 50, 100), B5=box(100, 0, 200, 100))
    out = crosswalk(grids, beats, houses())
    assert list(out["beat_id"]) == ["B3", "B9"]  # B5 only touches G1
    assert list(out["primary"]) == [True, False]
    assert list(out["households"]) == [0, 0]


def test_crosswalk_drops_numerical_noise():
    grids = cells(G1=box(0, 0, 100, 100))
    beats = cells(B1=box(0, 0, 100, 100), B2=box(100 - 1e-5, 0, 200, 100))  # 0.001 m²
    assert list(crosswalk(grids, beats, houses())["beat_id"]) == ["B1"]


# --- findings ------------------------------------------------------------------------------

@pytest.fixture
def town():
    """Grids in villages in a town, and beats with one of each problem.

    - beats B1 and B2 leave a 10 x 20 m hole (200 m²) in B1's notch: a gap;
    - B3 overlaps B2 by 10 x 100 m (1,000 m²): an overlap;
    - B4 overlaps B1 by 100 x 0.5 m (50 m²): a sliver;
    - G2 is cut by B1 (48%) and B2 (50%), G3 by B2 (95.2%) and B3 (9.5%);
    - V1 is cut by B1 and B2, V2 by B2 and B3;
    - G3 sticks out of its village V2 by 100 x 5 m, V3 out of the town by 100 x 10 m.
    """
    grids = cells(G1=(box(0, 0, 100, 100), "V1"), G2=(box(100, 0, 200, 100), "V1"),
                  G3=(box(200, 0, 300, 105), "V2"))
    villages = cells(V1=(box(0, 0, 200, 100), "T1"), V2=(box(200, 0, 300, 100), "T1"),
                     V3=(box(300, 0, 400, 110), "T1"))
    towns = cells(T1=box(0, 0, 400, 100))
    beats = cells(B1=box(0, 0, 150, 100).difference(box(140, 40, 150, 60)),
                  B2=box(150, 0, 300, 100), B3=box(290, 0, 400, 100), B4=box(0, 99.5, 100, 120))
    return grids, beats, villages, towns


def by_kind(found, kind):
    return {f.cells: f for f in found if f.kind == kind}


def test_every_kind_is_found_once(town):
    found = findings(*town, sliver_m2=100)
    assert sorted(f.kind for f in found) == sorted([
        "grid_split", "grid_split", "beat_cuts_village", "beat_cuts_village", "gap", "overlap",
        "sliver", "grid_outside_village", "village_outside_town"])


def test_grid_split(town):
    splits = by_kind(findings(*town, sliver_m2=100), "grid_split")
    assert set(splits) == {("G2", "B1", "B2"), ("G3", "B2", "B3")}
    g2 = splits[("G2", "B1", "B2")]
    assert g2.detail["shares"] == {"B1": 0.48, "B2": 0.5}
    assert [p.area for p in g2.geometry.geoms] == [4800.0, 5000.0]  # the pieces
    assert g2.area_m2 == 9800.0
    assert splits[("G3", "B2", "B3")].detail["shares"] == {"B2": round(10000 / 10500, 4),
                                                          "B3": round(1000 / 10500, 4)}


def test_beat_cuts_village(town):
    cuts = by_kind(findings(*town, sliver_m2=100), "beat_cuts_village")
    assert set(cuts) == {("V1", "B1", "B2"), ("V2", "B2", "B3")}
    assert cuts[("V1", "B1", "B2")].detail["shares"] == {"B1": 0.74, "B2": 0.25}


def test_gap_overlap_and_sliver(town):
    found = findings(*town, sliver_m2=100)
    (gap,) = by_kind(found, "gap").values()
    assert (gap.layer, gap.cells, gap.area_m2) == ("beat", ("B1", "B2"), 200.0)
    assert gap.geometry.equals(box(140, 40, 150, 60))
    (overlap,) = by_kind(found, "overlap").values()
    assert (overlap.layer, overlap.cells, overlap.area_m2) == ("beat", ("B2", "B3"), 1000.0)
    assert overlap.geometry.equals(box(290, 0, 300, 100))
    (sliver,) = by_kind(found, "sliver").values()
    assert (sliver.layer, sliver.cells, sliver.area_m2) == ("beat", ("B1", "B4"), 50.0)


def test_small_gap_is_a_sliver(town):
    found = findings(*town, sliver_m2=300)
    assert not by_kind(found, "gap")
    assert set(by_kind(found, "sliver")) == {("B1", "B2"), ("B1", "B4")}


def test_outside_parent(town):
    found = findings(*town, sliver_m2=100)
    (grid,) = by_kind(found, "grid_outside_village").values()
    assert (grid.cells, grid.area_m2) == (("G3", "V2"), 500.0)
    assert grid.geometry.equals(box(200, 100, 300, 105))
    (village,) = by_kind(found, "village_outside_town").values()
    assert (village.cells, village.area_m2) == (("V3", "T1"), 1000.0)


def test_missing_parent_is_outside_as_a_whole(town):
    grids, beats, villages, towns = town
    grids.loc[0, "parent_id"] = "V404"
    found = by_kind(findings(grids, beats, villages, towns, sliver_m2=100),
                    "grid_outside_village")
    assert found[("G1", "V404")].area_m2 == 10000.0


def test_clean_layers_have_no_findings():
    grids = cells(G1=(box(0, 0, 100, 100), "V1"), G2=(box(100, 0, 200, 100), "V1"))
    villages = cells(V1=(box(0, 0, 200, 100), "T1"))
    towns = cells(T1=box(0, 0, 200, 100))
    beats = cells(B1=box(0, 0, 200, 100))
    assert findings(grids, beats, villages, towns, sliver_m2=100) == []


# --- the police tree: beats in stations ----------------------------------------------------

def test_beats_are_checked_against_their_station():
    stations = cells(S1=box(0, 0, 100, 100), S2=box(100, 0, 200, 100))
    beats = cells(B1=(box(0, 0, 100, 100), "S1"), B2=(box(100, 0, 200, 100), "S1"))
    found = findings(cells(), beats, cells(), cells(), sliver_m2=100, stations=stations)
    (wrong,) = by_kind(found, "beat_outside_station").values()
    assert (wrong.cells, wrong.area_m2) == (("B2", "S1"), 10000.0)


def test_beats_without_parents_are_checked_against_the_station_holding_most_of_them():
    # Real police layers often come without the parent field: nesting is then checked by area.
    stations = cells(S1=box(0, 0, 100, 100), S2=box(100, 0, 200, 100))
    beats = cells(B1=box(0, 0, 100, 100), B2=box(100, 0, 170, 100), B3=box(170, 0, 200, 100))
    assert findings(cells(), beats, cells(), cells(), sliver_m2=100, stations=stations) == []
    across = cells(B1=box(0, 0, 130, 100), B2=box(130, 0, 200, 100))
    found = findings(cells(), across, cells(), cells(), sliver_m2=100, stations=stations)
    (straddle,) = by_kind(found, "beat_outside_station").values()
    assert (straddle.cells, straddle.area_m2) == (("B1", "S1"), 3000.0)
    assert "lies in no single station" in straddle.message
    # Without a station layer there is nothing to check.
    assert findings(cells(), across, cells(), cells(), sliver_m2=100) == []
