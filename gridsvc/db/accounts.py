"""Accounts, their scopes and browser sessions: SQL (the credential store's side, as owner).

Password hashes and session hashes are read here only; the app role cannot read them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from gridsvc.db.model_accounts import MACHINE_ACCOUNT, Account, AccountScope, AccountSession
from gridsvc.db.models import ApiToken, Person, PersonArea

#: Account columns shown in listings and audit entries (never the password hash).
PUBLIC = (Account.id, Account.username, Account.display_name, Account.person_pk, Account.role,
          Account.kind, Account.disabled, Account.failed_signins, Account.locked_until,
          Account.last_signin_at, Account.password_changed_at, Account.created_at)


def by_username(conn: Connection, username: str, *, lock: bool = False
                ) -> dict[str, Any] | None:
    """An account with its password hash, by name (``FOR UPDATE`` with ``lock``)."""
    query = select(*PUBLIC, Account.password_hash).where(Account.username == username)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def by_id(conn: Connection, account_id: int) -> dict[str, Any] | None:
    """An account (no password hash), with the business id of its person (``person_id``)."""
    row = conn.execute(select(*PUBLIC, Person.business_id.label("person_id"))
                       .outerjoin(Person, Person.pk == Account.person_pk)
                       .where(Account.id == account_id)).first()
    return None if row is None else dict(row._mapping)


def machine_account_id(conn: Connection) -> int:
    """The id of the account service tokens belong to."""
    return conn.execute(select(Account.id).where(Account.username == MACHINE_ACCOUNT)
                        ).scalar_one()


def scope_rows(conn: Connection, account_id: int) -> list[tuple[str, str]]:
    """The account's scope as ``(kind, area_id)`` rows, sorted."""
    rows = conn.execute(select(AccountScope.kind, AccountScope.area_id)
                        .where(AccountScope.account_id == account_id)
                        .order_by(AccountScope.kind, AccountScope.area_id))
    return [(r.kind, r.area_id) for r in rows]


def insert_account(conn: Connection, **values: Any) -> int:
    """Insert an account; returns its id."""
    return conn.execute(insert(Account).values(**values).returning(Account.id)).scalar_one()


def set_scope(conn: Connection, account_id: int, rows: list[tuple[str, str]]) -> None:
    """Replace the account's scope with ``rows``."""
    conn.execute(delete(AccountScope).where(AccountScope.account_id == account_id))
    if rows:
        conn.execute(insert(AccountScope), [
            {"account_id": account_id, "kind": k, "area_id": a} for k, a in sorted(set(rows))])


def update_account(conn: Connection, account_id: int, **values: Any) -> None:
    """Set columns of an account."""
    conn.execute(update(Account).where(Account.id == account_id).values(**values))


def list_accounts(conn: Connection) -> list[dict[str, Any]]:
    """Every account (no hashes) with its scope as text (``grid:G1 beat:B2``), by name."""
    scopes = (select(AccountScope.account_id,
                     func.string_agg(AccountScope.kind + ":" + AccountScope.area_id,
                                     " ").label("scope"))
              .group_by(AccountScope.account_id).subquery())
    rows = conn.execute(select(*PUBLIC, scopes.c.scope)
                        .outerjoin(scopes, scopes.c.account_id == Account.id)
                        .order_by(Account.username))
    return [dict(r._mapping) for r in rows]


def person_pks(conn: Connection, business_ids: list[str]) -> dict[str, int]:
    """Business id -> pk of these people."""
    if not business_ids:
        return {}
    return dict(conn.execute(select(Person.business_id, Person.pk)
                             .where(Person.business_id.in_(business_ids))).all())


def person_links(conn: Connection, person_pk: int) -> list[tuple[str, str]]:
    """The cells a person is linked to, as scope rows ``(kind, area_id)``."""
    rows = conn.execute(select(PersonArea.kind, PersonArea.area_id)
                        .where(PersonArea.person_pk == person_pk))
    return [(r.kind, r.area_id) for r in rows]


def existing_usernames(conn: Connection, names: list[str]) -> set[str]:
    """Which of these account names are taken."""
    return set(conn.execute(select(Account.username)
                            .where(Account.username.in_(names))).scalars())


def insert_session(conn: Connection, *, account_id: int, token_hash: str,
                   expires_at: datetime, api_token_id: int | None) -> int:
    """Store a session's hash; returns its id."""
    return conn.execute(insert(AccountSession).values(
        account_id=account_id, token_hash=token_hash, expires_at=expires_at,
        api_token_id=api_token_id).returning(AccountSession.id)).scalar_one()


def find_session(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    """A live session by its hash: ``id, account_id, token_role`` (the role of the token it
    was opened with, else None). Revoked, expired, or opened with a token since revoked or
    expired: None."""
    row = conn.execute(
        select(AccountSession.id, AccountSession.account_id, ApiToken.role.label("token_role"),
               ApiToken.revoked_at.label("token_revoked"),
               ApiToken.expires_at.label("token_expires"), ApiToken.id.label("token_id"))
        .outerjoin(ApiToken, ApiToken.id == AccountSession.api_token_id)
        .where(AccountSession.token_hash == token_hash, AccountSession.revoked_at.is_(None),
               AccountSession.expires_at > func.now())).first()
    if row is None or row.token_revoked is not None:
        return None
    if row.token_expires is not None and row.token_expires <= conn.execute(
            select(func.now())).scalar_one():
        return None
    return {"id": row.id, "account_id": row.account_id, "token_role": row.token_role}


def revoke_session(conn: Connection, session_id: int) -> bool:
    """Revoke one session; whether it was live."""
    return conn.execute(update(AccountSession).where(
        AccountSession.id == session_id, AccountSession.revoked_at.is_(None))
        .values(revoked_at=func.now())).rowcount > 0


def revoke_sessions(conn: Connection, account_id: int, keep: int | None = None) -> int:
    """Revoke every live session of an account (but ``keep``); how many."""
    return conn.execute(update(AccountSession).where(
        AccountSession.account_id == account_id, AccountSession.revoked_at.is_(None),
        AccountSession.id != (keep or 0)).values(revoked_at=func.now())).rowcount


def revoke_tokens(conn: Connection, account_id: int) -> int:
    """Revoke every live personal token of an account; how many."""
    return conn.execute(update(ApiToken).where(
        ApiToken.account_id == account_id, ApiToken.kind == "personal",
        ApiToken.revoked_at.is_(None)).values(revoked_at=func.now())).rowcount
