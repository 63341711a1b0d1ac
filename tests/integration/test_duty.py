"""Shifts on the real PostGIS: materialised history, a swap, changed rules, row-level security.

Each test changes duty data, so each works on a private copy of the demo database (whose load
made three groups rotating daily from 2025-11-01, with exceptions, and recent check-ins).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from gridsvc.errors import InvalidInput
from gridsvc.services import duty
from gridsvc.services.lookup import LookupService
from gridsvc.services.onduty import DutyService
from gridsvc.settings import DutySettings

pytestmark = pytest.mark.db

SETTINGS = DutySettings()
TZ = ZoneInfo(SETTINGS.zone)


def service(engine) -> DutyService:
    return DutyService(engine, LookupService(engine), SETTINGS)


def main_group(engine, at: datetime) -> str | None:
    answer = service(engine).on_duty_cell("beat", "B01", at)
    return answer["main_duty"]["group"]["code"] if answer["main_duty"] else None


def stored_before(engine, cut: datetime) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT id, kind, group_id, person_pk, lower(during), upper(during) "
            "FROM duty_interval WHERE upper(during) <= :cut ORDER BY id"), {"cut": cut}).all()


def test_the_demo_rotation_matches_its_rule_at_a_past_instant(demo_copy):
    # 2026-03-01 02:00 belongs to the main duty that started on 28 February at 08:00:
    # 119 days after the anchor (1 November 2025), 119 % 3 = 2, so the third group's turn
    # comes back to B (A on day 0, C on day 1 of each three: see daily_rotation).
    at = datetime(2026, 3, 1, 2, tzinfo=TZ)
    swaps = {c["day"] for c in duty.list_changes(demo_copy, "S01") if c["kind"] == "swap"}
    if date(2026, 2, 28) in swaps:
        pytest.skip("the demo's swap falls on this day")
    assert main_group(demo_copy, at) == "B"
    # Before the first rule nobody was on duty, and the answer says so.
    empty = service(demo_copy).on_duty_cell("beat", "B01", datetime(2025, 10, 1, tzinfo=TZ))
    assert empty["main_duty"] is None and empty["covered_by"]["rule"] == "none"


def test_on_duty_at_a_past_time_is_unchanged_after_the_rules_change(demo_copy):
    now = datetime.now(TZ)
    past = now - timedelta(days=2, hours=3)
    future = datetime.combine(now.date() + timedelta(days=10), time(12), TZ)
    before_past, before_future = main_group(demo_copy, past), main_group(demo_copy, future)
    history = stored_before(demo_copy, now)
    groups = {g["code"] for g in duty.list_groups(demo_copy, "S01")}
    assert groups == {"A", "B", "C"}
    # A new rotation from today: the order turned round.
    new_order = {"A": ["C", "B", "A"], "B": ["A", "C", "B"], "C": ["B", "A", "C"]}[before_future]
    done = duty.set_rotation(demo_copy, SETTINGS, station_id="S01", valid_from=now.date(),
                             group_codes=new_order, actor="test")
    assert done["materialised"]["inserted"] > 0
    assert main_group(demo_copy, past) == before_past
    assert stored_before(demo_copy, now) == history  # not one past row touched
    # Ten days after valid_from, 10 % 3 = 1: the group at index (0 - 1) % 3 = 2 of the order.
    assert main_group(demo_copy, future) == new_order[2]


def test_a_swap_hands_over_a_day_and_can_be_withdrawn(demo_copy):
    tomorrow = datetime.now(TZ).date() + timedelta(days=1)
    noon = datetime.combine(tomorrow, time(12), TZ)
    holder = main_group(demo_copy, noon)
    other = "A" if holder != "A" else "B"
    made, new = duty.add_change(demo_copy, SETTINGS, station_id="S01", kind="swap",
                                day=tomorrow, group=holder, other_group=other, key="swap-1",
                                actor="test")
    assert new and made["kind"] == "swap"
    assert main_group(demo_copy, noon) == other
    again, new = duty.add_change(demo_copy, SETTINGS, station_id="S01", kind="swap",
                                 day=tomorrow, group=holder, other_group=other, key="swap-1",
                                 actor="test")
    assert not new and again["id"] == made["id"]
    duty.withdraw_change(demo_copy, SETTINGS, station_id="S01", change_id=made["id"],
                         actor="test")
    assert main_group(demo_copy, noon) == holder


def test_a_rotation_leaving_gaps_is_refused_and_nothing_is_written(demo_copy):
    history = stored_before(demo_copy, datetime(2100, 1, 1, tzinfo=TZ))
    only_two = [{"group": g, "kind": "main", "dtstart": f"{date.today()}T08:00",
                 "rrule": "FREQ=DAILY;INTERVAL=3", "minutes": 1440} for g in ("A", "B")]
    with pytest.raises(InvalidInput, match="no group holds main duty"):
        duty.set_rotation(demo_copy, SETTINGS, station_id="S01", valid_from=date.today(),
                          rules=only_two, actor="test")
    assert stored_before(demo_copy, datetime(2100, 1, 1, tzinfo=TZ)) == history


def test_the_database_refuses_two_main_groups_at_once(demo_copy):
    with demo_copy.begin() as conn:
        row = conn.execute(text("SELECT group_id, during FROM duty_interval "
                                "WHERE kind = 'main' AND person_pk IS NULL LIMIT 1")).one()
        other = conn.execute(text("SELECT id FROM duty_group WHERE id <> :g LIMIT 1"),
                             {"g": row.group_id}).scalar_one()
    with pytest.raises(IntegrityError, match="ex_duty_interval_one_main"), \
            demo_copy.begin() as conn:
        conn.execute(text("INSERT INTO duty_interval (station_id, kind, group_id, during, source)"
                          " VALUES ('S01', 'main', :g, :d, 'test')"),
                     {"g": other, "d": row.during})


def test_materialising_again_rewrites_nothing(demo_copy):
    done = duty.materialise(demo_copy, SETTINGS, "S01", actor="test")
    assert done["deleted"] == 0 and done["ended_early"] == 0
    with pytest.raises(InvalidInput, match="the past is kept"):
        duty.materialise(demo_copy, SETTINGS, "S01", actor="test",
                         since=datetime(2025, 11, 1, tzinfo=TZ))


def test_row_level_security_scopes_check_ins_and_duty(demo_copy):
    """As the web service's role, an account scoped to one beat sees that beat's check-ins
    and its station's duty; without an account, nothing."""
    with demo_copy.begin() as conn:
        conn.execute(text("INSERT INTO account (id, username, display_name, role) VALUES "
                          "(901, 'b01', 'B01 officer', 'handler'), "
                          "(902, 'g1', 'grid worker', 'reporter')"))
        conn.execute(text("INSERT INTO account_scope (account_id, kind, area_id) VALUES "
                          "(901, 'beat', 'B01'), (902, 'grid', 'G102001001')"))
        total = conn.execute(text("SELECT count(*), count(*) FILTER (WHERE beat_id = 'B01') "
                                  "FROM patrol_check_in")).one()
    assert 0 < total[1] < total[0]

    def seen(account: str) -> tuple[int, int, set[str], int]:
        with demo_copy.begin() as conn:
            conn.execute(text("SET LOCAL ROLE gridsvc_app"))
            conn.execute(text("SELECT set_config('gridsvc.account_id', :a, true)"),
                         {"a": account})
            n, beats = conn.execute(text(
                "SELECT count(*), array_agg(DISTINCT beat_id) FROM patrol_check_in")).one()
            stations = conn.execute(text(
                "SELECT count(*) FROM duty_interval")).scalar_one()
            grids = conn.execute(text(
                "SELECT count(DISTINCT grid_id) FROM patrol_check_in")).scalar_one()
        return n, stations, set(beats or []), grids

    n, intervals, beats, _ = seen("901")
    assert n == total[1] and beats == {"B01"} and intervals > 0
    n, intervals, _, grids = seen("902")
    assert intervals == 0 and grids <= 1
    assert seen("")[:2] == (0, 0)


