"""Checks of a draft's changed cells against the plan it was drawn from (pure, metric CRS).

A draft is checked where it changed: the changed cells and the cells around them, drawn and
as they were. What the draft **adds** is reported, not what was wrong before (the demo town has
deliberate gaps and overlaps a planner should not be blamed for when editing a neighbour):

- ``overlap`` (error): land in two cells of one layer, new or grown since the base plan;
- ``gap`` (error): land that was in a cell of the layer and now is in none, or land of a
  changed parent (a village) that none of its children (grids) covers and was covered before;
- ``outside_parent`` (error): a child (grid) sticking out of its parent (village) more than it
  did; a child whose parent does not exist in the draft is outside as a whole;
- ``too_small`` (error): a changed cell below the minimum area;
- ``not_contiguous`` (warning): a changed cell in two or more separate parts.

Findings reuse :class:`gridsvc.domain.reports.fusion.Finding` (and its overlap / nesting checks):
``kind`` is the check, ``detail["severity"]`` says error or warning, ``geometry`` shows where
(the overlap, the gap, the part outside, the smaller parts), in the inputs' metric CRS.
Inputs are GeoDataFrames with ``id``, ``parent_id`` and a metric geometry.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import shapely

from gridsvc.domain.reports.fusion import NOISE_SHARE, Finding
from gridsvc.domain.reports.fusion import _outside_parent as outside_parent_findings
from gridsvc.domain.reports.fusion import _overlaps as overlap_findings

__all__ = ["DEFAULT_MIN_AREA_M2", "ERROR", "WARNING", "check_layer", "check_nesting"]

#: A grid smaller than a large house plot is a digitising slip, not a grid.
DEFAULT_MIN_AREA_M2 = 1_000.0
ERROR, WARNING = "error", "warning"


def _floor(*frames: gpd.GeoDataFrame) -> float:
    """Areas below this are floating-point noise: :data:`NOISE_SHARE` of the median cell."""
    areas = np.concatenate([shapely.area(np.asarray(f.geometry.values)) for f in frames
                            if len(f)] or [np.zeros(1)])
    return NOISE_SHARE * float(np.median(areas)) if len(areas) else 0.0


def _mark(f: Finding, kind: str, severity: str, message: str | None = None) -> Finding:
    return Finding(kind, f.layer, f.cells, f.geometry, f.area_m2, message or f.message,
                   {**f.detail, "severity": severity})


def _pieces(geom: shapely.Geometry, floor: float) -> list[shapely.Geometry]:
    return [p for p in shapely.get_parts(geom) if p.area > floor]


def _touching(frame: gpd.GeoDataFrame, geom: shapely.Geometry) -> tuple[str, ...]:
    geoms = np.asarray(frame.geometry.values)
    hit = shapely.intersects(geoms, geom) if len(geoms) else np.zeros(0, bool)
    return tuple(sorted(frame["id"].astype(str).to_numpy()[hit]))


def check_layer(layer: str, draft: gpd.GeoDataFrame, base: gpd.GeoDataFrame,
                changed: Iterable[str], *, min_area_m2: float = DEFAULT_MIN_AREA_M2
                ) -> list[Finding]:
    """New overlaps and gaps, too small and non-contiguous cells of one layer.

    Parameters
    ----------
    layer
        The layer's kind (``grid``, ``beat``, ...), named in the findings.
    draft, base
        The changed cells and their neighbours, in the draft and in the base plan (cells added
        by the draft are only in ``draft``, removed ones only in ``base``). Both must cover
        the same neighbourhood, or land beyond one of them reads as a gap.
    changed
        Ids of the changed (or added, or removed) cells: only findings about them come out.
    min_area_m2
        Changed cells smaller than this are ``too_small``.
    """
    changed = set(changed)
    floor = _floor(draft, base)
    out: list[Finding] = []
    before = {f.cells: f.area_m2 for f in overlap_findings(layer, base, 0.0)}
    for f in overlap_findings(layer, draft, 0.0):
        if changed.intersection(f.cells) and f.area_m2 > before.get(f.cells, 0.0) + floor:
            out.append(_mark(f, "overlap", ERROR))
    was = shapely.union_all(np.asarray(base.geometry.values))
    now = shapely.union_all(np.asarray(draft.geometry.values))
    for hole in _pieces(shapely.difference(was, now), floor):
        around = _touching(draft, hole) or _touching(base, hole)
        out.append(Finding("gap", layer, around, hole, float(hole.area),
                           f"{hole.area:,.0f} m² next to {layer}s {', '.join(around)} was in a "
                           f"{layer} and now is in none", {"severity": ERROR}))
    for cid, geom in zip(draft["id"].astype(str), draft.geometry.values, strict=True):
        if cid not in changed:
            continue
        if geom.area < min_area_m2:
            out.append(Finding("too_small", layer, (cid,), geom, float(geom.area),
                               f"{layer} {cid} has {geom.area:,.0f} m², below the minimum of "
                               f"{min_area_m2:,.0f} m²", {"severity": ERROR}))
        parts = sorted(_pieces(geom, floor), key=lambda p: -p.area)
        if len(parts) > 1:
            rest = shapely.MultiPolygon(parts[1:])
            out.append(Finding("not_contiguous", layer, (cid,), rest, float(rest.area),
                               f"{layer} {cid} is in {len(parts)} separate parts (the smaller "
                               "ones shown)", {"severity": WARNING, "parts": len(parts)}))
    return out


def check_nesting(layer: str, parent_layer: str, children: gpd.GeoDataFrame,
                  parents: gpd.GeoDataFrame, base_children: gpd.GeoDataFrame,
                  base_parents: gpd.GeoDataFrame, changed_children: Iterable[str],
                  changed_parents: Iterable[str]) -> list[Finding]:
    """Children outside their parent (more than before), and gaps inside changed parents.

    Parameters
    ----------
    layer, parent_layer
        E.g. ``grid`` and ``village``.
    children, parents
        Draft cells: the changed children and the children of the changed parents; the
        parents of all those.
    base_children, base_parents
        The same cells in the base plan.
    changed_children, changed_parents
        Ids of the changed cells of each layer.
    """
    changed_children, changed_parents = set(changed_children), set(changed_parents)
    floor = _floor(children, parents)
    kind = f"{layer}_outside_{parent_layer}"
    before = {f.cells[0]: f.area_m2
              for f in outside_parent_findings(kind, layer, base_children, base_parents)}
    out: list[Finding] = []
    for f in outside_parent_findings(kind, layer, children, parents):
        involved = f.cells[0] in changed_children or changed_parents.intersection(f.cells[1:])
        if involved and f.area_m2 > before.get(f.cells[0], 0.0) + floor:
            out.append(_mark(f, "outside_parent", ERROR))
    for pid in sorted(changed_parents):
        now = _uncovered(pid, children, parents)
        if now is None:
            continue
        was = _uncovered(pid, base_children, base_parents)
        new = now if was is None else shapely.difference(now, was)
        for hole in _pieces(new, floor):
            out.append(Finding("gap", layer, (pid,), hole, float(hole.area),
                               f"{hole.area:,.0f} m² of {parent_layer} {pid} is in none of its "
                               f"{layer}s", {"severity": ERROR}))
    return out


def _uncovered(pid: str, children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
               ) -> shapely.Geometry | None:
    """The part of parent ``pid`` that none of its children covers (None: no such parent)."""
    match = parents[parents["id"].astype(str) == pid]
    if not len(match):
        return None
    mine = children[children["parent_id"].astype(str) == pid]
    return shapely.difference(match.geometry.values[0],
                              shapely.union_all(np.asarray(mine.geometry.values)))
