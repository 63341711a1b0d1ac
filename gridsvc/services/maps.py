"""Map pages: read what a page shows, in one transaction, and hand it to :mod:`gridsvc.maps`."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gridsvc.db import maps as repo
from gridsvc.db import objects
from gridsvc.db.models import AREA_KINDS, SRID
from gridsvc.domain.camera_coverage import sectors
from gridsvc.domain.office_coverage import walk_radius_m
from gridsvc.maps.coverage import coverage_map
from gridsvc.maps.page import render
from gridsvc.services.assignment import current_plan

METRIC_CRS = "EPSG:4549"


def cell_frame(conn: Connection, plan_id: int, kind: str) -> gpd.GeoDataFrame:
    """Cells of one kind with their house totals, EPSG:4490."""
    rows = repo.cells(conn, plan_id, kind)
    geoms = shapely.from_wkb(np.array([r.pop("wkb") for r in rows], dtype=object))
    frame = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)
    if not len(frame):
        frame = gpd.GeoDataFrame({"id": [], "code": [], "name": [], "parent_id": []},
                                 geometry=gpd.GeoSeries([], crs=SRID), crs=SRID)
    totals = pd.DataFrame(repo.house_totals(conn, plan_id, kind),
                          columns=["id", "houses", "households", "residents", "registered",
                                   "floating", "rentals"])
    frame = frame.merge(totals, on="id", how="left")
    counts = ["houses", "households", "residents", "registered", "floating", "rentals"]
    frame[counts] = frame[counts].fillna(0).astype(int)
    return frame


def _people(conn: Connection) -> dict[tuple[str, str, str], list[str]]:
    """(kind, cell id, role) -> names, in a stable order."""
    found: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for link in objects.people_links(conn):
        found[(link["kind"], link["area_id"], link["role"])].append(link["name"])
    return found


def _names(people: dict, kind: str, ids: pd.Series, role: str) -> list[str]:
    return ["、".join(people.get((kind, i, role), [])) or "-" for i in ids]


def _with_people(frame: gpd.GeoDataFrame, kind: str, people: dict,
                 beats: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    frame["officers"] = _names(people, kind, frame["id"], "officer")
    frame["auxiliaries"] = _names(people, kind, frame["id"], "auxiliary")
    frame["grid_workers"] = _names(people, kind, frame["id"], "grid_worker")
    if kind == "station" and beats is not None:
        # A station's officers are those of its beats.
        per_station: dict[str, list[str]] = defaultdict(list)
        for station, name in zip(beats["parent_id"], beats["officers"], strict=True):
            if name != "-":
                per_station[station].append(name)
        frame["officers"] = ["、".join(per_station.get(i, [])) or "-" for i in frame["id"]]
    return frame


def _point_frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    lon = [r.pop("lon") for r in rows]
    lat = [r.pop("lat") for r in rows]
    return gpd.GeoDataFrame(rows, geometry=gpd.points_from_xy(lon, lat, crs=SRID), crs=SRID)


def _sectors(cameras: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not len(cameras):
        return cameras
    metric = cameras.to_crs(METRIC_CRS)
    polys = sectors(metric.geometry.x.to_numpy(), metric.geometry.y.to_numpy(),
                    cameras["heading_deg"].to_numpy(float), cameras["fov_deg"].to_numpy(float),
                    cameras["range_m"].to_numpy(float), segments=4)
    out = gpd.GeoDataFrame({"name": cameras["name"], "heading": cameras["heading_deg"],
                            "fov": cameras["fov_deg"], "range": cameras["range_m"]},
                           geometry=gpd.GeoSeries(polys, crs=METRIC_CRS)).to_crs(SRID)
    return out


def coverage_page(engine: Engine, map_settings: Any, as_of: date | None = None,
                  inline: bool = False) -> str:
    """HTML of the coverage page for the plan in effect on ``as_of`` (today when None)."""
    plan_id = current_plan(engine, as_of)
    with engine.connect() as conn:
        people = _people(conn)
        cells = {kind: cell_frame(conn, plan_id, kind) for kind in AREA_KINDS}
        for kind in ("town", "village", "grid", "beat"):
            _with_people(cells[kind], kind, people)
        _with_people(cells["station"], "station", people, beats=cells["beat"])
        offices = _point_frame(objects.offices(conn))
        offices = offices.rename(columns={"opening_hours": "hours"})
        cameras = _point_frame(repo.point_layer(conn, "camera"))
        patrol = _point_frame(repo.point_layer(conn, "patrol_point"))
    page = coverage_map(cells, offices, walk_radius_m(), _sectors(cameras), patrol, map_settings)
    return render(page, inline=inline)
