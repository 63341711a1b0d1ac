"""Duty over HTTP: who to call now, check-ins, coverage, hot spots, fields, map pages."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from gridsvc.api.app import create_app
from gridsvc.domain.accounts import Role
from gridsvc.domain.duty.patrol import shift_day
from gridsvc.services.tokens import create_token

TZ = ZoneInfo("Asia/Shanghai")
POINT = {"lon": 118.97, "lat": 28.2}  # in beat B02, station S01


@pytest.fixture
def writer(settings, demo_copy):
    """A client on a private demo copy, and headers for each role there."""
    tokens = {r: create_token(demo_copy, role=Role.parse(r), name=f"t-{r}", actor="test")
              for r in ("viewer", "handler", "dispatcher", "planner")}
    with TestClient(create_app(settings, demo_copy)) as c:
        yield c, lambda role: {"Authorization": f"Bearer {tokens[role]}"}


def test_onduty_names_the_main_group_the_beat_officers_and_the_cover(client, auth):
    r = client.get("/api/v1/onduty", params=POINT, headers=auth("dispatcher"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cells"] == {"station": "S01", "beat": "B02"}
    main = body["main_duty"]
    assert main["group"]["code"] in {"A", "B", "C"} and main["members"]
    assert all(m["phone"] for m in main["members"])
    assert {p["id"] for p in body["beat"]["people"]} >= {"OFF03", "OFF04"}
    cover = body["covered_by"]
    assert cover["rule"] in {"beat_officer", "nearest_beat", "main_group", "group_leader"}
    assert cover["people"] and all(p["on_duty"] for p in cover["people"])
    if cover["rule"] == "beat_officer":
        assert {p["id"] for p in cover["people"]} <= {"OFF03", "OFF04"}


def test_onduty_at_night_when_the_beat_officers_are_off_is_covered_from_the_main_group(
        client, auth):
    # 03:00 is outside second (08-17) and standby (08-22) duty: only the main group works.
    for days in range(1, 4):
        at = (datetime.now(TZ) - timedelta(days=days)).replace(hour=3, minute=0, second=0,
                                                                microsecond=0)
        body = client.get("/api/v1/onduty", params={"cell_kind": "beat", "cell_id": "B03",
                                                    "at": at.isoformat()},
                          headers=auth("viewer")).json()
        officer = [p for p in body["beat"]["people"] if p["role"] == "officer"]
        if not any(p["on_duty"] for p in officer):
            cover = body["covered_by"]
            assert cover["rule"] == "nearest_beat"
            members = {m["id"] for m in body["main_duty"]["members"]}
            assert {p["id"] for p in cover["people"]} <= members
            # The beat's own auxiliary on main duty comes first (distance 0), else a neighbour.
            assert not {p["id"] for p in cover["people"]} & {p["id"] for p in officer}
            assert all(p["phone"] is None for p in cover["people"])  # a viewer sees no phones
            return
    pytest.fail("B03's officer was on duty at 03:00 three nights running")


def test_onduty_bad_input_is_a_clear_422_or_404(client, auth):
    r = client.get("/api/v1/onduty", headers=auth("viewer"))
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "lon,lat"
    r = client.get("/api/v1/onduty", params={"cell_kind": "beat", "cell_id": "B99"},
                   headers=auth("viewer"))
    assert r.status_code == 404


def test_the_lookup_and_the_dispatcher_answer_carry_the_on_duty_block(client, auth):
    looked = client.get("/api/v1/lookup", params=POINT, headers=auth("viewer")).json()
    assert looked["on_duty"]["beat"]["id"] == "B02"
    assert all(m["phone"] is None for m in looked["on_duty"]["main_duty"]["members"])
    told = client.get("/api/v1/dispatch", params={"q": "东灌底村203号"},
                      headers=auth("dispatcher")).json()
    assert told["best"]["on_duty"]["main_duty"]["group"]["code"] in {"A", "B", "C"}


def test_check_ins_are_idempotent_and_one_km_in_a_minute_is_flagged(writer):
    client, auth = writer
    points = client.get("/api/v1/patrol/points", params={"station_id": "S01"},
                        headers=auth("viewer")).json()
    by_id = {p["id"]: p for p in points}
    first, far = by_id["PP001"], None
    for p in points:  # a point at least 1 km from the first
        if abs(p["lat"] - first["lat"]) > 0.01 or abs(p["lon"] - first["lon"]) > 0.012:
            far = p
            break
    assert far is not None
    now = datetime.now(TZ)
    one = {"point_id": first["id"], "device_at": (now - timedelta(minutes=1)).isoformat(),
           "lon": first["lon"], "lat": first["lat"], "accuracy_m": 8, "person_id": "OFF01",
           "idempotency_key": str(uuid.uuid4())}
    r1 = client.post("/api/v1/patrol/check-ins", json=one, headers=auth("handler"))
    assert r1.status_code == 201, r1.text
    again = client.post("/api/v1/patrol/check-ins", json=one, headers=auth("handler"))
    assert again.status_code == 200 and again.json()["id"] == r1.json()["id"]
    two = {**one, "point_id": far["id"], "lon": far["lon"], "lat": far["lat"],
           "device_at": now.isoformat(), "idempotency_key": str(uuid.uuid4())}
    r2 = client.post("/api/v1/patrol/check-ins", json=two, headers=auth("handler"))
    assert r2.status_code == 201
    assert r2.json()["status"] == "impossible_speed" and not r2.json()["counts"]
    assert r2.json()["partner_id"] == r1.json()["id"]
    # The first of the pair is flagged too (never silently kept as good).
    again = client.post("/api/v1/patrol/check-ins", json=one, headers=auth("handler"))
    assert again.json()["status"] == "impossible_speed"
    stolen = client.post("/api/v1/patrol/check-ins", json={**one, "person_id": "OFF02"},
                         headers=auth("handler"))
    assert stolen.status_code == 409
    bad = client.post("/api/v1/patrol/check-ins", json={**one, "point_id": "PP999",
                                                         "idempotency_key": "x"},
                      headers=auth("handler"))
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "point_id"


def test_a_night_round_check_in_sent_days_later_cannot_complete_it(writer):
    client, auth = writer
    night = (datetime.now(TZ) - timedelta(days=3)).replace(hour=23, minute=30, second=0,
                                                            microsecond=0)
    point = client.get("/api/v1/patrol/points", params={"station_id": "S01"},
                       headers=auth("viewer")).json()[0]
    r = client.post("/api/v1/patrol/check-ins", headers=auth("handler"), json={
        "point_id": point["id"], "device_at": night.isoformat(), "lon": point["lon"],
        "lat": point["lat"], "accuracy_m": 5, "person_id": "OFF05",
        "idempotency_key": str(uuid.uuid4())})
    assert r.status_code == 201
    assert r.json()["status"] == "after_close" and not r.json()["counts"]


def test_coverage_of_the_last_shift_has_missed_points_and_the_flagged_pair(client, auth):
    day = shift_day(datetime.now(TZ), datetime.strptime("08:00", "%H:%M").time(),
                    "Asia/Shanghai") - timedelta(days=1)
    r = client.get("/api/v1/patrol/coverage", params={"day": day.isoformat()},
                   headers=auth("viewer"))
    assert r.status_code == 200
    report = r.json()
    totals = report["totals"]
    assert totals["due"] > 100 and 0 < totals["visited"] <= totals["due"]
    assert totals["missed"] == totals["due"] - totals["visited"]
    assert totals["check_ins"].get("impossible_speed", 0) >= 2
    assert {r["code"] for r in report["rounds"]} == {"day", "night"}
    for level in ("beat", "grid", "patrol_cell_1", "patrol_cell_2"):
        rows = report["by"][level]
        assert sum(g["due"] for g in rows) == totals["due"]
        assert sum(len(g["missed"]) for g in rows) == totals["missed"]
    csv = client.get("/api/v1/patrol/coverage", params={"day": day.isoformat(), "format": "csv"},
                     headers=auth("viewer"))
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("day,round,point_id") and len(lines) == totals["due"] + 1
    assert sum("MISSED" in line for line in lines) == totals["missed"]


def test_night_hot_spots_come_with_their_reason(client, auth):
    r = client.get("/api/v1/patrol/hotspots", params={"until": "2026-10-31", "weeks": 26},
                   headers=auth("viewer"))
    assert r.status_code == 200
    found = r.json()
    assert found["night_incidents"] > 0 and found["proposals"]
    spot = found["proposals"][0]
    assert sum(spot["counts_by_hour"][:6]) >= spot["night_count"] >= 3
    assert "0-6时" in spot["reason"] and spot["nearest_point"]
    r = client.get("/api/v1/patrol/hotspots", params={"hours": "night"}, headers=auth("viewer"))
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "hours"


def test_night_hot_spots_count_the_events_reported_too(client, auth):
    # The demo's events (grid workers' and the public's reports) run up to today.
    found = client.get("/api/v1/patrol/hotspots", headers=auth("viewer")).json()
    assert found["events"] > 0 and found["night_events"] > 0
    biggest = found["proposals"][0]
    assert biggest["night_count"] >= 3 and "警情及事件" in biggest["reason"]
    # Two proposals never share a report: together they hold at most the night's reports.
    assert sum(p["night_count"] for p in found["proposals"]) <= (
        found["night_incidents"] + found["night_events"])


def test_responsibility_fields_score_villages_and_share_them(writer):
    client, auth = writer
    now = client.get("/api/v1/duty/stations/S01/fields", headers=auth("viewer")).json()
    scores = [v["score"] for v in now["villages"]]
    assert len(scores) == 30
    assert sum(scores) / len(scores) == pytest.approx(sum(now["weights"].values()), rel=1e-3)
    found = client.get("/api/v1/duty/stations/S01/fields", params={"propose": True},
                       headers=auth("viewer")).json()["proposal"]
    shared = [v for vs in found["fields"].values() for v in vs]
    assert sorted(shared) == sorted(v["id"] for v in now["villages"])
    assert all(found["contiguous"].values())
    # The most complex village goes to the officer with the fewest villages.
    top = max(now["villages"], key=lambda v: v["score"])["id"]
    holder = next(o for o, vs in found["fields"].items() if top in vs)
    assert len(found["fields"][holder]) == min(len(vs) for vs in found["fields"].values())
    r = client.put("/api/v1/duty/stations/S01/fields", json={"fields": found["fields"]},
                   headers=auth("planner"))
    assert r.status_code == 200
    assert {o["id"]: sorted(o["villages"]) for o in r.json()["officers"]} == {
        o: sorted(vs) for o, vs in found["fields"].items()}
    r = client.put("/api/v1/duty/stations/S01/fields", json={"fields": {"GW001": ["V102001"]}},
                   headers=auth("planner"))
    assert r.status_code == 422
    assert client.put("/api/v1/duty/stations/S01/fields", json={"fields": {}},
                      headers=auth("viewer")).status_code == 403


def test_changes_over_http_with_an_idempotency_key(writer):
    client, auth = writer
    day = (datetime.now(TZ) + timedelta(days=20)).date().isoformat()
    body = {"kind": "swap", "day": day, "group": "A", "other_group": "C"}
    headers = {**auth("planner"), "Idempotency-Key": "swap-http-1"}
    r = client.post("/api/v1/duty/stations/S01/changes", json=body, headers=headers)
    assert r.status_code == 201, r.text
    again = client.post("/api/v1/duty/stations/S01/changes", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    bad = client.post("/api/v1/duty/stations/S01/changes", json={"kind": "leave"},
                      headers=auth("planner"))
    assert bad.status_code == 422
    assert {p["field"] for p in bad.json()["problems"]} == {"person", "start", "end"}


def _has(page: str, words: str) -> bool:
    """Words on a page, as text or as a JSON string in its script."""
    return words in page or json.dumps(words)[1:-1] in page


def test_duty_pages_and_the_phone_page(client, auth):
    page = client.get("/maps/duty", headers=auth("viewer"))
    assert page.status_code == 200 and _has(page.text, "漏巡")
    fields = client.get("/maps/fields/S01", headers=auth("viewer"))
    assert fields.status_code == 200 and _has(fields.text, "建议责任田")
    phone = client.get("/patrol/check-in", headers=auth("viewer"))
    assert phone.status_code == 200 and "navigator.geolocation" in phone.text
    # The offline queue and the look are the phone pages' shared files, served with no token
    # (code and styles, no data), so a page opened by a signed-in phone can always load them.
    for shared in ("/static/phone/outbox.js", "/static/phone/phone.css"):
        assert f'"{shared}"' in phone.text
        assert client.get(shared).status_code == 200
    assert client.get("/maps/duty", headers={"Accept": "text/html"},
                      follow_redirects=False).status_code == 303


def _account_token(engine, username: str) -> dict[str, str]:
    """Bearer headers of a demo account (its role, person and scope)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, role FROM account WHERE username = :u"),
                           {"u": username}).one()
    token = create_token(engine, role=Role.parse(row.role), name=f"t-{username}", actor="test",
                         account_id=row.id)
    return {"Authorization": f"Bearer {token}"}


