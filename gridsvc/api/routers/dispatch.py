"""``/api/v1/dispatch``: what a caller said, to the house and who answers for it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal, require
from gridsvc.api.fields import Text
from gridsvc.domain.accounts import Role

router = APIRouter(prefix="/api/v1", tags=["dispatch"])


@router.get("/dispatch", summary="Find a numbered house the way callers say it")
async def dispatch(
    request: Request,
    principal: Annotated[Principal, Depends(require(Role.dispatcher))],
    q: Annotated[Text, Query(min_length=1, max_length=200,
                            description="what the caller said, e.g. 东灌底村203号着火了")],
    limit: Annotated[int, Query(ge=1, le=20, description="candidates to return")] = 5,
) -> dict[str, Any]:
    """The best match (house, point in CGCS2000 and GCJ-02, grid, beat, village, town, the
    officers and grid workers with phones, the nearest police office, rental status and star
    rating, incidents within 100 m in the last 90 days) and the other candidates, each with a
    score and the reasons for it. An unknown village gives the closest villages instead.
    Houses, people and incidents outside the caller's scope are never in the answer."""
    answer = await run_in_threadpool(request.app.state.dispatch.dispatch, q, limit,
                                     principal.scope)
    return jsonable_encoder(answer)
