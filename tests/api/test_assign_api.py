"""POST /api/v1/assign: a file of points in, the same rows with cell ids out, streamed."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gridsvc.api.app import create_app
from gridsvc.settings import Settings


@pytest.fixture(scope="module")
def houses(engine):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT business_id, ST_X(geom) x, ST_Y(geom) y, grid_id, beat_id, village_id "
            "FROM house ORDER BY business_id LIMIT 3000")).all()


def _csv(rows) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["case", "note", "lng", "lat"])
    for i, h in enumerate(rows):
        w.writerow([f"K{i}", "门口 note, with comma", repr(h.x), repr(h.y)])
    return out.getvalue().encode()


def test_csv_in_csv_out_with_all_columns(client, auth, houses):
    r = client.post("/api/v1/assign", content=_csv(houses), headers={
        **auth(), "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(houses)
    assert list(rows[0])[:4] == ["case", "note", "lng", "lat"]
    assert {"grid_id", "beat_id", "town_id", "village_id", "station_id"} <= set(rows[0])
    assert [r_["grid_id"] for r_ in rows] == [h.grid_id for h in houses]
    assert rows[0]["note"] == "门口 note, with comma"


def test_geojson_in_geojson_out_two_layers(client, auth, houses):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"house": h.business_id},
         "geometry": {"type": "Point", "coordinates": [h.x, h.y]}} for h in houses[:500]]}
    r = client.post("/api/v1/assign?layers=grid,beat", content=json.dumps(fc).encode(),
                    headers={**auth(), "Content-Type": "application/geo+json"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["type"] == "FeatureCollection" and len(out["features"]) == 500
    props = out["features"][0]["properties"]
    assert set(props) == {"house", "grid_id", "grid_nearest_id", "grid_distance_m", "beat_id",
                          "beat_nearest_id", "beat_distance_m"}
    assert [f["properties"]["grid_id"] for f in out["features"]] == [
        h.grid_id for h in houses[:500]]
    assert out["features"][3]["geometry"]["coordinates"] == pytest.approx(
        [houses[3].x, houses[3].y])


def test_outside_points_get_nearest_and_distance(client, auth):
    body = b"lon,lat\n118.5,28.2\n"
    r = client.post("/api/v1/assign?layers=grid", content=body,
                    headers={**auth(), "Content-Type": "text/csv"})
    row = next(csv.DictReader(io.StringIO(r.text)))
    assert row["grid_id"] == "" and row["grid_nearest_id"].startswith("G")
    assert float(row["grid_distance_m"]) > 10_000


def test_bad_row_is_422_naming_row_and_column(client, auth):
    body = b"lon,lat\n119.0,28.2\n119.0,28.21\nabc,28.2\n"
    r = client.post("/api/v1/assign", content=body, headers={**auth(), "Content-Type": "text/csv"})
    assert r.status_code == 422
    assert "row 3" in r.text and "lon" in r.text


def test_wrong_type_and_empty_body(client, auth):
    assert client.post("/api/v1/assign", content=b"x", headers={
        **auth(), "Content-Type": "application/pdf"}).status_code == 415
    assert client.post("/api/v1/assign", content=b"", headers={
        **auth(), "Content-Type": "text/csv"}).status_code == 422


def test_too_large_is_413(settings, engine, make_token):
    small = Settings(data_dir=settings.data_dir, max_upload_bytes=1000)
    with TestClient(create_app(small, engine)) as c:
        r = c.post("/api/v1/assign", content=b"lon,lat\n" + b"119.0,28.2\n" * 200,
                   headers={"Authorization": f"Bearer {make_token()}",
                            "Content-Type": "text/csv"})
    assert r.status_code == 413


@pytest.mark.slow
def test_a_million_points(client, auth, houses):
    rng = np.random.default_rng(3)
    pick = rng.integers(0, len(houses), 1_000_000)
    xs = np.array([h.x for h in houses])[pick]
    ys = np.array([h.y for h in houses])[pick]
    body = "lon,lat\n" + "\n".join(f"{a:.7f},{b:.7f}" for a, b in zip(xs, ys, strict=True))
    r = client.post("/api/v1/assign?layers=grid", content=body.encode(),
                    headers={**auth(), "Content-Type": "text/csv"})
    assert r.status_code == 200
    lines = r.text.splitlines()
    assert len(lines) == 1_000_001
    grids = np.array([h.grid_id for h in houses])[pick]
    got = [line.split(",")[2].strip('"') for line in lines[1:1001]]
    assert got == grids[:1000].tolist()
