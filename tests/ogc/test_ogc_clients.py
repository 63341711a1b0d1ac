"""Real GIS clients on ``gridsvc serve``: GDAL's OAPIF driver (through pyogrio) and owslib.

The server runs as a user starts it, on a private copy of the demo town; the clients get the
token the way their users give it (GDAL: ``GDAL_HTTP_AUTH=BEARER`` and ``GDAL_HTTP_BEARER``, as
``ogrinfo --config`` takes them: the OAPIF driver sends its own ``Accept`` header, which replaces
``GDAL_HTTP_HEADERS``; owslib: request headers).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import text

from gridsvc.domain.accounts import Role
from gridsvc.domain.ogc.catalog import COLLECTIONS
from gridsvc.services.tokens import create_token
from tests.conftest import start_serve
from tests.ogc.helpers import scoped_events

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(pg, demo_template) -> Iterator[tuple[str, str, object]]:
    """``(base url, dispatcher token, engine)`` of ``gridsvc serve`` on a demo copy."""
    import psycopg
    from psycopg import sql
    from sqlalchemy import create_engine

    name = "ogc_clients"
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(demo_template)))
    engine = create_engine(pg.url(name))
    token = create_token(engine, role=Role.dispatcher, name="gis-client", actor="test")
    proc, url = start_serve({**os.environ, "GRIDSVC_DATABASE_URL": pg.url(name),
                             "GRIDSVC_MAP_PREWARM": "0"})
    try:
        yield url, token, engine
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        engine.dispose()
        pg.drop_database(name)


@pytest.fixture
def gdal_token(served):
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": served[1]})
    yield
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


def _personal_token(engine, username: str) -> str:
    """A personal token of a demo account (its role and scope)."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, role FROM account WHERE username = :u"),
                           {"u": username}).one()
    return create_token(engine, role=Role.parse(row.role), name=f"gis-{username}",
                        actor="test", account_id=row.id)


def _db_count(engine, c) -> int:
    where = "TRUE"
    if c.cell_kind:
        where = (f"kind = '{c.cell_kind}' AND plan_id = (SELECT id FROM plan WHERE status = "
                 "'active' ORDER BY effective_from DESC, id DESC LIMIT 1)")
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {c.table} WHERE {where}")).scalar_one()


def test_oapif_driver_is_there():
    assert "OAPIF" in pyogrio.list_drivers()


@pytest.mark.parametrize("collection", [c.id for c in COLLECTIONS])
def test_gdal_reads_every_collection_with_the_database_count_over_pages(
        served, gdal_token, collection):
    url, _, engine = served
    c = next(x for x in COLLECTIONS if x.id == collection)
    expected = _db_count(engine, c)
    # A small page makes GDAL follow many next links.
    page = max(1, expected // 5) if expected else 10
    frame = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer=collection,
                                   PAGE_SIZE=page)
    assert len(frame) == expected
    if "id" in frame:
        assert frame["id"].is_unique


def test_gdal_reads_events_as_a_scoped_account(served):
    """A grid worker's GDAL gets exactly the events of their scope (and their own reports),
    over several pages, in the CRS asked for."""
    url, _, engine = served
    expected = scoped_events(engine, "gw001")
    assert 0 < expected < _db_count(engine, next(c for c in COLLECTIONS if c.id == "events"))
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER",
                                     "GDAL_HTTP_BEARER": _personal_token(engine, "gw001")})
    try:
        frame = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer="events",
                                       PAGE_SIZE=max(1, expected // 4))
        metric = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer="events", CRS="EPSG:3857")
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})
    assert len(frame) == len(metric) == expected and frame["id"].is_unique
    assert "description" not in frame and "parties" not in frame
    with engine.connect() as conn:
        ref = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM event "
                                "WHERE business_id = :b"), {"b": frame["id"].iloc[0]}).one()
    assert frame.geometry.iloc[0].x == pytest.approx(ref[0], abs=1e-6)
    assert metric.set_index("id").loc[frame["id"].iloc[0]].geometry.x == pytest.approx(
        ref[0] * 20037508.34 / 180, rel=1e-6)


def test_gdal_reads_in_the_declared_crs_with_axis_order(served, gdal_token):
    url, _, engine = served
    with engine.connect() as conn:
        ref = conn.execute(text(
            "SELECT business_id, ST_X(geom), ST_Y(geom) FROM office ORDER BY business_id "
            "LIMIT 1")).one()
    lonlat = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer="offices")
    row = lonlat.set_index("id").loc[ref[0]]
    assert row.geometry.x == pytest.approx(ref[1], abs=1e-6)
    assert row.geometry.y == pytest.approx(ref[2], abs=1e-6)
    for code in (4490, 4326, 3857, 4549):
        frame = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer="offices",
                                       CRS=f"EPSG:{code}")
        # GDAL asks for CRS84 when told EPSG:4326 (the same datum, GIS axis order).
        assert frame.crs.to_epsg() == code or (code == 4326 and frame.crs.to_string() ==
                                                "OGC:CRS84")
        point = frame.set_index("id").loc[ref[0]].geometry
        back = frame.set_crs(code, allow_override=True).to_crs(4490).set_index("id")
        moved = back.loc[ref[0]].geometry
        # GDAL gives traditional GIS order (x = east), whatever the CRS's official order.
        assert moved.x == pytest.approx(ref[1], abs=1e-5), (code, point)
        assert moved.y == pytest.approx(ref[2], abs=1e-5), (code, point)


