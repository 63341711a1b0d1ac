"""What scoping costs (issue 12): ``/api/v1/lookup`` throughput and ``GET /api/v1/houses``
latency, scoped against unscoped, measured in one run.

Two servers on one private embedded PostGIS with the demo town, both the real app (one uvicorn
worker each, run one at a time):

- **scoped**: ``gridsvc serve`` as deployed: requests on the ``gridsvc_app`` role, each
  transaction bound to the caller's account, PostgreSQL's policies on; the lookup filters people
  in Python.
- **unscoped**: the same app whose request engine is the owner's (no policies, no binding): what
  the service cost before accounts.

Lookup: points inside grid worker gw001's grid, asked by gw001 (their scope filtered in Python)
and by a service token (scope everything: no filter), at a rate above saturation with the
open-loop generator (``bench/loadgen.py``); throughput is what the server answered per second.
Houses: one page of 100 houses of a village, asked by the station leader (scoped server: the
``house`` policy; unscoped server: none), one request at a time to each server in turn (so the
load of anything else on the machine falls on both alike); latency percentiles of each. Both
servers run for the whole measurement; lookup rounds alternate which caller goes first and the
median round is reported.

    .venv/bin/python bench/scope.py [--rounds 5] [--duration 6] [--lookup-rate 3000]
                                    [--houses-requests 400]

Target: scoping costs at most 10% on both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import assign as common  # noqa: E402  (bench/ is not a package: shared server helpers)
import loadgen  # noqa: E402
from cluster import private_dir  # noqa: E402


def serve_unscoped(port: int) -> None:
    """Run the app with the owner's engine for requests (the path before accounts)."""
    import uvicorn

    from gridsvc.api.app import create_app
    from gridsvc.services.database import ready_engine
    from gridsvc.settings import get_settings

    settings = get_settings()
    owner = ready_engine(settings)
    app = create_app(settings, owner)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):  # type: ignore[no-untyped-def]
        async with inner(a):
            a.state.engine = owner  # no role switch, no binding, no policies
            yield

    app.router.lifespan_context = lifespan
    # As gridsvc serve runs it (no access log).
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info", access_log=False)


def _tokens(env: dict[str, str]) -> dict[str, str]:
    """Bearer tokens: a service token, and personal tokens of gw001 and leader-s01."""
    code = """
from sqlalchemy import text
from gridsvc.domain.accounts import Role
from gridsvc.services.database import ready_engine
from gridsvc.services.tokens import create_token
from gridsvc.settings import get_settings
engine = ready_engine(get_settings())
print(create_token(engine, role=Role.dispatcher, name="bench", actor="bench"))
for user in ("gw001", "leader-s01"):
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, role FROM account WHERE username = :u"),
                           {"u": user}).one()
    print(create_token(engine, role=Role.parse(row.role), name="bench", actor="bench",
                       account_id=row.id))
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                         text=True).stdout.split()
    return dict(zip(("service", "gw001", "leader"), out, strict=True))


def _targets(env: dict[str, str]) -> tuple[list[str], str]:
    """Lookup URLs of houses in gw001's grid, and a village with houses for the houses page."""
    code = """
from sqlalchemy import text
from gridsvc.services.database import ready_engine
from gridsvc.settings import get_settings
engine = ready_engine(get_settings())
with engine.connect() as conn:
    for lon, lat in conn.execute(text(
            "SELECT ST_X(geom), ST_Y(geom) FROM house WHERE grid_id = (SELECT area_id FROM "
            "account_scope s JOIN account a ON a.id = s.account_id WHERE a.username = 'gw001' "
            "LIMIT 1) ORDER BY business_id LIMIT 200")):
        print(f"/api/v1/lookup?lon={lon}&lat={lat}&crs=4490")
    print(conn.execute(text("SELECT address_village_id FROM house GROUP BY 1 "
                            "ORDER BY count(*) DESC LIMIT 1")).scalar())
"""
    lines = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                           capture_output=True, text=True).stdout.split()
    return lines[:-1], lines[-1]


def _run(cmd: list[str], env: dict[str, str], log: Path, check_url: str,
         token: str) -> subprocess.Popen:
    proc = common._start(cmd, env, log, pin=False)
    common._wait_http(check_url, {"Authorization": f"Bearer {token}"}, proc)
    return proc


