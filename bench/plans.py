"""Planning benchmark (issue 7): impact preview and activation of an edit that moves 10,000
houses, on the 10,000-cell synthetic city (targets: preview <= 1 s, activation <= 5 s).

The city, in a private embedded PostGIS: grids ``synthetic_city(10_000, seed=1)``, beats
``(2_000, seed=2)``, villages ``(500, seed=3)``, towns ``(20, seed=4)``, stations ``(5, seed=6)``
(parents by the cell covering a grid's point on surface, as bench/fusion.py), 200,000 houses
spread uniformly plus a new estate of 10,000 houses in one grid, 50,000 incidents of the last
two years, 2,000 patrol points, 5,000 cameras, 200 offices, an officer per beat and two grid
workers per grid. The edit moves the estate's part of its grid to the neighbouring grid
(``transfer`` with a drawn area), so 10,000 houses change grid.

Peers, in the same run: the obvious ways of finding what moves without the local indexes:
building the draft's whole index (:func:`gridsvc.services.assignment.plan_layers`) and
assigning every house; and PostGIS assigning every house under the draft
(:func:`gridsvc.db.objects.assign_cells`, rolled back) of the houses near the changed cells
(every house would take many minutes).

    .venv/bin/python bench/plans.py [--houses N] [--estate N] [--skip-postgis]
"""

from __future__ import annotations

import argparse
import io
import time
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
import orjson
import shapely
from cluster import private_cluster  # bench/cluster.py (run as a script: bench/ is on the path)
from sqlalchemy import create_engine, text

from gridsvc.db import areas as area_repo
from gridsvc.db import migrate, objects
from gridsvc.db.models import SRID
from gridsvc.domain.geo.synthetic import synthetic_city
from gridsvc.services import plan_activation, plan_impact, plans
from gridsvc.services.assignment import layers_from_frames, plan_layers

METRIC = "EPSG:4549"


def _parents(frame, parents):
    pts = shapely.point_on_surface(frame.geometry.values)
    ic, ip = shapely.STRtree(parents.geometry.values).query(pts, predicate="within")
    out = np.full(len(frame), None, dtype=object)
    out[ic] = parents["business_id"].to_numpy()[ip]
    return out


def _layer(n, seed, prefix, parents=None):
    city = synthetic_city(n, seed=seed)
    city["business_id"] = [f"{prefix}{i:05d}" for i in range(1, n + 1)]
    city["parent_id"] = None if parents is None else _parents(city, parents)
    return city


def _copy(conn, table, columns, rows):
    buf = io.StringIO()
    for r in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in r) + "\n")
    with conn.connection.dbapi_connection.cursor().copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        cp.write(buf.getvalue())


def _ewkb(x, y):
    return shapely.to_wkb(shapely.set_srid(shapely.points(x, y), SRID), hex=True,
                          include_srid=True)


