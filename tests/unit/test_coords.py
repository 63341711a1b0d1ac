"""Unit tests of gridsvc.domain.geo.coords: input CRSs, GCJ-02/BD-09 offsets, lon/lat checks."""

from __future__ import annotations

import doctest
import warnings

import numpy as np
import pytest
from pyproj import Geod, Transformer

from gridsvc.domain.geo import coords
from gridsvc.domain.geo.coords import (
    InputCRS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_lonlat,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    looks_swapped,
    parse_input_crs,
    to_cgcs2000,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridsvc.errors import InvalidInput

GEOD = Geod(ellps="WGS84")
DEMO_TOWN = (118.8, 28.0, 119.2, 28.4)  # the demo town's bounds, EPSG:4490


def metres(lon_a, lat_a, lon_b, lat_b) -> np.ndarray:
    """Geodesic distance in metres between two sets of lon/lat points."""
    a_lon, a_lat, b_lon, b_lat = np.broadcast_arrays(lon_a, lat_a, lon_b, lat_b)
    return np.asarray(GEOD.inv(a_lon, a_lat, b_lon, b_lat)[2])


@pytest.fixture(scope="module")
def china_points() -> tuple[np.ndarray, np.ndarray]:
    """1,000 WGS84 points spread over mainland China's extent (all inside the GCJ-02 box)."""
    rng = np.random.default_rng(20240601)
    return rng.uniform(73.5, 134.8, 1000), rng.uniform(18.0, 53.5, 1000)


# -- round trips ----------------------------------------------------------------------------------
def test_gcj02_round_trip_is_exact(china_points):
    lon, lat = china_points
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert metres(lon, lat, g_lon, g_lat).min() > 1.0  # the offset really applied everywhere
    back_lon, back_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert np.abs(back_lon - lon).max() < 1e-7
    assert np.abs(back_lat - lat).max() < 1e-7
    assert metres(lon, lat, back_lon, back_lat).max() < 0.01


def test_gcj02_inverse_is_iterative_not_one_step(china_points):
    # The one-step inverse most converters ship (subtract the offset evaluated at the GCJ-02
    # point) is off by metres; ours must beat it by orders of magnitude on the same points.
    lon, lat = china_points
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    f_lon, f_lat = wgs84_to_gcj02(g_lon, g_lat)
    one_step_error = metres(lon, lat, 2 * g_lon - f_lon, 2 * g_lat - f_lat).max()
    ours_error = metres(lon, lat, *gcj02_to_wgs84(g_lon, g_lat)).max()
    assert one_step_error > 0.5
    assert ours_error < 0.01
    assert ours_error < one_step_error / 1000


def test_bd09_round_trip_is_exact(china_points):
    lon, lat = china_points
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    back_lon, back_lat = bd09_to_wgs84(b_lon, b_lat)
    assert np.abs(back_lon - lon).max() < 1e-7
    assert np.abs(back_lat - lat).max() < 1e-7
    assert metres(lon, lat, back_lon, back_lat).max() < 0.01
    # The BD-09 step alone, both ways (its published inverse alone is off by up to 0.2 m).
    c_lon, c_lat = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert max(np.abs(c_lon - lon).max(), np.abs(c_lat - lat).max()) < 1e-8


# -- published reference points -------------------------------------------------------------------
# (WGS84 lon, lat) -> (GCJ-02 lon, lat), from the test vectors of the eviltransform project
# (github googollee/eviltransform, go/transform_test.go and python/test.py, there in lat, lng
# order), which its Go, C, JS and Python ports all check against.
EVILTRANSFORM_WGS_GCJ = {
    "shanghai": ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    "shenzhen": ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    "beijing": ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
}
# The point (123, 45) through every conversion, from the test suite of the gcoord project
# (github hujiulong/gcoord, test/unit/crs/WGS84.spec.ts, GCJ02.spec.ts and BD09.spec.ts), which
# checks them to 5 decimals; gcoord's own inverses stop at 1e-6 degrees.
GCOORD_123_45 = {
    "wgs84_to_gcj02": (wgs84_to_gcj02, (123.00607541, 45.00197815)),
    "wgs84_to_bd09": (wgs84_to_bd09, (123.0124491, 45.0083293)),
    "gcj02_to_wgs84": (gcj02_to_wgs84, (122.99395597, 44.99804071)),
    "gcj02_to_bd09": (gcj02_to_bd09, (123.00636499, 45.00636899)),
    "bd09_to_gcj02": (bd09_to_gcj02, (122.99363304, 44.99365430)),
    "bd09_to_wgs84": (bd09_to_wgs84, (122.98762210, 44.99171540)),
}
# Not used: eviltransform's python/test.py also lists two BD-09 -> WGS84 pairs near Jinhua
# (120.02E 29.2N), but they disagree with the published formula by 10 m and 41 m, and with each
# other (points 1.6 km apart should share the offset to the millimetre): they are not outputs of
# the formula, so they cannot check an implementation of it.


@pytest.mark.parametrize("name", sorted(EVILTRANSFORM_WGS_GCJ))
def test_eviltransform_reference_points(name):
    (w_lon, w_lat), (g_lon, g_lat) = EVILTRANSFORM_WGS_GCJ[name]
    assert metres(*wgs84_to_gcj02(w_lon, w_lat), g_lon, g_lat) < 0.01
    assert metres(*gcj02_to_wgs84(g_lon, g_lat), w_lon, w_lat) < 0.01
    # ... and through the public entry point, WGS84 = CGCS2000 to the centimetre.
    assert metres(*to_cgcs2000(g_lon, g_lat, "gcj02"), w_lon, w_lat) < 0.05


@pytest.mark.parametrize("name", sorted(GCOORD_123_45))
def test_gcoord_reference_points(name):
    convert, (ref_lon, ref_lat) = GCOORD_123_45[name]
    assert metres(*convert(123.0, 45.0), ref_lon, ref_lat) < 1.0


def test_reference_points_vectorised_match_scalar():
    wgs = np.array([w for w, _ in EVILTRANSFORM_WGS_GCJ.values()])
    gcj = np.array([g for _, g in EVILTRANSFORM_WGS_GCJ.values()])
    got_lon, got_lat = gcj02_to_wgs84(gcj[:, 0], gcj[:, 1])
    assert metres(got_lon, got_lat, wgs[:, 0], wgs[:, 1]).max() < 0.01


# -- outside China --------------------------------------------------------------------------------
@pytest.mark.parametrize("lon, lat", [(139.6917, 35.6895), (-0.1276, 51.5072), (0.0, 0.0),
                                      (72.0, 30.0), (120.0, 56.0)])
def test_no_gcj02_offset_outside_china(lon, lat):
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)
    x, y = to_cgcs2000(lon, lat, "gcj02")
    assert metres(x, y, lon, lat) < 0.05


