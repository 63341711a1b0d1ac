"""``POST /api/v1/assign``: bulk assignment of an uploaded file of points, streamed back."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import require
from gridsvc.api.fields import crs_field, text
from gridsvc.domain.accounts import Role
from gridsvc.services.assign_files import assign_with_plan

router = APIRouter(prefix="/api/v1", tags=["assign"])

#: Upload formats by Content-Type (its main part), with the suffix the reader wants.
UPLOADS = {"text/csv": "csv", "application/csv": "csv", "application/geo+json": "geojson",
           "application/json": "geojson", "application/vnd.apache.parquet": "parquet",
           "application/x-parquet": "parquet"}
MEDIA = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json",
         "parquet": "application/vnd.apache.parquet"}
CHUNK = 1 << 20
#: Layers to assign: a comma-separated list of cell kinds.
LAYERS = "^(town|village|grid|station|beat)(,(town|village|grid|station|beat))*$"


async def _save_upload(request: Request, folder: Path, suffix: str, limit: int) -> Path:
    path = folder / f"input.{suffix}"
    size = 0
    with open(path, "wb") as fh:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"the upload is larger than {limit:,} bytes; split it, "
                                         "or use the command line: gridsvc assign")
            fh.write(chunk)
    if size == 0:
        raise HTTPException(422, "the request body is empty: send the points file as the body")
    return path


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def _geojson_features(path: Path) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection from a GeoParquet file of points, batch by batch."""
    import pyarrow.parquet as pq
    import shapely

    yield b'{"type":"FeatureCollection","features":['
    first = True
    for batch in pq.ParquetFile(path).iter_batches(batch_size=20_000):
        rows = batch.to_pylist()
        geoms = shapely.from_wkb([r.pop("geometry", None) for r in rows])
        parts = []
        for props, geom in zip(rows, geoms, strict=True):
            g = None if geom is None else {"type": "Point", "coordinates": [geom.x, geom.y]}
            parts.append(json.dumps({"type": "Feature", "properties": props, "geometry": g},
                                    ensure_ascii=False, default=str))
        if parts:
            yield (("" if first else ",") + ",".join(parts)).encode()
            first = False
    yield b"]}"


@router.post("/assign", summary="Assign every point of an uploaded file to the cells, streamed",
             dependencies=[Depends(require(Role.viewer))], response_class=StreamingResponse,
             responses={200: {"description": "the points with their cells, in `output`",
                              "content": {t.split(";")[0]: {"schema": {
                                  "type": "string", "format": "binary"}}
                                  for t in MEDIA.values()}}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 t: {"schema": {"type": "string", "format": "binary"}} for t in UPLOADS}}})
async def assign(
    request: Request,
    x: Annotated[text(200, 1) | None, Query(description="CSV: the x (longitude) column")]
    = None,
    y: Annotated[text(200, 1) | None, Query(description="CSV: the y (latitude) column")]
    = None,
    crs: Annotated[str | None, Query(**crs_field(
        description="CRS of the points (default: the file's, or EPSG:4326 for CSV); gcj02, "
                    "bd09 too"))] = None,
    layers: Annotated[str | None, Query(pattern=LAYERS, description="e.g. grid,beat "
                                        "(default: all five)")] = None,
    as_of: Annotated[date | None, Query(description="boundaries in effect on this date")] = None,
    output: Annotated[Literal["csv", "geojson", "parquet"] | None,
                      Query(description="default: the upload's format")] = None,
) -> StreamingResponse:
    """The body is the file: CSV (``text/csv``, coordinates in columns named by ``x``/``y`` or
    found by name), GeoJSON (``application/geo+json``) or GeoParquet
    (``application/vnd.apache.parquet``), up to the service's upload limit (200 MB by
    default: about 2,000,000 CSV rows). The answer has the same rows and columns, then per
    layer ``<kind>_id``, and ``<kind>_nearest_id``/``<kind>_distance_m`` for points outside the
    layer. Bad input is a 422 naming the row and column, and nothing is streamed.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = UPLOADS.get(kind)
    if suffix is None:
        raise HTTPException(415, f"send text/csv, application/geo+json or "
                                 f"application/vnd.apache.parquet, not {kind or 'nothing'}")
    out_format = output or suffix
    folder = Path(tempfile.mkdtemp(prefix="gridsvc-assign-"))
    try:
        source = await _save_upload(request, folder, suffix,
                                    request.app.state.settings.max_upload_bytes)
        target = folder / ("output.csv" if out_format == "csv" else "output.parquet")
        await run_in_threadpool(
            assign_with_plan, request.app.state.engine, source, target, x=x, y=y, crs=crs,
            layers=[k.strip() for k in layers.split(",") if k.strip()] if layers else None,
            as_of=as_of)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    body = _geojson_features(target) if out_format == "geojson" else _file_chunks(target)
    return StreamingResponse(body, media_type=MEDIA[out_format],
                             background=BackgroundTask(shutil.rmtree, folder, True))
