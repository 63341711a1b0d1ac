"""``/api/v1/fusion``: the fusion report of the plan in effect (read-only, so viewers may see
it: planners and station chiefs both need it, and it changes nothing)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import require
from gridsvc.api.fields import plan_query
from gridsvc.domain.accounts import Role
from gridsvc.services import fusion

router = APIRouter(
    prefix="/api/v1/fusion", tags=["fusion"], dependencies=[Depends(require(Role.viewer))])


@router.get("/report", summary="Grid x beat crosswalk and mismatches (findings as GeoJSON)")
async def report(
    request: Request,
    as_of: Annotated[date | None, Query(description="the plan in effect on this date")] = None,
    sliver_m2: Annotated[float, Query(ge=0, allow_inf_nan=False,
                                      description="gaps and overlaps under this area (m²) are "
                                                  "reported as slivers")]
    = fusion.DEFAULT_SLIVER_M2,
    plan_id: plan_query("a plan, e.g. a draft; default: the one in effect on as_of") = None,
) -> dict[str, Any]:
    return await run_in_threadpool(lambda: fusion.fusion_report(
        request.app.state.engine, as_of, sliver_m2, plan_id=plan_id))
