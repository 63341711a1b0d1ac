"""Whether the database is there, for the paths that can answer without it.

The lookup and the dispatcher's search answer from memory; they need the database only to
check, once a second, that what they hold is current. :class:`DatabaseWatch` lets them go on
with what they hold while the database is away, instead of failing every request, and tells
them (and the people they answer) that the answer is degraded until it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine

from gridsvc.db.outage import UNAVAILABLE, is_outage, ping

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Passed as ``remembered`` when nothing is remembered: only the database can answer.
NOTHING: object = object()


class DatabaseWatch:
    """Whether the database answered lately.

    Nothing is probed while the database is up: the first operation that meets an outage marks
    it down (:meth:`failed`); a background thread then pings it every ``probe_seconds`` and marks
    it up again at the first answer, so recovery needs no restart and costs no request a wait.

    Parameters
    ----------
    engine
        The engine to ping (its pool's ``pool_pre_ping`` replaces the connections the outage
        broke, on their next use).
    probe_seconds
        Time between pings while the database is away.
    """

    def __init__(self, engine: Engine, probe_seconds: float = 0.5) -> None:
        self.engine = engine
        self.probe_seconds = probe_seconds
        self._down_since: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._prober: threading.Thread | None = None

    @property
    def down(self) -> bool:
        """True from the first outage seen until the database answers a ping again."""
        return self._down_since is not None

    def failed(self, exc: BaseException) -> bool:
        """Report an error met on the database. Returns whether it says the server is away
        (:func:`gridsvc.db.outage.is_outage`); if so, it is marked down and probed."""
        if not is_outage(exc):
            return False
        with self._lock:
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning("database unavailable (%s): answering from memory where possible",
                            type(exc).__name__)
            if (self._prober is None or not self._prober.is_alive()) and not self._stop.is_set():
                self._prober = threading.Thread(target=self._probe, daemon=True,
                                                name="gridsvc-database-probe")
                self._prober.start()
        return True

    def read(self, fetch: Callable[[], T], remembered: T | object = NOTHING) -> T:
        """``fetch()`` from the database, or ``remembered`` while the database is away.

        Parameters
        ----------
        fetch
            Reads from the database.
        remembered
            What to answer instead while the database is away (``None`` included);
            :data:`NOTHING` when there is nothing to answer instead.

        Raises
        ------
        Exception
            ``fetch``'s database error when there is nothing remembered or the error is not an
            outage (a cancelled statement, say); any other error of ``fetch`` as it is.
        """
        if remembered is not NOTHING and self.down:
            return remembered  # type: ignore[return-value]
        try:
            return fetch()
        except UNAVAILABLE as exc:
            if not self.failed(exc) or remembered is NOTHING:
                raise
            return remembered  # type: ignore[return-value]

    def close(self) -> None:
        """Stop probing (at shutdown)."""
        self._stop.set()

    def _probe(self) -> None:
        while not self._stop.wait(self.probe_seconds):
            try:
                ping(self.engine)
            except UNAVAILABLE:
                continue
            with self._lock:
                since, self._down_since = self._down_since, None
                self._prober = None
            if since is not None:
                log.warning("database available again after %.1f s", time.monotonic() - since)
            return
