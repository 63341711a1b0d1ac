"""Creating, checking and revoking API tokens: service tokens (machines, on the machine
account) and personal tokens (a person's scripts, on their account, with its scope)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from gridsvc.db import accounts as account_repo
from gridsvc.db import audit
from gridsvc.db import tokens as repo
from gridsvc.domain.accounts.credentials import hash_token, new_token, token_prefix
from gridsvc.domain.accounts.roles import Role
from gridsvc.errors import NotFound


def create_token(engine: Engine, *, role: Role, name: str, actor: str,
                 account_id: int | None = None, expires_at: datetime | None = None) -> str:
    """Make a token with ``role``; returns the token itself, which is stored only hashed.

    Without ``account_id`` it is a service token of the machine account (scope everything);
    with it, a personal token of that account (the caller checks ``role`` is not above the
    account's).
    """
    token = new_token()
    with engine.begin() as conn:
        kind = "personal" if account_id is not None else "service"
        owner = account_id if account_id is not None else account_repo.machine_account_id(conn)
        token_id = repo.insert_token(conn, name=name, role=role.name, token_hash=hash_token(token),
                                     prefix=token_prefix(token), created_by=actor,
                                     account_id=owner, kind=kind, expires_at=expires_at)
        audit.record(conn, actor=actor, action="token.create", object_kind="api_token",
                     object_id=str(token_id),
                     after={"name": name, "role": role.name, "kind": kind, "account_id": owner,
                            "prefix": token_prefix(token)})
    return token


def verify(engine: Engine, token: str) -> dict[str, object] | None:
    """``id, name, role, account_id, kind`` of a live token, else None."""
    with engine.connect() as conn:
        return repo.find_active(conn, hash_token(token))


def list_tokens(engine: Engine, account_id: int | None = None) -> list[dict[str, object]]:
    """Every token (only ``account_id``'s when given), newest first, never the secret."""
    with engine.connect() as conn:
        return repo.list_tokens(conn, account_id)


def revoke_token(engine: Engine, token_id: int, *, actor: str,
                 account_id: int | None = None) -> None:
    """Revoke a token (it stops working within the API's token cache time); with
    ``account_id``, only a token of that account.

    Raises
    ------
    NotFound
        No such token (of that account).
    """
    with engine.begin() as conn:
        before = repo.revoke(conn, token_id, account_id)
        if before is None:
            raise NotFound(f"no token with id {token_id}")
        audit.record(conn, actor=actor, action="token.revoke", object_kind="api_token",
                     object_id=str(token_id), before=before, after={"revoked": True})
