"""Dispatcher latency and accuracy over HTTP: ``GET /api/v1/dispatch?q=`` under steady load.

Starts the real service (one uvicorn worker) on a private embedded PostGIS with the demo town,
asks for random demo houses the ways callers say them
(:func:`gridsvc.domain.address.spoken_forms.spoken_forms`:
with and without 村 and 号, town prefix, full-width digits, Chinese numerals, sub-numbers, pinyin
initials, a typo or a homophone in the village name, extra words), first once each to count how
often the best match is the right house, then at a steady rate with the open-loop load
generator of ``bench/loadgen.py`` (latency from the scheduled send time).

    .venv/bin/python bench/dispatch.py [--houses 300] [--rate 20] [--duration 30]

Issue 4's targets: top-1 correct for at least 98% of spoken forms; p99 at most 50 ms at 20 req/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import urllib.parse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import assign as common  # noqa: E402  (bench/ is not a package: shared server helpers)
import loadgen  # noqa: E402
from cluster import private_dir  # noqa: E402


def _forms(n_houses: int, seed: int) -> list[tuple[str, str]]:
    """(house id, what a caller says) for random demo houses, every form of each."""
    from gridsvc.domain.address.spoken_forms import town_queries

    data = ROOT / "data" / "demo_town"
    props = {stem: [f["properties"] for f in json.loads(
        (data / f"{stem}.geojson").read_text(encoding="utf-8"))["features"]]
        for stem in ("towns", "villages", "houses")}
    return town_queries(props["towns"], props["villages"], props["houses"], n_houses,
                        np.random.default_rng(seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    exe = str(Path(sys.executable).parent / "gridsvc")
    data_dir = private_dir("gridsvc-bench-dispatch-")
    env = {**os.environ, "GRIDSVC_DATA_DIR": str(data_dir), "GRIDSVC_DATABASE_URL": ""}
    server = None
    try:
        token = common._demo_token(exe, env, data_dir, "dispatcher")
        auth = {"Authorization": f"Bearer {token}"}
        port = common._free_port()
        server = common._start([exe, "serve", "--port", str(port)], env,
                               data_dir / "gridsvc.log", pin=False)
        base = f"http://127.0.0.1:{port}/api/v1/dispatch?q="
        common._wait_http(base + urllib.parse.quote("东灌底村203号"), auth, server)
        forms = _forms(args.houses, args.seed)
        right = 0
        misses = []
        for house_id, text in forms:
            best = common._get_json(base + urllib.parse.quote(text), auth)["best"]
            if best and best["house_id"] == house_id:
                right += 1
            elif len(misses) < 10:
                misses.append((text, house_id, best and best["house_id"]))
        targets = [f"/api/v1/dispatch?q={urllib.parse.quote(t)}" for _, t in forms]
        requests = loadgen.build_requests("127.0.0.1", port, targets, auth)
        result = loadgen.load(f"http://127.0.0.1:{port}", requests, rate=args.rate,
                              duration=args.duration, warmup=2.0, connections=4)
    finally:
        from gridsvc.db.embedded import EmbeddedPostgres

        common._stop(server)
        EmbeddedPostgres(data_dir).stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"accuracy: {right} of {len(forms)} spoken forms ({right / len(forms):.2%}) from "
          f"{args.houses} random demo houses have the right house as the best match")
    for text, want, got in misses:
        print(f"  miss: {text!r}: want {want}, got {got}")
    print(f"latency at {args.rate:g} req/s for {args.duration:g} s (4 connections, open loop): "
          f"achieved {result.achieved:.1f}/s, p50 {result.pct(50):.1f} ms, p99 "
          f"{result.pct(99):.1f} ms, max {result.max_ms:.1f} ms, errors {result.errors}")


if __name__ == "__main__":
    main()
