"""Bearer-token authentication with roles (viewer < dispatcher < planner < admin).

A token comes in the ``Authorization: Bearer`` header, or in the ``gridsvc_session`` cookie that
``/login`` sets for people using the map pages in a browser. Verified tokens are cached in memory
for ``settings.token_cache_seconds`` so that a lookup costs no extra database round trip. While
the database is away, a token verified within ``settings.token_outage_seconds`` (15 minutes by
default) is still let in (:meth:`TokenCache.recall`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from gridsvc.db.outage import UNAVAILABLE
from gridsvc.domain.auth import Role
from gridsvc.services import tokens

SESSION_COOKIE = "gridsvc_session"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (written to the audit log) and its role."""

    name: str
    role: Role


class TokenCache:
    """Verified tokens, kept for a short time. Invalid tokens are not cached.

    Parameters
    ----------
    ttl
        Seconds a verified token is taken without asking the database again; a revoked token
        stops working within this time.
    grace
        Seconds a verified token is still let in while the database is away (15 minutes by
        default: a dispatcher's shift goes on through an outage of that length, and a token
        revoked just before it can be used for no longer). Only the routes that answer from
        memory, lookup and dispatch, can then answer; the others answer 503.
    """

    def __init__(self, ttl: float, grace: float = 900.0) -> None:
        self.ttl = ttl
        self.grace = grace
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, token: str) -> Principal | None:
        hit = self._entries.get(token)
        if hit is None or hit[0] + self.ttl < time.monotonic():
            return None
        return hit[1]

    def recall(self, token: str) -> Principal | None:
        """The principal of a token verified within the last ``grace`` seconds (for use while
        the database cannot verify it), else None."""
        hit = self._entries.get(token)
        if hit is None or hit[0] + self.grace < time.monotonic():
            return None
        return hit[1]

    def put(self, token: str, principal: Principal) -> None:
        if len(self._entries) > 10_000:  # bound memory against a flood of distinct tokens
            self._entries.clear()
        self._entries[token] = (time.monotonic(), principal)


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
    watch = request.app.state.db_watch
    principal = cache.get(token) or (cache.recall(token) if watch.down else None)
    if principal is None:
        try:
            found = await run_in_threadpool(tokens.verify, request.app.state.engine, token)
        except UNAVAILABLE as exc:  # the database is away: a token verified lately still gets in
            if not watch.failed(exc) or (principal := cache.recall(token)) is None:
                raise
            return principal
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
