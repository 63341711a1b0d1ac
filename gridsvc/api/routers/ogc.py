"""``/ogc``: every layer as OGC API Features (Parts 1-4), for QGIS, GDAL and other GIS clients.

The same API answers at ``/ogc`` (cells of the plan in effect, or of ``?plan=ID``) and at
``/ogc/plans/{id}`` (one plan throughout: the address to give QGIS for editing a draft, since
QGIS drops query parameters on its writes). The landing page, conformance and the API
description are open; everything else needs a token or the session cookie (401 without).
Errors in the request (a bad parameter, an unreadable filter) are 400, as the standard asks.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from gridsvc import __version__
from gridsvc.api import ogc_html
from gridsvc.api.auth import Principal, authenticate
from gridsvc.domain.accounts import Role
from gridsvc.domain.ogc import documents as docs
from gridsvc.domain.ogc import openapi
from gridsvc.errors import InvalidInput, Problem
from gridsvc.services import ogc

PREFIXES = ("/ogc", "/ogc/plans/{plan_id:int}")
_READS = {"GET", "HEAD"}


def _problem_body(exc: InvalidInput) -> dict[str, Any]:
    return {"detail": str(exc), "problems": [
        {"message": p.message, "feature": p.feature, "field": p.field} for p in exc.problems]}


class OgcRoute(APIRoute):
    """Reads answer 400 for bad input (OGC's code; the rest of the API says 422), and a
    stale feature ETag is 412 Precondition Failed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        reads = set(self.methods) <= _READS

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return Response(orjson.dumps({"detail": "bad request", "problems": [
                    {"message": e.get("msg"), "feature": None,
                     "field": ".".join(str(x) for x in e.get("loc", ())[1:])}
                    for e in exc.errors()]}), status_code=400, media_type="application/json")
            except InvalidInput as exc:
                if not reads:
                    raise
                return Response(orjson.dumps(_problem_body(exc)), status_code=400,
                                media_type="application/json")
            except ogc.PreconditionFailed as exc:
                return Response(orjson.dumps({"detail": str(exc)}), status_code=412,
                                media_type="application/json")

        return route


router = APIRouter(tags=["ogc"], route_class=OgcRoute)


# -- helpers ----------------------------------------------------------------------------------
def _plan(request: Request) -> int | None:
    return request.path_params.get("plan_id")


def _links(request: Request) -> docs.Links:
    base = str(request.base_url).rstrip("/") + "/ogc"
    if (plan := _plan(request)) is not None:
        base += f"/plans/{plan}"
    keep = {"plan": request.query_params["plan"]} if "plan" in request.query_params else {}
    return docs.Links(base, keep)


def _html(request: Request) -> bool:
    """HTML when asked with ``f=html``, or by a browser (Accept names text/html) without f."""
    f = request.query_params.get("f")
    if f is not None:
        if f not in ("html", "json", "geojson"):
            raise InvalidInput([Problem("f is json or html", field="f")])
        return f == "html"
    return "text/html" in request.headers.get("accept", "")


def _json(body: Any, media_type: str = docs.JSON, **headers: str) -> Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(raw, media_type=media_type, headers=headers or None)


async def _reader(request: Request, collection_id: str | None = None) -> Principal:
    """The caller (401 without a token), with the role the collection needs (else 403)."""
    principal = await authenticate(request)
    need = Role.viewer
    if collection_id is not None:
        need = Role.parse(ogc.collection_or_404(collection_id).read_role)
    if principal.role < need:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"this collection needs the {need.name} role or higher; your "
                            f"token has {principal.role.name}")
    return principal


async def _planner(request: Request) -> Principal:
    principal = await authenticate(request)
    if principal.role < Role.planner:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "editing cells needs the planner role")
    return principal


def _engine(request: Request) -> Any:
    return request.app.state.engine


# -- open resources ---------------------------------------------------------------------------
async def landing(request: Request) -> Response:
    doc = docs.landing(_links(request), title=ogc.TITLE, description=ogc.DESCRIPTION)
    if _html(request):
        return HTMLResponse(ogc_html.document(ogc.TITLE, doc))
    return _json(doc)


