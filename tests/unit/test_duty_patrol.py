"""Patrol coverage: rounds crossing midnight, late and closed rounds, impossible speed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridsvc.domain.accounts import Role
from gridsvc.domain.duty.onduty import only_visible
from gridsvc.domain.duty.patrol import Round, Rules, coverage, occurrences, who_checks_in
from gridsvc.errors import InvalidInput

ZONE = "Asia/Shanghai"
TZ = ZoneInfo(ZONE)
DAY = date(2026, 3, 1)
ROUNDS = [Round(1, "day", "日巡", time(8), time(22)), Round(2, "night", "夜巡", time(22), time(6))]
RULES = Rules(radius_m=50, grace_s=1800, max_speed_mps=40 / 3.6, visit_gap_s=1200)
# Two points 1 km apart (north-south), at about 28°N.
POINTS = np.array([[119.0, 28.0], [119.0, 28.009]])


def occs():
    return occurrences(ROUNDS, DAY, time(8), ZONE, timedelta(minutes=30))


def run(rows, required):
    """rows: (point, person, local datetime, minutes the server saw it after, metres off)."""
    point = np.array([r[0] for r in rows], dtype=np.int64)
    person = np.array([r[1] for r in rows], dtype=np.int64)
    at = np.array([r[2].timestamp() for r in rows])
    server = at + np.array([r[3] * 60 for r in rows], dtype=float)
    lon = POINTS[point, 0].astype(float)
    lat = POINTS[point, 1] + np.array([r[4] for r in rows]) / 111_000
    dist = np.array([abs(r[4]) for r in rows], dtype=float)
    return coverage(occs(), np.asarray(required), point, person, at, server, lon, lat,
                    np.full(len(rows), 5.0), dist, RULES)


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ)


def test_a_night_round_closes_at_six_plus_the_grace_and_is_never_finished_later():
    required = [[0, 1], [0, 1]]  # both points once in the night round
    cov = run([
        (0, 7, t(1, 23, 10), 0, 3),           # on time
        (1, 7, t(2, 6, 20), 1, 3),            # after 06:00, within the grace: late, counts
        (1, 8, t(2, 5, 40), 60 * 30, 3),      # made in the night but sent days later
        (0, 8, t(3, 23, 0), 0, 3),            # the next night: not this shift
    ], required)
    assert cov.status.tolist() == ["on_time", "late", "after_close", "not_due"]
    assert cov.req_visits.tolist() == [1, 1]
    assert cov.req_late.tolist() == [0, 1]
    assert cov.visited.tolist() == [True, True]
    # Nobody came to point 1 in time: the round stays missed whatever arrives afterwards.
    never = run([(0, 7, t(1, 23, 10), 0, 3), (1, 7, t(2, 9, 0), 0, 3)], required)
    assert never.visited.tolist() == [True, False]
    assert never.status.tolist() == ["on_time", "not_due"]


def test_check_ins_1_km_apart_one_minute_apart_are_flagged_and_do_not_count():
    required = [[1, 0], [1, 0]]
    cov = run([(0, 7, t(1, 10, 0), 0, 2), (1, 7, t(1, 10, 1), 0, 2)], required)
    assert cov.status.tolist() == ["impossible_speed", "impossible_speed"]
    assert cov.partner.tolist() == [1, 0]
    assert cov.visited.tolist() == [False, False]
    # Twenty minutes apart (3 km/h) is a walk.
    ok = run([(0, 7, t(1, 10, 0), 0, 2), (1, 7, t(1, 10, 20), 0, 2)], required)
    assert ok.status.tolist() == ["on_time", "on_time"]


def test_too_far_repeat_visits_and_one_count_across_two_rounds():
    required = [[2, 1], [1, 0]]
    cov = run([
        (0, 7, t(1, 9, 0), 0, 80),     # 80 m off: too far
        (0, 7, t(1, 9, 5), 0, 4),      # counts
        (0, 7, t(1, 9, 10), 0, 4),     # five minutes later: the same visit
        (0, 7, t(1, 12, 0), 0, 4),     # a second visit
        (0, 9, t(1, 22, 10), 0, 4),    # late for the day round, on time for the night: night
    ], required)
    assert cov.status.tolist() == ["too_far", "on_time", "repeat", "on_time", "on_time"]
    assert cov.occ.tolist() == [-1, 0, 0, 0, 1]  # a repeat belongs to its visit's round
    assert dict(zip(zip(cov.req_point.tolist(), cov.req_occ.tolist(), strict=True),
                    cov.req_visits.tolist(), strict=True)) == {(0, 0): 2, (0, 1): 1, (1, 0): 0}


def test_a_check_in_is_the_callers_own_below_dispatcher():
    assert who_checks_in(Role.handler, "OFF01", None) == "OFF01"
    assert who_checks_in(Role.handler, "OFF01", "OFF01") == "OFF01"
    with pytest.raises(InvalidInput) as refused:
        who_checks_in(Role.handler, "OFF01", "OFF02")
    assert refused.value.problems[0].field == "person_id"
    assert who_checks_in(Role.dispatcher, "OFF01", "OFF02") == "OFF02"
    assert who_checks_in(Role.handler, None, "OFF02") == "OFF02"  # a service token names one
    with pytest.raises(InvalidInput):
        who_checks_in(Role.admin, None, None)


def test_an_on_duty_answer_for_a_scope_leaves_people_out_and_keeps_the_rest():
    block = {"at": "t", "main_duty": {"group": {"code": "A"}, "leader": {"id": "L"},
                                      "members": [{"id": "L"}, {"id": "M"}]},
             "beat": {"id": "B1", "people": [{"id": "M"}, {"id": "N"}]},
             "covered_by": {"rule": "nearest_beat", "beat_id": "B2", "people": [{"id": "N"}]}}
    out = only_visible(block, {"M"})
    assert out["main_duty"]["group"] == {"code": "A"} and out["main_duty"]["leader"] is None
    assert [p["id"] for p in out["main_duty"]["members"]] == ["M"]
    assert [p["id"] for p in out["beat"]["people"]] == ["M"]
    assert out["covered_by"] == {"rule": "nearest_beat", "beat_id": "B2", "people": []}
    assert [p["id"] for p in block["beat"]["people"]] == ["M", "N"]  # the shared block stays
    assert only_visible({"main_duty": None, "beat": None, "covered_by": None}, set()) == {
        "main_duty": None, "beat": None, "covered_by": None}


def test_a_0_to_6_round_belongs_to_the_shift_before_and_closes_at_six_thirty():
    # The 0-6 o'clock full patrol of key places (零点到六点): a round of its own, starting
    # after midnight, is part of the duty day that began at 08:00 the day before.
    key = Round(3, "key", "0-6时重点部位", time(0), time(6))
    (occ,) = occurrences([key], DAY, time(8), ZONE, timedelta(minutes=30))
    assert (occ.start, occ.end, occ.closes) == (t(2, 0), t(2, 6), t(2, 6, 30))
    points = np.array([0, 0, 0, 0], dtype=np.int64)
    at = np.array([x.timestamp() for x in (t(1, 23, 50), t(2, 0, 10), t(2, 6, 10),
                                           t(2, 6, 40))])
    cov = coverage([occ], np.array([[2]]), points, np.array([7, 7, 7, 7]), at, at,
                   np.full(4, 119.0), np.full(4, 28.0), np.full(4, 5.0), np.zeros(4),
                   RULES)
    # Before midnight: not this round; 00:10 on time; 06:10 late (within the grace), a second
    # visit; 06:40: the round has closed.
    assert cov.status.tolist() == ["not_due", "on_time", "late", "not_due"]
    assert cov.req_visits.tolist() == [2] and cov.visited.tolist() == [True]
