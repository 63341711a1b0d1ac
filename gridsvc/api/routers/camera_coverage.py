"""``/api/v1/coverage/cameras``: what the cameras see, per grid and per compound, and the blind
spots (read-only, so viewers may see it)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import require
from gridsvc.domain.accounts import Role
from gridsvc.services import camera_coverage

router = APIRouter(
    prefix="/api/v1/coverage", tags=["coverage"], dependencies=[Depends(require(Role.viewer))])


@router.get("/cameras", summary="Camera coverage per grid and compound (blind spots as GeoJSON)")
async def cameras(
    request: Request,
    as_of: Annotated[date | None, Query(description="the plan in effect on this date")] = None,
) -> dict[str, Any]:
    return await run_in_threadpool(camera_coverage.camera_coverage_report,
                                   request.app.state.engine, as_of)
