"""A year of the demo town's events (pure: a seeded generator, no database).

Each event is reported by a grid worker at a house of their grid and walks the loop as far as
its age makes likely: most old events are closed, a few rejected; recent ones wait in every
open state; some were escalated, some returned or reopened. Steps take random but plausible
times, so some miss their limit (按期处置率 below 100%) and a few open ones are overdue now.
The path of each event is built with :func:`~gridsvc.domain.events.states.apply`, so every
history is one the real service could have written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from gridsvc.domain.events.catalogue import Grade
from gridsvc.domain.events.states import Action, State, apply, start_level

#: (category, weight, descriptions)
KINDS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("dispute.neighbour", 0.22, ("邻里因排水沟发生争吵", "楼上漏水引发邻里矛盾",
                                 "宅基地界址争议", "噪音扰民引发纠纷")),
    ("dispute.family", 0.12, ("夫妻因赡养老人发生争执", "兄弟分家析产纠纷")),
    ("dispute.land", 0.08, ("山林承包边界争议", "土地流转租金纠纷")),
    ("dispute.labour", 0.06, ("工地拖欠农民工工资", "务工人员工伤赔偿争议")),
    ("dispute.property", 0.06, ("物业费收缴纠纷", "小区停车位争议")),
    ("order", 0.16, ("出租房人员频繁变动", "夜间有人聚集饮酒滋事", "可疑人员徘徊")),
    ("fire", 0.14, ("电动车楼道充电", "堆放杂物堵塞消防通道", "私拉乱接电线")),
    ("safety", 0.08, ("小作坊无证生产", "建筑工地未设防护")),
    ("other", 0.08, ("路灯损坏", "井盖缺失", "垃圾乱堆放")),
)
GRADE_WEIGHTS = {Grade.general: 0.78, Grade.major: 0.15, Grade.serious: 0.05,
                 Grade.urgent: 0.02}
#: Hours each step usually takes (median), before the random spread.
STEP_HOURS = {Action.accept: 3, Action.dispatch: 2, Action.start: 6, Action.handle: 18,
              Action.verify: 6, Action.close: 6, Action.reject: 4, Action.return_: 10,
              Action.reopen: 12, Action.escalate: 20}
#: Only events this recent may still be stuck in an open state (the demo's overdue list).
STUCK_DAYS = 10
HAPPY = (Action.accept, Action.dispatch, Action.start, Action.handle, Action.verify,
         Action.close)


@dataclass
class DemoEvent:
    """One generated event: where (index of the place), what, and its steps ``(action, at)``."""

    place: int
    category: str
    grade: Grade
    description: str
    parties: str
    created_at: datetime
    steps: list[tuple[Action, datetime, str | None]] = field(default_factory=list)
    state: State = State.reported
    level: str = "grid"


def generate(rng: np.random.Generator, n_places: int, end: datetime, *, days: int = 365,
             per_day: float = 8.0) -> list[DemoEvent]:
    """Events reported over the ``days`` before ``end`` at ``n_places`` places.

    Parameters
    ----------
    rng
        The generator (``numpy.random.default_rng(seed)``): same seed, same events.
    n_places
        How many places (houses) to pick from; each event names one by index.
    end
        Now (with a time zone): no step happens after it.
    per_day
        Mean reports a day.

    Returns
    -------
    list of DemoEvent
        Oldest first; empty when ``n_places`` is 0.
    """
    if n_places == 0:
        return []
    count = int(rng.poisson(per_day * days))
    ages = np.sort(rng.uniform(0, days * 24.0, count))[::-1]
    weights = np.array([w for _, w, _ in KINDS])
    kinds = rng.choice(len(KINDS), size=count, p=weights / weights.sum())
    grades = rng.choice(len(GRADE_WEIGHTS), size=count, p=list(GRADE_WEIGHTS.values()))
    out = []
    for i in range(count):
        category, _, texts = KINDS[kinds[i]]
        grade = list(GRADE_WEIGHTS)[grades[i]]
        created = end - timedelta(hours=float(ages[i]))
        event = DemoEvent(int(rng.integers(n_places)), category, grade,
                          str(texts[int(rng.integers(len(texts)))]),
                          "" if rng.random() < 0.3 else f"当事人{int(rng.integers(1, 99))}号等",
                          created, level=start_level(grade is Grade.urgent))
        _walk(rng, event, end)
        out.append(event)
    return out


def _walk(rng: np.random.Generator, event: DemoEvent, end: datetime) -> None:
    """Take the event along the loop until ``end`` or its chosen stopping point."""
    at = event.created_at
    # Where this event stops even with all the time in the world (a few never finish).
    stop = rng.choice(["closed", "rejected", "stuck"], p=[0.8, 0.05, 0.15])
    if stop == "stuck" and event.created_at < end - timedelta(days=STUCK_DAYS):
        stop = "closed"  # old events were settled in the end
    plan: list[Action] = [Action.reject] if stop == "rejected" else list(HAPPY)
    if stop == "stuck":
        plan = plan[: int(rng.integers(1, len(plan)))]
    if rng.random() < 0.08 and stop != "rejected":
        # The grid could not settle it: up a level, dispatched and started there again.
        plan[3:3] = [Action.escalate, Action.dispatch, Action.start]
    if rng.random() < 0.05 and stop == "closed":
        at_start = plan.index(Action.start) + 1
        plan[at_start:at_start] = [Action.return_, Action.dispatch, Action.start]
    if rng.random() < 0.05 and stop == "closed":
        plan[plan.index(Action.handle) + 1:plan.index(Action.handle) + 1] = [
            Action.reopen, Action.handle]
    for action in plan:
        spread = float(rng.lognormal(0.0, 0.8))
        hours = STEP_HOURS[action] * spread / (1 if event.grade < Grade.serious else 4)
        at = at + timedelta(hours=hours)
        if at > end:
            return
        note = _note(rng, action)
        try:
            step = apply(event.state, event.level, action)
        except Exception:  # a planned step the state does not allow (escalated at the top)
            continue
        event.state, event.level = step.state, step.level
        event.steps.append((action, at, note))


def _note(rng: np.random.Generator, action: Action) -> str | None:
    notes: dict[Action, Sequence[str]] = {
        Action.reject: ("不属于受理范围，请当事人向法院起诉",),
        Action.return_: ("不属于本网格，退回重新派遣",),
        Action.reopen: ("核查未通过，当事人仍有异议",),
        Action.escalate: ("网格调解未果，上报村调委会",),
        Action.handle: ("已调解，双方签订协议", "已整改到位", "已现场处置"),
    }
    choices = notes.get(action)
    return None if not choices else str(choices[int(rng.integers(len(choices)))])
