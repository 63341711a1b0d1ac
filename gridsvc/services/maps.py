"""Map pages: read what a page shows, in one transaction, and hand it to :mod:`gridsvc.maps`."""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import coverage as coverage_repo
from gridsvc.db import maps as repo
from gridsvc.db import objects, rls
from gridsvc.db.models import SRID
from gridsvc.domain.coverage.office_coverage import walk_radius_m
from gridsvc.domain.coverage.road_network import RoadNetwork
from gridsvc.domain.reports import risk
from gridsvc.errors import InvalidInput, NotFound, Problem
from gridsvc.maps.coverage import SHOWN, coverage_map
from gridsvc.maps.geometry import METRES_PER_DEGREE
from gridsvc.maps.page import render
from gridsvc.maps.tiles import Tiled
from gridsvc.services import map_tiles
from gridsvc.services.assignment import current_plan
from gridsvc.services.fusion import metric_crs
from gridsvc.settings import DutySettings

log = logging.getLogger(__name__)


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


def _people(conn: Connection, kinds: list[str]) -> dict[tuple[str, str, str], list[str]]:
    """(kind, cell id, role) -> names for cells of ``kinds``, in a stable order."""
    found: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for link in objects.people_links(conn, kinds):
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


def _walk_roads(roads: gpd.GeoSeries | None, offices: gpd.GeoDataFrame, crs: str
                ) -> gpd.GeoSeries | None:
    """The stretches of road within the 15-minute walk of an office (EPSG:4490; measured in
    the metric ``crs``), or None without a road layer or offices."""
    if roads is None or not len(roads) or not len(offices):
        return None
    network = RoadNetwork.build(list(roads.to_crs(crs)))
    sites = offices.to_crs(crs).geometry
    stretches = network.reachable(np.column_stack([sites.x, sites.y]), walk_radius_m())
    lines = shapely.linestrings(stretches.reshape(-1, 2, 2))
    return gpd.GeoSeries(lines, crs=crs).to_crs(SRID)


def _source(conn: Connection, plan_id: int, kind: str, map_settings: Any, inline: bool
            ) -> gpd.GeoDataFrame | Tiled:
    """A layer inline (GeoDataFrame with totals) or, when it has more cells than
    ``map_settings.tile_above`` and the page is served, from vector tiles."""
    stats = repo.layer_stats(conn, plan_id, kind)
    if inline or stats["n"] <= map_settings.tile_above:
        return cell_frame(conn, plan_id, kind)
    # The version in the URL changes with the plan and the data, so browsers may cache tiles.
    version = f"{area_repo.plan_version(conn, plan_id)}.{objects.data_version(conn)}"
    labels = pd.DataFrame(repo.label_points(conn, plan_id, kind),
                          columns=["id", "name", "lon", "lat"])
    bounds = (stats["x0"], stats["y0"], stats["x1"], stats["y1"])
    # Typical width: the side of the layer's extent shared out evenly (a tiling's cells).
    lat = math.radians((bounds[1] + bounds[3]) / 2)
    extent_m2 = ((bounds[2] - bounds[0]) * METRES_PER_DEGREE * math.cos(lat)
                 * (bounds[3] - bounds[1]) * METRES_PER_DEGREE)
    return Tiled(url=f"/maps/tiles/{plan_id}/{kind}/{{tz}}/{{x}}/{{y}}.pbf?v={version}",
                 labels=labels, width_m=math.sqrt(extent_m2 / stats["n"]), bounds=bounds)


def _source_warmed(engine: Engine, conn: Connection, plan_id: int, kind: str, map_settings: Any,
                   inline: bool, show: bool = True) -> gpd.GeoDataFrame | Tiled:
    """:func:`_source`, and for a tiled layer shown at once, its first view's tiles started."""
    layer = _source(conn, plan_id, kind, map_settings, inline)
    if isinstance(layer, Tiled) and show:
        map_tiles.warm(engine, plan_id, kind, layer.bounds)
    return layer


