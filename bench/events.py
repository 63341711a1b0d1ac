"""Events (issue 13): intake under load, and the big-table paths with 1,000,000 events.

One run on a private embedded PostGIS with the demo town (and its year of demo events):

1. **Intake**: ``gridsvc serve`` (one uvicorn worker, requests on the ``gridsvc_app`` role as a
   grid worker's personal token, row-level security on), ``POST /api/v1/events`` with a fresh
   ``Idempotency-Key`` each, at ``--rate`` reports/s for ``--duration`` s (open loop,
   ``bench/loadgen.py``: latency from each request's scheduled time). Target: p99 <= 50 ms,
   0 errors, at 50/s for 60 s.
2. **1,000,000 events** are then added in SQL (1% open, a tenth of those overdue), the table
   vacuumed and a checkpoint taken (a table at rest, not one digesting a bulk load), and:

   - a grid's open-event list, ``GET /api/v1/events?grid_id=..&open=true`` as the grid's
     worker (policies on), at 20 requests/s for 20 s: p99 <= 50 ms;
   - the overdue sweep (:func:`gridsvc.services.events.sweep`, owner engine, escalating the
     overdue ones in one transaction): <= 1 s;
   - the county's daily summary per grid (:func:`~gridsvc.services.events.daily_summary` as
     the command centre, policies on): <= 2 s;
   - a boundary activation re-routing the 10,000 open events: the events' part
     (:func:`~gridsvc.services.events.reroute_for_plan`, timed alone in a rolled-back
     transaction) and the whole activation (houses and the rest too), in one transaction:
     <= 5 s.

    .venv/bin/python bench/events.py [--rate 50] [--duration 60] [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import assign as common  # noqa: E402  (bench/ is not a package: shared server helpers)
import loadgen  # noqa: E402
from cluster import private_cluster  # noqa: E402

console = Console()
GRID = "G102001001"  # gw001's grid

HOUSES_SQL = """
CREATE TEMP TABLE h AS SELECT row_number() OVER (ORDER BY business_id) AS rn, geom, town_id,
    village_id, grid_id, station_id, beat_id, cells_plan_id FROM house WHERE grid_id IS NOT NULL
"""
BULK_SQL = """
INSERT INTO event (id, business_id, category, grade, state, level, description, reporter,
    routing, unit_kind, unit_id, occurred_at, created_at, updated_at, expected_at, late,
    handled_at, finished_at, geom, town_id, village_id, grid_id, station_id, beat_id,
    cells_plan_id)
SELECT nextval(pg_get_serial_sequence('event', 'id')), 'EB' || g,
    (ARRAY['dispute.neighbour','dispute.family','dispute.land','order','fire','safety',
           'other','dispute.labour','dispute.property'])[1 + g % 9],
    (ARRAY['general','general','general','major','serious'])[1 + g % 5],
    CASE WHEN g % 100 = 0 THEN (ARRAY['reported','accepted','dispatched','in_hand',
         'handled'])[1 + (g / 100) % 5]
         WHEN g % 23 = 0 THEN 'rejected' ELSE 'closed' END,
    'grid', '批量事件 ' || g, 'bench',
    jsonb_build_object('unit_kind', 'grid', 'unit_id', h.grid_id, 'people', '[]'::jsonb),
    'grid', h.grid_id, t.at, t.at, t.at,
    CASE WHEN g % 100 = 0 THEN CASE WHEN g % 1000 = 0 THEN now() - interval '1 hour'
                                    ELSE now() + interval '1 day' END END,
    g % 7 = 0,
    CASE WHEN g % 100 <> 0 AND g % 23 <> 0 THEN t.at + interval '30 hours' END,
    CASE WHEN g % 100 <> 0 THEN t.at + interval '50 hours' END,
    h.geom, h.town_id, h.village_id, h.grid_id, h.station_id, h.beat_id, h.cells_plan_id
FROM generate_series(1, :n) AS g
CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 = 0
        THEN now() - (g % 14400) * interval '1 minute'
        ELSE now() - (g % 525600) * interval '1 minute' END AS at) t
