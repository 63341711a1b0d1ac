"""API tokens: SQL for storing and finding them (only their hashes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, or_, select, update

from gridsvc.db.models import ApiToken


def insert_token(
    conn: Connection, *, name: str, role: str, token_hash: str, prefix: str, created_by: str,
    account_id: int, kind: str = "service", expires_at: datetime | None = None,
) -> int:
    """Store a token's hash; returns the token's id."""
    return conn.execute(
        insert(ApiToken)
        .values(name=name, role=role, token_hash=token_hash, prefix=prefix, created_by=created_by,
                account_id=account_id, kind=kind, expires_at=expires_at)
        .returning(ApiToken.id)
    ).scalar_one()


def find_active(conn: Connection, token_hash: str) -> dict[str, object] | None:
    """``id, name, role, account_id, kind`` of the live (unrevoked, unexpired) token with this
    hash, or None."""
    row = conn.execute(
        select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.account_id, ApiToken.kind)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None),
               or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > func.now()))
    ).first()
    return None if row is None else dict(row._mapping)


def list_tokens(conn: Connection, account_id: int | None = None) -> list[dict[str, object]]:
    """Every token (never the hash), newest first; only an account's with ``account_id``."""
    query = (select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.kind, ApiToken.prefix,
                    ApiToken.account_id, ApiToken.created_by, ApiToken.created_at,
                    ApiToken.expires_at, ApiToken.revoked_at).order_by(ApiToken.id.desc()))
    if account_id is not None:
        query = query.where(ApiToken.account_id == account_id)
    return [dict(r._mapping) for r in conn.execute(query)]


def revoke(conn: Connection, token_id: int, account_id: int | None = None
           ) -> dict[str, object] | None:
    """Revoke a token (only one of ``account_id``'s when given); returns its row before the
    change, or None when there is no such token."""
    query = (select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.kind,
                    ApiToken.account_id, ApiToken.revoked_at).where(ApiToken.id == token_id))
    if account_id is not None:
        query = query.where(ApiToken.account_id == account_id)
    before = conn.execute(query).first()
    if before is None:
        return None
    conn.execute(
        update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return dict(before._mapping)
