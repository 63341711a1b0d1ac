"""``/api/v1/plans``: drafts, edits, checks, impact preview, activation, retire and restore.

Roles: listing and reading plans is open to viewers (boundaries are what every map shows);
everything else is for planners, including the impact preview, which lists single houses with
their households and names the officers and grid workers affected.

An edit must say which version of the draft it was made on, in the ``If-Match`` header (the
``ETag`` of ``GET /api/v1/plans/{id}``, e.g. ``"3"``) or the body's ``version``; a stale
version gets 409 Conflict. Activation, retire, restore and sync are dry runs unless
``commit=true``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal, require
from gridsvc.api.fields import INT32_MAX, Geometry, Id, PlanId, crs_field, plan_query, text
from gridsvc.domain.accounts import Role
from gridsvc.errors import InvalidInput, Problem
from gridsvc.services import plan_activation, plan_impact, plans

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])

Planner = Annotated[Principal, Depends(require(Role.planner))]
#: Putting plans in effect moves every row's cells: only a planner who sees every row may.
WholePlanner = Annotated[Principal, Depends(require(Role.planner, scope_all=True))]
Commit = Annotated[bool, Query(description="make the change; false: only report (dry run)")]
#: The draft's version in ``If-Match``: ``"3"``, ``W/"3"`` or ``3``.
IfMatch = Annotated[str | None, Header(pattern=r'^(W/)?"?[0-9]{1,10}"?$',
                                       description='the version of the draft, e.g. "3"')]
Version = Annotated[int | None, Field(ge=1, le=INT32_MAX, description="the draft's version "
                                      "(or If-Match)")]


def _json(body: Any, headers: dict[str, str] | None = None) -> Response:
    # orjson: the impact preview can list tens of thousands of houses.
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
                    media_type="application/json", headers=headers)


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _version(if_match: str | None, body_version: int | None) -> int | None:
    """The version the caller edits: If-Match (``"3"``, ``W/"3"`` or ``3``), else the body's."""
    if if_match is None:
        return body_version
    value = if_match.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= INT32_MAX):
        raise InvalidInput([Problem(f"If-Match must be the plan's version, like \"3\", "
                                    f"not {if_match!r}", field="If-Match")])
    return int(value)


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: text(200, 1)
    from_plan: int | None = Field(default=None, ge=1, le=INT32_MAX,
                                  description="default: the plan in effect")
    note: text(2000) | None = None


#: The fields each edit needs (the service checks them too, naming the missing field).
EDIT_NEEDS: dict[str, dict[str, Any]] = {
    "replace": {"required": ["id", "geometry"]},
    "split": {"required": ["id", "line"]},
    "merge": {"required": ["ids"], "properties": {"ids": {"minItems": 2}}},
    "transfer": {"required": ["from", "to"],
                 "anyOf": [{"required": ["area"]}, {"required": ["houses"]}]},
    "create": {"required": ["geometry"]},
    "retire": {"required": ["id"]},
}


def _edit_schema(schema: dict[str, Any]) -> None:
    # One branch per op: the fields it needs (a single model keeps the errors' field names).
    schema["oneOf"] = [{**needs, "properties": {"op": {"const": op}, **needs.get("properties", {})}}
                       for op, needs in EDIT_NEEDS.items()]


