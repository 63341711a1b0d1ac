"""Walking along roads on hand-made fixtures: near-miss junctions, detours, proposals."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gridsvc.domain.coverage import office_coverage as oc
from gridsvc.domain.coverage.road_network import RoadNetwork, road_segments

RADIUS = oc.walk_radius_m()
EAST = shapely.LineString([(0, 0), (3000, 0)])


def test_a_road_stopping_2_m_short_of_another_is_joined():
    # A side road going north from 2 m above the main road: digitised short of the junction.
    side = shapely.LineString([(400, 2), (400, 600)])
    office, house = np.array([[0.0, -10.0]]), np.array([[405.0, 500.0]])
    walk = oc.road_distances(house, office, [EAST, side])[0]
    assert walk == pytest.approx(10 + 400 + 2 + 498 + 5)
    # Without snapping the side road is an island; a tolerance under the gap does not join it.
    assert np.isinf(oc.road_distances(house, office, [EAST, side], snap_m=0))[0]
    assert np.isinf(oc.road_distances(house, office, [EAST, side], snap_m=1.5))[0]
    # Two road ends 3 m apart are joined end to end.
    north = shapely.LineString([(3003, 0), (3003, 500)])
    walk = oc.road_distances(np.array([[3003.0, 400.0]]), office, [EAST, north])[0]
    assert walk == pytest.approx(10 + 3000 + 3 + 400)


def test_snapping_splits_the_road_it_joins_and_leaves_joined_roads_alone():
    side = shapely.LineString([(400, 2), (400, 600)])
    seg = road_segments([EAST, side])
    assert [400.0, 2.0, 400.0, 0.0] in seg.tolist()  # the 2 m connector
    assert [0.0, 0.0, 400.0, 0.0] in seg.tolist() and [400.0, 0.0, 3000.0, 0.0] in seg.tolist()
    crossing = shapely.LineString([(400, -600), (400, 600)])  # noded, nothing to snap
    assert len(road_segments([EAST, crossing])) == 4
    network = RoadNetwork.build([EAST, side])
    assert network.graph.number_of_nodes() == 5 and len(network.seg) == 4


def test_a_house_across_the_river_is_covered_in_a_straight_line_only():
    # The office is on the south bank road; the house is 310 m north, on a road reached by a
    # bridge at x = 2000: a 3.8 km walk.
    bank = shapely.LineString([(2000, 0), (2000, 300), (500, 300)])
    office, house = np.array([[0.0, 0.0]]), np.array([[500.0, 310.0]])
    straight = oc.straight_distances(house, office)[0]
    walk = oc.road_distances(house, office, [EAST, bank])[0]
    assert straight <= RADIUS < walk
    assert walk == pytest.approx(2000 + 300 + 1500 + 10)


def test_proposals_along_roads_cover_what_they_claim():
    bank = shapely.LineString([(2000, 0), (2000, 300), (500, 300)])
    network = RoadNetwork.build([EAST, bank])
    house, office = np.array([[500.0, 310.0]]), np.array([[0.0, 0.0]])
    covered = network.distances(house, office) <= RADIUS
    # A straight-line proposal on the south bank claims the house; along roads it does not.
    straight = oc.propose_sites(house, np.ones(1), covered, RADIUS,
                                candidates=np.array([[500.0, 0.0]]))
    assert straight.houses_covered == 1
    assert network.distances(house, np.vstack([office, straight.sites]))[0] > RADIUS
    # Along roads, the candidates are road nodes near the house, and the site covers it.
    along = oc.propose_sites(house, np.ones(1), covered, RADIUS, network=network)
    assert along.houses_covered == 1 and len(along.sites) == 1
    assert network.distances(house, np.vstack([office, along.sites]))[0] <= RADIUS
    assert along.sites.tolist() == [[500.0, 300.0]]  # the road node nearest the house


@pytest.fixture(scope="module")
def lattice():
    """Streets every 500 m on a 3 km square (one stopping 2 m short), 400 houses beside them."""
    rng = np.random.default_rng(3)
    roads = [shapely.LineString([(0, y), (3000, y)]) for y in range(0, 3001, 500)]
    roads += [shapely.LineString([(x, 0), (x, 3000)]) for x in range(0, 3001, 500)]
    roads[-1] = shapely.LineString([(3000, 2), (3000, 3000)])
    street = rng.integers(0, len(roads), 400)
    along = rng.uniform(0, 1, 400)
    foot = np.array([shapely.get_coordinates(roads[s].interpolate(t, normalized=True))[0]
                     for s, t in zip(street, along, strict=True)])
    houses = foot + rng.uniform(-20, 20, (400, 2))
    return RoadNetwork.build(roads), houses, rng.integers(1, 6, 400).astype(float)


def test_lscp_and_mclp_along_roads_hold_when_measured_again(lattice):
    network, houses, residents = lattice
    office = np.array([[0.0, 0.0]])
    covered = network.distances(houses, office) <= RADIUS
    assert 0 < covered.sum() < len(houses)
    lscp = oc.propose_sites(houses, residents, covered, RADIUS, network=network)
    assert lscp.uncoverable_houses == [] and len(lscp.sites) >= 2
    again = network.distances(houses, np.vstack([office, lscp.sites])) <= RADIUS
    assert again.all()
    assert lscp.houses_covered == int((~covered).sum())
    mclp = oc.propose_sites(houses, residents, covered, RADIUS, k=2, network=network)
    again = network.distances(houses, np.vstack([office, mclp.sites])) <= RADIUS
    assert mclp.houses_covered == int((again & ~covered).sum())
    assert mclp.residents_covered == int(residents[again & ~covered].sum())


def test_reach_agrees_with_distances_site_by_site(lattice):
    network, houses, _ = lattice
    sites = network.candidate_sites(houses, 12)
    assert len(sites) == 12
    reach = network.reach(houses, sites, RADIUS)
    for j, site in enumerate(sites):
        assert (reach[:, j] == (network.distances(houses, site[None, :]) <= RADIUS)).all(), j
    cut = network.distances(houses, sites[:1], cutoff=RADIUS)
    full = network.distances(houses, sites[:1])
    assert np.array_equal(cut[np.isfinite(cut)], full[full <= RADIUS])


def test_no_roads_no_sites():
    network = RoadNetwork.build([])
    houses = np.array([[0.0, 0.0]])
    assert np.isinf(network.distances(houses, houses)).all()
    assert network.candidate_sites(houses, 10).shape == (0, 2)
    assert network.reach(houses, houses, RADIUS).shape == (1, 1)


def test_reachable_stretches_agree_with_walking_distances():
    # A street grid with a dead end; points sampled on the roads are inside a stretch exactly
    # when their walking distance is within the radius.
    rng = np.random.default_rng(3)
    roads = [shapely.LineString([(0, y), (400, y)]) for y in (0, 100, 200)]
    roads += [shapely.LineString([(x, 0), (x, 200)]) for x in (0, 150, 400)]
    roads.append(shapely.LineString([(150, 200), (150, 260)]))
    net = RoadNetwork.build(roads)
    office = np.array([[140.0, 95.0]])
    radius = 230.0
    stretches = shapely.linestrings(net.reachable(office, radius).reshape(-1, 2, 2))
    on_road = shapely.line_interpolate_point(
        shapely.MultiLineString(roads), rng.uniform(0, shapely.MultiLineString(roads).length, 2000))
    points = shapely.get_coordinates(on_road)
    walk = net.distances(points, office)
    near = shapely.STRtree(stretches).query(on_road, predicate="dwithin", distance=1e-6)
    inside = np.zeros(len(points), dtype=bool)
    inside[near[0]] = True
    clear = np.abs(walk - radius) > 1e-3  # points right at the edge may go either way
    assert (inside[clear] == (walk[clear] <= radius)).all()
    assert inside.any() and not inside.all()
