"""``/healthz``: the one route that needs no token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gridsvc import __version__
from gridsvc.api.openapi import PUBLIC
from gridsvc.services.database import versions

router = APIRouter(tags=["health"])


HEALTH = {"type": "object", "required": ["status"], "properties": {
    "status": {"type": "string", "enum": ["ok", "error"]}}}


@router.get("/healthz", summary="Liveness and database check (no token needed)",
            openapi_extra=PUBLIC, responses={
                200: {"description": "the service and its database are up",
                      "content": {"application/json": {"schema": HEALTH}}},
                503: {"description": "the database is unavailable",
                      "content": {"application/json": {"schema": HEALTH}}}})
async def healthz(request: Request) -> JSONResponse:
    try:
        found = await run_in_threadpool(versions, request.app.state.engine)
    except Exception as exc:  # the point of a health check is to report, not to raise
        return JSONResponse({"status": "error", "detail": f"database: {exc}"}, status_code=503)
    return JSONResponse({"status": "ok", "version": __version__, "database": found})
