"""``/maps/...``: the command-centre map pages (viewer role), ``/login`` for browsers, and the
browser libraries they load (``/static/maps``, no data in them, so served without a token).

A page is asked for with the bearer token, or with the ``gridsvc_session`` cookie that
``POST /login`` sets; a browser with neither is sent to ``/login`` instead of getting a 401.
"""

from __future__ import annotations

import gzip
import html
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import SESSION_COOKIE, require
from gridsvc.api.fields import ID_LENGTH, Kind, PlanId, Text
from gridsvc.domain.auth import Role
from gridsvc.services import map_tiles, tokens
from gridsvc.services import maps as service

router = APIRouter(tags=["maps"])
pages = APIRouter(prefix="/maps", tags=["maps"])

LOGIN = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>gridsvc 登录 / sign in</title>
<style>body{{font-family:sans-serif;max-width:26rem;margin:4rem auto}}
input{{width:100%;padding:.4rem;margin:.3rem 0;box-sizing:border-box}}
.err{{color:#b71c1c}}</style></head>
<body><h1>gridsvc</h1><p>输入令牌后查看地图。Paste your token to open the maps.</p>
<p class="err">{error}</p>
<form method="post" action="/login">
<input type="password" name="token" id="token" placeholder="token" autocomplete="off" required>
<input type="hidden" name="next" value="{next}">
<input type="submit" id="submit" value="登录 / Sign in"></form></body></html>
"""


def _safe_next(target: str) -> str:
    # Only paths on this site: an open redirect would hand the session to a phishing page.
    return target if target.startswith("/") and not target.startswith("//") else "/maps/coverage"


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
async def login_form(next: str = "/maps/coverage") -> str:
    return LOGIN.format(error="", next=html.escape(_safe_next(next)))


@router.post("/login", include_in_schema=False)
async def login(request: Request, token: Annotated[str, Form()],
                next: Annotated[str, Form()] = "/maps/coverage") -> Response:
    found = await run_in_threadpool(tokens.verify, request.app.state.engine, token.strip())
    if found is None:
        return HTMLResponse(LOGIN.format(error="令牌无效 / invalid token",
                                         next=html.escape(_safe_next(next))), status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token.strip(), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return response


@router.post("/logout", include_in_schema=False)
async def logout() -> Response:
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
           summary="Cells, officers, grid workers, offices with their walk, cameras, patrol points")
async def coverage(
    request: Request,
    as_of: Annotated[date | None, Query(description="the plan in effect on this date")] = None,
) -> Response:
    settings = request.app.state.settings
    text = await run_in_threadpool(service.coverage_page, request.app.state.engine,
                                   settings.map, as_of)
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
