"""``gridsvc account``: create, list, scope, disable, enable, reset-password, as a user runs it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def env(pg, engine):
    return {"GRIDSVC_DATA_DIR": str(pg.data_dir)}


def test_account_life_cycle(env, engine):
    name = f"cli-{uuid.uuid4().hex[:6]}"
    done = run_cli("account", "create", name, "--role", "reporter", "--person", "GW002",
                   "--password", "a fine password", env=env, check=True)
    assert f"account {name} created" in done.stdout
    with engine.connect() as conn:
        scope = conn.execute(text(
            "SELECT s.kind || ':' || s.area_id FROM account_scope s JOIN account a "
            "ON a.id = s.account_id WHERE a.username = :u"), {"u": name}).scalars().all()
        linked = conn.execute(text(
            "SELECT pa.kind || ':' || pa.area_id FROM person_area pa JOIN person p "
            "ON p.pk = pa.person_pk WHERE p.business_id = 'GW002'")).scalars().all()
    assert sorted(scope) == sorted(linked)  # a person's account: their cells
    listed = run_cli("account", "list", env=env, check=True).stdout
    assert name in listed and "password" not in listed.lower().replace("reset-password", "")
    run_cli("account", "scope", name, "village:V102001 beat:B01", env=env, check=True)
    run_cli("account", "disable", name, env=env, check=True)
    assert "disabled" in run_cli("account", "list", env=env, check=True).stdout
    run_cli("account", "enable", name, env=env, check=True)
    run_cli("account", "reset-password", name, "--password", "another fine one", env=env,
            check=True)
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log WHERE object_id = :u "
                                    "ORDER BY id"), {"u": name}).scalars().all()
    assert actions == ["account.create", "account.scope", "account.disable", "account.enable",
                       "account.password_reset"]


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "chief"], "unknown role 'chief'"),
    (["--role", "viewer", "--password", "short"], "at least 10 characters"),
    (["--role", "viewer", "--password", "long enough pw", "--scope", "planet:X"],
     "unknown scope kind 'planet'"),
    (["--role", "viewer", "--password", "long enough pw", "--person", "NOBODY"],
     "no person with id 'NOBODY'"),
])
def test_bad_input_exits_2_and_says_why(env, args, message):
    done = run_cli("account", "create", f"bad-{uuid.uuid4().hex[:6]}", *args, env=env)
    assert done.returncode == 2 and message in done.stderr


def test_a_taken_name_is_refused(env):
    done = run_cli("account", "create", "gw001", "--role", "viewer", "--password",
                   "long enough pw", env=env)
    assert done.returncode != 0 and "exists" in done.stderr
