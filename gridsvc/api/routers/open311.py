"""Open311 GeoReport v2 at ``/open311/v2``: the same events, for Open311 clients and city
dashboards (services, service definitions, service requests read and filed, tokens).

Every answer is JSON or XML by the path's extension (``services.json``, ``services.xml``), and
every error is the spec's array of ``{code, description}`` (400 bad or missing parameters, 401
no credential, 403 a role too low or a row outside the caller's scope, 404 unknown service or
request), not the error shape of the rest of the API: :class:`Open311Route` converts them.

Sign-in: the spec's ``api_key`` (a gridsvc personal or service token) as a query or form field,
or any credential the rest of the API takes (bearer header, session cookie), or HTTP Basic with
the token as the password (for clients that only know a ``.netrc``). Reads need the viewer
role, filing a request the reporter role; what is seen is the caller's scope.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from gridsvc.api import auth
from gridsvc.api.errors import validation_problem
from gridsvc.api.fields import Text
from gridsvc.db import rls
from gridsvc.domain.accounts import Principal, Role
from gridsvc.domain.events import open311 as o311
from gridsvc.errors import Conflict, DatabaseUnavailable, GridsvcError, InvalidInput, NotFound
from gridsvc.services import accounts
from gridsvc.services import events as service

Format = Annotated[Literal["json", "xml"], Path(description="answer as JSON or XML")]
_CODES = {InvalidInput: 400, NotFound: 404, Conflict: 409, DatabaseUnavailable: 503}


class Open311Route(APIRoute):
    """A route whose errors are the spec's ``[{code, description}]``, in the asked format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except o311.Open311Error as exc:
                return _error(request, exc.code, [exc.description])
            except RequestValidationError as exc:
                return _error(request, 400, [str(validation_problem(e)) for e in exc.errors()])
            except HTTPException as exc:
                return _error(request, exc.status_code, [str(exc.detail)], exc.headers)
            except InvalidInput as exc:
                return _error(request, 400, [str(p) for p in exc.problems] or [str(exc)])
            except GridsvcError as exc:
                code = next((c for t, c in _CODES.items() if isinstance(exc, t)), 400)
                return _error(request, code, [str(exc)])
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) == "42501":
                    return _error(request, 403, ["this row is outside your scope"])
                raise

        return guarded


def _error(request: Request, code: int, descriptions: list[str],
           headers: dict[str, str] | None = None) -> Response:
    body = o311.error_body(code, descriptions)
    if request.url.path.endswith(".xml"):
        return Response(o311.to_xml("errors", body), status_code=code, headers=headers,
                        media_type="application/xml")
    return JSONResponse(body, status_code=code, headers=headers)


class Open311Error(BaseModel):
    """One error of the spec's error array."""

    code: int
    description: str


_XML = {"application/xml": {"schema": {"type": "string"}}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": list[Open311Error], "description": what, "content": _XML}
    for code, what in (
        (400, "a parameter is missing or wrong (each one named)"),
        (401, "no valid api_key, bearer token or session"),
        (403, "the role is too low, or the request is outside your scope"),
        (404, "no such service or service request"), (409, "the change clashes"),
        (503, "the database is unavailable: try again shortly"))}

router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route,
                   responses=_ERRORS)


def _secret(request: Request, api_key: str | None) -> str | None:
    if api_key:
        return api_key
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return None
    return auth.secret_from(request)


async def _caller(request: Request, api_key: str | None, role: Role) -> Principal:
    """The caller, like :func:`gridsvc.api.auth.authenticate`, from any of the Open311 ways."""
    token = _secret(request, api_key)
    principal = None
    if token:
        principal = request.app.state.token_cache.get(token)
        if principal is None:
            principal = await run_in_threadpool(accounts.authenticate,
                                                request.app.state.system_engine, token)
            if principal is not None:
                request.app.state.token_cache.put(token, principal)
    if principal is None:
        raise HTTPException(401, "a valid api_key (a gridsvc token) is required",
                            headers={"WWW-Authenticate": 'Basic realm="open311"'})
    rls.current_account.set(principal.account_id)
    request.state.principal = principal
    if principal.role < role:
        raise HTTPException(403, f"this needs the {role.name} role or higher; you have "
                                 f"{principal.role.name}")
    return principal


