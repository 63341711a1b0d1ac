"""Point-in-cell assignment: gridsvc against geopandas and PostGIS, in bulk and over HTTP.

Part 1, bulk. A synthetic city (``gridsvc.domain.geo.synthetic.synthetic_city``: irregular cells of
about 60 vertices tiling a 50 km square, EPSG:4549) and uniform random points over it, assigned by

- gridsvc's ``CellIndex`` (build, then ``assign``);
- ``geopandas.sjoin(points, cells, predicate="within")``, the usual user code (the join builds its
  own STRtree, over the points: its time is all "assign");
- PostGIS, in a private embedded cluster in a temp dir: cells and points loaded with COPY, a GiST
  index on the cells, ``ANALYZE``, then a LATERAL join with ``ST_Covers`` and the lowest-id
  tie-break, all rows fetched.

The three must agree on every point ("within" and "covers" differ only on boundaries, which
uniform random points do not hit). Ratios are the peer's assign time over gridsvc's.

Part 2, HTTP. The real service (``gridsvc serve``, one uvicorn worker, its own embedded cluster
in a temp dir, demo town loaded, a dispatcher token) and a plain FastAPI endpoint that asks
PostGIS once per request (``bench/plain_postgis_app.py``), both loaded by ``bench/loadgen.py``
(open loop, 4 keep-alive connections, latency from the scheduled send time) with the demo town's
house coordinates. On a machine with two cores or more the load generator runs on core 0 and the
server, with its database, on core 1. Then the gridsvc request is taken apart in process: the
time of the lookup itself, the auth dependency, JSON encoding, the whole ASGI app without a
socket, and a cProfile of the latter.

Run::

    .venv/bin/python bench/assign.py                      # everything (about 5 minutes)
    .venv/bin/python bench/assign.py --cells 1000 --points 100000 --skip-postgis --skip-http
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import loadgen  # noqa: E402  (bench/ is not a package)
from cluster import private_cluster, private_dir  # noqa: E402

console = Console(highlight=False, width=150)
LOADGEN_CPU, SERVER_CPU = 0, 1
HOUSE_CRS = 4490  # the demo town's houses are in CGCS2000 lon/lat, which gridsvc is told


# --------------------------------------------------------------------------------- helpers
def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}" if seconds > 0 else "-"


def _loadavg() -> str:
    """The 1-minute load average: above ~0.3, other work on the machine skews the figures."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def _pinning() -> bool:
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def _pin_tree(pid: int, cpu: int) -> None:
    """Pin a process and its threads and children (e.g. the postmaster and its backends)."""
    pids = {pid}
    for p in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                pids.add(int(p.name))
    for p in pids:
        for t in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(t.name), {cpu})


def _proc_stats() -> dict[int, tuple[int, int]]:
    """``pid -> (parent pid, CPU ticks used)`` of every process."""
    out = {}
    for p in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            f = (p / "stat").read_text().rsplit(")", 1)[1].split()
            out[int(p.name)] = (int(f[1]), int(f[11]) + int(f[12]))
    return out


def _descendants(stats: dict[int, tuple[int, int]], roots: set[int]) -> set[int]:
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, (ppid, _) in stats.items() if ppid in frontier} - found
        found |= frontier
    return found


class CpuMeter:
    """CPU used on the machine during a span, split into ours (this process, the servers and the
    database, with their children) and everyone else's, in cores."""

    def __init__(self, roots: set[int]) -> None:
        self.roots = roots | {os.getpid()}

    @staticmethod
    def _busy() -> int:
        f = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(f) - f[3] - f[4]  # all but idle and iowait

    def __enter__(self) -> CpuMeter:
        self.t0, self.busy0, self.procs0 = time.monotonic(), self._busy(), _proc_stats()
        return self

    def __exit__(self, *exc: object) -> None:
        procs1, busy1 = _proc_stats(), self._busy()
        secs = (time.monotonic() - self.t0) * os.sysconf("SC_CLK_TCK")
        ours = _descendants(procs1, self.roots)
        used = sum(procs1[p][1] - self.procs0.get(p, (0, 0))[1] for p in ours)
        self.ours = used / secs
        self.others = max(busy1 - self.busy0 - used, 0) / secs


