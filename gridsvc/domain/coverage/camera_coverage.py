"""Camera coverage: each camera's sector, and how much of every grid and compound it sees.

Every input is in a **metric** CRS (areas in m², ranges in metres); the service projects the
stored EPSG:4490 points and cells to the metric CRS of their area before calling.

A camera (监控点位) sees a circular sector: centred on its point, of radius ``range_m``, opening
``fov_deg`` degrees around ``heading_deg`` (0 = north, clockwise, as a compass). ``fov_deg`` 360
is a full disc. Walls and terrain are not modelled: the sector is what the camera could see.

Per grid and per compound, the covered share of the area, of the patrol points and of the
compound entrances (小区出入口) is reported. An entrance lies on its compound's fence, so it is
counted for its compound by its ``compound_id`` (not by geometry, which a rounding could put a
centimetre outside), and for the grid that covers it, as a camera is.

A camera is counted for the grid that covers its point (boundary included); a camera on a
shared edge goes to the grid with the smallest id, the tie-break of the SQL assignment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridsvc.errors import InvalidInput, Problem

__all__ = ["CameraCoverage", "camera_coverage", "sectors"]

#: Columns of :attr:`CameraCoverage.grids`.
GRID_COLUMNS = ("grid_id", "area_m2", "covered_m2", "covered_share", "cameras", "residents",
                "cameras_per_1000", "patrol_points", "patrol_points_covered", "patrol_share",
                "entrances", "entrances_covered", "entrance_share")
#: Columns of :attr:`CameraCoverage.compounds`.
COMPOUND_COLUMNS = ("compound_id", "area_m2", "covered_m2", "covered_share", "patrol_points",
                    "patrol_points_covered", "patrol_share", "entrances", "entrances_covered",
                    "entrance_share")
#: Columns of :attr:`CameraCoverage.entrances` (before the columns passed through).
ENTRANCE_COLUMNS = ("id", "compound_id", "grid_id", "covered")


def sectors(x: np.ndarray, y: np.ndarray, heading_deg: np.ndarray, fov_deg: np.ndarray,
            range_m: np.ndarray, segments: int = 16) -> np.ndarray:
    """The coverage sector of each camera, as shapely Polygons (vectorised).

    Parameters
    ----------
    x, y
        Camera positions in a metric CRS (y grows northwards).
    heading_deg
        Direction the camera faces: 0 = north, 90 = east (clockwise).
    fov_deg
        Field of view in degrees, in (0, 360]; 360 gives a disc (no apex vertex).
    range_m
        Radius of the sector in metres, > 0.
    segments
        Straight segments per 90 degrees of arc (as shapely's ``quad_segs``); an arc always gets
        at least one. With 16, a disc has 64 vertices and 99.8% of the area of the true circle.

    Returns
    -------
    numpy.ndarray
        Object array of Polygons, one per camera, in input order (empty for no cameras).

    Raises
    ------
    InvalidInput
        A field of view outside (0, 360], a range not > 0, or ``segments`` < 1.

    Examples
    --------
    >>> east = sectors([0.0], [0.0], [90.0], [60.0], [50.0])[0]
    >>> bool(east.contains(shapely.Point(10, 0))), bool(east.contains(shapely.Point(-10, 0)))
    (True, False)
    """
    x, y, heading, fov, radius = (np.atleast_1d(np.asarray(a, dtype=float))
                                  for a in (x, y, heading_deg, fov_deg, range_m))
    x, y, heading, fov, radius = np.broadcast_arrays(x, y, heading, fov, radius)
    problems = []
    if segments < 1:
        problems.append(Problem(f"must be at least 1, not {segments}", field="segments"))
    for i in np.flatnonzero(~((fov > 0) & (fov <= 360))):
        problems.append(Problem(f"must be in (0, 360], not {fov[i]}", f"camera {i}", "fov_deg"))
    for i in np.flatnonzero(~(radius > 0)):
        problems.append(Problem(f"must be > 0, not {radius[i]}", f"camera {i}", "range_m"))
    if problems:
        raise InvalidInput(problems)
    if x.size == 0:
        return np.empty(0, dtype=object)
    disc = fov >= 360
    arc_segments = np.maximum(1, np.ceil(segments * fov / 90.0)).astype(np.int64)
    # A disc's ring is its arc (closed by linearrings); a sector's is apex + arc endpoints.
    n_vertices = np.where(disc, arc_segments, arc_segments + 2)
    owner = np.repeat(np.arange(x.size), n_vertices)
    starts = np.cumsum(n_vertices) - n_vertices
    position = np.arange(owner.size) - starts[owner]
    is_apex = ~disc[owner] & (position == 0)
    arc_index = position - (~disc[owner]).astype(np.int64)
    start_deg = heading - np.where(disc, 0.0, fov / 2.0)
    angle = np.radians(start_deg[owner] + fov[owner] * arc_index / arc_segments[owner])
    r = np.where(is_apex, 0.0, radius[owner])
    px = x[owner] + r * np.sin(angle)
    py = y[owner] + r * np.cos(angle)
    rings = shapely.linearrings(px, py, indices=owner)
    return shapely.polygons(rings)


@dataclass
class CameraCoverage:
    """What :func:`camera_coverage` found.

    Attributes
    ----------
    grids
        One row per grid, columns :data:`GRID_COLUMNS`. Shares are in [0, 1]; ``patrol_share``,
        ``entrance_share`` and ``cameras_per_1000`` are NaN when the grid has no patrol points,
        no entrances or no residents.
    compounds
        One row per compound, columns :data:`COMPOUND_COLUMNS`.
    entrances
        One row per entrance, in input order: :data:`ENTRANCE_COLUMNS` (``grid_id`` None outside
        every grid; ``covered``: some sector covers it), then the entrances' other columns.
    blind_spots
        GeoDataFrame ``grid_id, area_m2, geometry``: one row per Polygon of a grid not seen by
        any camera (grid minus the union of sectors, split into its parts).
    summary
        Totals: ``cameras``, ``cameras_outside_grids``, ``grids``, ``area_m2``, ``covered_m2``,
        ``covered_share``, ``patrol_points``, ``patrol_points_covered``, ``patrol_share``,
        ``residents``, ``cameras_per_1000``, ``blind_spots``, ``entrances``,
        ``entrances_covered``, ``entrance_share``.
    """

    grids: pd.DataFrame
    compounds: pd.DataFrame
    blind_spots: gpd.GeoDataFrame
    entrances: pd.DataFrame
    summary: dict[str, float | int | None] = field(default_factory=dict)


def _first_covering(cells: gpd.GeoDataFrame, points: np.ndarray) -> np.ndarray:
    """Position in ``cells`` of the cell covering each point (smallest id on ties), or -1."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(cells) == 0:
        return out
    point_idx, cell_idx = shapely.STRtree(cells.geometry.values).query(points,
                                                                       predicate="covered_by")
    ids = cells["id"].to_numpy()[cell_idx]
    order = np.lexsort((ids, point_idx))
    point_idx, cell_idx = point_idx[order], cell_idx[order]
    first = np.unique(point_idx, return_index=True)[1]
    out[point_idx[first]] = cell_idx[first]
    return out


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, part / np.where(whole > 0, whole, 1), np.nan)


