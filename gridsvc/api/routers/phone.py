"""The grid worker's phone: ``/m/report``, the report page (signed in by the session cookie,
like ``/me``). Its script files reports, their photos and reads "my events" through the events
API (``POST /api/v1/events`` with the ``Idempotency-Key`` the page made once per report,
``POST /api/v1/events/{id}/photos``, ``GET /api/v1/events?mine=true``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal
from gridsvc.api.routers.maps import viewer
from gridsvc.maps.report import MINE, report_page
from gridsvc.services import events as service

router = APIRouter(tags=["phone"])

#: The events pages' own scripts and styles (no data in them: served without a token).
EVENTS_STATIC = Path(__file__).resolve().parent.parent / "static" / "events"
#: What the phone pages share (the outbox script, the check-in and visit pages' stylesheet):
#: code and looks, no data, so served without a token like the events pages' own files.
PHONE_STATIC = Path(__file__).resolve().parent.parent / "static" / "phone"


@router.get("/m/report", response_class=HTMLResponse, dependencies=[Depends(viewer)],
            summary="The phone page to report an event (GPS or house, photo) and see mine")
async def report(request: Request) -> Response:
    principal: Principal = request.state.principal
    engine = request.app.state.engine

    def build() -> str:
        mine = service.list_events(engine, reporter_account_id=principal.account_id or 0,
                                   limit=MINE)["items"]
        return report_page(service.catalogue(engine), mine, principal.name)

    return HTMLResponse(await run_in_threadpool(build),
                        headers={"Cache-Control": "private, no-store"})


@router.get("/m/sw.js", include_in_schema=False)
async def service_worker() -> FileResponse:
    """The report page's service worker (code, no data: served without sign-in, like the
    page's other files). Served under ``/m/`` because a worker controls only the pages below
    its own path."""
    return FileResponse(EVENTS_STATIC / "sw.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})
