"""The pure rules of events: the state machine, routing and time limits."""

from __future__ import annotations

from datetime import datetime

import pytest

from gridsvc.domain.events.catalogue import Grade
from gridsvc.domain.events.limits import DEFAULT_LIMITS, ZONE, WorkingHours, due_at, limit_hours
from gridsvc.domain.events.routing import DEFAULT_RULES, Place, Rule, route
from gridsvc.domain.events.states import (
    FINAL,
    TRANSITIONS,
    Action,
    IllegalTransition,
    State,
    apply,
    parse_action,
)

PLACE = Place({"town": "T1", "village": "V1", "grid": "G1", "station": "S1", "beat": "B1"},
              {"town": "八都镇", "village": "东灌底村", "grid": "第1网格", "beat": "B1警格"})
PEOPLE = {("grid", "G1"): [(1, "grid_worker"), (9, "volunteer")],
          ("beat", "B1"): [(2, "officer"), (3, "auxiliary")],
          ("station", "S1"): [(4, "officer")]}


def test_the_happy_path_reaches_closed():
    state, level = State.reported, "grid"
    for action in ("accept", "dispatch", "start", "handle", "verify", "close"):
        step = apply(state, level, parse_action(action))
        state, level = step.state, step.level
    assert state is State.closed


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", [a for a in Action if a is not Action.reroute])
def test_every_pair_is_legal_or_a_409_naming_the_state(state, action):
    sources, _ = TRANSITIONS[action]
    if state in sources:
        apply(state, "grid", action)
    else:
        with pytest.raises(IllegalTransition) as caught:
            apply(state, "grid", action)
        assert state.value in str(caught.value)
    if state in FINAL:
        with pytest.raises(IllegalTransition):
            apply(state, "grid", action)


def test_return_then_dispatch_again_and_reopen_after_a_failed_check():
    assert apply(State.in_hand, "grid", Action.return_).state is State.returned
    assert apply(State.returned, "grid", Action.dispatch).state is State.dispatched
    assert apply(State.handled, "grid", Action.reopen).state is State.in_hand


def test_escalation_climbs_to_the_county_and_stops():
    level = "grid"
    for expected in ("village", "town", "county"):
        level = apply(State.in_hand, level, Action.escalate).level
        assert level == expected
    with pytest.raises(IllegalTransition):
        apply(State.in_hand, "county", Action.escalate)


def test_unknown_action_names_the_actions():
    with pytest.raises(ValueError, match="accept"):
        parse_action("approve")


def test_disputes_go_to_the_grid_and_the_beat_officer_is_told():
    r = route(PLACE, "dispute.land", Grade.general, "grid", DEFAULT_RULES, PEOPLE)
    assert (r.unit_kind, r.unit_id, r.handlers, r.informed) == ("grid", "G1", (1,), (2,))
    assert r.unit_name == "第1网格网格员"


def test_public_order_goes_to_the_beat_and_serious_to_the_station():
    assert route(PLACE, "order", Grade.general, "grid", DEFAULT_RULES, PEOPLE).handlers == (2, 3)
    r = route(PLACE, "order", Grade.serious, "grid", DEFAULT_RULES, PEOPLE)
    assert (r.unit_kind, r.handlers) == ("station", (4,))


def test_urgent_goes_to_the_town_and_no_rule_falls_back_to_the_town():
    r = route(PLACE, "dispute.family", Grade.urgent, "town", DEFAULT_RULES, PEOPLE)
    assert (r.unit_kind, r.unit_id, r.unit_name) == ("town", "T1", "八都镇综治中心")
    fallback = route(PLACE, "dispute", Grade.general, "town", (), PEOPLE)
    assert fallback.fallback and fallback.unit_id == "T1"
    nowhere = route(Place({}), "dispute", Grade.general, "grid", (), {})
    assert nowhere.unit_kind == "county"


def test_a_rule_whose_cell_is_missing_is_passed_over():
    rules = (Rule("fire", "*", Grade.general, "grid", "网格员", ("grid_worker",)),
             Rule("*", "*", Grade.general, "town", "综治中心"))
    r = route(Place({"town": "T1"}), "fire", Grade.general, "grid", rules, {})
    assert r.unit_kind == "town"


def test_limits_most_specific_wins_and_working_hours_skip_the_weekend():
    from gridsvc.domain.events.limits import Limit

    own = (*DEFAULT_LIMITS, Limit("dispute", Grade.general, State.in_hand, 10))
    assert limit_hours(own, "dispute.family", Grade.general, State.in_hand) == 10
    assert limit_hours(own, "fire", Grade.general, State.in_hand) == 72
    friday = datetime(2026, 12, 4, 16, 30, tzinfo=ZONE)
    assert due_at(friday, 2, WorkingHours()) == datetime(2026, 12, 7, 9, 30, tzinfo=ZONE)
    with pytest.raises(ValueError):
        due_at(datetime(2026, 12, 4), 1)
