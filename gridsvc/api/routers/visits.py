"""House visits (走访): record one (the phone page ``/m/visit`` queues them offline and sends
them here), list them. Thin: every route calls :mod:`gridsvc.services.visits`.

Grid workers (reporter) and officers (handler) record their own visits; a dispatcher or above
may record one for someone else. The engine is the request's, so a house or a visit outside
the caller's scope is as one that does not exist.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal, require
from gridsvc.api.fields import text
from gridsvc.api.routers.maps import viewer
from gridsvc.domain.accounts import Role
from gridsvc.services import visits

router = APIRouter(tags=["visits"])
Recorder = Annotated[Principal, Depends(require(Role.reporter))]
Viewer = Annotated[Principal, Depends(require(Role.viewer))]
VISIT_PAGE = Path(__file__).resolve().parent.parent / "pages" / "visit.html"


class VisitIn(BaseModel):
    house_id: text(64, 1) = Field(description="the house's business id")  # type: ignore[valid-type]
    visited_at: datetime = Field(description="the phone's clock, with its time zone")
    note: text(visits.MAX_NOTE) | None = None  # type: ignore[valid-type]
    lon: float | None = Field(default=None, description="the phone's fix, if it had one")
    lat: float | None = None
    crs: str = Field(default="4326", max_length=32,
                     description="the fix's CRS: WGS84 (4326) by default")
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    idempotency_key: text(100, 1) = Field(  # type: ignore[valid-type]
        description="made once by the sender; a resend returns the first visit")
    person_id: text(64, 1) | None = Field(default=None, description=(  # type: ignore[valid-type]
        "who visited: omit it to record your own visit; a dispatcher or above may name "
        "someone else; an account without a person (a service token) must name one"))


@router.post("/api/v1/visits", status_code=201, summary="Record a house visit (走访)")
async def record(body: VisitIn, request: Request, response: Response,
                 principal: Recorder) -> dict[str, Any]:
    """Answers the visit (201); the same idempotency key again answers the first visit with
    200. An unknown house (or one outside your scope) is a 422 on ``house_id``."""
    person_id = visits.visitor(principal.role, principal.person_id, body.person_id)
    own = person_id == principal.person_id and principal.person_pk is not None
    made, new = await run_in_threadpool(lambda: visits.record_visit(
        request.app.state.engine, house_id=body.house_id, visited_at=body.visited_at,
        key=body.idempotency_key, actor=principal.name,
        person_pk=principal.person_pk if own else None, person_id=None if own else person_id,
        account_id=principal.account_id, note=body.note, lon=body.lon, lat=body.lat,
        accuracy_m=body.accuracy_m, crs=body.crs))
    if not new:
        response.status_code = 200
    return made


@router.get("/api/v1/visits", summary="House visits, newest first")
async def list_visits(
    request: Request, principal: Viewer,
    person_id: Annotated[text(64) | None, Query()] = None,  # type: ignore[valid-type]
    house_id: Annotated[text(64) | None, Query()] = None,  # type: ignore[valid-type]
    first: Annotated[date | None, Query(description="first local day")] = None,
    last: Annotated[date | None, Query(description="last local day (included)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict[str, Any]]:
    """The visits of houses in your scope (and those you recorded), by person, house and
    days."""
    return await run_in_threadpool(lambda: visits.list_visits(
        request.app.state.engine, person_id=person_id, house_id=house_id, first=first,
        last=last, zone=request.app.state.settings.duty.zone, limit=limit, offset=offset))


@router.get("/m/visit", response_class=HTMLResponse, dependencies=[Depends(viewer)],
            summary="The phone page to record house visits (works offline)")
async def visit_page(request: Request) -> Response:
    """The houses of your area nearest first; a tap records a visit, kept on the phone until
    the server has it. An account without a person types whose visit it is."""
    principal: Principal = request.state.principal
    page = VISIT_PAGE.read_text(encoding="utf-8")
    if principal.person_id is not None:
        start = page.index('<div id="who">')
        end = page.index("</div>", start)
        page = (page[:start] + f'<div id="who" data-person="{escape(principal.person_id)}">'
                f"走访人 / visiting as: <b>{escape(principal.display_name or principal.name)}"
                f"</b> ({escape(principal.person_id)})" + page[end:])
    return HTMLResponse(page, headers={"Cache-Control": "private, no-store"})