async def conformance(request: Request) -> Response:
    doc = docs.conformance()
    if _html(request):
        return HTMLResponse(ogc_html.document("Conformance", doc))
    return _json(doc)


async def api(request: Request) -> Response:
    return _json(openapi.document(_links(request).base, __version__), docs.OPENAPI)


async def api_html(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=_links(request).href("/api"), title="gridsvc OGC API",
        swagger_js_url="/static/maps/swagger-ui-dist/swagger-ui-bundle.js",
        swagger_css_url="/static/maps/swagger-ui-dist/swagger-ui.css",
        swagger_favicon_url="/static/maps/swagger-ui-dist/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None})


# -- reads ------------------------------------------------------------------------------------
async def collections(request: Request) -> Response:
    await _reader(request)
    plan = _query_plan(request)
    doc = await run_in_threadpool(ogc.collections, _engine(request), _links(request), plan)
    if _html(request):
        return HTMLResponse(ogc_html.collections(doc))
    return _json(doc)


def _query_plan(request: Request) -> int | None:
    """The plan of the path, else of ``?plan=`` (checked: a whole number)."""
    if (plan := _plan(request)) is not None:
        return plan
    value = request.query_params.get("plan")
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput([Problem(f"plan is a plan id, not {value!r}", field="plan")])
    return int(value)


async def collection(request: Request, collection_id: str) -> Response:
    await _reader(request, collection_id)
    doc = await run_in_threadpool(ogc.collection, _engine(request), _links(request),
                                  collection_id, _query_plan(request))
    if _html(request):
        return HTMLResponse(ogc_html.document(doc["title"], doc))
    return _json(doc)


async def queryables(request: Request, collection_id: str) -> Response:
    await _reader(request, collection_id)
    doc = ogc.queryables(_links(request), collection_id)
    if _html(request):
        return HTMLResponse(ogc_html.document(f"Queryables of {collection_id}", doc))
    return _json(doc, docs.SCHEMA)


async def schema(request: Request, collection_id: str) -> Response:
    await _reader(request, collection_id)
    doc = ogc.schema(_links(request), collection_id)
    if _html(request):
        return HTMLResponse(ogc_html.document(f"Schema of {collection_id}", doc))
    return _json(doc, docs.SCHEMA)


async def items(request: Request, collection_id: str) -> Response:
    await _reader(request, collection_id)
    html = _html(request)
    page = await run_in_threadpool(
        ogc.items, _engine(request), _links(request), collection_id,
        list(request.query_params.multi_items()), _plan(request))
    if html:
        return HTMLResponse(ogc_html.features(collection_id, orjson.loads(page.body)))
    return _json(page.body, docs.GEOJSON, **{"Content-Crs": page.crs.header()})


async def item(request: Request, collection_id: str, feature_id: str) -> Response:
    await _reader(request, collection_id)
    html = _html(request)
    body, etag, crs = await run_in_threadpool(
        ogc.item, _engine(request), _links(request), collection_id, feature_id,
        list(request.query_params.multi_items()), _plan(request))
    if html:
        return HTMLResponse(ogc_html.features(f"{collection_id} {feature_id}",
                                              orjson.loads(body)), headers={"ETag": etag})
    return _json(body, docs.GEOJSON, ETag=etag, **{"Content-Crs": crs.header()})


async def options_items(request: Request, collection_id: str) -> Response:
    await _reader(request, collection_id)
    methods = await run_in_threadpool(ogc.allowed_methods, _engine(request), collection_id,
                                      _query_plan(request), item=False)
    return Response(status_code=204, headers={"Allow": ", ".join(methods)})


async def options_item(request: Request, collection_id: str, feature_id: str) -> Response:
    await _reader(request, collection_id)
    methods = await run_in_threadpool(ogc.allowed_methods, _engine(request), collection_id,
                                      _query_plan(request), item=True)
    return Response(status_code=204, headers={"Allow": ", ".join(methods)})


# -- writes (cells of a draft) ----------------------------------------------------------------
async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput([Problem(f"the body is not JSON: {exc}", field="body")]) from None
    if not isinstance(body, dict):
        raise InvalidInput([Problem("send a GeoJSON Feature", field="body")])
    return body


async def _write(request: Request, collection_id: str, feature_id: str | None, action: str
                 ) -> dict[str, Any]:
    principal = await _planner(request)
    c = ogc.collection_or_404(collection_id)
    if not c.editable:
        raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED,
                            f"{collection_id} is read-only: only cells of a draft plan can "
                            "be edited", headers={"Allow": "GET, HEAD, OPTIONS"})
    feature = None if action == "delete" else await _body(request)
    return await run_in_threadpool(lambda: ogc.write(
        _engine(request), collection_id, _query_plan(request), action=action,
        feature_id=feature_id, feature=feature,
        content_crs=request.headers.get("content-crs"),
        if_match=request.headers.get("if-match"), actor=principal.name,
        idempotency_key=request.headers.get("idempotency-key")))


