"""OGC API - Features - Part 1: Core, conformance test (requirement by requirement).

The PyPI ``ogctests`` suite pins older httpx, pyarrow and pytest than the project uses, so
this is its equivalent: each test names the requirements of OGC 17-069r4 it checks (classes
core, geojson, html, oas30), run against the service in process on the demo town, every
collection included. Schemas are the standard's (landingPage, collections, featureCollection,
feature, link), written out as JSON Schema.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import jsonschema
import pytest

from gridsvc.domain.ogc.catalog import COLLECTIONS, by_id
from tests.ogc.helpers import scoped_events

pytestmark = pytest.mark.db

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
LINK = {"type": "object", "required": ["href", "rel"],
        "properties": {"href": {"type": "string"}, "rel": {"type": "string"},
                       "type": {"type": "string"}, "title": {"type": "string"}}}
LINKS = {"type": "array", "items": LINK}
LANDING = {"type": "object", "required": ["links"], "properties": {"links": LINKS}}
COLLECTION = {"type": "object", "required": ["id", "links"], "properties": {
    "id": {"type": "string"}, "title": {"type": "string"}, "links": LINKS,
    "extent": {"type": "object", "properties": {"spatial": {"type": "object", "properties": {
        "bbox": {"type": "array", "minItems": 1, "items": {
            "type": "array", "oneOf": [{"minItems": 4, "maxItems": 4},
                                       {"minItems": 6, "maxItems": 6}],
            "items": {"type": "number"}}},
        "crs": {"const": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}}}},
    "itemType": {"type": "string"}, "crs": {"type": "array", "items": {"type": "string"}}}}
GEOMETRY = {"type": "object", "required": ["type", "coordinates"], "properties": {
    "type": {"enum": ["Point", "MultiPolygon", "MultiLineString", "Polygon", "LineString",
                      "MultiPoint"]}, "coordinates": {"type": "array"}}}
FEATURE = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"const": "Feature"}, "geometry": {"oneOf": [{"type": "null"}, GEOMETRY]},
    "properties": {"type": ["object", "null"]}, "id": {"type": ["string", "integer"]},
    "links": LINKS}}
FEATURES = {"type": "object", "required": ["type", "features"], "properties": {
    "type": {"const": "FeatureCollection"}, "features": {"type": "array", "items": FEATURE},
    "links": LINKS, "timeStamp": {"type": "string", "format": "date-time"},
    "numberMatched": {"type": "integer", "minimum": 0},
    "numberReturned": {"type": "integer", "minimum": 0}}}


@pytest.fixture(scope="module")
def get(client, auth):
    headers = auth("dispatcher")

    def fetch(url: str, **extra: str):
        path = urlsplit(url)
        local = path.path + (f"?{path.query}" if path.query else "")
        return client.get(local, headers={**headers, **extra})

    return fetch


def _rel(doc: dict, rel: str, type_: str | None = None) -> list[str]:
    return [x["href"] for x in doc["links"]
            if x["rel"] == rel and (type_ is None or x.get("type") == type_)]


def test_landing_page(get):
    """/req/core/root-op, /req/core/root-success, /req/core/http."""
    r = get("/ogc")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    jsonschema.validate(r.json(), LANDING)
    for rel in ("conformance", "data"):
        assert _rel(r.json(), rel), rel
    assert _rel(r.json(), "service-desc") or _rel(r.json(), "service-doc")


def test_api_definition(get):
    """/req/core/api-definition-op, /req/core/api-definition-success,
    /req/oas30/oas-definition-1, /req/oas30/oas-definition-2, /req/oas30/oas-impl."""
    landing = get("/ogc").json()
    (desc,) = _rel(landing, "service-desc", "application/vnd.oai.openapi+json;version=3.0")
    r = get(desc)
    assert r.status_code == 200
    api = r.json()
    assert api["openapi"].startswith("3.0.") and api["info"]["title"]
    (doc,) = _rel(landing, "service-doc", "text/html")
    assert get(doc).status_code == 200
    # Every resource of the API is described, with the limit parameter's bounds.
    paths = set(api["paths"])
    assert {"/", "/conformance", "/collections"} <= paths
    for c in COLLECTIONS:
        assert {f"/collections/{c.id}", f"/collections/{c.id}/items",
                f"/collections/{c.id}/items/{{featureId}}"} <= paths
    limit = api["components"]["parameters"]["limit"]["schema"]
    assert limit["minimum"] == 1 and limit["maximum"] >= limit["default"]


def test_conformance(get):
    """/req/core/conformance-op, /req/core/conformance-success."""
    r = get(_rel(get("/ogc").json(), "conformance")[0])
    assert r.status_code == 200
    classes = r.json()["conformsTo"]
    assert {CORE + "core", CORE + "geojson", CORE + "html", CORE + "oas30"} <= set(classes)


def test_collections(get):
    """/req/core/fc-md-op, /req/core/fc-md-success, /req/core/fc-md-links,
    /req/core/fc-md-items, /req/core/fc-md-items-links, /req/core/fc-md-extent."""
    r = get(_rel(get("/ogc").json(), "data")[0])
    assert r.status_code == 200
    doc = r.json()
    assert _rel(doc, "self") and _rel(doc, "alternate", "text/html")
    assert [c["id"] for c in doc["collections"]] == [c.id for c in COLLECTIONS]
    for c in doc["collections"]:
        jsonschema.validate(c, COLLECTION)
        assert _rel(c, "items", "application/geo+json"), c["id"]


def test_each_collection(get):
    """/req/core/sfc-md-op, /req/core/sfc-md-success (the same as in /collections)."""
    listed = {c["id"]: c for c in get("/ogc/collections").json()["collections"]}
    for cid, described in listed.items():
        r = get(_rel(described, "self")[0])
        assert r.status_code == 200
        assert r.json() == described, cid


@pytest.mark.parametrize("collection", [c.id for c in COLLECTIONS])
def test_items(get, collection):
    """/req/core/fc-op, /req/core/fc-response, /req/core/fc-links, /req/core/fc-rel-type,
    /req/core/fc-timeStamp, /req/core/fc-numberMatched, /req/core/fc-numberReturned,
    /req/core/fc-limit-response, /req/geojson/definition, /req/geojson/content."""
    described = get(f"/ogc/collections/{collection}").json()
    items = _rel(described, "items", "application/geo+json")[0]
    r = get(f"{items}?limit=5")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    page = r.json()
    jsonschema.validate(page, FEATURES)
    assert page["numberReturned"] == len(page["features"]) <= 5
    assert _rel(page, "self", "application/geo+json")
    assert _rel(page, "alternate", "text/html")
    if page["numberMatched"] > 5:
        nxt = get(_rel(page, "next")[0]).json()
        assert not {f["id"] for f in nxt["features"]} & {f["id"] for f in page["features"]}
    everything = get(f"{items}?limit=10000").json()
    assert everything["numberMatched"] == page["numberMatched"] == (
        everything["numberReturned"])


@pytest.mark.parametrize("collection", ["grids", "houses", "incidents", "compounds", "events"])
def test_bbox_and_datetime(get, collection):
    """/req/core/fc-bbox-definition, /req/core/fc-bbox-response, /req/core/fc-time-definition,
    /req/core/fc-time-response."""
    import shapely

    described = get(f"/ogc/collections/{collection}").json()
    x0, y0, x1, y1 = described["extent"]["spatial"]["bbox"][0]
    box = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    r = get(f"/ogc/collections/{collection}/items?limit=10000&bbox="
            + ",".join(map(str, box))).json()
    assert 0 < r["numberReturned"] < get(
        f"/ogc/collections/{collection}/items?limit=1").json()["numberMatched"]
    for f in r["features"]:
        assert shapely.geometry.shape(f["geometry"]).intersects(shapely.box(*box))
    temporal = described["extent"].get("temporal")
    if temporal:
        start = temporal["interval"][0][0][:10]
        r = get(f"/ogc/collections/{collection}/items?limit=10000&datetime={start}/{start}")
        for f in r.json()["features"]:
            assert f["properties"][by_id(collection).temporal][:10] <= start


def test_events_as_a_scoped_account_page_by_page(client, as_account, engine):
    """/req/core/fc-numberMatched, /req/core/fc-links (next) as a grid worker: the pages hold
    exactly the events of the account's scope, each once."""
    headers = as_account("gw001")
    expected = scoped_events(engine, "gw001")
    url, seen = "/ogc/collections/events/items?limit=7", []
    while url:
        page = client.get(url, headers=headers).json()
        jsonschema.validate(page, FEATURES)
        assert page["numberMatched"] == expected
        seen += [f["id"] for f in page["features"]]
        nxt = _rel(page, "next", "application/geo+json")
        url = urlsplit(nxt[0]).path + "?" + urlsplit(nxt[0]).query if nxt else None
    assert len(seen) == len(set(seen)) == expected > 7


