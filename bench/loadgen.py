"""A bounded, open-loop HTTP/1.1 load generator on asyncio raw sockets.

Requests are *scheduled* at a fixed rate (request ``i`` at ``start + i / rate``), spread round
robin over a few keep-alive connections (one request in flight per connection, no pipelining, as
a browser or an HTTP client pool does). A request is sent at its scheduled time, or as soon as its
connection is free when the server is behind, and its latency is measured from the *scheduled*
time: time spent waiting for a busy connection counts, so an overloaded server shows long
latencies instead of a politely reduced request rate (no coordinated omission; the model of
Gil Tene's wrk2).

The run is bounded: a warm-up (not recorded), then a measured window; nothing is sent after the
window ends, in-flight requests get ``timeout`` seconds to finish. Requests still waiting for a
connection at the end are counted as ``backlog``.

Used by ``bench/assign.py``; also runs on its own::

    .venv/bin/python bench/loadgen.py http://127.0.0.1:8000/healthz --rate 1000 --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import selectors
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np


@dataclass
class LoadResult:
    """What one run measured. Latencies are in seconds, from each request's scheduled time."""

    rate: float
    duration: float
    connections: int
    latencies: np.ndarray = field(repr=False)
    completed: int  # responses received inside the measured window (wall clock)
    errors: int  # non-2xx, broken connections, timeouts (measured window)
    backlog: int  # scheduled in the window but never sent (no free connection before the end)
    cpu_ours: float = float("nan")  # filled in by callers that measure CPU use (in cores)
    cpu_others: float = float("nan")

    @property
    def achieved(self) -> float:
        """Responses per second received during the measured window."""
        return self.completed / self.duration

    def pct(self, q: float) -> float:
        """Latency percentile ``q`` (0-100) in milliseconds, NaN when nothing was measured."""
        if not len(self.latencies):
            return float("nan")
        return float(np.percentile(self.latencies, q)) * 1e3

    @property
    def max_ms(self) -> float:
        return float(self.latencies.max()) * 1e3 if len(self.latencies) else float("nan")


def build_requests(host: str, port: int, targets: Sequence[str],
                   headers: dict[str, str] | None = None) -> list[bytes]:
    """Raw HTTP/1.1 GET requests (keep-alive) for each path-with-query in ``targets``."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return [(f"GET {t} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}"
             "Accept: application/json\r\n\r\n").encode() for t in targets]


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status code. Only Content-Length bodies are supported."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value)
        elif lname == b"transfer-encoding" and b"chunked" in value.lower():
            raise ValueError("chunked responses are not supported")
    if length:
        await reader.readexactly(length)
    return status


async def _connection(host: str, port: int, requests: Sequence[bytes], slots: range,
                      start: float, rate: float, measure_from: float, end: float,
                      timeout: float, out: dict) -> None:
    """One keep-alive connection working through its scheduled slots in order."""
    loop = asyncio.get_running_loop()
    clock = loop.time
    reader = writer = None
    lat, done_at = out["lat"], out["done_at"]
    n_req = len(requests)
    try:
        for i in slots:
            scheduled = start + i / rate
            now = clock()
            if now >= end:
                if scheduled >= measure_from:
                    out["backlog"] += len(range(i, slots.stop, slots.step))
                return
            if scheduled > now:
                await asyncio.sleep(scheduled - now)
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(host, port), timeout)
                writer.write(requests[i % n_req])
                status = await asyncio.wait_for(_read_response(reader), timeout)
                ok = 200 <= status < 300
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                ok = False
                if writer is not None:
                    writer.close()
                reader = writer = None
            finished = clock()
            if scheduled >= measure_from:
                if ok:
                    lat.append(finished - scheduled)
                else:
                    out["errors"] += 1
            if ok and measure_from <= finished < end:
                done_at.append(finished)
    finally:
        if writer is not None:
            writer.close()


async def run_load(url: str, requests: Sequence[bytes] | None = None, *, rate: float,
                   duration: float = 10.0, warmup: float = 2.0, connections: int = 4,
                   timeout: float = 5.0) -> LoadResult:
    """Load ``url``'s server at ``rate`` requests/s for ``warmup + duration`` seconds.

    Parameters
    ----------
    url
        Where to connect (``http://host:port``); its path is the request when ``requests`` is
        None.
    requests
        Raw requests (see :func:`build_requests`), used in turn.
    rate
        Target requests per second over all connections.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if requests is None:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        requests = build_requests(host, port, [target or "/"])
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    measure_from = start + warmup
    end = measure_from + duration
    total = int((warmup + duration) * rate)
    out: dict = {"lat": [], "done_at": [], "errors": 0, "backlog": 0}
    tasks = [
        asyncio.create_task(_connection(host, port, requests, range(c, total, connections),
                                        start, rate, measure_from, end, timeout, out))
        for c in range(connections)
    ]
    await asyncio.gather(*tasks)
    return LoadResult(rate, duration, connections, np.asarray(out["lat"], dtype=float),
                      len(out["done_at"]), out["errors"], out["backlog"])


def load(url: str, requests: Sequence[bytes] | None = None, **kwargs: object) -> LoadResult:
    """:func:`run_load` in a fresh event loop with a microsecond-resolution timer.

    The default selector (epoll) sleeps in whole milliseconds, which alone would add up to a
    millisecond to every measured latency; ``select`` takes microseconds, and with a handful of
    sockets costs nothing more.
    """
    with asyncio.Runner(loop_factory=_precise_loop) as runner:
        return runner.run(run_load(url, requests, **kwargs))  # type: ignore[arg-type]


def _precise_loop() -> asyncio.AbstractEventLoop:
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


async def _null_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = b'{"ok":true}'
    reply = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
             + str(len(body)).encode() + b"\r\n\r\n" + body)
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(reply)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def serve_null(port: int) -> None:
    """A trivial asyncio HTTP server (fixed reply): calibrates the generator's own floor."""
    server = await asyncio.start_server(_null_handler, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url", help="http://host:port/path?query, or 'null:PORT' to serve a "
                               "trivial server instead")
    p.add_argument("--rate", type=float, nargs="+", default=[1000.0])
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=4)
    a = p.parse_args()
    if a.url.startswith("null:"):
        asyncio.run(serve_null(int(a.url[5:])))
        return
    for rate in a.rate:
        r = load(a.url, rate=rate, duration=a.duration, warmup=a.warmup,
                 connections=a.connections)
        print(f"rate {rate:>7.0f}/s  achieved {r.achieved:>7.0f}/s  p50 {r.pct(50):7.2f} ms  "
              f"p99 {r.pct(99):7.2f} ms  max {r.max_ms:7.2f} ms  errors {r.errors}  "
              f"backlog {r.backlog}")


if __name__ == "__main__":
    main()
