"""Accounts: roles, scopes of cells, credentials and the sign-in rules (pure: no database).

Import the role ladder from here: ``from gridsvc.domain.accounts import Role``.
"""

from gridsvc.domain.accounts.principal import Principal
from gridsvc.domain.accounts.roles import ROLE_NAMES, Role
from gridsvc.domain.accounts.scope import EVERYTHING, NOTHING, Scope

__all__ = ["EVERYTHING", "NOTHING", "ROLE_NAMES", "Principal", "Role", "Scope"]
