"""Which cells contain a point: the in-memory index of a plan, built once and reused."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from datetime import date
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Engine

from gridsvc.db import areas as area_repo
from gridsvc.db.models import AREA_KINDS, SRID
from gridsvc.domain.assign.layers import Layer, LayerSet
from gridsvc.domain.geo.coords import (
    SAME_AS_CGCS2000,
    looks_swapped,
    parse_input_crs,
    to_cgcs2000,
)
from gridsvc.errors import InvalidInput, NotFound, Problem

#: Indexes of recently used plans. A city's plan index takes ~100 MB, so only a few are kept:
#: the plan in effect, a draft being previewed, and an ``as_of`` lookup into the past.
_CACHE_SIZE = 4
_cache: OrderedDict[tuple[str, int], tuple[int, LayerSet]] = OrderedDict()
_lock = threading.Lock()


def current_plan(engine: Engine, as_of: date | None = None) -> int:
    """The id of the plan in effect on ``as_of`` (today by default)."""
    with engine.connect() as conn:
        plan_id = area_repo.current_plan_id(conn, as_of)
    if plan_id is None:
        raise NotFound("no plan is in effect: load the demo town or import boundaries first")
    return plan_id


def known_plan(engine: Engine, plan_id: int) -> int:
    """``plan_id`` when there is such a plan; else NotFound."""
    with engine.connect() as conn:
        if area_repo.plan_version(conn, plan_id) is None:
            raise NotFound(f"no plan with id {plan_id}")
    return plan_id


def locate(lon: float, lat: float, crs: str | int, layers: LayerSet
           ) -> tuple[float, float, dict[str, str | None]]:
    """A user's point in EPSG:4490, checked, and the cells covering it (per layer, or None).

    Raises
    ------
    InvalidInput
        Unknown CRS (field ``crs``); coordinates not finite or out of range, or outside the
        service area where swapping them would put them inside (field ``lon,lat``, saying that
        lat/lon look swapped).
    """
    source = parse_input_crs(crs)
    if source.name in SAME_AS_CGCS2000:  # the common case, kept free of numpy: lookups are hot
        x, y = float(lon), float(lat)
    else:
        xs, ys = to_cgcs2000(np.array([lon], dtype=float), np.array([lat], dtype=float), source)
        x, y = float(xs[0]), float(ys[0])
    in_range = math.isfinite(x) and math.isfinite(y) and abs(x) <= 180 and abs(y) <= 90
    covered = layers.assign_one(x, y) if in_range else {}
    if any(v is not None for v in covered.values()):
        return x, y, covered
    area = layers.service_bounds
    swapped = bool(source.geographic and area is not None and looks_swapped(
        np.array([lon], dtype=float), np.array([lat], dtype=float), area)[0])
    hint = ": lat/lon look swapped; give the longitude first" if swapped else ""
    if not in_range:
        raise InvalidInput([Problem(f"coordinates ({lon}, {lat}) in {source.name} are out of "
                                    f"range or not numbers{hint}", field="lon,lat")])
    if swapped:
        raise InvalidInput([Problem(f"({lon}, {lat}) is outside the service area{hint}",
                                    field="lon,lat")])
    return x, y, covered


def set_cells(layers: LayerSet, rows: list[dict[str, Any]], plan_id: int) -> None:
    """Give each row (with a shapely point ``geom`` in EPSG:4490) the ids of the cells covering
    it, ``<kind>_id``, and ``cells_plan_id``; kinds the plan lacks stay None."""
    if not rows:
        return
    xy = shapely.get_coordinates(np.array([r["geom"] for r in rows], dtype=object))
    ids = layers.assign(xy[:, 0], xy[:, 1])
    for kind in AREA_KINDS:
        column = ids.get(kind)
        for i, row in enumerate(rows):
            row[f"{kind}_id"] = None if column is None else column[i]
            row["cells_plan_id"] = plan_id


def layers_from_frames(frames: dict[str, Any]) -> LayerSet:
    """A LayerSet from GeoDataFrames of cells (``business_id`` column, EPSG:4490) by kind."""
    return LayerSet({kind: Layer.build(kind, list(gdf["business_id"]), gdf.geometry.values, SRID)
                     for kind, gdf in frames.items() if len(gdf)})


def plan_layers(engine: Engine, plan_id: int) -> LayerSet:
    """The layers (town, village, grid, station, beat) of a plan, indexed.

    Built on first use and kept until the plan's version changes, so a lookup never rebuilds
    an index for an unchanged plan. Kinds the plan has no cells of are left out.
    """
    key = (str(engine.url), plan_id)
    with engine.connect() as conn:
        version = area_repo.plan_version(conn, plan_id)
        if version is None:
            raise NotFound(f"no plan with id {plan_id}")
        with _lock:
            cached = _cache.get(key)
            if cached is not None:
                _cache.move_to_end(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        fetched = {kind: area_repo.area_geometries(conn, plan_id, kind) for kind in AREA_KINDS}
    layers = {kind: Layer.build(kind, ids, shapely.from_wkb(np.array(wkb, dtype=object)), SRID)
              for kind, (ids, wkb) in fetched.items() if ids}
    built = LayerSet(layers)
    with _lock:
        _cache[key] = (version, built)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return built
