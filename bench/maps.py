"""Map pages: weight and time to first render in headless Chromium, demo town and 10,000-cell city.

Targets (issue 6): the city's coverage page at most 3 MB before interaction and first render
under 3 s. A private embedded PostGIS gets the demo town (database ``demo``) and a synthetic city
(database ``city``: 20 towns, 500 villages, 10,000 grids, 20 stations, 2,000 beats, 100,000
houses, one officer per beat, two grid workers per grid, 100 offices, 3,000 cameras, 1,000 patrol
points, 20,000 incidents). ``gridsvc serve`` runs on each with the start-up pre-warm off, and
Chromium (network closed) loads every page cold (browser cache cleared, nothing cached in the
server) and then warm. The city server is then started once more as deployed (pre-warm on) and
its coverage page opened a few seconds later.

The peer is the page a Folium user writes without gridsvc's preparation: the same cells with
``folium.GeoJson`` unsimplified at full precision (same tooltips, libraries served locally),
measured the same way.

    .venv/bin/python bench/maps.py [--grids N] [--beats N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cluster import private_cluster  # noqa: E402  (bench/cluster.py)

from gridsvc.db import migrate  # noqa: E402
from gridsvc.db.areas import create_plan, insert_areas  # noqa: E402
from gridsvc.db.models import SRID  # noqa: E402
from gridsvc.db.objects import analyze, insert_rows, link_people  # noqa: E402
from gridsvc.domain.accounts import Role  # noqa: E402
from gridsvc.domain.geo.synthetic import synthetic_city  # noqa: E402
from gridsvc.services.assignment import layers_from_frames, set_cells  # noqa: E402
from gridsvc.services.demo import load_demo  # noqa: E402
from gridsvc.services.tokens import create_token  # noqa: E402
from gridsvc.settings import Settings  # noqa: E402
from tests.browser import chromium  # noqa: E402


def _layer(n: int, seed: int, prefix: str, parents=None) -> gpd.GeoDataFrame:
    """``n`` synthetic cells (EPSG:4490) with ``business_id`` and ``parent_id`` (the parent
    covering a point inside each cell, by gridsvc's own assignment engine)."""
    frame = synthetic_city(n, seed=seed).to_crs(SRID)
    frame["business_id"] = [f"{prefix}{i:05d}" for i in range(len(frame))]
    frame["parent_id"] = None
    if parents is not None:
        inside = shapely.get_coordinates(shapely.point_on_surface(frame.geometry.values))
        layer = layers_from_frames({"parent": parents})
        frame["parent_id"] = layer.assign(inside[:, 0], inside[:, 1])["parent"]
    return frame


def load_city(engine, grids_n: int, beats_n: int) -> None:
    rng = np.random.default_rng(7)
    towns = _layer(20, 4, "T")
    villages = _layer(500, 3, "V", towns)
    frames = {"town": towns, "village": villages, "grid": _layer(grids_n, 1, "G", villages),
              "station": (stations := _layer(20, 6, "S")),
              "beat": _layer(beats_n, 2, "B", stations)}
    layers = layers_from_frames(frames)
    x0, y0, x1, y1 = frames["grid"].total_bounds

    def points(n):
        return shapely.points(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n))

    def rows(table: str, n: int, extra) -> list[dict]:
        pts = points(n)
        out = [{"business_id": f"{table[:2].upper()}{i:06d}", **extra(i), "geom": pts[i]}
               for i in range(n)]
        set_cells(layers, out, plan)  # the cells, as gridsvc assigns them
        return out

    with engine.begin() as conn:
        plan = create_plan(conn, name="synthetic city", status="active",
                           effective_from=date(2020, 1, 1), created_by="bench", source="bench")
        for kind, frame in frames.items():
            insert_areas(conn, plan, kind, [
                {"business_id": i, "code": i, "name": f"{kind} {i}", "parent_id": p,
                 "households": None, "residents": None, "geom": g}
                for i, g, p in zip(frame["business_id"], frame.geometry.values,
                                   frame["parent_id"], strict=True)])
        houses = rows("house", 100_000, lambda i: {
            "number": i + 1, "households": int(rng.integers(1, 4)),
            "registered": int(rng.integers(1, 6)), "residents": int(rng.integers(1, 8)),
            "floating": int(rng.integers(0, 3)), "is_rental": bool(i % 20 == 0),
            "rental_stars": int(rng.integers(1, 6)) if i % 20 == 0 else None})
        for h in houses:
            h["address_village_id"] = h["village_id"] or "V00000"
        insert_rows(conn, "house", houses)
        insert_rows(conn, "office", rows("office", 100, lambda i: {"name": f"office {i}"}))
        insert_rows(conn, "camera", rows("camera", 3_000, lambda i: {
            "name": f"cam {i}", "heading_deg": float(rng.uniform(0, 360)), "fov_deg": 60.0,
            "range_m": 60.0}))
        insert_rows(conn, "patrol_point", rows("patrol_point", 1_000,
                                               lambda i: {"name": f"pp {i}", "level": 2}))
        start = datetime(2026, 8, 2, tzinfo=UTC)
        insert_rows(conn, "incident", rows("incident", 20_000, lambda i: {
            "category": ("盗窃", "纠纷", "求助")[i % 3],
            "occurred_at": start + timedelta(minutes=int(rng.integers(0, 89 * 1440)))}))
        people, links = [], []
        for i in frames["beat"]["business_id"]:
            people.append({"business_id": f"P{i}", "name": f"民警{i}", "role": "officer"})
            links.append((f"P{i}", "beat", i))
        for i in frames["grid"]["business_id"]:
            for j in (1, 2):
                people.append({"business_id": f"W{i}{j}", "name": f"网格员{i}{j}",
                               "role": "grid_worker"})
                links.append((f"W{i}{j}", "grid", i))
        insert_rows(conn, "person", people)
        link_people(conn, links)
        analyze(conn, ["area", "house", "office", "camera", "patrol_point", "incident", "person",
                       "person_area"])


