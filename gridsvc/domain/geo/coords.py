"""Input coordinates in any supported system, converted to CGCS2000 lon/lat (EPSG:4490).

Three kinds of input are accepted (see :func:`parse_input_crs`):

- anything pyproj knows: EPSG codes (4326, 4490, 3857, 4549, ...), proj strings, WKT. These go
  through a cached ``pyproj.Transformer`` to EPSG:4490, so datum shifts stay PROJ's business.
- GCJ-02 (国测局坐标, "Mars coordinates"): the obfuscated lon/lat of AMap/Gaode, Tencent and
  Google's China maps.
- BD-09: Baidu's lon/lat, a second offset on top of GCJ-02.

Why the offsets are implemented by hand: GCJ-02 is not a datum or a projection, and no EPSG
code, PROJ operation or well-kept Python library covers it (pyproj does not). What is public is
a reverse-engineered formula, published and cross-checked in many open-source converters
(the "eviltransform" and "coordtransform" projects, gcoord, and countless blog posts): a
polynomial-plus-sines offset in metres, scaled to degrees on the Krasovsky ellipsoid and applied
only inside a rough box around China. Its inverse has no closed form; the one-step
approximation most converters ship is off by up to 1-2 m, so :func:`gcj02_to_wgs84` iterates to
1e-9 degrees instead (a few iterations; the offset changes slowly with position). BD-09 is
Baidu's published GCJ-02 -> BD-09 formula (a small rotation and scaling about the origin plus a
fixed shift); its published inverse is off by up to 0.2 m, so it is refined the same way.

CGCS2000 and WGS84 agree to within centimetres, so offsets are removed to WGS84 (EPSG:4326),
which then goes through pyproj like any other EPSG input.

Every function is vectorised: numpy arrays (or scalars) in, float64 arrays of the broadcast shape
out, in ``always_xy`` order (x = longitude or easting, y = latitude or northing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # pyproj and shapely load when used: a cached file-mode run needs neither
    from pyproj import CRS, Transformer

from gridsvc.errors import InvalidInput, Problem

ArrayLike = npt.ArrayLike
Pair = tuple[np.ndarray, np.ndarray]

TARGET_EPSG = 4490
GCJ02 = "gcj02"
BD09 = "bd09"
_ALIASES = {
    **dict.fromkeys(("gcj02", "gcj-02", "gcj", "amap", "gaode", "tencent"), GCJ02),
    **dict.fromkeys(("bd09", "bd-09", "baidu"), BD09),
}


def _also(system: str) -> str:
    return ", ".join(a for a, s in _ALIASES.items() if s == system and a != system)


#: The forms a CRS may be given in: every "unknown CRS" message lists them.
ACCEPTED_CRS_FORMS = (
    "an EPSG code (4326, EPSG:4490, 3857, ...), any other CRS pyproj knows (a PROJ string, "
    f"WKT), {GCJ02} (also {_also(GCJ02)}) or {BD09} (also {_also(BD09)})")

# GCJ-02 constants, as published: the Krasovsky 1940 ellipsoid (semi-major axis and first
# eccentricity squared) and the rough box around mainland China outside which there is no offset.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)  # lon_min, lat_min, lon_max, lat_max
# BD-09 constants, as published by Baidu.
_BD_X_PI = np.pi * 3000.0 / 180.0
_BD_DX, _BD_DY = 0.0065, 0.006

# Inverses stop when the forward image of the estimate is this close to the input (1e-9 degrees
# is about 0.1 mm); the offsets vary so slowly that 3-5 iterations get there.
INVERSE_TOLERANCE = 1e-9
_MAX_ITERATIONS = 30


@dataclass(frozen=True)
class InputCRS:
    """A coordinate system input may come in.

    Attributes
    ----------
    name
        ``"EPSG:4326"`` style for EPSG codes, ``"gcj02"`` or ``"bd09"`` for the Chinese web-map
        offsets, otherwise pyproj's ``CRS.to_string()`` (which pyproj parses back).
    geographic
        True when coordinates are lon/lat degrees (so range and swap checks apply), False for
        projected metres such as EPSG:3857 or EPSG:4549.
    """

    name: str
    geographic: bool
    #: The CRS as the input file stated it, when that is a :class:`~gridsvc.domain.geo.
    #: lazy_crs.LazyCRS` whose document is the cells' own (see :func:`stated_input_crs`).
    stated: Any = field(default=None, compare=False, repr=False)

    @property
    def is_offset(self) -> bool:
        """True for GCJ-02 and BD-09, which pyproj does not know."""
        return self.name in (GCJ02, BD09)


@lru_cache(maxsize=256, typed=True)  # a lookup names its CRS on every request
def parse_input_crs(value: str | int) -> InputCRS:
    """The input CRS named by a user: the one parser of every door that takes a CRS (the
    lookup, incidents, layer import, file-mode assignment's points and cells, house import,
    plan edits), so each accepts the same forms.

    Parameters
    ----------
    value
        An EPSG code (``4326``, ``"4326"``, ``"EPSG:4326"``, ``"epsg:3857"``), any other string
        pyproj understands (a proj string, WKT, ``"WGS84"``), or a web-map offset system, case
        and surrounding spaces ignored: ``"gcj02"`` (also ``"gcj-02"``, ``"gcj"``, ``"amap"``,
        ``"gaode"``, ``"tencent"``) or ``"bd09"`` (also ``"bd-09"``, ``"baidu"``).

    Returns
    -------
    InputCRS
        With the normalised name: ``"EPSG:4326"``, ``"gcj02"``, ``"bd09"`` or pyproj's
        ``to_string()``.

    Raises
    ------
    InvalidInput
        Field ``crs``: the value is empty, unknown to pyproj (``"EPSG:999999"``, ``"nonsense"``,
        ``"³"``: only ASCII digits make an EPSG code), a bool, or a CRS that is neither
        geographic nor projected (geocentric, vertical), which cannot give a 2D position. The
        message lists the accepted forms (:data:`ACCEPTED_CRS_FORMS`).

    Examples
    --------
    >>> parse_input_crs("epsg:4326")
    InputCRS(name='EPSG:4326', geographic=True)
    >>> parse_input_crs(3857)
    InputCRS(name='EPSG:3857', geographic=False)
    >>> parse_input_crs(" AMap ").name
    'gcj02'
    >>> parse_input_crs("Baidu").name
    'bd09'
    >>> parse_input_crs("³")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    gridsvc.errors.InvalidInput: 1 problem(s) in the input
    - field 'crs': unknown CRS '³': say an EPSG code (4326, EPSG:4490, 3857, ...), any other ...
    """
    text = str(value).strip()
    if isinstance(value, bool) or not text:  # True is an int to Python, not an EPSG code
        raise _unknown(text)
    if (alias := _ALIASES.get(text.lower())) is not None:
        return InputCRS(alias, geographic=True)
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        # ASCII only: "³" and "٣" pass str.isdigit() but are no EPSG code (int() fails on
        # the first); as text, pyproj rejects them like any other unknown name.
        crs = CRS.from_user_input(int(text) if text.isascii() and text.isdigit() else text)
    except CRSError:
        raise _unknown(text) from None
    if not (crs.is_geographic or crs.is_projected):
        raise InvalidInput([Problem(
            f"CRS {text!r} is a {crs.type_name}, which gives no position on a map: say "
            f"{ACCEPTED_CRS_FORMS}", field="crs")])
    return declared_crs(crs)


def _unknown(text: str) -> InvalidInput:
    return InvalidInput([Problem(f"unknown CRS {text!r}: say {ACCEPTED_CRS_FORMS}", field="crs")])


def declared_crs(crs: CRS) -> InputCRS:
    """The input CRS a file declares (a pyproj CRS read from its metadata).

    Examples
    --------
    >>> from pyproj import CRS
    >>> declared_crs(CRS.from_epsg(4549))
    InputCRS(name='EPSG:4549', geographic=False)
    """
    return InputCRS(crs.to_string(), geographic=crs.is_geographic)


def stated_input_crs(stated: Any) -> InputCRS:
    """The input CRS of points whose file states the very CRS document of the cells (a
    :class:`~gridsvc.domain.geo.lazy_crs.LazyCRS`): no conversion is needed, nor pyproj. The
    name is the document's own id (``"EPSG:4549"``), or the document itself as JSON.

    >>> from gridsvc.domain.geo.lazy_crs import LazyCRS
    >>> stated_input_crs(LazyCRS({"type": "ProjectedCRS", "id": {"authority": "EPSG",
    ...                                                          "code": 4549}}))
    InputCRS(name='EPSG:4549', geographic=False)
    """
    ident = stated.document.get("id")
    if isinstance(ident, dict) and {"authority", "code"} <= ident.keys():
        name = f"{ident['authority']}:{ident['code']}"
    else:
        import json

        name = json.dumps(stated.document)
    return InputCRS(name, geographic=stated.is_geographic, stated=stated)


# -- conversion to CGCS2000 -----------------------------------------------------------------------
def to_cgcs2000(x: ArrayLike, y: ArrayLike, crs: InputCRS | str | int) -> Pair:
    """Convert coordinates to CGCS2000 lon/lat (EPSG:4490).

    Parameters
    ----------
    x, y
        Longitude/easting and latitude/northing (``always_xy`` order, whatever the CRS's
        official axis order), as arrays or scalars that broadcast together.
    crs
        An :class:`InputCRS` or anything :func:`parse_input_crs` accepts.

    Returns
    -------
    (lon, lat)
        Float64 arrays of the broadcast shape. Nothing is rejected here: NaN in gives NaN out,
        points PROJ cannot convert (far outside a projection's domain) come back as ``inf``,
        and impossible degrees from a geographic CRS pass through as they are, so check the
        result with :func:`check_lonlat` and :func:`looks_swapped`. GCJ-02 points outside the
        China box are taken as WGS84 unchanged.

    Raises
    ------
    InvalidInput
        When ``crs`` is not a known CRS (field ``crs``).

    Examples
    --------
    >>> lon, lat = to_cgcs2000(13247019.4, 4865942.3, "EPSG:3857")
    >>> print(f"{lon:.5f} {lat:.5f}")
    119.00000 40.00000
    >>> lon, lat = to_cgcs2000([116.38404722455657], [39.91334545536069], "gcj02")
    >>> print(f"{lon[0]:.6f} {lat[0]:.6f}")
    116.377817 39.911954
    """
    parsed = crs if isinstance(crs, InputCRS) else parse_input_crs(crs)
    xs, ys = _float_arrays(x, y)
    if parsed.name == GCJ02:
        xs, ys = gcj02_to_wgs84(xs, ys)
    elif parsed.name == BD09:
        xs, ys = bd09_to_wgs84(xs, ys)
    source = "EPSG:4326" if parsed.is_offset else parsed.name
    if source in SAME_AS_CGCS2000:
        return xs, ys
    lon, lat = _transformer(source).transform(xs, ys)
    return _float_arrays(lon, lat)


def geometries_to_cgcs2000(geoms: Any, crs: InputCRS | str | int) -> Any:
    """Convert shapely geometries (one, or an array) to CGCS2000 lon/lat (EPSG:4490).

    Every vertex goes through :func:`to_cgcs2000`, so GCJ-02 and BD-09 polygons are unshifted
    vertex by vertex (the offsets vary by well under a centimetre along a 100 m edge, so
    straight edges stay right). Empty and missing geometries pass through.

    Raises
    ------
    InvalidInput
        When ``crs`` is not a known CRS (field ``crs``).

    Examples
    --------
    >>> import shapely
    >>> moved = geometries_to_cgcs2000(shapely.Point(116.38404722, 39.91334546), "gcj02")
    >>> print(f"{moved.x:.6f} {moved.y:.6f}")
    116.377817 39.911954
    """
    parsed = crs if isinstance(crs, InputCRS) else parse_input_crs(crs)
    if parsed.name in SAME_AS_CGCS2000:
        return geoms
    import shapely

    return shapely.transform(geoms, lambda xy: np.column_stack(
        to_cgcs2000(xy[:, 0], xy[:, 1], parsed)))


# PROJ knows no transformation between WGS84 and CGCS2000 (they agree to a few centimetres):
# its "ballpark" operation returns the input unchanged, only slower. Skip it.
SAME_AS_CGCS2000 = frozenset({"EPSG:4326", "EPSG:4490"})


@lru_cache(maxsize=64)  # bounded: names come from users, and each Transformer holds PROJ state
def _transformer(name: str) -> Transformer:
    """A Transformer from ``name`` to EPSG:4490, built once per name: building one costs
    milliseconds (a database search), using it microseconds. Transformers are thread-safe
    since pyproj 3.1, so one cached instance serves every request thread."""
    from pyproj import Transformer

    return Transformer.from_crs(name, TARGET_EPSG, always_xy=True)


# -- GCJ-02 ---------------------------------------------------------------------------------------
def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """WGS84 lon/lat to GCJ-02, the published obfuscation formula.

    Points outside the China box (lon 72.004..137.8347, lat 0.8293..55.8271, edges included) and
    non-finite points are returned unchanged; inside, the shift is a few hundred metres.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.377817, 39.911954)  # Beijing, eviltransform's test point
    >>> print(f"{lon:.8f} {lat:.8f}")
    116.38404722 39.91334546
    >>> wgs84_to_gcj02(139.7, 35.7)  # Tokyo: outside the box
    (array(139.7), array(35.7))
    """
    lons, lats = _float_arrays(lon, lat)
    inside = _in_china_box(lons, lats)
    d_lon, d_lat = _gcj02_offset(lons[inside], lats[inside])
    lons[inside] += d_lon
    lats[inside] += d_lat
    return lons, lats


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """GCJ-02 lon/lat to WGS84, iterated until the forward image is within 1e-9 degrees.

    Fixed-point iteration ``w <- w - (wgs84_to_gcj02(w) - g)`` from ``w = g``; it contracts
    fast because the offset's gradient is about 1e-3, so 3-5 iterations reach the tolerance
    (at most 30). Points outside the China box and non-finite points are returned unchanged.
    Within about a kilometre of the box edge, where the forward offset jumps, a point may have
    no exact preimage; it gets the last iterate.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(121.531541859215, 31.17530398364597)  # Shanghai
    >>> print(f"{lon:.7f} {lat:.7f}")
    121.5272106 31.1774276
    """
    g_lon, g_lat = _float_arrays(lon, lat)
    return _invert(wgs84_to_gcj02, g_lon, g_lat, g_lon, g_lat, _in_china_box(g_lon, g_lat))


def _in_china_box(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The published rough box for mainland China; False for NaN."""
    lon_min, lat_min, lon_max, lat_max = _CHINA_BOX
    return (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)


