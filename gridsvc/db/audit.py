"""The append-only audit log: SQL for writing and reading it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select

from gridsvc.db.models import AuditLog


def _jsonable(value: Any) -> Any:
    # Dates, decimals and the like go in as text, so any before/after snapshot can be stored.
    return None if value is None else json.loads(json.dumps(value, default=str))


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    object_kind: str,
    object_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry, in the caller's transaction: the change and its record commit together."""
    conn.execute(
        insert(AuditLog).values(
            actor=actor, action=action, object_kind=object_kind, object_id=object_id,
            before=_jsonable(before), after=_jsonable(after),
        # inline: no RETURNING id, which would need the right to read the log (an account
        # whose scope is not everything may append to the log but not read it).
        ).inline()
    )


def recent(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """The newest entries first."""
    rows = conn.execute(select(AuditLog).order_by(AuditLog.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]
