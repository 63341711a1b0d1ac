"""The events service on a private copy of the demo town: re-routing when a plan takes effect,
the sweep with two processes at once, photos on disk, concurrent retries."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import create_engine, text

from gridsvc.errors import InvalidInput
from gridsvc.services import events, plan_activation, plans

pytestmark = pytest.mark.db

NEIGHBOURS = """
    SELECT a.business_id, b.business_id FROM area a JOIN area b
      ON b.plan_id = a.plan_id AND b.kind = a.kind AND b.parent_id = a.parent_id
     AND a.business_id < b.business_id AND ST_Relate(a.geom, b.geom, '****1****')
    WHERE a.plan_id = :p AND a.kind = 'grid'
      AND (SELECT count(*) FROM house h WHERE h.grid_id = a.business_id) > 20
    ORDER BY a.business_id, b.business_id LIMIT 1"""


def _house_point(engine, house_id):
    with engine.connect() as conn:
        return conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM house "
                                 "WHERE business_id = :h"), {"h": house_id}).one()


def _report(engine, x, y, **extra):
    data = {"category": "dispute.family", "grade": "general", "description": "婚姻纠纷",
            "lon": x, "lat": y, "crs": "4490", **extra}
    return events.create_event(engine, data, actor="test", account_id=None,
                               idempotency_key=None)[0]


def test_activation_moves_and_reroutes_open_events_only(demo_copy):
    draft = plans.create_draft(demo_copy, name="move houses", actor="planner-a")
    with demo_copy.connect() as conn:
        a, b = conn.execute(text(NEIGHBOURS), {"p": draft["id"]}).one()
        chosen = conn.execute(text("SELECT business_id FROM house WHERE grid_id = :g "
                                   "ORDER BY business_id LIMIT 8"), {"g": a}).scalars().all()
    x, y = _house_point(demo_copy, chosen[0])
    open_one = _report(demo_copy, x, y)
    closed_one = _report(demo_copy, x, y)
    events.transition(demo_copy, closed_one["id"], "reject", actor="t", account_id=None,
                      reason="not ours: go to the court")
    assert open_one["grid_id"] == a and open_one["routing"]["unit_id"] == a
    plans.edit(demo_copy, draft["id"], {"op": "transfer", "from": a, "to": b,
                                        "houses": chosen}, version=1, actor="planner-a")
    done = plan_activation.activate(demo_copy, draft["id"], actor="planner-a", version=2)
    assert open_one["business_id"] in done["moved_ids"]["event"]
    after = events.get_event(demo_copy, open_one["id"])
    assert after["grid_id"] == b and after["cells_plan_id"] == draft["id"]
    assert after["routing"]["unit_id"] == b
    step = after["history"][-1]
    assert step["action"] == "reroute" and step["actor"] == "planner-a"
    assert step["details"]["cells_before"]["grid"] == a
    kept = events.get_event(demo_copy, closed_one["id"])
    assert kept["grid_id"] == a and kept["history"][-1]["action"] == "reject"


def test_two_sweeps_at_once_escalate_each_event_once(demo_copy):
    with demo_copy.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM house LIMIT 1")).one()
    made = [_report(demo_copy, x, y) for _ in range(5)]
    with demo_copy.begin() as conn:
        conn.execute(text("UPDATE event SET expected_at = now() - interval '2 hours' "
                          "WHERE id = ANY(:ids)"), {"ids": [m["id"] for m in made]})
    results = []
    threads = [threading.Thread(target=lambda: results.append(events.sweep(demo_copy)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    escalated = [b for r in results for b in r["escalated"]]
    assert len(escalated) == len(set(escalated))  # the demo's overdue events, and these
    assert {m["business_id"] for m in made} <= set(escalated)
    for m in made:
        history = events.get_event(demo_copy, m["id"])["history"]
        assert [h["action"] for h in history].count("escalate") == 1


def test_concurrent_retries_make_one_event(demo_copy):
    with demo_copy.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM house LIMIT 1")).one()
    key = uuid.uuid4().hex
    data = {"category": "other", "description": "路灯坏了", "lon": x, "lat": y, "crs": "4490"}
    out = []
    threads = [threading.Thread(target=lambda: out.append(events.create_event(
        demo_copy, data, actor="t", account_id=None, idempotency_key=key))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({e["id"] for e, _ in out}) == 1
    assert sum(created for _, created in out) == 1


def test_photos_are_stored_by_hash_and_checked(demo_copy, tmp_path):
    with demo_copy.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM house LIMIT 1")).one()
    made = _report(demo_copy, x, y)
    jpeg = b"\xff\xd8\xff\xe0" + b"1" * 100
    first = events.add_photo(demo_copy, made["id"], jpeg, actor="t", account_id=None,
                             photo_dir=tmp_path)
    again = events.add_photo(demo_copy, made["id"], jpeg, actor="t", account_id=None,
                             photo_dir=tmp_path)
    assert first["sha256"] == again["sha256"] and first["media_type"] == "image/jpeg"
    assert len(list(tmp_path.rglob("*"))) == 2  # one folder, one file
    media, path = events.get_photo(demo_copy, made["id"], first["id"], photo_dir=tmp_path)
    assert media == "image/jpeg" and path.read_bytes() == jpeg
    webp = b"RIFF\x10\x00\x00\x00WEBPVP8 "
    assert events.add_photo(demo_copy, made["id"], webp, actor="t", account_id=None,
                            photo_dir=tmp_path)["media_type"] == "image/webp"
    with pytest.raises(InvalidInput):
        events.add_photo(demo_copy, made["id"], b"%PDF-1.4", actor="t", account_id=None,
                         photo_dir=tmp_path)
    with pytest.raises(InvalidInput):
        events.add_photo(demo_copy, made["id"], jpeg * 10, actor="t", account_id=None,
                         photo_dir=tmp_path, max_bytes=500)


def test_the_list_written_by_the_database_is_the_list(demo_copy):
    """The HTTP list's JSON (written by PostgreSQL, people cut by the caller's scope) says what
    the service's dicts say, for a grid worker (who sees only some people) and the command
    centre; times may differ only in how they are written (trailing zeros of a fraction).
    On a private copy: other tests run the overdue sweep on the shared town, which can leave
    its overdue list empty."""
    import json
    from datetime import datetime

    from gridsvc.api.routers.events import _fast_json
    from gridsvc.db import rls

    def times_parsed(answer):
        for item in answer["items"]:
            for key in item:
                if key.endswith("_at") and item[key]:
                    item[key] = datetime.fromisoformat(item[key])
        return answer

    app = rls.bind_accounts(create_engine(demo_copy.url.set(username=rls.APP_ROLE,
                                                         password=None)))
    with demo_copy.connect() as conn:
        accounts = conn.execute(text("SELECT id FROM account WHERE username IN "
                                     "('gw001', 'command')")).scalars().all()
    assert len(accounts) == 2
    try:
        for account in accounts:
            with rls.acting_as(account):
                for filters in ({"open_only": True, "limit": 30}, {"overdue": True},
                                {"limit": 20, "offset": 10}):
                    as_dicts = json.loads(_fast_json(events.list_events(app, **filters)).body)
                    as_json = json.loads(events.list_events_json(app, **filters))
                    assert as_json["items"], filters
                    assert times_parsed(as_json) == times_parsed(as_dicts)
    finally:
        app.dispose()
