"""Roles and bearer tokens (pure: no database).

Tokens are 256-bit random strings, so a single SHA-256 is enough to store them safely: a slow
password hash protects low-entropy secrets against guessing, which a random token is not.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import IntEnum

TOKEN_PREFIX = "gs_"


class Role(IntEnum):
    """Roles in increasing order of power: each role may do everything the ones below it may.

    >>> Role.planner >= Role.dispatcher
    True
    >>> Role.parse("Viewer")
    <Role.viewer: 1>
    """

    viewer = 1
    dispatcher = 2
    planner = 3
    admin = 4

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


def new_token() -> str:
    """A new random bearer token (``gs_`` + 43 URL-safe characters, 256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token: what the database stores and looks up.

    >>> len(hash_token("gs_x"))
    64
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_prefix(token: str) -> str:
    """The first characters of a token, shown in listings to tell tokens apart."""
    return token[: len(TOKEN_PREFIX) + 6]
