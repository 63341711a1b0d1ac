"""The one table that maps domain errors to HTTP status codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

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

    async def denied(_: Request, exc: Exception) -> JSONResponse:
        # A write that row-level security refuses (a row outside the caller's scope): 403.
        if getattr(getattr(exc, "orig", None), "sqlstate", None) == "42501":
            return JSONResponse({"detail": "this row is outside your scope"}, status_code=403)
        raise exc

    app.add_exception_handler(DBAPIError, denied)
