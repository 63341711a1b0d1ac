"""The one table that maps errors to HTTP status codes, and the one error shape they answer.

Every 4xx (and 503) body is ``{"detail": str, "problems": [{"message", "feature", "field"}]}``:
domain errors (:mod:`gridsvc.errors`), FastAPI's validation errors (a missing or malformed
parameter or body field: 422, ``field`` names it) and HTTP errors raised by the routes or by
Starlette itself (401, 403, 404 of an unknown path, 405, 413, 415). :data:`ERROR_SCHEMA` is that
shape as JSON Schema; :mod:`gridsvc.api.openapi` declares it on every operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from gridsvc.db.outage import UNAVAILABLE
from gridsvc.domain.events.states import IllegalTransition
from gridsvc.errors import (
    Conflict,
    DatabaseUnavailable,
    GridsvcError,
    InvalidInput,
    MissingDependency,
    NotFound,
    Problem,
)

STATUS: dict[type[GridsvcError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    IllegalTransition: 409,
    DatabaseUnavailable: 503,
    MissingDependency: 503,
}

#: Where FastAPI found a bad value (the first item of a validation error's ``loc``).
_PLACES = {"query": "query parameter", "path": "path parameter", "header": "header",
           "cookie": "cookie", "body": "body field"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object", "title": "Problem",
    "required": ["message", "feature", "field"],
    "properties": {
        "message": {"type": "string", "description": "what is wrong, in words to act on"},
        "feature": {"type": ["string", "null"],
                    "description": "the feature or row, e.g. \"row 12\"; null: the whole input"},
        "field": {"type": ["string", "null"],
                  "description": "the parameter, header or body field (\"ids[1]\", "
                                 "\"area.type\"); null: not about one field"},
    },
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "title": "Error",
    "required": ["detail", "problems"],
    "properties": {
        "detail": {"type": "string", "description": "what went wrong, in one message"},
        "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"},
                     "description": "each problem of the input (empty when not about input)"},
    },
}


def body(detail: str, problems: Sequence[Problem] = ()) -> dict[str, Any]:
    """The error shape: ``{"detail": ..., "problems": [...]}``."""
    return {"detail": detail, "problems": [
        {"message": p.message, "feature": p.feature, "field": p.field} for p in problems]}


def _body(exc: GridsvcError) -> dict[str, Any]:
    return body(str(exc), exc.problems if isinstance(exc, InvalidInput) else ())


def _field(loc: Sequence[int | str]) -> str | None:
    """``("body", "ids", 2, "x")`` -> ``"ids[2].x"``; ``("query", "lon")`` -> ``"lon"``."""
    out = ""
    for part in loc[1:] if loc and loc[0] in _PLACES else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def validation_problem(error: dict[str, Any]) -> Problem:
    """One of FastAPI's (pydantic's) validation errors as a :class:`Problem` naming its field.

    A body that is not JSON at all has no field (its ``loc`` is the character position); a
    missing body is field ``body``.
    """
    loc = tuple(error.get("loc", ()))
    place = _PLACES.get(str(loc[0]) if loc else "", "request")
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        return Problem(f"the body is not valid JSON: {reason}".rstrip(": "), field=None)
    if loc == ("body",):
        return Problem(f"{message}: send a JSON body", field="body")
    field = _field(loc)
    if place == "header" and field:  # FastAPI lower-cases header names: "If-Match", as sent
        field = "-".join(w.capitalize() for w in field.split("-"))
    return Problem(f"{message} ({place})", field=field)


def install(app: FastAPI) -> None:
    """Register the handlers: domain errors by :data:`STATUS` (an unlisted subclass gets its
    base's code, else 400), validation errors as 422, HTTP errors with their own code."""

    async def domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GridsvcError)
        code = next((c for t, c in STATUS.items() if isinstance(exc, t)), 400)
        return JSONResponse(_body(exc), status_code=code)

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(_body(InvalidInput([validation_problem(e) for e in exc.errors()])),
                            status_code=422)

    async def http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (204, 304):  # no body allowed
            return Response(status_code=exc.status_code, headers=exc.headers)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(body(detail), status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(GridsvcError, domain)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)

    async def denied(_: Request, exc: Exception) -> JSONResponse:
        # A write that row-level security refuses (a row outside the caller's scope): 403.
        # The same SQLSTATE also means a missing GRANT, which is a bug to fix, not a 403.
        orig = getattr(exc, "orig", None)
        if getattr(orig, "sqlstate", None) == "42501" and "row-level security" in str(orig):
            return JSONResponse(body("this row is outside your scope"), status_code=403)
        raise exc

    app.add_exception_handler(DBAPIError, denied)
    _install_unavailable(app)


#: Seconds a client is asked to wait before trying again while the database is away.
RETRY_AFTER = 5
UNAVAILABLE_DETAIL = "database unavailable: try again shortly"
#: Headers of an answer given from memory while the database is away (lookup, dispatch).
DEGRADED_HEADERS = {"X-Gridsvc-Degraded": "database unavailable; answered from memory"}


def _install_unavailable(app: FastAPI) -> None:
    """Every sign that the database cannot answer now (:data:`gridsvc.db.outage.UNAVAILABLE`:
    a lost or refused connection, a server shutting down, ``DatabaseUnavailable``) is a 503
    with ``Retry-After``, in the one error shape. The body says no more than that: the driver's
    message names sockets, hosts and users, which are no business of a caller."""

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        watch = getattr(request.app.state, "db_watch", None)
        if watch is not None:
            watch.failed(exc)
        return JSONResponse({"detail": UNAVAILABLE_DETAIL, "problems": []},
                            status_code=STATUS[DatabaseUnavailable],
                            headers={"Retry-After": str(RETRY_AFTER)})

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, unavailable)
