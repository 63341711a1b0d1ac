"""The one table that maps domain errors to HTTP status codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gridsvc.db.outage import UNAVAILABLE
from gridsvc.errors import (
    Conflict,
    DatabaseUnavailable,
    GridsvcError,
    InvalidInput,
    NotFound,
)

STATUS: dict[type[GridsvcError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    DatabaseUnavailable: 503,
}


def _body(exc: GridsvcError) -> dict[str, object]:
    if isinstance(exc, InvalidInput):
        return {"detail": str(exc), "problems": [
            {"message": p.message, "feature": p.feature, "field": p.field} for p in exc.problems]}
    return {"detail": str(exc)}


def install(app: FastAPI) -> None:
    """Register a handler for every domain error; an unlisted subclass gets its base's code."""

    async def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GridsvcError)
        code = next((c for t, c in STATUS.items() if isinstance(exc, t)), 400)
        return JSONResponse(_body(exc), status_code=code)

    app.add_exception_handler(GridsvcError, handle)
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
