"""/api/v1/lookup on the demo town: cells, people, nearest office, CRSs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod
from sqlalchemy import text

from gridsvc.domain.geo.coords import wgs84_to_bd09, wgs84_to_gcj02


@pytest.fixture(scope="module")
def houses(engine):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT business_id, ST_X(geom) AS x, ST_Y(geom) AS y, town_id, village_id, grid_id, "
            "station_id, beat_id FROM house ORDER BY business_id LIMIT 40")).all()


def _get(client, headers, **params):
    return client.get("/api/v1/lookup", params=params, headers=headers)


def test_houses_get_their_stored_cells(client, auth, houses):
    for h in houses:
        body = _get(client, auth("dispatcher"), lon=h.x, lat=h.y).json()
        got = {k: (v or {}).get("id") for k, v in body["cells"].items()}
        assert got == {"town": h.town_id, "village": h.village_id, "grid": h.grid_id,
                       "station": h.station_id, "beat": h.beat_id}
        assert body["nearest_if_outside"] == {}


def test_people_and_phones_by_role(client, auth, houses, engine):
    h = houses[0]
    with engine.connect() as conn:
        workers = set(conn.execute(text(
            "SELECT p.business_id FROM person p JOIN person_area pa ON pa.person_pk = p.pk "
            "WHERE pa.kind = 'grid' AND pa.area_id = :g AND p.role = 'grid_worker'"),
            {"g": h.grid_id}).scalars())
    body = _get(client, auth("dispatcher"), lon=h.x, lat=h.y).json()
    grid_people = body["people"]["grid"]
    assert {p["id"] for p in grid_people if p["role"] == "grid_worker"} == workers
    assert len(workers) >= 2 and all(p["phone"] for p in grid_people)
    assert any(p["role"] == "officer" for p in body["people"]["beat"])
    viewer = _get(client, auth("viewer"), lon=h.x, lat=h.y).json()
    assert viewer["people"]["grid"] and all(p["phone"] is None for p in viewer["people"]["grid"])


def test_nearest_office_distance_is_geodesic(client, auth, houses, engine):
    h = houses[5]
    body = _get(client, auth(), lon=h.x, lat=h.y).json()
    office = body["nearest_office"]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT business_id, ST_X(geom), ST_Y(geom) FROM office")).all()
    geod = Geod(ellps="GRS80")
    dists = {r[0]: geod.inv(h.x, h.y, r[1], r[2])[2] for r in rows}
    best = min(dists, key=dists.get)
    assert office["id"] == best and office["distance_m"] == pytest.approx(dists[best], abs=0.1)


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_chinese_web_map_coordinates(client, auth, houses, system):
    h = houses[10]
    convert = wgs84_to_gcj02 if system == "gcj02" else wgs84_to_bd09
    x, y = convert(np.array([h.x]), np.array([h.y]))
    body = _get(client, auth(), lon=float(x[0]), lat=float(y[0]), crs=system).json()
    assert body["cells"]["grid"]["id"] == h.grid_id
    assert body["query"]["lon_cgcs2000"] == pytest.approx(h.x, abs=1e-7)


def test_projected_input(client, auth, houses):
    from pyproj import Transformer

    h = houses[3]
    x, y = Transformer.from_crs(4490, 4549, always_xy=True).transform(h.x, h.y)
    body = _get(client, auth(), lon=x, lat=y, crs="EPSG:4549").json()
    assert body["cells"]["grid"]["id"] == h.grid_id


def test_swapped_lat_lon_is_422_saying_so(client, auth, houses):
    h = houses[0]
    r = _get(client, auth(), lon=h.y, lat=h.x)
    assert r.status_code == 422
    assert "swapped" in r.json()["detail"]


def test_outside_reports_nearest_cells_with_distance(client, auth):
    body = _get(client, auth(), lon=118.5, lat=28.2).json()
    assert all(v is None for v in body["cells"].values())
    near = body["nearest_if_outside"]
    assert set(near) == {"town", "village", "grid", "station", "beat"}
    assert 10_000 < near["grid"]["distance_m"] < 80_000


@pytest.mark.parametrize(("params", "field"), [
    ({"lon": 119, "lat": 28.2, "crs": "EPSG:999999"}, "crs"),
    # A fuzzer's find: a superscript digit passes str.isdigit() and then fails int().
    ({"lon": 1, "lat": 1, "crs": "³"}, "crs"),
    ({"lon": 1, "lat": 1, "crs": "٣"}, "crs"),
    ({"lon": 119, "lat": 95}, "lon,lat"),
    ({"lon": "abc", "lat": 28.2}, "lon"),
])
def test_bad_input_is_422_naming_the_field(client, auth, params, field):
    r = client.get("/api/v1/lookup", params=params, headers=auth())
    assert r.status_code == 422
    assert field in r.text


def test_unknown_crs_lists_the_accepted_forms(client, auth):
    r = _get(client, auth(), lon=1, lat=1, crs="³")
    assert r.status_code == 422
    [problem] = r.json()["problems"]
    assert problem["field"] == "crs"
    for form in ("EPSG code", "4326", "gcj02", "bd09", "amap", "baidu"):
        assert form in problem["message"]


def test_as_of_before_any_plan_is_404(client, auth):
    r = _get(client, auth(), lon=119.0, lat=28.2, as_of="2001-01-01")
    assert r.status_code == 404
