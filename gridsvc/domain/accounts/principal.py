"""Who is calling: the signed-in account as every layer sees it (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from gridsvc.domain.accounts.roles import Role
from gridsvc.domain.accounts.scope import NOTHING, Scope


@dataclass(frozen=True)
class Principal:
    """The caller of a request.

    Attributes
    ----------
    name
        Who, as the audit log says it: the account's name, or a service token's name.
    role
        What the caller may do: the account's role, or less for a token made with less.
    account_id
        The account (the row-level security setting); service tokens belong to the machine
        account ``service``, whose scope is everything. None only for a principal built by
        hand without an account, which sees no scoped row.
    username, display_name
        The account's name and the name shown on pages.
    person_pk, person_id
        The person the account belongs to (pk and business id), or None (offices, machines).
    scope
        The cells whose rows the caller sees (:class:`~gridsvc.domain.accounts.Scope`).
    via
        How the caller signed in: ``session`` (browser cookie), ``personal_token`` or
        ``service_token``.
    session_id
        The browser session, for ``via == "session"``.
    """

    name: str
    role: Role
    account_id: int | None = None
    username: str | None = None
    display_name: str | None = None
    person_pk: int | None = None
    person_id: str | None = None
    scope: Scope = NOTHING
    via: str = "service_token"
    session_id: int | None = None
