"""``/api/v1/events``: report events, follow them through the loop, and the figures.

Roles: reporting and attaching photos needs ``reporter`` (a grid worker); moving an event along
the loop and correcting it ``handler`` (an officer, a station, a town department); editing the
catalogue, routing table and time limits ``admin``; reading ``viewer``. The database's policies
decide which events a caller sees: those of their scope's cells and those they reported.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal, require
from gridsvc.api.fields import BIGINT_MAX, Id, crs_field, text
from gridsvc.domain.accounts import Role
from gridsvc.services import events

router = APIRouter(prefix="/api/v1/events", tags=["events"])

EventId = Annotated[int, PathParam(ge=1, le=BIGINT_MAX, description="the event's id")]
PhotoId = Annotated[int, PathParam(ge=1, le=BIGINT_MAX, description="the photo's id")]
GradeName = Literal["general", "major", "serious", "urgent", "一般", "较大", "重大", "紧急"]
StateName = Literal["reported", "accepted", "rejected", "dispatched", "in_hand", "returned",
                    "handled", "verified", "closed"]
ActionName = Literal["accept", "reject", "dispatch", "start", "return", "handle", "verify",
                     "reopen", "close", "escalate", "reroute"]
CellKind = Literal["town", "village", "grid", "station", "beat"]
Category = text(64, 1)
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
#: An idempotency key: printable ASCII, as HTTP headers carry it.
KEY_PATTERN = "^[!-~]+$"


class EventIn(BaseModel):
    """A report. Say where with ``lon``/``lat`` (in ``crs``, x first), or ``house`` (as a
    caller says it: 东灌底村203号), or ``compound_id``."""

    model_config = ConfigDict(extra="forbid")

    category: Category = Field(examples=["dispute.neighbour"])
    grade: GradeName = "general"
    description: text(events.MAX_TEXT, 1) = Field(examples=["两户因排水沟发生争吵"])
    parties: text(events.MAX_TEXT) | None = None
    lon: float | None = Field(default=None, allow_inf_nan=False)
    lat: float | None = Field(default=None, allow_inf_nan=False)
    crs: str = Field(**crs_field(default="4326",
                                 description="EPSG code, any pyproj CRS, gcj02 or bd09"))
    house: text(200, 1) | None = None
    compound_id: Id | None = None
    occurred_at: datetime | None = Field(default=None, description="with its time zone")


class EventEdit(BaseModel):
    """A correction of an open event; a new category or grade routes it again."""

    model_config = ConfigDict(extra="forbid")

    category: Category | None = None
    grade: GradeName | None = None
    description: text(events.MAX_TEXT, 1) | None = None
    parties: text(events.MAX_TEXT) | None = None
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class TransitionIn(BaseModel):
    """A step of the loop. ``reject``, ``return``, ``reopen`` and ``escalate`` need a
    ``reason`` (for a rejection: why, and where to go instead)."""

    model_config = ConfigDict(extra="forbid")

    action: ActionName
    note: text(events.MAX_TEXT) | None = None
    reason: text(events.MAX_TEXT) | None = None
    version: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="the version read; a newer one is a 409")
    attachments: list[Annotated[int, Field(ge=1, le=BIGINT_MAX)]] = Field(
        default_factory=list, max_length=50, description="ids of this event's photos")


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: text(200, 1)
    description: text(2000) = ""
    active: bool = True


class LimitIn(BaseModel):
    """Hours an event may stay in ``state``; ``hours`` null drops the limit."""

    model_config = ConfigDict(extra="forbid")

    category: text(64, 1) = Field(description="a category code or prefix; * for any")
    grade: Literal["general", "major", "serious", "urgent"]
    state: Literal["reported", "accepted", "dispatched", "in_hand", "returned", "handled",
                   "verified"]
    hours: float | None = Field(gt=0, le=24 * 365, allow_inf_nan=False)


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: text(64, 1)
    level: Literal["*", "grid", "village", "town", "county"]
    min_grade: Literal["general", "major", "serious", "urgent"] = "general"
    unit_kind: Literal["grid", "beat", "village", "town", "station", "county"]
    unit_name: text(200, 1)
    roles: list[Literal["officer", "auxiliary", "grid_worker", "volunteer"]] = Field(
        default_factory=list, max_length=4)
    also: list[tuple[Literal["grid", "beat", "village", "town", "station", "county"],
                     list[Literal["officer", "auxiliary", "grid_worker", "volunteer"]]]] = Field(
        default_factory=list, max_length=6)


def _encode(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _fast_json(value: Any, status_code: int = 200) -> Response:
    """JSON as ``jsonable_encoder`` would write it (times in ISO 8601), at a fraction of its
    cost for a page of events (bench/events.py: a grid's list)."""
    return Response(json.dumps(value, ensure_ascii=False, default=_encode),
                    status_code=status_code, media_type="application/json")


def _engine(request: Request) -> Any:
    return request.app.state.engine


def _photo_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir) / "event-photos"


