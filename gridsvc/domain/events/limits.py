"""Time limits (时限) per step, and an event's deadline.

Each step of the loop has a limit in hours that depends on the category and the grade (CJ/T 315
sets one per step of the city-management loop). Limits count calendar hours; with a working-hours
calendar (e.g. 8:30-17:30 Monday to Friday) only the hours inside it count, so a report on
Friday evening with an 8-hour limit is due on Monday afternoon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from gridsvc.domain.events.catalogue import Grade
from gridsvc.domain.events.states import State

#: The steps that have a limit: the state an event is in while the clock runs.
TIMED_STATES = (State.reported, State.accepted, State.dispatched, State.in_hand, State.handled,
                State.verified, State.returned)
ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Limit:
    """Hours an event may stay in ``state``, for a category prefix (``*``: any) and a grade."""

    category: str
    grade: Grade
    state: State
    hours: float

    def matches(self, category: str, grade: Grade, state: State) -> bool:
        return (self.category == "*" or category == self.category
                or category.startswith(self.category + ".")) \
            and self.grade is grade and self.state is state


#: Hours per step by grade (reported, accepted, dispatched, in_hand, handled, verified, returned).
_DEFAULT_HOURS = {
    Grade.general: (24, 8, 24, 72, 24, 24, 8),
    Grade.major: (8, 4, 8, 48, 12, 12, 4),
    Grade.serious: (2, 2, 4, 24, 8, 8, 2),
    Grade.urgent: (0.5, 0.5, 1, 6, 2, 4, 0.5),
}
DEFAULT_LIMITS: tuple[Limit, ...] = tuple(
    Limit("*", grade, state, hours)
    for grade, row in _DEFAULT_HOURS.items()
    for state, hours in zip(TIMED_STATES, row, strict=True))


@dataclass(frozen=True)
class WorkingHours:
    """A working-hours calendar: the hours of each working day (Monday=0) in Asia/Shanghai."""

    start: time = time(8, 30)
    end: time = time(17, 30)
    days: frozenset[int] = frozenset(range(5))


def limit_hours(limits: Sequence[Limit], category: str, grade: Grade, state: State) -> float | None:
    """The limit for an event in ``state`` (the most specific category wins), or None when the
    step has no limit (a final state, or no row).

    >>> limit_hours(DEFAULT_LIMITS, "dispute.family", Grade.urgent, State.in_hand)
    6
    >>> limit_hours(DEFAULT_LIMITS, "fire", Grade.general, State.closed) is None
    True
    """
    found = [lim for lim in limits if lim.matches(category, grade, state)]
    if not found:
        return None
    return max(found, key=lambda lim: 0 if lim.category == "*" else len(lim.category)).hours


def due_at(start: datetime, hours: float, calendar: WorkingHours | None = None) -> datetime:
    """When ``hours`` have passed since ``start``: calendar hours, or only the working hours of
    ``calendar``.

    Raises
    ------
    ValueError
        When ``start`` has no time zone, or the calendar has no working time at all.

    >>> from datetime import timezone
    >>> friday_evening = datetime(2026, 12, 4, 20, 0, tzinfo=ZONE)
    >>> due_at(friday_evening, 8).isoformat()
    '2026-12-05T04:00:00+08:00'
    >>> due_at(friday_evening, 8, WorkingHours()).isoformat()
    '2026-12-07T16:30:00+08:00'
    """
    if start.tzinfo is None:
        raise ValueError("start needs a time zone")
    if calendar is None:
        return start + timedelta(hours=hours)
    if not calendar.days or calendar.end <= calendar.start:
        raise ValueError("the working-hours calendar has no working time")
    left = timedelta(hours=hours)
    at = start.astimezone(ZONE)
    while True:
        day_start = datetime.combine(at.date(), calendar.start, ZONE)
        day_end = datetime.combine(at.date(), calendar.end, ZONE)
        if at.weekday() in calendar.days and at < day_end:
            at = max(at, day_start)
            if at + left <= day_end:
                return at + left
            left -= day_end - at
        at = datetime.combine(at.date() + timedelta(days=1), time(0), ZONE)
