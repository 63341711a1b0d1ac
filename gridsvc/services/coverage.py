"""Police office coverage: the share of houses and residents within a walk of an office.

Points are stored in EPSG:4490 (degrees); distances need metres, so houses, offices and roads are
projected to the plan's metric CRS (as the fusion report) before
:mod:`gridsvc.domain.coverage.office_coverage` runs, and proposed sites are projected back for
GeoJSON.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine

from gridsvc.db import coverage as repo
from gridsvc.db.models import SRID
from gridsvc.domain.coverage import office_coverage as oc
from gridsvc.domain.coverage.road_network import SNAP_M, RoadNetwork
from gridsvc.errors import InvalidInput, Problem
from gridsvc.services.assignment import current_plan
from gridsvc.services.fusion import metric_crs

#: Most new sites asked of MCLP.
MAX_PROPOSE_K = 50
#: Largest gap (m) between road ends joined as a junction.
MAX_SNAP_M = 50.0


def _project(lon: list[float], lat: list[float], crs: str) -> np.ndarray:
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=SRID).to_crs(crs)
    return np.column_stack([points.x.to_numpy(), points.y.to_numpy()]) if len(points) \
        else np.empty((0, 2))


def _check(speed_kmh: float, propose_k: int, snap_m: float) -> None:
    problems = []
    if not 0 <= snap_m <= MAX_SNAP_M:
        problems.append(Problem(f"must be 0 to {MAX_SNAP_M:g} m, not {snap_m}", field="snap_m"))
    if not np.isfinite(speed_kmh) or speed_kmh <= 0:
        problems.append(Problem(f"must be a positive speed in km/h, not {speed_kmh}",
                                field="speed_kmh"))
    if not 0 <= propose_k <= MAX_PROPOSE_K:
        problems.append(Problem(f"must be 0 to {MAX_PROPOSE_K}, not {propose_k}",
                                field="propose_k"))
    if problems:
        raise InvalidInput(problems)


def _sites_geojson(proposal: oc.Proposal, crs: str) -> dict[str, Any]:
    """The proposed sites (metres in ``crs``) as a FeatureCollection of points in EPSG:4490."""
    xy = proposal.sites
    points = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs).to_crs(SRID)
    features = [{"type": "Feature", "id": i + 1, "properties": {"method": proposal.method},
                 "geometry": {"type": "Point", "coordinates": [round(p.x, 7), round(p.y, 7)]}}
                for i, p in enumerate(points)]
    return {"type": "FeatureCollection", "features": features}


def _proposal(proposal: oc.Proposal, house_ids: list[str], crs: str) -> dict[str, Any]:
    return {"method": proposal.method, "sites": len(proposal.sites),
            "houses_covered": proposal.houses_covered,
            "residents_covered": proposal.residents_covered,
            "uncoverable_house_ids": [house_ids[i] for i in proposal.uncoverable_houses],
            "features": _sites_geojson(proposal, crs)}


def office_coverage(engine: Engine, as_of: date | None = None, speed_kmh: float = oc.SPEED_KMH,
                    along_roads: bool = False, propose_k: int = 0,
                    snap_m: float = SNAP_M) -> dict[str, Any]:
    """Office coverage of the houses under the plan in effect on ``as_of`` (today by default).

    Parameters
    ----------
    engine
        The database.
    as_of
        The plan whose beats the houses are counted in.
    speed_kmh
        Walking speed; the walk is 15 minutes at it (4.5 km/h: 1,125 m).
    along_roads
        Walk along the road layer (see :mod:`gridsvc.domain.coverage.road_network`) instead of in a
        straight line; the proposals then use road nodes as candidate sites and walks along
        the roads.
    propose_k
        0: no proposal; else also the best ``propose_k`` new sites (MCLP, by residents), along
        with the fewest new sites covering every coverable house (LSCP).
    snap_m
        Along roads: road ends within this distance (m) of another road are joined to it.

    Returns
    -------
    dict
        ``plan_id``, ``distance_crs``, ``speed_kmh``, ``radius_m``, ``along_roads``, ``snap_m``
        (None in a straight line), ``summary``
        (houses, residents, covered counts and shares, offices), ``beats`` (one row per beat, see
        :func:`gridsvc.domain.coverage.office_coverage.beat_coverage`), ``uncovered_house_ids``
        and, when
        ``propose_k`` > 0, ``proposals``: ``lscp`` and ``mclp``, each with its sites as a GeoJSON
        FeatureCollection (``features``) in EPSG:4490.

    Raises
    ------
    InvalidInput
        A speed not positive, ``propose_k`` out of 0..50, ``snap_m`` out of 0..50, or
        ``along_roads`` with no road layer.
    NotFound
        No plan in effect.
    """
    _check(speed_kmh, propose_k, snap_m)
    plan_id = current_plan(engine, as_of)
    with engine.connect() as conn, conn.begin():
        offices = repo.office_points(conn)
        houses = pd.DataFrame(repo.house_points(conn, plan_id),
                              columns=["id", "lon", "lat", "beat_id", "residents"])
        roads_wkb = repo.road_geometries(conn) if along_roads else []
        crs = metric_crs(conn, plan_id)
    if along_roads and not roads_wkb:
        raise InvalidInput([Problem("no road layer is loaded", field="along_roads")])
    radius = oc.walk_radius_m(speed_kmh)
    houses_xy = _project(houses["lon"].tolist(), houses["lat"].tolist(), crs)
    offices_xy = _project([o["lon"] for o in offices], [o["lat"] for o in offices], crs)
    network = None
    if along_roads:
        roads = gpd.GeoSeries(shapely.from_wkb(np.array(roads_wkb, dtype=object)), crs=SRID)
        network = RoadNetwork.build(list(roads.to_crs(crs)), snap_m)
        distance = network.distances(houses_xy, offices_xy)
    else:
        distance = oc.straight_distances(houses_xy, offices_xy)
    beats = oc.beat_coverage(houses, distance, radius)
    covered = distance <= radius
    ids = houses["id"].tolist()
    total_h, total_r = len(houses), int(houses["residents"].sum())
    cov_r = int(houses["residents"].to_numpy()[covered].sum())
    report: dict[str, Any] = {
        "plan_id": plan_id, "distance_crs": crs, "speed_kmh": speed_kmh,
        "radius_m": radius, "along_roads": along_roads,
        "snap_m": snap_m if along_roads else None,
        "summary": {"offices": len(offices), "houses": total_h, "residents": total_r,
                    "covered_houses": int(covered.sum()), "covered_residents": cov_r,
                    "house_share": round(float(covered.sum()) / total_h, 6) if total_h else None,
                    "resident_share": round(cov_r / total_r, 6) if total_r else None},
        "beats": beats.astype(object).where(beats.notna(), None).to_dict(orient="records"),
        "uncovered_house_ids": [i for i, c in zip(ids, covered, strict=True) if not c],
    }
    if propose_k:
        residents = houses["residents"].to_numpy(dtype=float)
        cands = (network.candidate_sites(houses_xy, oc.MAX_CANDIDATES) if network is not None
                 else oc.candidate_sites(houses_xy))
        lscp = oc.propose_sites(houses_xy, residents, covered, radius, candidates=cands,
                                network=network)
        mclp = oc.propose_sites(houses_xy, residents, covered, radius, k=propose_k,
                                candidates=cands, network=network)
        report["proposals"] = {"lscp": _proposal(lscp, ids, crs),
                               "mclp": _proposal(mclp, ids, crs)}
    return report
