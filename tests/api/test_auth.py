"""Every route but /healthz needs a token; roles are ordered; revoked tokens stop working."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from gridsvc.api.app import create_app
from gridsvc.services.tokens import revoke_token

PROTECTED = ["/api/v1/areas?kind=grid", "/api/v1/areas/grid/any", "/api/v1/audit"]


def test_healthz_needs_no_token_and_reports_versions(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"]["postgis"].startswith("3.")
    assert body["database"]["postgresql"]


@pytest.mark.parametrize("path", PROTECTED)
def test_no_token_is_401_with_bearer_challenge(client, path):
    r = client.get(path)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz", "gs_x"])
def test_bad_token_is_401(client, header):
    assert client.get(PROTECTED[0], headers={"Authorization": header}).status_code == 401


def test_every_api_route_is_protected(client):
    """Guard against a new router forgetting its dependency: every path of the OpenAPI schema
    but /healthz answers 401 without a token, whatever the method."""
    paths = client.app.openapi()["paths"]
    assert len(paths) >= 3
    for path, methods in paths.items():
        if path == "/healthz":
            continue
        url = re.sub(r"\{kind\}", "grid", path)
        url = re.sub(r"\{[^}]+\}", "x", url)
        for method in methods:
            assert client.request(method.upper(), url).status_code == 401, (method, path)


@pytest.mark.parametrize(("role", "expected"), [
    ("viewer", 403), ("dispatcher", 403), ("planner", 403), ("admin", 200)])
def test_roles_are_ordered(client, auth, role, expected):
    r = client.get("/api/v1/audit", headers=auth(role))
    assert r.status_code == expected
    if expected == 403:
        assert "admin" in r.json()["detail"] and role in r.json()["detail"]


def test_token_in_session_cookie_is_accepted(settings, engine, make_token):
    token = make_token("viewer", "cookie-user")
    with TestClient(create_app(settings, engine), cookies={"gridsvc_session": token}) as c:
        assert c.get("/api/v1/areas?kind=town").status_code == 200


def test_revoked_token_stops_working(settings, engine, make_token):
    from sqlalchemy import text

    token = make_token("viewer", "to-revoke")
    # A fresh app: its token cache is empty, so the revocation is seen at once.
    with TestClient(create_app(settings, engine)) as c:
        headers = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/v1/areas?kind=town", headers=headers).status_code == 200
    with engine.connect() as conn:
        token_id = conn.execute(text(
            "SELECT id FROM api_token WHERE name = 'to-revoke'")).scalar_one()
    revoke_token(engine, token_id, actor="test-suite")
    with TestClient(create_app(settings, engine)) as c:
        assert c.get("/api/v1/areas?kind=town", headers=headers).status_code == 401


def test_tokens_are_stored_hashed_and_creation_audited(engine, make_token):
    from sqlalchemy import text

    token = make_token("dispatcher", "hash-check")
    with engine.connect() as conn:
        stored = conn.execute(text(
            "SELECT token_hash, prefix FROM api_token WHERE name = 'hash-check'")).one()
        dumped = conn.execute(text("SELECT string_agg(t::text, '') FROM api_token t")).scalar()
        audited = conn.execute(text(
            "SELECT after FROM audit_log WHERE action = 'token.create' "
            "AND after->>'name' = 'hash-check'")).scalar_one()
    assert token not in dumped
    assert len(stored.token_hash) == 64 and token.startswith(stored.prefix)
    assert audited["role"] == "dispatcher" and token not in str(audited)
