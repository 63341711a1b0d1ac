"""The OpenAPI 3.0 description of the OGC API (``service-desc``, conformance class oas30).

Written from :data:`gridsvc.domain.ogc.catalog.COLLECTIONS`, so each collection has its own
paths (clients such as QGIS read the ``limit`` default and maximum from it) and a new collection
is described with no more work.
"""

from __future__ import annotations

from typing import Any

from gridsvc.domain.ogc.catalog import COLLECTIONS
from gridsvc.domain.ogc.query import DEFAULT_LIMIT, MAX_LIMIT

_GEOJSON = {"application/geo+json": {"schema": {"type": "object"}},
            "text/html": {"schema": {"type": "string"}}}
_JSON = {"application/json": {"schema": {"type": "object"}},
         "text/html": {"schema": {"type": "string"}}}


def _param(name: str, description: str, schema: dict[str, Any], where: str = "query",
           **extra: Any) -> dict[str, Any]:
    out = {"name": name, "in": where, "description": description, "schema": schema,
           "required": where == "path", **extra}
    if where == "query":
        out.update(style="form", explode=False)
    return out


_PARAMETERS = {
    "f": _param("f", "the format: json (default) or html", {"type": "string",
                                                            "enum": ["json", "html"]}),
    "limit": _param("limit", f"features per page (at most {MAX_LIMIT})",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                     "default": DEFAULT_LIMIT}),
    "offset": _param("offset", "features to skip (the next link sets it)",
                     {"type": "integer", "minimum": 0, "default": 0}),
    "bbox": _param("bbox", "only features that intersect this box (in bbox-crs)",
                   {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}),
    "bbox-crs": _param("bbox-crs", "CRS of bbox (default CRS84)",
                       {"type": "string", "format": "uri"}),
    "datetime": _param("datetime", "cells: the plan in effect at this instant; incidents: an "
                       "instant or interval of occurred_at; events: of reported_at",
                       {"type": "string"}),
    "crs": _param("crs", "CRS of the answer (default CRS84)", {"type": "string",
                                                                "format": "uri"}),
    "properties": _param("properties", "properties to return",
                         {"type": "array", "items": {"type": "string"}}),
    "filter": _param("filter", "a CQL2 filter", {"type": "string"}),
    "filter-lang": _param("filter-lang", "cql2-text (default) or cql2-json",
                          {"type": "string", "enum": ["cql2-text", "cql2-json"]}),
    "filter-crs": _param("filter-crs", "CRS of geometries in the filter (default CRS84)",
                         {"type": "string", "format": "uri"}),
    "plan": _param("plan", "cells of this plan (default: the plan in effect)",
                   {"type": "integer", "minimum": 1}),
    "featureId": _param("featureId", "business id of the feature", {"type": "string"},
                        where="path"),
    "If-Match": _param("If-Match", "the draft's version (\"7\") or the feature's ETag",
                       {"type": "string"}, where="header"),
    "Content-Crs": _param("Content-Crs", "CRS of the geometry sent (default CRS84)",
                          {"type": "string"}, where="header"),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _ok(content: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"200": {"description": description, "content": content}}


_ERRORS = {"400": {"description": "a bad parameter or filter"},
           "401": {"description": "no valid token"},
           "404": {"description": "not found"}}


def document(server: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document for the service at ``server`` (its base URL)."""
    read = [{"bearer": []}]
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "landing page", "operationId": "getLandingPage",
                      "parameters": [_ref("f")], "responses": _ok(_JSON), "security": []}},
        "/conformance": {"get": {"summary": "conformance classes",
                                 "operationId": "getConformanceDeclaration",
                                 "parameters": [_ref("f")], "responses": _ok(_JSON),
                                 "security": []}},
        "/api": {"get": {"summary": "this document", "operationId": "getAPI",
                         "responses": _ok({"application/vnd.oai.openapi+json;version=3.0":
                                           {"schema": {"type": "object"}}}),
                         "security": []}},
        "/collections": {"get": {"summary": "the collections", "operationId": "getCollections",
                                 "parameters": [_ref("f"), _ref("plan")],
                                 "responses": {**_ok(_JSON), **_ERRORS}, "security": read}},
    }
    items_params = [_ref(n) for n in ("f", "limit", "offset", "bbox", "bbox-crs", "datetime",
                                      "crs", "properties", "filter", "filter-lang",
                                      "filter-crs", "plan")]
    for c in COLLECTIONS:
        base = f"/collections/{c.id}"
        op = c.id.replace("_", " ")
        paths[base] = {"get": {"summary": f"the {op} collection",
                               "operationId": f"describe_{c.id}",
                               "parameters": [_ref("f"), _ref("plan")],
                               "responses": {**_ok(_JSON), **_ERRORS}, "security": read}}
        paths[f"{base}/queryables"] = {"get": {
            "summary": f"queryables of {op}", "operationId": f"queryables_{c.id}",
            "responses": _ok({"application/schema+json": {"schema": {"type": "object"}}}),
            "security": read}}
        paths[f"{base}/items"] = {"get": {
            "summary": f"features of {op}", "operationId": f"items_{c.id}",
            "parameters": items_params, "responses": {**_ok(_GEOJSON), **_ERRORS},
            "security": read}}
        paths[f"{base}/items/{{featureId}}"] = {"get": {
            "summary": f"one feature of {op}", "operationId": f"item_{c.id}",
            "parameters": [_ref("featureId"), _ref("f"), _ref("crs"), _ref("plan")],
            "responses": {**_ok(_GEOJSON), **_ERRORS}, "security": read}}
        if c.editable:
            body = {"required": True, "content": {"application/geo+json": {
                "schema": {"type": "object"}}}}
            write = {"parameters": [_ref("featureId"), _ref("plan"), _ref("If-Match"),
                                    _ref("Content-Crs")], "security": read}
            changed = {"200": {"description": "changed (the plan edit's result)"},
                       "409": {"description": "not a draft, or an older version"},
                       "412": {"description": "the feature changed since it was read"}}
            paths[f"{base}/items"]["post"] = {
                "summary": f"add a {c.cell_kind} to a draft", "operationId": f"create_{c.id}",
                "parameters": [_ref("plan"), _ref("If-Match"), _ref("Content-Crs")],
                "requestBody": body, "security": read,
                "responses": {"201": {"description": "created"}, **_ERRORS}}
            item = paths[f"{base}/items/{{featureId}}"]
            item["put"] = {"summary": f"replace a {c.cell_kind}'s geometry in a draft",
                           "operationId": f"replace_{c.id}", "requestBody": body, **write,
                           "responses": {**changed, **_ERRORS}}
            item["patch"] = {"summary": f"update a {c.cell_kind}'s geometry in a draft",
                             "operationId": f"update_{c.id}", "requestBody": body, **write,
                             "responses": {**changed, **_ERRORS}}
            item["delete"] = {"summary": f"retire a {c.cell_kind} in a draft",
                              "operationId": f"delete_{c.id}", **write,
                              "responses": {**changed, **_ERRORS}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "gridsvc OGC API Features", "version": version,
                 "description": "Cells of every plan and the layers assigned to them."},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"parameters": _PARAMETERS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
