"""The rules of signing in: how failed attempts slow down and then lock an account (pure).

Each failed password since the last success makes the next answer slower (a doubling delay,
capped), and the :data:`LOCK_AFTER`-th locks the account for :data:`LOCK_MINUTES`; a correct
password during the lock is refused too, so guessing cannot go on in the background. A success
resets the count. Sessions last :data:`SESSION_HOURS` (a shift and a half).
"""

from __future__ import annotations

from datetime import datetime, timedelta

#: Failed sign-ins in a row that lock the account.
LOCK_AFTER = 5
#: How long a lock lasts.
LOCK_MINUTES = 15
#: The first failure's delay (seconds), doubled by each further failure, up to MAX_DELAY_S.
BASE_DELAY_S = 0.5
MAX_DELAY_S = 4.0
#: How long a browser session lasts.
SESSION_HOURS = 12


def failure_delay(failures: int) -> float:
    """Seconds to wait before answering the ``failures``-th failure in a row.

    >>> [failure_delay(n) for n in range(0, 6)]
    [0.0, 0.5, 1.0, 2.0, 4.0, 4.0]
    """
    if failures <= 0:
        return 0.0
    return min(BASE_DELAY_S * 2 ** (failures - 1), MAX_DELAY_S)


def lock_until(failures: int, now: datetime) -> datetime | None:
    """When the account unlocks, if this many failures in a row lock it; else None.

    >>> from datetime import datetime
    >>> lock_until(4, datetime(2026, 1, 1)) is None
    True
    >>> lock_until(5, datetime(2026, 1, 1))
    datetime.datetime(2026, 1, 1, 0, 15)
    """
    return now + timedelta(minutes=LOCK_MINUTES) if failures >= LOCK_AFTER else None


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    """Whether a lock holds at ``now`` (None: no lock)."""
    return locked_until is not None and locked_until > now


def session_expiry(now: datetime) -> datetime:
    """When a session started at ``now`` ends."""
    return now + timedelta(hours=SESSION_HOURS)