def build(engine, n_houses: int, n_estate: int, rng: np.random.Generator):
    """Load the city; returns the plan id, the estate's grid and its neighbour, and the
    area to move (EPSG:4490)."""
    towns = _layer(20, 4, "T")
    villages = _layer(500, 3, "V", towns)
    grids = _layer(10_000, 1, "G", villages)
    stations = _layer(5, 6, "S")
    beats = _layer(2_000, 2, "B", stations)
    frames = {"town": towns, "village": villages, "grid": grids, "station": stations,
              "beat": beats}
    # The estate: in the grid nearest the centre, towards its largest neighbour.
    x0, y0, x1, y1 = grids.total_bounds
    centre = shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)
    g = int(shapely.STRtree(grids.geometry.values).query_nearest(centre)[0])
    ggeom = grids.geometry.values[g]
    near = shapely.STRtree(grids.geometry.values).query(ggeom, predicate="touches")
    shared = [shapely.length(shapely.intersection(ggeom.boundary, grids.geometry.values[i]))
              for i in near]
    n = int(near[int(np.argmax(shared))])
    edge = shapely.intersection(ggeom.boundary, grids.geometry.values[n])
    mid = shapely.line_interpolate_point(shapely.line_merge(edge), 0.5, normalized=True)
    inner = shapely.line_interpolate_point(shapely.LineString([mid, ggeom.centroid]), 0.5,
                                           normalized=True)
    radius = 0.35 * inner.distance(mid)
    area = shapely.intersection(shapely.LineString([inner, mid]).buffer(radius * 1.05), ggeom)
    ex, ey = [], []
    while len(ex) < n_estate:  # points in the disk
        px = rng.uniform(inner.x - radius, inner.x + radius, n_estate)
        py = rng.uniform(inner.y - radius, inner.y + radius, n_estate)
        ok = (px - inner.x) ** 2 + (py - inner.y) ** 2 < (radius * 0.98) ** 2
        ex += px[ok].tolist()
        ey += py[ok].tolist()
    hx = np.concatenate([rng.uniform(x0, x1, n_houses), np.array(ex[:n_estate])])
    hy = np.concatenate([rng.uniform(y0, y1, n_houses), np.array(ey[:n_estate])])
    frames = {k: f.to_crs(SRID) for k, f in frames.items()}
    area_deg = gpd.GeoSeries([area], crs=METRIC).to_crs(SRID).iloc[0]
    pts = gpd.GeoSeries(shapely.points(hx, hy), crs=METRIC).to_crs(SRID)
    lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
    with engine.begin() as conn:
        plan_id = area_repo.create_plan(conn, name="synthetic city", status="active",
                                        effective_from=datetime(2025, 1, 1).date(),
                                        source="bench", created_by="bench")
        for kind, f in frames.items():
            area_repo.insert_areas(conn, plan_id, kind, [
                {"business_id": b, "code": None, "name": b, "parent_id": p, "households": None,
                 "residents": None, "attrs": {}, "geom": geom}
                for b, p, geom in zip(f["business_id"], f["parent_id"], f.geometry.values,
                                      strict=True)])
        layers = layers_from_frames(frames)
        ids = layers.assign(lon, lat)
        cells = [ids[k] for k in ("town", "village", "grid", "station", "beat")]
        hh = rng.integers(1, 5, len(lon))
        rs = hh + rng.integers(0, 4, len(lon))
        wkb = _ewkb(lon, lat)
        _copy(conn, "house", ["business_id", "address_village_id", "number", "aliases",
                              "households", "registered", "residents", "floating", "is_rental",
                              "town_id", "village_id", "grid_id", "station_id", "beat_id",
                              "cells_plan_id", "geom"],
              ((f"H{i:07d}", cells[1][i] or "V00001", i + 1, "{}", hh[i], rs[i], rs[i], 0,
                "f", cells[0][i], cells[1][i], cells[2][i], cells[3][i], cells[4][i], plan_id,
                wkb[i]) for i in range(len(lon))))
        now = datetime.now(UTC)
        for table, count, cols in (
                ("incident", 50_000, ["occurred_at", "category"]),
                ("patrol_point", 2_000, ["name", "level"]),
                ("camera", 5_000, ["name", "heading_deg", "fov_deg", "range_m"]),
                ("office", 200, ["name"])):
            px = rng.uniform(lon.min(), lon.max(), count)
            py = rng.uniform(lat.min(), lat.max(), count)
            cid = layers.assign(px, py)
            extra = {"incident": lambda i: [now - timedelta(days=int(i % 730)), "盗窃"],
                     "patrol_point": lambda i: [f"P{i}", 2],
                     "camera": lambda i: [f"C{i}", 90.0, 60.0, 50.0],
                     "office": lambda i: [f"O{i}"]}[table]
            pw = _ewkb(px, py)
            _copy(conn, table, ["business_id", *cols, "town_id", "village_id", "grid_id",
                                "station_id", "beat_id", "cells_plan_id", "geom"],
                  ([f"{table[:2].upper()}{i:06d}", *extra(i),
                    *(cid[k][i] for k in ("town", "village", "grid", "station", "beat")),
                    plan_id, pw[i]] for i in range(count)))
        people = [(f"OF{i:05d}", "officer", "beat", b) for i, b in enumerate(beats["business_id"])]
        people += [(f"GW{i:06d}", "grid_worker", "grid", grids["business_id"].iloc[i // 2])
                   for i in range(2 * len(grids))]
        objects.insert_rows(conn, "person", [{"business_id": p, "name": p, "role": r}
                                             for p, r, _, _ in people])
        objects.link_people(conn, [(p, k, a) for p, _, k, a in people])
        conn.execute(text("ANALYZE"))
    return plan_id, grids["business_id"].iloc[g], grids["business_id"].iloc[n], area_deg, len(lon)


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=200_000, help="houses spread uniformly")
    parser.add_argument("--estate", type=int, default=10_000, help="houses the edit moves")
    parser.add_argument("--skip-postgis", action="store_true", help="skip the PostGIS peer")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    with private_cluster("gridsvc-bench-plans-") as pg:
        pg.create_database("bench")
        engine = create_engine(pg.url("bench"))
        migrate.upgrade(engine)
        (_, grid, neighbour, area, n_houses), t_load = _timed(
            lambda: build(engine, args.houses, args.estate, rng))
        print(f"city loaded in {t_load:.1f} s: 10,000 grids, 2,000 beats, 500 villages, "
              f"20 towns, 5 stations; {n_houses:,} houses; estate in {grid} -> {neighbour}")
        draft, t_draft = _timed(lambda: plans.create_draft(engine, name="bench", actor="bench"))
        print(f"draft (copy of 12,525 cells): {t_draft:.2f} s")
        edit = {"op": "transfer", "from": grid, "to": neighbour,
                "area": shapely.geometry.mapping(area)}
        done, t_edit = _timed(lambda: plans.edit(engine, draft["id"], edit, version=1,
                                                 actor="bench"))
        print(f"edit (transfer + checks + audit): {t_edit:.2f} s, {done['errors']} error(s), "
              f"{done['warnings']} warning(s)")
        times = []
        for _ in range(3):
            (report, body), t = _timed(lambda: (lambda r: (r, orjson.dumps(
                r, option=orjson.OPT_SERIALIZE_NUMPY)))(
                plan_impact.impact(engine, draft["id"], months=12)))
            times.append(t)
        s = report["summary"]
        t_impact = min(times)
        print(f"impact preview (service + JSON, {len(body) / 1e6:.1f} MB): best "
              f"{t_impact:.2f} s of {', '.join(f'{t:.2f}' for t in times)}; moves "
              f"{s['houses']:,} houses, {s['incidents']:,} incidents, "
              f"{s['patrol_points']} patrol points, {s['cameras']} cameras, "
              f"{s['offices']} offices (target <= 1 s: "
              f"{'met' if t_impact <= 1 else 'MISSED'})")

        def full_memory():
            layers = plan_layers(engine, draft["id"])
            with engine.connect() as conn:
                xy = np.array(conn.execute(text(
                    "SELECT ST_X(geom), ST_Y(geom) FROM house")).all(), dtype=float)
            return layers.assign(xy[:, 0], xy[:, 1])

        _, t_full = _timed(full_memory)
        print(f"peer: whole draft index + every house in memory: {t_full:.2f} s "
              f"({t_full / t_impact:.1f}x the preview)")
        if not args.skip_postgis:
            # Every house takes minutes (10 correlated lookups per row); the peer gets the same
            # rows the preview reads: the houses in the boxes of the changed cells.
            with engine.connect() as conn:
                near = conn.execute(text("""
                    SELECT DISTINCT h.business_id FROM house h JOIN area a ON a.geom && h.geom
                    WHERE a.plan_id = ANY(:plans) AND a.kind = 'grid'
                    AND a.business_id = ANY(:ids)"""),
                    {"plans": [draft["based_on_id"], draft["id"]],
                     "ids": [grid, neighbour]}).scalars().all()

            def postgis():
                with engine.connect() as conn, conn.begin() as tx:
                    n = objects.assign_cells(conn, "house", draft["id"], near)
                    tx.rollback()
                return n

            _, t_pg = _timed(postgis)
            print(f"peer: PostGIS assign_cells under the draft of the {len(near):,} houses near "
                  f"the changed cells (the rows the preview reads): {t_pg:.2f} s "
                  f"({t_pg / t_impact:.1f}x the preview)")
        on, t_act = _timed(lambda: plan_activation.activate(
            engine, draft["id"], actor="bench", version=2))
        print(f"activation (commit): {t_act:.2f} s; moved {on['moved']} (target <= 5 s: "
              f"{'met' if t_act <= 5 else 'MISSED'}; matches preview: "
              f"{on['moved']['house'] == s['houses']})")
        engine.dispose()


if __name__ == "__main__":
    main()