# ------------------------------------------------------------------------------------ bulk
def _lowest(n: int, point: np.ndarray, code: np.ndarray) -> np.ndarray:
    big = np.iinfo(np.int64).max
    best = np.full(n, big, dtype=np.int64)
    np.minimum.at(best, point, code)
    best[best == big] = -1
    return best


def _best(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    """The result and the best time of ``repeat`` runs (others on the machine only add time)."""
    runs = [_timed(fn) for _ in range(repeat)]
    return runs[0][0], min(t for _, t in runs)


def bulk(n_cells: int, n_points: int, seed: int, skip_postgis: bool, repeat: int
         ) -> dict[str, Any]:
    import geopandas as gpd
    import pandas as pd
    import shapely

    from gridsvc.domain.assign.index import COMPLEX, MIXED, OUTSIDE, CellIndex
    from gridsvc.domain.geo.synthetic import synthetic_city, synthetic_points

    city, t_city = _timed(lambda: synthetic_city(n_cells, seed=seed))
    xy = synthetic_points(n_points, city.total_bounds, seed=seed + 1)
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    n_vert = shapely.get_num_coordinates(city.geometry.values) - 1
    console.print(f"synthetic city: {len(city):,} cells, {n_vert.mean():.1f} vertices a cell on "
                  f"average, made in {t_city:.1f} s; {n_points:,} uniform random points")
    rows: list[dict[str, Any]] = []

    # gridsvc
    index, t_build = _best(lambda: CellIndex.build(city["cell_id"].to_numpy(),
                                                   city.geometry.to_numpy()), repeat)
    ours, t_assign = _best(lambda: index.assign(x, y), repeat)
    rows.append({"engine": "gridsvc CellIndex", "build": t_build, "assign": t_assign})
    # Cell codes: position in the index's sorted ids; every engine's answer is mapped to them.
    code_of_row = pd.Index(index.ids).get_indexer(city["cell_id"].to_numpy())
    answers = {"gridsvc CellIndex": ours}
    state = index.state
    fi = np.floor((x - index.x0) / index.size).astype(np.int64)
    fj = np.floor((y - index.y0) / index.size).astype(np.int64)
    pst = state[fj * index.nx + fi]
    in_mixed = pst == MIXED
    _, t_owned = _best(lambda: index.assign(x[~in_mixed], y[~in_mixed]), repeat)
    _, t_mixed = _best(lambda: index.assign(x[in_mixed], y[in_mixed]), repeat)
    stats = {
        "buckets": int(state.size), "bucket_m": index.size,
        "mixed": float((state == MIXED).mean()), "complex": float((state == COMPLEX).mean()),
        "outside": float((state == OUTSIDE).mean()),
        "pts_mixed": float(in_mixed.mean()), "t_owned": t_owned, "t_mixed": t_mixed,
        "pts_complex": float((pst == COMPLEX).mean()),
        "mbytes": index.nbytes / 2**20,
    }

    # geopandas
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=city.crs)
    joined, t_join = _best(lambda: gpd.sjoin(points, city, predicate="within"), repeat)
    answers["geopandas sjoin"] = _lowest(
        n_points, joined.index.to_numpy(), code_of_row[joined["index_right"].to_numpy()])
    rows.append({"engine": "geopandas sjoin (within)", "build": None, "assign": t_join})

    pg_note = ""
    if not skip_postgis:
        answers["PostGIS ST_Covers"], row, pg_note = _postgis(city, x, y, index.ids)
        rows.append(row)

    base = rows[0]["assign"]
    for r in rows:
        r["pps"] = n_points / r["assign"]
        r["ratio"] = r["assign"] / base
        r["total_ratio"] = ((r["build"] or 0) + r["assign"]) / (t_build + base)
        r["disagree"] = int((answers[r["engine"].replace(" (within)", "")] != ours).sum()) \
            if r["engine"] != rows[0]["engine"] else 0
    unassigned = int((ours < 0).sum())
    return {"rows": rows, "stats": stats, "n_cells": n_cells, "n_points": n_points,
            "unassigned": unassigned, "pg_note": pg_note, "repeat": repeat}


