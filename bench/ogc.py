"""OGC API Features on a 10,000-cell city: a page of 1,000 grids, and every grid through GDAL.

Targets (issue 15): a page of 1,000 grid features in at most 200 ms; all 10,000 grids read with
GDAL's OAPIF driver in at most 5 s. A private embedded PostGIS gets a synthetic city (10,000
grids of about 60 vertices, EPSG:4490, one active plan); ``gridsvc serve`` answers at /ogc with
a viewer's token. The peer is tipg (PyPI), serving a view of the same grids from the same
database in the same run; it is installed into its own virtualenv under
``~/.cache/gridsvc-bench/tipg-venv`` (its pins differ from the project's). Ratios are tipg's
time over gridsvc's.

    .venv/bin/python bench/ogc.py [--grids N] [--repeat N] [--skip-tipg]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cluster import private_cluster  # noqa: E402  (bench/cluster.py)

from gridsvc.db import migrate  # noqa: E402
from gridsvc.db.areas import create_plan, insert_areas  # noqa: E402
from gridsvc.db.embedded import DB_USER, PORT  # noqa: E402
from gridsvc.db.models import SRID  # noqa: E402
from gridsvc.db.objects import analyze  # noqa: E402
from gridsvc.domain.accounts import Role  # noqa: E402
from gridsvc.domain.geo.synthetic import synthetic_city  # noqa: E402
from gridsvc.services.tokens import create_token  # noqa: E402

PEERS = Path.home() / ".cache" / "gridsvc-bench"
TIPG = PEERS / "tipg-venv"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_city(engine, grids: int) -> int:
    """One active plan with ``grids`` synthetic grids; returns the plan id."""
    frame = synthetic_city(grids, seed=1).to_crs(SRID)
    with engine.begin() as conn:
        plan = create_plan(conn, name="synthetic city", status="active",
                           effective_from=date(2020, 1, 1), created_by="bench", source="bench")
        insert_areas(conn, plan, "grid", [
            {"business_id": f"G{i:05d}", "code": f"3311811{i:08d}", "name": f"grid {i}",
             "parent_id": f"V{i // 20:03d}", "households": 100 + i % 50, "residents": 300,
             "geom": g} for i, g in enumerate(frame.geometry.values)])
        # The peer's table: the same cells as a plain view.
        conn.exec_driver_sql(
            "CREATE VIEW bench_grids AS SELECT business_id AS id, code, name, parent_id, "
            f"households, residents, geom FROM area WHERE kind = 'grid' AND plan_id = {plan}")
        analyze(conn, ["area"])
    return plan


def wait_for(url: str, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer; log:\n{log.read_text()[-3000:]}")


def start(cmd: list[str], env: dict[str, str], name: str, probe: str) -> subprocess.Popen:
    log = Path(tempfile.gettempdir()) / f"gridsvc-bench-ogc-{name}.log"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)
    wait_for(probe, proc, log)
    return proc


def ensure_tipg() -> Path:
    """tipg in its own virtualenv (made once, with pip from PyPI)."""
    python = TIPG / "bin" / "python"
    if not python.exists():
        PEERS.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(TIPG)], check=True)
        subprocess.run([str(TIPG / "bin" / "pip"), "install", "-q", "tipg",
                        "uvicorn[standard]"], check=True)
    return python


def timed_gets(url: str, headers: dict[str, str], repeat: int) -> tuple[list[float], int]:
    """Wall times (ms) of ``repeat`` GETs of ``url`` on one keep-alive connection, after one
    warm-up; and the body size."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    times, size = [], 0
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        elapsed = (time.perf_counter() - t0) * 1000
        if resp.status != 200:
            raise RuntimeError(f"{url}: {resp.status} {body[:300]!r}")
        if i:
            times.append(elapsed)
        size = len(body)
    conn.close()
    return times, size


def all_pages(url: str, headers: dict[str, str]) -> tuple[float, int]:
    """Seconds to fetch every page by following ``next`` links, and the number of pages.

    Only the head of each body (gridsvc writes the links before the features) is decoded, so
    this is the server's and the transfer's time, not a JSON parser's.
    """
    import json

    t0, pages = time.perf_counter(), 0
    while url:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as resp:
            body = resp.read()
        head = json.loads(body[:body.index(b',"features":[')] + b"}")
        pages += 1
        url = next((x["href"] for x in head["links"] if x["rel"] == "next"), None)
    return time.perf_counter() - t0, pages


