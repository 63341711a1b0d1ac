"""Secrets: bearer tokens, session tokens and passwords (pure: no database).

Tokens are 256-bit random strings, so a single SHA-256 is enough to store them safely: a slow
password hash protects low-entropy secrets against guessing, which a random token is not.
Passwords are hashed with Argon2id (argon2-cffi). The parameters were chosen by measurement on
the project's 2-core machine (``bench/passwords.py``, ``bench/README.md``): a check of
``time_cost=2, memory_cost=64 MiB, parallelism=1`` takes ~100 ms idle and ~350 ms with the
machine's two cores busy with other work, inside the 50-500 ms a sign-in may cost either way
(``time_cost=3`` took 130 ms idle but 440 ms busy, too close to the ceiling); 64 MiB per guess
makes a GPU farm's guessing expensive.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TOKEN_PREFIX = "gs_"
SESSION_PREFIX = "gss_"
#: Argon2id parameters (see the module's docstring for how they were chosen).
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 1
#: Shortest password accepted when one is set or changed.
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
                         parallelism=ARGON2_PARALLELISM)
#: A hash of nothing anyone knows, verified against when a name is unknown, so an unknown
#: name costs as long as a wrong password (the answer's time does not tell names apart).
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def new_token() -> str:
    """A new random bearer token (``gs_`` + 43 URL-safe characters, 256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    """A new random session token (the browser's cookie; ``gss_`` + 256 bits)."""
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token: what the database stores and looks up.

    >>> len(hash_token("gs_x"))
    64
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_prefix(token: str) -> str:
    """The first characters of a token, shown in listings to tell tokens apart."""
    return token[: len(TOKEN_PREFIX) + 6]


def hash_password(password: str) -> str:
    """The Argon2id hash of a password (PHC string: algorithm, parameters, salt, hash)."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash. An account without a password
    (``stored`` None, e.g. a machine account) never matches, after the same work as a check.

    >>> verify_password(None, "anything")
    False
    """
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with other parameters than today's (rehash at next sign-in)."""
    return _hasher.check_needs_rehash(stored)


def password_problem(password: str, username: str) -> str | None:
    """Why a new password is refused, or None when it is acceptable.

    >>> password_problem("short", "gw001")
    'a password needs at least 10 characters'
    >>> password_problem("gw001gw001", "gw001")
    'a password must not contain the account name'
    >>> password_problem("correct horse", "gw001") is None
    True
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if username and username.lower() in password.lower():
        return "a password must not contain the account name"
    return None
