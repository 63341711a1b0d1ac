"""``/api/v1/lookup``: which cells cover a point, who answers for them, the nearest office."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from gridsvc.api.auth import Principal, require
from gridsvc.domain.auth import Role

router = APIRouter(prefix="/api/v1", tags=["lookup"])


@router.get("/lookup", summary="Cells, responsible people and nearest police office of a point")
async def lookup(
    request: Request,
    principal: Annotated[Principal, Depends(require(Role.viewer))],
    lon: Annotated[float, Query(description="longitude (or easting), in `crs`")],
    lat: Annotated[float, Query(description="latitude (or northing), in `crs`")],
    crs: Annotated[str, Query(description="EPSG code, any CRS pyproj knows, gcj02 or bd09")]
    = "4326",
    as_of: Annotated[date | None, Query(description="boundaries in effect on this date")] = None,
) -> JSONResponse:
    """Per layer (town, village, grid, station, beat) the covering cell (boundary included; on a
    shared edge the lowest id), or the nearest cell and its distance when none covers the point;
    the beat's officers and the grid's grid workers; the nearest police office and its distance.

    Phone numbers are shown to dispatchers and above; a viewer sees names and roles only.
    The answer comes from memory (no database round trip): this is the dispatcher's hot path.
    """
    answer = request.app.state.lookup.lookup(lon, lat, crs, as_of)
    if principal.role < Role.dispatcher:
        answer["people"] = {kind: [{**p, "phone": None} for p in people]
                            for kind, people in answer["people"].items()}
    # The answer is plain JSON already: skip FastAPI's encoder on this hot path.
    return JSONResponse(answer)
