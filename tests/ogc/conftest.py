"""Fixtures of the OGC API tests: an in-process client on the suite's demo town, and headers."""

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
    """``auth("planner")`` -> headers with a token of that role."""
    cache: dict[str, dict[str, str]] = {}

    def headers(role: str = "viewer") -> dict[str, str]:
        if role not in cache:
            cache[role] = {"Authorization": f"Bearer {make_token(role)}"}
        return cache[role]

    return headers