def _postgis(city: Any, x: np.ndarray, y: np.ndarray, ids: np.ndarray
             ) -> tuple[np.ndarray, dict[str, Any], str]:
    import pandas as pd
    import psycopg
    import shapely

    srid = city.crs.to_epsg()
    with private_cluster("gridsvc-bench-bulk-") as pg:
        pg.create_database("bench")
        with psycopg.connect(pg.conninfo("bench"), autocommit=True) as conn:
            conn.execute(f"CREATE TABLE cells (cell_id text NOT NULL, "
                         f"geom geometry(Polygon, {srid}) NOT NULL)")
            conn.execute(f"CREATE TABLE pts (id bigint NOT NULL, "
                         f"geom geometry(Point, {srid}) NOT NULL)")
            t = time.perf_counter()
            cells_hex = shapely.to_wkb(shapely.set_srid(city.geometry.to_numpy(), srid),
                                       hex=True, include_srid=True)
            # EWKB hex (with the SRID): the COPY text input of a geometry column.
            with conn.cursor().copy("COPY cells (cell_id, geom) FROM STDIN") as cp:
                cp.write("".join(f"{i}\t{g}\n" for i, g in zip(city["cell_id"], cells_hex,
                                                               strict=True)))
            pts_hex = shapely.to_wkb(shapely.set_srid(shapely.points(x, y), srid), hex=True,
                                     include_srid=True)
            with conn.cursor().copy("COPY pts (id, geom) FROM STDIN") as cp:
                chunk = 200_000
                for s in range(0, len(pts_hex), chunk):
                    cp.write("".join(f"{s + k}\t{g}\n"
                                     for k, g in enumerate(pts_hex[s:s + chunk])))
            t_load = time.perf_counter() - t
            t = time.perf_counter()
            conn.execute("CREATE INDEX cells_geom ON cells USING gist (geom)")
            conn.execute("ANALYZE cells")
            conn.execute("ANALYZE pts")
            t_build = time.perf_counter() - t
            query = """
                SELECT p.id, c.cell_id FROM pts p LEFT JOIN LATERAL (
                    SELECT cell_id FROM cells c WHERE ST_Covers(c.geom, p.geom)
                    ORDER BY cell_id COLLATE "C" LIMIT 1) c ON true"""
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query))
            t = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute(query)
                got = cur.fetchall()
            t_query = time.perf_counter() - t
    pid = np.fromiter((r[0] for r in got), dtype=np.int64, count=len(got))
    cid = np.array([r[1] for r in got], dtype=object)
    codes = pd.Index(ids).get_indexer(cid)  # -1 for None (no cell)
    answer = np.full(len(x), -1, dtype=np.int64)
    answer[pid] = codes
    workers = "parallel" if "Gather" in plan else "serial"
    note = (f"PostGIS: COPY of cells and points {t_load:.1f} s (not counted); query plan "
            f"{workers} ({'; '.join(ln.strip() for ln in plan.splitlines()[:3])})")
    return answer, {"engine": "PostGIS ST_Covers", "build": t_build, "assign": t_query}, note


def print_bulk(res: dict[str, Any]) -> None:
    t = Table(title=f"Bulk: {res['n_cells']:,} cells x {res['n_points']:,} points (gridsvc "
                    f"and geopandas: best of {res['repeat']} runs; PostGIS: one run)")
    for c in ("engine", "index build s", "assign s", "points/s", "assign time / gridsvc",
              "(build+assign) / gridsvc", "disagreements"):
        t.add_column(c, justify="left" if c == "engine" else "right")
    for r in res["rows"]:
        t.add_row(r["engine"], "in join" if r["build"] is None else f"{r['build']:.2f}",
                  f"{r['assign']:.3f}", f"{r['pps']:,.0f}", f"{r['ratio']:.1f}x",
                  f"{r['total_ratio']:.1f}x", str(r["disagree"]))
    console.print(t)
    s = res["stats"]
    console.print(f"gridsvc buckets: {s['buckets']:,} of {s['bucket_m']:.1f} m, "
                  f"{s['mixed']:.1%} mixed, {s['complex']:.2%} complex, {s['outside']:.1%} "
                  f"outside; points in mixed buckets {s['pts_mixed']:.1%}, in complex "
                  f"{s['pts_complex']:.2%}; index arrays {s['mbytes']:.0f} MiB; "
                  f"unassigned points {res['unassigned']}")
    console.print(f"gridsvc assign time split: points in one-owner buckets {s['t_owned']:.3f} s, "
                  f"points in mixed buckets {s['t_mixed']:.3f} s (each assigned alone)")
    if res["pg_note"]:
        console.print(res["pg_note"])


