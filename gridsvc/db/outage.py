"""What an unreachable database looks like from Python: the errors that mean "unavailable",
the narrower test for "the server is away", and a ping."""

from __future__ import annotations

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from gridsvc.errors import DatabaseUnavailable

#: Errors a request can meet when the database cannot answer it now: the connection cannot be
#: made or was lost, the server is shutting down or starting, a statement was cancelled, the
#: pool had no free connection in time. Each is worth trying again later (HTTP 503).
UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
    psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable,
)
# SQLSTATEs of a server that is going away or not there yet (class 08 is added by prefix).
_AWAY = {"57P01", "57P02", "57P03"}  # admin shutdown, crash shutdown, cannot connect now


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database server itself is away (not just this statement).

    True for a connection that cannot be made or was lost, a server shutting down, starting or
    crashed (SQLSTATE class 08, 57P01-57P03), and :class:`~gridsvc.errors.DatabaseUnavailable`.
    False for a cancelled statement, a serialisation failure, a pool that is merely busy, and
    anything that is not a database error: those say nothing about the server.

    >>> is_outage(psycopg.OperationalError("connection failed: No such file or directory"))
    True
    >>> is_outage(psycopg.errors.QueryCanceled("canceling statement due to statement timeout"))
    False
    >>> is_outage(ValueError("x"))
    False
    """
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if not isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        return False
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith("08") or sqlstate in _AWAY
    return True  # no SQLSTATE: the connection itself failed, or is closed


def ping(engine: Engine) -> None:
    """One round trip to the server; raises (one of :data:`UNAVAILABLE`) when it is away."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
