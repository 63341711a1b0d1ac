"""Part 4 on a draft's cells, in process on a private demo copy: each write is a plan edit
(checks, versions, audit), writes elsewhere are refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gridsvc.api.app import create_app
from gridsvc.domain.accounts import Role
from gridsvc.services import plans
from gridsvc.services.tokens import create_token

pytestmark = pytest.mark.db


@pytest.fixture
def api(settings, demo_copy):
    headers = {role: {"Authorization": "Bearer " + create_token(
        demo_copy, role=Role.parse(role), name=f"{role}-ogc", actor="test")}
        for role in ("viewer", "planner")}
    draft = plans.create_draft(demo_copy, name="QGIS edits", actor="test")
    with TestClient(create_app(settings, demo_copy)) as client:
        yield client, headers, draft["id"]


def _moved(feature: dict, dx: float = 2e-5) -> dict:
    """The feature with the second vertex of its outer ring moved a little."""
    geom = feature["geometry"]
    ring = geom["coordinates"][0][0]
    ring[1] = [ring[1][0] + dx, ring[1][1] + dx / 2]
    return {"type": "Feature", "id": feature["id"], "geometry": geom,
            "properties": feature["properties"]}


def test_replace_with_if_match_then_stale_tags(api, demo_copy):
    client, h, plan = api
    base = f"/ogc/plans/{plan}/collections/grids/items"
    first = client.get(f"{base}?limit=1", headers=h["viewer"]).json()["features"][0]
    url = f"{base}/{first['id']}"
    read = client.get(url, headers=h["viewer"])
    etag = read.headers["etag"]
    body = _moved(read.json())
    put = client.put(url, json=body, headers={**h["planner"], "If-Match": etag})
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 2 and put.json()["cells"] == [
        {"kind": "grid", "id": first["id"], "change": "changed"}]
    assert put.headers["etag"] != etag
    again = client.get(url, headers=h["viewer"])
    assert again.headers["etag"] == put.headers["etag"]
    got = again.json()["geometry"]["coordinates"][0][0][1]
    assert got == pytest.approx(body["geometry"]["coordinates"][0][0][1], abs=1e-7)
    # The ETag read before the edit is stale now: 412; an old plan version: 409.
    stale = client.put(url, json=body, headers={**h["planner"], "If-Match": etag})
    assert stale.status_code == 412 and "changed since you read it" in stale.json()["detail"]
    old = client.put(url, json=body, headers={**h["planner"], "If-Match": '"1"'})
    assert old.status_code == 409 and "version 2, not 1" in old.json()["detail"]
    with demo_copy.connect() as conn:
        entry = conn.execute(text(
            "SELECT actor, after FROM audit_log WHERE action = 'plan.edit' AND object_id = :p "
            "ORDER BY id DESC LIMIT 1"), {"p": str(plan)}).one()
    assert entry[0] == "planner-ogc" and entry[1]["op"]["via"] == "ogc"
    assert entry[1]["changes"][0]["id"] == first["id"]


def test_create_patch_delete_in_query_form(api):
    client, h, plan = api
    base = "/ogc/collections/grids/items"
    grid = client.get(f"{base}?plan={plan}&limit=1", headers=h["viewer"]).json()["features"][0]
    x0, y0 = grid["geometry"]["coordinates"][0][0][0]
    square = {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 0.001, y0],
                                                  [x0 + 0.001, y0 + 0.001],
                                                  [x0, y0 + 0.001], [x0, y0]]]}
    new_cell = {"type": "Feature", "geometry": square,
                "properties": {"parent_id": grid["properties"]["parent_id"], "name": "新网格",
                               "code": None}}
    once = {**h["planner"], "Idempotency-Key": "qgis-add-1"}
    made = client.post(f"{base}?plan={plan}", headers=once, json=new_cell)
    assert made.status_code == 201, made.text
    # A retry with the same key gives the same cell, not a second one.
    retry = client.post(f"{base}?plan={plan}", headers=once, json=new_cell)
    assert retry.status_code == 201 and retry.json()["replayed"]
    assert retry.headers["location"] == made.headers["location"]
    location = made.headers["location"]
    new_id = location.rsplit("/", 1)[1].split("?")[0]
    assert f"plan={plan}" in location
    created = client.get(location.replace("http://testserver", ""), headers=h["viewer"])
    assert created.json()["properties"]["name"] == "新网格"
    # PATCH (a merge patch of the geometry, as QGIS sends) moves it (EPSG:4326 is lat/lon).
    moved = {"type": "Polygon", "coordinates": [[[y + 0.0005, x] for x, y in ring]
                                                for ring in square["coordinates"]]}
    patch = client.patch(f"{base}/{new_id}?plan={plan}", headers={
        **h["planner"], "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4326>"},
        json={"geometry": moved})
    assert patch.status_code == 200, patch.text
    after = client.get(f"{base}/{new_id}?plan={plan}", headers=h["viewer"]).json()
    assert after["geometry"]["coordinates"][0][0][0][1] == pytest.approx(y0 + 0.0005)
    gone = client.delete(f"{base}/{new_id}?plan={plan}", headers=h["planner"])
    assert gone.status_code == 200 and gone.json()["cells"][0]["change"] == "retired"
    assert client.get(f"{base}/{new_id}?plan={plan}", headers=h["viewer"]).status_code == 404


def test_refusals(api):
    client, h, plan = api
    grid = client.get("/ogc/collections/grids/items?limit=1",
                      headers=h["viewer"]).json()["features"][0]
    url = f"/ogc/collections/grids/items/{grid['id']}"
    body = _moved(grid)
    in_effect = client.put(url, json=body, headers=h["planner"])
    assert in_effect.status_code == 409 and "make a draft" in in_effect.json()["detail"]
    draft_url = f"/ogc/plans/{plan}/collections/grids/items/{grid['id']}"
    assert client.put(draft_url, json=body).status_code == 401
    assert client.put(draft_url, json=body, headers=h["viewer"]).status_code == 403
    renamed = {**body, "properties": {**body["properties"], "name": "改名"}}
    bad = client.put(draft_url, json=renamed, headers=h["planner"])
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "name"
    assert client.put(f"/ogc/plans/{plan}/collections/offices/items/O01", json=body,
                      headers=h["planner"]).status_code == 405
    spike = {**body, "geometry": {"type": "Polygon", "coordinates": [
        [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}
    invalid = client.put(draft_url, json=spike, headers=h["planner"])
    assert invalid.status_code == 422 and "invalid geometry" in invalid.text
    allow = client.options(f"/ogc/plans/{plan}/collections/grids/items", headers=h["viewer"])
    assert "POST" in allow.headers["allow"]
    allow = client.options(draft_url, headers=h["viewer"])
    assert {"PUT", "PATCH", "DELETE"} <= set(allow.headers["allow"].split(", "))
    read_only = client.options(url, headers=h["viewer"]).headers["allow"]
    assert "PUT" not in read_only
