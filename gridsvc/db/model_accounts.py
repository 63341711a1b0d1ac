"""Tables of accounts and their scopes (issue 12). See :mod:`gridsvc.db.rls` for how a scope
filters rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from gridsvc.db.models import Base

SCOPE_KINDS = ("all", "town", "village", "grid", "station", "beat")


class Account(Base):
    """A person's (or a machine's) way in: a name, a role, and (in ``account_scope``) cells."""

    __tablename__ = "account"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    person_pk: Mapped[int | None] = mapped_column(ForeignKey("person.pk", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, server_default="false")
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
