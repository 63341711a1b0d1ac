"""The peer of gridsvc's lookup endpoint: a plain FastAPI app asking PostGIS on every request.

``GET /lookup?lon=&lat=`` runs ONE query against the gridsvc database, the usual way to write
this endpoint::

    SELECT kind, business_id FROM area
    WHERE plan_id = <current plan> AND ST_Covers(geom, ST_SetSRID(ST_Point(lon, lat), 4490))

(the GiST index on ``area.geom`` answers it), and returns per kind the lowest covering id (the
tie-break of gridsvc). No auth, no people, no nearest office: it does less than gridsvc does.
The current plan is read once at start-up.

Two ways to reach the database, chosen by ``BENCH_PLAIN_MODE``:

- ``async`` (default): an ``async def`` endpoint and a small pool of psycopg ``AsyncConnection``
  objects (an ``asyncio.Queue``; psycopg_pool is not a dependency of the project);
- ``sync``: a ``def`` endpoint (run in Starlette's thread pool) on a SQLAlchemy engine and its
  connection pool.

Run it like gridsvc serves, one uvicorn worker::

    BENCH_PG_CONNINFO="host=... port=5432 user=gridsvc dbname=gridsvc" \\
        .venv/bin/python bench/plain_postgis_app.py --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import FastAPI, Query

CURRENT_PLAN = """
SELECT id FROM plan WHERE status = 'active' AND effective_from <= current_date
ORDER BY effective_from DESC, id DESC LIMIT 1
"""
LOOKUP = """
SELECT kind, business_id FROM area
WHERE plan_id = %(plan)s AND ST_Covers(geom, ST_SetSRID(ST_Point(%(lon)s, %(lat)s), 4490))
ORDER BY kind, business_id COLLATE "C"
"""
POOL_SIZE = 4


def _cells(rows: list[Any]) -> dict[str, str]:
    """Per kind, the lowest covering business id (rows come sorted): where cells overlap or a
    point is on a shared edge, the same tie-break as gridsvc."""
    cells: dict[str, str] = {}
    for kind, business_id in rows:
        cells.setdefault(kind, business_id)
    return cells


def create_app(conninfo: str, mode: str = "async") -> FastAPI:
    """The app. ``conninfo`` is a libpq connection string of the gridsvc database."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with psycopg.connect(conninfo) as conn:
            row = conn.execute(CURRENT_PLAN).fetchone()
        if row is None:
            raise RuntimeError("no active plan: load the demo town first")
        state["plan"] = row[0]
        if mode == "sync":
            from sqlalchemy import create_engine

            state["engine"] = create_engine("postgresql+psycopg://", pool_size=POOL_SIZE,
                                            creator=lambda: psycopg.connect(conninfo))
            yield
            state["engine"].dispose()
            return
        pool: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()
        for _ in range(POOL_SIZE):
            pool.put_nowait(await psycopg.AsyncConnection.connect(conninfo, autocommit=True))
        state["pool"] = pool
        try:
            yield
        finally:
            while not pool.empty():
                await pool.get_nowait().close()

    app = FastAPI(title="plain PostGIS lookup", lifespan=lifespan)

    if mode == "sync":
        from sqlalchemy import text

        lookup_sql = text(LOOKUP.replace("%(plan)s", ":plan").replace("%(lon)s", ":lon")
                          .replace("%(lat)s", ":lat"))

        @app.get("/lookup")
        def lookup_sync(lon: float = Query(...), lat: float = Query(...)) -> dict[str, Any]:
            with state["engine"].connect() as conn:
                rows = conn.execute(lookup_sql, {"plan": state["plan"], "lon": lon,
                                                 "lat": lat}).all()
            return {"lon": lon, "lat": lat, "cells": _cells(rows)}
    else:

        @app.get("/lookup")
        async def lookup_async(lon: float = Query(...), lat: float = Query(...)
                               ) -> dict[str, Any]:
            pool = state["pool"]
            conn = await pool.get()
            try:
                cur = await conn.execute(LOOKUP, {"plan": state["plan"], "lon": lon, "lat": lat})
                rows = await cur.fetchall()
            finally:
                pool.put_nowait(conn)
            return {"lon": lon, "lat": lat, "cells": _cells(rows)}

    return app


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser(description="plain PostGIS lookup endpoint (bench peer)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    a = p.parse_args()
    app = create_app(os.environ["BENCH_PG_CONNINFO"], os.environ.get("BENCH_PLAIN_MODE", "async"))
    # The same uvicorn settings as ``gridsvc serve``: one worker, log level info.
    uvicorn.run(app, host=a.host, port=a.port, log_level="info")


if __name__ == "__main__":
    main()
