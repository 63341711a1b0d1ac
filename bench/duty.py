"""Duty benchmarks (issue 14): on-duty lookups over HTTP, materialising a station-year, and the
patrol coverage of a city's shift.

1. ``GET /api/v1/onduty?lon=&lat=`` on ``gridsvc serve`` (one worker, a private embedded PostGIS
   with the demo town and its duty data) at a steady rate with ``bench/loadgen.py`` (open loop,
   latency from the scheduled send time); then, in process, the memory path against the same
   answer asked of the database (an instant outside the in-memory window), the way a service
   without the in-memory board would answer; and one question through the whole app in
   process (routing, token, parameters, encoding; no HTTP), on-duty beside the lookup.
2. A station-year: 3 groups of 5, the usual daily rotation, 365 days materialised (expand,
   check, reconcile, COPY), best of 3; against the same rows written with executemany (the
   ORM's bulk insert).
3. A synthetic city: 10,000 patrol points in 50 stations (day round for all, night round for a
   third), 1,000 people, 100,000 check-ins in one shift; ``shift_coverage`` end to end (read,
   rules, report), best of 3; against one plain PostGIS query counting the check-ins within the
   radius per point and round (no speed check, no visit gap, no closing: less work, and less
   right).

    .venv/bin/python bench/duty.py [--rate 1000] [--duration 10] [--skip-http]

Targets: on-duty p99 <= 5 ms at 1,000 req/s; a station-year <= 1 s; the city's shift <= 2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import assign as common  # noqa: E402  (bench/ is not a package: shared server helpers)
import loadgen  # noqa: E402
from cluster import private_cluster, private_dir  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")


def http(rate: float, duration: float, seed: int) -> None:
    exe = str(Path(sys.executable).parent / "gridsvc")
    data_dir = private_dir("gridsvc-bench-duty-")
    env = {**os.environ, "GRIDSVC_DATA_DIR": str(data_dir), "GRIDSVC_DATABASE_URL": ""}
    server = None
    try:
        token = common._demo_token(exe, env, data_dir, "viewer")
        auth = {"Authorization": f"Bearer {token}"}
        port = common._free_port()
        server = common._start([exe, "serve", "--port", str(port)], env,
                               data_dir / "gridsvc.log", pin=False)
        pts = common._house_points(5000, seed)
        targets = [f"/api/v1/onduty?lon={x:.7f}&lat={y:.7f}&crs=4490" for x, y in pts]
        common._wait_http(f"http://127.0.0.1:{port}{targets[0]}", auth, server)
        for t in targets[:200]:  # warm every path once (plans, beat order, board)
            common._get_json(f"http://127.0.0.1:{port}{t}", auth)
        # The service builds the command centre's map in the background at start-up (about
        # a second of CPU): measure the on-duty route once that is done, not beside it.
        settled = _settle(server.pid)
        print(f"server idle {settled:.1f} s after the warm-up")
        # The lookup (which now carries the same on-duty block) and a trivial server, in the
        # same run: on a shared machine they say how much of a latency is the machine's.
        for name, paths in (("on-duty", targets),
                            ("lookup", [t.replace("/onduty", "/lookup") for t in targets])):
            requests = loadgen.build_requests("127.0.0.1", port, paths, auth)
            result = loadgen.load(f"http://127.0.0.1:{port}", requests, rate=rate,
                                  duration=duration, warmup=2.0, connections=4)
            print(f"{name} over HTTP at {rate:g} req/s for {duration:g} s (4 connections, open "
                  f"loop, {len(pts)} house points): achieved {result.achieved:.0f}/s, p50 "
                  f"{result.pct(50):.2f} ms, p99 {result.pct(99):.2f} ms, max "
                  f"{result.max_ms:.2f} ms, errors {result.errors}  (target p99 <= 5 ms); "
                  f"load average {os.getloadavg()[0]:.1f}")
        _in_process(env, pts)
        _asgi(env, pts, token)
    finally:
        from gridsvc.db.embedded import EmbeddedPostgres

        common._stop(server)
        EmbeddedPostgres(data_dir).stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _settle(pid: int, timeout: float = 30.0, idle: float = 0.05) -> float:
    """Wait until process ``pid`` uses under ``idle`` of a core over half a second (or
    ``timeout`` passed); returns the seconds waited."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    start = time.monotonic()
    while time.monotonic() - start < timeout:
        before = cpu()
        time.sleep(0.5)
        if cpu() - before < idle * 0.5:
            break
    return time.monotonic() - start


