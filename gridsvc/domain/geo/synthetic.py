"""A synthetic city: irregular cells tiling a square exactly, and points to assign to them.

Benchmarks and exactness tests need a layer that looks like real grids (irregular cells with
tens of vertices, wiggly shared borders) and whose topology is known to be perfect: every shared
edge is the same sequence of vertices, bit for bit, in both cells, and the cells cover the square
with no gap and no overlap. :func:`synthetic_city` builds one:

1. random seeds in the square, moved twice to the centroids of their clipped Voronoi cells
   (Lloyd's relaxation), so cells have similar sizes;
2. the Voronoi cells of the seeds (GEOS, ``shapely.voronoi_polygons``) clipped to the square;
3. a table of the cells' vertices, each stored once (vertices closer than a hair, from rounding
   in GEOS, are merged), and of their edges, each stored once;
4. every edge cut into pieces of about the same length, computed once per edge, so that the
   cell's mean vertex count is ``vertices``;
5. a smooth displacement field applied to every vertex once (so a shared vertex moves the same
   way in every cell), vanishing across the square's sides so the square stays a square; the
   amplitude is halved until every cell is valid;
6. coordinates rounded to multiples of 2**-10 m (about a millimetre): sums of two coordinates are
   then exact, so the midpoint of every edge is exactly representable and lies exactly on it.

Because cells are assembled from the tables, the tiling is exact by construction, not by luck.

References: S. Lloyd, "Least squares quantization in PCM" (1982), for the relaxation.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

__all__ = ["boundary_points", "synthetic_city", "synthetic_points"]

_LLOYD_STEPS = 2
_QUANTUM = 2.0**-10  # metres: coordinates are multiples of this
_WAVES = 6  # sinusoids per component of the displacement field
_AMPLITUDE = 0.12  # of a mean cell's side; halved until every cell is valid
_MAX_HALVINGS = 8


def _ranges(counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(c) for c in counts])``, without the Python loop."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum()), dtype=np.int64) - starts


def _metric_origin(crs: CRS, origin: tuple[float, float]) -> tuple[float, float]:
    """``origin`` (lon, lat in the CRS's own datum) projected to ``crs``, rounded to a metre."""
    axis = crs.axis_info[0] if crs.axis_info else None
    if not crs.is_projected or axis is None or axis.unit_name not in ("metre", "meter"):
        raise ValueError(f"synthetic_city needs a projected CRS in metres, not {crs.name!r}; "
                         "build in one and call to_crs for degrees")
    to_crs = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
    x, y = to_crs.transform(*origin)
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ValueError(f"origin {origin} cannot be projected to {crs.name!r}")
    return float(np.round(x)), float(np.round(y))


def _voronoi_cells(seeds: np.ndarray, square: shapely.Polygon, side: float) -> np.ndarray:
    """Voronoi cells of ``seeds`` clipped to ``square`` (only the cells that stick out are cut)."""
    if len(seeds) == 1:
        return np.array([square], dtype=object)
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=square, ordered=True))
    b = shapely.bounds(cells)
    out = (b[:, 0] < 0) | (b[:, 1] < 0) | (b[:, 2] > side) | (b[:, 3] > side)
    cells[out] = shapely.intersection(cells[out], square)
    return cells


def _seeds(n: int, side: float, rng: np.random.Generator) -> np.ndarray:
    """Random seeds relaxed by Lloyd's method (clipped cells' centroids)."""
    seeds = rng.uniform(0.0, side, (n, 2))
    square = shapely.box(0.0, 0.0, side, side)
    for _ in range(_LLOYD_STEPS if n > 1 else 0):
        seeds = shapely.get_coordinates(shapely.centroid(_voronoi_cells(seeds, square, side)))
    return seeds


