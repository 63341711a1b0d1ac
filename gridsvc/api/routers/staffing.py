"""``/api/v1/staffing``: the staffing standard per beat, grid, police office and station."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import require
from gridsvc.api.fields import plan_query
from gridsvc.domain.accounts import Role
from gridsvc.services import staffing

router = APIRouter(
    prefix="/api/v1/staffing", tags=["staffing"], dependencies=[Depends(require(Role.viewer))])


@router.get("", summary="Staffing against the standard, per beat, grid, office and station")
async def staffing_report(
    request: Request,
    as_of: Annotated[date | None, Query(description="the plan in effect on this date")] = None,
    plan_id: plan_query("a plan, e.g. a draft; default: the one in effect on as_of") = None,
) -> dict[str, Any]:
    return await run_in_threadpool(lambda: staffing.staffing_report(
        request.app.state.engine, as_of, plan_id=plan_id))
