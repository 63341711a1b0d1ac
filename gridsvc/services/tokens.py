"""Creating, checking and revoking API tokens."""

from __future__ import annotations

from sqlalchemy import Engine

from gridsvc.db import audit
from gridsvc.db import tokens as repo
from gridsvc.domain.auth import Role, hash_token, new_token, token_prefix
from gridsvc.errors import NotFound


def create_token(engine: Engine, *, role: Role, name: str, actor: str) -> str:
    """Make a token with ``role``; returns the token itself, which is stored only hashed."""
    token = new_token()
    with engine.begin() as conn:
        token_id = repo.insert_token(conn, name=name, role=role.name, token_hash=hash_token(token),
                                     prefix=token_prefix(token), created_by=actor)
        audit.record(conn, actor=actor, action="token.create", object_kind="api_token",
                     object_id=str(token_id),
                     after={"name": name, "role": role.name, "prefix": token_prefix(token)})
    return token


def verify(engine: Engine, token: str) -> tuple[str, Role] | None:
    """``(token name, role)`` for a valid unrevoked token, else None."""
    with engine.connect() as conn:
        found = repo.find_active(conn, hash_token(token))
    if found is None:
        return None
    _, name, role = found
    return name, Role.parse(role)


def list_tokens(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return repo.list_tokens(conn)


def revoke_token(engine: Engine, token_id: int, *, actor: str) -> None:
    """Revoke a token (it stops working within the API's token cache time)."""
    with engine.begin() as conn:
        before = repo.revoke(conn, token_id)
        if before is None:
            raise NotFound(f"no token with id {token_id}")
        audit.record(conn, actor=actor, action="token.revoke", object_kind="api_token",
                     object_id=str(token_id), before=before, after={"revoked": True})