def _vertex_rings(cells: np.ndarray, side: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells' exterior rings as vertex ids into one table of vertices, each stored once.

    Returns ``(vertices, vid, ring)``: ``vertices[vid[k]]`` is the k-th vertex, in ring order,
    of cell ``ring[k]`` (no closing vertex). Vertices within a hair of each other (rounding in
    GEOS) become one; consecutive repeats are dropped.
    """
    coords, ring = shapely.get_coordinates(shapely.get_exterior_ring(cells), return_index=True)
    last = np.r_[ring[1:] != ring[:-1], True]
    coords, ring = coords[~last], ring[~last]
    hair = 1e-9 * side
    coords[np.abs(coords) <= hair] = 0.0
    coords[np.abs(coords - side) <= hair] = side
    vertices, vid = np.unique(coords[:, 0] + 1j * coords[:, 1], return_inverse=True)
    vertices = np.column_stack([vertices.real, vertices.imag])
    pts = shapely.points(vertices)
    a, b = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=hair)
    if (a != b).any():
        rep = np.arange(len(vertices))
        while True:
            new = rep.copy()
            np.minimum.at(new, a, rep[b])
            new = new[new]
            if (new == rep).all():
                break
            rep = new
        used, rep = np.unique(rep, return_inverse=True)
        vertices, vid = vertices[used], rep[vid]
    keep = _drop_repeats(vid, ring)
    return vertices, vid[keep], ring[keep]


def _next_in_ring(ring: np.ndarray) -> np.ndarray:
    """Index of the next vertex of the same ring (cyclic), for rings stored contiguously."""
    k = np.arange(len(ring))
    start = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
    stop = np.r_[start[1:], len(ring)]
    nxt = k + 1
    nxt[stop - 1] = start
    return nxt


def _drop_repeats(vid: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Mask keeping a vertex unless it repeats the next one in its ring (cyclic)."""
    keep = np.ones(len(vid), dtype=bool)
    while True:
        idx = np.flatnonzero(keep)
        nxt = _next_in_ring(ring[idx])
        rep = (vid[idx] == vid[idx][nxt]) & (nxt != np.arange(len(idx)))
        if not rep.any():
            return keep
        # Drop one of each run's repeats at a time (a run may wrap around the ring's start).
        keep[idx[rep & ~np.r_[False, rep[:-1]]]] = False


def _segmentize(vertices: np.ndarray, vid: np.ndarray, ring: np.ndarray, n_cells: int,
                vertices_per_cell: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut every edge once into pieces of about the same length.

    Returns ``(points, pid, ring)``: the table of points (the vertices first, then the points
    added inside edges) and, per cell in ring order, point ids. An edge's inner points are
    computed from its lower vertex id to its higher one, whichever way a cell runs along it,
    so both cells of a shared edge get the same points.
    """
    nv = len(vertices)
    a = vid
    b = vid[_next_in_ring(ring)]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    edge_keys, occ_edge, mult = np.unique(lo * nv + hi, return_inverse=True, return_counts=True)
    e_lo, e_hi = np.divmod(edge_keys, nv)
    d = vertices[e_hi] - vertices[e_lo]
    length = np.hypot(d[:, 0], d[:, 1])
    # Step so that the cells' vertex counts add up to n_cells * vertices_per_cell.
    target = n_cells * vertices_per_cell
    step = float((mult * length).sum()) / target
    for _ in range(4):
        pieces = np.maximum(np.rint(length / step), 1).astype(np.int64)
        got = int((mult * pieces).sum())
        if got == target:
            break
        step *= got / target
    inner = pieces - 1
    first_inner = nv + np.cumsum(inner) - inner
    e = np.repeat(np.arange(len(pieces)), inner)
    t = (_ranges(inner) + 1) / pieces[e]
    added = vertices[e_lo[e]] + d[e] * t[:, None]
    points = np.concatenate([vertices, added])
    # Per edge occurrence, in ring order: its start vertex, then its inner points.
    k = pieces[occ_edge]
    occ = np.repeat(np.arange(len(a)), k)
    j = _ranges(k)
    forward = (a < b)[occ]
    edge = occ_edge[occ]
    pos = np.where(forward, j - 1, pieces[edge] - 1 - j)
    pid = np.where(j == 0, a[occ], first_inner[edge] + pos)
    return points, pid, ring[occ]


def _displacement(points: np.ndarray, side: float, cell: float,
                  rng: np.random.Generator) -> np.ndarray:
    """A smooth field (sums of plane waves a few cells long), tapered to 0 across the sides.

    The x component is exactly 0 where x is 0 or ``side``, the y one where y is; its largest
    value is 1 and its gradient at most about ``2 pi / (3 cell)``.
    """
    u, v = points[:, 0], points[:, 1]
    out = np.empty_like(points)
    for axis, w in ((0, u), (1, v)):
        wavelength = rng.uniform(3.0, 8.0, _WAVES) * cell
        theta = rng.uniform(0.0, 2 * np.pi, _WAVES)
        phase = rng.uniform(0.0, 2 * np.pi, _WAVES)
        kx, ky = 2 * np.pi / wavelength * np.cos(theta), 2 * np.pi / wavelength * np.sin(theta)
        f = np.sin(np.outer(u, kx) + np.outer(v, ky) + phase).mean(axis=1)
        taper = -np.expm1(-w / cell) * -np.expm1(-(side - w) / cell)
        out[:, axis] = f * taper
    return out


def synthetic_city(n_cells: int = 10_000, *, seed: int = 0, size_m: float = 50_000.0,
                   vertices: int = 60, crs: str | int | CRS = "EPSG:4549",
                   origin: tuple[float, float] = (119.0, 28.2)) -> gpd.GeoDataFrame:
    """Irregular cells tiling a square exactly, in a projected CRS in metres.

    Parameters
    ----------
    n_cells
        Number of cells (at least 1).
    seed
        Seed of the ``numpy.random.default_rng`` that draws everything: same seed, same city,
        bit for bit.
    size_m
        Side of the square, in metres.
    vertices
        Mean number of distinct vertices per cell (at least 3). Edges are cut into pieces of
        about the same length to reach it; a cell never has fewer vertices than its Voronoi
        cell (about 6), so small values are met only on average.
    crs
        A projected CRS in metres. The default, EPSG:4549, is CGCS2000 / 3-degree Gauss-Kruger
        CM 120E; call ``to_crs`` on the result for degrees (e.g. EPSG:4490).
    origin
        Longitude and latitude (in the datum of ``crs``) of the square's centre, which is put at
        the projected point rounded to the nearest metre.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``cell_id`` (``"C00001"``, ... numbered north to south in bands one mean cell
        high, west to east within a band; at least 5 digits) and ``geometry`` (valid Polygons
        without holes). The cells cover the square ``[x0, x0 + size_m] x [y0, y0 + size_m]``
        with no gap and no overlap, and every edge shared by two cells is the same sequence of
        vertices in both (in opposite directions). Coordinates are multiples of 2**-10 m.

    Raises
    ------
    ValueError
        When ``n_cells < 1``, ``vertices < 3``, ``size_m`` is not positive, or ``crs`` is not
        projected in metres.

    Examples
    --------
    >>> city = synthetic_city(50, seed=1, size_m=1_000.0)
    >>> len(city), bool(city.geometry.is_valid.all()), round(float(city.area.sum()))
    (50, True, 1000000)
    """
    if n_cells < 1:
        raise ValueError(f"n_cells must be at least 1, got {n_cells}")
    if vertices < 3:
        raise ValueError(f"vertices must be at least 3, got {vertices}")
    if not size_m > 0:
        raise ValueError(f"size_m must be positive, got {size_m}")
    crs = CRS.from_user_input(crs)
    cx, cy = _metric_origin(crs, origin)
    x0, y0 = cx - size_m / 2, cy - size_m / 2
    rng = np.random.default_rng(seed)
    side = float(size_m)
    cell = side / np.sqrt(n_cells)
    seeds = _seeds(n_cells, side, rng)
    cells = _voronoi_cells(seeds, shapely.box(0.0, 0.0, side, side), side)
    if len(cells) != n_cells or not shapely.is_valid(cells).all():
        raise ValueError(f"seed {seed} gave a degenerate Voronoi diagram; try another seed")
    table, vid, ring = _vertex_rings(cells, side)
    points, pid, ring = _segmentize(table, vid, ring, n_cells, vertices)
    field = _displacement(points, side, cell, rng)
    amplitude = _AMPLITUDE * cell
    for _ in range(_MAX_HALVINGS + 1):
        moved = points + amplitude * field
        moved[:, 0] = np.round((moved[:, 0] + x0) / _QUANTUM) * _QUANTUM
        moved[:, 1] = np.round((moved[:, 1] + y0) / _QUANTUM) * _QUANTUM
        geoms = shapely.polygons(shapely.linearrings(moved[pid], indices=ring))
        if shapely.is_valid(geoms).all():
            break
        amplitude /= 2
    else:  # pragma: no cover - the undisplaced Voronoi cells are valid
        raise ValueError(f"could not make valid cells for seed {seed}")
    centre = shapely.get_coordinates(shapely.centroid(geoms))
    band = np.floor((centre[:, 1] - y0) / cell)
    order = np.lexsort((centre[:, 0], -band))
    width = max(5, len(str(n_cells)))
    ids = [f"C{i:0{width}d}" for i in range(1, n_cells + 1)]
    return gpd.GeoDataFrame({"cell_id": ids}, geometry=geoms[order], crs=crs)


def synthetic_points(n: int, bounds: Sequence[float], *, seed: int) -> np.ndarray:
    """``n`` points drawn uniformly in ``bounds`` (xmin, ymin, xmax, ymax).

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 2)``, float64; ``(0, 2)`` when ``n`` is 0.

    Examples
    --------
    >>> synthetic_points(3, (0, 0, 10, 1), seed=0).shape
    (3, 2)
    """
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)])


def _exact_half_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a + b) / 2`` and whether it is exact (TwoSum error zero, no underflow)."""
    s = a + b
    bb = s - a
    err = (a - (s - bb)) + (b - bb)
    half = s / 2
    return half, (err == 0) & (half * 2 == s)


def boundary_points(geoms: Sequence[shapely.Geometry], n: int, *, seed: int) -> np.ndarray:
    """Points lying exactly on the cells' boundaries: vertices, and exact edge midpoints.

    Candidates are every distinct vertex of every ring (shells and holes) and the midpoint of
    every edge whose midpoint lies exactly on it: axis-parallel edges (the constant coordinate
    is exact, the other is between the ends), and edges whose coordinate sums are exact in
    floating point (always so for :func:`synthetic_city` in its own CRS). About half the points
    are vertices and half midpoints, drawn without repeats while candidates last.

    Parameters
    ----------
    geoms
        Polygons or MultiPolygons (a GeoSeries works).
    n
        Number of points wanted.
    seed
        Seed of the ``numpy.random.default_rng`` that picks them.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 2)``; ``(0, 2)`` when there is no candidate or ``n`` is 0.

    Examples
    --------
    >>> pts = boundary_points([shapely.box(0, 0, 2, 1)], 8, seed=0)
    >>> sorted(map(tuple, pts.tolist()))  # the 4 corners and the 4 midpoints
    [(0.0, 0.0), (0.0, 0.5), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0), (2.0, 0.0), (2.0, 0.5), (2.0, 1.0)]
    """
    geoms = np.asarray(geoms, dtype=object)
    rings = shapely.get_rings(shapely.get_parts(geoms))
    coords, of = shapely.get_coordinates(rings, return_index=True)
    same = of[1:] == of[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    a, b = a[(a != b).any(axis=1)], b[(a != b).any(axis=1)]
    mx, ex = _exact_half_sum(a[:, 0], b[:, 0])
    my, ey = _exact_half_sum(a[:, 1], b[:, 1])
    on_edge = (a[:, 0] == b[:, 0]) | (a[:, 1] == b[:, 1]) | (ex & ey)
    mids = np.column_stack([mx, my])[on_edge]
    verts = coords

    def distinct(p: np.ndarray) -> np.ndarray:
        return np.unique(p, axis=0) if len(p) else p.reshape(0, 2)

    verts, mids = distinct(verts), distinct(mids)
    rng = np.random.default_rng(seed)
    n_mid = min(n // 2, len(mids))
    n_vert = n - n_mid
    if len(verts) == 0:
        return np.empty((0, 2))
    pick_v = rng.choice(len(verts), n_vert, replace=n_vert > len(verts))
    pick_m = rng.choice(len(mids), n_mid, replace=False)
    return np.concatenate([verts[pick_v], mids[pick_m]])