def _in_process(env: dict[str, str], pts: np.ndarray) -> None:
    """The memory path against the database path, same questions, in this process."""
    from gridsvc.services.database import ready_engine
    from gridsvc.services.lookup import LookupService
    from gridsvc.services.onduty import DutyService
    from gridsvc.settings import Settings

    settings = Settings(data_dir=Path(env["GRIDSVC_DATA_DIR"]), database_url="")
    engine = ready_engine(settings)
    service = DutyService(engine, LookupService(engine), settings.duty)
    far = datetime.now(TZ) - timedelta(days=10)  # outside the window: asked of the database
    same = 0
    for x, y in pts[:50]:
        a = service.on_duty(x, y, "4490", far)
        b = service.on_duty(x, y, "4490", far + timedelta(microseconds=1))
        same += a["main_duty"] == b["main_duty"]
    times = {}
    for name, at in (("memory (now)", None), ("database (10 days ago)", far)):
        start = time.perf_counter()
        for x, y in pts[:1000]:
            service.on_duty(x, y, "4490", at)
        times[name] = (time.perf_counter() - start) / 1000 * 1e6
    mem, db = times["memory (now)"], times["database (10 days ago)"]
    print(f"in process, 1,000 answers each: memory {mem:.0f} µs, database {db:.0f} µs a "
          f"question: the database path costs {db / mem:.1f}x")
    engine.dispose()


def _asgi(env: dict[str, str], pts: np.ndarray, token: str, n: int = 3000) -> None:
    """One question through the whole app in this process (routing, token, parameters,
    answer, encoding; no HTTP, no network): what the route costs the server, on-duty and the
    lookup side by side."""
    import asyncio

    from gridsvc.api.app import create_app
    from gridsvc.settings import MapSettings, Settings

    settings = Settings(data_dir=Path(env["GRIDSVC_DATA_DIR"]), database_url="",
                        map=MapSettings(prewarm=False))
    app = create_app(settings)
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode()),
               (b"accept", b"application/json")]

    async def ask(path: str, query: str) -> None:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                   "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
                   "query_string": query.encode(), "root_path": "", "headers": headers,
                   "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}},
                  receive, send)
        assert sent[0]["status"] == 200, sent

    async def run() -> dict[str, float]:
        queries = [f"lon={x:.7f}&lat={y:.7f}&crs=4490" for x, y in pts[:n]]
        out = {}
        async with app.router.lifespan_context(app):
            for path in ("/api/v1/onduty", "/api/v1/lookup"):
                for q in queries[:300]:  # warm
                    await ask(path, q)
                start = time.perf_counter()
                for q in queries:
                    await ask(path, q)
                out[path] = (time.perf_counter() - start) / len(queries) * 1e6
        return out

    found = asyncio.run(run())
    print(f"through the app in process ({n:,} questions, no HTTP): on-duty "
          f"{found['/api/v1/onduty']:.0f} µs, lookup {found['/api/v1/lookup']:.0f} µs a "
          f"question")


