"""Road network of the demo town: a county road along the main valley, township roads up the side
valleys, short streets in the town seat and a village road to every village centre.

Roads are smooth Catmull-Rom curves through jittered control points, clipped to the outline. The
county road is the spine of the settlement model: the seats of the 镇 and the 乡 lie on it and the
densest houses line it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from .geometry import GRID_SIZE


@dataclass
class Road:
    """One road in metric coordinates.

    Attributes
    ----------
    road_class : str
        "county", "township" or "village".
    line : shapely.LineString
    village : int or None
        Index of the village centre a village road leads to.
    name : str
        Filled in once villages have names.
    """

    road_class: str
    line: LineString
    village: int | None = None
    name: str = ""


def catmull_rom(points: np.ndarray, samples_per_segment: int = 16) -> np.ndarray:
    """Uniform Catmull-Rom curve through `points`, as an (m, 2) array.

    The curve passes through every control point; the end points are repeated so that it starts
    and ends on the first and last control point.
    """
    p = np.asarray(points, dtype=float)
    p = np.r_[p[:1], p, p[-1:]]
    t = np.linspace(0.0, 1.0, samples_per_segment, endpoint=False)[:, None]
    out = []
    for k in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[k - 1], p[k], p[k + 1], p[k + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
        )
    out.append(p[-2:-1])
    return np.concatenate(out)


def _unit(deg: float) -> tuple[np.ndarray, np.ndarray]:
    a = np.radians(deg)
    return np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])


def _snap(line: LineString) -> LineString:
    return shapely.set_precision(line, GRID_SIZE)


def _prefix_inside(xy: np.ndarray, area: Polygon) -> np.ndarray:
    """The vertices of a polyline up to (not including) the first one outside `area`."""
    inside = shapely.contains_xy(area, xy[:, 0], xy[:, 1])
    inside[0] = True
    stop = len(xy) if inside.all() else int(np.argmin(inside))
    return xy[:stop]


def county_road(outline: Polygon, axis_deg: float, rng: np.random.Generator) -> LineString:
    """A gently meandering road crossing the whole outline along its long axis."""
    u, n = _unit(axis_deg)
    ring = shapely.get_coordinates(outline.exterior)
    centre = np.asarray(outline.centroid.coords[0])
    along = (ring - centre) @ u
    s = np.linspace(along.min() - 800.0, along.max() + 800.0, 11)
    wavelength = rng.uniform(7000.0, 10000.0)
    lateral = 700.0 * np.sin(2 * np.pi * s / wavelength + rng.uniform(0, 2 * np.pi))
    lateral += rng.normal(0.0, 180.0, len(s))
    control = centre + s[:, None] * u + lateral[:, None] * n
    clipped = shapely.intersection(LineString(catmull_rom(control, 24)), outline)
    parts = shapely.get_parts(clipped)
    return _snap(parts[int(np.argmax(shapely.length(parts)))])


def branch_road(
    start: np.ndarray,
    heading_deg: float,
    length: float,
    wiggle: float,
    inner: Polygon,
    rng: np.random.Generator,
) -> LineString | None:
    """A curved road from `start` in direction `heading_deg`, cut where it leaves `inner`."""
    u, n = _unit(heading_deg)
    s = np.linspace(0.0, length, 6)
    lateral = np.r_[0.0, rng.normal(0.0, wiggle, len(s) - 1)]
    control = start + s[:, None] * u + lateral[:, None] * n
    xy = _prefix_inside(catmull_rom(control, 20), inner)
    if len(xy) < 2:
        return None
    return _snap(LineString(xy))


def township_roads(
    county: LineString, outline: Polygon, rng: np.random.Generator
) -> list[LineString]:
    """Three township roads branching off the county road into side valleys."""
    inner = outline.buffer(-400.0)
    roads = []
    for t, side in ((0.22, 1.0), (0.55, -1.0), (0.68, 1.0)):
        at = county.line_interpolate_point(t, normalized=True)
        ahead = county.line_interpolate_point(min(t + 0.01, 1.0), normalized=True)
        tangent = np.degrees(np.arctan2(ahead.y - at.y, ahead.x - at.x))
        heading = tangent + side * 90.0 + rng.uniform(-35.0, 35.0)
        road = branch_road(
            np.array(at.coords[0]), heading, rng.uniform(4500.0, 7000.0), 260.0, inner, rng
        )
        if road is not None and road.length > 1000.0:
            roads.append(road)
    return roads


def town_streets(county: LineString, seat: np.ndarray, rng: np.random.Generator) -> list:
    """Two short streets in the town seat: one parallel to the county road, one across it."""
    t = county.line_locate_point(Point(seat))
    a = np.array(county.line_interpolate_point(t - 30.0).coords[0])
    b = np.array(county.line_interpolate_point(t + 30.0).coords[0])
    u = (b - a) / np.hypot(*(b - a))
    n = np.array([-u[1], u[0]])
    s = np.linspace(-450.0, 450.0, 5)
    old = seat + 130.0 * n + s[:, None] * u + rng.normal(0.0, 12.0, (5, 1)) * n
    new = seat + 60.0 * u + s[:, None] * n * 0.9 + rng.normal(0.0, 12.0, (5, 1)) * u
    return [_snap(LineString(catmull_rom(p, 12))) for p in (old, new)]


def village_road(
    centre: np.ndarray, network: shapely.Geometry, outline: Polygon, rng: np.random.Generator
) -> LineString:
    """A curved road from the nearest point of `network` to a village centre."""
    start = np.array(shapely.get_coordinates(shapely.shortest_line(Point(centre), network))[1])
    d = float(np.hypot(*(centre - start)))
    direction = (centre - start) / max(d, 1e-9)
    normal = np.array([-direction[1], direction[0]])
    mids = [start + f * (centre - start) + rng.normal(0.0, 0.12 * d) * normal for f in (0.35, 0.7)]
    xy = catmull_rom(np.array([start, *mids, centre]), 12)
    line = LineString(xy)
    if not outline.contains(line):
        # A bend that leaves the town (concave outline) is straightened instead.
        line = LineString([start, centre])
    return _snap(line)


def points_along(
    lines: list[LineString], n: int, rng: np.random.Generator, lo: float = 0.0, hi: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Random points on `lines` (chosen by length) with the local bearing there.

    Returns
    -------
    xy : numpy.ndarray
        (n, 2) points.
    bearing : numpy.ndarray
        Direction of the road at each point, degrees clockwise from north (0-360).
    """
    lengths = np.array([line.length for line in lines])
    which = rng.choice(len(lines), size=n, p=lengths / lengths.sum())
    frac = rng.uniform(lo, hi, n)
    geoms = np.array(lines, dtype=object)[which]
    dist = frac * lengths[which]
    p = shapely.get_coordinates(shapely.line_interpolate_point(geoms, dist))
    q = shapely.get_coordinates(shapely.line_interpolate_point(geoms, dist + 5.0))
    r = shapely.get_coordinates(shapely.line_interpolate_point(geoms, np.maximum(dist - 5.0, 0)))
    dx, dy = (q - r).T
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
    return p, bearing
