"""Point and small-polygon features: compounds, police offices, patrol points and cameras.

Every feature is placed by drawing candidates and keeping those that are clear of cell boundaries
(see `settlement.HousePlacer.clear`), so which cell a feature lies in never hinges on a tie-break.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, Polygon

from . import names
from .geometry import GRID_SIZE, reading_order
from .roads import Road, points_along
from .settlement import HousePlacer

RISK_SHARES = {"red": 0.2, "orange": 0.35}
"""Shares of red and orange compounds (分色预警); the rest are green."""


def draw_clear(
    placer: HousePlacer, sampler: Callable[[int], np.ndarray], n: int, **clear_kwargs
) -> np.ndarray:
    """Draw points from ``sampler(k)`` until `n` of them are clear of boundaries (in draw order)."""
    out, count = [], 0
    for _ in range(200):
        xy = sampler(max(2 * (n - count), 8))
        ok = placer.clear(xy, **clear_kwargs)
        out.append(xy[ok])
        count += int(ok.sum())
        if count >= n:
            return np.concatenate(out)[:n]
    raise RuntimeError("could not place features clear of boundaries")


def _rectangle(centre: np.ndarray, bearing_deg: float, length: float, width: float) -> Polygon:
    a = np.radians(bearing_deg)
    u = np.array([np.sin(a), np.cos(a)])  # along the road (bearing is clockwise from north)
    n = np.array([u[1], -u[0]])
    corners = [
        centre + su * length / 2 * u + sn * width / 2 * n
        for su, sn in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    return shapely.set_precision(Polygon(corners), GRID_SIZE)


def place_compounds(
    seat_village: Polygon,
    county: LineString,
    seat_xy: np.ndarray,
    roads: list[Road],
    rng: np.random.Generator,
    n: int = 20,
) -> pd.DataFrame:
    """Residential compounds in the 镇 seat: rectangles aligned with the county road.

    Returns
    -------
    pandas.DataFrame
        Columns ``geometry`` (metric polygon), ``bearing`` (degrees, of the long side), ``name``,
        ``risk_colour`` and the three 三无 flags, ordered north to south, west to east.
    """
    inside = seat_village.buffer(-12.0)
    network = shapely.union_all([r.line for r in roads])
    at = county.line_locate_point(Point(seat_xy))
    polys, bearings = [], []
    for _ in range(20000):
        if len(polys) == n:
            break
        d = at + rng.uniform(-750.0, 750.0)
        p = np.array(county.line_interpolate_point(d).coords[0])
        q = np.array(county.line_interpolate_point(d + 5.0).coords[0])
        bearing = float(np.degrees(np.arctan2(*(q - p))) % 360.0)
        a = np.radians(bearing)
        normal = np.array([np.cos(a), -np.sin(a)]) * rng.choice((-1.0, 1.0))
        rect = _rectangle(
            p + rng.uniform(40.0, 320.0) * normal,
            bearing,
            rng.uniform(50.0, 120.0),
            rng.uniform(35.0, 70.0),
        )
        if (
            inside.contains(rect)
            and rect.distance(network) >= 12.0
            and all(rect.distance(other) >= 15.0 for other in polys)
        ):
            polys.append(rect)
            bearings.append(bearing)
    if len(polys) < n:
        raise RuntimeError("could not place the compounds")
    c = shapely.get_coordinates(shapely.centroid(polys))
    order = reading_order(c[:, 0], c[:, 1], 150.0)
    n_red, n_orange = (round(share * n) for share in RISK_SHARES.values())
    colours = rng.permutation(
        np.array(["red"] * n_red + ["orange"] * n_orange + ["green"] * (n - n_red - n_orange))
    )
    flags = np.zeros((n, 3), dtype=bool)
    for k, colour in enumerate(colours):
        count = {"red": rng.integers(2, 4), "orange": 1, "green": int(rng.random() < 0.1)}[colour]
        flags[k, rng.permutation(3)[:count]] = True
    return pd.DataFrame(
        {
            "geometry": [polys[k] for k in order],
            "bearing": [bearings[k] for k in order],
            "name": list(rng.permutation(np.array(names.COMPOUND_NAMES))[:n]),
            "risk_colour": colours,
            "no_property_management": flags[:, 0],
            "no_competent_department": flags[:, 1],
            "no_security": flags[:, 2],
        }
    )


def compound_buildings(compounds: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Candidate building points on a lattice inside every compound (6 m from its fence).

    Returns
    -------
    xy : numpy.ndarray
        (m, 2) points.
    compound : numpy.ndarray
        Index of the compound of every point.
    """
    xy, owner = [], []
    for k, (poly, bearing) in enumerate(zip(compounds.geometry, compounds.bearing, strict=True)):
        a = np.radians(bearing)
        u = np.array([np.sin(a), np.cos(a)])
        n = np.array([u[1], -u[0]])
        c = np.asarray(poly.centroid.coords[0])
        s, t = np.meshgrid(np.arange(-60.0, 61.0, 18.0), np.arange(-33.0, 34.0, 22.0))
        pts = c + s.reshape(-1, 1) * u + t.reshape(-1, 1) * n
        pts = pts[shapely.contains_xy(poly.buffer(-6.0), pts[:, 0], pts[:, 1])]
        xy.append(pts)
        owner.append(np.full(len(pts), k))
    return np.concatenate(xy), np.concatenate(owner)