def test_china_box_edge_is_inside():
    lon, _ = wgs84_to_gcj02([72.004, 72.0039], [30.0, 30.0])
    assert lon[0] != 72.004
    assert lon[1] == 72.0039


# -- EPSG input -----------------------------------------------------------------------------------
def test_web_mercator_matches_pyproj():
    x = np.array([13247019.4, 12958175.0, 13580000.0])
    y = np.array([3276000.0, 4825923.0, 2540000.0])
    want = Transformer.from_crs(3857, 4490, always_xy=True).transform(x, y)
    got = to_cgcs2000(x, y, "EPSG:3857")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert got[0].min() > 100 and got[0].max() < 125  # lon/lat order, not lat/lon


def test_cgcs2000_gauss_kruger_matches_pyproj():
    # EPSG:4549: CGCS2000 3-degree Gauss-Kruger, central meridian 120E, false easting 500 km.
    x = np.array([480000.0, 500000.0, 530000.0])
    y = np.array([3120000.0, 3300000.0, 3450000.0])
    want = Transformer.from_crs(4549, 4490, always_xy=True).transform(x, y)
    got = to_cgcs2000(x, y, 4549)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert abs(got[0][1] - 120.0) < 1e-9  # on the central meridian


def test_shapes_and_scalars():
    lon, lat = to_cgcs2000(119.0, 28.2, 4326)
    assert lon.shape == () and lat.shape == ()
    assert abs(float(lon) - 119.0) < 1e-7
    grid_lon, grid_lat = to_cgcs2000(np.full((2, 3), 119.0), 28.2, "bd09")
    assert grid_lon.shape == grid_lat.shape == (2, 3)
    s_lon, _ = bd09_to_wgs84(119.0, 28.2)
    assert s_lon.shape == () and abs(float(grid_lon[1, 2]) - float(s_lon)) < 1e-12


