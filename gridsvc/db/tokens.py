"""API tokens: SQL for storing and finding them (only their hashes)."""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select, update

from gridsvc.db.models import ApiToken


def insert_token(
    conn: Connection, *, name: str, role: str, token_hash: str, prefix: str, created_by: str
) -> int:
    """Store a token's hash; returns the token's id."""
    return conn.execute(
        insert(ApiToken)
        .values(name=name, role=role, token_hash=token_hash, prefix=prefix, created_by=created_by)
        .returning(ApiToken.id)
    ).scalar_one()


def find_active(conn: Connection, token_hash: str) -> tuple[int, str, str] | None:
    """``(id, name, role)`` of the unrevoked token with this hash, or None."""
    row = conn.execute(
        select(ApiToken.id, ApiToken.name, ApiToken.role).where(
            ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else (row.id, row.name, row.role)


def list_tokens(conn: Connection) -> list[dict[str, object]]:
    """Every token (never the hash), newest first."""
    rows = conn.execute(
        select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.prefix, ApiToken.created_by,
               ApiToken.created_at, ApiToken.revoked_at).order_by(ApiToken.id.desc())
    )
    return [dict(r._mapping) for r in rows]


def revoke(conn: Connection, token_id: int) -> dict[str, object] | None:
    """Revoke a token; returns its row before the change, or None when there is no such token."""
    before = conn.execute(
        select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.revoked_at)
        .where(ApiToken.id == token_id)
    ).first()
    if before is None:
        return None
    conn.execute(
        update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return dict(before._mapping)