ApiKey = Annotated[Text | None, Query(max_length=200, description="a gridsvc token (or send "
                                      "it as a bearer token)")]
Jurisdiction = Annotated[Text | None, Query(max_length=200, description="ignored: one "
                                            "jurisdiction")]


async def reader(request: Request, api_key: ApiKey = None,
                 jurisdiction_id: Jurisdiction = None) -> Principal:
    return await _caller(request, api_key, Role.viewer)


Reader = Annotated[Principal, Depends(reader)]


def _answer(fmt: str, kind: str, value: Any, status_code: int = 200) -> Response:
    if fmt == "xml":
        return Response(o311.to_xml(kind, value), status_code=status_code,
                        media_type="application/xml")
    return JSONResponse(value, status_code=status_code)


def _names(engine: Any) -> dict[str, str]:
    return {c["code"]: c["name"] for c in service.catalogue(engine)}


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue] | None = None


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str
    address_id: str
    zipcode: str
    lat: float | None
    long: float | None
    media_url: str


class Filed(BaseModel):
    service_request_id: str
    token: str
    service_notice: str
    account_id: str


class Token(BaseModel):
    service_request_id: str
    token: str


def _ok(model: Any) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "content": _XML}}


@router.get("/services.{fmt}", summary="Open311: the services (event categories)",
            responses=_ok(list[Service]), response_class=JSONResponse)
async def services(request: Request, fmt: Format, _: Reader) -> Response:
    found = await run_in_threadpool(service.catalogue, request.app.state.engine)
    return _answer(fmt, "services", o311.services(found))


@router.get("/services/{service_code}.{fmt}",
            summary="Open311: a service's definition (the attributes a request may carry)",
            responses=_ok(ServiceDefinition), response_class=JSONResponse)
async def service_definition(
    request: Request, fmt: Format, _: Reader,
    service_code: Annotated[Text, Path(max_length=64, description="a service_code")],
) -> Response:
    names = await run_in_threadpool(_names, request.app.state.engine)
    if service_code not in names:
        raise o311.Open311Error(404, f"no service {service_code!r}")
    return _answer(fmt, "service_definition", o311.service_definition(service_code))


def _since(value: datetime | None) -> datetime | None:
    # The spec's w3 datetimes may come without a zone: read them as UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("/requests.{fmt}", summary="Open311: service requests (events) in your scope",
            responses=_ok(list[ServiceRequest]), response_class=JSONResponse)
async def requests_list(
    request: Request, fmt: Format, _: Reader,
    service_request_id: Annotated[Text | None, Query(
        max_length=2000, description="ids, comma delimited (overrides the other filters)")]
    = None,
    service_code: Annotated[Text | None, Query(max_length=2000, description="service codes, "
                                               "comma delimited")] = None,
    start_date: Annotated[datetime | None, Query(description="earliest requested_datetime "
                                                 "(w3 format; default 90 days before "
                                                 "end_date or now)")] = None,
    end_date: Annotated[datetime | None, Query(description="latest requested_datetime (at "
                                               "most 90 days after start_date)")] = None,
    status: Annotated[Text | None, Query(max_length=40, description="open, closed (comma "
                                         "delimited)")] = None,
) -> Response:
    ids = o311.parse_ids(service_request_id)
    statuses = o311.parse_statuses(status)
    codes = [c.strip() for c in (service_code or "").split(",") if c.strip()] or [None]
    since, until = o311.window(_since(start_date), _since(end_date), datetime.now(UTC))
    engine = request.app.state.engine

    def read() -> list[dict[str, Any]]:
        names = _names(engine)
        if ids is not None:
            events = []
            for event_id in ids:
                try:
                    events.append(service.get_event(engine, event_id))
                except NotFound:
                    continue  # the spec answers the ids that exist
            return [o311.to_request(e, names) for e in events]
        out: dict[int, dict[str, Any]] = {}
        for code in codes:
            found = service.list_events(engine, state=None, grid_id=None, category=code,
                                        since=since, until=until, overdue=None,
                                        reporter_account_id=None, limit=1000, offset=0)
            out.update((e["id"], e) for e in found["items"])
        rows = [o311.to_request(e, names) for e in out.values()]
        return [r for r in rows if statuses is None or r["status"] in statuses]

    return _answer(fmt, "service_requests", await run_in_threadpool(read))


