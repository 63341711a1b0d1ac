"""The loop of an event as a state machine (一网归集、分流、办理、反馈).

::

    reported --accept--> accepted --dispatch--> dispatched --start--> in_hand
        |                                          |                     |
        +--reject--> rejected                      +--return--> returned +--handle--> handled
    handled --verify--> verified --close--> closed;  handled --reopen--> in_hand (核查不通过)
    returned --dispatch--> dispatched;  escalate from any open state raises the level

Escalation (上报) does not change the state: it raises the level that handles the event (grid ->
village -> town -> county) and the event is dispatched again at that level. An urgent (紧急)
event starts at the town, so it goes straight up. ``rejected`` and ``closed`` are final.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gridsvc.errors import GridsvcError


class State(StrEnum):
    """Where an event is in the loop."""

    reported = "reported"        # 上报/信息收集
    accepted = "accepted"        # 立案
    rejected = "rejected"        # 不予立案 (with a reason and where to go instead)
    dispatched = "dispatched"    # 派遣
    in_hand = "in_hand"          # 处置中
    returned = "returned"        # 退回 (the handler says it is not theirs)
    handled = "handled"          # 处置反馈
    verified = "verified"        # 核查
    closed = "closed"            # 结案


FINAL = frozenset({State.rejected, State.closed})
#: States in which the event is still being worked on (counted as 在办).
OPEN = frozenset(State) - FINAL

#: Levels an event climbs when escalated (上报), lowest first.
LEVELS = ("grid", "village", "town", "county")


class Action(StrEnum):
    """What a person does to an event."""

    accept = "accept"
    reject = "reject"
    dispatch = "dispatch"
    start = "start"
    return_ = "return"
    handle = "handle"
    verify = "verify"
    reopen = "reopen"
    close = "close"
    escalate = "escalate"
    reroute = "reroute"  # the system: category changed or boundaries moved


#: action -> (states it may start from, state it leads to; None: the state does not change).
TRANSITIONS: dict[Action, tuple[frozenset[State], State | None]] = {
    Action.accept: (frozenset({State.reported}), State.accepted),
    Action.reject: (frozenset({State.reported}), State.rejected),
    Action.dispatch: (frozenset({State.accepted, State.returned}), State.dispatched),
    Action.start: (frozenset({State.dispatched}), State.in_hand),
    Action.return_: (frozenset({State.dispatched, State.in_hand}), State.returned),
    Action.handle: (frozenset({State.in_hand}), State.handled),
    Action.verify: (frozenset({State.handled}), State.verified),
    Action.reopen: (frozenset({State.handled}), State.in_hand),
    Action.close: (frozenset({State.verified}), State.closed),
    Action.escalate: (OPEN, None),
    Action.reroute: (OPEN, None),
}

#: Actions that need a note saying why.
NEEDS_REASON = frozenset({Action.reject, Action.return_, Action.reopen, Action.escalate})


class IllegalTransition(GridsvcError):
    """The action is not allowed in the event's state (the API answers 409)."""

    def __init__(self, state: State, action: Action) -> None:
        allowed = sorted(a.value for a, (sources, _) in TRANSITIONS.items()
                         if state in sources and a is not Action.reroute)
        super().__init__(
            f"cannot {action.value} an event that is {state.value}; "
            f"allowed now: {', '.join(allowed) or 'nothing (the event is final)'}")
        self.state = state
        self.action = action


@dataclass(frozen=True)
class Step:
    """The outcome of an action: the new state and level."""

    state: State
    level: str


def parse_action(text: str) -> Action:
    """An action from its name (``return`` is accepted for :attr:`Action.return_`).

    Raises
    ------
    ValueError
        Naming the actions.
    """
    try:
        return Action(text.strip().lower())
    except ValueError:
        names = ", ".join(a.value for a in Action if a is not Action.reroute)
        raise ValueError(f"unknown action {text!r}; actions are {names}") from None


def apply(state: State, level: str, action: Action) -> Step:
    """The state and level after ``action``.

    Raises
    ------
    IllegalTransition
        When ``action`` may not start from ``state``; also when escalating from the top level.

    >>> apply(State.reported, "grid", Action.accept)
    Step(state=<State.accepted: 'accepted'>, level='grid')
    >>> apply(State.in_hand, "grid", Action.escalate).level
    'village'
    >>> apply(State.closed, "grid", Action.reopen)
    Traceback (most recent call last):
    ...
    gridsvc.domain.events.states.IllegalTransition: cannot reopen an event that is closed; \
allowed now: nothing (the event is final)
    """
    sources, target = TRANSITIONS[action]
    if state not in sources:
        raise IllegalTransition(state, action)
    if action is Action.escalate:
        index = LEVELS.index(level)
        if index == len(LEVELS) - 1:
            raise IllegalTransition(state, action)
        # Escalated events are dispatched again by the level above.
        new_state = State.accepted if state is not State.reported else state
        return Step(new_state, LEVELS[index + 1])
    return Step(target or state, level)


def start_level(grade_is_urgent: bool) -> str:
    """The level that first handles an event: urgent ones go straight to the town (紧急直报).

    >>> start_level(True), start_level(False)
    ('town', 'grid')
    """
    return "town" if grade_is_urgent else "grid"
