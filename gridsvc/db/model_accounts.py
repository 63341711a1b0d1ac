"""Tables of accounts, their scopes and their browser sessions (issue 12). See
:mod:`gridsvc.db.rls` for how a scope filters rows, and the accounts migration for the policies.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridsvc.db.models import TOKEN_ROLES, Base, _in

SCOPE_KINDS = ("all", "town", "village", "grid", "station", "beat")
ACCOUNT_KINDS = ("person", "machine")
#: The account service tokens belong to (made by the migration, scope everything).
MACHINE_ACCOUNT = "service"


class Account(Base):
    """A person's (or the machines') way in: a name, a role, a password hash (people only),
    the count of failed sign-ins and the lock they lead to, and (in ``account_scope``) cells."""

    __tablename__ = "account"
    __table_args__ = (CheckConstraint(_in("role", TOKEN_ROLES), name="role"),
                      CheckConstraint(_in("kind", ACCOUNT_KINDS), name="kind"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    person_pk: Mapped[int | None] = mapped_column(
        ForeignKey("person.pk", ondelete="SET NULL"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), server_default="person")
    disabled: Mapped[bool] = mapped_column(Boolean, server_default="false")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_signins: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_signin_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())


class AccountScope(Base):
    """One cell of an account's scope (``kind='all'`` with ``area_id=''``: everything)."""

    __tablename__ = "account_scope"
    __table_args__ = (CheckConstraint(
        "kind IN ('all', 'town', 'village', 'grid', 'station', 'beat')", name="kind"),)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    area_id: Mapped[str] = mapped_column(String(64), primary_key=True, server_default="")


class AccountSession(Base):
    """A browser's session: only the hash of its cookie is stored. A session opened with a
    token carries that token (its role, and revoking it ends the session)."""

    __tablename__ = "account_session"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_token.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
