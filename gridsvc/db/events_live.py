"""The live map's cursor: the newest transition of an event (its feed starts after it)."""

from __future__ import annotations

from sqlalchemy import Connection, text


def latest_change_id(conn: Connection) -> int:
    """The id of the newest ``event_transition`` row the caller may see (0 when none)."""
    return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM event_transition")).scalar()
               or 0)
