"""/api/v1/areas: the demo town's cells as GeoJSON."""

from __future__ import annotations

import pytest
from shapely.geometry import shape

EXPECTED = {"town": 2, "village": 30, "grid": 39, "station": 1, "beat": 5}


@pytest.mark.parametrize(("kind", "count"), EXPECTED.items())
def test_feature_collection_per_kind(client, auth, kind, count):
    r = client.get(f"/api/v1/areas?kind={kind}", headers=auth())
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == count
    for f in body["features"]:
        assert {"id", "code", "name", "parent_id"} <= f["properties"].keys()
        geom = shape(f["geometry"])
        assert geom.geom_type == "MultiPolygon" and geom.is_valid
        minx, miny, maxx, maxy = geom.bounds
        assert 118.5 < minx < maxx < 119.5 and 27.8 < miny < maxy < 28.6


def test_grids_name_their_village_as_parent(client, auth):
    villages = {f["id"] for f in client.get("/api/v1/areas?kind=village",
                                            headers=auth()).json()["features"]}
    grids = client.get("/api/v1/areas?kind=grid", headers=auth()).json()["features"]
    assert {g["properties"]["parent_id"] for g in grids} <= villages
    for g in grids:  # the grid code extends its village's 12-digit code
        assert len(g["properties"]["code"]) == 15


def test_one_area_and_unknown_ones(client, auth):
    first = client.get("/api/v1/areas?kind=beat", headers=auth()).json()["features"][0]
    r = client.get(f"/api/v1/areas/beat/{first['id']}", headers=auth())
    assert r.status_code == 200 and r.json()["properties"]["name"] == first["properties"]["name"]
    missing = client.get("/api/v1/areas/beat/no-such-beat", headers=auth())
    assert missing.status_code == 404 and "no-such-beat" in missing.json()["detail"]


def test_bad_kind_is_422_naming_the_field(client, auth):
    r = client.get("/api/v1/areas?kind=county", headers=auth())
    assert r.status_code == 422
    assert "kind" in r.text


def test_as_of_before_any_plan_is_404(client, auth):
    r = client.get("/api/v1/areas?kind=grid&as_of=2000-01-01", headers=auth())
    assert r.status_code == 404 and "no plan" in r.json()["detail"]


def test_root_page_links_to_docs(client):
    r = client.get("/")
    assert r.status_code == 200 and 'href="/docs"' in r.text
    assert client.get("/docs").status_code == 200