def gdal_read(url: str, layer: str, token: str | None, repeat: int, **options) -> tuple:
    import pyogrio

    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER" if token else None,
                                     "GDAL_HTTP_BEARER": token})
    best, n = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        frame = pyogrio.read_dataframe(f"OAPIF:{url}", layer=layer, **options)
        best = min(best, time.perf_counter() - t0)
        n = len(frame)
    return best, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--gdal-repeat", type=int, default=3)
    parser.add_argument("--skip-tipg", action="store_true")
    args = parser.parse_args()
    procs: list[subprocess.Popen] = []
    with private_cluster("gridsvc-bench-ogc-") as cluster:
        from sqlalchemy import create_engine

        try:
            cluster.create_database("city")
            engine = create_engine(cluster.url("city"))
            migrate.upgrade(engine)
            t0 = time.perf_counter()
            load_city(engine, args.grids)
            print(f"city: {args.grids} grids loaded in {time.perf_counter() - t0:.1f} s")
            token = create_token(engine, role=Role.viewer, name="bench", actor="bench")
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            procs.append(start([str(ROOT / ".venv/bin/gridsvc"), "serve", "--port", str(port)],
                               {**os.environ, "GRIDSVC_DATABASE_URL": cluster.url("city"),
                                "GRIDSVC_MAP_PREWARM": "false"}, "gridsvc",
                               f"{base}/healthz"))
            rows = []
            auth = {"Authorization": f"Bearer {token}", "Accept": "application/geo+json"}
            for label, query in (("page 1 (offset 0)", "limit=1000"),
                                 ("page 6 (offset 5000)", "limit=1000&offset=5000"),
                                 ("page 1 in EPSG:4549", "limit=1000&crs=http://www.opengis"
                                  ".net/def/crs/EPSG/0/4549")):
                times, size = timed_gets(f"{base}/ogc/collections/grids/items?{query}", auth,
                                         args.repeat)
                rows.append(("gridsvc", label, times, size))
            raw = all_pages(f"{base}/ogc/collections/grids/items?limit=1000", auth)
            gdal = {"gridsvc": gdal_read(f"{base}/ogc", "grids", token, args.gdal_repeat,
                                         PAGE_SIZE=1000)}
            if not args.skip_tipg:
                python = ensure_tipg()
                tport = free_port()
                tbase = f"http://127.0.0.1:{tport}"
                # asyncpg reads a percent-encoded socket folder as the host (tipg's settings
                # refuse an empty host).
                dsn = (f"postgresql://{DB_USER}@{quote(str(cluster.socket_dir), safe='')}:"
                       f"{PORT}/city")
                procs.append(start(
                    [str(python), "-m", "uvicorn", "tipg.main:app", "--port", str(tport),
                     "--log-level", "warning"],
                    {**os.environ, "DATABASE_URL": dsn, "TIPG_DB_SCHEMAS": '["public"]',
                     "TIPG_MAX_FEATURES_PER_QUERY": "10000"}, "tipg", f"{tbase}/healthz"))
                for label, query in (("page 1 (offset 0)", "limit=1000"),
                                     ("page 6 (offset 5000)", "limit=1000&offset=5000")):
                    times, size = timed_gets(
                        f"{tbase}/collections/public.bench_grids/items?{query}",
                        {"Accept": "application/geo+json"}, args.repeat)
                    rows.append(("tipg", label, times, size))
                gdal["tipg"] = gdal_read(tbase, "public.bench_grids", None, args.gdal_repeat,
                                         PAGE_SIZE=1000)
            print(f"\nA page of 1,000 grids ({args.repeat} GETs on one keep-alive connection "
                  "after a warm-up; target <= 200 ms):")
            print(f"{'server':8} {'request':24} {'median ms':>10} {'p90 ms':>8} {'max ms':>8} "
                  f"{'MB':>6}")
            medians = {}
            for server, label, times, size in rows:
                q = statistics.quantiles(times, n=10)
                medians[(server, label)] = statistics.median(times)
                print(f"{server:8} {label:24} {statistics.median(times):10.1f} {q[-1]:8.1f} "
                      f"{max(times):8.1f} {size / 1e6:6.2f}")
            print(f"\nAll {args.grids} grids through GDAL OAPIF (pyogrio, PAGE_SIZE=1000, best of "
                  f"{args.gdal_repeat}; target <= 5 s):")
            for server, (seconds, n) in gdal.items():
                print(f"{server:8} {seconds:6.2f} s  {n} features")
            print(f"(gridsvc's share: every page fetched by following next links: "
                  f"{raw[0]:.2f} s for {raw[1]} pages; the rest is GDAL's GeoJSON "
                  "reading)")
            if "tipg" in gdal:
                print("\nRatios (tipg time / gridsvc time):")
                for label in ("page 1 (offset 0)", "page 6 (offset 5000)"):
                    ratio = medians[("tipg", label)] / medians[("gridsvc", label)]
                    print(f"  {label}: {ratio:.2f}x")
                print(f"  GDAL full read: {gdal['tipg'][0] / gdal['gridsvc'][0]:.2f}x")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)


if __name__ == "__main__":
    main()
