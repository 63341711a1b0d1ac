"""Rotations: RFC 5545 rules into duty intervals, swaps, leave, and keeping the past."""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gridsvc.domain.duty.rotation import (
    Change,
    Interval,
    Rule,
    Stored,
    expand,
    main_duty_problems,
    reconcile,
)

ZONE = "Asia/Shanghai"
TZ = ZoneInfo(ZONE)


def rotation(n_groups: int, anchor: date, hour: int = 8) -> list[Rule]:
    """Main, second and standby of ``n_groups`` groups rotating daily from ``anchor``."""
    rules, rid = [], 0
    for g in range(n_groups):
        for k, (kind, minutes) in enumerate((("main", 1440), ("second", 540),
                                             ("standby", 840))):
            if k >= n_groups:
                continue
            rid += 1
            start = datetime.combine(anchor + timedelta(days=(g - k) % n_groups),
                                     datetime.min.time()).replace(hour=hour)
            rules.append(Rule(rid, g + 1, kind, start, f"FREQ=DAILY;INTERVAL={n_groups}",
                              minutes, anchor))
    return rules


def holders(intervals: list[Interval], at: datetime) -> list[int | None]:
    return [iv.group for iv in intervals
            if iv.kind == "main" and iv.person is None and iv.start <= at < iv.end]


@settings(max_examples=25, deadline=None)
@given(anchor=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
       n_groups=st.integers(2, 5), hour=st.integers(0, 23),
       swaps=st.lists(st.tuples(st.integers(0, 364), st.integers(1, 5), st.integers(1, 5)),
                      max_size=20))
def test_exactly_one_group_holds_main_duty_every_hour_of_a_year(anchor, n_groups, hour, swaps):
    rules = rotation(n_groups, anchor, hour)
    changes = [Change(i, "swap", day=anchor + timedelta(days=d), group=a, other_group=b)
               for i, (d, a, b) in enumerate(swaps)
               if a != b and a <= n_groups and b <= n_groups]
    # One swap per group and day: two swaps of the same group on one day are refused upstream.
    seen: set[tuple[date, int]] = set()
    unique = []
    for c in changes:
        if {(c.day, c.group), (c.day, c.other_group)} & seen:
            continue
        seen |= {(c.day, c.group), (c.day, c.other_group)}
        unique.append(c)
    start = datetime.combine(anchor, datetime.min.time()).replace(hour=hour, tzinfo=TZ)
    end = start + timedelta(days=365)
    ivs = expand(rules, unique, {}, ZONE, start, end)
    assert main_duty_problems(ivs, start, end) == []
    mains = sorted((iv.start, iv.end, iv.group) for iv in ivs
                   if iv.kind == "main" and iv.person is None)
    starts = [m[0] for m in mains]
    t = start
    while t < end:
        # Every hour of the year, and a moment either side of it (shift changes fall on hours).
        for probe in (t, t + timedelta(microseconds=1), t + timedelta(minutes=59, seconds=59)):
            i = bisect.bisect_right(starts, probe) - 1
            holding = [m for m in mains[max(i - 1, 0):i + 2] if m[0] <= probe < m[1]]
            assert len(holding) == 1, probe
        t += timedelta(hours=1)


def test_rotation_crosses_midnight_in_a_zone_without_daylight_saving():
    rules = rotation(3, date(2026, 3, 1))
    ivs = expand(rules, [], {1: [11]}, ZONE, datetime(2026, 3, 1, tzinfo=TZ),
                 datetime(2026, 3, 4, tzinfo=TZ))
    main = [iv for iv in ivs if iv.kind == "main" and iv.person is None]
    assert [(iv.group, iv.start.isoformat(), iv.end.isoformat()) for iv in main][:3] == [
        (1, "2026-03-01T08:00:00+08:00", "2026-03-02T08:00:00+08:00"),
        (2, "2026-03-02T08:00:00+08:00", "2026-03-03T08:00:00+08:00"),
        (3, "2026-03-03T08:00:00+08:00", "2026-03-04T08:00:00+08:00"),
    ]
    # 02:00 on 2 March is still group 1's main duty that started the day before.
    assert holders(ivs, datetime(2026, 3, 2, 2, tzinfo=TZ)) == [1]
    assert all(iv.end - iv.start == timedelta(hours=24) for iv in main)