# ------------------------------------------------------------------------------------ HTTP
def _demo_token(exe: str, env: dict[str, str], data_dir: Path, role: str) -> str:
    """Load the demo town into the private cluster of ``data_dir`` and make a service token of
    ``role`` for the load generator."""
    subprocess.run([exe, "demo", "load"], env=env, cwd=data_dir, check=True,
                   capture_output=True, text=True)
    return subprocess.run([exe, "token", "create", "--role", role, "--name", "bench"],
                          env=env, cwd=data_dir, check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, headers: dict[str, str], proc: subprocess.Popen, timeout: float = 120
               ) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {url}")
        with contextlib.suppress(OSError):
            req = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(req, timeout=5) as r:
                if r.status == 200:
                    return
        time.sleep(0.3)
    raise RuntimeError(f"server did not answer in {timeout} s: {url}")


def _get_json(url: str, headers: dict[str, str]) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return json.loads(r.read())


def _start(cmd: list[str], env: dict[str, str], log: Path, pin: bool) -> subprocess.Popen:
    def preexec() -> None:
        os.setsid()  # own process group: killed as a group on exit
        if pin:
            os.sched_setaffinity(0, {SERVER_CPU})

    return subprocess.Popen(cmd, env=env, cwd=log.parent, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, preexec_fn=preexec)


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # uvicorn shuts down cleanly on SIGTERM
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _house_points(n: int, seed: int) -> np.ndarray:
    import pyogrio

    houses = pyogrio.read_dataframe(ROOT / "data" / "demo_town" / "houses.geojson",
                                    columns=["id"])
    xy = np.column_stack([houses.geometry.x, houses.geometry.y])
    rng = np.random.default_rng(seed)
    return xy[rng.choice(len(xy), size=min(n, len(xy)), replace=len(xy) < n)]


def http(rates: list[float], duration: float, warmup: float, connections: int, seed: int,
         profile: bool, n_points: int) -> dict[str, Any]:
    from gridsvc.db.embedded import EmbeddedPostgres

    exe = str(Path(sys.executable).parent / "gridsvc")
    data_dir = private_dir("gridsvc-bench-http-")
    env = {**os.environ, "GRIDSVC_DATA_DIR": str(data_dir), "GRIDSVC_DATABASE_URL": ""}
    env.pop("GRIDSVC_HOST", None)
    env.pop("GRIDSVC_PORT", None)
    pin = _pinning()
    old_affinity = os.sched_getaffinity(0) if pin else None
    procs: list[subprocess.Popen] = []
    pg = EmbeddedPostgres(data_dir)
    try:
        token = _demo_token(exe, env, data_dir, "dispatcher")
        postmaster = int((pg.pgdata / "postmaster.pid").read_text().split()[0])
        if pin:
            _pin_tree(postmaster, SERVER_CPU)
            os.sched_setaffinity(0, {LOADGEN_CPU})
        auth = {"Authorization": f"Bearer {token}"}
        port_g, port_p, port_n = _free_port(), _free_port(), _free_port()
        g = _start([exe, "serve", "--port", str(port_g)], env, data_dir / "gridsvc.log", pin)
        procs.append(g)
        p = _start([sys.executable, str(ROOT / "bench" / "plain_postgis_app.py"), "--port",
                    str(port_p)], {**env, "BENCH_PG_CONNINFO": pg.conninfo()},
                   data_dir / "plain.log", pin)
        procs.append(p)
        n = _start([sys.executable, str(ROOT / "bench" / "loadgen.py"),
                                   f"null:{port_n}"], env, data_dir / "null.log", pin)
        procs.append(n)
        pts = _house_points(n_points, seed)
        lon, lat = pts[0]
        _wait_http(f"http://127.0.0.1:{port_g}/api/v1/lookup?lon={lon}&lat={lat}", auth, g)
        _wait_http(f"http://127.0.0.1:{port_p}/lookup?lon={lon}&lat={lat}", {}, p)
        # Every point the load will use, once to each server: checks that they agree, and
        # warms both up (one-off costs show here, in the slowest request, not in the load).
        agree = _cross_check(port_g, port_p, auth, pts)
        targets = [f"lon={lo:.7f}&lat={la:.7f}" for lo, la in pts]
        crs = f"&crs={HOUSE_CRS}"
        servers = {
            "gridsvc /api/v1/lookup": (port_g, loadgen.build_requests(
                "127.0.0.1", port_g, [f"/api/v1/lookup?{q}{crs}" for q in targets], auth)),
            "plain FastAPI + PostGIS": (port_p, loadgen.build_requests(
                "127.0.0.1", port_p, [f"/lookup?{q}" for q in targets])),
            "null server (generator floor)": (port_n, None),
        }
        results: dict[str, list[loadgen.LoadResult]] = {k: [] for k in servers}
        roots = {proc.pid for proc in procs} | {postmaster}
        for name, (port, reqs) in servers.items():
            for rate in rates:
                with CpuMeter(roots) as cpu:
                    r = loadgen.load(f"http://127.0.0.1:{port}/", reqs, rate=rate,
                                     duration=duration, warmup=warmup, connections=connections)
                r.cpu_ours, r.cpu_others = cpu.ours, cpu.others
                results[name].append(r)
                console.print(f"  {name:<30} {rate:>6.0f}/s -> {r.achieved:>6.0f}/s "
                              f"p50 {r.pct(50):7.2f} ms p99 {r.pct(99):8.2f} ms "
                              f"errors {r.errors} backlog {r.backlog} CPU ours {cpu.ours:.2f} "
                              f"others {cpu.others:.2f}")
                time.sleep(1.0)
        for proc in procs:
            _stop(proc)
        if pin:
            os.sched_setaffinity(0, {SERVER_CPU})
        pieces = _pieces(data_dir, token, pts) if profile else None
        return {"results": results, "pin": pin, "agree": agree, "pieces": pieces,
                "rates": rates, "duration": duration, "warmup": warmup,
                "connections": connections}
    finally:
        for proc in procs:
            _stop(proc)
        if old_affinity is not None:
            os.sched_setaffinity(0, old_affinity)
        with contextlib.suppress(Exception):
            pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        if pg.socket_dir != data_dir / "run":
            shutil.rmtree(pg.socket_dir, ignore_errors=True)


