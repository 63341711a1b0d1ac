"""The camera coverage report: per grid and per compound, what the cameras see.

Points and cells are stored in EPSG:4490 (degrees); sectors need metres, so everything is
projected to the plan's metric CRS (as the fusion report) before
:mod:`gridsvc.domain.coverage.camera_coverage` runs, and the blind spots are projected back for
GeoJSON.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import cameras as camera_repo
from gridsvc.db import staffing as staffing_repo
from gridsvc.db.models import SRID
from gridsvc.domain.coverage.camera_coverage import camera_coverage
from gridsvc.services.assignment import current_plan
from gridsvc.services.fusion import metric_crs


def _polygons(ids: list[str], wkb: list[bytes], crs: str) -> gpd.GeoDataFrame:
    geoms = shapely.from_wkb(np.array(wkb, dtype=object)) if ids else []
    frame = gpd.GeoDataFrame({"id": ids}, geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)
    return frame.to_crs(crs)


def _points(cols: dict[str, list], crs: str) -> pd.DataFrame:
    points = gpd.GeoSeries(gpd.points_from_xy(cols["lon"], cols["lat"]), crs=SRID)
    points = points.to_crs(crs)
    frame = pd.DataFrame({k: v for k, v in cols.items() if k not in ("lon", "lat")})
    frame["x"] = points.x.to_numpy()
    frame["y"] = points.y.to_numpy()
    return frame


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.round(4).to_json(orient="records"))


def _blind_spots_geojson(blind: gpd.GeoDataFrame) -> dict[str, Any]:
    """Blind spots as a FeatureCollection in EPSG:4490, snapped to 1e-7 degrees (about 1 cm)
    with ``shapely.set_precision``, which keeps them valid."""
    geoms = shapely.set_precision(blind.geometry.to_crs(SRID).values, 1e-7)
    features = []
    for i, (grid_id, area, geom) in enumerate(
            zip(blind["grid_id"], blind["area_m2"], geoms, strict=True)):
        if geom.is_empty:
            continue
        features.append({"type": "Feature", "id": i + 1,
                         "properties": {"grid_id": grid_id, "area_m2": round(float(area), 1)},
                         "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def _entrances_geojson(entrances: pd.DataFrame) -> dict[str, Any]:
    """Entrances as a FeatureCollection of points in EPSG:4490 (their stored coordinates)."""
    features = [{"type": "Feature", "id": i + 1,
                 "properties": {"id": r.id, "compound_id": r.compound_id, "name": r.name,
                                "kind": r.kind, "grid_id": r.grid_id},
                 "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]}}
                for i, r in enumerate(entrances.itertuples())]
    return {"type": "FeatureCollection", "features": features}


def camera_coverage_report(engine: Engine, as_of: date | None = None) -> dict[str, Any]:
    """The camera coverage of the grids of the plan in effect on ``as_of`` (today by default).

    Returns
    -------
    dict
        ``plan_id``, ``area_crs`` (where areas were measured), ``summary`` (see
        :class:`gridsvc.domain.coverage.camera_coverage.CameraCoverage`), ``grids`` (one row per
        grid),
        ``compounds`` (one row per compound), ``blind_spots`` and ``uncovered_entrances`` (the
        compound entrances no camera sees, properties ``id, compound_id, name, kind,
        grid_id``), both GeoJSON FeatureCollections in EPSG:4490. Residents per grid are the
        houses' residents, each house in the grid that covers it.

    Raises
    ------
    NotFound
        No plan in effect.
    """
    plan_id = current_plan(engine, as_of)
    with engine.connect() as conn:
        crs = metric_crs(conn, plan_id)
        grids = _polygons(*area_repo.area_geometries(conn, plan_id, "grid"), crs)
        compounds = _polygons(*camera_repo.compounds(conn), crs)
        cameras = _points(camera_repo.cameras(conn), crs)
        patrol_points = _points(camera_repo.patrol_points(conn), crs)
        entrance_cols = camera_repo.entrances(conn)
        sums = staffing_repo.house_sums(conn, plan_id)
    residents: dict[str, float] = defaultdict(float)
    for row in sums:
        if row["grid_id"] is not None:
            residents[row["grid_id"]] += float(row["residents"])
    entrances = _points(entrance_cols, crs)
    entrances["lon"], entrances["lat"] = entrance_cols["lon"], entrance_cols["lat"]
    result = camera_coverage(grids, cameras, patrol_points, residents, compounds,
                             entrances=entrances)
    summary = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.summary.items()}
    return {
        "plan_id": plan_id,
        "area_crs": crs,
        "summary": summary,
        "grids": _records(result.grids),
        "compounds": _records(result.compounds),
        "blind_spots": _blind_spots_geojson(result.blind_spots),
        "uncovered_entrances": _entrances_geojson(result.entrances[~result.entrances["covered"]]),
    }