def _written(done: dict[str, Any], code: int = 200, **headers: str) -> Response:
    if done["etag"]:
        headers["ETag"] = done["etag"]
    return _json(done["edit"], **headers) if code == 200 else Response(
        orjson.dumps(done["edit"]), status_code=code, media_type=docs.JSON, headers=headers)


async def create(request: Request, collection_id: str) -> Response:
    done = await _write(request, collection_id, None, "create")
    location = _links(request).href(f"/collections/{collection_id}/items/{done['id']}")
    return _written(done, 201, Location=location)


async def replace(request: Request, collection_id: str, feature_id: str) -> Response:
    return _written(await _write(request, collection_id, feature_id, "replace"))


async def update(request: Request, collection_id: str, feature_id: str) -> Response:
    return _written(await _write(request, collection_id, feature_id, "update"))


async def delete(request: Request, collection_id: str, feature_id: str) -> Response:
    return _written(await _write(request, collection_id, feature_id, "delete"))


_ROUTES: list[tuple[str, Callable[..., Any], list[str], str]] = [
    ("", landing, ["GET"], "OGC API landing page (open)"),
    ("/", landing, ["GET"], "OGC API landing page (open)"),
    ("/conformance", conformance, ["GET"], "conformance classes (open)"),
    ("/api", api, ["GET"], "the OpenAPI 3.0 description (open)"),
    ("/api.html", api_html, ["GET"], "the API documentation (open)"),
    ("/collections", collections, ["GET"], "the collections"),
    ("/collections/{collection_id}", collection, ["GET"], "one collection"),
    ("/collections/{collection_id}/queryables", queryables, ["GET"], "queryables"),
    ("/collections/{collection_id}/schema", schema, ["GET"], "schema of the features"),
    ("/collections/{collection_id}/items", items, ["GET"], "features, a page at a time"),
    ("/collections/{collection_id}/items", options_items, ["OPTIONS"], "methods allowed"),
    ("/collections/{collection_id}/items", create, ["POST"], "add a cell to a draft"),
    ("/collections/{collection_id}/items/{feature_id}", item, ["GET"], "one feature"),
    ("/collections/{collection_id}/items/{feature_id}", options_item, ["OPTIONS"],
     "methods allowed"),
    ("/collections/{collection_id}/items/{feature_id}", replace, ["PUT"],
     "replace a cell's geometry in a draft"),
    ("/collections/{collection_id}/items/{feature_id}", update, ["PATCH"],
     "update a cell's geometry in a draft"),
    ("/collections/{collection_id}/items/{feature_id}", delete, ["DELETE"],
     "retire a cell in a draft"),
]

_OPEN = {"", "/", "/conformance", "/api", "/api.html"}
for _prefix in PREFIXES:
    for _path, _endpoint, _methods, _summary in _ROUTES:
        # In the app's OpenAPI: one copy of each protected route (/ogc/api describes the OGC
        # API, open resources included; the app's guard test holds every path it lists to a 401).
        router.add_api_route(_prefix + _path, _endpoint, methods=_methods, summary=_summary,
                             include_in_schema=_prefix == "/ogc" and _path not in _OPEN,
                             response_class=Response)
        if _methods == ["GET"]:  # HEAD wherever GET (/rec/core/head); the server sends no body
            router.add_api_route(_prefix + _path, _endpoint, methods=["HEAD"],
                                 include_in_schema=False, response_class=Response)