def _gcj02_offset(lon: np.ndarray, lat: np.ndarray) -> Pair:
    """The GCJ-02 shift in degrees at WGS84 ``lon, lat``: the published polynomials give it in
    (roughly) metres around (105E, 35N); the Krasovsky radii of curvature turn it into degrees."""
    x, y = lon - 105.0, lat - 35.0
    # The two sines of x are shared by both polynomials.
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
             + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
             + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
             + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
             + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad_lat = np.radians(lat)
    w2 = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    w = np.sqrt(w2)
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (w2 * w)
    parallel_radius = _KRASOVSKY_A / w * np.cos(rad_lat)
    return (np.degrees(d_lon / parallel_radius), np.degrees(d_lat / meridian_radius))


# -- BD-09 ----------------------------------------------------------------------------------------
def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """GCJ-02 lon/lat to BD-09, Baidu's published formula.

    Applied everywhere (Baidu has no China box); non-finite in gives NaN out.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(123.0, 45.0)  # gcoord's test point
    >>> print(f"{lon:.6f} {lat:.6f}")
    123.006365 45.006369
    """
    x, y = _float_arrays(lon, lat)
    with np.errstate(invalid="ignore"):  # sin(inf) is NaN, as documented
        z = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_X_PI)
        theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + _BD_DX, z * np.sin(theta) + _BD_DY


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 lon/lat to GCJ-02: Baidu's published inverse, then refined; non-finite gives NaN.

    The published inverse evaluates the perturbation at the BD-09 point instead of the GCJ-02
    one, which leaves up to 2e-6 degrees (0.2 m); the same fixed-point iteration as
    :func:`gcj02_to_wgs84` takes it below 1e-9 degrees, usually in one or two steps.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(*gcj02_to_bd09(119.0, 28.2))
    >>> print(f"{lon:.9f} {lat:.9f}")
    119.000000000 28.200000000
    """
    b_lon, b_lat = _float_arrays(lon, lat)
    x, y = b_lon - _BD_DX, b_lat - _BD_DY
    with np.errstate(invalid="ignore"):  # sin(inf) is NaN, as documented
        z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
        theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return _invert(gcj02_to_bd09, b_lon, b_lat, z * np.cos(theta), z * np.sin(theta),
                   np.isfinite(b_lon) & np.isfinite(b_lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """WGS84 lon/lat to BD-09 (through GCJ-02; outside the China box only the BD-09 step)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 lon/lat to WGS84 (through GCJ-02; outside the China box only the BD-09 step)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _invert(forward: Callable[[np.ndarray, np.ndarray], Pair], target_x: np.ndarray,
            target_y: np.ndarray, x: np.ndarray, y: np.ndarray, active: np.ndarray) -> Pair:
    """Solve ``forward(x, y) == target`` by fixed-point iteration from ``(x, y)``, for the
    ``active`` points only (the others keep their start).

    Converged points drop out, so the work shrinks with each step instead of revisiting a
    million settled points because one is slow."""
    x, y = _float_arrays(x, y)
    # Flat views of the fresh contiguous copies, so 0-d scalars index like the rest.
    flat_x, flat_y = x.reshape(-1), y.reshape(-1)
    goal_x, goal_y = target_x.reshape(-1), target_y.reshape(-1)
    idx = np.flatnonzero(active)
    for _ in range(_MAX_ITERATIONS):
        if idx.size == 0:
            break
        fx, fy = forward(flat_x[idx], flat_y[idx])
        ex, ey = fx - goal_x[idx], fy - goal_y[idx]
        flat_x[idx] -= ex
        flat_y[idx] -= ey
        idx = idx[(np.abs(ex) >= INVERSE_TOLERANCE) | (np.abs(ey) >= INVERSE_TOLERANCE)]
    return x, y


