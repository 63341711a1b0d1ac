"""Who is calling, and what they may do: sign-in by bearer secret, roles and the account
binding of the request's database work.

A secret comes in the ``Authorization: Bearer`` header (a personal or service token, or a
session token), or in the ``gridsvc_session`` cookie that ``/login`` sets for browsers.
Verified secrets are cached in memory for ``settings.token_cache_seconds`` so that a lookup
costs no extra database round trip (a revoked token or a closed session of another process
stops working within that time; this process forgets a session at once on sign-out).

Once the caller is known, :data:`gridsvc.db.rls.current_account` is set to their account:
every transaction the request then opens on ``app.state.engine`` (role ``gridsvc_app``) is
bound to it, and PostgreSQL's policies show only the rows of the account's scope. Routes get
the caller with ``principal: Annotated[Principal, Depends(require(Role.x))]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from gridsvc.db import rls
from gridsvc.domain.accounts import Principal, Role
from gridsvc.services import accounts

__all__ = ["SESSION_COOKIE", "Principal", "TokenCache", "authenticate", "require"]

SESSION_COOKIE = "gridsvc_session"


class TokenCache:
    """Verified secrets, kept for a short time. Invalid secrets are not cached."""

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

    def forget(self, token: str) -> None:
        """Drop a secret (signed out): the next request with it is checked again."""
        self._entries.pop(token, None)


def secret_from(request: Request) -> str | None:
    """The bearer secret of a request: the Authorization header's, else the session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE)


async def authenticate(request: Request) -> Principal:
    """The caller (and the request's database work bound to their account), or a 401."""
    token = secret_from(request)
    unauthorised = HTTPException(
        status.HTTP_401_UNAUTHORIZED, "a valid bearer token or session is required",
        headers={"WWW-Authenticate": "Bearer"})
    if not token:
        raise unauthorised
    cache: TokenCache = request.app.state.token_cache
    principal = cache.get(token)
    if principal is None:
        principal = await run_in_threadpool(accounts.authenticate,
                                            request.app.state.system_engine, token)
        if principal is None:
            raise unauthorised
        cache.put(token, principal)
    rls.current_account.set(principal.account_id)
    request.state.principal = principal
    return principal


def require(role: Role, *, scope_all: bool = False) -> Callable[[Request], object]:
    """A dependency that lets through callers with ``role`` or a higher one (else 403);
    with ``scope_all``, only those whose scope is everything (changes that touch every row,
    such as putting a plan in effect)."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal.role < role:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {role.name} role or higher; you have {principal.role.name}")
        if scope_all and not principal.scope.everything:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "this changes every cell's rows: it needs an account whose "
                                "scope is everything")
        return principal

    return dependency
