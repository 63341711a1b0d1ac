"""The JSON documents of the API: landing page, conformance, collections, queryables, and the
links that tie them together.

Every link is absolute and built from the service's base URL (``http://host/ogc``, or
``http://host/ogc/plans/7`` for one plan) and the request's own parameters, so a client that
follows links (GDAL, QGIS, owslib) stays on the same plan and CRS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from gridsvc.domain.ogc.catalog import Collection
from gridsvc.domain.ogc.crs import EPSG_URI, STORAGE_SRID, Crs

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
REL_SCHEMA = "http://www.opengis.net/def/rel/ogc/1.0/schema"

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    # The draft's name of basic-spatial-functions, which QGIS looks for.
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-operators",
)
_GEOMETRY_FORMAT = {"Point": "geometry-point", "MultiPolygon": "geometry-multipolygon",
                    "MultiLineString": "geometry-multilinestring"}
_GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
_CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class Links:
    """Builds absolute links under ``base`` (no trailing slash), keeping ``keep`` (e.g. the
    ``plan`` of the request) in every one.

    >>> Links("http://h/ogc", {"plan": "7"}).href("/collections", f="html")
    'http://h/ogc/collections?plan=7&f=html'
    """

    base: str
    keep: Mapping[str, str] = field(default_factory=dict)

    def href(self, path: str = "", params: Sequence[tuple[str, str]] | None = None,
             **extra: str) -> str:
        pairs = list(params) if params is not None else list(self.keep.items())
        pairs += list(extra.items())
        return f"{self.base}{path}" + (f"?{urlencode(pairs)}" if pairs else "")

    def link(self, rel: str, path: str, type_: str, title: str, **extra: str) -> dict[str, str]:
        return {"href": self.href(path, **extra), "rel": rel, "type": type_, "title": title}

    def self_and_alternate(self, path: str, json_type: str = JSON) -> list[dict[str, str]]:
        """``self`` (JSON) and ``alternate`` (HTML) links of a resource."""
        return [self.link("self", path, json_type, "this document"),
                self.link("alternate", path, HTML, "this document as HTML", f="html")]


def landing(links: Links, *, title: str, description: str) -> dict[str, Any]:
    """The landing page: ``service-desc``, ``service-doc``, ``conformance`` and ``data``."""
    return {
        "title": title, "description": description,
        "links": [
            *links.self_and_alternate(""),
            links.link("service-desc", "/api", OPENAPI, "the API definition (OpenAPI 3.0)"),
            links.link("service-doc", "/api.html", HTML, "the API documentation"),
            links.link("conformance", "/conformance", JSON, "conformance classes"),
            links.link("data", "/collections", JSON, "the collections"),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": list(CONFORMANCE)}


def collection(links: Links, c: Collection, *, offered: Sequence[Crs],
               bbox: Sequence[float] | None,
               interval: tuple[datetime | None, datetime | None] | None) -> dict[str, Any]:
    """The description of one collection: extent (CRS84), CRSs offered, links."""
    path = f"/collections/{c.id}"
    extent: dict[str, Any] = {}
    if bbox is not None:
        extent["spatial"] = {"bbox": [list(bbox)], "crs": _CRS84}
    if interval is not None:
        extent["temporal"] = {"interval": [[t.isoformat() if t else None for t in interval]],
                              "trs": _GREGORIAN}
    return {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        **({"extent": extent} if extent else {}),
        "crs": [x.uri for x in offered],
        "storageCrs": EPSG_URI.format(code=STORAGE_SRID),
        "links": [
            *links.self_and_alternate(path),
            links.link("items", f"{path}/items", GEOJSON, f"the {c.id}"),
            links.link("items", f"{path}/items", HTML, f"the {c.id} as HTML", f="html"),
            links.link(REL_QUERYABLES, f"{path}/queryables", SCHEMA, "queryables"),
            links.link("describedby", f"{path}/schema", SCHEMA, "schema of the features"),
            links.link(REL_SCHEMA, f"{path}/schema", SCHEMA, "schema of the features"),
        ],
    }


def collections(links: Links, described: list[dict[str, Any]]) -> dict[str, Any]:
    return {"links": links.self_and_alternate("/collections"), "collections": described}


def _property_schema(c: Collection) -> dict[str, Any]:
    props: dict[str, Any] = {"id": {"type": "string", "title": "business id"}}
    for p in c.properties:
        entry: dict[str, Any] = {"type": p.type, "title": p.title}
        if p.format:
            entry["format"] = p.format
        if p.type == "array":
            entry["items"] = {"type": "string"}
        if p.name == c.temporal:
            entry["x-ogc-role"] = "primary-instant"
        props[p.name] = entry
    return props


def queryables(links: Links, c: Collection) -> dict[str, Any]:
    """The queryables of a collection as a JSON Schema (2020-12): every property, ``id`` and
    ``geometry``."""
    props = _property_schema(c)
    props["geometry"] = {"format": _GEOMETRY_FORMAT[c.geometry], "title": "geometry",
                         "x-ogc-role": "primary-geometry"}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": links.href(f"/collections/{c.id}/queryables"), "type": "object",
            "title": c.title, "properties": props, "additionalProperties": False}


def schema(links: Links, c: Collection) -> dict[str, Any]:
    """The JSON Schema of the features' properties (``describedby``)."""
    props = _property_schema(c)
    props["id"]["x-ogc-role"] = "id"
    props["geometry"] = {"format": _GEOMETRY_FORMAT[c.geometry],
                         "x-ogc-role": "primary-geometry"}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": links.href(f"/collections/{c.id}/schema"), "type": "object",
            "title": c.title, "properties": props}


def page_links(links: Links, c: Collection, params: Sequence[tuple[str, str]], *,
               offset: int, limit: int, returned: int, matched: int) -> list[dict[str, str]]:
    """``self``, ``alternate``, ``collection`` and, when there are more, ``next`` and ``prev``
    links of a page of items; ``params`` are the request's, kept in every link.

    >>> ls = page_links(Links("http://h/ogc"), __import__("gridsvc.domain.ogc.catalog",
    ...     fromlist=["by_id"]).by_id("grids"), [("limit", "10")], offset=0, limit=10,
    ...     returned=10, matched=25)
    >>> [(x["rel"], x["href"]) for x in ls if x["rel"] == "next"]
    [('next', 'http://h/ogc/collections/grids/items?limit=10&offset=10')]
    """
    path = f"/collections/{c.id}/items"
    base = [(k, v) for k, v in params if k not in ("offset", "f")]

    def at(start: int, **extra: str) -> str:
        pairs = base + ([("offset", str(start))] if start else [])
        return links.href(path, pairs + list(extra.items()))

    out = [{"href": at(offset), "rel": "self", "type": GEOJSON, "title": "this page"},
           {"href": at(offset, f="html"), "rel": "alternate", "type": HTML,
            "title": "this page as HTML"},
           {"href": links.href(f"/collections/{c.id}"), "rel": "collection", "type": JSON,
            "title": c.title}]
    if offset + returned < matched:
        out.append({"href": at(offset + limit), "rel": "next", "type": GEOJSON,
                    "title": "next page"})
    if offset > 0:
        out.append({"href": at(max(0, offset - limit)), "rel": "prev", "type": GEOJSON,
                    "title": "previous page"})
    return out


def item_links(links: Links, c: Collection, feature_id: str) -> list[dict[str, str]]:
    path = f"/collections/{c.id}/items/{feature_id}"
    return [*links.self_and_alternate(path, GEOJSON),
            links.link("collection", f"/collections/{c.id}", JSON, c.title)]
