"""Tessellation of the demo town: outline, atoms and contiguous regions grown from seeds.

Boundaries that must tile exactly are never drawn one by one. The outline is cut into a few
thousand small Voronoi cells ("atoms") of Lloyd-relaxed random points, every region is a set of
atoms, and region polygons are coverage unions of their atoms, so two neighbouring regions share
exactly the same edge vertices. Regions are grown by a randomised priority breadth-first search
from seed atoms (each step adds an atom adjacent to the region), which keeps every region
contiguous; the boundary between two regions follows atom edges, which looks surveyed rather
than ruled.

All coordinates here are metric (EPSG:4549, CGCS2000 3-degree Gauss-Kruger CM 120E) and snapped to
a 1 cm grid.

References
----------
Lloyd, S. (1982). Least squares quantization in PCM. IEEE Trans. Inf. Theory 28(2), 129-137.
"""

from __future__ import annotations

import heapq

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon

METRIC_CRS = "EPSG:4549"
GEOGRAPHIC_CRS = "EPSG:4490"
GRID_SIZE = 0.01
"""Metric precision grid (1 cm); shared edges of atoms are identical on it."""


class RegionGrowthError(RuntimeError):
    """Region growing got stuck (a region could not reach its capacity); retry with new noise."""


def project_lonlat(lon: float, lat: float) -> tuple[float, float]:
    """Project one CGCS2000 lon/lat point to the metric CRS.

    Examples
    --------
    >>> x, y = project_lonlat(120.0, 0.0)
    >>> round(x), round(y)
    (500000, 0)
    """
    transformer = Transformer.from_crs(GEOGRAPHIC_CRS, METRIC_CRS, always_xy=True)
    x, y = transformer.transform(lon, lat)
    return float(x), float(y)


class SmoothField:
    """A smooth random scalar field in [-1, 1] made of a few plane waves.

    Used to bend region boundaries and to vary densities in space without an RNG call per point.

    Parameters
    ----------
    rng : numpy.random.Generator
    wavelengths : sequence of float
        Wavelengths in metres, one wave each.
    """

    def __init__(self, rng: np.random.Generator, wavelengths=(9000.0, 6000.0, 4000.0, 2500.0)):
        k = len(wavelengths)
        angles = rng.uniform(0.0, np.pi, k)
        number = 2.0 * np.pi / np.asarray(wavelengths, dtype=float)
        self._kx = number * np.cos(angles)
        self._ky = number * np.sin(angles)
        self._phase = rng.uniform(0.0, 2.0 * np.pi, k)
        self._amp = 1.0 / np.arange(1, k + 1) ** 0.5
        self._amp /= self._amp.sum()

    def __call__(self, x, y) -> np.ndarray:
        """Evaluate the field at arrays of coordinates."""
        x = np.asarray(x, dtype=float)[..., None]
        y = np.asarray(y, dtype=float)[..., None]
        return np.sum(self._amp * np.sin(self._kx * x + self._ky * y + self._phase), axis=-1)


def make_outline(
    rng: np.random.Generator,
    centre: tuple[float, float],
    area_m2: float,
    axis_deg: float,
    n_vertices: int = 720,
) -> Polygon:
    """Irregular town outline: an ellipse with radial noise from a few sinusoids.

    Parameters
    ----------
    rng : numpy.random.Generator
    centre : (float, float)
        Metric centre of the outline.
    area_m2 : float
        Area of the result (exact up to the 1 cm snapping).
    axis_deg : float
        Direction of the long axis, degrees counter-clockwise from east (the main valley).
    n_vertices : int
        Number of outline vertices.

    Returns
    -------
    shapely.Polygon
        A valid, star-shaped polygon around `centre`.
    """
    theta = np.linspace(0.0, 2.0 * np.pi, n_vertices, endpoint=False)
    radius = np.ones_like(theta)
    # Low harmonics shape the town, high ones make the border look like ridges and streams.
    harmonics = (
        (2, 0.09),
        (3, 0.08),
        (4, 0.05),
        (5, 0.04),
        (7, 0.025),
        (11, 0.015),
        (17, 0.01),
        (23, 0.007),
        (37, 0.005),
        (53, 0.003),
    )
    for k, amplitude in harmonics:
        radius += amplitude * rng.uniform(0.7, 1.3) * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    x = 1.3 * radius * np.cos(theta)
    y = 0.8 * radius * np.sin(theta)
    a = np.radians(axis_deg)
    xr = x * np.cos(a) - y * np.sin(a)
    yr = x * np.sin(a) + y * np.cos(a)
    scale = np.sqrt(area_m2 / Polygon(np.c_[xr, yr]).area)
    ring = np.c_[centre[0] + scale * xr, centre[1] + scale * yr]
    return shapely.set_precision(Polygon(ring), GRID_SIZE)


