"""``/api/v1/incidents``: record incidents; each keeps the cells of its own time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal, require
from gridsvc.api.fields import BusinessId, crs_field, text
from gridsvc.domain.accounts import Role
from gridsvc.services import incidents

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


class IncidentIn(BaseModel):
    """A new incident. ``lon``/``lat`` are in ``crs`` (x first)."""

    model_config = ConfigDict(extra="forbid")

    occurred_at: datetime = Field(description="with its time zone, e.g. 2026-11-23T20:15+08:00")
    category: text(64, 1) = Field(examples=["盗窃"])
    summary: text(2000) | None = None
    lon: float = Field(allow_inf_nan=False)
    lat: float = Field(allow_inf_nan=False)
    crs: str = Field(**crs_field(default="4326",
                                 description="EPSG code, any pyproj CRS, gcj02 or bd09"))


@router.post("", status_code=201, summary="Record an incident, assigned to the cells of its time")
async def create(body: IncidentIn, request: Request,
                 principal: Annotated[Principal, Depends(require(Role.dispatcher))]
                 ) -> dict[str, Any]:
    made = await run_in_threadpool(
        lambda: incidents.create_incident(request.app.state.engine, actor=principal.name,
                                          **body.model_dump()))
    return jsonable_encoder(made)


@router.get("/{incident_id}", summary="One incident with the cells it had at its time",
            dependencies=[Depends(require(Role.viewer))])
async def get(incident_id: BusinessId, request: Request) -> dict[str, Any]:
    found = await run_in_threadpool(incidents.get_incident, request.app.state.engine, incident_id)
    return jsonable_encoder(found)
