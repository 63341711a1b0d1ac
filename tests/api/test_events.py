"""Events through the API on the real demo town: the whole loop as a grid worker, an officer
and a town handler; illegal steps; retries; scope; photos; overdue escalation; figures."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from gridsvc.domain.accounts import Role
from gridsvc.services import accounts, events

pytestmark = pytest.mark.db

GRID = "G102001001"  # gw001's grid, in beat B02 (officers off03, off04)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def where(engine) -> tuple[float, float]:
    """A house of gw001's grid, away from its edges."""
    with engine.connect() as conn:
        row = conn.execute(text("""
            SELECT ST_X(h.geom), ST_Y(h.geom) FROM house h JOIN area a ON a.kind = 'grid'
            AND a.business_id = h.grid_id AND a.plan_id = h.cells_plan_id
            WHERE h.grid_id = :g ORDER BY ST_Distance(ST_Boundary(a.geom), h.geom) DESC
            LIMIT 1"""), {"g": GRID}).one()
    return float(row[0]), float(row[1])


@pytest.fixture(scope="module")
def town_handler(engine, as_account) -> dict[str, str]:
    """A handler of the town gw001's grid lies in (the town's 综治中心)."""
    with engine.connect() as conn:
        town = conn.execute(text("SELECT town_id FROM house WHERE grid_id = :g LIMIT 1"),
                            {"g": GRID}).scalar_one()
    name = f"town-{uuid.uuid4().hex[:6]}"
    accounts.create_account(engine, username=name, display_name="镇综治中心", role=Role.handler,
                            password=None, scope=[("town", town)], actor="test-suite")
    return as_account(name)


def _report(client, headers, where, key=None, **extra):
    body = {"category": "dispute.neighbour", "grade": "general",
            "description": "两户因排水沟发生争吵", "parties": "张三, 李四",
            "lon": where[0], "lat": where[1], "crs": "4490", **extra}
    h = {**headers, **({"Idempotency-Key": key} if key else {})}
    return client.post("/api/v1/events", json=body, headers=h)


def test_whole_loop_as_grid_worker_officer_and_town(client, as_account, where, town_handler):
    gw, officer = as_account("gw001"), as_account("off03")
    made = _report(client, gw, where, key=uuid.uuid4().hex)
    assert made.status_code == 201, made.text
    event = made.json()
    assert event["state"] == "reported" and event["level"] == "grid"
    assert event["grid_id"] == GRID and event["beat_id"] == "B02"
    assert event["routing"]["unit_kind"] == "grid"
    people = {p["id"] for p in event["routing"]["people"]}
    assert {"GW001", "OFF03"} <= people  # the grid's workers handle, the beat's officer is told
    assert event["expected_at"] and not event["overdue"]
    eid = event["id"]
    # A grid worker may report, not handle.
    assert client.post(f"/api/v1/events/{eid}/transitions", json={"action": "accept"},
                       headers=gw).status_code == 403
    steps = [(officer, "accept"), (officer, "dispatch"), (officer, "start")]
    for who, action in steps:
        r = client.post(f"/api/v1/events/{eid}/transitions", json={"action": action},
                        headers=who)
        assert r.status_code == 200, r.text
    # Illegal: closing an event in hand is a 409 naming its state.
    r = client.post(f"/api/v1/events/{eid}/transitions", json={"action": "close"},
                    headers=officer)
    assert r.status_code == 409 and "in_hand" in r.json()["detail"]
    # The officer cannot settle it: up to the village, then the town takes it.
    r = client.post(f"/api/v1/events/{eid}/transitions",
                    json={"action": "escalate", "reason": "needs the village committee"},
                    headers=officer)
    assert r.status_code == 200 and r.json()["level"] == "village"
    assert r.json()["state"] == "accepted"
    r = client.post(f"/api/v1/events/{eid}/transitions",
                    json={"action": "escalate", "reason": "land title: the town decides"},
                    headers=town_handler)
    assert r.status_code == 200, r.text
    assert r.json()["level"] == "town" and r.json()["routing"]["unit_kind"] == "town"
    photo = client.post(f"/api/v1/events/{eid}/photos", content=PNG,
                        headers={**town_handler, "Content-Type": "image/png"})
    assert photo.status_code == 201, photo.text
    for action in ("dispatch", "start", "handle", "verify", "close"):
        body = {"action": action, "note": f"{action} done"}
        if action == "handle":
            body["attachments"] = [photo.json()["id"]]
        r = client.post(f"/api/v1/events/{eid}/transitions", json=body, headers=town_handler)
        assert r.status_code == 200, r.text
    final = client.get(f"/api/v1/events/{eid}", headers=gw).json()  # the reporter sees it
    assert final["state"] == "closed" and final["expected_at"] is None
    actions = [h["action"] for h in final["history"]]
    assert actions == ["report", "accept", "dispatch", "start", "escalate", "escalate",
                       "dispatch", "start", "handle", "verify", "close"]
    assert final["history"][-3]["attachments"] == [photo.json()["id"]]
    got = client.get(f"/api/v1/events/{eid}/photos/{photo.json()['id']}", headers=gw)
    assert got.status_code == 200 and got.content == PNG
    # Closed is final.
    r = client.post(f"/api/v1/events/{eid}/transitions", json={"action": "reopen",
                                                               "reason": "x"}, headers=officer)
    assert r.status_code == 409 and "closed" in r.json()["detail"]