def _paired(servers: dict[str, tuple[int, subprocess.Popen]], paths: list[str], token: str,
            n: int) -> dict[str, list[float]]:
    """Latency (ms) of ``n`` requests to each server, one after the other in alternating
    order (scoped, unscoped, unscoped, scoped, ...), so a change in the machine's load
    (other processes) falls on both alike."""
    import http.client
    import time

    conns = {name: http.client.HTTPConnection("127.0.0.1", port, timeout=30)
             for name, (port, _) in servers.items()}
    out: dict[str, list[float]] = {name: [] for name in servers}
    headers = {"Authorization": f"Bearer {token}"}
    names = list(servers)
    for i in range(n + 20):
        for name in names if i % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            conns[name].request("GET", paths[i % len(paths)], headers=headers)
            reply = conns[name].getresponse()
            reply.read()
            if reply.status != 200:
                raise RuntimeError(f"{name}: {reply.status}")
            if i >= 20:  # the first ones warm the pools and caches
                out[name].append((time.perf_counter() - start) * 1e3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--lookup-rate", type=float, default=3000.0)
    parser.add_argument("--houses-requests", type=int, default=400)
    parser.add_argument("--serve-unscoped", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_unscoped:
        serve_unscoped(args.serve_unscoped)
        return
    exe = str(Path(sys.executable).parent / "gridsvc")
    data_dir = private_dir("gridsvc-bench-scope-")
    env = {**os.environ, "GRIDSVC_DATA_DIR": str(data_dir), "GRIDSVC_DATABASE_URL": "",
           "GRIDSVC_MAP_PREWARM": "false", "PYTHONPATH": str(ROOT)}
    commands = {"scoped": [exe, "serve", "--port", "{port}"],
                "unscoped": [sys.executable, __file__, "--serve-unscoped", "{port}"]}
    try:
        subprocess.run([exe, "demo", "load"], env=env, cwd=data_dir, check=True,
                       capture_output=True)
        tokens = _tokens(env)
        lookups, village = _targets(env)
        houses = [f"/api/v1/houses?village_id={village}&limit=100&offset={o}"
                  for o in (0, 100, 200)]
        results: dict[str, list] = {"lookup": [], "lookup_all": []}
        servers = {}
        for name in ("scoped", "unscoped"):
            port = common._free_port()
            cmd = [c.format(port=port) for c in commands[name]]
            servers[name] = (port, _run(cmd, env, data_dir / f"{name}.log",
                                        f"http://127.0.0.1:{port}{lookups[0]}",
                                        tokens["gw001"]))
        try:
            port = servers["scoped"][0]
            for round_no in range(args.rounds):
                # Which caller goes first alternates: no order effect in the median.
                order = [("lookup", "gw001"), ("lookup_all", "service")]
                for key, who in order[:: 1 if round_no % 2 == 0 else -1]:
                    reqs = loadgen.build_requests("127.0.0.1", port, lookups,
                                                  {"Authorization": f"Bearer {tokens[who]}"})
                    results[key].append(loadgen.load(
                        f"http://127.0.0.1:{port}/", reqs, rate=args.lookup_rate,
                        duration=args.duration, warmup=2.0, connections=8))
            results["houses"] = _paired(servers, houses, tokens["leader"], args.houses_requests)
        finally:
            for _, proc in servers.values():
                common._stop(proc)
        _report(results, args)
    finally:
        subprocess.run([exe, "db", "stop"], env=env, cwd=data_dir, capture_output=True)


def _report(results: dict[str, list], args: argparse.Namespace) -> None:
    def med(key: str, f) -> float:  # type: ignore[no-untyped-def]
        return statistics.median(f(r) for r in results[key])

    scoped = med("lookup", lambda r: r.achieved)
    plain = med("lookup_all", lambda r: r.achieved)
    print(f"lookup throughput (offered {args.lookup_rate:.0f}/s, {args.rounds} rounds, median):")
    print(f"  grid worker (scope filtered in Python): {scoped:7.0f} req/s")
    print(f"  service token (scope everything):       {plain:7.0f} req/s")
    print(f"  scoped / unscoped: {scoped / plain:.3f}  (cost {100 * (1 - scoped / plain):+.1f}%)")
    import numpy as np

    houses = {k: np.asarray(v) for k, v in results.pop("houses").items()}
    print(f"houses page (100 houses), {len(houses['scoped'])} requests to each server, "
          "alternating:")
    for q in (50, 90, 99):
        sc, un = (float(np.percentile(houses[k], q)) for k in ("scoped", "unscoped"))
        print(f"  p{q}: scoped {sc:6.2f} ms, unscoped (owner, no policies) {un:6.2f} ms: "
              f"ratio {sc / un:.3f} (cost {100 * (sc / un - 1):+.1f}%)")
    errors = sum(r.errors for rs in results.values() for r in rs)
    print(f"errors: {errors}")


if __name__ == "__main__":
    main()
