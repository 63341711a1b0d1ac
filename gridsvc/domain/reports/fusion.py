"""Police grid x governance grid: the crosswalk of grids and beats, and the mismatches.

Every input is in a **metric** CRS: areas are m² and lengths metres. The service projects the
stored EPSG:4490 cells to the metric CRS of their area (gridsvc.services.fusion.metric_crs).

Cells come as GeoDataFrames with an ``id`` column (business ids, unique per layer) and, for
layers with a parent (grids in villages, villages in towns), a ``parent_id`` column.

Intersections are found with ``shapely.STRtree.query(..., predicate="intersects")`` and computed
pair by pair in one vectorised ``shapely.intersection`` call: a 10,000 x 2,000 crosswalk makes
a few tens of thousands of pairs, where ``geopandas.overlay`` would also build the full union.
Overlaps smaller than :data:`NOISE_SHARE` of the smaller cell are floating-point noise (edges
that nearly coincide) and are dropped everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "CROSSWALK_COLUMNS", "NEST_TOLERANCE", "NOISE_SHARE", "SPLIT_SHARE", "Finding", "crosswalk",
    "findings",
]

#: Overlap pieces below this share of a cell's area are numerical noise, not land.
NOISE_SHARE = 1e-6
#: A cell counts as split across two cells of the other layer when each piece is above this
#: share of it (the demo town's generator uses the same 1%).
SPLIT_SHARE = 0.01
#: A child may stick out of its parent by this share of its own area before it is reported.
NEST_TOLERANCE = 1e-4

CROSSWALK_COLUMNS = ("grid_id", "beat_id", "overlap_m2", "grid_share", "households",
                     "residents", "shared_boundary_m", "primary")


@dataclass(frozen=True)
class Finding:
    """One mismatch between cells.

    Attributes
    ----------
    kind
        ``grid_split``, ``beat_cuts_village``, ``gap``, ``overlap``, ``sliver``,
        ``grid_outside_village``, ``village_outside_town`` or ``beat_outside_station``.
    layer
        The layer the finding is about (``grid``, ``beat``, ``village``, ``town``).
    cells
        Business ids of the cells involved (the split or nested cell first, then the others).
    geometry
        Where it is, in the inputs' metric CRS: the pieces of a split cell, the gap, the overlap,
        or the part of a child outside its parent.
    area_m2
        Area of ``geometry``.
    message
        One sentence a planner can act on.
    detail
        Extra numbers, e.g. ``{"shares": {"B01": 0.67, "B02": 0.33}}`` for a split.
    """

    kind: str
    layer: str
    cells: tuple[str, ...]
    geometry: Any
    area_m2: float
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


def _pairs(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Overlapping pairs of cells of ``a`` and ``b``: indices, intersections and their areas.

    Pairs whose overlap is below :data:`NOISE_SHARE` of the smaller cell are dropped (touching
    cells intersect in a line, nearly coincident edges in hair-thin slivers).
    """
    ga, gb = np.asarray(a.geometry.values), np.asarray(b.geometry.values)
    ia, ib = shapely.STRtree(gb).query(ga, predicate="intersects")
    pieces = shapely.intersection(ga[ia], gb[ib])
    area = shapely.area(pieces)
    floor = NOISE_SHARE * np.minimum(shapely.area(ga)[ia], shapely.area(gb)[ib])
    keep = area > floor
    return ia[keep], ib[keep], pieces[keep], area[keep]


def _shared_boundary(ga: np.ndarray, gb: np.ndarray) -> np.ndarray:
    """Length of the boundary two cells have in common (0 where they only cross or touch)."""
    common = shapely.intersection(shapely.boundary(ga), shapely.boundary(gb))
    return shapely.length(common)


