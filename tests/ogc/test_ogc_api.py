"""``/ogc`` read side, in process, on the suite's demo town: auth, paging and counts, CRS and
axis order, datetime, CQL2 filters (text and JSON), errors, single items, HTML."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from sqlalchemy import text

from tests.ogc.helpers import scoped_events

pytestmark = pytest.mark.db

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_open_resources_and_401_elsewhere(client, auth):
    for url in ("/ogc", "/ogc/", "/ogc/conformance", "/ogc/api", "/ogc/api.html"):
        assert client.get(url).status_code == 200, url
    for url in ("/ogc/collections", "/ogc/collections/grids", "/ogc/collections/grids/items",
                "/ogc/collections/grids/queryables", "/ogc/collections/grids/items/x",
                "/ogc/plans/1/collections"):
        r = client.get(url)
        assert r.status_code == 401, url
        assert r.json()["detail"]
    # Houses need the dispatcher role, as /api/v1/houses does.
    assert client.get("/ogc/collections/houses/items", headers=auth("viewer")).status_code == 403
    assert client.get("/ogc/collections/houses/items",
                      headers=auth("dispatcher")).status_code == 200


def test_paging_with_a_true_number_matched(client, auth, engine):
    total = _count(engine, "SELECT count(*) FROM house")
    url = "/ogc/collections/houses/items?limit=1000"
    seen: list[str] = []
    pages = 0
    while url:
        page = client.get(url, headers=auth("dispatcher"))
        assert page.status_code == 200
        assert page.headers["content-type"] == "application/geo+json"
        body = page.json()
        assert body["numberMatched"] == total
        assert body["numberReturned"] == len(body["features"])
        seen += [f["id"] for f in body["features"]]
        nxt = [x["href"] for x in body["links"] if x["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        pages += 1
    assert pages == -(-total // 1000) and len(seen) == len(set(seen)) == total
    prev = client.get("/ogc/collections/houses/items?limit=10&offset=25",
                      headers=auth("dispatcher")).json()
    assert any(x["rel"] == "prev" and "offset=15" in x["href"] for x in prev["links"])


def test_limit_offset_and_unknown_parameters_are_400(client, auth):
    h = auth()
    for query in ("limit=0", "limit=abc", "offset=-1", "bbox=1,2,3", "bbox=3,3,1,1",
                  "datetime=yesterday", "crs=EPSG:9999", "crs=http://x/y", "properties=nope",
                  "colour=red", "f=xml", "filter-lang=sql", "plan=abc"):
        r = client.get(f"/ogc/collections/grids/items?{query}", headers=h)
        assert r.status_code == 400, (query, r.text)
        assert r.json()["problems"], query
    # A limit above the maximum is cut to it, as the standard allows.
    assert client.get("/ogc/collections/grids/items?limit=100000", headers=h).status_code == 200


def test_cells_follow_the_plan_in_effect_at_datetime(client, auth, engine):
    with engine.connect() as conn:
        plan, since = conn.execute(text(
            "SELECT id, effective_from FROM plan WHERE status = 'active' "
            "ORDER BY effective_from DESC LIMIT 1")).one()
    h = auth()
    now = client.get("/ogc/collections/grids/items?limit=1", headers=h).json()
    assert now["plan_id"] == plan
    at = client.get(f"/ogc/collections/grids/items?datetime={since}T12:00:00%2B08:00",
                    headers=h).json()
    assert at["plan_id"] == plan and at["numberMatched"] == now["numberMatched"]
    before = client.get("/ogc/collections/grids/items?datetime=1990-01-01T00:00:00Z",
                        headers=h).json()
    assert before["numberMatched"] == 0 and "plan_id" not in before
    interval = client.get("/ogc/collections/grids/items?datetime=2020-01-01/..", headers=h)
    assert interval.status_code == 400 and "instant" in interval.text


def test_incidents_in_an_interval(client, auth, engine):
    n = _count(engine, "SELECT count(*) FROM incident WHERE occurred_at >= '2026-01-01' "
               "AND occurred_at <= '2026-06-30T23:59:59.999999Z'")
    r = client.get("/ogc/collections/incidents/items?limit=1&datetime="
                   + quote("2026-01-01T00:00:00Z/2026-06-30"), headers=auth())
    assert r.json()["numberMatched"] == n
    open_end = client.get("/ogc/collections/incidents/items?limit=1&datetime=../2026-06-30",
                          headers=auth()).json()
    assert open_end["numberMatched"] == _count(
        engine, "SELECT count(*) FROM incident WHERE occurred_at <= '2026-06-30T23:59:59.999999Z'")


def test_crs_and_axis_order(client, auth, engine):
    with engine.connect() as conn:
        oid, lon, lat = conn.execute(text(
            "SELECT business_id, ST_X(geom), ST_Y(geom) FROM office ORDER BY business_id "
            "LIMIT 1")).one()
    h = auth()

    def coords(crs: str | None) -> tuple[list[float], str]:
        q = f"?crs={quote(crs)}" if crs else ""
        r = client.get(f"/ogc/collections/offices/items/{oid}{q}", headers=h)
        assert r.status_code == 200, r.text
        return r.json()["geometry"]["coordinates"], r.headers["content-crs"]

    assert coords(None) == ([pytest.approx(lon), pytest.approx(lat)], f"<{CRS84}>")
    assert coords(EPSG.format(4490))[0] == [pytest.approx(lat), pytest.approx(lon)]
    assert coords(EPSG.format(4326))[0] == [pytest.approx(lat), pytest.approx(lon)]
    x, y = coords(EPSG.format(3857))[0]
    assert x == pytest.approx(lon * 20037508.34 / 180, rel=1e-6) and y > 3e6
    # The local Gauss-Kruger zone (CM 120E) is northing, easting.
    north, east = coords(EPSG.format(4549))[0]
    assert 3_000_000 < north < 3_200_000 and 300_000 < east < 600_000
    listed = client.get("/ogc/collections/offices", headers=h).json()
    assert listed["storageCrs"] == EPSG.format(4490)
    assert set(listed["crs"]) >= {CRS84, EPSG.format(4490), EPSG.format(4326),
                                  EPSG.format(3857), EPSG.format(4549)}
    # bbox in EPSG:4326 is lat/lon.
    box = f"{lat - 1e-4},{lon - 1e-4},{lat + 1e-4},{lon + 1e-4}"
    found = client.get(f"/ogc/collections/offices/items?bbox={box}&bbox-crs="
                       f"{quote(EPSG.format(4326))}", headers=h).json()
    assert oid in [f["id"] for f in found["features"]]
    swapped = client.get(f"/ogc/collections/offices/items?bbox={box}", headers=h)
    assert swapped.status_code == 400 or oid not in [f["id"] for f in swapped.json()["features"]]


def test_cql2_text_and_json_filters(client, auth, engine):
    h = auth("dispatcher")

    def matched(collection: str, **params: str) -> int:
        r = client.get(f"/ogc/collections/{collection}/items", params={"limit": 1, **params},
                       headers=h)
        assert r.status_code == 200, r.text
        return r.json()["numberMatched"]

    n = _count(engine, "SELECT count(*) FROM house WHERE is_rental AND rental_stars >= 3")
    assert matched("houses", filter="is_rental = true AND rental_stars >= 3") == n
    tree = {"op": "and", "args": [{"op": "=", "args": [{"property": "is_rental"}, True]},
                                  {"op": ">=", "args": [{"property": "rental_stars"}, 3]}]}
    assert matched("houses", filter=json.dumps(tree), **{"filter-lang": "cql2-json"}) == n
    assert matched("houses", is_rental="true") == _count(
        engine, "SELECT count(*) FROM house WHERE is_rental")
    cat = _count(engine, "SELECT count(*) FROM incident WHERE category IN ('盗窃', '纠纷') "
                 "AND occurred_at > '2026-03-01T00:00:00Z'")
    assert matched("incidents", filter="category IN ('盗窃','纠纷') AND "
                   "T_AFTER(occurred_at, TIMESTAMP('2026-03-01T00:00:00Z'))") == cat
    with engine.connect() as conn:
        gid, wkt = conn.execute(text(
            "SELECT business_id, ST_AsText(ST_PointOnSurface(geom)) FROM area WHERE kind = "
            "'grid' AND plan_id = (SELECT id FROM plan WHERE status = 'active' LIMIT 1) "
            "ORDER BY business_id LIMIT 1")).one()
        inside = conn.execute(text(
            "SELECT count(*) FROM house h JOIN area a ON ST_Intersects(h.geom, a.geom) "
            "WHERE a.kind = 'grid' AND a.business_id = :g AND a.plan_id = (SELECT id FROM plan "
            "WHERE status = 'active' LIMIT 1)"), {"g": gid}).scalar_one()
    assert matched("grids", filter=f"S_INTERSECTS(geometry, {wkt})") >= 1
    hit = client.get("/ogc/collections/grids/items", params={
        "filter": f"S_INTERSECTS(geometry, {wkt}) AND id = '{gid}'"}, headers=h).json()
    assert [f["id"] for f in hit["features"]] == [gid]
    grid = client.get(f"/ogc/collections/grids/items/{gid}", headers=h).json()
    polygon = json.dumps({"op": "s_within", "args": [{"property": "geometry"},
                                                     grid["geometry"]]})
    assert matched("houses", filter=polygon, **{"filter-lang": "cql2-json"}) <= inside
    assert matched("grids", filter="CASEI(name) LIKE '%网格' OR households BETWEEN 0 AND 10") >= 0


def test_bad_filters_are_400_naming_the_position_or_property(client, auth):
    h = auth()
    r = client.get("/ogc/collections/grids/items", params={"filter": "name = "}, headers=h)
    assert r.status_code == 400
    assert "line 1, column 8" in r.json()["problems"][0]["message"]
    assert r.json()["problems"][0]["field"] == "filter"
    for bad, words in (("colour = 'red'", "unknown property 'colour'"),
                       ("name = 3", "cannot compare"),
                       ("name = NULL", "IS NULL"),
                       ("S_INTERSECTS(geometry, POLYGON((0 0)))", "geometry"),
                       ("FOO(name)", "unsupported")):
        r = client.get("/ogc/collections/grids/items", params={"filter": bad}, headers=h)
        assert r.status_code == 400, (bad, r.text)
        assert words in r.json()["problems"][0]["message"], (bad, r.text)
    r = client.get("/ogc/collections/grids/items", params={
        "filter": "{bad", "filter-lang": "cql2-json"}, headers=h)
    assert r.status_code == 400 and "column 2" in r.text


def test_filter_values_are_bound_not_spliced(client, auth, engine):
    before = _count(engine, "SELECT count(*) FROM area")
    nasty = "name = 'x'' ; DROP TABLE area; --'"
    r = client.get("/ogc/collections/grids/items", params={"filter": nasty}, headers=auth())
    assert r.status_code == 200 and r.json()["numberMatched"] == 0
    assert _count(engine, "SELECT count(*) FROM area") == before


def test_properties_and_single_item_with_etag(client, auth):
    h = auth()
    page = client.get("/ogc/collections/grids/items?limit=2&properties=name,code",
                      headers=h).json()
    assert all(set(f["properties"]) == {"name", "code"} for f in page["features"])
    fid = page["features"][0]["id"]
    one = client.get(f"/ogc/collections/grids/items/{fid}", headers=h)
    assert one.status_code == 200 and one.headers["etag"].startswith('"')
    assert one.json()["id"] == fid
    assert {x["rel"] for x in one.json()["links"]} >= {"self", "alternate", "collection"}
    assert client.get(f"/ogc/collections/grids/items/{fid}", headers=h).headers["etag"] == (
        one.headers["etag"])
    slim = client.get(f"/ogc/collections/grids/items/{fid}?properties=name", headers=h)
    assert slim.json()["properties"] == {"name": one.json()["properties"]["name"]}
    assert slim.headers["etag"] == one.headers["etag"]
    missing = client.get("/ogc/collections/grids/items/NOPE", headers=h)
    assert missing.status_code == 404 and "NOPE" in missing.json()["detail"]
    assert client.get("/ogc/collections/nope/items", headers=h).status_code == 404


def test_queryables_and_schema(client, auth):
    q = client.get("/ogc/collections/incidents/queryables", headers=auth())
    assert q.headers["content-type"] == "application/schema+json"
    props = q.json()["properties"]
    assert props["occurred_at"]["format"] == "date-time"
    assert props["geometry"]["x-ogc-role"] == "primary-geometry"
    coll = client.get("/ogc/collections/incidents", headers=auth()).json()
    rels = {x["rel"] for x in coll["links"]}
    assert {"items", "describedby", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= rels
    assert coll["extent"]["temporal"]["interval"][0][0] is not None


def test_html_views(client, auth):
    h = {**auth(), "Accept": "text/html"}
    for url in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/grids",
                "/ogc/collections/grids/items?limit=3", "/ogc/collections/grids/queryables"):
        r = client.get(url, headers=h)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), url
        assert "<h1>" in r.text
    page = client.get("/ogc/collections/grids/items?limit=3&f=html", headers=auth()).text
    assert "leaflet.js" in page and "L.geoJSON" in page


def test_plan_in_the_path_and_the_query(client, auth, engine):
    with engine.connect() as conn:
        plan = conn.execute(text("SELECT id FROM plan WHERE status = 'active' LIMIT 1")).scalar()
    h = auth()
    by_path = client.get(f"/ogc/plans/{plan}/collections/grids/items?limit=1", headers=h).json()
    by_query = client.get(f"/ogc/collections/grids/items?limit=1&plan={plan}", headers=h).json()
    assert by_path["plan_id"] == by_query["plan_id"] == plan
    assert all(f"/ogc/plans/{plan}/" in x["href"] for x in by_path["links"])
    assert all(f"plan={plan}" in x["href"] for x in by_query["links"] if x["rel"] != "collection"
               ) and by_query["links"]
    assert client.get("/ogc/collections/grids/items?plan=99999", headers=h).status_code == 404
    landing = client.get(f"/ogc/plans/{plan}").json()
    assert any(x["rel"] == "data" and x["href"].endswith(f"/ogc/plans/{plan}/collections")
               for x in landing["links"])


def test_head_and_the_apps_own_openapi(client, auth):
    r = client.head("/ogc/collections/grids/items?limit=1", headers=auth())
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert client.head("/ogc").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/ogc/collections/{collection_id}/items" in schema["paths"]
    assert not any(p.startswith("/ogc/plans/") for p in schema["paths"])


def test_events_follow_the_accounts_scope(client, as_account, auth, engine):
    total = _count(engine, "SELECT count(*) FROM event")
    mine = scoped_events(engine, "gw001")
    assert 0 < mine < total
    h = as_account("gw001")
    page = client.get("/ogc/collections/events/items?limit=10000", headers=h).json()
    assert page["numberMatched"] == page["numberReturned"] == mine
    assert client.get("/ogc/collections/events/items?limit=1",
                      headers=auth()).json()["numberMatched"] == total
    # Privacy: no free text (description, parties) and no reporter in a GIS layer.
    assert set(page["features"][0]["properties"]) == {
        "category", "grade", "state", "level", "reported_at", "occurred_at", "expected_at",
        "overdue", "late", "town_id", "village_id", "grid_id", "station_id", "beat_id"}
    seen = {f["id"] for f in page["features"]}
    with engine.connect() as conn:
        outside = conn.execute(text(
            "SELECT business_id FROM event WHERE NOT (business_id = ANY(:seen)) LIMIT 1"),
            {"seen": list(seen)}).scalar_one()
    inside = next(iter(seen))
    assert client.get(f"/ogc/collections/events/items/{inside}", headers=h).status_code == 200
    r = client.get(f"/ogc/collections/events/items/{outside}", headers=h)
    assert r.status_code == 404 and r.json()["detail"]
    assert client.get(f"/ogc/collections/events/items/{outside}",
                      headers=auth()).status_code == 200


def test_events_datetime_filters_and_queryables(client, as_account, engine):
    h = as_account("off03")
    with engine.connect() as conn:
        first, last = conn.execute(text("SELECT min(created_at), max(created_at) FROM event")
                                   ).one()
    middle = first + (last - first) / 2
    n = scoped_events(engine, "off03", "e.created_at >= :a", a=middle)
    assert n > 0
    r = client.get("/ogc/collections/events/items", headers=h,
                   params={"limit": 1, "datetime": f"{middle.isoformat()}/.."})
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == n
    with engine.connect() as conn:
        one = conn.execute(text("SELECT created_at FROM event e WHERE grid_id IS NOT NULL "
                                "ORDER BY id LIMIT 1")).scalar_one()
    at = client.get("/ogc/collections/events/items", headers=h,
                    params={"datetime": one.isoformat()}).json()
    assert at["numberMatched"] == scoped_events(engine, "off03", "e.created_at = :a", a=one)

    def matched(**params: str) -> int:
        r = client.get("/ogc/collections/events/items", params={"limit": 1, **params},
                       headers=h)
        assert r.status_code == 200, r.text
        return r.json()["numberMatched"]

    open_states = "('reported', 'accepted', 'dispatched', 'in_hand', 'returned', 'handled', " \
                  "'verified')"
    overdue = scoped_events(engine, "off03",
                             f"e.expected_at < now() AND e.state IN {open_states}")
    assert matched(filter="overdue = true") == matched(overdue="true") == overdue
    assert matched(filter="grade IN ('major', 'serious') AND state <> 'closed'") == (
        scoped_events(engine, "off03", "e.grade IN ('major', 'serious') "
                       "AND e.state <> 'closed'"))
    tree = {"op": "t_after", "args": [{"property": "reported_at"},
                                      {"timestamp": middle.isoformat()}]}
    assert matched(filter=json.dumps(tree), **{"filter-lang": "cql2-json"}) == (
        scoped_events(engine, "off03", "e.created_at > :a", a=middle))
    q = client.get("/ogc/collections/events/queryables", headers=h).json()["properties"]
    assert q["reported_at"] == {"type": "string", "title": "reported at",
                                "format": "date-time", "x-ogc-role": "primary-instant"}
    assert q["overdue"]["type"] == "boolean" and "description" not in q
    bad = client.get("/ogc/collections/events/items?filter=parties%20LIKE%20'%25'",
                     headers=h)
    assert bad.status_code == 400 and "unknown property 'parties'" in bad.text


def test_events_are_read_only_here(client, auth):
    h = auth("admin")
    r = client.post("/ogc/collections/events/items", headers=h,
                    json={"type": "Feature", "geometry": None, "properties": {}})
    assert r.status_code == 405 and "GET" in r.headers["allow"]
    r = client.options("/ogc/collections/events/items", headers=h)
    assert r.status_code == 204 and "POST" not in r.headers["allow"]
