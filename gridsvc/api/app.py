"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gridsvc import __version__
from gridsvc.api import errors, openapi
from gridsvc.api.auth import TokenCache
from gridsvc.api.routers import (
    accounts,
    areas,
    assign,
    audit,
    bulletins,
    camera_coverage,
    coverage,
    dispatch,
    duty,
    events,
    events_live,
    fusion,
    health,
    houses,
    incidents,
    lookup,
    maps,
    ogc,
    open311,
    phone,
    plan_proposals,
    plans,
    root,
    staffing,
    visits,
)
from gridsvc.db import rls
from gridsvc.db.engine import make_app_engine
from gridsvc.maps.vendor import STATIC_DIR
from gridsvc.services import accounts as accounts_service
from gridsvc.services import events as events_service
from gridsvc.services import maps as maps_service
from gridsvc.services.availability import DatabaseWatch
from gridsvc.services.database import ready_engine
from gridsvc.services.dispatch import DispatchService
from gridsvc.services.lookup import LookupService
from gridsvc.services.onduty import DutyService
from gridsvc.settings import DutySettings, Settings


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """Build the app.

    Parameters
    ----------
    settings
        Service settings.
    engine
        An engine to use (the caller keeps ownership). When None, the app opens one at start-up
        with :func:`~gridsvc.services.database.ready_engine` (starting the embedded PostGIS if
        needed) and disposes of it at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        # Two engines: the owner's (migrations, the credential store, the in-memory indexes
        # that apply scopes in Python) and the app role's, which every route uses and which
        # row-level security binds to the signed-in account (gridsvc.db.rls).
        app.state.system_engine = ready_engine(settings) if owned else engine
        app.state.engine = make_app_engine(settings, app.state.system_engine)
        # One watch of the database for the app: lookups, dispatch and sign-in go on from
        # memory while it is away (gridsvc.services.availability).
        app.state.db_watch = DatabaseWatch(app.state.system_engine)
        app.state.lookup = LookupService(app.state.system_engine, watch=app.state.db_watch)
        app.state.dispatch = DispatchService(app.state.system_engine, app.state.lookup)
        # Who is on duty is kept in memory like the lookup (and added to its answers).
        app.state.duty = DutyService(app.state.system_engine, app.state.lookup, settings.duty)
        app.state.lookup.blocks["on_duty"] = app.state.duty.block
        if settings.map.prewarm:
            threading.Thread(target=_prewarm, name="gridsvc-map-prewarm", daemon=True,
                             args=(app.state.engine, app.state.system_engine,
                                   settings.map, settings.duty)).start()
        sweeper = asyncio.create_task(_sweep_events(app.state.system_engine, settings))
        try:
            yield
        finally:
            app.state.db_watch.close()
            sweeper.cancel()
            app.state.engine.dispose()
            if owned:
                app.state.system_engine.dispose()

    app = FastAPI(
        title="gridsvc",
        version=__version__,
        summary="Police grid (警格) x governance grid (网格) fusion on PostGIS",
        lifespan=lifespan,
        # FastAPI's own /docs and /redoc load from CDNs; /docs is served below from local files.
        docs_url=None, redoc_url=None,
    )
    app.state.settings = settings
    app.state.token_cache = TokenCache(settings.token_cache_seconds,
                                       settings.token_outage_seconds)
    errors.install(app)
    app.router.routes.append(lookup.route)
    app.router.routes.append(duty.onduty_route)  # a hot path too: matched first
    # Browser libraries only (no data): served without a token so the sign-in page and the
    # maps can load them. check_dir=False: /healthz reports missing assets instead of a crash.
    app.mount("/static/maps", StaticFiles(directory=STATIC_DIR, check_dir=False),
              name="static-maps")
    app.mount("/static/events", StaticFiles(directory=phone.EVENTS_STATIC), name="static-events")
    app.mount("/static/phone", StaticFiles(directory=phone.PHONE_STATIC), name="static-phone")
    app.include_router(maps.router)
    app.include_router(maps.pages)
    app.add_api_route("/docs", _docs, include_in_schema=False, response_class=HTMLResponse)
    # plan_proposals before any /api/v1/plans/{id} route, so "proposals" is not read as an id.
    for module in (root, health, areas, assign, incidents, dispatch, houses, audit, staffing,
                   fusion, camera_coverage, coverage, plan_proposals, plans):
        app.include_router(module.router)
    # This round's capabilities, each in its own router.
    for module in (accounts, events, open311, phone, events_live, duty, ogc, bulletins,
                   visits):
        app.include_router(module.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _sweep_events(system_engine: Engine, settings: Settings) -> None:
    """Escalate overdue events every ``events_sweep_seconds`` (as the owner, recorded as
    ``system``); several processes may run it, one sweeps at a time (an advisory lock)."""
    interval = settings.events_sweep_seconds
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(lambda: events_service.sweep(
                system_engine, working_hours=events_service.calendar(settings)))
        except Exception:  # a failed sweep (database away) must not stop the next one
            logging.getLogger(__name__).exception("the events sweep failed; retrying later")


def _prewarm(engine: Engine, system_engine: Engine, map_settings: object,
             duty: DutySettings) -> None:
    """Build the command centre's coverage page (scope everything, as the machine account)."""
    try:
        machine = accounts_service.machine_account_id(system_engine)
    except Exception:  # a warm-up must never take the service down
        return
    with rls.acting_as(machine):
        maps_service.prewarm(engine, map_settings, duty)


async def _docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="gridsvc API",
        swagger_js_url="/static/maps/swagger-ui-dist/swagger-ui-bundle.js",
        swagger_css_url="/static/maps/swagger-ui-dist/swagger-ui.css",
        swagger_favicon_url="/static/maps/swagger-ui-dist/favicon-32x32.png",
        # Swagger UI sends the spec's URL to validator.swagger.io unless the host is local.
        swagger_ui_parameters={"validatorUrl": None})


def _openapi(app: FastAPI) -> dict:
    """FastAPI's schema, plus the hand-written routes, finished by :mod:`gridsvc.api.openapi`."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                             routes=app.routes)
        schema["paths"][lookup.PATH] = lookup.OPENAPI
        schema["paths"][duty.ONDUTY_PATH] = duty.ONDUTY_OPENAPI
        app.openapi_schema = openapi.finish(schema)
    return app.openapi_schema
