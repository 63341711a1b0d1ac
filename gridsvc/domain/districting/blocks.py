"""Blocks for districting (:mod:`gridsvc.domain.districting.regions`), and regions made from them.

Two kinds of blocks, both a *planar partition* of the parent: every block's boundary is made of
the same noded linework (:func:`shapely.polygonize` of the union of all the lines at once), so
neighbouring blocks share their edges vertex for vertex, and the union of a region's blocks is
clean: no slivers, no overlaps, and the regions together cover the parent exactly.

- :func:`area_blocks`: the cells inside a parent (the villages of a town or station area) as
  blocks, so a region never splits one. A part of the parent in no cell becomes a block of its
  own, so the regions still cover the parent.
- :func:`house_blocks`: a village cut into pieces for dividing it into grids. Houses are grouped
  by the square of a lattice they stand in (the lattice is sized so that about ``target`` squares
  hold houses); the Voronoi cells of the houses are merged per group, which gives house-cluster
  areas whose edges run midway between neighbouring houses of different clusters (and cover the
  empty land too). These areas are then cut along the roads. A region's boundary can therefore
  run along a road or between house clusters, never through a house's own cell.

Geometries are in any planar or lon/lat CRS; ``scale`` gives metres per unit in x and y for
measuring lengths and areas (:func:`metres_scale` for lon/lat degrees).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import Geometry

from gridsvc.domain.districting.graph import BlockGraph

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8
#: Default number of house-cluster pieces a village is cut into (before the road cuts).
TARGET_BLOCKS = 160
#: A boundary stretch closer than this to a road counts as along it (metres).
ROAD_SNAP_M = 0.5


@dataclass(frozen=True)
class Blocks:
    """Blocks covering a parent.

    Attributes
    ----------
    ids
        Block ids: the cell's id for :func:`area_blocks` (``"<parent>~k"`` for a part of the
        parent in no cell), ``"<parent>.k"`` for :func:`house_blocks`.
    geoms
        Polygons or MultiPolygons, a planar partition of the parent.
    households
        Households of the houses standing in each block.
    house_block
        Per house given: the index of its block, -1 for a house outside the parent.
    """

    ids: list[str]
    geoms: np.ndarray
    households: np.ndarray
    house_block: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def metres_scale(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at latitude ``lat`` (a local
    equirectangular frame: good to well under 1% across a town).

    >>> [round(v) for v in metres_scale(0.0)]
    [111195, 111195]
    """
    per_degree = EARTH_RADIUS_M * np.pi / 180.0
    return per_degree * float(np.cos(np.radians(lat))), per_degree


def _faces(parent: Geometry, lines: Sequence[Geometry]) -> np.ndarray:
    """The faces of the parent cut by ``lines``: a planar partition covering the parent."""
    parts = [shapely.boundary(parent)]
    parts += [g for g in shapely.intersection(np.asarray(lines, dtype=object), parent)
              if not shapely.is_empty(g)] if len(lines) else []
    noded = shapely.union_all(np.asarray(parts, dtype=object))
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    if len(faces) == 0:
        return faces
    inside = shapely.covers(parent, shapely.point_on_surface(faces))
    return faces[inside]


