"""``/api/v1/lookup``: which cells cover a point, who answers for them, the nearest office.

This is the dispatcher's hot path, so it is a plain Starlette route: FastAPI's parameter
machinery costs more than the lookup itself (measured: ~140 µs of ~280 µs a request). The
parameters are parsed here and their documentation is written out in :data:`OPENAPI`.
"""

from __future__ import annotations

import math
import re
from datetime import date

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gridsvc.api.auth import require
from gridsvc.api.fields import CRS_LENGTH, CRS_PATTERN
from gridsvc.domain.accounts import Role
from gridsvc.errors import InvalidInput, Problem

PATH = "/api/v1/lookup"
_viewer = require(Role.viewer)


def _number(request: Request, name: str, problems: list[Problem]) -> float:
    text = request.query_params.get(name)
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        problems.append(Problem(f"{name} must be a number, got {text!r}", field=name))
    return value


def _date(request: Request, problems: list[Problem]) -> date | None:
    text = request.query_params.get("as_of")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(Problem(f"as_of must be a date like 2026-11-23, got {text!r}",
                                field="as_of"))
        return None


async def lookup(request: Request) -> Response:
    """Per layer the covering cell, the responsible people, the nearest office (see OPENAPI)."""
    principal = await _viewer(request)
    problems: list[Problem] = []
    lon, lat = _number(request, "lon", problems), _number(request, "lat", problems)
    as_of = _date(request, problems)
    crs = request.query_params.get("crs") or "4326"
    if len(crs) > CRS_LENGTH or not re.fullmatch(CRS_PATTERN, crs):
        problems.append(Problem(f"crs must be an EPSG code, gcj02, bd09, a PROJ string or WKT "
                                f"(printable ASCII, up to {CRS_LENGTH:,} characters), not "
                                f"{crs[:50]!r}", field="crs"))
    if problems:
        raise InvalidInput(problems)
    # People outside the caller's scope are left out (cells and offices are for everyone).
    answer = request.app.state.lookup.lookup(lon, lat, crs, as_of, principal.scope)
    if principal.role < Role.dispatcher:  # phones are for dispatchers and above
        answer["people"] = {kind: [{**p, "phone": None} for p in people]
                            for kind, people in answer["people"].items()}
    # orjson: a tenth of the stdlib encoder's time on this answer (~30 µs of a request).
    return Response(orjson.dumps(answer), media_type="application/json")


route = Route(PATH, lookup, methods=["GET"])


def _param(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema}


OPENAPI = {"get": {
    "tags": ["lookup"],
    "summary": "Cells, responsible people and nearest police office of a point",
    "description": (
        "Per layer (town, village, grid, station, beat) the covering cell (boundary included; "
        "on a shared edge the lowest id), or the nearest cell and its distance when none "
        "covers the point; the beat's officers and the grid's grid workers; the nearest "
        "police office and its geodesic distance. People outside the caller's scope are "
        "left out. Phone numbers are shown to dispatchers and above; a viewer sees names and "
        "roles. Needs a bearer token (viewer or above). The answer comes from memory: no "
        "database round trip."),
    "operationId": "lookup",
    "security": [{"bearer": []}],
    "parameters": [
        _param("lon", "longitude (or easting), in `crs`", {"type": "number"}, True),
        _param("lat", "latitude (or northing), in `crs`", {"type": "number"}, True),
        _param("crs", "EPSG code, any CRS pyproj knows, gcj02 or bd09",
               {"type": "string", "default": "4326", "minLength": 1,
                "maxLength": CRS_LENGTH, "pattern": CRS_PATTERN}),
        _param("as_of", "answer with the boundaries in effect on this date",
               {"type": "string", "format": "date"}),
    ],
    "responses": {
        "200": {"description": "cells, people, nearest office",
                "content": {"application/json": {"schema": {"type": "object"}}}},
        "401": {"description": "no valid bearer token"},
        "404": {"description": "no plan in effect on that date"},
        "422": {"description": "bad coordinates, CRS or date; says when lat/lon look swapped"},
    },
}}
