"""Unit tests of gridsvc.domain.geo.synthetic: an exact tiling, deterministic, as asked."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely import MultiPolygon, Polygon, box

from gridsvc.domain.geo import synthetic
from gridsvc.domain.geo.synthetic import boundary_points, synthetic_city, synthetic_points

SIDE = 20_000.0


@pytest.fixture(scope="module")
def city():
    return synthetic_city(300, seed=4, size_m=SIDE)


def square_of(gdf) -> tuple[float, float, float, float]:
    xmin, ymin, xmax, ymax = gdf.total_bounds
    return xmin, ymin, xmax, ymax


def test_count_ids_crs_and_validity(city):
    assert len(city) == 300
    assert list(city.columns) == ["cell_id", "geometry"]
    assert city["cell_id"].tolist() == [f"C{i:05d}" for i in range(1, 301)]
    assert city.crs.to_epsg() == 4549
    geoms = city.geometry.to_numpy()
    assert (shapely.get_type_id(geoms) == 3).all()  # Polygons
    assert shapely.is_valid(geoms).all()
    assert (shapely.get_num_interior_rings(geoms) == 0).all()


def test_the_square_is_centred_on_the_origin(city):
    xmin, ymin, xmax, ymax = square_of(city)
    assert xmax - xmin == SIDE and ymax - ymin == SIDE
    to_lonlat = Transformer.from_crs(city.crs, city.crs.geodetic_crs, always_xy=True)
    lon, lat = to_lonlat.transform((xmin + xmax) / 2, (ymin + ymax) / 2)
    assert lon == pytest.approx(119.0, abs=2e-5) and lat == pytest.approx(28.2, abs=2e-5)


def test_cells_tile_the_square_exactly(city):
    geoms = city.geometry.to_numpy()
    area = SIDE * SIDE
    assert shapely.area(geoms).sum() == pytest.approx(area, rel=1e-6)  # no overlap...
    union = shapely.coverage_union_all(geoms)
    assert union.area == pytest.approx(area, rel=1e-6)  # ...and no gap
    assert shapely.equals(union, box(*square_of(city)))
    # GEOS's coverage check: shared edges match vertex for vertex, nothing overlaps.
    assert shapely.coverage_is_valid(geoms)
    assert shapely.area(shapely.union_all(geoms)) == pytest.approx(area, rel=1e-9)


def test_every_inner_vertex_is_shared(city):
    geoms = city.geometry.to_numpy()
    coords, of = shapely.get_coordinates(shapely.get_exterior_ring(geoms), return_index=True)
    first = np.r_[True, of[1:] != of[:-1]]
    coords = coords[~first]  # each ring's vertices once (the closing one stands for the first)
    xmin, ymin, xmax, ymax = square_of(city)
    on_side = np.isin(coords[:, 0], [xmin, xmax]) | np.isin(coords[:, 1], [ymin, ymax])
    _, counts = np.unique(coords[~on_side], axis=0, return_counts=True)
    assert counts.min() >= 2
    assert (counts >= 3).sum() > 300  # junctions of three cells


@pytest.mark.parametrize("vertices", [60, 24, 120])
def test_mean_vertex_count(vertices):
    city = synthetic_city(200, seed=1, size_m=SIDE, vertices=vertices)
    n = shapely.get_num_coordinates(city.geometry.to_numpy()) - 1
    assert abs(n.mean() - vertices) <= 0.15 * vertices
    assert shapely.is_valid(city.geometry.to_numpy()).all()


def test_cells_are_irregular_not_straight_voronoi(city):
    """The displacement bends edges: few vertices sit on the straight line of their neighbours."""
    ring = shapely.get_exterior_ring(city.geometry.to_numpy()[0])
    c = shapely.get_coordinates(ring)[:-1]
    a, b, d = np.roll(c, 1, axis=0), c, np.roll(c, -1, axis=0)
    cross = (b[:, 0] - a[:, 0]) * (d[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (d[:, 0] - a[:, 0])
    assert (np.abs(cross) > 1e-3).mean() > 0.5


def test_same_seed_same_city_other_seed_other_city():
    a = synthetic_city(150, seed=9, size_m=5_000.0)
    b = synthetic_city(150, seed=9, size_m=5_000.0)
    c = synthetic_city(150, seed=10, size_m=5_000.0)
    assert a["cell_id"].equals(b["cell_id"])
    assert shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(), tolerance=0).all()
    assert not shapely.equals_exact(a.geometry.to_numpy(), c.geometry.to_numpy(), 0).all()


def test_degrees_stay_valid_and_tiled(city):
    deg = city.to_crs("EPSG:4490").geometry.to_numpy()
    assert shapely.is_valid(deg).all()
    assert shapely.coverage_is_valid(deg)


def test_coordinates_are_millimetre_dyadic(city):
    c = shapely.get_coordinates(city.geometry.to_numpy())
    np.testing.assert_array_equal(c * 1024, np.round(c * 1024))


def test_one_cell_and_odd_parameters():
    one = synthetic_city(1, size_m=100.0, vertices=8)
    assert len(one) == 1 and one.geometry.iloc[0].area == pytest.approx(1e4)
    few = synthetic_city(3, size_m=100.0, vertices=3)
    assert len(few) == 3 and shapely.coverage_is_valid(few.geometry.to_numpy())
    other = synthetic_city(20, size_m=1_000.0, crs="EPSG:32650", origin=(117.0, 30.0))
    assert other.crs.to_epsg() == 32650 and shapely.is_valid(other.geometry.to_numpy()).all()


@pytest.mark.parametrize("kwargs", [
    {"n_cells": 0}, {"vertices": 2}, {"size_m": 0.0}, {"crs": "EPSG:4490"}, {"crs": "EPSG:4326"},
])
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ValueError):
        synthetic_city(**{"n_cells": 10, **kwargs})


@pytest.mark.slow
def test_ten_thousand_cells_make_a_valid_coverage():
    city = synthetic_city(10_000, seed=0)
    geoms = city.geometry.to_numpy()
    assert len(city) == 10_000 and shapely.is_valid(geoms).all()
    assert shapely.coverage_is_valid(geoms)
    assert shapely.area(geoms).sum() == pytest.approx(50_000.0**2, rel=1e-9)
    n = shapely.get_num_coordinates(geoms) - 1
    assert abs(n.mean() - 60) <= 0.15 * 60


# ----------------------------------------------------------------------------------- points
def test_synthetic_points_are_uniform_in_bounds_and_seeded():
    p = synthetic_points(10_000, (10, 20, 30, 25), seed=3)
    assert p.shape == (10_000, 2) and p.dtype == np.float64
    assert (p[:, 0] >= 10).all() and (p[:, 0] < 30).all()
    assert (p[:, 1] >= 20).all() and (p[:, 1] < 25).all()
    assert abs(p[:, 0].mean() - 20) < 0.3 and abs(p[:, 1].mean() - 22.5) < 0.1
    np.testing.assert_array_equal(p, synthetic_points(10_000, (10, 20, 30, 25), seed=3))
    assert not np.array_equal(p, synthetic_points(10_000, (10, 20, 30, 25), seed=4))
    assert synthetic_points(0, (0, 0, 1, 1), seed=0).shape == (0, 2)


def test_boundary_points_lie_exactly_on_boundaries(city):
    geoms = city.geometry.to_numpy()
    pts = boundary_points(geoms, 4_000, seed=2)
    assert pts.shape == (4_000, 2)
    on = shapely.STRtree(shapely.boundary(geoms)).query(shapely.points(pts), predicate="intersects")
    assert np.array_equal(np.unique(on[0]), np.arange(len(pts)))  # every point, exactly
    vertex_set = {tuple(c) for c in shapely.get_coordinates(geoms)}
    is_vertex = np.array([tuple(p) in vertex_set for p in pts])
    assert is_vertex[:2_000].all() and not is_vertex[2_000:].any()  # half vertices, half midpoints
    covering = np.bincount(on[0], minlength=len(pts))
    assert (covering[2_000:] == 2).sum() > 1_500  # midpoints of shared edges
    assert (covering[:2_000] >= 3).sum() > 50  # vertices where three cells meet
    np.testing.assert_array_equal(pts, boundary_points(geoms, 4_000, seed=2))


def test_boundary_points_with_holes_parts_and_slanted_edges():
    donut = Polygon(box(0, 0, 10, 10).exterior.coords, [box(3, 3, 7, 7).exterior.coords])
    multi = MultiPolygon([box(20, 0, 21, 1), box(22, 0, 23, 1)])
    slanted = Polygon([(0.1, 0.1), (0.3, 0.7), (-0.2, 0.5)])  # sums rounded: few exact mids
    pts = boundary_points([donut, multi, slanted], 200, seed=0)
    rings = shapely.boundary(np.array([donut, multi, slanted]))
    hits = shapely.STRtree(rings).query(shapely.points(pts), predicate="intersects")[0]
    assert np.array_equal(np.unique(hits), np.arange(len(pts)))
    assert {(5.0, 3.0), (5.0, 7.0), (22.5, 1.0)} <= {tuple(p) for p in pts}
    assert boundary_points([donut], 0, seed=0).shape == (0, 2)


def test_doctests():
    result = doctest.testmod(synthetic, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