def random_points_in(polygon: Polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw `n` uniform random points inside `polygon` by rejection, as an (n, 2) array."""
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    chunks, count = [], 0
    while count < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(2 * n, 2))
        xy = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]
        chunks.append(xy)
        count += len(xy)
    return np.concatenate(chunks)[:n]


def make_atoms(
    outline: Polygon, n: int, rng: np.random.Generator, lloyd_iterations: int = 4
) -> np.ndarray:
    """Cut `outline` into about `n` Voronoi cells of Lloyd-relaxed random points.

    Returns
    -------
    numpy.ndarray of shapely.Polygon
        Valid polygons forming a valid coverage of `outline` (shared edges identical), in a
        deterministic order.
    """
    xy = random_points_in(outline, n, rng)
    extent = outline.buffer(5000.0)
    cells = None
    for _ in range(lloyd_iterations + 1):
        diagram = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=extent, ordered=True)
        # Snap-rounding on the 1 cm grid makes the two cells of a shared edge cut the outline at
        # exactly the same point.
        cells = shapely.intersection(shapely.get_parts(diagram), outline, grid_size=GRID_SIZE)
        xy = shapely.get_coordinates(shapely.centroid(cells))
    atoms = shapely.get_parts(cells)
    atoms = atoms[shapely.get_type_id(atoms) == 3]
    return atoms[shapely.area(atoms) > 1.0]


def adjacency(atoms: np.ndarray, min_shared_m: float = 0.5) -> list[np.ndarray]:
    """Neighbours of every atom: atoms sharing an edge of at least `min_shared_m` metres.

    Atoms touching at a single vertex are not neighbours, so a region grown along this graph is
    one polygon, never two polygons touching at a point.
    """
    tree = shapely.STRtree(atoms)
    i, j = tree.query(atoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(atoms[i]), shapely.boundary(atoms[j]))
    )
    keep = shared >= min_shared_m
    i, j = i[keep], j[keep]
    pairs = np.r_[np.c_[i, j], np.c_[j, i]]
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    split = np.searchsorted(pairs[:, 0], np.arange(len(atoms) + 1))
    return [pairs[split[k] : split[k + 1], 1] for k in range(len(atoms))]


def grow_regions(
    neighbours: list[np.ndarray],
    centroids: np.ndarray,
    members: np.ndarray,
    seeds: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    noise: np.ndarray,
    capacity: np.ndarray | None = None,
    zones: np.ndarray | None = None,
    crossing_cost: float = 0.0,
) -> np.ndarray:
    """Partition `members` into contiguous regions grown from `seeds`.

    At each step the region that is least filled relative to its target takes the frontier atom
    with the lowest priority, ``distance to its seed * noise[atom]``. Every added atom is adjacent
    to the region, so every region is connected.

    Parameters
    ----------
    neighbours : list of numpy.ndarray
        Adjacency lists (see `adjacency`), indexed by atom.
    centroids : numpy.ndarray
        (n_atoms, 2) atom centroids.
    members : numpy.ndarray
        Atom indices to partition; must be connected.
    seeds : numpy.ndarray
        One member atom per region.
    targets : numpy.ndarray
        Relative target weight per region.
    weights : numpy.ndarray
        Weight of every atom (area, expected houses, or 1 to count atoms).
    noise : numpy.ndarray
        Positive multiplicative factor per atom on the distance priority.
    capacity : numpy.ndarray, optional
        Hard maximum weight per region.
    zones : numpy.ndarray, optional
        A zone label per atom (e.g. its village). Stepping from one zone into another adds
        `crossing_cost` metres to the priority, so regions tend to fill a zone before leaving it
        and their boundaries partly follow zone boundaries.
    crossing_cost : float
        See `zones`.

    Returns
    -------
    numpy.ndarray
        Region index (0..len(seeds)-1) of every member, in the order of `members`.

    Raises
    ------
    RegionGrowthError
        If members remain but no region can take one (a region hit its capacity or is boxed in).
    """
    n_atoms = len(centroids)
    is_member = np.zeros(n_atoms, dtype=bool)
    is_member[members] = True
    label = np.full(n_atoms, -1)
    targets = np.asarray(targets, dtype=float)
    target_weight = targets / targets.sum() * weights[members].sum()
    capacity = np.full(len(seeds), np.inf) if capacity is None else np.asarray(capacity, float)
    load = np.zeros(len(seeds))
    heaps: list[list[tuple[float, int]]] = [[] for _ in seeds]

    def take(region: int, atom: int) -> None:
        label[atom] = region
        load[region] += weights[atom]
        sx, sy = centroids[seeds[region]]
        for b in neighbours[atom]:
            if is_member[b] and label[b] < 0:
                d = float(np.hypot(centroids[b, 0] - sx, centroids[b, 1] - sy) * noise[b])
                if zones is not None and zones[b] != zones[atom]:
                    d += crossing_cost
                heapq.heappush(heaps[region], (d, int(b)))

    for region, seed in enumerate(seeds):
        take(region, int(seed))
    remaining = int(is_member.sum()) - len(seeds)
    while remaining > 0:
        for region in np.argsort(load / target_weight, kind="stable"):
            heap = heaps[region]
            while heap and label[heap[0][1]] >= 0:
                heapq.heappop(heap)
            if heap and load[region] + weights[heap[0][1]] <= capacity[region] + 1e-9:
                break
        else:
            raise RegionGrowthError("no region can grow further")
        take(int(region), heapq.heappop(heap)[1])
        remaining -= 1
    return label[members]


def union_atoms(atoms: np.ndarray, indices) -> MultiPolygon:
    """Coverage union of some atoms as a MultiPolygon (exact shared edges, no slivers)."""
    merged = shapely.coverage_union_all(atoms[np.sort(np.asarray(indices))])
    return as_multipolygon(merged)


def as_multipolygon(geom) -> MultiPolygon:
    """Wrap a Polygon into a one-part MultiPolygon; pass MultiPolygons through."""
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    return geom


def is_simple_region(geom) -> bool:
    """True if `geom` is one valid polygon part without holes (a contiguous, hole-free region)."""
    parts = shapely.get_parts(geom)
    return (
        len(parts) == 1
        and bool(shapely.is_valid(parts[0]))
        and shapely.get_num_interior_rings(parts[0]) == 0
    )


def reading_order(x: np.ndarray, y: np.ndarray, band_m: float) -> np.ndarray:
    """Order points north to south in bands of `band_m` metres, west to east within a band.

    Returns
    -------
    numpy.ndarray
        Indices that sort the points (stable, deterministic).

    Examples
    --------
    >>> reading_order(np.array([5.0, 0.0, 1.0]), np.array([100.0, 100.0, 0.0]), 50.0).tolist()
    [1, 0, 2]
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    band = np.floor((y.max() - y) / band_m)
    return np.lexsort((x, band))


def connected(neighbours: list[np.ndarray], members: np.ndarray) -> bool:
    """True if the atoms `members` form one connected component of the adjacency graph."""
    members = np.asarray(members)
    if len(members) == 0:
        return False
    inside = np.zeros(len(neighbours), dtype=bool)
    inside[members] = True
    seen = np.zeros(len(neighbours), dtype=bool)
    stack = [int(members[0])]
    seen[members[0]] = True
    while stack:
        a = stack.pop()
        for b in neighbours[a]:
            if inside[b] and not seen[b]:
                seen[b] = True
                stack.append(int(b))
    return bool(seen[members].all())
