"""Printed products (issue 17): a bulletin for every beat of a 2,000-beat city (target <= 60 s)
and a village's contact cards, 1,500 houses (target <= 10 s).

City: beats ``synthetic_city(2_000, seed=2)``, villages ``synthetic_city(500, seed=3)`` and
stations ``synthetic_city(50, seed=6)`` on one 50 km square (EPSG:4549, stored in EPSG:4490),
one active plan; 10 incidents per beat and week on average over the 5 weeks the bulletin reads
(this week and the 4 before: 100,000 incidents), assigned to their beat, village and station;
200 police offices. Cards: 1,500 houses in one village, with 2 officers per beat and 3 grid
workers per grid (grids are the houses' beat split in 4).

Timed end to end from the database: reading (a few bulk queries, ``every_beat``) and
rendering each bulletin to an A4 PDF, in ``--workers`` processes (the reading is one stream,
the rendering is spread); the cards from the query to the PDF bytes (one process). Written to
a temporary folder; the set-up is not timed.

    .venv/bin/python bench/print.py [--beats 2000] [--per-week 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from cluster import private_cluster  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
WEEK = "2026-W48"
CATEGORIES = ["纠纷", "盗窃", "求助", "其他", "交通事故", "诈骗", "噪音扰民", "火警"]
SHARES = [0.25, 0.2, 0.16, 0.12, 0.1, 0.08, 0.06, 0.03]


def _layer(n: int, seed: int):
    from gridsvc.domain.geo.synthetic import synthetic_city

    return synthetic_city(n, seed=seed).to_crs(4490)


def _within(points: np.ndarray, layer, ids: list[str]) -> np.ndarray:
    ip, ic = shapely.STRtree(layer.geometry.values).query(points, predicate="within")
    out = np.full(len(points), None, dtype=object)
    out[ip] = np.asarray(ids, dtype=object)[ic]
    return out


def build(engine, beats_n: int, per_week: int, rng: np.random.Generator) -> dict:
    from gridsvc.db import areas, objects

    beats, villages, stations = _layer(beats_n, 2), _layer(500, 3), _layer(50, 6)
    beat_ids = [f"B{i:05d}" for i in range(len(beats))]
    village_ids = [f"V{i:04d}" for i in range(len(villages))]
    station_ids = [f"S{i:03d}" for i in range(len(stations))]
    beat_station = _within(shapely.point_on_surface(beats.geometry.values), stations,
                           station_ids)
    x0, y0, x1, y1 = beats.total_bounds
    n = beats_n * per_week * 5
    pts = shapely.points(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n))
    end = datetime.combine(date.fromisocalendar(2026, 48, 1) + timedelta(days=7), dtime(0), TZ)
    seconds = rng.uniform(0, 35 * 86_400, n)
    cats = rng.choice(len(CATEGORIES), n, p=SHARES)
    with engine.begin() as conn:
        plan = areas.create_plan(conn, name="bench city", status="active",
                                 effective_from=date(2026, 1, 1), created_by="bench")
        areas.insert_areas(conn, plan, "station", [
            {"business_id": s, "name": f"第{i + 1}派出所", "geom": g}
            for i, (s, g) in enumerate(zip(station_ids, stations.geometry, strict=True))])
        areas.insert_areas(conn, plan, "beat", [
            {"business_id": b, "name": f"第{i + 1}警务区", "parent_id": beat_station[i], "geom": g}
            for i, (b, g) in enumerate(zip(beat_ids, beats.geometry, strict=True))])
        areas.insert_areas(conn, plan, "village", [
            {"business_id": v, "name": f"第{i + 1}村", "geom": g}
            for i, (v, g) in enumerate(zip(village_ids, villages.geometry, strict=True))])
        cells = {"beat_id": _within(pts, beats, beat_ids),
                 "village_id": _within(pts, villages, village_ids),
                 "station_id": _within(pts, stations, station_ids)}
        objects.insert_rows(conn, "incident", [
            {"business_id": f"INC{i:07d}", "category": CATEGORIES[cats[i]],
             "occurred_at": end - timedelta(seconds=float(seconds[i])), "geom": pts[i],
             "cells_plan_id": plan, **{k: v[i] for k, v in cells.items()}}
            for i in range(n)])
        office_pts = shapely.points(rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200))
        office_beat = _within(office_pts, beats, beat_ids)
        objects.insert_rows(conn, "office", [
            {"business_id": f"O{i:03d}", "name": f"第{i + 1}警务室", "phone": "0578-7990000",
             "opening_hours": "08:30-17:30", "geom": office_pts[i], "beat_id": office_beat[i],
             "cells_plan_id": plan} for i in range(200)])
        objects.analyze(conn, ["area", "incident", "office"])
    return {"plan": plan, "incidents": n, "beats": beats, "beat_ids": beat_ids,
            "villages": villages, "village_ids": village_ids}


def add_houses(engine, city: dict, houses: int, rng: np.random.Generator) -> str:
    """``houses`` houses in the village of the city's largest village, with their people."""
    from gridsvc.db import objects

    k = int(np.argmax(shapely.area(city["villages"].geometry.values)))
    village, geom = city["village_ids"][k], city["villages"].geometry.iloc[k]
    x0, y0, x1, y1 = geom.bounds
    pts = []
    while len(pts) < houses:
        cand = shapely.points(rng.uniform(x0, x1, houses), rng.uniform(y0, y1, houses))
        pts += list(cand[shapely.within(cand, geom)])
    pts = np.array(pts[:houses], dtype=object)
    beat = _within(pts, city["beats"], city["beat_ids"])
    grid = np.array([f"G{b}-{i % 4}" for i, b in enumerate(beat)], dtype=object)
    with engine.begin() as conn:
        objects.insert_rows(conn, "house", [
            {"business_id": f"H{i:05d}", "address_village_id": village, "number": i + 1,
             "village_id": village, "beat_id": beat[i], "grid_id": grid[i], "geom": pts[i],
             "cells_plan_id": city["plan"]} for i in range(houses)])
        people, links = [], []
        for b in sorted(set(beat)):
            for j in range(2):
                people.append({"business_id": f"P{b}{j}", "name": f"民警{b[-3:]}{j}",
                               "role": "officer", "phone": f"1390000{len(people):04d}"})
                links.append((f"P{b}{j}", "beat", b))
        for g in sorted(set(grid)):
            for j in range(3):
                people.append({"business_id": f"W{g}{j}", "name": f"网格员{len(people)}",
                               "role": "grid_worker", "phone": f"1380000{len(people):04d}"})
                links.append((f"W{g}{j}", "grid", g))
        objects.insert_rows(conn, "person", people)
        objects.link_people(conn, links)
    return village