def _covered(areas: gpd.GeoDataFrame, seen: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    geoms = areas.geometry.values
    area = shapely.area(geoms)
    covered = shapely.area(shapely.intersection(geoms, seen))
    return area, np.minimum(covered, area)


def _points_in(areas: gpd.GeoDataFrame, points: np.ndarray, seen_mask: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per area: patrol points it covers, and how many of them a camera sees."""
    total = np.zeros(len(areas), dtype=np.int64)
    seen = np.zeros(len(areas), dtype=np.int64)
    if len(points) and len(areas):
        point_idx, area_idx = shapely.STRtree(areas.geometry.values).query(
            points, predicate="covered_by")
        np.add.at(total, area_idx, 1)
        np.add.at(seen, area_idx, seen_mask[point_idx].astype(np.int64))
    return total, seen


def _entrances(entrances: pd.DataFrame | None, cells: gpd.GeoDataFrame, compounds_ids: np.ndarray,
               seen: shapely.Geometry) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Every entrance with its grid and whether it is seen, and per compound (in the order of
    ``compounds_ids``) its entrances and how many are seen."""
    if entrances is None:
        entrances = pd.DataFrame({"id": [], "compound_id": [], "x": [], "y": []})
    points = shapely.points(entrances["x"].to_numpy(dtype=float),
                            entrances["y"].to_numpy(dtype=float))
    covered = shapely.covers(seen, points) if len(points) else np.zeros(0, dtype=bool)
    ids = cells["id"].to_numpy(dtype=object)
    grid_id = [ids[h] if h >= 0 else None for h in _first_covering(cells, points)]
    rows = pd.DataFrame({"id": entrances["id"].to_numpy(dtype=object),
                         "compound_id": entrances["compound_id"].to_numpy(dtype=object),
                         "grid_id": pd.Series(grid_id, dtype=object), "covered": covered})
    rest = entrances.drop(columns=[c for c in ENTRANCE_COLUMNS if c in entrances.columns])
    rows = pd.concat([rows, rest.reset_index(drop=True)], axis=1)
    position = {c: k for k, c in enumerate(compounds_ids)}
    at = np.array([position.get(c, -1) for c in rows["compound_id"]], dtype=np.int64)
    known = at >= 0
    total = np.bincount(at[known], minlength=len(compounds_ids)).astype(np.int64)
    seen_n = np.bincount(at[known], weights=covered[known].astype(float),
                         minlength=len(compounds_ids)).astype(np.int64)
    return rows, total, seen_n


def camera_coverage(cells: gpd.GeoDataFrame, cameras: pd.DataFrame, patrol_points: pd.DataFrame,
                    residents_by_cell: Mapping[str, float], compounds: gpd.GeoDataFrame,
                    segments: int = 16, entrances: pd.DataFrame | None = None) -> CameraCoverage:
    """Covered share of area, patrol points and compound entrances per grid and per compound,
    and blind spots.

    Parameters
    ----------
    cells
        The grids: ``id`` column and polygon geometries, in a metric CRS.
    cameras
        Columns ``x, y, heading_deg, fov_deg, range_m`` (same CRS); other columns ignored.
    patrol_points
        Columns ``x, y`` (same CRS).
    residents_by_cell
        Grid id -> residents; a grid not in the mapping has 0.
    compounds
        The compounds: ``id`` column and polygon geometries (same CRS).
    segments
        Passed to :func:`sectors`.
    entrances
        Compound entrances: columns ``id, compound_id, x, y`` (same CRS), others passed through;
        None for none.

    Returns
    -------
    CameraCoverage
        A patrol point counts for every grid and compound that covers it (boundary included);
        it is covered when some sector covers it (the sector's edge included). An entrance
        counts for the grid covering it (smallest id on a shared edge; none outside every grid)
        and for the compound named by its ``compound_id`` (an unknown compound: in the summary
        only). ``cameras_per_1000`` is cameras located in the grid per 1,000 of its residents.

    Raises
    ------
    InvalidInput
        A camera with an impossible field of view or range (see :func:`sectors`).
    """
    polys = sectors(cameras["x"].to_numpy(), cameras["y"].to_numpy(),
                    cameras["heading_deg"].to_numpy(), cameras["fov_deg"].to_numpy(),
                    cameras["range_m"].to_numpy(), segments=segments)
    seen = shapely.union_all(polys) if len(polys) else shapely.Polygon()
    shapely.prepare(seen)

    cam_points = shapely.points(cameras["x"].to_numpy(dtype=float),
                                cameras["y"].to_numpy(dtype=float))
    pp_points = shapely.points(patrol_points["x"].to_numpy(dtype=float),
                               patrol_points["y"].to_numpy(dtype=float))
    pp_seen = shapely.covers(seen, pp_points) if len(pp_points) else np.zeros(0, dtype=bool)

    cell_ids = cells["id"].to_numpy()
    area, covered = _covered(cells, seen)
    home = _first_covering(cells, cam_points)
    n_cameras = np.bincount(home[home >= 0], minlength=len(cells)).astype(np.int64)
    residents = np.array([float(residents_by_cell.get(i, 0) or 0) for i in cell_ids])
    pp_total, pp_seen_n = _points_in(cells, pp_points, pp_seen)
    gates, c_gates, c_gates_seen = _entrances(entrances, cells, compounds["id"].to_numpy(), seen)
    in_grid = gates["grid_id"].notna().to_numpy()
    at = pd.Index(cell_ids).get_indexer(gates["grid_id"][in_grid])
    g_gates = np.bincount(at, minlength=len(cells)).astype(np.int64)
    g_gates_seen = np.bincount(at, weights=gates["covered"].to_numpy(dtype=float)[in_grid],
                               minlength=len(cells)).astype(np.int64)
    grids = pd.DataFrame({
        "grid_id": cell_ids, "area_m2": area, "covered_m2": covered,
        "covered_share": _share(covered, area), "cameras": n_cameras, "residents": residents,
        "cameras_per_1000": _share(n_cameras * 1000.0, residents),
        "patrol_points": pp_total, "patrol_points_covered": pp_seen_n,
        "patrol_share": _share(pp_seen_n, pp_total), "entrances": g_gates,
        "entrances_covered": g_gates_seen, "entrance_share": _share(g_gates_seen, g_gates),
    }, columns=list(GRID_COLUMNS))

    c_area, c_covered = _covered(compounds, seen)
    c_total, c_seen = _points_in(compounds, pp_points, pp_seen)
    compound_rows = pd.DataFrame({
        "compound_id": compounds["id"].to_numpy(), "area_m2": c_area, "covered_m2": c_covered,
        "covered_share": _share(c_covered, c_area), "patrol_points": c_total,
        "patrol_points_covered": c_seen, "patrol_share": _share(c_seen, c_total),
        "entrances": c_gates, "entrances_covered": c_gates_seen,
        "entrance_share": _share(c_gates_seen, c_gates),
    }, columns=list(COMPOUND_COLUMNS))

    blind = shapely.difference(cells.geometry.values, seen)
    parts, owner = shapely.get_parts(blind, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    blind_spots = gpd.GeoDataFrame(
        {"grid_id": cell_ids[owner[keep]], "area_m2": shapely.area(parts[keep])},
        geometry=gpd.GeoSeries(parts[keep], crs=cells.crs), crs=cells.crs)

    total_area, total_covered = float(area.sum()), float(covered.sum())
    total_residents = float(residents.sum())
    summary = {
        "cameras": len(cameras), "cameras_outside_grids": int((home < 0).sum()),
        "grids": len(cells), "area_m2": total_area, "covered_m2": total_covered,
        "covered_share": total_covered / total_area if total_area > 0 else None,
        "patrol_points": len(pp_points), "patrol_points_covered": int(pp_seen.sum()),
        "patrol_share": float(pp_seen.mean()) if len(pp_points) else None,
        "residents": total_residents,
        "cameras_per_1000": (len(cameras) * 1000.0 / total_residents
                             if total_residents > 0 else None),
        "blind_spots": len(blind_spots), "entrances": len(gates),
        "entrances_covered": int(gates["covered"].sum()),
        "entrance_share": float(gates["covered"].mean()) if len(gates) else None,
    }
    return CameraCoverage(grids=grids, compounds=compound_rows, blind_spots=blind_spots,
                          entrances=gates, summary=summary)
