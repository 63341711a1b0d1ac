"""Where people live: village centres, the house density model and house placement.

Settlement follows the valleys: the seats of the 镇 and the 乡 lie on the county road, most
villages sit beside the county or a township road, a few lie up in the hills. The density of
houses is a mixture of Gaussian clusters around village centres and ribbons along roads. The
mixture is sampled once without constraints to estimate where houses will be (this balances grids
and beats by households before any house exists), and again, under constraints, to place the
houses themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from .geometry import random_points_in
from .roads import Road, points_along

ZHEN_SEAT, XIANG_SEAT, ROAD, MOUNTAIN = "zhen_seat", "xiang_seat", "road", "mountain"


def place_village_centres(
    outline: Polygon,
    county: LineString,
    township: list[LineString],
    rng: np.random.Generator,
    n_road: int = 19,
    n_mountain: int = 9,
) -> tuple[np.ndarray, list[str]]:
    """Centres of the 30 villages: two seats on the county road, then valley and hill villages.

    Returns
    -------
    xy : numpy.ndarray
        (n, 2) centres; row 0 is the 镇 seat and row 1 the 乡 seat.
    kinds : list of str
        ZHEN_SEAT, XIANG_SEAT, ROAD or MOUNTAIN for every centre.
    """
    seats = [county.line_interpolate_point(t, normalized=True).coords[0] for t in (0.42, 0.8)]
    xy = [np.array(p) for p in seats]
    kinds = [ZHEN_SEAT, XIANG_SEAT]
    roads = [county, *township]
    network = shapely.union_all(roads)
    inner = outline.buffer(-600.0)
    hills = outline.buffer(-900.0)
    separation = {ROAD: 1700.0, MOUNTAIN: 2200.0}
    wanted = [ROAD] * n_road + [MOUNTAIN] * n_mountain
    failures = 0
    while wanted:
        kind = wanted[0]
        if kind == ROAD:
            p, bearing = points_along(roads, 1, rng, 0.03, 0.97)
            a = np.radians(bearing[0])
            side = rng.choice((-1.0, 1.0)) * rng.uniform(80.0, 350.0)
            cand = p[0] + side * np.array([np.cos(a), -np.sin(a)])
            ok = inner.contains(shapely.Point(cand))
        else:
            cand = random_points_in(hills, 1, rng)[0]
            ok = network.distance(shapely.Point(cand)) >= 800.0
        spacing = min(np.hypot(*(np.array(xy) - cand).T))
        if ok and spacing >= separation[kind]:
            xy.append(cand)
            kinds.append(kind)
            wanted.pop(0)
        else:
            failures += 1
            if failures % 400 == 0:
                # The outline is fixed, so relax the spacing rather than loop forever.
                separation = {k: 0.95 * v for k, v in separation.items()}
    return np.array(xy), kinds


@dataclass
class Component:
    """One part of the house density mixture.

    Either a Gaussian cluster (``centre``, ``sigma``) or a ribbon along ``lines`` at a distance of
    ``min_offset + |N(0, sigma)|`` on either side.
    """

    weight: float
    sigma: float
    centre: np.ndarray | None = None
    lines: list[LineString] | None = None
    min_offset: float = 0.0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw `n` unconstrained points of this component."""
        if self.centre is not None:
            return self.centre + rng.normal(0.0, self.sigma, (n, 2))
        p, bearing = points_along(self.lines, n, rng)
        a = np.radians(bearing)
        normal = np.c_[np.cos(a), -np.sin(a)]
        distance = self.min_offset + np.abs(rng.normal(0, self.sigma, n))
        offset = rng.choice((-1.0, 1.0), n) * distance
        return p + offset[:, None] * normal


def house_mixture(
    centres: np.ndarray, kinds: list[str], roads: list[Road], rng: np.random.Generator
) -> list[Component]:
    """The density mixture of houses; weights are relative numbers of houses."""
    comps = []
    for xy, kind in zip(centres, kinds, strict=True):
        if kind == ZHEN_SEAT:
            weight, sigma = 1500.0, 320.0
        elif kind == XIANG_SEAT:
            weight, sigma = 420.0, 220.0
        elif kind == ROAD:
            weight, sigma = rng.uniform(170.0, 310.0), rng.uniform(140.0, 200.0)
        else:
            weight, sigma = rng.uniform(70.0, 160.0), rng.uniform(100.0, 140.0)
        comps.append(Component(weight=weight, sigma=sigma, centre=np.asarray(xy)))
    ribbons = {"county": (1300.0, 45.0, 14.0), "township": (700.0, 40.0, 10.0)}
    for road_class, (weight, sigma, min_offset) in ribbons.items():
        lines = [r.line for r in roads if r.road_class == road_class]
        comps.append(Component(weight, sigma, lines=lines, min_offset=min_offset))
    village = [r.line for r in roads if r.road_class == "village"]
    comps.append(Component(550.0, 30.0, lines=village, min_offset=9.0))
    return comps