def _build_coverage_page(engine: Engine, map_settings: Any, as_of: date | None = None,
                         inline: bool = False, duty: DutySettings | None = None,
                         now: datetime | None = None) -> str:
    """HTML of the coverage page for the plan in effect on ``as_of`` (today when None).

    ``inline``: one self-contained file (libraries and every layer inline); otherwise large
    layers come from vector tiles and libraries from ``/static/maps``. With ``duty``, the
    duty layers at ``now`` (who is on duty, this and the last shift's patrol, responsibility
    fields; :func:`gridsvc.services.duty_maps.coverage_layers`).
    """
    from gridsvc.services import duty_maps  # it draws with this module's cell frames

    plan_id = current_plan(engine, as_of)
    duty_layers = (duty_maps.coverage_layers(engine, duty, plan_id, now or datetime.now(UTC))
                   if duty is not None else None)
    with engine.connect() as conn:
        cells = {kind: _source_warmed(engine, conn, plan_id, kind, map_settings, inline,
                                      show=kind in SHOWN)
                 for kind in ("town", "village", "grid", "beat")}
        # People for the layers drawn inline (tiles carry their own) and the station totals.
        people = _people(conn, [k for k, v in cells.items() if not isinstance(v, Tiled)]
                         + ["station"])
        for kind, layer in cells.items():
            if not isinstance(layer, Tiled):
                _with_people(layer, kind, people)
        beats = cells["beat"]
        station = cell_frame(conn, plan_id, "station")
        cells["station"] = _with_people(station, "station", people,
                                        beats=beats if isinstance(beats, pd.DataFrame) else None)
        offices = _point_frame(objects.offices(conn))
        offices = offices.rename(columns={"opening_hours": "hours"})
        cameras = _point_frame(repo.point_layer(conn, "camera"))
        patrol = _point_frame(repo.point_layer(conn, "patrol_point"))
        roads = coverage_repo.road_geometries(conn)
        crs = metric_crs(conn, plan_id)
    road_lines = (gpd.GeoSeries(shapely.from_wkb(np.array(roads, dtype=object)), crs=SRID)
                  if roads else None)
    page = coverage_map(cells, offices, walk_radius_m(), cameras, patrol, map_settings,
                        walk_roads=_walk_roads(road_lines, offices, crs), roads=road_lines,
                        duty=duty_layers)
    return render(page, inline=inline)


def window(days: int | None, since: date | None, until: date | None, default_days: int
           ) -> tuple[datetime, datetime, str]:
    """The time window ``[since 00:00, until + 1 day 00:00)`` UTC and its text.

    ``until`` defaults to today, ``since`` to ``days`` (or ``default_days``) days before it.
    """
    until = until or date.today()
    if since is None:
        since = until - timedelta(days=(days or default_days) - 1)
    if since > until:
        raise InvalidInput([Problem(f"since ({since}) is after until ({until})", field="since")])
    start = datetime.combine(since, time.min, tzinfo=UTC)
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
    return start, end, f"{since.isoformat()} – {until.isoformat()}"


def _coloured(frame: gpd.GeoDataFrame, incidents: np.ndarray, red: float, orange: float,
              words: dict[str, str]) -> gpd.GeoDataFrame:
    rate = risk.incident_rate(incidents, frame["households"].to_numpy())
    colours = risk.risk_levels(rate, red, orange)
    frame = frame.assign(incidents=incidents, colour=colours,
                         rate=["-" if np.isnan(r) else f"{r:.1f}" for r in rate])
    frame["level"] = [words.get(f"risk_{c}", words["none"]) for c in colours]
    return frame


