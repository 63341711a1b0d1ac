"""A database outage under load: ``gridsvc serve`` on a private cluster, lookups in threads, the
cluster stopped for a few seconds and started again.

Nothing answers 500; lookups keep flowing from memory, marked degraded, also for a token whose
cache entry ran out during the outage; routes that need the database answer 503 with
``Retry-After`` in the one error shape; ``/healthz`` says "database unavailable" and no more; a
write during the outage is refused and leaves nothing; after recovery, with no restart, writes
work again.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg

from gridsvc.db.embedded import EmbeddedPostgres
from tests.conftest import run_cli, start_serve

OUTAGE_S = 4.0
DISPATCH = "/api/v1/dispatch?q=" + quote("东灌底村203号")
ERROR_KEYS = {"detail", "problems"}


class Client:
    """One keep-alive HTTP connection: ``(status, headers, json body)`` per request."""

    def __init__(self, base: str, token: str | None = None) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: dict | None = None
             ) -> tuple[int, dict[str, str], object]:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body), "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            answer = self.conn.getresponse()
            raw = answer.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            return 0, {}, None
        found = {k.lower(): v for k, v in answer.getheaders()}
        parsed = json.loads(raw) if found.get("content-type", "").startswith(
            "application/json") else raw.decode(errors="replace")
        return answer.status, found, parsed


def _load(base: str, token: str, points: list[tuple[float, float]], stop: threading.Event,
          out: list[tuple[float, int, bool]]) -> None:
    """Lookups one after another until ``stop``: ``(time, status, degraded)`` each."""
    client = Client(base, token)
    i = 0
    while not stop.is_set():
        x, y = points[i % len(points)]
        status, _, body = client.call("GET", f"/api/v1/lookup?lon={x}&lat={y}")
        degraded = isinstance(body, dict) and body.get("degraded") is True
        out.append((time.monotonic(), status, degraded))
        i += 1


def _assert_unavailable(status: int, headers: dict[str, str], body: object) -> None:
    assert status == 503, (status, body)
    assert int(headers["retry-after"]) > 0
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, body
    assert "unavailable" in body["detail"]


def test_lookups_flow_through_an_outage_and_writes_are_refused_whole():
    data = Path(tempfile.mkdtemp(prefix="gridsvc-outage-"))
    data.chmod(0o755)
    env = {**os.environ, "GRIDSVC_DATA_DIR": str(data), "GRIDSVC_MAP_PREWARM": "false",
           # Token entries run out during the outage: the outage grace must carry them.
           "GRIDSVC_TOKEN_CACHE_SECONDS": "1"}
    env.pop("GRIDSVC_DATABASE_URL", None)
    cluster = EmbeddedPostgres(data)
    proc = None
    try:
        run_cli("demo", "load", env=env, check=True)  # starts and migrates the cluster
        viewer, dispatcher, unused = (
            run_cli("token", "create", "--role", role, "--name", f"outage {role}", env=env,
                    check=True).stdout.strip().splitlines()[-1]
            for role in ("viewer", "dispatcher", "viewer"))
        with psycopg.connect(cluster.conninfo()) as conn:
            points = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM house ORDER BY "
                                  "business_id LIMIT 200").fetchall()
        proc, base = start_serve(env)
        desk = Client(base, dispatcher)
        incident = {"occurred_at": "2026-11-23T20:15:00+08:00", "category": "盗窃",
                    "lon": points[0][0], "lat": points[0][1]}
        assert desk.call("POST", "/api/v1/incidents", {**incident, "summary": "before"})[0] == 201
        assert desk.call("GET", DISPATCH)[0] == 200

        stop, results = threading.Event(), []
        threads = [threading.Thread(target=_load, args=(base, viewer, points, stop, results))
                   for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        went = time.monotonic()
        assert cluster.stop()
        time.sleep(1.5)  # token entries (1 s) have run out: they live on the outage grace

        status, headers, body = Client(base).call("GET", "/healthz")
        assert status == 503 and int(headers["retry-after"]) > 0
        assert body == {"status": "error", "detail": "database unavailable", "problems": []}
        status, headers, body = desk.call("POST", "/api/v1/incidents",
                                          {**incident, "summary": "during"})
        _assert_unavailable(status, headers, body)
        _assert_unavailable(*Client(base, viewer).call("GET", "/api/v1/areas?kind=grid"))
        # A token not verified before the outage cannot be checked now: 503, not 401.
        _assert_unavailable(*Client(base, unused).call("GET", "/api/v1/lookup?lon=1&lat=1"))
        status, headers, body = Client(base, viewer).call(
            "GET", f"/api/v1/lookup?lon={points[1][0]}&lat={points[1][1]}")
        assert status == 200 and body["degraded"] is True and body["cells"]["grid"]
        assert "x-gridsvc-degraded" in headers
        status, headers, body = desk.call("GET", DISPATCH)
        assert status == 200 and body["degraded"] and body["best"]["house_id"]
        assert body["best"]["incidents_recent"] is None and "x-gridsvc-degraded" in headers

        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - went)))
        cluster.start()
        back = time.monotonic()
        deadline = back + 15
        while Client(base).call("GET", "/healthz")[0] != 200:  # the same process, no restart
            assert time.monotonic() < deadline, "gridsvc did not see the database come back"
            time.sleep(0.2)
        status, _, body = desk.call("POST", "/api/v1/incidents", {**incident, "summary": "after"})
        assert status == 201, body
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        status, headers, body = Client(base, viewer).call(
            "GET", f"/api/v1/lookup?lon={points[1][0]}&lat={points[1][1]}")
        assert status == 200 and body["degraded"] is False and "x-gridsvc-degraded" not in headers
        with psycopg.connect(cluster.conninfo()) as conn:
            written = conn.execute(
                "SELECT summary FROM incident WHERE summary IN ('before', 'during', 'after') "
                "ORDER BY summary").fetchall()
            audited = conn.execute(
                "SELECT after->>'summary' FROM audit_log WHERE action = 'incident.create' "
                "AND after->>'summary' IN ('before', 'during', 'after') ORDER BY 1").fetchall()
    finally:
        out = ""
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            out = proc.communicate(timeout=60)[0]
        cluster.stop()
        shutil.rmtree(data, ignore_errors=True)

    # Nothing of the refused write, in the table or in the audit log; the others whole.
    assert written == audited == [("after",), ("before",)]
    statuses = Counter(s for _, s, _ in results)
    during = [r for r in results if went <= r[0] <= back]
    assert len(during) >= 20, f"too few lookups during the outage: {statuses}"
    assert statuses[500] == 0 and statuses[0] == 0, statuses
    assert statuses[200] >= 0.99 * len(results), statuses
    assert sum(d for _, s, d in during if s == 200) >= 0.9 * len(during)
    assert "Traceback" not in out, out[-3000:]
