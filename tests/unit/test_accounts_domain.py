"""The pure rules of accounts: scopes (as the database's policies), sign-in delays and locks,
passwords, the demo accounts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from gridsvc.domain.accounts import EVERYTHING, NOTHING, Scope
from gridsvc.domain.accounts import signin as rules
from gridsvc.domain.accounts.credentials import hash_password, needs_rehash, verify_password
from gridsvc.domain.accounts.demo import office_accounts, person_account

PARENTS = {("grid", "G1"): "V1", ("village", "V1"): "T1", ("grid", "G2"): "V2",
           ("village", "V2"): "T1", ("beat", "B1"): "S1"}


@pytest.mark.parametrize(("scope", "cell", "inside"), [
    ([("grid", "G1")], ("grid", "G1"), True),
    ([("grid", "G1")], ("grid", "G2"), False),
    ([("grid", "G1")], ("village", "V1"), False),  # nothing above the scope's cell
    ([("village", "V1")], ("grid", "G1"), True),
    ([("town", "T1")], ("grid", "G2"), True),
    ([("station", "S1")], ("beat", "B1"), True),
    ([("station", "S1")], ("grid", "G1"), False),  # the trees do not mix
    ([("all", "")], ("grid", "anything"), True),
    ([], ("grid", "G1"), False),
])
def test_a_cell_is_in_scope_through_the_cells_above_it(scope, cell, inside):
    assert Scope.of(scope).covers_cell(*cell, PARENTS) is inside


def test_rows_are_in_scope_by_any_of_their_cells():
    scope = Scope.of([("beat", "B1")])
    assert scope.covers_row({"grid_id": "G9", "beat_id": "B1"})
    assert not scope.covers_row({"grid_id": "G9", "beat_id": None})
    assert EVERYTHING.covers_row({}) and not NOTHING.covers_row({"grid_id": "G1"})
    with pytest.raises(ValueError, match="unknown scope kind"):
        Scope.of([("planet", "X")])


def test_failures_slow_down_then_lock():
    now = datetime(2026, 1, 1, 8)
    delays = [rules.failure_delay(n) for n in range(1, 8)]
    assert delays == sorted(delays) and delays[0] > 0 and max(delays) == rules.MAX_DELAY_S
    assert rules.lock_until(rules.LOCK_AFTER - 1, now) is None
    until = rules.lock_until(rules.LOCK_AFTER, now)
    assert until == now + timedelta(minutes=rules.LOCK_MINUTES)
    assert rules.is_locked(until, now) and not rules.is_locked(until, until)


def test_passwords_are_argon2id_and_checked():
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "m=65536,t=2,p=1" in stored
    assert verify_password(stored, "correct horse") and not verify_password(stored, "wrong")
    assert not verify_password("not a hash", "x") and not needs_rehash(stored)


def test_demo_accounts():
    officer = person_account("OFF03", "陈俊丽", "officer", [("grid", "G2"), ("beat", "B02")])
    assert (officer.username, officer.role.name, officer.scope) == (
        "off03", "handler", (("beat", "B02"), ("grid", "G2")))
    everyone = {a.username: a for a in office_accounts([("S01", "八都派出所")])}
    assert everyone["leader-s01"].scope == (("station", "S01"),)
    assert everyone["command"].scope == (("all", ""),)