def split_counts(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts proportional to `weights` that sum exactly to `total` (largest remainder).

    Examples
    --------
    >>> split_counts(np.array([1.0, 1.0, 1.0]), 10).tolist()
    [4, 3, 3]
    """
    raw = np.asarray(weights, dtype=float) / np.sum(weights) * total
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def expected_houses(
    atoms: np.ndarray, comps: list[Component], total: int, rng: np.random.Generator
) -> np.ndarray:
    """Expected number of houses per atom, from an unconstrained sample of the mixture."""
    n_sample = 4 * total
    counts = split_counts(np.array([c.weight for c in comps]), n_sample)
    xy = np.concatenate([c.sample(k, rng) for c, k in zip(comps, counts, strict=True)])
    tree = shapely.STRtree(atoms)
    point_idx, atom_idx = tree.query(shapely.points(xy), predicate="within")
    del point_idx
    return np.bincount(atom_idx, minlength=len(atoms)) * (total / n_sample)


class HousePlacer:
    """Accepts candidate house points that keep clear of boundaries, roads and each other.

    Parameters
    ----------
    outline : shapely.Polygon
    boundaries : numpy.ndarray of shapely.LineString
        Segments of every region boundary (villages, grids, beats) that houses keep clear of.
    roads : list of Road
    no_go : shapely.Geometry
        Areas no free house may stand in (compounds, with a margin).
    boundary_clearance, spacing : float
        Minimum distance to a boundary and between two houses, metres.
    """

    road_clearance: ClassVar[dict[str, float]] = {"county": 12.0, "township": 8.0, "village": 6.0}

    def __init__(
        self,
        outline: Polygon,
        boundaries: np.ndarray,
        roads: list[Road],
        no_go,
        boundary_clearance: float = 5.0,
        spacing: float = 8.0,
    ):
        self.outline = outline
        shapely.prepare(outline)
        self.boundary_tree = shapely.STRtree(boundaries)
        self.road_trees = {
            cls: shapely.STRtree(segments([r.line for r in roads if r.road_class == cls]))
            for cls in self.road_clearance
        }
        self.no_go = no_go
        shapely.prepare(no_go)
        self.boundary_clearance = boundary_clearance
        self.spacing = spacing
        self._cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
        self.accepted: list[tuple[float, float]] = []

    def clear(self, xy: np.ndarray, check_roads: bool = True, check_no_go: bool = True):
        """Vectorised test of everything except the spacing between houses."""
        ok = shapely.contains_xy(self.outline, xy[:, 0], xy[:, 1])
        pts = shapely.points(xy)
        hit, _ = self.boundary_tree.query(pts, "dwithin", distance=self.boundary_clearance)
        ok[hit] = False
        if check_roads:
            for cls, tree in self.road_trees.items():
                hit, _ = tree.query(pts, "dwithin", distance=self.road_clearance[cls])
                ok[hit] = False
        if check_no_go:
            ok &= ~shapely.contains_xy(self.no_go, xy[:, 0], xy[:, 1])
        return ok

    def reserve(self, xy: np.ndarray) -> None:
        """Mark points (offices, compound buildings) that free houses must keep clear of."""
        for x, y in xy:
            self._insert(float(x), float(y))

    def _key(self, x: float, y: float) -> tuple[int, int]:
        return int(np.floor(x / self.spacing)), int(np.floor(y / self.spacing))

    def _insert(self, x: float, y: float) -> None:
        self._cells.setdefault(self._key(x, y), []).append((x, y))

    def _free(self, x: float, y: float) -> bool:
        kx, ky = self._key(x, y)
        s2 = self.spacing**2
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for px, py in self._cells.get((kx + dx, ky + dy), ()):
                    if (px - x) ** 2 + (py - y) ** 2 < s2:
                        return False
        return True

    def add(self, xy: np.ndarray, limit: int, **clear_kwargs) -> np.ndarray:
        """Accept up to `limit` of the candidates `xy`, in order; return the accepted points."""
        out = []
        for x, y in xy[self.clear(xy, **clear_kwargs)]:
            if len(out) >= limit:
                break
            if self._free(float(x), float(y)):
                self._insert(float(x), float(y))
                out.append((float(x), float(y)))
        return np.array(out, dtype=float).reshape(-1, 2)

    def fill(self, comps: list[Component], total: int, rng: np.random.Generator) -> np.ndarray:
        """Place `total` houses from the mixture; a component that runs out passes its quota on."""
        counts = split_counts(np.array([c.weight for c in comps]), total)
        placed = []
        carry = 0
        for comp, want in zip(comps, counts, strict=True):
            want += carry
            for _ in range(40):
                if want == 0:
                    break
                got = self.add(comp.sample(max(64, 3 * want), rng), want)
                placed.append(got)
                want -= len(got)
            carry = want
        if carry:
            raise RuntimeError(f"could not place {carry} houses")
        return np.concatenate(placed)


def segments(geoms) -> np.ndarray:
    """Split lines, or the rings of polygons, into two-point segments (for a tight STRtree)."""
    out = []
    for geom in geoms:
        linear = shapely.boundary(geom) if shapely.get_dimensions(geom) == 2 else geom
        for part in shapely.get_parts(linear):
            xy = shapely.get_coordinates(part)
            out.append(np.stack([xy[:-1], xy[1:]], axis=1))
    if not out:
        return np.array([], dtype=object)
    return shapely.linestrings(np.concatenate(out))