def test_parameter_errors(get):
    """/req/core/query-param-unknown, /req/core/query-param-invalid."""
    assert get("/ogc/collections/grids/items?unknownparam=1").status_code == 400
    for bad in ("limit=0", "limit=-1", "limit=x", "bbox=1,2", "datetime=notadate"):
        assert get(f"/ogc/collections/grids/items?{bad}").status_code == 400, bad


def test_feature(get):
    """/req/core/f-op, /req/core/f-success, /req/core/f-links, /req/geojson/content."""
    for c in COLLECTIONS:
        page = get(f"/ogc/collections/{c.id}/items?limit=1").json()
        if not page["features"]:
            continue
        fid = page["features"][0]["id"]
        r = get(f"/ogc/collections/{c.id}/items/{fid}")
        assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
        jsonschema.validate(r.json(), FEATURE)
        assert _rel(r.json(), "self") and _rel(r.json(), "collection")
        assert _rel(r.json(), "alternate", "text/html")
    assert get("/ogc/collections/grids/items/no-such-feature").status_code == 404


def test_html(get):
    """/req/html/definition, /req/html/content: every resource as HTML."""
    urls = ["/ogc", "/ogc/conformance", "/ogc/collections"]
    for c in COLLECTIONS:
        urls += [f"/ogc/collections/{c.id}", f"/ogc/collections/{c.id}/items?limit=2"]
    for url in urls:
        r = get(url, Accept="text/html")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), url
        assert r.text.startswith("<!doctype html>")
