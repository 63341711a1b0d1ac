"""The fusion report (警格 x 网格): crosswalk of grids and beats, and every mismatch found.

Cells are stored in EPSG:4490 (degrees); areas and lengths need metres, so everything is
projected to the metric CRS of the plan's area (:func:`metric_crs`: the CGCS2000 3-degree
Gauss-Kruger zone, EPSG:4549 for the demo town, or UTM outside China) before the domain
functions run, and the findings' geometries are projected back for GeoJSON.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import fusion as fusion_repo
from gridsvc.db.models import SRID
from gridsvc.domain.geo.coords import local_metric_crs
from gridsvc.domain.reports.fusion import Finding, crosswalk, findings
from gridsvc.errors import InvalidInput, Problem
from gridsvc.services.assignment import current_plan, known_plan

#: The metric CRS of a plan with no cells (nothing to measure): the demo town's zone.
DEFAULT_METRIC_CRS = "EPSG:4549"
#: Default for gaps and overlaps reported as slivers (about a 10 m x 50 m strip).
DEFAULT_SLIVER_M2 = 500.0
LAYERS = ("grid", "beat", "village", "town", "station")


def metric_crs(conn: Any, plan_id: int) -> str:
    """The metric CRS areas and distances of a plan are measured in: the zone of its centre
    (:func:`gridsvc.domain.geo.coords.local_metric_crs`)."""
    centre = area_repo.plan_centre(conn, plan_id)
    return DEFAULT_METRIC_CRS if centre is None else local_metric_crs(*centre)


def _cells(conn: Any, plan_id: int, kind: str, crs: str) -> gpd.GeoDataFrame:
    ids, wkb = area_repo.area_geometries(conn, plan_id, kind)
    parents = fusion_repo.parent_ids(conn, plan_id, kind)
    geoms = shapely.from_wkb(np.array(wkb, dtype=object)) if ids else []
    frame = gpd.GeoDataFrame({"id": ids, "parent_id": [parents.get(i) for i in ids]},
                             geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)
    return frame.to_crs(crs)


def _houses(conn: Any, crs: str) -> pd.DataFrame:
    cols = fusion_repo.house_points(conn)
    points = gpd.GeoSeries(gpd.points_from_xy(cols["lon"], cols["lat"]), crs=SRID)
    points = points.to_crs(crs)
    return pd.DataFrame({"x": points.x.to_numpy(), "y": points.y.to_numpy(),
                         "households": cols["households"], "residents": cols["residents"]})


def _round(geom: Any) -> Any:
    """Coordinates to 7 decimals (about 1 cm), as the stored cells: smaller JSON, same shape."""
    return shapely.transform(geom, lambda xy: np.round(xy, 7))


def findings_geojson(found: list[Finding], crs: str) -> dict[str, Any]:
    """Findings (geometries in ``crs``) as a GeoJSON FeatureCollection in EPSG:4490."""
    geoms = gpd.GeoSeries([f.geometry for f in found], crs=crs).to_crs(SRID)
    features = []
    for i, (f, geom) in enumerate(zip(found, geoms, strict=True)):
        features.append({
            "type": "Feature", "id": i + 1,
            "properties": {"kind": f.kind, "layer": f.layer, "cells": list(f.cells),
                           "area_m2": round(f.area_m2, 1), "message": f.message, **f.detail},
            "geometry": shapely.geometry.mapping(_round(geom)),
        })
    return {"type": "FeatureCollection", "features": features}


def fusion_report(engine: Engine, as_of: date | None = None,
                  sliver_m2: float = DEFAULT_SLIVER_M2, *, plan_id: int | None = None
                  ) -> dict[str, Any]:
    """The fusion report of plan ``plan_id``, else of the plan in effect on ``as_of`` (today by
    default).

    Returns
    -------
    dict
        ``plan_id``, ``area_crs`` (where areas were measured), ``sliver_m2``, ``summary``
        (``pairs``, ``grids``, and ``findings``: the count per kind), ``crosswalk`` (one row per
        overlapping grid and beat, see :func:`gridsvc.domain.reports.fusion.crosswalk`) and
        ``findings`` (a GeoJSON FeatureCollection in EPSG:4490).

    Raises
    ------
    InvalidInput
        ``sliver_m2`` negative or not a number.
    NotFound
        No plan ``plan_id``, or no plan in effect.
    """
    if not np.isfinite(sliver_m2) or sliver_m2 < 0:
        raise InvalidInput([Problem(f"must be a non-negative area in m², not {sliver_m2}",
                                    field="sliver_m2")])
    plan_id = current_plan(engine, as_of) if plan_id is None else known_plan(engine, plan_id)
    with engine.connect() as conn:
        crs = metric_crs(conn, plan_id)
        cells = {kind: _cells(conn, plan_id, kind, crs) for kind in LAYERS}
        houses = _houses(conn, crs)
    pairs = crosswalk(cells["grid"], cells["beat"], houses)
    found = findings(cells["grid"], cells["beat"], cells["village"], cells["town"],
                     sliver_m2=sliver_m2, stations=cells["station"])
    return {
        "plan_id": plan_id,
        "area_crs": crs,
        "sliver_m2": sliver_m2,
        "summary": {"pairs": len(pairs), "grids": int(pairs["grid_id"].nunique()),
                    "findings": dict(sorted(Counter(f.kind for f in found).items()))},
        "crosswalk": json.loads(pairs.round(4).to_json(orient="records")),
        "findings": findings_geojson(found, crs),
    }