def test_gdal_filters_with_cql2_and_bbox(served, gdal_token):
    url, _, engine = served
    with engine.connect() as conn:
        n = conn.execute(text(
            "SELECT count(*) FROM house WHERE is_rental AND households >= 2")).scalar_one()
    frame = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer="houses",
                                   where="is_rental = 1 AND households >= 2")
    assert len(frame) == n
    grids = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer="grids")
    x0, y0, x1, y1 = grids.total_bounds
    box = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    inside = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer="grids", bbox=box)
    assert 0 < len(inside) < len(grids)
    assert np.all(inside.intersects(shapely.box(*box)))


def test_owslib_lists_and_reads(served):
    from owslib.ogcapi.features import Features

    url, token, engine = served
    api = Features(f"{url}/ogc", headers={"Authorization": f"Bearer {token}"})
    listed = {c["id"] for c in api.collections()["collections"]}
    assert listed == {c.id for c in COLLECTIONS}
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in (
        api.conformance()["conformsTo"])
    grids = api.collection_items("grids", limit=7)
    assert grids["numberReturned"] == 7
    assert grids["numberMatched"] == _db_count(engine, next(
        c for c in COLLECTIONS if c.id == "grids"))
    one = api.collection_item("grids", grids["features"][0]["id"])
    assert one["id"] == grids["features"][0]["id"]
    assert api.collection_queryables("grids")["properties"]["name"]["type"] == "string"
    worker = Features(f"{url}/ogc",
                      headers={"Authorization": f"Bearer {_personal_token(engine, 'gw001')}"})
    events = worker.collection_items("events", limit=5, filter="overdue = false")
    assert events["numberMatched"] == scoped_events(
        engine, "gw001", "NOT coalesce(e.expected_at < now() AND e.state NOT IN "
        "('rejected', 'closed'), false)")
    assert worker.collection_items("events", limit=1)["numberMatched"] == scoped_events(
        engine, "gw001")
    one = worker.collection_item("events", events["features"][0]["id"])
    assert one["properties"]["category"] == events["features"][0]["properties"]["category"]
    assert worker.collection_queryables("events")["properties"]["overdue"]["type"] == "boolean"


def _http(method: str, url: str, token: str, body: dict | None = None,
          **headers: str) -> tuple[int, dict[str, str], dict]:
    """One plain HTTP request (urllib, as any client sends it)."""
    import json
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/geo+json",
        **({"Content-Type": "application/geo+json"} if data else {}), **headers})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


def test_qgis_style_round_trip_over_plain_http(served):
    """Read a draft's grids, move a vertex, PUT it back with If-Match, read it again; a stale
    ETag is refused; a PUT without If-Match (QGIS sends none) applies to the draft as it is."""
    url, _, engine = served
    token = create_token(engine, role=Role.planner, name="qgis-planner", actor="test")
    status, _, draft = _http("POST", f"{url}/api/v1/plans", token, {"name": "QGIS 调整"})
    assert status == 201
    service = f"{url}/ogc/plans/{draft['id']}"
    items = f"{service}/collections/grids/items"
    status, headers, _ = _http("OPTIONS", items, token)
    assert status == 204 and "POST" in headers["allow"]
    _, _, page = _http("GET", f"{items}?limit=5", token)
    feature = page["features"][2]
    status, headers, feature = _http("GET", f"{items}/{feature['id']}", token)
    etag = headers["etag"]
    ring = feature["geometry"]["coordinates"][0][0]
    ring[1] = [ring[1][0] + 1e-5, ring[1][1] - 1e-5]
    sent = {"type": "Feature", "geometry": feature["geometry"],
            "properties": feature["properties"]}
    status, headers, done = _http("PUT", f"{items}/{feature['id']}", token, sent,
                                  **{"If-Match": etag})
    assert status == 200, done
    assert done["committed"] and done["version"] == 2
    new_etag = headers["etag"]
    _, headers, again = _http("GET", f"{items}/{feature['id']}", token)
    assert headers["etag"] == new_etag
    assert again["geometry"]["coordinates"][0][0][1] == pytest.approx(ring[1], abs=1e-7)
    status, _, refused = _http("PUT", f"{items}/{feature['id']}", token, sent,
                               **{"If-Match": etag})
    assert status == 412, refused
    ring[1] = [ring[1][0] + 1e-5, ring[1][1]]
    status, _, done = _http("PUT", f"{items}/{feature['id']}", token, sent)
    assert status == 200 and done["version"] == 3
    # The plan in effect is never edited in place.
    status, _, refused = _http("PUT", f"{url}/ogc/collections/grids/items/{feature['id']}",
                               token, sent)
    assert status == 409 and "make a draft" in refused["detail"]