def station_year(repeat: int) -> None:
    from sqlalchemy import create_engine, insert, text
    from sqlalchemy.dialects.postgresql import Range

    from gridsvc.db import duty as repo
    from gridsvc.db import migrate, objects
    from gridsvc.db.model_duty import DutyInterval
    from gridsvc.domain.duty.rotation import daily_rotation, expand
    from gridsvc.services.duty import rematerialise
    from gridsvc.settings import DutySettings

    settings = DutySettings()
    with private_cluster("gridsvc-bench-duty-year-") as pg:
        pg.create_database("year")
        engine = create_engine(pg.url("year"))
        migrate.upgrade(engine)
        start = datetime(2026, 1, 1, tzinfo=TZ)
        end = start + timedelta(days=365)
        with engine.begin() as conn:
            objects.insert_rows(conn, "person", [
                {"business_id": f"P{i:02d}", "name": f"民警{i}", "role": "officer"}
                for i in range(15)])
            pks = repo.person_pks(conn, [f"P{i:02d}" for i in range(15)])
            groups = []
            for g in range(3):
                gid = repo.insert_group(conn, "S01", "ABC"[g], f"{g + 1}组", None)
                repo.set_members(conn, gid, [pks[f"P{g * 5 + i:02d}"] for i in range(5)])
                groups.append(gid)
            repo.insert_rules(conn, [
                {"group_id": r.group, "kind": r.kind, "dtstart": r.dtstart,
                 "zone": settings.zone, "rrule": r.rrule, "minutes": r.minutes,
                 "valid_from": r.valid_from, "created_by": "bench"}
                for r in daily_rotation(groups, start.date())])
        best, rows = float("inf"), 0
        for _ in range(repeat):
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM duty_interval"))
            t = time.perf_counter()
            with engine.begin() as conn:
                rows = rematerialise(conn, settings, "S01", start, end)["inserted"]
            best = min(best, time.perf_counter() - t)
        with engine.connect() as conn:
            rules = repo.rules(conn, "S01")
            members = {g["id"]: g["members"] for g in repo.groups(conn, "S01")}
        t = time.perf_counter()
        fresh = expand(rules, [], members, settings.zone, start, end)
        expand_s = time.perf_counter() - t
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM duty_interval"))
        t = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(DutyInterval), [
                {"station_id": "S01", "kind": iv.kind, "group_id": iv.group,
                 "person_pk": iv.person, "during": Range(iv.start, iv.end, bounds="[)"),
                 "source": iv.source} for iv in fresh])
        many_s = time.perf_counter() - t
        engine.dispose()
    print(f"station-year (3 groups of 5, 365 days): {rows:,} intervals materialised in "
          f"{best:.3f} s, best of {repeat} (expanding the rules alone {expand_s:.3f} s)  "
          f"(target <= 1 s); the same rows by executemany {many_s:.3f} s "
          f"({many_s / best:.1f}x)")


def city_shift(repeat: int, seed: int) -> None:
    from sqlalchemy import create_engine, text

    from gridsvc.db import migrate, objects
    from gridsvc.db import patrol as patrol_repo
    from gridsvc.domain.duty.patrol import effective_time
    from gridsvc.services.patrol import shift_coverage
    from gridsvc.settings import DutySettings

    settings = DutySettings()
    rng = np.random.default_rng(seed)
    n_points, n_stations, n_people, n_checks = 10_000, 50, 1_000, 100_000
    day = date(2026, 11, 30)
    with private_cluster("gridsvc-bench-duty-city-") as pg:
        pg.create_database("city")
        engine = create_engine(pg.url("city"))
        migrate.upgrade(engine)
        lon = 119.0 + rng.uniform(0, 0.5, n_points)
        lat = 28.0 + rng.uniform(0, 0.4, n_points)
        station = np.minimum((lon - 119.0) / 0.5 * 10, 9).astype(int) * 5 + np.minimum(
            (lat - 28.0) / 0.4 * 5, 4).astype(int)
        ids = [f"PP{i:05d}" for i in range(n_points)]
        t0 = time.perf_counter()
        with engine.begin() as conn:
            objects.insert_rows(conn, "patrol_point", [
                {"business_id": ids[i], "name": f"点{i}", "level": 1 + int(i % 7 != 0),
                 "geom": shapely.Point(lon[i], lat[i]), "station_id": f"S{station[i]:02d}",
                 "beat_id": f"B{station[i]:02d}{i % 8}", "grid_id": f"G{i // 40:04d}"}
                for i in range(n_points)])
            objects.insert_rows(conn, "person", [
                {"business_id": f"P{i:04d}", "name": f"民警{i}", "role": "officer"}
                for i in range(n_people)])
            pks = dict(conn.execute(text("SELECT business_id, pk FROM person")).all())
            rounds = {}
            for s in range(n_stations):
                sid = f"S{s:02d}"
                rounds[sid] = (patrol_repo.upsert_round(conn, sid, "day", "日巡", dtime(8),
                                                        dtime(22)),
                               patrol_repo.upsert_round(conn, sid, "night", "夜巡",
                                                        dtime(22), dtime(6)))
            need = []
            for i in range(n_points):
                sid = f"S{station[i]:02d}"
                need.append({"point_id": ids[i], "round_id": rounds[sid][0],
                             "station_id": sid, "visits": 1})
                if i % 3 == 0:
                    need.append({"point_id": ids[i], "round_id": rounds[sid][1],
                                 "station_id": sid, "visits": 1})
            for sid in rounds:
                patrol_repo.replace_requirements(conn, sid, [], [r for r in need
                                                                 if r["station_id"] == sid])
            person, pick, at = _walks(rng, station, lon, lat, n_people, n_checks,
                                      datetime.combine(day, dtime(8), TZ).timestamp())
            jitter = rng.normal(0, 10, (n_checks, 2)) / 111_000
            rows = []
            for k in range(n_checks):
                i = int(pick[k])
                t = datetime.fromtimestamp(float(at[k]), TZ)
                rows.append({
                    "idempotency_key": f"b{k}", "person_pk": pks[f"P{int(person[k]):04d}"],
                    "point_id": ids[i], "device_at": t, "server_at": t + timedelta(seconds=3),
                    "at": effective_time(t, t + timedelta(seconds=3), 300),
                    "accuracy_m": 10.0, "distance_m": float(np.hypot(*jitter[k]) * 111_000),
                    "lon": lon[i] + jitter[k, 0], "lat": lat[i] + jitter[k, 1],
                    "station_id": f"S{station[i]:02d}"})
            patrol_repo.insert_check_ins(conn, rows)
            objects.analyze(conn, ["patrol_point", "patrol_check_in", "patrol_requirement"])
        setup_s = time.perf_counter() - t0
        best, report = float("inf"), None
        for _ in range(repeat):
            t = time.perf_counter()
            report = shift_coverage(engine, settings, day=day)
            best = min(best, time.perf_counter() - t)
        t = time.perf_counter()
        with engine.connect() as conn:
            plain = conn.execute(text(_PLAIN), {
                "d0": datetime.combine(day, dtime(8), TZ),
                "d1": datetime.combine(day, dtime(22), TZ) + timedelta(minutes=30),
                "n0": datetime.combine(day, dtime(22), TZ),
                "n1": datetime.combine(day + timedelta(days=1), dtime(6), TZ)
                + timedelta(minutes=30), "radius": settings.radius_m}).one()
        plain_s = time.perf_counter() - t
        engine.dispose()
    assert report is not None
    tot = report["totals"]
    print(f"city shift ({n_points:,} points, {n_stations} stations, {n_checks:,} check-ins; "
          f"set-up {setup_s:.0f} s): coverage in {best:.2f} s, best of {repeat} (target <= 2 s); "
          f"{tot['visited']:,} of {tot['due']:,} point-rounds visited, check-ins "
          f"{tot['check_ins']}; plain PostGIS count {plain_s:.2f} s "
          f"({plain[0]:,} of {plain[1]:,} visited: no speed check, no visit gap, no closing)")


