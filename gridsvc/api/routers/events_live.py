"""``/maps/events``: the command centre's live events map and its feed.

The page shows the open events the caller may see and the day's summary per grid; its
script then listens to ``/maps/events/stream``, server-sent events fed by
:func:`gridsvc.services.events.changes_since`: the stream polls it every
:data:`POLL_SECONDS` and sends each transition as an ``event: change`` whose ``id`` is the
transition's, so a browser that reconnects (``Last-Event-ID``) resumes where it stopped. The
stream ends when the client goes (the poll loop checks, and the response cancels it), and
when the caller's session or token ends (checked every :data:`RECHECK_SECONDS`: a signed-out
wall screen stops receiving).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, Response
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import secret_from
from gridsvc.api.routers.maps import viewer
from gridsvc.db import rls
from gridsvc.errors import NotFound
from gridsvc.maps.events_live import live_page, marker, summary_html
from gridsvc.services import accounts, areas
from gridsvc.services import events as service

router = APIRouter(prefix="/maps/events", tags=["maps"])

#: How often the stream asks the database for new changes.
POLL_SECONDS = 2.0
#: How often a running stream checks that its caller is still signed in.
RECHECK_SECONDS = 60.0
#: At most this many open events on the page (the newest), and changes per poll.
MAX_EVENTS = 5000
BATCH = 500
#: Grids outlined under the markers, at most (more: none, the page stays light).
MAX_OUTLINES = 2000
#: Days are counted in China's time, as the daily summary does.
ZONE = ZoneInfo("Asia/Shanghai")


@router.get("", response_class=HTMLResponse, dependencies=[Depends(viewer)],
            summary="Live map of open events (by state, overdue ringed) and today's summary "
                    "per grid")
async def page(request: Request, day: Annotated[date | None, Query(
        description="the summary's day (default: today, Asia/Shanghai)")] = None,
        part: Annotated[Literal["page", "summary"], Query(
            description="summary: only the day's summary (the page refreshes it with this)")]
        = "page") -> Response:
    engine = request.app.state.engine
    shown = day or datetime.now(ZONE).date()

    def build() -> str:
        if part == "summary":
            return summary_html(service.daily_summary(engine, shown, level="grid"),
                                shown.isoformat())
        # The cursor first: a change made while the list is read is sent again, and a marker
        # put twice is the same marker.
        after = service.latest_change_id(engine)
        events = service.list_events(engine, open_only=True, limit=MAX_EVENTS)["items"]
        summary = service.daily_summary(engine, shown, level="grid")
        try:
            grids = areas.feature_collection(engine, "grid")
        except NotFound:  # no plan in effect yet: events without outlines
            grids = None
        if grids is not None and len(grids["features"]) > MAX_OUTLINES:
            grids = None  # a city: the coverage map (vector tiles) is the place for cells
        return live_page(events, summary, shown.isoformat(), after, grids)

    return HTMLResponse(await run_in_threadpool(build),
                        headers={"Cache-Control": "private, no-store"})


@router.get("/stream", include_in_schema=False, dependencies=[Depends(viewer)])
async def stream(request: Request, after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
                 last_event_id: Annotated[str | None, Header(max_length=20)] = None
                 ) -> EventSourceResponse:
    cursor = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
    return EventSourceResponse(_feed(request, cursor, request.state.principal.account_id),
                               ping=15, headers={"Cache-Control": "no-store"})


async def _signed_in(request: Request) -> bool:
    """Whether the stream's secret still signs its caller in (not revoked, not expired)."""
    secret = secret_from(request)
    if secret and request.app.state.token_cache.get(secret) is not None:
        return True
    found = await run_in_threadpool(accounts.authenticate, request.app.state.system_engine,
                                    secret or "")
    return found is not None


async def _feed(request: Request, after: int, account_id: int | None
                ) -> AsyncIterator[dict[str, Any]]:
    """Changes after ``after``, as server-sent events, until the client goes or is signed
    out (then one ``event: signed-out`` ends the stream)."""
    rls.current_account.set(account_id)  # each poll's transaction sees the caller's scope
    engine = request.app.state.engine
    loop = asyncio.get_running_loop()
    checked = loop.time()
    while not await request.is_disconnected():
        if loop.time() - checked > RECHECK_SECONDS:
            if not await _signed_in(request):
                yield {"event": "signed-out", "data": "sign in again"}
                return
            checked = loop.time()
        changes = await run_in_threadpool(service.changes_since, engine, after, BATCH)
        for change in changes:
            after = int(change["id"])
            body = {**marker(change), "action": change.get("action"),
                    "at": str(change.get("at"))}
            yield {"event": "change", "id": str(after),
                   "data": json.dumps(body, ensure_ascii=False)}
        if len(changes) < BATCH:
            await asyncio.sleep(POLL_SECONDS)
