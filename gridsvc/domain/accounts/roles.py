"""Roles: what an account may do in its cells (pure: no database).

Each role may do everything the ones below it may: a grid worker (reporter) reports, an
officer or a station (handler) handles events, a dispatcher takes calls, a planner redraws
boundaries, an admin manages accounts.
"""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """Roles in increasing order of power.

    >>> Role.planner >= Role.dispatcher >= Role.handler >= Role.reporter >= Role.viewer
    True
    >>> Role.parse("Viewer")
    <Role.viewer: 1>
    """

    viewer = 1
    reporter = 2
    handler = 3
    dispatcher = 4
    planner = 5
    admin = 6

    @classmethod
    def parse(cls, name: str) -> Role:
        """The role called ``name`` (case-insensitive).

        Raises
        ------
        ValueError
            When no role has that name; the message lists the roles.
        """
        try:
            return cls[name.strip().lower()]
        except KeyError:
            known = ", ".join(r.name for r in cls)
            raise ValueError(f"unknown role {name!r}; roles are {known}") from None


#: Role names, lowest first (the CHECK constraints of ``account`` and ``api_token``).
ROLE_NAMES = tuple(r.name for r in Role)