def _cross_check(port_g: int, port_p: int, auth: dict[str, str], pts: np.ndarray
                 ) -> dict[str, Any]:
    """How many of ``pts`` the two servers answer differently (cell ids per kind), and each
    server's slowest single request (urllib, one at a time)."""
    bad, slow_g, slow_p, outside = 0, (0.0, None), (0.0, None), 0
    examples: list[str] = []
    for lon, lat in pts:
        q = f"lon={lon:.7f}&lat={lat:.7f}"
        a, t = _timed(lambda q=q: _get_json(
            f"http://127.0.0.1:{port_g}/api/v1/lookup?{q}&crs={HOUSE_CRS}", auth))
        slow_g = max(slow_g, (t, q), key=lambda s: s[0])
        b, t = _timed(lambda q=q: _get_json(f"http://127.0.0.1:{port_p}/lookup?{q}", {}))
        slow_p = max(slow_p, (t, q), key=lambda s: s[0])
        ours = {k: v["id"] for k, v in a["cells"].items() if v}
        if ours != b["cells"]:
            bad += 1
            if len(examples) < 3:
                examples.append(f"{q}: gridsvc {ours} plain {b['cells']}")
        outside += bool(a.get("nearest_if_outside"))
    return {"bad": bad, "n": len(pts), "slow_g": slow_g, "slow_p": slow_p, "outside": outside,
            "examples": examples}