def naive_page(engine, out: Path) -> None:
    """The peer: all grids and beats unsimplified at full precision, in plain Folium."""
    import folium

    from gridsvc.maps.page import STATIC_URL
    from gridsvc.services.assignment import current_plan
    from gridsvc.services.maps import cell_frame

    plan = current_plan(engine)
    m = folium.Map(tiles=None, prefer_canvas=True)
    m.default_js = [("leaflet", f"{STATIC_URL}/leaflet/dist/leaflet.js")]
    m.default_css = [("leaflet_css", f"{STATIC_URL}/leaflet/dist/leaflet.css")]
    with engine.connect() as conn:
        for kind in ("beat", "grid"):
            frame = cell_frame(conn, plan, kind)[["id", "name", "code", "households",
                                                   "residents", "geometry"]]
            folium.GeoJson(gpd.GeoDataFrame(frame, crs=4490), name=kind,
                           tooltip=folium.GeoJsonTooltip(["name", "code", "households"])
                           ).add_to(m)
    m.fit_bounds([[28.0, 118.7], [28.5, 119.3]])
    # The same probe as gridsvc's pages, run after the map's script has added every layer.
    m.get_root().script.add_child(folium.Element("""window.gridsvc = {layers: {}, ready: null};
        requestAnimationFrame(function() { requestAnimationFrame(function() {
        window.gridsvc.ready = performance.now(); }); });"""))
    out.write_text(m.get_root().render(), encoding="utf-8")


def serve(url: str, port: int, prewarm: bool = False) -> subprocess.Popen:
    env = {**os.environ, "GRIDSVC_DATABASE_URL": url,
           "GRIDSVC_MAP_PREWARM": "true" if prewarm else "false"}
    log = Path(tempfile.gettempdir()) / f"gridsvc-bench-maps-serve-{port}.log"
    proc = subprocess.Popen([str(ROOT / ".venv/bin/gridsvc"), "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gridsvc serve did not start")


def measure(driver, base: str, token: str, paths: list[str]) -> list[tuple]:
    driver.get(f"{base}/login?next=/healthz")  # not a map page: the first page load is cold
    driver.find_element("tag name", "summary").click()  # the token form is folded away
    driver.find_element("id", "token").send_keys(token)
    driver.find_element("id", "submit-token").click()
    time.sleep(0.5)
    rows = []
    for path in paths:
        # Cold: empty browser cache (and gridsvc's tile cache not yet filled for this page).
        driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        cold = chromium.visit(driver, base + path, timeout=60)
        nav = driver.execute_script(
            "var n = performance.getEntriesByType('navigation')[0]; return n.responseStart;")
        warm = chromium.visit(driver, base + path, timeout=60)
        rows.append((path, cold.transfer_bytes / 1e6, cold.decoded_bytes / 1e6, nav,
                     cold.ready_ms, warm.ready_ms, len(cold.external) + len(warm.external),
                     len(cold.console_errors) + len(warm.console_errors)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--beats", type=int, default=2_000)
    args = parser.parse_args()
    procs = []
    with private_cluster("gridsvc-bench-maps-") as cluster:
        try:
            from sqlalchemy import create_engine

            engines = {}
            for name in ("demo", "city"):
                cluster.create_database(name)
                engines[name] = create_engine(cluster.url(name))
                migrate.upgrade(engines[name])
            t0 = time.perf_counter()
            load_demo(engines["demo"], Settings().demo_dir, actor="bench")
            load_city(engines["city"], args.grids, args.beats)
            print(f"loaded demo town and city in {time.perf_counter() - t0:.0f} s")
            static_dir = ROOT / "gridsvc/maps/static"
            naive = static_dir / "bench-naive.html"  # served by the static route, like the assets
            naive_page(engines["city"], naive)
            driver = chromium.start()
            print(f"{'page (cold load: bytes, server, render; warm render)':52s} "
                  f"{'transfer MB':>11s} {'decoded MB':>10s} {'server ms':>9s} {'render ms':>9s} "
                  f"{'warm ms':>8s} {'external':>8s} {'errors':>6s}")
            for i, name in enumerate(("demo", "city")):
                port = 8700 + i
                procs.append(serve(cluster.url(name), port))
                token = create_token(engines[name], role=Role.viewer, name="bench", actor="bench")
                paths = ["/maps/coverage", "/maps/risk?since=2026-08-02&until=2026-10-31",
                         "/maps/incidents?since=2026-08-02&until=2026-10-31"]
                if name == "city":
                    paths.append("/static/maps/bench-naive.html")
                rows = measure(driver, f"http://127.0.0.1:{port}", token, paths)
                if name == "city":
                    # As deployed: the service pre-warms the coverage page at start-up; the
                    # first person opens it a few seconds later.
                    procs.append(serve(cluster.url(name), 8702, prewarm=True))
                    time.sleep(8)
                    first = measure(driver, "http://127.0.0.1:8702", token, ["/maps/coverage"])
                    rows.append(("city /maps/coverage (pre-warmed at start)", *first[0][1:]))
                for row in rows:
                    label = row[0] if row[0].startswith("city ") else f"{name} {row[0]}"
                    label = label.split("?")[0]
                    print(f"{label:52s} {row[1]:11.2f} {row[2]:10.2f} {row[3]:9.0f} {row[4]:9.0f} "
                          f"{row[5]:8.0f} {row[6]:8d} {row[7]:6d}")
            driver.quit()
            naive.unlink()
        finally:
            for p in procs:
                p.terminate()
                p.wait()


if __name__ == "__main__":
    main()
