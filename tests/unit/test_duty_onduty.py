"""Who covers a beat: the beat's officer, the main group's nearest people, the leader, none."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import shapely

from gridsvc.domain.duty.onduty import DutyBoard, answer, beat_order
from gridsvc.domain.duty.rotation import Change, daily_rotation, expand

ZONE = "Asia/Shanghai"
TZ = ZoneInfo(ZONE)
# Group 1 holds main duty on 1 March 2026 (its anchor), group 2 second duty, group 3 standby.
RULES = daily_rotation([1, 2, 3], date(2026, 3, 1))
MEMBERS = {1: [11, 12], 2: [21], 3: [31]}
PEOPLE = {11: {"id": "OFF11", "name": "甲", "role": "officer", "phone": "1", "beats": ["B2"]},
          12: {"id": "AUX12", "name": "乙", "role": "auxiliary", "phone": "2", "beats": ["B3"]},
          21: {"id": "OFF21", "name": "丙", "role": "officer", "phone": "3", "beats": ["B1"]},
          31: {"id": "OFF31", "name": "丁", "role": "officer", "phone": "4", "beats": ["B3"]}}
GROUPS = {g: {"id": g, "code": f"G{g}", "name": f"{g}组", "leader_pk": m[0], "members": m}
          for g, m in MEMBERS.items()}
BEATS = {"B1": [21], "B2": [11], "B3": [12, 31]}
# B1 | B2 | (gap) B3 in a row: B2 touches B1; B3 is farther from B1 than B2 is.
ORDER = beat_order(["B1", "B2", "B3"], [shapely.box(0, 0, .01, .01), shapely.box(.01, 0, .02, .01),
                                        shapely.box(.03, 0, .04, .01)], ["S", "S", "S"])


def board(at: datetime, changes=()) -> DutyBoard:
    ivs = expand(RULES, list(changes), MEMBERS, ZONE, at - timedelta(days=1),
                 at + timedelta(days=1))
    return DutyBoard.build([("S", iv) for iv in ivs], at - timedelta(days=1),
                           at + timedelta(days=1))


def ask(at: datetime, beat: str, changes=()) -> dict:
    return answer(board(at, changes), "S", beat, at, GROUPS, PEOPLE, BEATS, ORDER[beat])


def test_the_beats_own_officer_on_second_duty_covers_by_day():
    found = ask(datetime(2026, 3, 1, 10, tzinfo=TZ), "B1")
    assert found["main_duty"]["group"]["code"] == "G1"
    assert found["covered_by"]["rule"] == "beat_officer"
    assert [p["id"] for p in found["covered_by"]["people"]] == ["OFF21"]
    assert found["covered_by"]["people"][0]["duty"] == "second"


def test_at_night_the_nearest_beat_of_the_main_group_covers():
    found = ask(datetime(2026, 3, 2, 2, tzinfo=TZ), "B1")
    assert found["beat"]["people"][0]["on_duty"] is False
    cover = found["covered_by"]
    assert (cover["rule"], cover["beat_id"]) == ("nearest_beat", "B2")
    assert [p["id"] for p in cover["people"]] == ["OFF11"]


def test_the_leader_covers_when_no_one_on_main_duty_is_linked_to_a_beat():
    # OFF11 on leave and AUX12 elsewhere: only the leader is left... who is OFF11, on leave.
    night = datetime(2026, 3, 2, 2, tzinfo=TZ)
    leave = [Change(1, "leave", person=11, start=night - timedelta(hours=5),
                    end=night + timedelta(hours=5)),
             Change(2, "leave", person=12, start=night - timedelta(hours=5),
                    end=night + timedelta(hours=5))]
    found = ask(night, "B1", leave)
    assert found["covered_by"]["rule"] == "group_leader"
    assert found["covered_by"]["people"][0]["id"] == "OFF11"
    assert found["covered_by"]["people"][0]["on_duty"] is False


def test_no_main_group_is_said_not_guessed():
    found = ask(datetime(2026, 2, 1, 12, tzinfo=TZ), "B1")
    assert found["main_duty"] is None and found["covered_by"]["rule"] == "none"


def test_answers_hold_between_interval_boundaries():
    at = datetime(2026, 3, 1, 10, tzinfo=TZ)
    lo, hi = board(at).steady(at)
    assert datetime.fromtimestamp(lo, TZ).hour == 8 and datetime.fromtimestamp(hi, TZ).hour == 17
