"""``/api/v1/coverage``: coverage audits of the plan in effect (read-only, so viewers may see
them)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import require
from gridsvc.domain.accounts import Role
from gridsvc.services import coverage

router = APIRouter(
    prefix="/api/v1/coverage", tags=["coverage"], dependencies=[Depends(require(Role.viewer))])


@router.get("/offices", summary="Houses and residents within a 15-minute walk of a police office")
async def offices(
    request: Request,
    as_of: Annotated[date | None, Query(description="the plan in effect on this date")] = None,
    speed_kmh: Annotated[float, Query(gt=0, le=30, allow_inf_nan=False,
                                      description="walking speed (km/h); the walk is 15 "
                                                  "minutes at it")] = 4.5,
    along_roads: Annotated[bool, Query(description="walk along the road layer instead of in "
                                       "a straight line")] = False,
    propose_k: Annotated[int, Query(ge=0, le=coverage.MAX_PROPOSE_K, description="also propose "
                                    "new sites: the best k (MCLP) and the fewest (LSCP)")] = 0,
    snap_m: Annotated[float, Query(ge=0, le=coverage.MAX_SNAP_M, allow_inf_nan=False,
                                   description="along roads: join road ends within this many "
                                               "metres of another road")] = coverage.SNAP_M,
) -> dict[str, Any]:
    return await run_in_threadpool(coverage.office_coverage, request.app.state.engine, as_of,
                                   speed_kmh, along_roads, propose_k, snap_m)