def test_non_finite_input_gives_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lon, lat = gcj02_to_wgs84([np.nan, np.inf, 119.0], [28.2, 28.2, np.nan])
        b_lon, _ = bd09_to_wgs84([np.nan, np.inf], [28.2, 28.2])
    assert np.isnan(lon[0]) and np.isinf(lon[1]) and np.isnan(lat[2])
    assert np.isnan(b_lon).all()
    assert not check_lonlat(lon, lat).any()


def test_transformer_is_cached_by_name():
    to_cgcs2000(0.0, 0.0, "epsg:3857")
    assert coords._transformer("EPSG:3857") is coords._transformer("EPSG:3857")


# -- parsing --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [4326, "4326", "EPSG:4326", "epsg:4326", " epsg:4326 ", "WGS84"])
def test_parse_epsg_4326_spellings(value):
    assert parse_input_crs(value) == InputCRS("EPSG:4326", geographic=True)


def test_parse_projected_and_proj_strings():
    assert parse_input_crs("epsg:3857") == InputCRS("EPSG:3857", geographic=False)
    assert parse_input_crs("EPSG:4549") == InputCRS("EPSG:4549", geographic=False)
    proj = parse_input_crs("+proj=longlat +datum=WGS84 +no_defs")
    assert proj.geographic and not proj.is_offset
    # The normalised name is something pyproj parses back: it is the Transformer cache key.
    lon, _ = to_cgcs2000(119.0, 28.2, proj.name)
    assert abs(float(lon) - 119.0) < 1e-7


@pytest.mark.parametrize("value, name", [
    ("gcj02", "gcj02"), ("GCJ-02", "gcj02"), ("gcj", "gcj02"), ("AMap", "gcj02"),
    ("gaode", "gcj02"), ("Tencent", "gcj02"), ("bd09", "bd09"), ("BD-09", "bd09"),
    ("Baidu", "bd09"),
])
def test_parse_offset_aliases(value, name):
    crs = parse_input_crs(value)
    assert crs == InputCRS(name, geographic=True)
    assert crs.is_offset


@pytest.mark.parametrize("value", ["EPSG:999999", "nonsense", "", "   ", True, "EPSG:4978",
                                  "EPSG:5773", -5])
def test_parse_rejects_unknown_or_unusable(value):
    with pytest.raises(InvalidInput) as err:
        parse_input_crs(value)
    [problem] = err.value.problems
    assert problem.field == "crs"
    assert "EPSG code" in problem.message and "gcj02" in problem.message


def test_to_cgcs2000_rejects_unknown_crs():
    with pytest.raises(InvalidInput):
        to_cgcs2000(119.0, 28.2, "mars")


# -- checks ---------------------------------------------------------------------------------------
def test_check_lonlat():
    x = [119.0, -180.0, 180.0, 180.1, 0.0, np.nan, np.inf, 28.2]
    y = [28.2, -90.0, 90.0, 0.0, 90.5, 0.0, 0.0, 119.0]
    assert check_lonlat(x, y).tolist() == [True, True, True, False, False, False, False, False]


def test_looks_swapped():
    assert looks_swapped(28.2, 119.0, DEMO_TOWN)  # lat, lon of a point in town
    assert not looks_swapped(119.0, 28.2, DEMO_TOWN)  # inside
    assert not looks_swapped(10.0, 10.0, DEMO_TOWN)  # outside either way
    got = looks_swapped([28.2, 28.0, 119.0, np.nan, 28.42], [119.0, 118.77, 28.2, 119.0, 119.0],
                        DEMO_TOWN)
    # The margin (0.05 degrees) widens the swapped test too: (118.77, 28.0) is just outside.
    assert got.tolist() == [True, True, False, False, True]
    # Just outside the town but not swapped: not flagged, whatever the margin.
    assert not looks_swapped(119.22, 28.2, DEMO_TOWN).any()
    assert not looks_swapped(119.3, 28.2, DEMO_TOWN, margin=0.0)


# -- scale and docs -------------------------------------------------------------------------------
@pytest.mark.slow  # about 5 s: a million points through each offset, no time assertion
def test_million_points_vectorised():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(73.5, 134.8, 1_000_000), rng.uniform(18.0, 53.5, 1_000_000)
    for crs in ("gcj02", "bd09", "EPSG:4326"):
        x, y = to_cgcs2000(lon, lat, crs)
        assert x.shape == y.shape == (1_000_000,)
        assert check_lonlat(x, y).all()
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert max(np.abs(back_lon - lon).max(), np.abs(back_lat - lat).max()) < 1e-7


def test_docstring_examples():
    result = doctest.testmod(coords, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
