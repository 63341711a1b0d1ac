"""``/api/v1/areas``: cells of the plan in effect, as GeoJSON."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import require
from gridsvc.api.fields import BusinessId, Kind, plan_query
from gridsvc.domain.accounts import Role
from gridsvc.services import areas

router = APIRouter(
    prefix="/api/v1/areas", tags=["areas"], dependencies=[Depends(require(Role.viewer))])


class GeoJSONResponse(JSONResponse):
    """JSON declared (and sent) as ``application/geo+json``."""

    media_type = "application/geo+json"


@router.get("", summary="All cells of one kind as a GeoJSON FeatureCollection",
            response_class=GeoJSONResponse)
async def list_areas(
    request: Request,
    kind: Annotated[Kind, Query(description="town, village, grid, station or beat")],
    plan_id: plan_query() = None,
    as_of: Annotated[date | None, Query(description="the plan in effect on this date")] = None,
) -> JSONResponse:
    body = await run_in_threadpool(areas.feature_collection, request.app.state.engine, kind,
                                   plan_id=plan_id, as_of=as_of)
    return GeoJSONResponse(body)


@router.get("/{kind}/{area_id}", summary="One cell as a GeoJSON Feature",
            response_class=GeoJSONResponse)
async def get_area(
    request: Request, kind: Kind, area_id: BusinessId,
    plan_id: plan_query() = None,
    as_of: Annotated[date | None, Query(description="the plan in effect on this date")] = None,
) -> JSONResponse:
    body = await run_in_threadpool(areas.feature, request.app.state.engine, kind, area_id,
                                   plan_id=plan_id, as_of=as_of)
    return GeoJSONResponse(body)