JOIN h ON h.rn = 1 + (g::bigint * 7919) % (SELECT count(*) FROM h)
"""


def intake(url: str, token: str, points: list[tuple[float, float]], rate: float,
           duration: float) -> loadgen.LoadResult:
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    n = int((duration + 5) * rate) + 10
    reqs = []
    for i in range(n):
        x, y = points[i % len(points)]
        body = json.dumps({"category": "dispute.neighbour", "grade": "general",
                           "description": f"bench report {i}", "lon": x, "lat": y,
                           "crs": "4490"}).encode()
        reqs.append((f"POST /api/v1/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     f"Authorization: Bearer {token}\r\nIdempotency-Key: {uuid.uuid4().hex}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                     "Accept: application/json\r\n\r\n").encode() + body)
    return loadgen.load(url, reqs, rate=rate, duration=duration, warmup=5, connections=4,
                        timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()

    from sqlalchemy import create_engine, text

    from gridsvc.db import migrate, rls
    from gridsvc.domain.accounts import Role
    from gridsvc.services import events, plan_activation, plans
    from gridsvc.services.demo import load_demo
    from gridsvc.services.tokens import create_token
    from gridsvc.settings import Settings

    console.print(f"load: {os.getloadavg()}")
    with private_cluster("gridsvc-bench-events-") as pg:
        owner = create_engine(pg.url())
        migrate.upgrade(owner)
        t0 = time.perf_counter()
        load_demo(owner, Settings().demo_dir, actor="bench")
        console.print(f"demo town with its events loaded in {time.perf_counter() - t0:.1f} s")
        with owner.connect() as conn:
            ids = dict(conn.execute(text(
                "SELECT username, id FROM account WHERE username IN ('gw001', 'command')")).all())
            points = [tuple(r) for r in conn.execute(text(
                "SELECT ST_X(geom), ST_Y(geom) FROM house WHERE grid_id = :g "
                "ORDER BY business_id"), {"g": GRID})]
        token = create_token(owner, role=Role.reporter, name="bench-gw001", actor="bench",
                             account_id=ids["gw001"])
        env = {**os.environ, "GRIDSVC_DATABASE_URL": pg.url(), "GRIDSVC_MAP_PREWARM": "false",
               "GRIDSVC_EVENTS_SWEEP_SECONDS": "0", "GRIDSVC_DATA_DIR": str(pg.data_dir)}
        port = common._free_port()
        log = Path(pg.data_dir) / "serve.log"
        proc = common._start([str(Path(sys.executable).parent / "gridsvc"), "serve", "--port",
                              str(port)], env, log, False)
        url = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {token}"}
        try:
            common._wait_http(f"{url}/api/v1/events?limit=1", auth, proc)
            r = intake(url, token, points, args.rate, args.duration)
            console.print(f"intake {args.rate:.0f}/s for {args.duration:.0f} s: "
                          f"{r.achieved:.1f}/s answered, p50 {r.pct(50):.1f} ms, "
                          f"p99 {r.pct(99):.1f} ms, max {r.max_ms:.1f} ms, errors {r.errors}, "
                          f"backlog {r.backlog}  (target p99 <= 50 ms, 0 errors)")

            t0 = time.perf_counter()
            with owner.begin() as conn:
                conn.execute(text(HOUSES_SQL))
                conn.execute(text(BULK_SQL), {"n": args.events})
            # A table that grew to 1M events over the years has been vacuumed (visibility map
            # set) and its pages written out: timing the reads while autovacuum and
            # checkpoints digest a million fresh rows would time the bulk load instead.
            with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE event"))
                conn.execute(text("CHECKPOINT"))
            with owner.connect() as conn:
                total, open_n, overdue_n = conn.execute(text(
                    "SELECT count(*), count(*) FILTER (WHERE state NOT IN ('closed', "
                    "'rejected')), count(*) FILTER (WHERE state NOT IN ('closed', 'rejected') "
                    "AND expected_at < now()) FROM event")).one()
            console.print(f"{args.events:,} events added in {time.perf_counter() - t0:.1f} s: "
                          f"{total:,} in the table, {open_n:,} open, {overdue_n:,} overdue")

            reqs = loadgen.build_requests("127.0.0.1", port, [
                f"/api/v1/events?grid_id={GRID}&open=true&limit=100"], auth)
            r = loadgen.load(url, reqs, rate=20, duration=20, warmup=3, connections=2)
            console.print(f"grid's open list (as gw001): p50 {r.pct(50):.1f} ms, "
                          f"p99 {r.pct(99):.1f} ms, errors {r.errors}  (target p99 <= 50 ms)")
        finally:
            common._stop(proc)

        app = rls.bind_accounts(create_engine(pg.url().replace(
            "//gridsvc@", f"//{rls.APP_ROLE}@")))
        with rls.acting_as(ids["command"]):
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                rows = events.daily_summary(app, None, level="grid")
                times.append(time.perf_counter() - t0)
        console.print(f"county daily summary per grid ({len(rows)} grids, as command): "
                      f"best {min(times):.2f} s, worst {max(times):.2f} s  (target <= 2 s)")

        t0 = time.perf_counter()
        swept = events.sweep(owner)
        took = time.perf_counter() - t0
        console.print(f"overdue sweep: {len(swept['escalated']):,} escalated in {took:.2f} s  "
                      "(target <= 1 s)")

        draft = plans.create_draft(owner, name="bench move", actor="bench")
        with owner.connect() as conn:
            a, b = conn.execute(text("""
                SELECT a.business_id, b.business_id FROM area a JOIN area b
                  ON b.plan_id = a.plan_id AND b.kind = a.kind AND b.parent_id = a.parent_id
                 AND a.business_id < b.business_id AND ST_Relate(a.geom, b.geom, '****1****')
                WHERE a.plan_id = :p AND a.kind = 'grid' AND a.business_id = :g
                ORDER BY b.business_id LIMIT 1"""), {"p": draft["id"], "g": GRID}).one()
            houses = list(conn.execute(text(
                "SELECT business_id FROM house WHERE grid_id = :g ORDER BY business_id "
                "LIMIT 200"), {"g": a}).scalars())
        plans.edit(owner, draft["id"], {"op": "transfer", "from": a, "to": b,
                                        "houses": houses}, version=1, actor="bench")
        with owner.connect() as conn, conn.begin() as tx:
            t0 = time.perf_counter()
            alone = events.reroute_for_plan(conn, draft["id"], actor="bench")
            events_part = time.perf_counter() - t0
            tx.rollback()
        with owner.connect() as conn:
            open_now = conn.execute(text("SELECT count(*) FROM event WHERE state NOT IN "
                                         "('closed', 'rejected')")).scalar_one()
        t0 = time.perf_counter()
        done = plan_activation.activate(owner, draft["id"], actor="bench", version=2)
        whole = time.perf_counter() - t0
        console.print(f"activation: {open_now:,} open events moved and routed again in "
                      f"{events_part:.2f} s ({alone['rerouted']:,} changed: every one gets the "
                      f"new plan's cells and routing); the whole activation (houses, "
                      f"{len(done['moved_ids']['event']):,} events re-routed) {whole:.2f} s in "
                      "one transaction  (target <= 5 s)")
        app.dispose()
        owner.dispose()


if __name__ == "__main__":
    main()