def _build_risk_page(engine: Engine, map_settings: Any, *, days: int | None = None,
                     since: date | None = None, until: date | None = None,
                     red: float | None = None, orange: float | None = None,
                     category: str | None = None, as_of: date | None = None,
                     inline: bool = False) -> str:
    """HTML of the risk page: thresholds from the arguments, else the settings."""
    from gridsvc.maps.i18n import words
    from gridsvc.maps.risk import risk_map

    red = map_settings.risk_red if red is None else red
    orange = map_settings.risk_orange if orange is None else orange
    risk.check_thresholds([red, orange], ["red", "orange"])
    start, end, text = window(days, since, until, map_settings.risk_days)
    w = words(map_settings.language)
    plan_id = current_plan(engine, as_of)
    with engine.connect() as conn:
        grids = _source_warmed(engine, conn, plan_id, "grid", map_settings, inline)
        attrs = pd.DataFrame(repo.house_totals_only(conn, plan_id, "grid"),
                             columns=["id", "name", "code", "houses", "households", "residents",
                                      "registered", "floating", "rentals"])
        per_grid = repo.incident_counts(conn, plan_id, "grid", start, end, category)
        rows = repo.compounds(conn, start, end, category)
        rentals = _point_frame(repo.rentals(conn))
    attrs = _coloured(attrs, np.array([per_grid.get(i, 0) for i in attrs["id"]], dtype=int),
                      red, orange, w)
    fs = map_settings
    levels = risk.floating_levels(attrs["floating"].to_numpy(), attrs["registered"].to_numpy(),
                                  fs.floating_red, fs.floating_orange, fs.floating_yellow)
    attrs = attrs.assign(floating_colour=levels, floating_n=attrs["floating"],
                         floating_level=[w[f"fl_{lv}"] for lv in levels]).set_index("id")
    geoms = shapely.from_wkb(np.array([r.pop("wkb") for r in rows], dtype=object))
    compounds = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)
    if len(compounds):
        compounds = _coloured(compounds.assign(code=compounds["id"]),
                              compounds["incidents"].to_numpy(), red, orange, w)
    rentals = rentals.rename(columns={"rental_stars": "stars", "floating": "floating_n"})
    if len(rentals):
        rentals["name"] = [f"{v} {n}" for v, n in zip(rentals["village_id"], rentals["number"],
                                                       strict=True)]
    page = risk_map(compounds, grids, attrs, rentals, text, red, orange, map_settings)
    return render(page, inline=inline)


def _build_incidents_page(engine: Engine, map_settings: Any, *, days: int | None = None,
                          since: date | None = None, until: date | None = None,
                          category: str | None = None, as_of: date | None = None,
                          query: dict[str, str] | None = None, inline: bool = False) -> str:
    """HTML of the incidents page for a window and (optionally) one category."""
    from gridsvc.maps.incidents import incidents_map

    start, end, text = window(days, since, until, map_settings.risk_days)
    plan_id = current_plan(engine, as_of)
    with engine.connect() as conn:
        categories = repo.incident_categories(conn)
        if category is not None and category not in categories:
            raise InvalidInput([Problem(f"unknown category {category!r}; categories are "
                                        f"{', '.join(categories)}", field="category")])
        rows = repo.incidents(conn, start, end, category)
        beats = cell_frame(conn, plan_id, "beat")
    for r in rows:
        r["time"] = r.pop("occurred_at").strftime("%Y-%m-%d %H:%M")
    frame = _point_frame(rows)
    if not len(frame):
        frame = gpd.GeoDataFrame({"id": [], "category": [], "time": []},
                                 geometry=gpd.GeoSeries([], crs=SRID), crs=SRID)
    page = incidents_map(frame, beats, categories, category, text, query or {}, map_settings)
    return render(page, inline=inline)


