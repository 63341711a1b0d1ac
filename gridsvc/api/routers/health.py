"""``/healthz``: the one route that needs no token."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gridsvc import __version__
from gridsvc.api.errors import RETRY_AFTER
from gridsvc.api.openapi import PUBLIC
from gridsvc.services.database import versions

log = logging.getLogger(__name__)
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
    """200 with the versions; 503 with ``Retry-After`` when the database does not answer, saying
    only "database unavailable" (anyone may ask: no socket path, host or driver message)."""
    try:
        found = await run_in_threadpool(versions, request.app.state.engine)
    except Exception as exc:  # the point of a health check is to report, not to raise
        request.app.state.db_watch.failed(exc)
        log.warning("health check: database unavailable: %s", exc)
        return JSONResponse({"status": "error", "detail": "database unavailable",
                             "problems": []}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER)})
    return JSONResponse({"status": "ok", "version": __version__, "database": found})
