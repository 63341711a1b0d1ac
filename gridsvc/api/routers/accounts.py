"""The signed-in person: their first page (``/me``, their own area), their account, password
and personal tokens (``/api/v1/accounts/me...``); the list of accounts for admins.

The first page and ``/me/area`` read through the app engine, so the database's policies decide
what they show; account and token management goes through the credential store
(``app.state.system_engine``), always for the caller's own account unless they are an admin.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal, require
from gridsvc.api.routers.maps import viewer
from gridsvc.domain.accounts import Role
from gridsvc.errors import InvalidInput, Problem
from gridsvc.maps.me import my_area_page
from gridsvc.services import accounts, home, tokens

router = APIRouter(tags=["accounts"])

Caller = Annotated[Principal, Depends(require(Role.viewer))]


class PasswordChange(BaseModel):
    old_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="what the token is for")
    role: str | None = Field(default=None, description="at most your own (default: yours)")
    days: int = Field(default=90, ge=1, le=366, description="it expires after this many days")


@router.get("/me", response_class=HTMLResponse, dependencies=[Depends(viewer)],
            summary="My area: my cells on the map, their houses and people (a phone page)")
async def me_page(request: Request) -> Response:
    principal: Principal = request.state.principal
    engine = request.app.state.engine

    def build() -> str:
        return my_area_page(principal, home.my_area(engine, principal),
                            home.sections(engine, principal))

    text = await run_in_threadpool(build)
    return HTMLResponse(text, headers={"Cache-Control": "private, no-store"})


@router.get("/api/v1/accounts/me", summary="My account: name, role, person and scope")
async def me(request: Request, principal: Caller) -> dict[str, Any]:
    if principal.account_id is None:
        return {"username": principal.name, "role": principal.role.name, "scope": []}
    found = await run_in_threadpool(accounts.account_view, request.app.state.system_engine,
                                    principal.account_id)
    # A token's role may be below the account's: say what this caller may do.
    return jsonable_encoder({**found, "role": principal.role.name, "via": principal.via})


@router.get("/api/v1/accounts/me/area",
            summary="My area as data: cells (GeoJSON), houses and people in my scope")
async def me_area(request: Request, principal: Caller) -> dict[str, Any]:
    return jsonable_encoder(await run_in_threadpool(home.my_area, request.app.state.engine,
                                                    principal))


@router.post("/api/v1/accounts/me/password", status_code=204,
             summary="Change my password (my other sessions end)")
async def change_password(request: Request, body: PasswordChange, principal: Caller) -> Response:
    if principal.via == "service_token":
        raise InvalidInput([Problem("a service token has no password", field="old_password")])
    await run_in_threadpool(accounts.change_password, request.app.state.system_engine,
                            principal, body.old_password, body.new_password)
    return Response(status_code=204)


@router.get("/api/v1/accounts/me/tokens", summary="My personal tokens (never the secrets)")
async def my_tokens(request: Request, principal: Caller) -> list[dict[str, Any]]:
    found = await run_in_threadpool(tokens.list_tokens, request.app.state.system_engine,
                                    principal.account_id)
    return jsonable_encoder([t for t in found if t["kind"] == "personal"])


@router.post("/api/v1/accounts/me/tokens", status_code=201,
             summary="A personal token for my scripts: my scope, at most my role, shown once")
async def new_token(request: Request, body: TokenIn, principal: Caller) -> dict[str, Any]:
    if principal.via == "service_token" or principal.account_id is None:
        raise InvalidInput([Problem("sign in as a person to make a personal token",
                                    field="name")])
    try:
        role = Role.parse(body.role) if body.role else principal.role
    except ValueError as exc:
        raise InvalidInput([Problem(str(exc), field="role")]) from None
    if role > principal.role:
        raise InvalidInput([Problem(f"at most your own role, {principal.role.name}",
                                    field="role")])
    expires = datetime.now(UTC) + timedelta(days=body.days)
    secret = await run_in_threadpool(lambda: tokens.create_token(
        request.app.state.system_engine, role=role, name=body.name, actor=principal.name,
        account_id=principal.account_id, expires_at=expires))
    return {"token": secret, "name": body.name, "role": role.name,
            "expires_at": expires.isoformat()}


@router.delete("/api/v1/accounts/me/tokens/{token_id}", status_code=204,
               summary="Revoke one of my personal tokens")
async def revoke_token(request: Request, token_id: int, principal: Caller) -> Response:
    await run_in_threadpool(lambda: tokens.revoke_token(
        request.app.state.system_engine, token_id, actor=principal.name,
        account_id=principal.account_id if principal.account_id is not None else -1))
    return Response(status_code=204)


@router.get("/api/v1/accounts", summary="Every account (admins whose scope is everything)",
            dependencies=[Depends(require(Role.admin, scope_all=True))])
async def list_accounts(request: Request) -> list[dict[str, Any]]:
    return jsonable_encoder(await run_in_threadpool(accounts.list_accounts,
                                                    request.app.state.system_engine))