def test_wall_clock_durations_keep_main_duty_seamless_across_daylight_saving():
    # Berlin moves its clocks on 29 March 2026; the 24-hour duty is 23 hours long that day.
    zone = "Europe/Berlin"
    tz = ZoneInfo(zone)
    start, end = datetime(2026, 3, 27, tzinfo=tz), datetime(2026, 4, 2, tzinfo=tz)
    ivs = expand(rotation(3, date(2026, 3, 1)), [], {}, zone, start, end)
    assert main_duty_problems(ivs, datetime(2026, 3, 27, 8, tzinfo=tz), end) == []


def test_a_swap_exchanges_every_duty_of_that_day():
    rules = rotation(3, date(2026, 5, 1))
    swap = Change(9, "swap", day=date(2026, 5, 4), group=1, other_group=2)
    start, end = datetime(2026, 5, 4, tzinfo=TZ), datetime(2026, 5, 6, tzinfo=TZ)
    plain = expand(rules, [], {1: [101], 2: [201]}, ZONE, start, end)
    swapped = expand(rules, [swap], {1: [101], 2: [201]}, ZONE, start, end)
    noon = datetime(2026, 5, 4, 12, tzinfo=TZ)
    assert holders(plain, noon) == [1]
    assert holders(swapped, noon) == [2]
    person_main = [iv for iv in swapped if iv.person == 201 and iv.kind == "main"]
    assert person_main[0].source == "swap:9"
    # The next day is untouched.
    assert holders(swapped, noon + timedelta(days=1)) == holders(plain, noon + timedelta(days=1))
    assert main_duty_problems(swapped, datetime(2026, 5, 4, 8, tzinfo=TZ),
                              datetime(2026, 5, 6, 8, tzinfo=TZ)) == []


def test_leave_and_a_substitute_cut_and_hand_over_a_persons_duty():
    rules = rotation(3, date(2026, 5, 1))
    day = datetime(2026, 5, 1, 8, tzinfo=TZ)
    leave = Change(1, "leave", person=101, start=day + timedelta(hours=4),
                   end=day + timedelta(hours=6))
    sub = Change(2, "substitute", person=102, other_person=301,
                 start=day, end=day + timedelta(hours=12))
    ivs = expand(rules, [leave, sub], {1: [101, 102]}, ZONE, day, day + timedelta(days=1))
    mine = [(iv.start.hour, iv.end.hour) for iv in ivs if iv.person == 101]
    assert mine == [(8, 12), (14, 8)]
    assert [(iv.start.hour, iv.end.hour, iv.source) for iv in ivs if iv.person == 301] == [
        (8, 20, "substitute:2")]
    assert [(iv.start.hour, iv.end.hour) for iv in ivs if iv.person == 102] == [(20, 8)]


def test_reconcile_keeps_the_past_and_writes_nothing_when_unchanged():
    rules = rotation(3, date(2026, 1, 1))
    start, end = datetime(2026, 1, 1, 8, tzinfo=TZ), datetime(2026, 1, 10, 8, tzinfo=TZ)
    first = expand(rules, [], {1: [1], 2: [2], 3: [3]}, ZONE, start, end)
    stored = [Stored(i, iv) for i, iv in enumerate(first)]
    cut = datetime(2026, 1, 4, 20, tzinfo=TZ)
    alive = [s for s in stored if s.interval.end > cut]
    assert not reconcile(alive, first, cut)
    # Group 1 swaps with group 2 on the 4th (today, after the cut) and the 7th.
    swaps = [Change(1, "swap", day=date(2026, 1, 4), group=1, other_group=2),
             Change(2, "swap", day=date(2026, 1, 7), group=1, other_group=2)]
    update = reconcile(alive, expand(rules, swaps, {1: [1], 2: [2], 3: [3]}, ZONE, cut, end),
                       cut)
    truncated = {i for i, _ in update.truncate}
    assert all(stored[i].interval.start < cut for i in truncated)
    assert all(stored[i].interval.start >= cut for i in update.delete)
    assert all(iv.start >= cut for iv in update.insert)
    # Nothing that ended before the cut is touched.
    touched = truncated | set(update.delete)
    assert all(stored[i].interval.end > cut for i in touched)
