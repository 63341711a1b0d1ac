from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gridsvc.api.app import create_app


@pytest.fixture(scope="session")
def client(settings, engine):
    with TestClient(create_app(settings, engine)) as c:
        yield c


@pytest.fixture(scope="session")
def auth(make_token):
    """``auth("planner")`` -> headers with a fresh token of that role."""
    cache: dict[str, dict[str, str]] = {}

    def headers(role: str = "viewer") -> dict[str, str]:
        if role not in cache:
            cache[role] = {"Authorization": f"Bearer {make_token(role)}"}
        return cache[role]

    return headers


@pytest.fixture(scope="session")
def as_account(engine):
    """``as_account("gw001")`` -> headers with a personal token of that demo account (its role
    and scope; no password check, so no Argon2 time)."""
    from sqlalchemy import text

    from gridsvc.domain.accounts import Role
    from gridsvc.services.tokens import create_token

    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            with engine.connect() as conn:
                row = conn.execute(text("SELECT id, role FROM account WHERE username = :u"),
                                   {"u": username}).one()
            token = create_token(engine, role=Role.parse(row.role), name=f"test-{username}",
                                 actor="test-suite", account_id=row.id)
            cache[username] = {"Authorization": f"Bearer {token}"}
        return cache[username]

    return headers