def place_offices(placer: HousePlacer, seats: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """One police office (警务室) near each seat, clear of boundaries, roads and compounds."""
    rows = []
    for k, (seat, name) in enumerate(zip(seats, ("八都集镇警务室", "竹垟警务室"), strict=True)):

        def near(m: int, seat=seat) -> np.ndarray:
            angle = rng.uniform(0, 2 * np.pi, m)
            r = rng.uniform(30.0, 150.0, m)
            return seat + np.c_[np.cos(angle), np.sin(angle)] * r[:, None]

        xy = draw_clear(placer, near, 1)[0]
        placer.reserve(xy[None, :])
        rows.append(
            {
                "id": f"O{k + 1:02d}",
                "name": name,
                "station_id": names.STATION_ID,
                "opening_hours": ("08:30-17:30", "08:30-12:00,14:00-17:30")[k],
                "phone": f"0578-79901{k + 1:02d}",
                "x": xy[0],
                "y": xy[1],
            }
        )
    return pd.DataFrame(rows)


def place_patrol_points(
    placer: HousePlacer,
    seats: np.ndarray,
    village_centres: np.ndarray,
    village_names: list[str],
    village_at: Callable[[np.ndarray], np.ndarray],
    roads: list[Road],
    rng: np.random.Generator,
    total: int = 120,
) -> pd.DataFrame:
    """Patrol points (必巡点): key sites of the two seats (level 1), village sites (level 2) and
    bridges on the main roads (level 2) filling up to `total`.

    ``village_at(xy)`` returns the village index of points; bridges are named after it.
    """
    sites: list[tuple[str, int, np.ndarray, float]] = []
    sites += [(s, 1, seats[0], 500.0) for s in names.ZHEN_KEY_SITES]
    sites += [(s, 1, seats[1], 300.0) for s in names.XIANG_KEY_SITES]
    sites += [(s, 2, seats[0], 600.0) for s in names.ZHEN_MINOR_SITES]
    for v, (centre, name) in enumerate(zip(village_centres, village_names, strict=True)):
        office = "居委会" if name.endswith("社区") else "村委会"
        sites.append((name + office, 2, centre, 120.0))
        for kind in rng.permutation(np.array(names.VILLAGE_SITE_KINDS))[: 1 + v % 2]:
            sites.append((names.short(name) + kind, 2, centre, 300.0))
    sites = sites[:total]
    rows = []
    for name, level, centre, radius in sites:

        def near(m: int, centre=centre, radius=radius) -> np.ndarray:
            return centre + rng.normal(0.0, radius / 2, (m, 2))

        xy = draw_clear(placer, near, 1, check_roads=False, check_no_go=False)[0]
        rows.append({"name": name, "level": level, "x": xy[0], "y": xy[1]})
    main = [r.line for r in roads if r.road_class in ("county", "township")]
    bridges: dict[str, int] = {}
    while len(rows) < total:

        def on_road(m: int) -> np.ndarray:
            return points_along(main, m, rng, 0.02, 0.98)[0]

        xy = draw_clear(placer, on_road, 1, check_roads=False, check_no_go=False)[0]
        village = names.short(village_names[int(village_at(xy[None, :])[0])])
        bridges[village] = bridges.get(village, 0) + 1
        name = f"{village}{'' if bridges[village] == 1 else bridges[village]}桥"
        rows.append({"name": name, "level": 2, "x": xy[0], "y": xy[1]})
    out = pd.DataFrame(rows)
    out.insert(0, "id", [f"PP{i + 1:03d}" for i in range(len(out))])
    return out


def place_cameras(
    placer: HousePlacer,
    roads: list[Road],
    seats: np.ndarray,
    rng: np.random.Generator,
    total: int = 300,
) -> pd.DataFrame:
    """Cameras along roads, about a third of them within 800 m of the 镇 seat.

    A camera stands 4-9 m beside a road and looks along it (either way) with some spread; the
    name is the road and its chainage (桩号) in the county style "K3+450".
    """
    lines = [r.line for r in roads]
    in_town = total // 3
    in_xiang = total // 12
    rows = []
    for want, centre, radius in (
        (in_town, seats[0], 800.0),
        (in_xiang, seats[1], 500.0),
        (total, None, None),
    ):
        while len(rows) < want:
            which = rng.choice(len(lines), p=_lengths(lines, centre, radius))
            line = lines[which]
            lo, hi = _span(line, centre, radius)
            xy, bearing = points_along([line], 1, rng, lo, hi)
            side = rng.choice((-1.0, 1.0)) * rng.uniform(4.0, 9.0)
            a = np.radians(bearing[0])
            p = xy[0] + side * np.array([np.cos(a), -np.sin(a)])
            if not placer.clear(p[None, :], check_roads=False, check_no_go=False)[0]:
                continue
            chainage = line.line_locate_point(Point(xy[0]))
            road = roads[which]
            rows.append(
                {
                    "name": f"{road.name}K{int(chainage // 1000)}+{int(chainage % 1000):03d}",
                    "heading_deg": int(
                        (bearing[0] + rng.choice((0.0, 180.0)) + rng.normal(0, 20)) % 360
                    ),
                    "fov_deg": int(rng.integers(40, 111)),
                    "range_m": int(
                        rng.integers(20, 121) if centre is None else rng.integers(20, 81)
                    ),
                    "x": p[0],
                    "y": p[1],
                }
            )
    out = pd.DataFrame(rows)
    out.insert(0, "id", [f"CAM{i + 1:03d}" for i in range(len(out))])
    return out


def _lengths(lines: list[LineString], centre, radius) -> np.ndarray:
    """Probability of every line: its length, or its length within `radius` of `centre`."""
    if centre is None:
        w = np.array([line.length for line in lines])
    else:
        disc = Point(centre).buffer(radius)
        w = np.array([line.intersection(disc).length for line in lines])
    return w / w.sum()


def _span(line: LineString, centre, radius) -> tuple[float, float]:
    """Fractions of `line` between which it passes within `radius` of `centre` (approximate)."""
    if centre is None:
        return 0.0, 1.0
    xy = shapely.get_coordinates(line)
    near = np.hypot(*(xy - centre).T) <= radius
    if not near.any():
        return 0.0, 1.0
    along = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))] / line.length
    return float(along[near].min()), float(along[near].max())