def _pieces(data_dir: Path, token: str, pts: np.ndarray) -> dict[str, Any]:
    """Where a gridsvc lookup request spends its time, measured in process (no socket).

    The whole ASGI app and ``LookupService.lookup`` alone are timed directly (best of a few
    rounds: other work on the machine only adds time). A cProfile of the ASGI calls then gives
    each stage's share of the request (cumulative time of the function that does it), which is
    scaled to the unprofiled time of the whole app.
    """
    from gridsvc.api.app import create_app
    from gridsvc.settings import Settings

    app = create_app(Settings(data_dir=data_dir, database_url=""))
    n, rounds = 2000, 5
    out: dict[str, Any] = {"n": n}

    async def run() -> None:
        async with app.router.lifespan_context(app):
            svc = app.state.lookup
            coords = [(float(a), float(b)) for a, b in pts[:n]]
            status: list[int] = []

            def scope(lo: float, la: float) -> dict[str, Any]:
                return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                        "method": "GET", "scheme": "http", "path": "/api/v1/lookup",
                        "raw_path": b"/api/v1/lookup", "root_path": "",
                        "query_string": f"lon={lo:.7f}&lat={la:.7f}&crs={HOUSE_CRS}".encode(),
                        "headers": [(b"host", b"127.0.0.1"),
                                    (b"authorization", f"Bearer {token}".encode())],
                        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(msg: dict[str, Any]) -> None:
                if msg["type"] == "http.response.start":
                    status.append(msg["status"])

            async def calls() -> None:
                for lo, la in coords:
                    await app(scope(lo, la), receive, send)

            await calls()
            t_asgi, t_lookup = [], []
            for _ in range(rounds):
                status.clear()
                t = time.perf_counter()
                await calls()
                t_asgi.append(time.perf_counter() - t)
                t = time.perf_counter()
                for lo, la in coords:
                    svc.lookup(lo, la)
                t_lookup.append(time.perf_counter() - t)
            out["asgi"], out["lookup"] = min(t_asgi) / n, min(t_lookup) / n
            out["asgi_ok"] = sum(s == 200 for s in status)
            prof = cProfile.Profile()
            prof.enable()
            await calls()
            prof.disable()
            out["stages"] = _stages(prof)
            out["groups"] = _profile_groups(prof, n)
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(12)
            out["top"] = buf.getvalue()

    asyncio.run(run())
    return out


#: Stages of a request and the functions whose cumulative time is the stage's.
_STAGES = {
    "LookupService.lookup": [("gridsvc/services/lookup.py", "lookup")],
    "auth dependency": [("gridsvc/api/auth.py", "dependency")],
    "FastAPI dependencies + query params (incl. auth)": [
        ("fastapi/dependencies/utils.py", "solve_dependencies")],
    "response serialisation + JSON": [("fastapi/routing.py", "serialize_response"),
                                      ("starlette/responses.py", "render")],
    "route matching": [("fastapi/routing.py", "_match")],
}


def _stages(prof: cProfile.Profile) -> dict[str, float]:
    """Share of the profiled request time spent in each stage of :data:`_STAGES`."""
    st = pstats.Stats(prof)
    stats = st.stats  # type: ignore[attr-defined]
    total = st.total_tt  # type: ignore[attr-defined]
    shares = {}
    for stage, funcs in _STAGES.items():
        share = 0.0
        for path, func in funcs:
            cum = [ct for (file, _line, fn), (_cc, _nc, _tt, ct, _callers) in stats.items()
                   if fn == func and file.replace("\\", "/").endswith(path)]
            # A recursive function's entries overlap: the outermost (largest) is the stage.
            share += max(cum, default=0.0) / total
        shares[stage] = share
    return shares