def test_a_check_in_is_the_signed_in_persons_own(settings, demo_copy):
    off01, command = _account_token(demo_copy, "off01"), _account_token(demo_copy, "command")
    service = {"Authorization": "Bearer " + create_token(
        demo_copy, role=Role.handler, name="t-machine", actor="test")}
    with TestClient(create_app(settings, demo_copy)) as client:
        point = client.get("/api/v1/patrol/points", headers=off01).json()[0]
        body = {"point_id": point["id"], "device_at": datetime.now(TZ).isoformat(),
                "lon": point["lon"], "lat": point["lat"], "accuracy_m": 5}

        def post(headers, **extra):
            return client.post("/api/v1/patrol/check-ins", headers=headers,
                               json={**body, "idempotency_key": str(uuid.uuid4()), **extra})

        mine = post(off01)
        assert mine.status_code == 201, mine.text
        assert post(off01, person_id="OFF01").status_code == 201
        other = post(off01, person_id="OFF02")
        assert other.status_code == 422 and other.json()["problems"][0]["field"] == "person_id"
        # The command centre (dispatcher) may record a radio call-in for an officer.
        assert post(command, person_id="OFF02").status_code == 201
        nobody = post(service)
        assert nobody.status_code == 422 and nobody.json()["problems"][0]["field"] == "person_id"
        assert post(service, person_id="OFF02").status_code == 201
        coverage = client.get("/api/v1/patrol/coverage", headers=off01, params={
            "day": shift_day(datetime.now(TZ), datetime.strptime("08:00", "%H:%M").time(),
                             "Asia/Shanghai").isoformat(), "all_check_ins": True}).json()
        by_id = {c["id"]: c for c in coverage["check_ins"]}
        assert by_id[mine.json()["id"]]["person_id"] == "OFF01"
        # The phone page of a person's account has no person field: it names them.
        page = client.get("/patrol/check-in", headers=off01).text
        assert 'data-person="OFF01"' in page and 'id="person"' not in page
        assert 'id="person"' in client.get("/patrol/check-in", headers=command).text


def test_my_page_shows_my_patrol_of_this_shift_and_whether_i_am_on_duty(settings, demo_copy):
    off01 = _account_token(demo_copy, "off01")
    with TestClient(create_app(settings, demo_copy)) as client:
        page = client.get("/me", headers=off01)
        assert page.status_code == 200
        section = page.text[page.text.index('<section id="my-patrol">'):]
        section = section[:section.index("</section>")]
        assert "即将开放" not in section and 'href="/patrol/check-in"' in section.replace(
            "'", '"')
        assert "data-on-duty=" in section
        due = int(section.split("data-due='")[1].split("'")[0])
        visited = int(section.split("data-visited='")[1].split("'")[0])
        missed = int(section.split("data-missed='")[1].split("'")[0])
        assert due > 0 and visited + missed <= due
        # An account without a person sees its area's patrol, with no duty of its own.
        leader = client.get("/me", headers=_account_token(demo_copy, "leader-s01")).text
        assert "patrol-totals" in leader and "data-on-duty" not in leader
