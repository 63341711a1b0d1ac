"""/api/v1/incidents: assigned on create to the cells in effect at the incident's time."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import text

from gridsvc.api.app import create_app
from gridsvc.db import areas as area_repo
from gridsvc.domain.accounts import Role
from gridsvc.services.tokens import create_token
from gridsvc.settings import Settings


def test_create_assigns_cells_and_keeps_source_coordinates(client, auth, engine):
    with engine.connect() as conn:
        h = conn.execute(text("SELECT ST_X(geom) x, ST_Y(geom) y, grid_id, beat_id FROM house "
                              "ORDER BY business_id LIMIT 1")).one()
    r = client.post("/api/v1/incidents", headers=auth("dispatcher"), json={
        "occurred_at": "2026-11-23T20:15:00+08:00", "category": "盗窃", "summary": "电瓶车被盗",
        "lon": h.x, "lat": h.y})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["cells"]["grid"] == h.grid_id and body["cells"]["beat"] == h.beat_id
    assert body["src_x"] == h.x and body["src_crs"] == "EPSG:4326"
    again = client.get(f"/api/v1/incidents/{body['id']}", headers=auth()).json()
    assert again["cells"] == body["cells"]
    with engine.connect() as conn:
        audited = conn.execute(text("SELECT actor FROM audit_log WHERE action = 'incident.create' "
                                    "AND object_id = :i"), {"i": body["id"]}).scalar_one()
    assert audited == "test-dispatcher"


@pytest.mark.parametrize(("patch", "field"), [
    ({"occurred_at": "2026-11-23T20:15:00"}, "occurred_at"),
    ({"lon": 28.2, "lat": 119.0}, "lon,lat"),
    ({"crs": "nonsense"}, "crs"),
    ({"category": ""}, "category"),
])
def test_bad_incident_is_422_and_not_written(client, auth, engine, patch, field):
    count = "SELECT count(*) FROM incident"
    with engine.connect() as conn:
        before = conn.execute(text(count)).scalar_one()
    body = {"occurred_at": "2026-11-23T20:15:00+08:00", "category": "纠纷",
            "lon": 119.0, "lat": 28.2, **patch}
    r = client.post("/api/v1/incidents", headers=auth("dispatcher"), json=body)
    assert r.status_code == 422 and field in r.text
    with engine.connect() as conn:
        assert conn.execute(text(count)).scalar_one() == before


def test_viewer_cannot_record(client, auth):
    r = client.post("/api/v1/incidents", headers=auth("viewer"), json={
        "occurred_at": "2026-11-23T20:15:00+08:00", "category": "x", "lon": 119, "lat": 28.2})
    assert r.status_code == 403


def test_incident_keeps_the_cells_of_its_own_time(scratch_engine, scratch_url):
    """Two plans: the boundary between W and E moves east on 2026-06-01. An incident on the
    strip that changed hands gets W before the change and E after, and keeps it."""
    with scratch_engine.begin() as conn:
        for name, start, split in (("old", date(2020, 1, 1), 119.02), ("new", date(2026, 6, 1),
                                                                        119.005)):
            plan = area_repo.create_plan(conn, name=name, status="active", effective_from=start,
                                         created_by="test")
            area_repo.insert_areas(conn, plan, "grid", [
                {"business_id": "W", "name": "W", "geom": box(119.0, 28.0, split, 28.03)},
                {"business_id": "E", "name": "E", "geom": box(split, 28.0, 119.04, 28.03)}])
    token = create_token(scratch_engine, role=Role.dispatcher, name="d", actor="test")
    app = create_app(Settings(database_url=scratch_url), scratch_engine)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        def record(when: str) -> dict:
            r = c.post("/api/v1/incidents", json={"occurred_at": when, "category": "纠纷",
                                                  "lon": 119.01, "lat": 28.01})
            assert r.status_code == 201, r.text
            return r.json()

        before = record("2026-03-01T10:00:00+08:00")
        after = record("2026-07-01T10:00:00+08:00")
        assert before["cells"]["grid"] == "W" and after["cells"]["grid"] == "E"
        assert before["cells"]["plan_id"] != after["cells"]["plan_id"]
        assert c.get(f"/api/v1/incidents/{before['id']}").json()["cells"]["grid"] == "W"
        assert c.get("/api/v1/lookup", params={"lon": 119.01, "lat": 28.01}).json()[
            "cells"]["grid"]["id"] == "E"
        assert c.get("/api/v1/lookup", params={"lon": 119.01, "lat": 28.01,
                                               "as_of": "2026-03-01"}).json()[
            "cells"]["grid"]["id"] == "W"