class EditIn(BaseModel):
    """One edit of a draft. Geometries are GeoJSON in ``crs`` (default EPSG:4490)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid",
                              json_schema_extra=_edit_schema)

    op: Literal["replace", "split", "merge", "transfer", "create", "retire"]
    kind: Literal["town", "village", "grid", "station", "beat"] = "grid"
    version: Version = None
    id: Id | None = Field(default=None, description="the cell (replace, split, retire)")
    ids: list[Id] | None = Field(default=None, description="cells to merge")
    keep: Id | None = Field(default=None, description="merge: the id kept (default the first)")
    from_: Id | None = Field(default=None, alias="from", description="transfer: from cell")
    to: Id | None = Field(default=None, description="transfer: to this neighbour")
    area: Geometry | None = Field(default=None, description="transfer: area to move")
    houses: list[Id] | None = Field(default=None, description="transfer: houses to move")
    geometry: Geometry | None = Field(default=None, description="replace, create")
    line: Geometry | None = Field(default=None, description="split: the cutting line")
    names: list[text(200, 1)] | None = Field(default=None,
                                             description="split: names of new cells")
    parent_id: Id | None = Field(default=None, description="create: the parent cell")
    name: text(200, 1) | None = Field(default=None, description="create: the name")
    repair: bool = Field(default=False, description="repair invalid geometry with make_valid")
    crs: str = Field(**crs_field(default="4490",
                                 description="CRS of the geometries (EPSG, gcj02, bd09)"))


class ActivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_from: date | None = Field(default=None, description="default today")
    version: Version = None


class RestoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_from: date | None = Field(default=None, description="default: its own date")


@router.get("", summary="Every plan, newest first", dependencies=[Depends(require(Role.viewer))])
async def list_plans(request: Request) -> Response:
    return _json(await run_in_threadpool(plans.list_plans, request.app.state.engine))


@router.post("", status_code=201, summary="A new draft: a copy of the plan in effect")
async def create(body: DraftIn, request: Request, principal: Planner) -> Response:
    made = await run_in_threadpool(lambda: plans.create_draft(
        request.app.state.engine, name=body.name, from_plan=body.from_plan, note=body.note,
        actor=principal.name))
    return Response(orjson.dumps(made), status_code=201, media_type="application/json",
                    headers=_etag(made["version"]))


@router.get("/{plan_id}", summary="A plan and the cells it changes (ETag: its version)",
            dependencies=[Depends(require(Role.viewer))])
async def show(plan_id: PlanId, request: Request) -> Response:
    found = await run_in_threadpool(plans.show_plan, request.app.state.engine, plan_id)
    return _json(found, _etag(found["version"]))


@router.post("/{plan_id}/edits", summary="Edit a draft (needs its version); checked and audited")
async def edit(plan_id: PlanId, body: EditIn, request: Request, principal: Planner,
               if_match: IfMatch = None) -> Response:
    version = _version(if_match, body.version)
    op = body.model_dump(by_alias=True, exclude_none=True, exclude={"version"})
    done = await run_in_threadpool(lambda: plans.edit(
        request.app.state.engine, plan_id, op, version=version, actor=principal.name))
    return _json(done, _etag(done["version"]))


@router.post("/{plan_id}/validate", summary="Check the draft's changes (result audited)")
async def validate(plan_id: PlanId, request: Request, principal: Planner) -> Response:
    return _json(await run_in_threadpool(lambda: plans.validate(
        request.app.state.engine, plan_id, actor=principal.name)))


@router.get("/{plan_id}/impact", summary="What the draft moves, against the plan in effect",
            dependencies=[Depends(require(Role.planner))])
async def impact(
    plan_id: PlanId, request: Request,
    months: Annotated[int, Query(ge=0, le=120, description="incidents of the last N months")]
    = plan_impact.DEFAULT_MONTHS,
    against: plan_query("another plan to compare with") = None,
) -> Response:
    return _json(await run_in_threadpool(lambda: plan_impact.impact(
        request.app.state.engine, plan_id, months=months, against=against)))


def _after_change(request: Request, result: dict[str, Any]) -> Response:
    if result.get("committed"):
        request.app.state.lookup.forget()
    return _json(jsonable_encoder(result))


@router.post("/{plan_id}/activate", summary="Put a draft in effect on a date (dry run by default)")
async def activate(plan_id: PlanId, body: ActivateIn, request: Request,
                   principal: WholePlanner,
                   commit: Commit = False,
                   if_match: IfMatch = None) -> Response:
    version = _version(if_match, body.version)
    done = await run_in_threadpool(lambda: plan_activation.activate(
        request.app.state.engine, plan_id, effective_from=body.effective_from, version=version,
        actor=principal.name, commit=commit))
    return _after_change(request, done)


@router.post("/{plan_id}/retire", summary="Retire a plan (dry run by default)")
async def retire(plan_id: PlanId, request: Request, principal: WholePlanner,
                 commit: Commit = False, if_match: IfMatch = None) -> Response:
    version = _version(if_match, None)
    done = await run_in_threadpool(lambda: plan_activation.retire(
        request.app.state.engine, plan_id, version=version, actor=principal.name,
        commit=commit))
    return _after_change(request, done)


@router.post("/{plan_id}/restore", summary="Restore a retired plan (dry run by default)")
async def restore(plan_id: PlanId, request: Request, principal: WholePlanner,
                  commit: Commit = False,
                  body: RestoreIn | None = None) -> Response:
    when = body.effective_from if body else None
    done = await run_in_threadpool(lambda: plan_activation.restore(
        request.app.state.engine, plan_id, effective_from=when, actor=principal.name,
        commit=commit))
    return _after_change(request, done)


@router.post("/sync", summary="Move objects to the plan in effect today (dry run by default)")
async def sync(request: Request, principal: WholePlanner, commit: Commit = False) -> Response:
    done = await run_in_threadpool(lambda: plan_activation.sync(
        request.app.state.engine, actor=principal.name, commit=commit))
    return _after_change(request, done)
