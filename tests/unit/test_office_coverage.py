"""Office coverage on hand-made fixtures: the walk's edge, bent roads, LSCP and MCLP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from gridsvc.domain.coverage import office_coverage as oc


def test_straight_line_coverage_at_the_1125_m_edge():
    assert oc.walk_radius_m() == 1125.0 and oc.walk_radius_m(6.0) == 1500.0
    houses = pd.DataFrame({"beat_id": ["B1", "B1", "B2", None], "residents": [3, 5, 2, 1]})
    xy = np.array([[1125.0, 0.0], [1125.01, 0.0], [0.0, -1125.0], [0.0, 10.0]])
    distance = oc.straight_distances(xy, np.array([[0.0, 0.0]]))
    rows = oc.beat_coverage(houses, distance, oc.walk_radius_m()).set_index("beat_id",
                                                                            drop=False)
    assert rows.loc["B1", "covered_houses"] == 1 and rows.loc["B1", "covered_residents"] == 3
    assert rows.loc["B1", "house_share"] == 0.5 and rows.loc["B1", "resident_share"] == 0.375
    assert rows.loc["B2", "house_share"] == 1.0
    assert rows["beat_id"].iloc[-1] is None  # houses in no beat come last
    assert np.isinf(oc.straight_distances(xy, np.empty((0, 2)))).all()


def test_road_distance_is_longer_than_straight_line_on_a_bent_road():
    # A U-shaped road: office at one end, house at the other, 800 m apart in a straight line.
    road = shapely.LineString([(0, 0), (0, 600), (800, 600), (800, 0)])
    office, house = np.array([[0.0, -5.0]]), np.array([[800.0, -3.0]])
    straight = oc.straight_distances(house, office)[0]
    walk = oc.road_distances(house, office, [road])[0]
    assert walk == pytest.approx(5 + 2000 + 3)
    assert walk > straight and straight <= 1125.0 < walk
    # A second road that does not share a vertex is unreachable.
    far = shapely.MultiLineString([[(5000, 5000), (5100, 5000)]])
    assert np.isinf(oc.road_distances(np.array([[5050.0, 5001.0]]), office, [road, far]))[0]
    # An office and a house on the same segment walk straight along it.
    same = oc.road_distances(np.array([[0.0, 600.0]]), np.array([[1.0, 100.0]]), [road])[0]
    assert same == pytest.approx(1 + 500)


def test_lscp_picks_the_obvious_site():
    # Two clusters; an existing office covers the west one; candidate 1 sits in the east one.
    houses = np.array([[0.0, 0.0], [100.0, 0.0], [5000.0, 0.0], [5100.0, 0.0], [5000.0, 200.0]])
    covered = np.array([True, True, False, False, False])
    cands = np.array([[2500.0, 0.0], [5050.0, 50.0], [9000.0, 0.0]])
    got = oc.propose_sites(houses, np.ones(5), covered, 1125.0, candidates=cands)
    assert got.method == "LSCP" and got.sites.tolist() == [[5050.0, 50.0]]
    assert got.houses_covered == 3 and got.uncoverable_houses == []


def test_mclp_k1_picks_the_site_covering_most_residents():
    houses = np.array([[0.0, 0.0], [3000.0, 0.0], [3100.0, 0.0], [6000.0, 0.0]])
    residents = np.array([50.0, 10.0, 10.0, 5.0])
    cands = houses.copy()
    got = oc.propose_sites(houses, residents, np.zeros(4, bool), 1125.0, k=1, candidates=cands)
    assert got.method == "MCLP" and got.sites.tolist() == [[0.0, 0.0]]
    assert got.residents_covered == 50 and got.houses_covered == 1
