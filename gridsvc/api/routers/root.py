"""The root page: what this service is and where its parts are. It shows no data."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from gridsvc import __version__

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>gridsvc 警格·网格</title>
<style>body{{font-family:sans-serif;max-width:46rem;margin:2rem auto;line-height:1.5}}
code{{background:#eee;padding:0 .2em}}</style></head>
<body><h1>gridsvc {version}</h1>
<p>警格（派出所、警务区）与网格（乡镇、村、网格）双网融合服务。
Police grid and governance grid, fused, on PostGIS.</p>
<ul>
<li><a href="/maps/coverage">指挥中心地图 command-centre map</a> (sign in with a token at
<a href="/login">/login</a>) · <a href="/maps/risk">分色预警 risk</a> ·
<a href="/maps/incidents">警情 incidents</a></li>
<li><a href="/docs">API documentation (OpenAPI)</a> · <a href="/openapi.json">openapi.json</a></li>
<li><a href="/healthz">/healthz</a>: service and database status (no token needed)</li>
<li><code>/api/v1/areas?kind=grid</code>: grids as GeoJSON
(and kind=town, village, station, beat)</li>
</ul>
<p>Every API route needs a bearer token: <code>gridsvc token create --role viewer --name YOU</code>,
then <code>curl -H "Authorization: Bearer TOKEN" http://127.0.0.1:8000/api/v1/areas?kind=grid</code>.</p>
</body></html>
"""


@router.get("/", response_class=HTMLResponse)
async def root() -> str:
    return PAGE.format(version=__version__)