def _near_m(request: Request) -> float:
    return float(request.app.state.settings.events_near_boundary_m)


def _calendar(request: Request) -> Any:
    return events.calendar(request.app.state.settings)


@router.get("/catalogue", summary="The categories (two levels)",
            dependencies=[Depends(require(Role.viewer))])
async def catalogue(request: Request, include_inactive: bool = False) -> list[dict[str, Any]]:
    return await run_in_threadpool(lambda: events.catalogue(
        _engine(request), include_inactive=include_inactive))


@router.put("/catalogue/{code}", summary="Add or change a category (admin)")
async def put_category(code: Annotated[str, PathParam(min_length=1, max_length=64,
                                                      pattern="^[A-Za-z0-9_.]+$")],
                       body: CategoryIn, request: Request,
                       principal: Annotated[Principal, Depends(require(Role.admin))]
                       ) -> dict[str, Any]:
    return await run_in_threadpool(lambda: events.put_category(
        _engine(request), {"code": code, **body.model_dump()}, actor=principal.name))


@router.get("/limits", summary="The time limits per category, grade and step",
            dependencies=[Depends(require(Role.viewer))])
async def get_limits(request: Request) -> list[dict[str, Any]]:
    return await run_in_threadpool(events.limits, _engine(request))


@router.put("/limits", summary="Set or drop one time limit (admin)")
async def put_limit(body: LimitIn, request: Request,
                    principal: Annotated[Principal, Depends(require(Role.admin))]
                    ) -> list[dict[str, Any]]:
    return await run_in_threadpool(lambda: events.set_limit(
        _engine(request), body.category, body.grade, body.state, body.hours,
        actor=principal.name))


@router.get("/rules", summary="The routing table", dependencies=[Depends(require(Role.viewer))])
async def get_rules(request: Request) -> list[dict[str, Any]]:
    return await run_in_threadpool(events.rules, _engine(request))


@router.put("/rules", summary="Replace the routing table (admin)")
async def put_rules(body: Annotated[list[RuleIn], Field(max_length=500)], request: Request,
                    principal: Annotated[Principal, Depends(require(Role.admin))]
                    ) -> list[dict[str, Any]]:
    rows = [r.model_dump() for r in body]
    return await run_in_threadpool(lambda: events.replace_rules(
        _engine(request), rows, actor=principal.name))


@router.post("", status_code=201, summary="Report an event (a retry with the same "
             "Idempotency-Key answers the first one, 200)",
             responses={200: {"description": "the event reported before with this key"}})
async def create(body: EventIn, request: Request,
                 principal: Annotated[Principal, Depends(require(Role.reporter))],
                 idempotency_key: Annotated[str | None, Header(
                     min_length=1, max_length=128, pattern=KEY_PATTERN,
                     description="a key the client makes per report; a retry sends it again")]
                 = None) -> Any:
    made, created = await run_in_threadpool(lambda: events.create_event(
        _engine(request), body.model_dump(), actor=principal.name,
        account_id=principal.account_id, idempotency_key=idempotency_key,
        dispatch=request.app.state.dispatch, lookup=request.app.state.lookup,
        near_boundary_m=_near_m(request),
        working_hours=_calendar(request)))
    return _fast_json(made, 201 if created else 200)


@router.get("", summary="Events the caller may see, newest first",
            dependencies=[Depends(require(Role.viewer))])
