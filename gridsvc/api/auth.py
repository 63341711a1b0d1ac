"""Bearer-token authentication with roles (viewer < dispatcher < planner < admin).

A token comes in the ``Authorization: Bearer`` header, or in the ``gridsvc_session`` cookie that
``/login`` sets for people using the map pages in a browser. Verified tokens are cached in memory
for ``settings.token_cache_seconds`` so that a lookup costs no extra database round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from gridsvc.domain.auth import Role
from gridsvc.services import tokens

SESSION_COOKIE = "gridsvc_session"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (written to the audit log) and its role."""

    name: str
    role: Role


class TokenCache:
    """Verified tokens, kept for a short time. Invalid tokens are not cached."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, token: str) -> Principal | None:
        hit = self._entries.get(token)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, token: str, principal: Principal) -> None:
        if len(self._entries) > 10_000:  # bound memory against a flood of distinct tokens
            self._entries.clear()
        self._entries[token] = (time.monotonic() + self.ttl, principal)


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE)


async def authenticate(request: Request) -> Principal:
    """The caller, or a 401 when there is no valid token."""
    token = _token_from(request)
    unauthorised = HTTPException(
        status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required",
        headers={"WWW-Authenticate": "Bearer"})
    if not token:
        raise unauthorised
    cache: TokenCache = request.app.state.token_cache
    principal = cache.get(token)
    if principal is None:
        found = await run_in_threadpool(tokens.verify, request.app.state.engine, token)
        if found is None:
            raise unauthorised
        principal = Principal(*found)
        cache.put(token, principal)
    return principal


def require(role: Role) -> Callable[[Request], object]:
    """A dependency that lets through callers with ``role`` or a higher one (else 403)."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal.role < role:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {role.name} role or higher; your token has {principal.role.name}")
        return principal

    return dependency