def _locate(geoms: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Index of the first geometry covering each point, -1 for none."""
    out = np.full(len(xy), -1, dtype=np.int64)
    if len(xy) == 0 or len(geoms) == 0:
        return out
    tree = shapely.STRtree(geoms)
    pts, hit = tree.query(shapely.points(xy), predicate="covered_by")
    order = np.lexsort((hit, pts))  # per point, the lowest geometry index first
    pts, hit = pts[order], hit[order]
    first = np.unique(pts, return_index=True)[1]
    out[pts[first]] = hit[first]
    return out


def _group(faces: np.ndarray, key: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Faces merged per key, in key order: the keys and the merged geometries."""
    keys, inverse = np.unique(key, return_inverse=True)
    geoms = np.array([shapely.coverage_union_all(faces[inverse == g]) for g in range(len(keys))],
                     dtype=object)
    return keys.tolist(), geoms


def area_blocks(parent: Geometry, cells: Sequence[Geometry], cell_ids: Sequence[str],
                house_xy: np.ndarray, households: np.ndarray, parent_id: str = "parent"
                ) -> Blocks:
    """The cells inside ``parent`` (clipped to it) as blocks; leftover parts as extra blocks.

    A cell that the parent cuts into several parts stays one block (it is never split). Where
    cells overlap, the face goes to the first cell covering it, in the order given.

    Parameters
    ----------
    parent
        The area to divide (a town or station boundary).
    cells, cell_ids
        The cells (villages) that should fill it, and their ids.
    house_xy, households
        The houses: ``(k, 2)`` coordinates and their households.
    parent_id
        Used in the ids of leftover blocks: ``"<parent_id>~1"``, ...
    """
    cells = np.asarray(cells, dtype=object)
    faces = _faces(parent, shapely.boundary(cells).tolist())
    owner = _locate(cells, shapely.get_coordinates(shapely.point_on_surface(faces)))
    leftovers = np.flatnonzero(owner < 0)
    key = owner.copy()
    key[leftovers] = len(cells) + np.arange(len(leftovers))  # each leftover face on its own
    keys, geoms = _group(faces, key)
    ids = [str(cell_ids[k]) if k < len(cells) else f"{parent_id}~{k - len(cells) + 1}"
           for k in keys]
    return _with_houses(ids, geoms, house_xy, households)


def house_blocks(parent: Geometry, house_xy: np.ndarray, households: np.ndarray,
                 roads: Sequence[Geometry] = (), *, scale: tuple[float, float] = (1.0, 1.0),
                 target: int = TARGET_BLOCKS, parent_id: str = "parent") -> Blocks:
    """A village cut into house-cluster pieces, and those cut along the roads.

    Parameters
    ----------
    parent
        The village.
    house_xy, households
        Houses ``(k, 2)`` and their households; houses outside the parent are ignored
        (``house_block`` -1).
    roads
        Lines to cut along (clipped to the parent; a road that ends inside a piece does not cut
        it, since only closed faces count).
    scale
        Metres per unit in x and y (the lattice is square in metres).
    target
        About how many house clusters to make; fewer when there are fewer houses.
    parent_id
        Block ids are ``"<parent_id>.1"``, ...

    Returns
    -------
    Blocks
        With no house inside, the parent cut by the roads alone.
    """
    xy = np.asarray(house_xy, dtype=float).reshape(-1, 2)
    inside = shapely.covers(parent, shapely.points(xy)) if len(xy) else np.zeros(0, bool)
    pts = np.unique(xy[inside], axis=0)
    lines: list[Geometry] = list(roads)
    if len(pts) >= 2:
        key = _lattice_keys(pts, scale, target)
        extent = shapely.buffer(shapely.envelope(parent), 1.0 / min(scale) * 100.0)
        cells = np.asarray(shapely.get_parts(shapely.voronoi_polygons(
            shapely.multipoints(pts), extend_to=extent, ordered=True)))
        if len(cells) == len(pts) and len(np.unique(key)) > 1:
            _, clusters = _group(cells, key)
            lines.extend(shapely.boundary(clusters).tolist())
    faces = _faces(parent, lines)
    geoms = np.asarray(faces, dtype=object)
    ids = [f"{parent_id}.{i + 1}" for i in range(len(geoms))]
    return _with_houses(ids, geoms, xy, households)


def _lattice_keys(pts: np.ndarray, scale: tuple[float, float], target: int) -> np.ndarray:
    """A lattice square key per point; the side (m) is halved or grown until about ``target``
    squares are occupied (a dozen bisection steps on the side length)."""
    m = pts * np.asarray(scale)
    span = np.ptp(m, axis=0).max() or 1.0
    lo, hi = span / 1e4, span

    def keys(side: float) -> np.ndarray:
        cell = np.floor((m - m.min(axis=0)) / side).astype(np.int64)
        return cell[:, 0] * (int(span / side) + 2) + cell[:, 1]

    for _ in range(30):
        mid = np.sqrt(lo * hi)
        if len(np.unique(keys(mid))) > target:
            lo = mid
        else:
            hi = mid
    return keys(hi)


def _with_houses(ids: list[str], geoms: np.ndarray, house_xy: np.ndarray,
                 households: np.ndarray) -> Blocks:
    xy = np.asarray(house_xy, dtype=float).reshape(-1, 2)
    where = _locate(geoms, xy)
    hh = np.asarray(households, dtype=np.int64)
    ok = where >= 0
    per_block = np.bincount(where[ok], weights=hh[ok], minlength=len(geoms)).astype(np.int64)
    return Blocks(ids, geoms, per_block, where)


def block_graph(blocks: Blocks, roads: Sequence[Geometry] = (), *,
                scale: tuple[float, float] = (1.0, 1.0)) -> BlockGraph:
    """The adjacency of the blocks with shared boundary lengths (m), and the metres of them
    along a road (within :data:`ROAD_SNAP_M`).

    Blocks that only touch at a point are not neighbours. When the blocks fall apart into
    several groups (an island), each group is linked to the nearest block of another group by
    an edge of length 0, so a region may, like the parent itself, be in parts.
    """
    geoms = blocks.geoms
    sx, sy = scale
    metric = shapely.transform(geoms, lambda c: c * np.array([sx, sy]))
    cent = shapely.get_coordinates(shapely.centroid(metric))
    area = shapely.area(metric)
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.intersection(shapely.boundary(metric[left]), shapely.boundary(metric[right]))
    length = shapely.length(shared)
    touching = length > 1e-6
    left, right = left[touching], right[touching]
    shared, length = shared[touching], length[touching]
    road_m = np.zeros(len(length))
    road_lines = [shapely.transform(r, lambda c: c * np.array([sx, sy])) for r in roads]
    if road_lines and len(shared):
        near = shapely.buffer(shapely.union_all(road_lines), ROAD_SNAP_M)
        road_m = shapely.length(shapely.intersection(shared, near))
    edges = np.column_stack([left, right]).astype(np.int64).reshape(-1, 2)
    edges, length, road_m = _link_islands(edges, length, road_m, metric)
    return BlockGraph(ids=list(blocks.ids), households=np.asarray(blocks.households),
                      x=cent[:, 0], y=cent[:, 1], area=area, edges=edges, length=length,
                      road=road_m)


def _link_islands(edges: np.ndarray, length: np.ndarray, road: np.ndarray, metric: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(len(metric)))
    graph.add_edges_from(edges.tolist())
    parts = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: c[0])
    extra = []
    linked = np.asarray(parts[0])
    for part in parts[1:]:  # link each group to the nearest block of the groups before it
        part = np.asarray(part)
        tree = shapely.STRtree(metric[linked])
        src, dst = tree.query_nearest(metric[part], all_matches=False)
        d = shapely.distance(metric[part[src]], metric[linked[dst]])
        k = int(np.argmin(d))
        i, j = int(part[src[k]]), int(linked[dst[k]])
        extra.append((min(i, j), max(i, j)))
        linked = np.concatenate([linked, part])
    if not extra:
        return edges, length, road
    return (np.vstack([edges, np.array(extra, dtype=np.int64)]),
            np.concatenate([length, np.zeros(len(extra))]),
            np.concatenate([road, np.zeros(len(extra))]))


def region_geometries(blocks: Blocks, labels: np.ndarray, n: int) -> list[Geometry]:
    """The union of each region's blocks (a coverage union: shared edges dissolve exactly), a
    Polygon or, for a region in parts, a MultiPolygon."""
    out = []
    for r in range(n):
        union = shapely.make_valid(shapely.coverage_union_all(blocks.geoms[labels == r]))
        polygons = [p for p in shapely.get_parts(union) if p.geom_type == "Polygon"]
        out.append(polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons))
    return out
