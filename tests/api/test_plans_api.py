"""``/api/v1/plans`` as a planner uses it, on a private copy of the demo town."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gridsvc.api.app import create_app
from gridsvc.domain.accounts import Role
from gridsvc.services.tokens import create_token

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


@pytest.fixture
def api(settings, demo_copy):
    """A client on the copy, and headers per role (tokens live in the copy's database)."""
    headers = {role: {"Authorization": "Bearer " + create_token(
        demo_copy, role=Role.parse(role), name=f"{role}-1", actor="test")}
        for role in ("viewer", "planner", "admin")}
    headers["planner2"] = {"Authorization": "Bearer " + create_token(
        demo_copy, role=Role.planner, name="planner-2", actor="test")}
    with TestClient(create_app(settings, demo_copy)) as client:
        yield client, headers


def _neighbours_with_houses(engine, plan_id):
    with engine.connect() as conn:
        a, b = conn.execute(text("""
            SELECT a.business_id, b.business_id FROM area a JOIN area b
              ON b.plan_id = a.plan_id AND b.kind = 'grid' AND b.parent_id = a.parent_id
             AND a.business_id < b.business_id AND ST_Relate(a.geom, b.geom, '****1****')
            WHERE a.plan_id = :p AND a.kind = 'grid'
            ORDER BY a.business_id LIMIT 1"""), {"p": plan_id}).one()
        houses = conn.execute(text("SELECT business_id, ST_X(geom), ST_Y(geom) FROM house "
                                   "WHERE grid_id = :a ORDER BY business_id LIMIT 6"),
                              {"a": a}).all()
    return a, b, houses


def test_draft_edit_preview_activate_through_the_api(api, demo_copy):
    client, h = api
    made = client.post("/api/v1/plans", json={"name": "东片调整"}, headers=h["planner"])
    assert made.status_code == 201, made.text
    plan_id, etag = made.json()["id"], made.headers["etag"]
    assert etag == '"1"'
    a, b, houses = _neighbours_with_houses(demo_copy, plan_id)
    ids = [r[0] for r in houses]
    lon, lat = houses[0][1], houses[0][2]
    incident = client.post("/api/v1/incidents", headers=h["planner"], json={
        "occurred_at": f"{YESTERDAY}T09:00:00+08:00", "category": "纠纷", "lon": lon,
        "lat": lat, "crs": "4490"})
    assert incident.status_code == 201 and incident.json()["cells"]["grid"] == a

    edit = {"op": "transfer", "kind": "grid", "from": a, "to": b, "houses": ids}
    assert client.post(f"/api/v1/plans/{plan_id}/edits", json=edit,
                       headers=h["viewer"]).status_code == 403
    assert client.post(f"/api/v1/plans/{plan_id}/edits", json=edit,
                       headers=h["planner"]).status_code == 422  # no version given
    done = client.post(f"/api/v1/plans/{plan_id}/edits", json=edit,
                       headers={**h["planner"], "If-Match": etag})
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == '"2"' and done.json()["errors"] == 0
    # The second planner edited what they read as version 1: 409, saying who changed it.
    late = client.post(f"/api/v1/plans/{plan_id}/edits", json={"op": "retire", "id": b},
                       headers={**h["planner2"], "If-Match": etag})
    assert late.status_code == 409
    assert "version 2, not 1" in late.json()["detail"] and "planner-1" in late.json()["detail"]

    shown = client.get(f"/api/v1/plans/{plan_id}", headers=h["viewer"])
    assert shown.headers["etag"] == '"2"'
    assert {c["id"] for c in shown.json()["changes"]} == {a, b}
    assert client.get(f"/api/v1/plans/{plan_id}/impact",
                      headers=h["viewer"]).status_code == 403
    preview = client.get(f"/api/v1/plans/{plan_id}/impact?months=1", headers=h["planner"])
    assert preview.status_code == 200
    body = preview.json()
    assert sorted(x["id"] for x in body["houses"]) == sorted(ids)
    assert body["summary"]["houses"] == len(ids) and body["summary"]["incidents"] == 1
    assert len(body["cells"]["features"]) == 4  # two cells, before and after
    checked = client.post(f"/api/v1/plans/{plan_id}/validate", headers=h["planner"])
    assert checked.status_code == 200 and checked.json()["errors"] == 0

    lookup = f"/api/v1/lookup?lon={lon}&lat={lat}&crs=4490"
    assert client.get(lookup, headers=h["viewer"]).json()["cells"]["grid"]["id"] == a
    dry = client.post(f"/api/v1/plans/{plan_id}/activate", json={}, headers=h["planner"])
    assert dry.json()["committed"] is False and dry.json()["moved"]["house"] == len(ids)
    assert client.get(lookup, headers=h["viewer"]).json()["cells"]["grid"]["id"] == a
    stale = client.post(f"/api/v1/plans/{plan_id}/activate?commit=true", json={"version": 1},
                        headers=h["planner"])
    assert stale.status_code == 409
    on = client.post(f"/api/v1/plans/{plan_id}/activate?commit=true",
                     json={"version": 2}, headers=h["planner"])
    assert on.status_code == 200 and on.json()["committed"] is True, on.text
    now = client.get(lookup, headers=h["viewer"]).json()
    assert now["plan_id"] == plan_id and now["cells"]["grid"]["id"] == b
    then = client.get(f"{lookup}&as_of={YESTERDAY}", headers=h["viewer"]).json()
    assert then["plan_id"] == on.json()["replaces"] and then["cells"]["grid"]["id"] == a
    kept = client.get(f"/api/v1/incidents/{incident.json()['id']}", headers=h["viewer"])
    assert kept.json()["cells"]["grid"] == a
    # Reports and cells answer as of a date too.
    for path in ("/api/v1/staffing", f"/api/v1/areas?kind=grid&as_of={YESTERDAY}"):
        assert client.get(path, headers=h["viewer"]).status_code == 200
    assert client.get(f"/api/v1/staffing?as_of={YESTERDAY}",
                      headers=h["viewer"]).json()["plan_id"] == on.json()["replaces"]

    listed = client.get("/api/v1/plans", headers=h["viewer"]).json()
    assert next(p for p in listed if p["id"] == plan_id)["in_effect"] is True
    audit = client.get("/api/v1/audit?limit=50", headers=h["admin"]).json()
    mine = [e for e in audit if e["object_kind"] == "plan" and e["object_id"] == str(plan_id)]
    assert [e["action"] for e in reversed(mine)] == [
        "plan.create", "plan.edit", "plan.validate", "plan.activate"]
    assert {e["actor"] for e in mine} == {"planner-1"}
    activation = mine[0]
    assert activation["before"]["status"] == "draft"
    assert activation["after"]["counts"]["house"] == len(ids)
    assert sorted(activation["after"]["ids"]["house"]) == sorted(ids)

    off = client.post(f"/api/v1/plans/{plan_id}/retire?commit=true", headers=h["planner"])
    assert off.status_code == 200 and off.json()["moved"]["house"] == len(ids)
    assert client.get(lookup, headers=h["viewer"]).json()["cells"]["grid"]["id"] == a
    back = client.post(f"/api/v1/plans/{plan_id}/restore?commit=true", headers=h["planner"])
    assert back.status_code == 200 and back.json()["in_effect"] == plan_id
    assert client.get(lookup, headers=h["viewer"]).json()["cells"]["grid"]["id"] == b


def test_a_plan_for_a_future_date_answers_from_that_date(api, demo_copy):
    client, h = api
    plan_id = client.post("/api/v1/plans", json={"name": "next month"},
                          headers=h["planner"]).json()["id"]
    a, b, houses = _neighbours_with_houses(demo_copy, plan_id)
    lon, lat = houses[0][1], houses[0][2]
    edit = {"op": "transfer", "from": a, "to": b, "houses": [houses[0][0]], "version": 1}
    assert client.post(f"/api/v1/plans/{plan_id}/edits", json=edit,
                       headers=h["planner"]).status_code == 200
    day = (date.today() + timedelta(days=30)).isoformat()
    assert client.post(f"/api/v1/plans/{plan_id}/activate?commit=true",
                       json={"effective_from": day}, headers=h["viewer"]).status_code == 403
    past = client.post(f"/api/v1/plans/{plan_id}/activate?commit=true",
                       json={"effective_from": YESTERDAY}, headers=h["planner"])
    assert past.status_code == 422 and "in the past" in past.text
    on = client.post(f"/api/v1/plans/{plan_id}/activate?commit=true",
                     json={"effective_from": day}, headers=h["planner"]).json()
    assert on["in_effect"] is False and sum(on["moved"].values()) == 0
    lookup = f"/api/v1/lookup?lon={lon}&lat={lat}&crs=4490"
    assert client.get(lookup, headers=h["viewer"]).json()["cells"]["grid"]["id"] == a
    later = client.get(f"{lookup}&as_of={day}", headers=h["viewer"]).json()
    assert later["plan_id"] == plan_id and later["cells"]["grid"]["id"] == b
    synced = client.post("/api/v1/plans/sync", headers=h["planner"]).json()
    assert synced["plan_id"] == on["replaces"] and synced["committed"] is False
