"""``/maps/...``: the command-centre map pages (viewer role), ``/login`` for browsers, and the
browser libraries they load (``/static/maps``, no data in them, so served without a token).

A page is asked for with a bearer token, or with the ``gridsvc_session`` cookie that
``POST /login`` sets (a server-side session opened by a name and password, or by a token); a
browser with neither is sent to ``/login`` instead of getting a 401. Pages show what the
caller's scope holds (the database's policies decide).
"""

from __future__ import annotations

import asyncio
import gzip
import html
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import SESSION_COOKIE, Principal, require
from gridsvc.api.fields import ID_LENGTH, Kind, PlanId, Text
from gridsvc.domain.accounts import Role
from gridsvc.domain.accounts.signin import SESSION_HOURS
from gridsvc.services import accounts, map_tiles
from gridsvc.services import maps as service

router = APIRouter(tags=["maps"])
pages = APIRouter(prefix="/maps", tags=["maps"])

LOGIN = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gridsvc 登录 / sign in</title>
<style>body{{font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem}}
input,button{{width:100%;padding:.7rem;margin:.3rem 0;box-sizing:border-box;font-size:1rem}}
button{{min-height:2.75rem}} .err{{color:#b71c1c}} details{{margin-top:1.5rem}}</style></head>
<body><h1>gridsvc</h1><p>账号登录。Sign in with your account.</p>
<p class="err" id="error">{error}</p>
<form method="post" action="/login">
<input name="username" id="username" placeholder="账号 account" autocomplete="username"
 autocapitalize="none" required>
<input type="password" name="password" id="password" placeholder="密码 password"
 autocomplete="current-password" required>
<input type="hidden" name="next" value="{next}">
<button type="submit" id="submit">登录 / Sign in</button></form>
<details><summary>用令牌登录 Sign in with a token</summary>
<form method="post" action="/login">
<input type="password" name="token" id="token" placeholder="token" autocomplete="off" required>
<input type="hidden" name="next" value="{next}">
<button type="submit" id="submit-token">登录 / Sign in</button></form></details>
</body></html>
"""


def _safe_next(target: str) -> str:
    # Only paths on this site: an open redirect would hand the session to a phishing page.
    return target if target.startswith("/") and not target.startswith("//") else ""


def home_of(principal: Principal) -> str:
    """Where a person lands after signing in: the command centre's map for an account that
    sees everything, else their own area (``/me``)."""
    return "/maps/coverage" if principal.scope.everything else "/me"


_require_viewer = require(Role.viewer)


async def viewer(request: Request) -> None:
    """Viewer or higher (:func:`gridsvc.api.auth.require`); a browser without a valid token is
    sent to the sign-in page instead of getting the 401."""
    try:
        await _require_viewer(request)
    except HTTPException as exc:
        if exc.status_code == 401 and "text/html" in request.headers.get("accept", ""):
            target = _safe_next(request.url.path + (f"?{request.url.query}"
                                                    if request.url.query else ""))
            raise HTTPException(303, "sign in first",
                                headers={"Location": f"/login?next={target}"}) from None
        raise


@router.get("/login", include_in_schema=False, response_class=HTMLResponse)
async def login_form(next: str = "") -> str:
    return LOGIN.format(error="", next=html.escape(_safe_next(next)))


@router.post("/login", include_in_schema=False)
async def login(request: Request, username: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "", token: Annotated[str, Form()] = "",
                next: Annotated[str, Form()] = "") -> Response:
    """Sign in with a name and password, or with a token; either opens a server-side session
    whose random id is the HttpOnly, SameSite=Strict cookie. Failures wait longer each time
    (and lock the account after five in a row); see :func:`gridsvc.services.accounts.sign_in`."""
    engine = request.app.state.system_engine
    client = request.client.host if request.client else ""
    if token.strip():
        done = await run_in_threadpool(lambda: accounts.sign_in_with_token(
            engine, token.strip(), client=client))
        error = "令牌无效 / invalid token"
    else:
        done = await run_in_threadpool(lambda: accounts.sign_in(
            engine, username, password, client=client))
        error = "账号或密码错误 / wrong name or password"
    if done.principal is None or done.session_token is None:
        await asyncio.sleep(done.delay_s)
        if done.locked_until is not None:
            error = (f"失败次数过多，账号已锁定至 {done.locked_until:%H:%M} UTC / too many "
                     f"failures: locked until {done.locked_until:%H:%M} UTC")
        return HTMLResponse(LOGIN.format(error=html.escape(error),
                                         next=html.escape(_safe_next(next))), status_code=401)
    response = RedirectResponse(_safe_next(next) or home_of(done.principal), status_code=303)
    response.set_cookie(SESSION_COOKIE, done.session_token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=SESSION_HOURS * 3600)
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    """End the session: revoked in the database (audited), forgotten by this process, and the
    cookie deleted."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        request.app.state.token_cache.forget(secret)
        principal = await run_in_threadpool(accounts.authenticate,
                                            request.app.state.system_engine, secret)
        if principal is not None:
            await run_in_threadpool(accounts.sign_out, request.app.state.system_engine,
                                    principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _compressed(request: Request, body: bytes, media_type: str, cache: str) -> Response:
    # Pages and tiles are text-like and compress 3-5x; the API's hot paths stay uncompressed.
    headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
    if len(body) > 1024 and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=media_type, headers=headers)


def _html(request: Request, text: str) -> Response:
    # Pages are built per request from live data: never cache them in shared caches.
    return _compressed(request, text.encode(), "text/html; charset=utf-8", "private, no-store")


@pages.get("/coverage", response_class=HTMLResponse, dependencies=[Depends(viewer)],
           summary="Cells, officers, grid workers, offices with their walk, cameras, patrol "
                   "points; who is on duty now and this and the last shift's patrol coverage")
async def coverage(
    request: Request,
    as_of: Annotated[date | None, Query(description="the plan in effect on this date")] = None,
) -> Response:
    settings = request.app.state.settings
    text = await run_in_threadpool(lambda: service.coverage_page(
        request.app.state.engine, settings.map, as_of, duty=settings.duty))
    return _html(request, text)


Days = Annotated[int | None, Query(gt=0, le=3660, description="window length in days "
                                   "(default: settings), ending on `until`")]
Since = Annotated[date | None, Query(description="first day of the window (overrides days)")]
Until = Annotated[date | None, Query(description="last day of the window (default: today)")]
AsOf = Annotated[date | None, Query(description="the plan in effect on this date")]
Category = Annotated[Text | None, Query(max_length=ID_LENGTH,
                                        description="only incidents of this category")]


@pages.get("/risk", response_class=HTMLResponse, dependencies=[Depends(viewer)],
           summary="Compounds and grids red/orange/green by incidents per 1,000 households; "
                   "floating-population levels; rental houses by stars")
async def risk(
    request: Request, days: Days = None, since: Since = None, until: Until = None,
    red: Annotated[float | None, Query(
        gt=0, allow_inf_nan=False, description="red from this many incidents per 1,000 "
                                               "households (default: settings)")] = None,
    orange: Annotated[float | None, Query(
        gt=0, allow_inf_nan=False, description="orange from this many (default: settings)")]
    = None,
    category: Category = None, as_of: AsOf = None,
) -> Response:
    settings = request.app.state.settings
    text = await run_in_threadpool(
        lambda: service.risk_page(request.app.state.engine, settings.map, days=days,
                                  since=since, until=until, red=red, orange=orange,
                                  category=category, as_of=as_of))
    return _html(request, text)


@pages.get("/incidents", response_class=HTMLResponse, dependencies=[Depends(viewer)],
           summary="Incident heat map and clustered markers, by category and time window")
async def incidents(request: Request, days: Days = None, since: Since = None,
                    until: Until = None, category: Category = None,
                    as_of: AsOf = None) -> Response:
    settings = request.app.state.settings
    query = {k: v for k, v in request.query_params.items()}
    text = await run_in_threadpool(
        lambda: service.incidents_page(request.app.state.engine, settings.map, days=days,
                                       since=since, until=until, category=category,
                                       as_of=as_of, query=query))
    return _html(request, text)


@pages.get("/plan/{plan_id}", response_class=HTMLResponse, dependencies=[Depends(viewer)],
           summary="A plan's boundaries over those it was based on, changed cells marked")
async def plan(request: Request, plan_id: PlanId) -> Response:
    settings = request.app.state.settings
    text = await run_in_threadpool(service.plan_page, request.app.state.engine, settings.map,
                                   plan_id)
    return _html(request, text)


TileZ = Annotated[int, Path(ge=0, le=map_tiles.MAX_Z, description="zoom")]
TileXY = Annotated[int, Path(ge=0, lt=2**map_tiles.MAX_Z, description="column or row, "
                             "below 2 to the power of z")]


@pages.get("/tiles/{plan_id}/{kind}/{z}/{x}/{y}.pbf", dependencies=[Depends(viewer)],
           summary="A vector tile (Mapbox Vector Tile, layer 'cells') of one cell layer",
           response_class=Response)
async def tile(request: Request, plan_id: PlanId, kind: Kind, z: TileZ, x: TileXY, y: TileXY
               ) -> Response:
    body = await run_in_threadpool(map_tiles.cell_tile, request.app.state.engine, plan_id, kind,
                                   z, x, y)
    # The page's tile URL carries the plan and data version, so a cached tile is never stale.
    return _compressed(request, body, "application/vnd.mapbox-vector-tile",
                       "private, max-age=86400")