# -- checks ---------------------------------------------------------------------------------------
def check_lonlat(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Which points are possible lon/lat: finite, ``-180 <= x <= 180`` and ``-90 <= y <= 90``.

    Examples
    --------
    >>> check_lonlat([119.0, 28.2, np.nan, 181.0], [28.2, 119.0, 0.0, 0.0])
    array([ True, False, False, False])
    """
    xs, ys = _float_arrays(x, y)
    return np.isfinite(xs) & np.isfinite(ys) & (np.abs(xs) <= 180.0) & (np.abs(ys) <= 90.0)


def looks_swapped(x: ArrayLike, y: ArrayLike,
                  service_bounds: tuple[float, float, float, float],
                  margin: float = 0.05) -> np.ndarray:
    """Which points are outside the service area but inside it with x and y swapped.

    Parameters
    ----------
    x, y
        Lon/lat in EPSG:4490 (after conversion), arrays or scalars.
    service_bounds
        ``(xmin, ymin, xmax, ymax)`` of the service area in EPSG:4490.
    margin
        Degrees added on every side of the bounds for both tests (0.05 is about 5 km), so a
        point just outside the area is not called swapped unless swapping puts it inside.

    Returns
    -------
    numpy.ndarray of bool
        True where ``(x, y)`` is outside the widened bounds and ``(y, x)`` is inside them:
        the user most likely sent lat, lon. False for points inside, for points that are
        outside either way, and for non-finite points.

    Examples
    --------
    >>> town = (118.8, 28.0, 119.2, 28.4)
    >>> looks_swapped([28.2, 119.0, 10.0], [119.0, 28.2, 10.0], town)
    array([ True, False, False])
    """
    xs, ys = _float_arrays(x, y)
    xmin, ymin, xmax, ymax = service_bounds

    def inside(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        return ((px >= xmin - margin) & (px <= xmax + margin)
                & (py >= ymin - margin) & (py <= ymax + margin))

    return ~inside(xs, ys) & inside(ys, xs)


def _float_arrays(x: ArrayLike, y: ArrayLike) -> Pair:
    """Fresh, writable float64 copies of ``x, y`` broadcast to one shape."""
    bx, by = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return bx.copy(), by.copy()


def local_metric_crs(lon: float, lat: float) -> str:
    """A metric CRS for measuring areas and distances around ``(lon, lat)``.

    Inside China's span of longitudes, the CGCS2000 3-degree Gauss-Kruger zone of the nearest
    central meridian (EPSG:4534, CM 75E, to EPSG:4554, CM 135E): within 1.5 degrees of its
    meridian a zone's scale error stays under 0.03%. Elsewhere, the WGS84 UTM zone (real data
    from other countries, e.g. Chicago's police beats). One zone for one area of work: measuring
    a town in the zone of a meridian 16 degrees away would overstate its areas by ~6%.

    >>> local_metric_crs(119.0, 28.2)    # the demo town: CM 120E
    'EPSG:4549'
    >>> local_metric_crs(104.07, 30.67)  # Chengdu: CM 105E
    'EPSG:4544'
    >>> local_metric_crs(-87.7, 41.9)    # Chicago: UTM 16N
    'EPSG:32616'
    >>> local_metric_crs(151.2, -33.9)   # Sydney: UTM 56S
    'EPSG:32756'
    """
    if 73.5 <= lon < 136.5 and 0.0 <= lat <= 56.0:
        meridian = min(135, max(75, 3 * round(lon / 3)))
        return f"EPSG:{4534 + (meridian - 75) // 3}"
    zone = min(60, int((lon + 180.0) // 6) + 1)
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"