def crosswalk(grids: gpd.GeoDataFrame, beats: gpd.GeoDataFrame, houses: pd.DataFrame
              ) -> pd.DataFrame:
    """Every (grid, beat) pair that overlaps, with what the overlap holds.

    Parameters
    ----------
    grids, beats
        Cells with an ``id`` column, in a metric CRS.
    houses
        Columns ``x, y, households, residents`` in the same CRS. A house counts in every
        overlap that *covers* it (boundary included), so a house exactly on a beat boundary
        inside a grid counts in both pieces.

    Returns
    -------
    pandas.DataFrame
        One row per pair, sorted by grid then beat id, columns :data:`CROSSWALK_COLUMNS`:
        ``overlap_m2``; ``grid_share`` (overlap / grid area); ``households``, ``residents`` of
        the houses in the overlap; ``shared_boundary_m``, the length of boundary the grid and
        the beat have in common; ``primary``, True for the beat with the largest share of the
        grid (ties go to the lowest beat id), one per grid. Overlaps below :data:`NOISE_SHARE`
        of the smaller cell are left out as numerical noise.

    Examples
    --------
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"id": ["G1"]}, geometry=[box(0, 0, 100, 100)])
    >>> beats = gpd.GeoDataFrame({"id": ["B1", "B2"]},
    ...                          geometry=[box(0, 0, 70, 100), box(70, 0, 200, 100)])
    >>> houses = pd.DataFrame({"x": [10.0], "y": [10.0], "households": [2], "residents": [5]})
    >>> crosswalk(grids, beats, houses)[["beat_id", "grid_share", "households", "primary"]]
      beat_id  grid_share  households  primary
    0      B1         0.7           2     True
    1      B2         0.3           0    False
    """
    ig, ib, pieces, area = _pairs(grids, beats)
    gg, gb = np.asarray(grids.geometry.values), np.asarray(beats.geometry.values)
    households = np.zeros(len(pieces))
    residents = np.zeros(len(pieces))
    if len(houses) and len(pieces):
        points = shapely.points(houses["x"].to_numpy(float), houses["y"].to_numpy(float))
        ip, ih = shapely.STRtree(points).query(pieces, predicate="covers")
        n = len(pieces)
        households = np.bincount(ip, houses["households"].to_numpy(float)[ih], minlength=n)
        residents = np.bincount(ip, houses["residents"].to_numpy(float)[ih], minlength=n)
    out = pd.DataFrame({
        "grid_id": grids["id"].to_numpy()[ig].astype(str),
        "beat_id": beats["id"].to_numpy()[ib].astype(str),
        "overlap_m2": area,
        "grid_share": area / shapely.area(gg[ig]) if len(ig) else area,
        "households": households.astype(np.int64),
        "residents": residents.astype(np.int64),
        "shared_boundary_m": _shared_boundary(gg[ig], gb[ib]),
    })
    out = out.sort_values(["grid_id", "grid_share", "beat_id"], ascending=[True, False, True])
    out["primary"] = ~out["grid_id"].duplicated()
    return out.sort_values(["grid_id", "beat_id"]).reset_index(drop=True)[list(CROSSWALK_COLUMNS)]


def _splits(kind: str, layer: str, cells: gpd.GeoDataFrame, others: gpd.GeoDataFrame,
            other_name: str) -> list[Finding]:
    """Cells of one layer cut by 2+ cells of another, each piece above :data:`SPLIT_SHARE`."""
    ic, io, pieces, area = _pairs(cells, others)
    share = area / shapely.area(np.asarray(cells.geometry.values))[ic]
    big = share > SPLIT_SHARE
    frame = pd.DataFrame({"c": ic[big], "o": io[big], "share": share[big]})
    pieces = pieces[big]
    out = []
    ids, other_ids = cells["id"].to_numpy(), others["id"].to_numpy()
    for c, group in frame.groupby("c", sort=True):
        if len(group) < 2:
            continue
        group = group.assign(oid=other_ids[group["o"]].astype(str)).sort_values("oid")
        shares = {o: round(float(s), 4) for o, s in zip(group["oid"], group["share"], strict=True)}
        geom = shapely.GeometryCollection(list(pieces[group.index.to_numpy()]))
        listed = ", ".join(f"{o} {s:.1%}" for o, s in shares.items())
        out.append(Finding(
            kind, layer, (str(ids[c]), *shares), geom, float(shapely.area(geom)),
            f"{layer} {ids[c]} is cut by {len(shares)} {other_name}s: {listed}",
            {"shares": shares}))
    return out


def _gaps(layer: str, cells: gpd.GeoDataFrame, sliver_m2: float) -> list[Finding]:
    """Holes in the union of a layer: land inside its outer boundary that no cell covers."""
    geoms = np.asarray(cells.geometry.values)
    if not len(geoms):
        return []
    union = shapely.union_all(geoms)
    rings = [r for part in shapely.get_parts(union) for r in part.interiors]
    tree, ids = shapely.STRtree(geoms), cells["id"].to_numpy()
    out = []
    floor = NOISE_SHARE * float(np.median(shapely.area(geoms)))
    for ring in rings:
        hole = shapely.Polygon(ring)
        if hole.area <= floor:
            continue
        near = tree.query(hole, predicate="intersects")
        # Neighbours are the cells sharing an edge with the hole, not those touching a corner.
        edge = shapely.length(shapely.intersection(shapely.boundary(geoms[near]), ring)) > 0
        around = tuple(sorted(str(i) for i in ids[near[edge] if edge.any() else near]))
        kind = "sliver" if hole.area < sliver_m2 else "gap"
        out.append(Finding(
            kind, layer, around, hole, float(hole.area),
            f"{hole.area:,.0f} m² between {layer}s {', '.join(around)} is in no {layer}"))
    return out


