"""People sign in as themselves: password and sessions, failures slowed down then locked,
personal tokens, and every step in the audit log."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gridsvc.api.app import create_app
from gridsvc.domain.accounts import Role
from gridsvc.domain.accounts.demo import DEMO_PASSWORD
from gridsvc.services import accounts


@pytest.fixture
def browser(settings, engine):
    """A fresh app and client (own token cache, cookies of its own)."""
    with TestClient(create_app(settings, engine), follow_redirects=False) as c:
        yield c


def _audit(engine, action: str, username: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_log WHERE action = :a "
                                 "AND object_id = :u"), {"a": action, "u": username}).scalar()


def test_demo_person_signs_in_lands_on_own_area_and_signs_out(browser, engine):
    r = browser.post("/login", data={"username": "GW001", "password": DEMO_PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/me"
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    secret = browser.cookies["gridsvc_session"]
    assert secret.startswith("gss_")
    me = browser.get("/api/v1/accounts/me").json()
    assert me["username"] == "gw001" and me["role"] == "reporter" and me["via"] == "session"
    assert me["person_id"] == "GW001" and {s["kind"] for s in me["scope"]} == {"grid"}
    with engine.connect() as conn:  # only the hash is stored
        stored = conn.execute(text("SELECT string_agg(token_hash, ' ') FROM account_session"
                                   )).scalar()
    assert secret not in stored
    assert browser.post("/logout").status_code == 303
    browser.cookies.set("gridsvc_session", secret)
    assert browser.get("/api/v1/accounts/me").status_code == 401
    assert _audit(engine, "account.signin", "gw001") >= 1
    assert _audit(engine, "account.signout", "gw001") >= 1


def test_command_centre_lands_on_the_wall_map(browser):
    r = browser.post("/login", data={"username": "command", "password": DEMO_PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/maps/coverage"


def test_failures_slow_down_then_lock_even_the_right_password(browser, engine):
    name = f"lock-{uuid.uuid4().hex[:6]}"
    accounts.create_account(engine, username=name, display_name=name, role=Role.reporter,
                            password="right password 1", scope=[("grid", "G102001001")],
                            actor="test-suite")
    waits = []
    for _ in range(5):
        start = time.monotonic()
        r = browser.post("/login", data={"username": name, "password": "wrong password"})
        waits.append(time.monotonic() - start)
        assert r.status_code == 401
    assert waits[2] > 1.0 and waits[3] > waits[1]  # slower each time (0.5, 1, 2, 4 s)
    assert "locked" in r.text
    r = browser.post("/login", data={"username": name, "password": "right password 1"})
    assert r.status_code == 401 and "locked" in r.text
    assert _audit(engine, "account.signin_failed", name) == 6
    assert _audit(engine, "account.lock", name) == 1
    accounts.reset_password(engine, name, "another password 2", actor="test-suite")
    assert _audit(engine, "account.password_reset", name) == 1
    r = browser.post("/login", data={"username": name, "password": "another password 2"})
    assert r.status_code == 303


def test_unknown_name_and_disabled_account_are_refused_alike(browser, engine):
    name = f"off-{uuid.uuid4().hex[:6]}"
    accounts.create_account(engine, username=name, display_name=name, role=Role.viewer,
                            password="a good password", scope=[], actor="test-suite")
    accounts.set_disabled(engine, name, True, actor="test-suite")
    for user in (name, "nobody-here"):
        r = browser.post("/login", data={"username": user, "password": "a good password"})
        assert r.status_code == 401 and "wrong name or password" in r.text
    assert _audit(engine, "account.disable", name) == 1


def test_token_sign_in_still_works(browser, make_token):
    token = make_token("viewer", "browser-token")
    r = browser.post("/login", data={"token": token, "next": "/maps/coverage"})
    assert r.status_code == 303 and r.headers["location"] == "/maps/coverage"
    assert browser.cookies["gridsvc_session"] != token  # a session, not the token itself
    assert browser.get("/api/v1/areas?kind=town").status_code == 200


def test_password_change_and_personal_tokens(browser, engine):
    name = f"pt-{uuid.uuid4().hex[:6]}"
    accounts.create_account(engine, username=name, display_name=name, role=Role.handler,
                            password="first password", scope=[("beat", "B01")],
                            actor="test-suite")
    assert browser.post("/login", data={"username": name, "password": "first password"}
                        ).status_code == 303
    r = browser.post("/api/v1/accounts/me/password",
                     json={"old_password": "nope", "new_password": "second password"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "old_password"
    r = browser.post("/api/v1/accounts/me/password",
                     json={"old_password": "first password", "new_password": "second password"})
    assert r.status_code == 204
    assert _audit(engine, "account.password_change", name) == 1
    assert browser.post("/api/v1/accounts/me/tokens",
                        json={"name": "x", "role": "admin"}).status_code == 422
    made = browser.post("/api/v1/accounts/me/tokens", json={"name": "script", "days": 7})
    assert made.status_code == 201 and made.json()["role"] == "handler"
    bearer = {"Authorization": f"Bearer {made.json()['token']}"}
    me = browser.get("/api/v1/accounts/me", headers=bearer).json()
    assert me["username"] == name and me["via"] == "personal_token"
    assert me["scope"] == [{"kind": "beat", "id": "B01"}]
    listed = browser.get("/api/v1/accounts/me/tokens").json()
    assert [t["name"] for t in listed] == ["script"]
    assert browser.delete(f"/api/v1/accounts/me/tokens/{listed[0]['id']}").status_code == 204


def test_a_token_of_another_account_cannot_be_revoked(client, as_account, engine):
    with engine.connect() as conn:
        other = conn.execute(text("SELECT t.id FROM api_token t JOIN account a "
                                  "ON a.id = t.account_id WHERE a.username = 'service' "
                                  "LIMIT 1")).scalar()
    r = client.delete(f"/api/v1/accounts/me/tokens/{other}", headers=as_account("gw002"))
    assert r.status_code == 404


def test_only_admins_seeing_everything_list_accounts(client, as_account, auth):
    assert client.get("/api/v1/accounts", headers=as_account("planner")).status_code == 403
    listed = client.get("/api/v1/accounts", headers=as_account("admin")).json()
    assert {"gw001", "off01", "leader-s01", "command", "service"} <= {a["username"]
                                                                     for a in listed}
    assert all("password_hash" not in a for a in listed)


def test_plan_activation_needs_a_scope_of_everything(client, as_account):
    r = client.post("/api/v1/plans/sync", headers=as_account("off01"))
    assert r.status_code == 403