def _render(bulletin) -> int:
    from gridsvc.services.bulletins import render

    return len(render(bulletin, "pdf"))


def bulletins(engine, workers: int, out: Path) -> tuple[float, float, int, int]:
    """Every beat's bulletin: (seconds to the last PDF, seconds of reading, count, bytes)."""
    from gridsvc.printing.fonts import register
    from gridsvc.services.bulletins import every_beat

    t0 = time.perf_counter()
    made = list(every_beat(engine, WEEK))
    read_s = time.perf_counter() - t0
    if workers == 1:
        register()
        sizes = [_render(b) for b in made]
    else:
        with ProcessPoolExecutor(workers, initializer=register) as pool:
            sizes = list(pool.map(_render, made, chunksize=32))
    return time.perf_counter() - t0, read_s, len(made), sum(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=int, default=2_000)
    parser.add_argument("--per-week", type=int, default=10)
    parser.add_argument("--houses", type=int, default=1_500)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()

    from sqlalchemy import create_engine

    from gridsvc.db import migrate
    from gridsvc.services.cards import village_cards_pdf

    rng = np.random.default_rng(17)
    with private_cluster("gridsvc-bench-print-") as pg, \
            tempfile.TemporaryDirectory() as tmp:
        pg.create_database("city")
        engine = create_engine(pg.url("city"))
        migrate.upgrade(engine)
        t = time.perf_counter()
        city = build(engine, args.beats, args.per_week, rng)
        village = add_houses(engine, city, args.houses, rng)
        print(f"set-up {time.perf_counter() - t:.0f} s: {args.beats:,} beats, "
              f"{city['incidents']:,} incidents, {args.houses:,} houses in {village}")
        for workers in sorted({1, args.workers}):
            total, read_s, count, size = bulletins(engine, workers, Path(tmp))
            print(f"bulletins, {workers} process(es): {count:,} in {total:.1f} s "
                  f"(reading {read_s:.1f} s, then {1000 * (total - read_s) / count:.0f} ms a PDF, "
                  f"{size / count / 1024:.0f} KiB each; target <= 60 s: "
                  f"{'met' if total <= 60 else 'MISSED'})")
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            pdf = village_cards_pdf(engine, village)
            best = min(best, time.perf_counter() - t)
        print(f"cards: {args.houses:,} houses, {(args.houses + 7) // 8} pages, "
              f"{len(pdf) / 1024:.0f} KiB in {best:.2f} s, best of 3 (target <= 10 s: "
              f"{'met' if best <= 10 else 'MISSED'})")
        engine.dispose()


if __name__ == "__main__":
    main()
