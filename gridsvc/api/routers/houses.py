"""``/api/v1/houses``: page through a village's houses; number its new ones (planners)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal, require
from gridsvc.api.fields import BIGINT_MAX, ID_LENGTH, Text
from gridsvc.domain.accounts import Role
from gridsvc.services import houses

router = APIRouter(prefix="/api/v1/houses", tags=["houses"])

VillageId = Annotated[Text, Query(min_length=1, max_length=ID_LENGTH,
                                  description="the village's business id")]


@router.get("", summary="One page of a village's houses, in register order",
            dependencies=[Depends(require(Role.dispatcher))])
async def list_houses(
    request: Request,
    village_id: VillageId,
    limit: Annotated[int, Query(ge=1, le=houses.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=BIGINT_MAX)] = 0,
) -> dict[str, Any]:
    page = await run_in_threadpool(houses.list_houses, request.app.state.engine, village_id,
                                   limit, offset)
    return jsonable_encoder(page)


@router.post("/numbering", summary="Number a village's unnumbered houses (dry run by default)")
async def numbering(
    request: Request,
    # Numbering sees a whole village's houses: only a planner who sees every row may.
    principal: Annotated[Principal, Depends(require(Role.planner, scope_all=True))],
    village_id: VillageId,
    commit: Annotated[bool, Query(description="write the numbers; false: only report")] = False,
) -> dict[str, Any]:
    engine = request.app.state.engine
    if commit:
        changes = await run_in_threadpool(
            lambda: houses.apply_numbering(engine, village_id, actor=principal.name))
    else:
        changes = await run_in_threadpool(houses.plan_numbering, engine, village_id)
    return {"village_id": village_id, "committed": commit, "changes": changes}
