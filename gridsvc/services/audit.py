"""Reading the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from gridsvc.db import audit


def recent_entries(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """The newest audit entries first (``limit`` is clamped to 1..1000)."""
    with engine.connect() as conn:
        return audit.recent(conn, max(1, min(limit, 1000)))