def _walks(rng: np.random.Generator, station: np.ndarray, lon: np.ndarray, lat: np.ndarray,
           n_people: int, n_checks: int, start: float) -> tuple[np.ndarray, ...]:
    """Each station's points are shared among its people (20 a station) in a serpentine sweep
    of latitude bands; each person walks their share round and round from 08:00 to 22:00 at
    even steps (a loop of about ten points every 85 minutes, at walking or cycling speed)."""
    per = n_checks // n_people
    n_stations = int(station.max()) + 1
    person, pick, at = [], [], []
    for s in range(n_stations):
        mine = np.flatnonzero(station == s)
        band = np.floor((lat[mine] - 28.0) / 0.01).astype(int)
        mine = mine[np.lexsort((np.where(band % 2, -lon[mine], lon[mine]), band))]
        people = range(s, n_people, n_stations)
        for p, share in zip(people, np.array_split(mine, len(people)), strict=True):
            person.append(np.full(per, p))
            pick.append(np.resize(share, per))
            steps = start + np.arange(per) * (14 * 3600 / per)
            at.append(steps + rng.uniform(0, 60, per))
    return np.concatenate(person), np.concatenate(pick), np.concatenate(at)


_PLAIN = """
SELECT count(*) FILTER (WHERE n >= r.visits), count(*)
  FROM patrol_requirement r JOIN patrol_round o ON o.id = r.round_id
  CROSS JOIN LATERAL (
      SELECT count(*) AS n FROM patrol_check_in c
       WHERE c.point_id = r.point_id AND c.distance_m <= :radius
         AND ((o.code = 'day' AND c.at >= :d0 AND c.at < :d1)
           OR (o.code = 'night' AND c.at >= :n0 AND c.at < :n1))) k
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--http-only", action="store_true")
    args = parser.parse_args()
    if not args.skip_http:
        http(args.rate, args.duration, args.seed)
    if args.http_only:
        return
    station_year(args.repeat)
    city_shift(args.repeat, args.seed)


if __name__ == "__main__":
    main()
