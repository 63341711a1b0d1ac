"""The grid worker's phone: ``/m/report`` (the report page, signed in by the session cookie
like ``/me``), and the two calls its script makes: file a report (``POST /m/reports``, with
the ``Idempotency-Key`` the page made once for it) and read my events (``GET /m/reports``).

Both go through the events service on the app engine, so the database's policies decide what
a caller sees; a report is the caller's own (reporter role or higher).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal, require
from gridsvc.api.fields import CRS_LENGTH, CRS_PATTERN, ID_LENGTH, Text
from gridsvc.api.routers.maps import viewer
from gridsvc.domain.accounts import Role
from gridsvc.domain.events.catalogue import Grade
from gridsvc.domain.events.words import STATE_WORDS
from gridsvc.maps.report import report_page
from gridsvc.services import events as service

router = APIRouter(tags=["phone"])

#: How many of my events the page lists (newest first).
MINE = 50


class ReportIn(BaseModel):
    """A report as the page sends it: a point (``lon``, ``lat``, ``crs``) or a house."""

    category: Text = Field(min_length=1, max_length=ID_LENGTH)
    grade: Grade = Grade.general
    description: Text = Field(min_length=1, max_length=4000)
    parties: Text = Field(default="", max_length=4000)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    crs: Annotated[str, Field(max_length=CRS_LENGTH, pattern=CRS_PATTERN)] = "EPSG:4326"
    house: Text | None = Field(default=None, min_length=1, max_length=200)
    compound_id: Text | None = Field(default=None, min_length=1, max_length=ID_LENGTH)


IdempotencyKey = Annotated[str, Header(
    min_length=8, max_length=200, pattern="^[!-~]+$",
    description="made once per report by the page: a resend with it files nothing new")]


@router.get("/m/report", response_class=HTMLResponse, dependencies=[Depends(viewer)],
            summary="The phone page to report an event (GPS or house, photo) and see mine")
async def report(request: Request) -> Response:
    principal: Principal = request.state.principal
    engine = request.app.state.engine

    def build() -> str:
        return report_page(service.catalogue(engine), _mine(engine, principal))

    return HTMLResponse(await run_in_threadpool(build),
                        headers={"Cache-Control": "private, no-store"})


def _mine(engine: Any, principal: Principal) -> list[dict[str, Any]]:
    found = service.list_events(engine, state=None, grid_id=None, category=None, since=None,
                                until=None, overdue=None,
                                reporter_account_id=principal.account_id, limit=MINE,
                                offset=0)
    return found["items"]


@router.get("/m/reports", summary="My events (those I reported), newest first")
async def my_reports(request: Request,
                     principal: Annotated[Principal, Depends(require(Role.viewer))]
                     ) -> dict[str, Any]:
    engine = request.app.state.engine

    def read() -> list[dict[str, Any]]:
        names = {c["code"]: c["name"] for c in service.catalogue(engine)}
        return [{**e, "category_name": names.get(e["category"], e["category"]),
                 "state_words": STATE_WORDS.get(e["state"], e["state"])}
                for e in _mine(engine, principal)]

    return {"items": jsonable_encoder(await run_in_threadpool(read))}


@router.post("/m/reports", status_code=201,
             responses={200: {"description": "filed before with this key: the same event"}},
             summary="File a report as myself (the phone page's outbox sends it)")
async def file_report(request: Request, body: ReportIn, idempotency_key: IdempotencyKey,
                      principal: Annotated[Principal, Depends(require(Role.reporter))]
                      ) -> Response:
    data = body.model_dump(exclude_none=True)
    data["grade"] = body.grade.value
    if body.lon is None or body.lat is None:
        data.pop("lon", None)
        data.pop("lat", None)
        data.pop("crs", None)
    event, created = await run_in_threadpool(lambda: service.create_event(
        request.app.state.engine, data, actor=principal.name,
        account_id=principal.account_id, idempotency_key=idempotency_key))
    return JSONResponse(jsonable_encoder(event), status_code=201 if created else 200)
