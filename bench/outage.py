"""A database outage under lookup load: ``GET /api/v1/lookup`` at a steady rate while the
embedded PostGIS is stopped for a while and started again, the service left running.

Starts the real service (one uvicorn worker) on a private embedded PostGIS with the demo town,
sends lookups of random demo houses open-loop (request ``i`` at ``start + i / rate``, spread over
keep-alive connections, latency from the scheduled time, as ``bench/loadgen.py``), stops the
cluster (``pg_ctl stop -m fast``) after ``--warmup`` (not counted) and ``--before`` seconds,
starts it again when it has been down ``--outage`` seconds, and goes on for ``--after`` seconds.
During the outage it also checks, once each, a write (``POST /api/v1/incidents``), a route that
needs the database and ``/healthz``.

    .venv/bin/python bench/outage.py [--rate 500] [--outage 30] [--before 10] [--after 15]
                                     [--warmup 3] [--connections 8]

Issue 11's target: during a 30 s outage under 500 lookups/s, 0 server errors and at least 99%
of lookups answered. Reported per phase (before, during, after): requests, answered (200),
5xx by code, broken connections, degraded answers, latency p50/p99/max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import assign as common  # noqa: E402  (bench/ is not a package: shared server helpers)
from cluster import private_dir  # noqa: E402


@dataclass
class Run:
    """Per request: when it was scheduled (s from the start), its status (0: broken
    connection or timeout), whether it was marked degraded, its latency (s)."""

    at: list[float] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    degraded: list[bool] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)


async def _read(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status, length, degraded = int(head[9:12]), 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"x-gridsvc-degraded":
            degraded = True
    if length:
        await reader.readexactly(length)
    return status, degraded


async def _connection(port: int, requests: list[bytes], slots: range, start: float,
                      rate: float, run: Run, timeout: float, marks: dict) -> None:
    """One keep-alive connection through its slots, until ``marks["end"]`` (s) once known."""
    loop = asyncio.get_running_loop()
    reader = writer = None
    for i in slots:
        scheduled = start + i / rate
        if scheduled - start > marks.get("end", float("inf")):
            break
        if scheduled > loop.time():
            await asyncio.sleep(scheduled - loop.time())
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), timeout)
            writer.write(requests[i % len(requests)])
            status, degraded = await asyncio.wait_for(_read(reader), timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            status, degraded = 0, False
            if writer is not None:
                writer.close()
            reader = writer = None
        run.at.append(scheduled - start)
        run.status.append(status)
        run.degraded.append(degraded)
        run.latency.append(loop.time() - scheduled)
    if writer is not None:
        writer.close()


def _probe(url: str, token: str, body: dict | None = None) -> tuple[int, str, str]:
    """One request: (status, Retry-After, body) of a write, a read or the health check."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Retry-After", ""), r.read().decode()[:200]
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Retry-After", ""), e.read().decode()[:200]


async def _outage(data_dir: Path, at: float, length: float, after: float, start: float,
                  marks: dict,
                  probes: list, base: str, token: str, point: tuple[float, float]) -> None:
    """Stop the cluster at ``at`` s, probe a write, a read and /healthz, start it again when
    it has been down ``length`` s; the load ends ``after`` s later."""
    from gridsvc.db.embedded import EmbeddedPostgres

    loop = asyncio.get_running_loop()
    cluster = EmbeddedPostgres(data_dir)
    await asyncio.sleep(max(0.0, start + at - loop.time()))
    marks["stopping"] = loop.time() - start
    await loop.run_in_executor(None, cluster.stop)
    marks["stopped"] = loop.time() - start
    await asyncio.sleep(2)
    incident = {"occurred_at": "2026-11-23T20:15:00+08:00", "category": "盗窃",
                "summary": "outage bench", "lon": point[0], "lat": point[1]}
    for what, url, body in (("write", f"{base}/api/v1/incidents", incident),
                            ("read", f"{base}/api/v1/areas?kind=grid", None),
                            ("healthz", f"{base}/healthz", None)):
        probes.append((what, *await loop.run_in_executor(None, _probe, url, token, body)))
    await asyncio.sleep(max(0.0, start + marks["stopped"] + length - loop.time()))
    marks["starting"] = loop.time() - start
    await loop.run_in_executor(None, cluster.start)
    marks["started"] = loop.time() - start
    marks["end"] = marks["started"] + after


async def _bench(port: int, requests: list[bytes], args: argparse.Namespace, data_dir: Path,
                 token: str, point: tuple[float, float]) -> tuple[Run, dict, list]:
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    # Slots for longer than planned: stopping and starting take a while; the load ends at
    # marks["end"], set when the cluster is up again.
    total = int((args.warmup + args.before + args.outage + args.after + 60) * args.rate)
    run, marks, probes = Run(), {}, []
    tasks = [_connection(port, requests, range(c, total, args.connections), start, args.rate,
                         run, args.timeout, marks) for c in range(args.connections)]
    tasks.append(_outage(data_dir, args.warmup + args.before, args.outage, args.after, start,
                         marks, probes,
                         f"http://127.0.0.1:{port}", token, point))
    await asyncio.gather(*tasks)
    return run, marks, probes