async def list_events(
    request: Request,
    state: Annotated[list[StateName] | None, Query(max_length=9)] = None,
    grid_id: Annotated[Id | None, Query()] = None,
    village_id: Annotated[Id | None, Query()] = None,
    category: Annotated[Category | None, Query(description="a code; its sub-categories too")]
    = None,
    since: Annotated[datetime | None, Query(description="reported at or after")] = None,
    until: Annotated[datetime | None, Query(description="reported before")] = None,
    overdue: bool | None = None,
    mine: Annotated[bool, Query(description="only those I reported")] = False,
    open_only: Annotated[bool, Query(alias="open", description="only open events")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    principal: Principal = request.state.principal
    found = await run_in_threadpool(lambda: events.list_events_json(
        _engine(request), state=state, grid_id=grid_id, village_id=village_id,
        category=category, since=since, until=until, overdue=overdue,
        reporter_account_id=(principal.account_id or 0) if mine else None,
        open_only=open_only, limit=limit, offset=offset))
    return Response(found, media_type="application/json")


@router.get("/overdue", summary="Open events past their deadline, longest overdue first",
            dependencies=[Depends(require(Role.viewer))])
async def overdue(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> dict[str, Any]:
    return jsonable_encoder(await run_in_threadpool(lambda: events.overdue(
        _engine(request), limit=limit, offset=offset)))


@router.get("/figures", summary="按期处置率, 结案率, 化解率 per cell, category or period",
            dependencies=[Depends(require(Role.viewer))])
async def figures(request: Request,
                  by: Literal["town", "village", "grid", "station", "beat", "category", "day",
                              "month"] = "grid",
                  since: Annotated[date | None, Query(description="reported on or after")]
                  = None,
                  until: Annotated[date | None, Query(description="reported before")] = None,
                  category: Annotated[Category | None, Query()] = None) -> list[dict[str, Any]]:
    return jsonable_encoder(await run_in_threadpool(lambda: events.figures(
        _engine(request), by=by, since=since, until=until, category=category)))


@router.get("/summary", summary="The daily summary per cell: 上报, 化解, 在办, 超期",
            dependencies=[Depends(require(Role.viewer))])
async def summary(request: Request,
                  day: Annotated[date | None, Query(description="default: today "
                                                            "(Asia/Shanghai)")] = None,
                  level: CellKind = "grid") -> list[dict[str, Any]]:
    return jsonable_encoder(await run_in_threadpool(lambda: events.daily_summary(
        _engine(request), day, level=level)))


@router.get("/changes", summary="Transitions after an id, in order (a live feed: poll with the "
            "last id seen)", dependencies=[Depends(require(Role.viewer))])
async def changes(request: Request,
                  after: Annotated[int, Query(ge=0, le=BIGINT_MAX)] = 0,
                  limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict[str, Any]]:
    return jsonable_encoder(await run_in_threadpool(
        events.changes_since, _engine(request), after, limit))


@router.get("/{event_id}", summary="One event with its full history",
            dependencies=[Depends(require(Role.viewer))])
async def get_event(event_id: EventId, request: Request) -> dict[str, Any]:
    return jsonable_encoder(await run_in_threadpool(events.get_event, _engine(request),
                                                    event_id))


@router.patch("/{event_id}", summary="Correct an open event (a new category or grade routes "
              "it again)")
async def edit(event_id: EventId, body: EventEdit, request: Request,
               principal: Annotated[Principal, Depends(require(Role.handler))]
               ) -> dict[str, Any]:
    return jsonable_encoder(await run_in_threadpool(lambda: events.update_event(
        _engine(request), event_id, actor=principal.name, account_id=principal.account_id,
        working_hours=_calendar(request), **body.model_dump())))


@router.post("/{event_id}/transitions", summary="Move an event along the loop (409 when the "
             "action is not allowed in its state)")
async def transition(event_id: EventId, body: TransitionIn, request: Request,
                     principal: Annotated[Principal, Depends(require(Role.handler))]
                     ) -> dict[str, Any]:
    return jsonable_encoder(await run_in_threadpool(lambda: events.transition(
        _engine(request), event_id, body.action, actor=principal.name,
        account_id=principal.account_id, note=body.note, reason=body.reason,
        version=body.version, attachments=body.attachments,
        working_hours=_calendar(request))))


@router.post("/{event_id}/photos", status_code=201, summary="Attach a photo (JPEG, PNG or "
             "WebP; checked by its bytes)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 t: {"schema": {"type": "string", "format": "binary"}} for t in PHOTO_TYPES}}})
async def add_photo(event_id: EventId, request: Request,
                    principal: Annotated[Principal, Depends(require(Role.reporter))]
                    ) -> dict[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in PHOTO_TYPES:
        raise HTTPException(415, f"send the photo as the body with Content-Type one of "
                                 f"{', '.join(PHOTO_TYPES)}")
    limit = request.app.state.settings.events_photo_max_bytes
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise HTTPException(413, f"the photo is larger than {limit:,} bytes")
    return jsonable_encoder(await run_in_threadpool(lambda: events.add_photo(
        _engine(request), event_id, bytes(data), actor=principal.name,
        account_id=principal.account_id, photo_dir=_photo_dir(request), max_bytes=limit)))


@router.get("/{event_id}/photos/{photo_id}", summary="A photo of an event",
            dependencies=[Depends(require(Role.viewer))], response_class=FileResponse,
            responses={200: {"description": "the image", "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in PHOTO_TYPES}}})
async def get_photo(event_id: EventId, photo_id: PhotoId, request: Request) -> FileResponse:
    media, path = await run_in_threadpool(lambda: events.get_photo(
        _engine(request), event_id, photo_id, photo_dir=_photo_dir(request)))
    return FileResponse(path, media_type=media)
