"""Duty routes: who is on duty now, shifts, patrol check-ins and coverage, responsibility
fields, the phone check-in page and the duty map pages. Thin: every route calls a service.

Roles (until accounts land, today's tokens): viewers read; check-ins need
:data:`CHECK_IN_ROLE`; planners (the station's duty office) set groups, rotations, exceptions,
rounds and fields. Phone numbers are shown to dispatchers and above.
"""

from __future__ import annotations

import gzip
import math
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from gridsvc.api.auth import Principal, require
from gridsvc.api.routers.lookup import hide_phones
from gridsvc.api.routers.maps import viewer
from gridsvc.domain.accounts import Role
from gridsvc.domain.duty.patrol import who_checks_in
from gridsvc.errors import InvalidInput, Problem
from gridsvc.services import duty, duty_maps, fields, patrol
from gridsvc.services import onduty as onduty_service

#: Officers and auxiliaries check in (the handler role: they handle what their beat brings).
CHECK_IN_ROLE = Role.handler
CHECK_IN_PAGE = Path(__file__).resolve().parent.parent / "pages" / "check_in.html"

router = APIRouter(tags=["duty"])
Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Planner = Annotated[Principal, Depends(require(Role.planner))]
CheckIner = Annotated[Principal, Depends(require(CHECK_IN_ROLE))]


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _local(value: datetime | None, request: Request) -> datetime | None:
    """A time without a zone is the station's wall time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(_settings(request).duty.zone))


def _html(request: Request, text: str) -> Response:
    # Built per request from live data: never kept in shared caches; compressed for phones.
    body, headers = text.encode(), {"Cache-Control": "private, no-store",
                                    "Vary": "Accept-Encoding"}
    if len(body) > 1024 and "gzip" in request.headers.get("accept-encoding", ""):
        body, headers["Content-Encoding"] = gzip.compress(body, compresslevel=5), "gzip"
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


def _json(answer: Any, principal: Principal) -> Response:
    """JSON without phones below dispatcher."""
    if principal.role < Role.dispatcher:
        answer = hide_phones(answer)
    return Response(orjson.dumps(jsonable_encoder(answer)),
                    media_type="application/json")


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


ONDUTY_PARAMS = [
    _param("lon", "longitude (or easting) in `crs`", {"type": "number"}),
    _param("lat", "latitude (or northing) in `crs`", {"type": "number"}),
    _param("crs", "EPSG code, gcj02 or bd09", {"type": "string", "default": "4326"}),
    _param("at", "the instant (default now); without a time zone, the station's wall time",
           {"type": "string", "format": "date-time"}),
    _param("cell_kind", "instead of a point: a cell's kind",
           {"type": "string", "enum": ["station", "beat", "grid", "village", "town"]}),
    _param("cell_id", "and its id", {"type": "string"}),
]
_viewer = require(Role.viewer)


def _onduty_query(request: Request) -> tuple:
    """The service call asked for (parsed by hand: this is a hot path, see the route)."""
    q = request.query_params
    problems: list[Problem] = []
    at = None
    if q.get("at"):
        try:
            at = _local(datetime.fromisoformat(q["at"]), request)
        except ValueError:
            problems.append(Problem(f"not a date-time: {q['at']!r}", field="at"))
    service: onduty_service.DutyService = request.app.state.duty
    kind, cell = q.get("cell_kind"), q.get("cell_id")
    if kind is not None or cell is not None:
        if kind not in ("station", "beat", "grid", "village", "town") or not cell:
            problems.append(Problem("give cell_kind (station, beat, grid, village or town) "
                                    "and cell_id", field="cell_kind"))
        call: tuple = (service.on_duty_cell, kind, cell, at)
    else:
        try:
            lon, lat = float(q.get("lon", "")), float(q.get("lat", ""))
        except ValueError:
            lon = lat = math.nan
        if not (math.isfinite(lon) and math.isfinite(lat)):
            problems.append(Problem("give lon and lat (numbers), or cell_kind and cell_id",
                                    field="lon,lat"))
        call = (service.on_duty, lon, lat, q.get("crs") or "4326", at)
    if problems:
        raise InvalidInput(problems)
    return call


async def onduty(request: Request) -> Response:
    """The station's main-duty group (since, until, leader, members with their duty), the
    beat's officers and auxiliaries each with whether they are on duty, and ``covered_by``:
    the beat's own officers on duty, else the main-duty group's people linked to the nearest
    beat, else anyone on main duty, else the group's leader (the rule is named). Any past
    instant is answered exactly from the stored duty history; now is answered from memory.
    Needs a viewer token; phones for dispatchers and above.

    The dispatcher's "who do I call", a hot path like the lookup: a plain Starlette route
    (:data:`onduty_route`, registered ahead of the routers, as the lookup's is: matching
    through ~200 FastAPI routes took half of a request), the parameters read by hand, the
    answer without phones made once per steady answer (in the service) and encoded by orjson.
    Its OpenAPI operation is :data:`ONDUTY_OPENAPI`."""
    principal = await _viewer(request)
    call = _onduty_query(request)
    phones = principal.role >= Role.dispatcher
    service: onduty_service.DutyService = request.app.state.duty
    # Now is answered from memory; another instant may need the database.
    answer = (call[0](*call[1:], phones=phones) if call[-1] is None
              else await run_in_threadpool(lambda: call[0](*call[1:], phones=phones)))
    # People outside the caller's scope are left out, as in the lookup (docs/duty.md).
    answer = service.for_scope(answer, principal.scope)
    return Response(orjson.dumps(answer), media_type="application/json")


ONDUTY_PATH = "/api/v1/onduty"
onduty_route = Route(ONDUTY_PATH, onduty, methods=["GET"])
ONDUTY_OPENAPI = {"get": {
    "tags": ["duty"],
    "summary": "Who is on duty at a point or cell: the main-duty group, the beat's officers "
               "and who covers the beat",
    "description": (
        "The station's main-duty group (since, until, leader, members with their duty), the "
        "beat's officers and auxiliaries each with whether they are on duty, and `covered_by`: "
        "the beat's own officers on duty, else the main-duty group's people linked to the "
        "nearest beat, else anyone on main duty, else the group's leader (the rule is named). "
        "Any past instant is answered exactly from the stored duty history; now is answered "
        "from memory. People outside the caller's scope are left out. Needs a bearer token "
        "(viewer or above); phones for dispatchers and above."),
    "operationId": "onduty",
    "security": [{"bearer": []}],
    "parameters": ONDUTY_PARAMS,
    "responses": {
        "200": {"description": "the main-duty group, the beat's people, who covers the beat",
                "content": {"application/json": {"schema": {"type": "object"}}}},
        "401": {"description": "no valid bearer token"},
        "404": {"description": "no such cell, or no plan in effect on that date"},
        "422": {"description": "no point or cell, or a bad instant"},
    },
}}


class GroupIn(BaseModel):
    code: str = Field(min_length=1, max_length=16, examples=["A"])
    name: str = Field(min_length=1, max_length=100, examples=["一组"])
    members: list[str] = Field(description="person ids (officers, auxiliaries)")
    leader: str | None = Field(default=None, description="person id of the group's leader")


@router.get("/api/v1/duty/stations/{station_id}/groups", summary="A station's duty groups")
async def groups(station_id: str, request: Request, principal: Viewer) -> Response:
    found = await run_in_threadpool(duty.list_groups, request.app.state.engine, station_id)
    return _json(found, principal)


@router.post("/api/v1/duty/stations/{station_id}/groups", status_code=201,
             summary="Create a duty group with its members")
async def create_group(station_id: str, body: GroupIn, request: Request,
                       principal: Planner) -> dict[str, Any]:
    return await run_in_threadpool(lambda: duty.create_group(
        request.app.state.engine, station_id=station_id, code=body.code, name=body.name,
        member_ids=body.members, leader_id=body.leader, actor=principal.name))


class RuleIn(BaseModel):
    group: str = Field(description="the group's code")
    kind: Literal["main", "second", "standby"]
    dtstart: str = Field(description="first start, local wall time", examples=["2026-01-01T08:00"])
    rrule: str = Field(description="RFC 5545 RRULE", examples=["FREQ=DAILY;INTERVAL=3"])
    minutes: int = Field(gt=0, le=2880, examples=[1440])


class RotationIn(BaseModel):
    valid_from: date
    groups: list[str] | None = Field(default=None, description="group codes in order: the usual "
                                     "daily rotation, the first on main duty on valid_from")
    rules: list[RuleIn] | None = None


@router.put("/api/v1/duty/stations/{station_id}/rotation",
            summary="Replace the rotation from a date; re-materialise from now on")
async def set_rotation(station_id: str, body: RotationIn, request: Request,
                       principal: Planner) -> dict[str, Any]:
    """Either ``groups`` (the usual daily rotation: main 24 h, second 08:00-17:00, standby
    08:00-22:00) or ``rules`` (RFC 5545 recurrence rules). The past stays as it was; a rotation
    leaving an instant without a main-duty group, or with two, is a 422 naming the instants."""
    return await run_in_threadpool(lambda: duty.set_rotation(
        request.app.state.engine, _settings(request).duty, station_id=station_id,
        valid_from=body.valid_from, group_codes=body.groups,
        rules=[r.model_dump() for r in body.rules] if body.rules is not None else None,
        actor=principal.name))


@router.get("/api/v1/duty/stations/{station_id}/rules", summary="A station's rotation rules")
async def rules(station_id: str, request: Request, principal: Viewer) -> Response:
    found = await run_in_threadpool(duty.list_rules, request.app.state.engine, station_id)
    return _json(found, principal)


class ChangeIn(BaseModel):
    kind: Literal["swap", "leave", "substitute", "extra"]
    day: date | None = Field(default=None, description="swap: the day")
    group: str | None = Field(default=None, description="swap: a group code")
    other_group: str | None = Field(default=None, description="swap: the other group code")
    person: str | None = Field(default=None, description="leave, substitute, extra: person id")
    other_person: str | None = Field(default=None, description="substitute: who stands in")
    duty_kind: Literal["main", "second", "standby"] | None = Field(default=None,
                                                                   description="extra")
    start: datetime | None = Field(default=None, description="with its time zone")
    end: datetime | None = None
    note: str | None = Field(default=None, max_length=500)
    idempotency_key: str | None = Field(default=None, max_length=100)


@router.post("/api/v1/duty/stations/{station_id}/changes", status_code=201,
             summary="Record a swap, leave, substitute or extra duty")
async def add_change(station_id: str, body: ChangeIn, request: Request, response: Response,
                     principal: Planner,
                     idempotency_key: Annotated[str | None, Header(max_length=100)] = None
                     ) -> dict[str, Any]:
    """Re-materialises the station's duty from now on. A retry with the same idempotency key
    (header or body) returns the first answer with 200 instead of recording it twice."""
    values = body.model_dump(exclude={"idempotency_key"})
    made, new = await run_in_threadpool(lambda: duty.add_change(
        request.app.state.engine, _settings(request).duty, station_id=station_id,
        key=idempotency_key or body.idempotency_key, actor=principal.name, **values))
    if not new:
        response.status_code = 200
    return jsonable_encoder(made)


@router.get("/api/v1/duty/stations/{station_id}/changes", summary="A station's exceptions")
async def changes(station_id: str, request: Request, principal: Viewer) -> Response:
    found = await run_in_threadpool(duty.list_changes, request.app.state.engine, station_id)
    return _json(found, principal)


@router.delete("/api/v1/duty/stations/{station_id}/changes/{change_id}",
               summary="Withdraw an exception (kept, marked); re-materialise from now on")
async def withdraw(station_id: str, change_id: int, request: Request,
                   principal: Planner) -> dict[str, Any]:
    return await run_in_threadpool(lambda: duty.withdraw_change(
        request.app.state.engine, _settings(request).duty, station_id=station_id,
        change_id=change_id, actor=principal.name))


@router.post("/api/v1/duty/stations/{station_id}/materialise",
             summary="Extend the station's materialised duty to the horizon")
async def materialise(station_id: str, request: Request, principal: Planner) -> dict[str, Any]:
    return await run_in_threadpool(lambda: duty.materialise(
        request.app.state.engine, _settings(request).duty, station_id, actor=principal.name))


class RoundIn(BaseModel):
    code: str = Field(min_length=1, max_length=16, examples=["night"])
    name: str = Field(min_length=1, max_length=100, examples=["夜间巡逻"])
    starts: str = Field(examples=["22:00"])
    ends: str = Field(examples=["06:00"])


@router.put("/api/v1/patrol/stations/{station_id}/rounds",
            summary="Create or change a station's patrol rounds")
async def set_rounds(station_id: str, body: list[RoundIn], request: Request,
                     principal: Planner) -> list[dict[str, Any]]:
    return await run_in_threadpool(lambda: patrol.set_rounds(
        request.app.state.engine, station_id=station_id,
        rounds=[r.model_dump() for r in body], actor=principal.name))


class RequirementIn(BaseModel):
    point_id: str
    round: str = Field(description="the round's code")
    visits: int = Field(ge=0, le=24, description="visits needed per occurrence (0: none)")


@router.put("/api/v1/patrol/stations/{station_id}/requirements",
            summary="How many visits points need per round")
async def set_requirements(station_id: str, body: list[RequirementIn], request: Request,
                           principal: Planner) -> dict[str, Any]:
    return await run_in_threadpool(lambda: patrol.set_requirements(
        request.app.state.engine, station_id=station_id,
        rows=[r.model_dump() for r in body], actor=principal.name))


@router.get("/api/v1/patrol/stations/{station_id}/requirements",
            summary="A station's patrol points with their visits per round and patrol cells")
async def requirements(station_id: str, request: Request, principal: Viewer) -> Response:
    found = await run_in_threadpool(patrol.requirements, request.app.state.engine, station_id)
    return _json(found, principal)


@router.get("/api/v1/patrol/points", summary="Patrol points (of a station) for the phone page")
async def points(request: Request, principal: Viewer,
                 station_id: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    found = await run_in_threadpool(patrol.points_of, request.app.state.engine, station_id)
    return _json(found, principal)


class CheckInIn(BaseModel):
    point_id: str = Field(max_length=64)
    device_at: datetime = Field(description="the phone's clock, with its time zone")
    lon: float
    lat: float
    crs: str = Field(default="4326", description="the phone's fix: WGS84 (4326) by default")
    accuracy_m: float = Field(ge=0, le=100_000)
    idempotency_key: str = Field(min_length=1, max_length=100,
                                 description="made by the phone; a resend never counts twice")
    person_id: str | None = Field(default=None, max_length=64, description=(
        "who checks in: omit it (or give your own) to check in as the signed-in person; "
        "a dispatcher or above may name someone else; an account without a person (a service "
        "token) must name one"))


@router.post("/api/v1/patrol/check-ins", status_code=201, summary="Check in at a patrol point")
async def check_in(body: CheckInIn, request: Request, response: Response,
                   principal: CheckIner) -> dict[str, Any]:
    """Answers the check-in with its status: ``on_time`` or ``late`` (counts), or why it does
    not count (``too_far``, ``poor_accuracy``, ``impossible_speed`` with the other check-in,
    ``after_close``, ``not_due``, ``repeat``); it is kept either way. The same idempotency key
    again returns the first answer with 200. The check-in is the signed-in person's: another
    ``person_id`` is a 422 below dispatcher."""
    person_id = who_checks_in(principal.role, principal.person_id, body.person_id)
    own = person_id == principal.person_id and principal.person_pk is not None
    made, new = await run_in_threadpool(lambda: patrol.check_in(
        request.app.state.engine, _settings(request).duty, point_id=body.point_id,
        device_at=body.device_at, lon=body.lon, lat=body.lat, crs=body.crs,
        accuracy_m=body.accuracy_m, key=body.idempotency_key,
        person_pk=principal.person_pk if own else None, person_id=None if own else person_id,
        account_id=principal.account_id))
    if not new:
        response.status_code = 200
    return made


@router.get("/api/v1/patrol/coverage", summary="Patrol coverage of a shift (JSON or CSV)",
            responses={200: {"content": {"application/json": {}, "text/csv": {
                "schema": {"type": "string"}}}}})
async def coverage(
    request: Request, principal: Viewer, day: date,
    station_id: Annotated[str | None, Query(max_length=64)] = None,
    format: Literal["json", "csv"] = "json",
    all_check_ins: bool = False,
) -> Response:
    """Point-rounds due and visited, per beat, grid and patrol cell (level 1: the beat; level
    2: the grid within the beat), the missed points, each point-round with who checked in, and
    the check-ins that did not count (or every one with ``all_check_ins``)."""
    report = await run_in_threadpool(lambda: patrol.shift_coverage(
        request.app.state.engine, _settings(request).duty, day=day, station_id=station_id,
        all_check_ins=all_check_ins))
    if format == "csv":
        return Response(patrol.report_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="patrol-{day.isoformat()}.csv"'})
    return _json(report, principal)


@router.get("/api/v1/patrol/hotspots", summary="Night hot spots from recent incidents")
async def hotspots(request: Request, principal: Viewer,
                   station_id: Annotated[str | None, Query(max_length=64)] = None,
                   weeks: Annotated[int | None, Query(gt=0, le=520)] = None,
                   until: date | None = None,
                   hours: Annotated[str | None, Query(description="e.g. 0-6")] = None
                   ) -> Response:
    """Proposed patrol points for the night rounds: squares with the most incidents at those
    hours over the last weeks, each with its counts by hour, top categories and the nearest
    existing patrol point."""
    found = await run_in_threadpool(lambda: patrol.hotspots(
        request.app.state.engine, _settings(request).duty, station_id=station_id,
        weeks=weeks, until=until, hours=hours))
    return _json(found, principal)


@router.get("/api/v1/duty/stations/{station_id}/fields",
            summary="Responsibility fields: villages' complexity and officers' fields")
async def get_fields(station_id: str, request: Request, principal: Viewer,
                     propose: bool = False, seed: int = 0) -> Response:
    """Each village's households, floating residents, rentals, incidents and complexity
    score (the formula and weights are in the answer); each officer's villages and load; with
    ``propose``, a share of the villages that balances the loads (complex villages to fewer
    hands, contiguous where they touch, keeping present fields where it can)."""
    if propose:
        found = await run_in_threadpool(lambda: fields.proposal(
            request.app.state.engine, _settings(request).duty, station_id, seed=seed))
    else:
        found = await run_in_threadpool(fields.fields, request.app.state.engine,
                                        _settings(request).duty, station_id)
    return _json(found, principal)


class FieldsIn(BaseModel):
    fields: dict[str, list[str]] = Field(description="officer id -> village ids")


@router.put("/api/v1/duty/stations/{station_id}/fields", summary="Set responsibility fields")
async def put_fields(station_id: str, body: FieldsIn, request: Request,
                     principal: Planner) -> dict[str, Any]:
    return await run_in_threadpool(lambda: fields.apply(
        request.app.state.engine, station_id=station_id, assignment=body.fields,
        actor=principal.name, settings=_settings(request).duty))


@router.get("/patrol/check-in", response_class=HTMLResponse, dependencies=[Depends(viewer)],
            summary="The phone page for checking in at patrol points")
async def check_in_page(request: Request) -> Response:
    """A person's own account checks in as itself: no person field, their name instead; an
    account without a person (an office, a service token) types whose check-in it is."""
    principal = await _viewer(request)
    return _html(request, check_in_html(principal))


def check_in_html(principal: Principal) -> str:
    """The check-in page for ``principal`` (the person field replaced by who they are)."""
    page = CHECK_IN_PAGE.read_text(encoding="utf-8")
    if principal.person_id is None:
        return page
    start, end = page.index('<div id="who">'), page.index("</div>", page.index('<div id="who">'))
    who = (f'<div id="who" data-person="{escape(principal.person_id)}">打卡人 / checking in as: '
           f"<b>{escape(principal.display_name or principal.name)}</b> "
           f"({escape(principal.person_id)})")
    return page[:start] + who + page[end:]


@router.get("/maps/duty", response_class=HTMLResponse, dependencies=[Depends(viewer)],
            summary="Who is on duty per beat, and a shift's patrol coverage (missed points red)")
async def duty_page(request: Request, day: date | None = None,
                    station_id: Annotated[str | None, Query(max_length=64)] = None,
                    at: datetime | None = None, hotspots_until: date | None = None) -> Response:
    text = await run_in_threadpool(lambda: duty_maps.duty_page(
        request.app.state.engine, _settings(request), day=day, station_id=station_id,
        at=_local(at, request), hotspots_until=hotspots_until))
    return _html(request, text)


@router.get("/maps/fields/{station_id}", response_class=HTMLResponse,
            dependencies=[Depends(viewer)],
            summary="Responsibility fields now and as proposed, villages by complexity")
async def fields_page(station_id: str, request: Request, seed: int = 0) -> Response:
    text = await run_in_threadpool(lambda: duty_maps.fields_page(
        request.app.state.engine, _settings(request), station_id=station_id, seed=seed))
    return _html(request, text)