def _report(run: Run, marks: dict, probes: list, args: argparse.Namespace) -> None:
    measured = np.array(run.at) >= args.warmup
    at, status = np.array(run.at)[measured], np.array(run.status)[measured]
    degraded = np.array(run.degraded)[measured]
    latency = np.array(run.latency)[measured] * 1e3
    stopping, started = marks["stopping"], marks["started"]
    print(f"rate {args.rate:g}/s over {args.connections} connections, {args.warmup:g} s of "
          f"warm-up not counted; cluster stop asked at {stopping:.1f} s, down at "
          f"{marks['stopped']:.1f} s, start asked at {marks['starting']:.1f} s, up at "
          f"{started:.1f} s (outage {started - stopping:.1f} s, fully down "
          f"{marks['starting'] - marks['stopped']:.1f} s)")
    print(f"{'phase':<8} {'requests':>8} {'answered':>9} {'share':>8} {'500':>4} {'503':>5} "
          f"{'other5xx':>8} {'broken':>6} {'degraded':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7}")
    phases = {"before": at < stopping, "during": (at >= stopping) & (at < started),
              "after": at >= started, "all": np.ones(len(at), dtype=bool)}
    for name, sel in phases.items():
        s, n = status[sel], int(sel.sum())
        ok = int((s == 200).sum())
        lat = latency[sel]
        print(f"{name:<8} {n:>8} {ok:>9} {ok / max(n, 1):>8.2%} {int((s == 500).sum()):>4} "
              f"{int((s == 503).sum()):>5} {int(((s >= 500) & (s != 500) & (s != 503)).sum()):>8} "
              f"{int((s == 0).sum()):>6} {int(degraded[sel].sum()):>8} "
              f"{np.percentile(lat, 50):>7.1f} {np.percentile(lat, 99):>7.1f} {lat.max():>7.1f}")
    print("other statuses:", dict(Counter(int(x) for x in status if x not in (200, 503, 500))))
    after_up = at >= started
    still = at[after_up & degraded]
    print(f"last degraded answer {still.max() - started:.2f} s after the cluster was up"
          if len(still) else "no degraded answer after the cluster was up")
    for what, code, retry, body in probes:
        print(f"during the outage, {what}: {code}, Retry-After {retry or '-'}: {body}")
    during = phases["during"]
    answered = float((status[during] == 200).mean())
    errors = int((status >= 500).sum())
    print(f"target (issue 11): 0 server errors, >= 99% answered during the outage: "
          f"{errors} server errors (500: {int((status == 500).sum())}), "
          f"{answered:.2%} answered -> {'met' if errors == 0 and answered >= 0.99 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--outage", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--before", type=float, default=10.0)
    parser.add_argument("--after", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    exe = str(Path(sys.executable).parent / "gridsvc")
    data_dir = private_dir("gridsvc-bench-outage-")
    env = {**os.environ, "GRIDSVC_DATA_DIR": str(data_dir), "GRIDSVC_DATABASE_URL": "",
           "GRIDSVC_MAP_PREWARM": "false"}
    server = None
    try:
        token = common._demo_token(exe, env, data_dir, "dispatcher")
        auth = {"Authorization": f"Bearer {token}"}
        port = common._free_port()
        server = common._start([exe, "serve", "--port", str(port)], env,
                               data_dir / "gridsvc.log", pin=False)
        points = common._house_points(args.points, args.seed)
        targets = [f"/api/v1/lookup?lon={x:.7f}&lat={y:.7f}" for x, y in points]
        common._wait_http(f"http://127.0.0.1:{port}{targets[0]}", auth, server)
        extra = "".join(f"{k}: {v}\r\n" for k, v in auth.items())
        requests = [(f"GET {t} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
                     "Accept: application/json\r\n\r\n").encode() for t in targets]
        began = time.monotonic()
        run, marks, probes = asyncio.run(_bench(port, requests, args, data_dir, token,
                                                tuple(points[0])))
        print(f"gridsvc bench/outage.py, {time.monotonic() - began:.0f} s of load")
        _report(run, marks, probes, args)
        log_text = (data_dir / "gridsvc.log").read_text(errors="replace")
        print(f"server log: {log_text.count('Traceback')} tracebacks")
    finally:
        common._stop(server)
        from gridsvc.db.embedded import EmbeddedPostgres

        EmbeddedPostgres(data_dir).stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