def test_a_retry_with_the_same_key_makes_one_event(client, as_account, where, engine):
    gw = as_account("gw001")
    key = uuid.uuid4().hex
    first = _report(client, gw, where, key=key)
    again = _report(client, gw, where, key=key)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event WHERE idempotency_key LIKE :k"),
                            {"k": f"%:{key}"}).scalar_one() == 1


def test_a_grid_worker_of_another_village_gets_404(client, as_account, where):
    made = _report(client, as_account("gw001"), where).json()
    other = as_account("gw030")  # another village's grid
    assert client.get(f"/api/v1/events/{made['id']}", headers=other).status_code == 404
    listed = client.get("/api/v1/events", headers=other).json()
    assert made["id"] not in {e["id"] for e in listed["items"]}
    r = client.post(f"/api/v1/events/{made['id']}/photos", content=PNG,
                    headers={**other, "Content-Type": "image/png"})
    assert r.status_code == 404
    # The officer of the beat sees it in the grid's open list.
    mine = client.get("/api/v1/events", params={"grid_id": GRID, "open": "true"},
                      headers=as_account("off03")).json()
    assert made["id"] in {e["id"] for e in mine["items"]}


def test_bad_reports_and_photos_are_422(client, as_account, where):
    gw = as_account("gw001")
    r = _report(client, gw, where, category="no.such")
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "category"
    r = client.post("/api/v1/events", headers=gw, json={
        "category": "other", "description": "x", "lon": where[1], "lat": where[0],
        "crs": "4490"})
    assert r.status_code == 422
    made = _report(client, gw, where).json()
    r = client.post(f"/api/v1/events/{made['id']}/photos", content=b"GIF89a....",
                    headers={**gw, "Content-Type": "image/png"})
    assert r.status_code == 422 and "JPEG" in r.json()["problems"][0]["message"]
    r = client.post(f"/api/v1/events/{made['id']}/photos", content=PNG,
                    headers={**gw, "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = client.post(f"/api/v1/events/{made['id']}/transitions",
                    json={"action": "reject"}, headers=as_account("off03"))
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "reason"


def test_report_by_house_and_urgent_goes_to_the_town(client, as_account, engine):
    with engine.connect() as conn:
        house = conn.execute(text("""
            SELECT v.name || h.number || '号' FROM house h JOIN area v ON v.kind = 'village'
            AND v.business_id = h.address_village_id AND v.plan_id = h.cells_plan_id
            WHERE h.grid_id = :g AND h.sub_number IS NULL AND h.building IS NULL
            ORDER BY h.business_id LIMIT 1"""), {"g": GRID}).scalar_one()
    r = client.post("/api/v1/events", headers=as_account("gw001"), json={
        "category": "fire", "grade": "紧急", "description": "电动车楼道充电起火", "house": house})
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["house_id"] and event["grid_id"] == GRID
    assert event["level"] == "town" and event["routing"]["unit_kind"] == "town"


def test_overdue_events_are_escalated_by_the_sweep(client, as_account, where, engine):
    made = _report(client, as_account("gw001"), where).json()
    with engine.begin() as conn:
        conn.execute(text("UPDATE event SET expected_at = now() - interval '1 hour' "
                          "WHERE id = :id"), {"id": made["id"]})
    overdue = client.get("/api/v1/events/overdue", headers=as_account("off03")).json()
    assert made["id"] in {e["id"] for e in overdue["items"]}
    done = events.sweep(engine)
    assert made["business_id"] in done["escalated"]
    after = client.get(f"/api/v1/events/{made['id']}", headers=as_account("off03")).json()
    assert after["level"] == "village" and after["overdue"] is False and after["late"]
    assert after["history"][-1]["actor"] == "system"
    assert after["history"][-1]["action"] == "escalate"


def test_category_change_reroutes(client, as_account, where):
    made = _report(client, as_account("gw001"), where).json()
    r = client.patch(f"/api/v1/events/{made['id']}", json={"category": "order"},
                     headers=as_account("off03"))
    assert r.status_code == 200, r.text
    assert r.json()["routing"]["unit_kind"] == "beat"
    assert r.json()["history"][-1]["action"] == "reroute"


def test_figures_summary_catalogue_and_changes(client, as_account, where):
    command = as_account("command")
    _report(client, as_account("gw001"), where)
    cats = client.get("/api/v1/events/catalogue", headers=command).json()
    assert {"dispute", "dispute.neighbour", "fire"} <= {c["code"] for c in cats}
    rows = client.get("/api/v1/events/summary", params={"level": "grid"},
                      headers=command).json()
    mine = next(r for r in rows if r["cell_id"] == GRID)
    assert mine["reported"] >= 1 and mine["open"] >= 1
    figs = client.get("/api/v1/events/figures", params={
        "by": "grid", "since": (date.today() - timedelta(days=1)).isoformat()},
        headers=command).json()
    assert any(f["key"] == GRID for f in figs)
    feed = client.get("/api/v1/events/changes", params={"after": 0, "limit": 5},
                      headers=command).json()
    assert feed and all("lon" in c and "event_id" in c for c in feed)
    assert client.put("/api/v1/events/limits", headers=as_account("off03"), json={
        "category": "*", "grade": "general", "state": "reported", "hours": 12}).status_code == 403


def test_my_page_lists_my_events_and_not_others(client, as_account, where):
    made = _report(client, as_account("gw001"), where, description="我的页面上的事件").json()
    page = client.get("/me", headers=as_account("gw001"))
    assert page.status_code == 200
    assert f'data-event-id="{made["id"]}"' in page.text and "我的页面上的事件" in page.text
    other = client.get("/me", headers=as_account("gw030")).text
    assert f'data-event-id="{made["id"]}"' not in other