def test_a_night_round_never_finished_is_open_until_six_thirty_then_missed_for_good(demo_copy):
    """The issue's check: a 22:00-06:00 round nobody finishes. Until 06:30 (end + grace) its
    points are open; from 06:30 they are missed, and a check-in made at 05:50 but reaching the
    server at 06:45 (a phone's queue) is kept, flagged ``after_close``, and changes nothing."""
    from gridsvc.db import patrol as patrol_repo
    from gridsvc.services import patrol

    day = datetime.now(TZ).date() + timedelta(days=3)  # a shift nobody has patrolled yet
    need = patrol.requirements(demo_copy, "S01")
    point = next(p for p in need if "night" in p["visits"])

    def night(now: datetime) -> tuple[str, dict]:
        report = patrol.shift_coverage(demo_copy, SETTINGS, day=day, station_id="S01",
                                       now=now, all_check_ins=True)
        row = next(r for r in report["points"]
                   if r["point_id"] == point["point_id"] and r["round"] == "night")
        return row["status"], report

    morning = day + timedelta(days=1)
    at = lambda h, m=0, s=0: datetime.combine(morning, time(h, m, s), TZ)  # noqa: E731
    status, report = night(at(5))
    assert status == "open" and report["totals"]["open"] > 0
    assert night(at(6, 29, 59))[0] == "open"
    status, report = night(at(6, 30))
    assert status == "missed" and report["totals"]["open"] == 0
    assert report["totals"]["missed"] == report["totals"]["due"] - report["totals"]["visited"]
    assert "MISSED" in patrol.report_csv(report) and "OPEN" not in patrol.report_csv(report)
    # The phone made the check-in in time and sent it after the round closed.
    with demo_copy.begin() as conn:
        pk = conn.execute(text("SELECT pk FROM person WHERE business_id = 'OFF01'")).scalar()
        where = patrol_repo.points(conn, ids=[point["point_id"]])[0]
        patrol_repo.insert_check_ins(conn, [{
            "idempotency_key": "late-queue", "person_pk": pk, "point_id": point["point_id"],
            "device_at": at(5, 50), "server_at": at(6, 45), "at": at(5, 50),
            "accuracy_m": 5.0, "distance_m": 0.0, "lon": where["lon"], "lat": where["lat"],
            "station_id": "S01", "beat_id": where["beat_id"], "grid_id": where["grid_id"]}])
    status, report = night(at(6, 30) + timedelta(days=3))
    assert status == "missed"
    late = [c for c in report["check_ins"] if c["point_id"] == point["point_id"]]
    assert [c["status"] for c in late] == ["after_close"]