async def filer(request: Request) -> Principal:
    """A reporter or higher; the ``api_key`` may come in the form (read here, before the
    form's fields are checked, so a caller without a credential gets the 401 first)."""
    key = request.query_params.get("api_key")
    if key is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("api_key")
        key = value if isinstance(value, str) else None
    return await _caller(request, key, Role.reporter)


@router.post("/requests.{fmt}", status_code=201, dependencies=[Depends(filer)],
             summary="Open311: file a service request (an event, reported by you)",
             responses={201: {"model": list[Filed], "content": _XML},
                        200: {"model": list[Filed], "content": _XML,
                              "description": "the same request was filed before: its id"}},
             response_class=JSONResponse)
async def requests_create(
    request: Request, fmt: Format,
    service_code: Annotated[Text | None, Form(max_length=64)] = None,
    lat: Annotated[Text | None, Form(max_length=40, description="WGS84 latitude")] = None,
    long: Annotated[Text | None, Form(max_length=40, description="WGS84 longitude")] = None,
    address_string: Annotated[Text | None, Form(max_length=200, description="a house, e.g. "
                                                "东灌底村203号")] = None,
    description: Annotated[Text | None, Form(max_length=o311.MAX_TEXT)] = None,
    grade: Annotated[Text | None, Form(alias="attribute[grade]", max_length=20)] = None,
    parties: Annotated[Text | None, Form(alias="attribute[parties]",
                                         max_length=o311.MAX_TEXT)] = None,
    house: Annotated[Text | None, Form(alias="attribute[house]", max_length=200)] = None,
    api_key: Annotated[Text | None, Form(max_length=200)] = None,
    jurisdiction_id: Annotated[Text | None, Form(max_length=200)] = None,
    idempotency_key: Annotated[str | None, Header(
        max_length=200, pattern="^[!-~]+$",
        description="a retry with the same key files nothing new (default: the same "
                    "account sending the same fields on the same day)")] = None,
) -> Response:
    principal: Principal = request.state.principal
    fields = {"service_code": service_code, "lat": lat, "long": long,
              "address_string": address_string, "description": description,
              "attribute[grade]": grade, "attribute[parties]": parties,
              "attribute[house]": house}
    data = o311.to_event(fields)
    key = idempotency_key or o311.idempotency_key(principal.name, fields,
                                                  datetime.now(UTC).date())
    engine = request.app.state.engine
    names = await run_in_threadpool(_names, engine)
    if data["category"] not in names:
        raise o311.Open311Error(404, f"no service {data['category']!r}")
    state, settings = request.app.state, request.app.state.settings
    # The same intake as POST /api/v1/events: the app's parser and lookup, its settings.
    event, created = await run_in_threadpool(lambda: service.create_event(
        engine, data, actor=principal.name, account_id=principal.account_id,
        idempotency_key=key, dispatch=state.dispatch, lookup=state.lookup,
        near_boundary_m=float(settings.events_near_boundary_m),
        working_hours=service.calendar(settings)))
    filed = {"service_request_id": str(event["id"]), "token": str(event["id"]),
             "service_notice": event.get("business_id") or "",
             "account_id": str(principal.account_id or "")}
    return _answer(fmt, "service_requests", [filed], 201 if created else 200)


@router.get("/requests/{service_request_id}.{fmt}", summary="Open311: one service request",
            responses=_ok(list[ServiceRequest]), response_class=JSONResponse)
async def request_one(
    request: Request, fmt: Format, _: Reader,
    service_request_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> Response:
    engine = request.app.state.engine

    def read() -> list[dict[str, Any]]:
        return [o311.to_request(service.get_event(engine, service_request_id), _names(engine))]

    return _answer(fmt, "service_requests", await run_in_threadpool(read))


@router.get("/tokens/{token}.{fmt}", summary="Open311: the request a POST's token stands for",
            responses=_ok(list[Token]), response_class=JSONResponse)
async def token(request: Request, fmt: Format, _: Reader,
                token: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> Response:
    event = await run_in_threadpool(service.get_event, request.app.state.engine, token)
    return _answer(fmt, "service_requests",
                   [{"service_request_id": str(event["id"]), "token": str(token)}])
