"""House visits (走访) over HTTP and the CLI, scoped like houses; and assessments recomputed
straight from the events, check-ins and visits tables (plain SQL here, not the services')."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from gridsvc.db import rls
from tests.conftest import run_cli

pytestmark = pytest.mark.db

TZ = ZoneInfo("Asia/Shanghai")


def _scope_houses(engine, username: str) -> tuple[set[str], str]:
    """The houses in the account's scope, and one house outside it."""
    with engine.connect() as conn:
        grids = conn.execute(text(
            "SELECT s.area_id FROM account_scope s JOIN account a ON a.id = s.account_id "
            "WHERE a.username = :u AND s.kind = 'grid'"), {"u": username}).scalars().all()
        mine = set(conn.execute(text("SELECT business_id FROM house WHERE grid_id = ANY(:g)"),
                                {"g": list(grids)}).scalars())
        other = conn.execute(text("SELECT business_id FROM house WHERE grid_id <> ALL(:g) "
                                  "ORDER BY business_id LIMIT 1"),
                             {"g": list(grids)}).scalar_one()
    return mine, other


def test_a_grid_worker_records_a_visit_once_and_only_in_scope(client, as_account, auth,
                                                              engine):
    headers = as_account("gw001")
    mine, other = _scope_houses(engine, "gw001")
    house, key = sorted(mine)[0], f"t-{uuid.uuid4()}"
    body = {"house_id": house, "visited_at": datetime.now(TZ).isoformat(), "note": "独居老人",
            "lon": 119.0, "lat": 28.2, "accuracy_m": 12, "idempotency_key": key}
    r = client.post("/api/v1/visits", json=body, headers=headers)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["person_id"] == "GW001" and made["house_id"] == house and made["lat"] == 28.2
    again = client.post("/api/v1/visits", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == made["id"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM house_visit WHERE idempotency_key = :k"),
                            {"k": key}).scalar_one() == 1
        logged = conn.execute(text("SELECT actor, after FROM audit_log WHERE action = "
                                   "'visit.create' AND object_id = :i"),
                              {"i": str(made["id"])}).one()
    assert logged.after["house_id"] == house
    # A house outside the scope answers as one that does not exist.
    out = client.post("/api/v1/visits", json={**body, "house_id": other,
                                             "idempotency_key": f"t-{uuid.uuid4()}"},
                      headers=headers)
    nothing = client.post("/api/v1/visits", json={**body, "house_id": "no-such-house",
                                                 "idempotency_key": f"t-{uuid.uuid4()}"},
                          headers=headers)
    assert out.status_code == nothing.status_code == 422
    assert out.json()["problems"][0]["field"] == "house_id"
    assert out.text.replace(other, "?") == nothing.text.replace("no-such-house", "?")
    # Someone else's visit, a time without a zone, half a fix: refused, nothing written.
    for bad, field in (({"person_id": "GW002"}, "person_id"),
                       ({"visited_at": "2026-11-30T10:00:00"}, "visited_at"),
                       ({"lat": None}, "lon,lat"),
                       ({"visited_at": (datetime.now(TZ) + timedelta(days=2)).isoformat()},
                        "visited_at")):
        r = client.post("/api/v1/visits", headers=headers,
                        json={**body, **bad, "idempotency_key": f"t-{uuid.uuid4()}"})
        assert r.status_code == 422 and r.json()["problems"][0]["field"] == field, r.text
    # The same key for another person's visit (a dispatcher recording one): a conflict.
    taken = client.post("/api/v1/visits", json={**body, "person_id": "GW002"},
                        headers=auth("dispatcher"))
    assert taken.status_code == 409, taken.text
    listed = client.get("/api/v1/visits", params={"house_id": house}, headers=headers).json()
    assert made["id"] in [v["id"] for v in listed]
    assert {v["house_id"] for v in client.get("/api/v1/visits", params={"limit": 1000},
                                              headers=headers).json()} <= mine
    assert client.post("/api/v1/visits", json=body).status_code == 401


def test_the_app_role_sees_the_visits_of_its_houses_and_its_own(engine, as_account, client):
    with engine.connect() as conn:
        account_id = conn.execute(text("SELECT id FROM account WHERE username = 'gw001'")
                                  ).scalar_one()
    mine, _ = _scope_houses(engine, "gw001")
    with engine.connect() as conn:
        expected = set(conn.execute(text(
            "SELECT pk FROM house_visit WHERE house_id = ANY(:h) OR account_id = :a"),
            {"h": list(mine), "a": account_id}).scalars())
    app = create_engine(engine.url.set(username=rls.APP_ROLE, password=None))
    try:
        with app.begin() as conn:
            conn.execute(text(rls.account_setting_sql()), {"account_id": str(account_id)})
            seen = set(conn.execute(text("SELECT pk FROM house_visit")).scalars())
            with pytest.raises(Exception, match="permission denied"):
                conn.execute(text("DELETE FROM house_visit"))
    finally:
        app.dispose()
    assert seen == expected and len(seen) > 0


def test_the_demo_has_a_year_of_visits_and_the_phone_page(engine, client, as_account):
    with engine.connect() as conn:
        n, first, last = conn.execute(text(
            "SELECT count(*), min(visited_at), max(visited_at) FROM house_visit "
            "WHERE idempotency_key LIKE 'demo-visit-%'")).one()
    assert n > 1000 and (last - first).days > 300
    page = client.get("/m/visit", headers=as_account("gw001"))
    assert page.status_code == 200 and 'data-person="GW001"' in page.text
    me = client.get("/me", headers=as_account("gw001"))
    assert 'id="my-visits"' in me.text and "/m/visit" in me.text


def test_cli_records_and_lists_a_visit(pg, engine):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    house = sorted(_scope_houses(engine, "gw001")[0])[0]
    done = run_cli("visits", "add", "--house", house, "--person", "GW001", "--note", "cli",
                   "--key", f"cli-{uuid.uuid4()}", env=env, check=True)
    assert '"new": true' in done.stdout
    listed = run_cli("visits", "list", "--house", house, "--limit", "5", env=env, check=True)
    assert '"note": "cli"' in listed.stdout
    bad = run_cli("visits", "add", "--house", "no-such", "--person", "GW001", env=env)
    assert bad.returncode != 0 and "house_id" in bad.stdout + bad.stderr


# -- an assessment recomputed from the tables ---------------------------------------------------

PERIOD, FIRST, LAST = "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)


def _person(engine, role: str, kind: str) -> tuple[str, int, list[str]]:
    """The person of ``role`` with the most events in their cells of ``kind``."""
    with engine.connect() as conn:
        row = conn.execute(text(f"""
            SELECT p.business_id, p.pk, array_agg(DISTINCT pa.area_id) AS cells
            FROM person p JOIN person_area pa ON pa.person_pk = p.pk AND pa.kind = :kind
            WHERE p.role = :role GROUP BY p.pk
            ORDER BY (SELECT count(*) FROM event e
                      WHERE e.{kind}_id = ANY(array_agg(pa.area_id))) DESC, p.business_id
            LIMIT 1"""), {"kind": kind, "role": role}).one()
    return row.business_id, row.pk, list(row.cells)


def _recompute(engine, kind: str, pk: int, cells: list[str]) -> dict[str, object]:
    since = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=TZ)
    until = datetime(LAST.year, LAST.month, LAST.day, tzinfo=TZ) + timedelta(days=1)
    p = {"cells": cells, "since": since, "until": until, "pk": pk, "f": FIRST, "l": LAST}
    with engine.connect() as conn:
        ev = conn.execute(text(f"""
            SELECT count(*) AS reported,
                   count(*) FILTER (WHERE handled_at IS NOT NULL) AS handled,
                   count(*) FILTER (WHERE handled_at IS NOT NULL AND NOT late) AS on_time,
                   count(*) FILTER (WHERE state = 'closed') AS closed,
                   count(*) FILTER (WHERE id IN (SELECT event_id FROM event_transition
                                                 WHERE action = 'return')) AS returned
            FROM event WHERE {kind}_id = ANY(:cells)
              AND created_at >= :since AND created_at < :until"""), p).one()
        check_ins = conn.execute(text("""
            SELECT count(*) FROM patrol_check_in WHERE person_pk = :pk
              AND (at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN :f AND :l"""), p).scalar_one()
        own = conn.execute(text("""
            SELECT count(*) FROM event WHERE created_at >= :since AND created_at < :until
              AND reporter_account_id IN (SELECT id FROM account WHERE person_pk = :pk)"""),
            p).scalar_one()
        houses, visited = conn.execute(text(f"""
            SELECT count(*), count(*) FILTER (WHERE business_id IN (
                SELECT house_id FROM house_visit WHERE person_pk = :pk
                  AND (visited_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN :f AND :l))
            FROM house WHERE {kind}_id = ANY(:cells)"""), p).one()
    return {"events_reported": ev.reported, "events_handled": ev.handled,
            "events_on_time_ratio": round(ev.on_time / ev.handled, 4) if ev.handled else None,
            "events_closed": ev.closed, "events_returned": ev.returned, "own_reports": own,
            "check_ins": check_ins,
            "houses": houses, "houses_visited": visited,
            "visits_ratio": round(visited / houses, 4) if houses else None}


@pytest.mark.parametrize(("level", "role", "kind"), [("officer", "officer", "beat"),
                                                      ("grid_worker", "grid_worker", "grid")])
def test_an_assessment_recomputed_from_the_tables(client, auth, engine, level, role, kind):
    person, pk, cells = _person(engine, role, kind)
    r = client.get(f"/api/v1/assessments/{level}", params={"period": PERIOD},
                   headers=auth("dispatcher"))
    assert r.status_code == 200, r.text
    row = next(x for x in r.json()["rows"] if x["id"] == person)
    expected = _recompute(engine, kind, pk, cells)
    assert {k: row[k] for k in expected} == expected
    assert expected["events_reported"] > 0 and expected["houses_visited"] > 0
    assert expected["own_reports"] > 0 or level == "officer"  # the demo's reporters: workers
    assert "on_time" in row["basis"] and "visits" in row["basis"]
