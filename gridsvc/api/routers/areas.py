"""``/api/v1/areas``: cells of the plan in effect, as GeoJSON."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import require
from gridsvc.domain.accounts import Role
from gridsvc.services import areas

router = APIRouter(
    prefix="/api/v1/areas", tags=["areas"], dependencies=[Depends(require(Role.viewer))])

Kind = Literal["town", "village", "grid", "station", "beat"]
GEOJSON = "application/geo+json"


@router.get("", summary="All cells of one kind as a GeoJSON FeatureCollection")
async def list_areas(
    request: Request,
    kind: Annotated[Kind, Query(description="town, village, grid, station or beat")],
    plan_id: Annotated[int | None, Query(description="a plan; default: the one in effect")] = None,
    as_of: Annotated[date | None, Query(description="the plan in effect on this date")] = None,
) -> JSONResponse:
    body = await run_in_threadpool(areas.feature_collection, request.app.state.engine, kind,
                                   plan_id=plan_id, as_of=as_of)
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/{kind}/{area_id}", summary="One cell as a GeoJSON Feature")
async def get_area(
    request: Request, kind: Kind, area_id: str,
    plan_id: int | None = None, as_of: date | None = None,
) -> JSONResponse:
    body = await run_in_threadpool(areas.feature, request.app.state.engine, kind, area_id,
                                   plan_id=plan_id, as_of=as_of)
    return JSONResponse(body, media_type=GEOJSON)