def _profile_groups(prof: cProfile.Profile, n: int) -> dict[str, float]:
    """Own time per request (µs) grouped by module, the largest first."""
    st = pstats.Stats(prof)
    groups: dict[str, float] = {}
    for (file, _line, func), (_cc, _nc, tt, _ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        f = file.replace("\\", "/")
        if "/gridsvc/" in f and "site-packages" not in f:
            key = "gridsvc." + f.split("/gridsvc/")[-1].removesuffix(".py").replace("/", ".")
        elif "site-packages/" in f:
            key = ".".join(f.split("site-packages/")[1].removesuffix(".py").split("/")[:2])
        elif file == "~":
            key = func.strip("<>").replace("built-in method ", "")[:40]
        else:
            key = "stdlib " + Path(f).stem
        groups[key] = groups.get(key, 0.0) + tt / n * 1e6
    return dict(sorted(groups.items(), key=lambda kv: -kv[1])[:12])


def print_http(res: dict[str, Any]) -> None:
    names = list(res["results"])
    t = Table(title=f"HTTP: {res['connections']} keep-alive connections, open loop, "
                    f"{res['warmup']:.0f} s warm-up + {res['duration']:.0f} s measured per rate")
    for c in ("server", "target/s", "achieved/s", "p50 ms", "p99 ms", "max ms", "errors",
              "backlog", "CPU ours", "CPU others"):
        t.add_column(c, justify="left" if c == "server" else "right")
    for name in names:
        for r in res["results"][name]:
            t.add_row(name, f"{r.rate:,.0f}", f"{r.achieved:,.0f}", f"{r.pct(50):.2f}",
                      f"{r.pct(99):.2f}", f"{r.max_ms:.2f}", str(r.errors), str(r.backlog),
                      f"{r.cpu_ours:.2f}", f"{r.cpu_others:.2f}")
    console.print(t)
    console.print("CPU ours / others: cores busy during the run in the load generator, servers "
                  "and database / elsewhere (other processes, and kernel time not billed to a "
                  "process; well above 0.1 means others were busy and skewed the run)")
    g, p = res["results"][names[0]], res["results"][names[1]]
    ratios = ", ".join(f"{a.rate:,.0f}/s: {a.achieved / b.achieved:.2f}x throughput, p99 "
                       f"{b.pct(99) / a.pct(99):.1f}x lower" for a, b in zip(g, p, strict=True))
    console.print(f"gridsvc vs plain: {ratios}")
    console.print("pinning: " + (f"load generator on CPU {LOADGEN_CPU}; each server process "
                                 f"and the PostgreSQL server on CPU {SERVER_CPU}"
                                 if res["pin"] else "none (fewer than 2 CPUs or no "
                                 "sched_setaffinity)"))
    c = res["agree"]
    console.print(f"cross-check (each of the {c['n']:,} house points the load uses, once, "
                  f"before it): gridsvc and the plain endpoint disagree on {c['bad']} (cell id "
                  f"per layer); {c['outside']} outside some layer; slowest single request: "
                  f"gridsvc {c['slow_g'][0] * 1e3:.0f} ms ({c['slow_g'][1]}), plain "
                  f"{c['slow_p'][0] * 1e3:.0f} ms")
    for e in c["examples"]:
        console.print(f"  disagreement: {e}")
    pc = res["pieces"]
    if pc:
        asgi = pc["asgi"] * 1e6
        stages = ", ".join(f"{k} {v:.0%} (~{v * asgi:.0f} µs)" for k, v in pc["stages"].items())
        console.print(
            f"gridsvc request in process ({pc['n']} house points, best of 5 rounds, no socket, "
            f"no uvicorn): whole ASGI app {asgi:.0f} µs a request ({pc['asgi_ok']} x 200), i.e. "
            f"{1e6 / asgi:,.0f} req/s at most on one core before uvicorn's own HTTP work; "
            f"LookupService.lookup alone {pc['lookup'] * 1e6:.0f} µs")
        console.print(f"share of the request by stage (cProfile, cumulative): {stages}")
        top = max(res["results"][next(iter(res["results"]))], key=lambda r: r.achieved)
        if top.backlog:
            console.print(f"saturated at {top.achieved:,.0f} req/s = {1e6 / top.achieved:.0f} µs "
                          f"a request: uvicorn (h11), asyncio sockets and the recheck queries "
                          f"take ~{1e6 / top.achieved - asgi:.0f} µs of it, the app {asgi:.0f}")
        console.print("own time per request by module (µs, inflated by profiling): " + ", ".join(
            f"{k} {v:.0f}" for k, v in pc["groups"].items()))
        console.print(pc["top"], markup=False)


# ------------------------------------------------------------------------------------ main
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=int, default=10_000)
    p.add_argument("--points", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-postgis", action="store_true", help="bulk: no PostGIS join")
    p.add_argument("--repeat", type=int, default=3, help="bulk: runs of gridsvc and geopandas "
                                                         "(the best counts)")
    p.add_argument("--skip-bulk", action="store_true")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--rates", type=float, nargs="+", default=[1000, 1500, 2000, 3000, 4000])
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per rate")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--http-points", type=int, default=5000,
                   help="distinct house points the load cycles through (all cross-checked)")
    p.add_argument("--no-profile", action="store_true", help="HTTP: skip the in-process "
                                                             "breakdown and cProfile")
    a = p.parse_args()
    # SIGTERM as Ctrl-C: the finally blocks stop the servers and clusters and remove temp dirs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    console.print(f"machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}"
                  f"), Python {platform.python_version()}, {platform.platform()}")
    if not a.skip_bulk:
        console.print(f"load average before bulk: {_loadavg()}")
        print_bulk(bulk(a.cells, a.points, a.seed, a.skip_postgis, a.repeat))
    if not a.skip_http:
        console.print(f"load average before HTTP: {_loadavg()}")
        print_http(http(a.rates, a.duration, a.warmup, a.connections, a.seed,
                        not a.no_profile, a.http_points))


if __name__ == "__main__":
    main()
