"""CellIndex against GEOS: the fast path must give exactly what ``covered_by`` + lowest id gives.

The reference is GEOS: ``STRtree(ix.geoms).query(points, predicate="covered_by")``, then per
point the lowest tree index (``ix.geoms`` are sorted by id, so lowest index = lowest id), -1
for none. Every test compares the whole answer, point by point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely import MultiPolygon, Polygon, box

from gridsvc.domain.assign.index import MIXED, CellIndex
from gridsvc.domain.assign.layers import Layer
from gridsvc.domain.geo.synthetic import boundary_points, synthetic_city, synthetic_points

BIG = np.iinfo(np.int64).max
GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid


# ------------------------------------------------------------------------------------ helpers
def geos_assign(geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The reference: lowest index of the cells GEOS says cover each point, -1 for none."""
    pts = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    src, idx = shapely.STRtree(geoms).query(pts, predicate="covered_by")
    best = np.full(len(pts), BIG, dtype=np.int64)
    np.minimum.at(best, src, idx)
    best[best == BIG] = -1
    return best


def cover_count(geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How many cells cover each point, by GEOS."""
    src, _ = shapely.STRtree(geoms).query(shapely.points(x, y), predicate="covered_by")
    return np.bincount(src, minlength=len(x))


def assert_matches_geos(ix: CellIndex, x: np.ndarray, y: np.ndarray, *,
                        one: int = 2_000) -> np.ndarray:
    """Assert ``ix.assign`` equals the GEOS reference for every point, and ``ix.assign_one``
    for ``one`` of them spread evenly (all when fewer); return the answer."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    got = ix.assign(x, y)
    want = geos_assign(ix.geoms, x, y)
    bad = np.flatnonzero(got != want)
    assert len(bad) == 0, (
        f"{len(bad)} of {len(x)} points differ from GEOS, e.g. "
        + "; ".join(f"({x[i]!r}, {y[i]!r}): got {got[i]}, GEOS {want[i]}" for i in bad[:5]))
    some = np.unique(np.linspace(0, len(x) - 1, min(one, len(x))).astype(np.int64))
    single = np.array([ix.assign_one(float(x[i]), float(y[i])) for i in some], dtype=np.int64)
    bad = some[single != want[some]]
    assert len(bad) == 0, (
        f"assign_one differs from GEOS at {len(bad)} points, e.g. "
        + "; ".join(f"({x[i]!r}, {y[i]!r}): GEOS {want[i]}" for i in bad[:5]))
    return got


def ulp_neighbours(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each point and its 8 neighbours one ulp away in x and/or y."""
    x, y = pts[:, 0], pts[:, 1]
    xs = [np.nextafter(x, -np.inf), x, np.nextafter(x, np.inf)]
    ys = [np.nextafter(y, -np.inf), y, np.nextafter(y, np.inf)]
    return (np.concatenate([a for a in xs for _ in ys]),
            np.concatenate([b for _ in xs for b in ys]))


def distinct_vertices(geoms: np.ndarray) -> np.ndarray:
    rings = shapely.get_rings(shapely.get_parts(geoms))
    return np.unique(shapely.get_coordinates(rings), axis=0)


def build(cells: dict[str, shapely.Geometry], **kw: float) -> CellIndex:
    return CellIndex.build(list(cells), list(cells.values()), **kw)


def ids_of(ix: CellIndex, idx: np.ndarray) -> list[str | None]:
    return [None if i < 0 else str(ix.ids[i]) for i in idx]


@pytest.fixture(scope="module")
def city_m():
    return synthetic_city(200, seed=7, size_m=20_000.0)


@pytest.fixture(scope="module")
def city_deg(city_m):
    return city_m.to_crs("EPSG:4490")


@pytest.fixture(params=["metres", "degrees"])
def city(request, city_m, city_deg):
    return city_m if request.param == "metres" else city_deg


def index_of(gdf) -> CellIndex:
    return CellIndex.build(gdf["cell_id"].to_numpy(), gdf.geometry.to_numpy())


# ------------------------------------------------------------------------------ random tilings
@pytest.mark.parametrize("seed", [0, 1])
def test_random_points_on_a_tiling_match_geos(city, seed):
    ix = index_of(city)
    xmin, ymin, xmax, ymax = city.total_bounds
    dx, dy = (xmax - xmin) * 0.1, (ymax - ymin) * 0.1
    pts = synthetic_points(200_000, (xmin - dx, ymin - dy, xmax + dx, ymax + dy), seed=seed)
    got = assert_matches_geos(ix, pts[:, 0], pts[:, 1])
    assert (got == -1).any() and (got >= 0).mean() > 0.6  # both outside and inside were tested


@pytest.mark.parametrize("size_of_cell", [1 / 64, 1 / 4, 1.0])
def test_bucket_sizes_do_not_change_the_answer(city_m, size_of_cell):
    side = float(np.sqrt(city_m.area.mean()))
    ix = CellIndex.build(city_m["cell_id"].to_numpy(), city_m.geometry.to_numpy(),
                         size=side * size_of_cell)
    pts = synthetic_points(50_000, city_m.total_bounds, seed=3)
    assert_matches_geos(ix, pts[:, 0], pts[:, 1])


@pytest.mark.parametrize("orientation", ["standard", "reversed", "hole like shell"])
def test_ring_orientation_does_not_change_the_answer(orientation):
    shell, hole = box(0, 0, 10, 10).exterior.coords, box(3, 3, 7, 7).exterior.coords  # both ccw
    donut = {"standard": Polygon(shell, [hole[::-1]]), "reversed": Polygon(shell[::-1], [hole]),
             "hole like shell": Polygon(shell, [hole])}[orientation]
    assert donut.is_valid
    flip = shapely.reverse if orientation == "reversed" else (lambda g: g)
    cells = {"a": donut, "b": flip(box(3, 3, 5, 7)), "c": flip(box(10, 0, 12, 10))}
    lattice = np.mgrid[-1:13:0.125, -1:11:0.125].reshape(2, -1)
    for size in (None, 0.5, 1.0, 0.3):
        ix = build(cells, size=size) if size else build(cells)
        assert_matches_geos(ix, *lattice)
        got = ix.assign(np.array([6.0, 4, 11, 4, 10, 3]), np.array([5.0, 5, 5, 3, 5, 5]))
        assert ids_of(ix, got) == [None, "b", "c", "a", "a", "a"]


def test_the_answer_does_not_depend_on_input_order_or_winding(city_m):
    ix = index_of(city_m)
    perm = np.random.default_rng(0).permutation(len(city_m))
    geoms = city_m.geometry.to_numpy()[perm]
    geoms[::2] = shapely.reverse(geoms[::2])  # and half the rings wound the other way
    shuffled = CellIndex.build(city_m["cell_id"].to_numpy()[perm], geoms)
    assert list(shuffled.ids) == sorted(city_m["cell_id"])
    pts = np.concatenate([synthetic_points(20_000, city_m.total_bounds, seed=4),
                          boundary_points(city_m.geometry, 5_000, seed=4)])
    a, b = ix.assign(pts[:, 0], pts[:, 1]), shuffled.assign(pts[:, 0], pts[:, 1])
    np.testing.assert_array_equal(ix.ids[a], shuffled.ids[b])


# ------------------------------------------------------------------- vertices and shared edges
def test_every_vertex_and_exact_edge_midpoint_matches_geos(city):
    ix = index_of(city)
    geoms = city.geometry.to_numpy()
    pts = np.concatenate([distinct_vertices(geoms), boundary_points(geoms, 20_000, seed=1)])
    got = assert_matches_geos(ix, pts[:, 0], pts[:, 1])
    n = cover_count(ix.geoms, pts[:, 0], pts[:, 1])
    assert (n >= 1).all(), "every boundary point is covered"
    assert (n == 2).sum() > 1000 and (n >= 3).sum() > 100  # shared edges and 3-cell junctions
    # On a shared edge or vertex the lowest id wins, which is the lowest covering index.
    src, idx = shapely.STRtree(ix.geoms).query(shapely.points(pts), predicate="covered_by")
    lowest = np.full(len(pts), BIG)
    np.minimum.at(lowest, src, idx)
    np.testing.assert_array_equal(got, lowest)


def test_points_one_ulp_from_vertices_and_edges_match_geos(city):
    ix = index_of(city)
    geoms = city.geometry.to_numpy()
    pts = np.concatenate([distinct_vertices(geoms)[::3], boundary_points(geoms, 3_000, seed=2)])
    x, y = ulp_neighbours(pts)
    assert_matches_geos(ix, x, y)


# ---------------------------------------------------------------------------- holes and parts
def ring_with_hole() -> Polygon:
    return Polygon(box(0, 0, 10, 10).exterior.coords, [box(3, 3, 7, 7).exterior.coords])


HOLE_PTS = np.array([
    [5, 5],  # in the hole
    [3, 5], [7, 5], [5, 3], [5, 7],  # on the hole's ring, mid-edge
    [3, 3], [7, 7], [3, 7], [7, 3],  # the hole's corners
    [1, 1], [0, 5], [10, 10],  # in the shell, on it, at its corner
    [4, 4], [6.5, 3.5],  # in the hole
    [11, 5], [-1e-12, 5],  # outside
], dtype=float)


def test_a_point_in_an_empty_hole_is_unassigned():
    ix = build({"donut": ring_with_hole()})
    got = assert_matches_geos(ix, HOLE_PTS[:, 0], HOLE_PTS[:, 1])
    assert ids_of(ix, got) == [None, *["donut"] * 11, None, None, None, None]


@pytest.mark.parametrize(("inner", "outer"), [("a", "b"), ("b", "a")])
def test_a_cell_nested_in_a_hole_gets_the_hole_and_ties_go_to_the_lowest_id(inner, outer):
    ix = build({outer: ring_with_hole(), inner: box(3, 3, 7, 7)})
    got = assert_matches_geos(ix, HOLE_PTS[:, 0], HOLE_PTS[:, 1])
    ring = min(inner, outer)  # the hole's ring is covered by both cells
    assert ids_of(ix, got) == [inner, *[ring] * 8, outer, outer, outer, inner, inner, None, None]


def test_multipolygon_parts_and_holes():
    # Three parts, one with a hole, and a fourth part inside that hole.
    parts = MultiPolygon([box(20, 0, 21, 1), box(25, 5, 26, 6),
                          shapely.affinity.translate(ring_with_hole(), 30, 0), box(34, 4, 36, 6)])
    assert parts.is_valid
    ix = build({"m": parts, "z": box(0, 0, 1, 1), "k": box(21, 0, 22, 1)})
    pts = np.array([[20.5, 0.5], [25.5, 5.5], [31, 1], [33.5, 5], [23, 3], [21, 0.5],
                    [21.5, 0.5], [0.5, 0.5], [40, 10], [33, 5], [35, 5], [34, 4]])
    got = assert_matches_geos(ix, pts[:, 0], pts[:, 1])
    assert ids_of(ix, got) == ["m", "m", "m", None, None, "k", "k", "z", "m", "m", "m", "m"]
    x, y = ulp_neighbours(distinct_vertices(ix.geoms))
    assert_matches_geos(ix, x, y)
    lattice = np.mgrid[-1:42:0.25, -1:12:0.25].reshape(2, -1)
    assert_matches_geos(ix, *lattice)


# --------------------------------------------------------------------- overlaps, gaps, corners
def test_overlapping_cells_go_to_the_lowest_id():
    ix = build({"b": box(0, 0, 2, 2), "a": box(1, 0, 3, 2)})
    pts = np.array([[0.5, 1], [1.5, 1], [1, 1], [2, 1], [2.5, 1], [1, 0], [3, 2], [3.5, 1]])
    got = assert_matches_geos(ix, pts[:, 0], pts[:, 1])
    assert ids_of(ix, got) == ["b", "a", "a", "a", "a", "a", "a", None]
    lattice = np.mgrid[-0.5:3.5:0.125, -0.5:2.5:0.125].reshape(2, -1)
    assert_matches_geos(ix, *lattice)
    rand = synthetic_points(20_000, (-0.5, -0.5, 3.5, 2.5), seed=0)
    assert_matches_geos(ix, rand[:, 0], rand[:, 1])


def test_points_in_a_gap_are_unassigned_and_cells_touching_at_a_vertex():
    ix = build({"x": box(0, 0, 1, 1), "w": box(1, 1, 2, 2), "v": box(3, 0, 4, 1)})
    pts = np.array([[1, 1], [0.5, 0.5], [1.5, 1.5], [1.5, 0.5], [0.5, 1.5], [2.5, 0.5],
                    [3, 0.5], [1 + 1e-15, 1 - 1e-15], [2, 1]])
    got = assert_matches_geos(ix, pts[:, 0], pts[:, 1])
    assert ids_of(ix, got) == ["w", "x", "w", None, None, None, "v", None, "w"]
    lattice = np.mgrid[-0.5:4.5:0.0625, -0.5:2.5:0.0625].reshape(2, -1)
    assert_matches_geos(ix, *lattice)


# --------------------------------------------------------------------- bucket-grid alignment
def unit_boxes(n: int, seed: int) -> dict[str, Polygon]:
    """An n x n grid of unit boxes with shuffled ids (so index order is not position order)."""
    names = [f"g{k:03d}" for k in np.random.default_rng(seed).permutation(n * n)]
    return {names[i * n + j]: box(i, j, i + 1, j + 1) for i in range(n) for j in range(n)}


@pytest.mark.parametrize("size", [1.0, 0.5, 0.25, 2.0, 1 / 3])
def test_points_on_bucket_lines_and_box_edges(size):
    ix = build(unit_boxes(5, seed=1), size=size)
    assert ix.x0 == -size and ix.y0 == -size  # bucket lines fall on box edges
    lattice = np.mgrid[-1:6.01:0.125, -1:6.01:0.125].reshape(2, -1)
    got = assert_matches_geos(ix, *lattice)
    # A lattice point at an inner grid corner is covered by four boxes: the lowest id wins.
    at = (lattice[0] == 2) & (lattice[1] == 3)
    four = [k for k, g in unit_boxes(5, seed=1).items() if g.covers(shapely.Point(2, 3))]
    assert len(four) == 4 and ids_of(ix, got[at]) == [min(four)]
    x, y = ulp_neighbours(lattice.T)
    assert_matches_geos(ix, x, y)


@pytest.mark.parametrize("size", [1.0, 0.5, 0.125])
def test_diagonal_edges_through_bucket_corners(size):
    cells = {}
    for i in range(4):
        for j in range(4):
            cells[f"t{i}{j}L"] = Polygon([(i, j), (i + 1, j), (i + 1, j + 1)])
            cells[f"t{i}{j}U"] = Polygon([(i, j), (i + 1, j + 1), (i, j + 1)])
    ix = build(cells, size=size)
    lattice = np.mgrid[-0.5:4.6:0.0625, -0.5:4.6:0.0625].reshape(2, -1)
    assert_matches_geos(ix, *lattice)
    x, y = ulp_neighbours(lattice.T[::7])
    assert_matches_geos(ix, x, y)


def test_tiny_cells_much_smaller_than_a_bucket():
    rng = np.random.default_rng(2)
    corners = rng.uniform(0, 100, (60, 2))
    cells = {f"tiny{k:02d}": box(x, y, x + 1e-3, y + 1e-3) for k, (x, y) in enumerate(corners)}
    cells["big"] = box(40, 40, 60, 60)  # overlaps some tiny cells
    cells["aa"] = box(10, 10, 10.0005, 10.001)  # two tiny cells sharing an edge
    cells["ab"] = box(10.0005, 10, 10.001, 10.001)
    ix = build(cells, size=10.0)
    verts = distinct_vertices(ix.geoms)
    x, y = ulp_neighbours(verts)
    assert_matches_geos(ix, x, y)
    near = corners[:, None, :] + rng.uniform(-1e-3, 2e-3, (60, 200, 2))
    assert_matches_geos(ix, near[..., 0].ravel(), near[..., 1].ravel())
    got = assert_matches_geos(ix, np.array([10.0005, 10.00025, 10.00075]),
                              np.array([10.0005, 10.0005, 10.001]))
    assert ids_of(ix, got) == ["aa", "aa", "ab"]
    rand = synthetic_points(50_000, (-5, -5, 105, 105), seed=1)
    assert_matches_geos(ix, rand[:, 0], rand[:, 1])


def test_a_huge_bucket_holds_everything():
    city = synthetic_city(20, seed=3, size_m=5_000.0, vertices=30)
    ix = CellIndex.build(city["cell_id"].to_numpy(), city.geometry.to_numpy(), size=1e9)
    # The whole extent lies in the single bucket (1, 1): every point there tests all cells.
    xmin, ymin, xmax, ymax = city.total_bounds
    cols = np.floor((np.array([xmin, xmax]) - ix.x0) / ix.size)
    rows = np.floor((np.array([ymin, ymax]) - ix.y0) / ix.size)
    assert cols.tolist() == [1, 1] and rows.tolist() == [1, 1]
    assert ix.state[1 * ix.nx + 1] == MIXED
    pts = np.concatenate([synthetic_points(3_000, city.total_bounds, seed=0),
                          boundary_points(city.geometry, 1_000, seed=0)])
    assert_matches_geos(ix, pts[:, 0], pts[:, 1])


# -------------------------------------------------------------------------- bad and odd input
def test_nan_infinite_and_far_points_are_unassigned():
    ix = build({"b": box(1, 0, 2, 1), "a": box(0, 0, 1, 1)})
    x = np.array([np.nan, 0.5, np.nan, np.inf, -np.inf, 1e300, -1e300, 1e15, 0.5])
    y = np.array([0.5, np.nan, np.nan, 0.5, 0.5, 0.5, 0.5, 0.5, -1e300])
    got = ix.assign(x, y)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, -1)


def test_empty_input_gives_empty_output():
    ix = build({"a": box(0, 0, 1, 1)})
    got = ix.assign(np.array([]), np.array([]))
    assert got.shape == (0,) and got.dtype == np.int64
    idx, dist = ix.nearest(np.array([]), np.array([]))
    assert idx.shape == (0,) and dist.shape == (0,)


def test_answers_keep_the_shape_of_the_input():
    ix = build({"b": box(1, 0, 2, 1), "a": box(0, 0, 1, 1)})
    got = ix.assign(np.array([[0.5, 1.5], [3.0, 1.0]]), np.full((2, 2), 0.5))
    np.testing.assert_array_equal(got, [[0, 1], [-1, 0]])
    np.testing.assert_array_equal(ix.assign(np.array([0.5, 1.5, 9.0]), 0.5), [0, 1, -1])
    scalar = ix.assign(1.5, 0.5)
    assert scalar.shape == () and scalar == 1
    assert ix.assign_one(1.5, 0.5) == 1 and ix.assign_one(float("nan"), 0.5) == -1


def test_build_rejects_duplicate_ids_and_no_cells():
    with pytest.raises(ValueError, match="unique"):
        CellIndex.build(["a", "b", "a"], [box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)])
    with pytest.raises(ValueError, match="no cells"):
        CellIndex.build([], [])


# --------------------------------------------------------------------------------- nearest
def brute_nearest(geoms: np.ndarray, x: np.ndarray, y: np.ndarray):
    d = shapely.distance(geoms[None, :], shapely.points(x, y)[:, None])
    idx = np.argmin(d, axis=1)  # the first of equal minima: the lowest id
    return idx, d[np.arange(len(x)), idx]


def test_nearest_matches_brute_force(city_m):
    ix = index_of(city_m)
    xmin, ymin, xmax, ymax = city_m.total_bounds
    pts = synthetic_points(6_000, (xmin - 5_000, ymin - 5_000, xmax + 5_000, ymax + 5_000), seed=9)
    outside = ix.assign(pts[:, 0], pts[:, 1]) == -1
    assert outside.sum() > 1_000
    x, y = pts[outside, 0], pts[outside, 1]
    idx, dist = ix.nearest(x, y)
    want_idx, want_dist = brute_nearest(ix.geoms, x, y)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(dist, want_dist)
    assert (dist > 0).all()


def test_nearest_with_gaps_holes_and_overlaps_matches_brute_force(city_m):
    """Cells dropped from the tiling leave gaps (holes in the union); a cell with a hole, a
    cell nested in it and an overlapping one are added: only the outline is searched."""
    geoms = city_m.geometry.to_numpy()
    keep = np.arange(len(geoms)) % 7 != 3
    ids = list(city_m["cell_id"].to_numpy()[keep])
    cells = list(geoms[keep])
    xmin, ymin, xmax, ymax = city_m.total_bounds
    far = xmax + 2_000
    cells += [box(far, ymin, far + 3_000, ymin + 3_000).difference(
        box(far + 1_000, ymin + 1_000, far + 2_000, ymin + 2_000)),
        box(far + 1_200, ymin + 1_200, far + 1_800, ymin + 1_800),
        box(far + 2_500, ymin + 2_500, far + 4_000, ymin + 4_000)]
    ids += ["zz-ring", "zz-nested", "aa-overlap"]
    ix = CellIndex.build(ids, cells)
    pts = synthetic_points(8_000, (xmin - 3_000, ymin - 3_000, far + 5_000, ymax + 3_000),
                           seed=11)
    x, y = pts[:, 0], pts[:, 1]
    outside = ix.assign(x, y) == -1
    assert outside.sum() > 2_000
    assert len(ix.outline) < 0.5 * len(shapely.get_coordinates(ix.geoms))
    idx, dist = ix.nearest(x[outside], y[outside])
    want_idx, want_dist = brute_nearest(ix.geoms, x[outside], y[outside])
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(dist, want_dist)


def test_nearest_finds_a_cell_that_meets_the_outline_at_one_vertex():
    """Three triangles fan out from the origin; the middle one ("a", the lowest id) touches
    the outline only at the origin, which is nearest to (0, -1) for all three."""
    ix = build({"c": Polygon([(0, 0), (2, 0), (1, 1)]), "a": Polygon([(0, 0), (1, 1), (-1, 1)]),
                "b": Polygon([(0, 0), (-1, 1), (-2, 0)])})
    idx, dist = ix.nearest(np.array([0.0, 0.0, np.nan]), np.array([-1.0, 3.0, 0.0]))
    assert ids_of(ix, idx[:2]) == ["a", "a"] and idx[2] == -1
    np.testing.assert_array_equal(dist, [1.0, 2.0, np.nan])


def test_nearest_ties_go_to_the_lowest_id_and_covered_points_are_at_zero():
    ix = build({"b": box(0, 0, 1, 1), "a": box(2, 0, 3, 1), "c": box(0, 2, 1, 3)})
    idx, dist = ix.nearest(np.array([1.5, 0.5, 1.5, 0.5, 2.5]), np.array([0.5, 1.5, 1.5, 0.5, 1]))
    assert ids_of(ix, idx) == ["a", "b", "a", "b", "a"]
    np.testing.assert_array_equal(dist, [0.5, 0.5, np.sqrt(0.5), 0.0, 0.0])


def test_nearest_of_covered_points_agrees_with_assign(city_m):
    ix = index_of(city_m)
    pts = np.concatenate([synthetic_points(2_000, city_m.total_bounds, seed=1),
                          boundary_points(city_m.geometry, 2_000, seed=1)])
    idx, dist = ix.nearest(pts[:, 0], pts[:, 1])
    np.testing.assert_array_equal(idx, ix.assign(pts[:, 0], pts[:, 1]))
    np.testing.assert_array_equal(dist, 0.0)


def test_layer_nearest_in_degrees_reports_metres_for_a_box():
    layer = Layer.build("grid", ["g1", "g2"],
                        [box(119.0, 28.0, 119.01, 28.01), box(119.0, 28.01, 119.01, 28.02)],
                        "EPSG:4490")
    lon, lat, _ = GEOD.fwd(119.01, 28.005, 90.0, 1_000.0)
    idx, dist = layer.nearest(np.array([lon]), np.array([lat]))
    assert ids_of(layer.index, idx) == ["g1"]
    assert dist[0] == pytest.approx(1_000.0, abs=1.0)


def test_layer_nearest_in_degrees_reports_metres_for_a_synthetic_city(city_m, city_deg):
    geoms = city_m.geometry.to_numpy()
    xmax = city_m.total_bounds[2]
    # The middle of an edge on the square's east side, in metres: it belongs to one cell.
    coords, of = shapely.get_coordinates(shapely.get_exterior_ring(geoms), return_index=True)
    east = np.flatnonzero((coords[:-1, 0] == xmax) & (coords[1:, 0] == xmax)
                          & (of[:-1] == of[1:]))
    k = east[len(east) // 2]
    mid = (coords[k] + coords[k + 1]) / 2
    owner = city_m["cell_id"].iloc[of[k]]
    to_deg = Transformer.from_crs(city_m.crs, "EPSG:4490", always_xy=True)
    lon0, lat0 = to_deg.transform(*mid)
    lon, lat, _ = GEOD.fwd(lon0, lat0, 90.0, 1_000.0)
    layer = Layer.build("grid", city_deg["cell_id"].to_numpy(), city_deg.geometry.to_numpy(),
                        "EPSG:4490")
    assert layer.assign(np.array([lon]), np.array([lat]))[0] == -1
    idx, dist = layer.nearest(np.array([lon]), np.array([lat]))
    assert ids_of(layer.index, idx) == [owner]
    assert dist[0] == pytest.approx(1_000.0, abs=1.0)


# ------------------------------------------------------------------------ real data: Chicago
def chicago():
    from tests.conftest import CHICAGO

    if not (CHICAGO / "police_beats.geojson").exists():
        pytest.skip(f"no Chicago data in {CHICAGO}")
    return CHICAGO


@pytest.fixture(scope="module")
def crimes() -> pd.DataFrame:
    rows = pd.read_csv(chicago() / "crimes_2015_10k.csv", dtype={"Beat": str, "District": str})
    rows = rows.dropna(subset=["Latitude", "Longitude"])
    assert len(rows) == 9_837
    return rows


def chicago_index(name: str, key: str) -> CellIndex:
    import geopandas as gpd

    cells = gpd.read_file(chicago() / name).dissolve(by=key).reset_index()
    assert cells.is_valid.all()
    return CellIndex.build(cells[key].to_numpy(), cells.geometry.to_numpy())


@pytest.mark.parametrize(("name", "key", "column", "matches", "share"), [
    ("police_beats.geojson", "BEAT_NUM", "Beat", 9_825, 0.9988),
    ("police_districts.geojson", "DIST_NUM", "District", 9_835, 0.9998),
])
def test_chicago_crimes_get_their_official_cell(crimes, name, key, column, matches, share):
    ix = chicago_index(name, key)
    x, y = crimes["Longitude"].to_numpy(), crimes["Latitude"].to_numpy()
    got = assert_matches_geos(ix, x, y)
    assert (got >= 0).all(), "no row may be unassigned"
    ours = ix.ids[got].astype(str)
    official = crimes[column].to_numpy().astype(str)
    if key == "BEAT_NUM":
        same = np.char.zfill(ours, 4) == np.char.zfill(official, 4)
    else:
        same = ours.astype(int) == official.astype(int)
    # The shares are the rounded figures of SOURCES.md (9,825 / 9,837 = 0.998780 shows as
    # 99.88%): compare rounded; the exact count below is the strict check.
    assert round(float(same.mean()), 4) >= share
    assert int(same.sum()) == matches