def _overlaps(layer: str, cells: gpd.GeoDataFrame, sliver_m2: float) -> list[Finding]:
    """Land in two cells of one layer (pairs whose intersection has a positive area)."""
    geoms = np.asarray(cells.geometry.values)
    # A valid coverage (shapely >= 2.1, GEOS coverage validation) has no overlaps: skip the
    # pairwise work. Invalid only says *some* edges disagree, so then every pair is checked.
    if not len(geoms) or shapely.coverage_is_valid(geoms):
        return []
    ia, ib, pieces, area = _pairs(cells, cells)
    ids = cells["id"].to_numpy().astype(str)
    out = []
    for a, b, piece, m2 in zip(ia, ib, pieces, area, strict=True):
        if ids[a] >= ids[b]:  # each pair once, and not a cell with itself
            continue
        kind = "sliver" if m2 < sliver_m2 else "overlap"
        out.append(Finding(
            kind, layer, (str(ids[a]), str(ids[b])), piece, float(m2),
            f"{m2:,.0f} m² is in both {layer}s {ids[a]} and {ids[b]}"))
    return out


def _outside_parent(kind: str, layer: str, children: gpd.GeoDataFrame,
                    parents: gpd.GeoDataFrame) -> list[Finding]:
    """Children not within their parent by more than :data:`NEST_TOLERANCE` of their area.

    A child naming a parent the layer lacks is outside as a whole. A child naming no parent
    (layers imported without a parent field, e.g. real police beats) is checked against the
    parent that holds most of it: it is reported when no single parent holds it. Without a
    parent layer there is nothing to check.
    """
    if not len(children) or not len(parents):
        return []
    by_id = dict(zip(parents["id"].astype(str), parents.geometry.values, strict=True))
    parent_layer = kind.rsplit("_", 1)[-1]
    tree = shapely.STRtree(parents.geometry.values)
    pids = parents["id"].astype(str).to_numpy()
    out = []
    for cid, pid, geom in zip(children["id"].astype(str), children["parent_id"],
                              children.geometry.values, strict=True):
        declared = not pd.isna(pid)
        if declared:
            parent = by_id.get(str(pid))
        else:
            near = tree.query(geom, predicate="intersects")
            shares = shapely.area(shapely.intersection(geom, parents.geometry.values[near]))
            if not len(near):
                parent, pid = None, None
            else:
                best = int(np.argmax(shares))
                parent, pid = parents.geometry.values[near[best]], pids[near[best]]
        outside = geom if parent is None else shapely.difference(geom, parent)
        if shapely.area(outside) <= NEST_TOLERANCE * geom.area:
            continue
        m2 = float(shapely.area(outside))
        if parent is None and declared:
            why = f"has no {parent_layer} {pid!r}"
        elif parent is None:
            why = f"lies in no {parent_layer}"
        elif declared:
            why = f"sticks out of {parent_layer} {pid} by {m2:,.0f} m²"
        else:
            why = (f"lies in no single {parent_layer}: {m2:,.0f} m² of it are outside "
                   f"{parent_layer} {pid}, which holds most of it")
        out.append(Finding(kind, layer, (cid,) if pid is None else (cid, str(pid)), outside,
                           m2, f"{layer} {cid} {why}", {"declared_parent": declared}))
    return out


def findings(grids: gpd.GeoDataFrame, beats: gpd.GeoDataFrame, villages: gpd.GeoDataFrame,
             towns: gpd.GeoDataFrame, *, sliver_m2: float,
             stations: gpd.GeoDataFrame | None = None) -> list[Finding]:
    """Every mismatch of the two hierarchies.

    Parameters
    ----------
    grids, villages, beats
        Cells with ``id`` and ``parent_id`` (a grid's village, a village's town, a beat's
        station; None where the layer was loaded without parents), metric CRS.
    towns, stations
        Cells with ``id``, same CRS; ``stations`` may be left out (no police nesting checks).
    sliver_m2
        Gaps and overlap pieces smaller than this are reported as ``sliver`` instead of ``gap``
        or ``overlap`` (slivers are usually digitising errors, gaps and overlaps decisions).

    Returns
    -------
    list of Finding
        In this order: ``grid_split`` (a grid cut by 2+ beats, each piece above
        :data:`SPLIT_SHARE` of it; the geometry is the pieces), ``beat_cuts_village`` (the same
        for a village), then per layer (grid, village, town, beat, station) ``gap`` (holes in
        the layer's union: land in no cell inside the layer's outer boundary), ``overlap`` and
        ``sliver``, then ``grid_outside_village``, ``village_outside_town`` and
        ``beat_outside_station`` (the part of the child outside its parent, above
        :data:`NEST_TOLERANCE` of the child; a child whose named parent is missing is outside
        as a whole; a child naming no parent is checked against the parent holding most of it).
    """
    out = _splits("grid_split", "grid", grids, beats, "beat")
    out += _splits("beat_cuts_village", "village", villages, beats, "beat")
    police = stations if stations is not None else beats.iloc[:0]
    for layer, cells in (("grid", grids), ("village", villages), ("town", towns),
                         ("beat", beats), ("station", police)):
        out += _gaps(layer, cells, sliver_m2)
        out += _overlaps(layer, cells, sliver_m2)
    out += _outside_parent("grid_outside_village", "grid", grids, villages)
    out += _outside_parent("village_outside_town", "village", villages, towns)
    if "parent_id" in beats:
        out += _outside_parent("beat_outside_station", "beat", beats, police)
    return out