def _changes(draft: gpd.GeoDataFrame, active: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The draft's cells with ``change``, plus the active cells the draft no longer has."""
    base = active.set_index("id").geometry
    matched = draft["id"].isin(base.index).to_numpy()
    change = np.where(matched, "same", "new").astype(object)
    if matched.any():
        old = base.reindex(draft["id"][matched]).to_numpy()
        moved = ~shapely.equals(draft.geometry.to_numpy()[matched], old)
        change[np.flatnonzero(matched)[moved]] = "changed"
    draft = draft.assign(change=change)
    gone = active[~active["id"].isin(draft["id"])].assign(change="retired")
    return gpd.GeoDataFrame(pd.concat([draft, gone], ignore_index=True), crs=SRID)


def _build_plan_page(engine: Engine, map_settings: Any, plan_id: int, inline: bool = False) -> str:
    """HTML of a plan's page: its cells over those of the plan it was based on (else the plan
    in effect today), changed, new and retired cells marked."""
    from gridsvc.maps.plan import plan_map

    kinds = ("village", "grid", "station", "beat")
    with engine.connect() as conn:
        plan = area_repo.get_plan(conn, plan_id)
        if plan is None:
            raise NotFound(f"no plan with id {plan_id}")
        base_id = plan["based_on_id"] or area_repo.current_plan_id(conn)
        draft = {k: cell_frame(conn, plan_id, k) for k in kinds}
        active = ({k: cell_frame(conn, base_id, k) for k in kinds}
                  if base_id is not None and base_id != plan_id else {})
    if active:
        draft = {k: _changes(draft[k], active[k]) for k in kinds}
    else:
        draft = {k: f.assign(change="same") for k, f in draft.items()}
    title = f'{plan["name"]} ({plan["status"]}, v{plan["version"]})'
    return render(plan_map(draft, active, title, map_settings), inline=inline)


#: Rendered pages (a city's coverage page takes ~1 s to build), keyed by what they show and by
#: the data version (the newest audit entry: every change is audited) and today's date (the
#: plan in effect and the default time windows follow the calendar), so never stale.
_PAGES: OrderedDict[tuple, str] = OrderedDict()
_PAGES_MAX = 16
_PAGES_LOCK = threading.Lock()


def _cached(engine: Engine, key: tuple, build: Any) -> str:
    with engine.connect() as conn:
        # Who sees what (rls.view_key): a grid worker's page is not the command centre's.
        full = (*key, rls.view_key(conn), objects.data_version(conn), date.today())
    with _PAGES_LOCK:
        if full in _PAGES:
            _PAGES.move_to_end(full)
            return _PAGES[full]
    text = build()
    with _PAGES_LOCK:
        _PAGES[full] = text
        while len(_PAGES) > _PAGES_MAX:
            _PAGES.popitem(last=False)
    return text


def coverage_page(engine: Engine, map_settings: Any, as_of: date | None = None,
                  inline: bool = False, duty: DutySettings | None = None) -> str:
    """HTML of the coverage page for the plan in effect on ``as_of`` (today when None).

    ``inline``: one self-contained file (libraries and every layer inline); otherwise large
    layers come from vector tiles and libraries from ``/static/maps``. ``duty``: with the
    duty layers as they are now (None: without). Cached (see ``_PAGES``); with the duty
    layers, also keyed by what they change with (who holds duty now, the newest check-in,
    the rounds closed: :func:`gridsvc.services.duty_maps.coverage_state`), so a check-in or a
    round closing redraws the page and the minutes in between do not.
    """
    from gridsvc.services import duty_maps

    now = datetime.now(UTC)
    state = duty_maps.coverage_state(engine, duty, now) if duty is not None else None
    key = ("coverage", as_of, inline, map_settings.model_dump_json(),
           duty.model_dump_json() if duty is not None else None, state)
    return _cached(engine, key, lambda: _build_coverage_page(engine, map_settings, as_of,
                                                             inline, duty, now))


def risk_page(engine: Engine, map_settings: Any, **options: Any) -> str:
    """HTML of the risk page; ``options`` as :func:`_build_risk_page`. Cached."""
    key = ("risk", tuple(sorted(options.items())), map_settings.model_dump_json())
    return _cached(engine, key, lambda: _build_risk_page(engine, map_settings, **options))


def incidents_page(engine: Engine, map_settings: Any, **options: Any) -> str:
    """HTML of the incidents page; ``options`` as :func:`_build_incidents_page`. Cached."""
    frozen = {k: tuple(sorted(v.items())) if isinstance(v, dict) else v
              for k, v in options.items()}
    key = ("incidents", tuple(sorted(frozen.items())), map_settings.model_dump_json())
    return _cached(engine, key, lambda: _build_incidents_page(engine, map_settings, **options))


def plan_page(engine: Engine, map_settings: Any, plan_id: int, inline: bool = False) -> str:
    """HTML of a plan's page (see :func:`_build_plan_page`). Cached."""
    key = ("plan", plan_id, inline, map_settings.model_dump_json())
    return _cached(engine, key,
                   lambda: _build_plan_page(engine, map_settings, plan_id, inline))


def prewarm(engine: Engine, map_settings: Any, duty: DutySettings | None = None) -> None:
    """Build today's coverage page into the cache (which also starts its tiles). Meant for a
    background thread at start-up: any failure (no plan loaded yet, database down) is logged
    and ignored; the first request then builds the page itself."""
    try:
        coverage_page(engine, map_settings, duty=duty)
    except Exception:  # a warm-up must never take the service down
        log.info("map pre-warm skipped", exc_info=True)
