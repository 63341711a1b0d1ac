"""Incidents partitioned by month (migration c16a0c5f0002): making the partitions rows need.

``incident`` is partitioned by range of ``occurred_at``, one partition per calendar month in
UTC (``incident_y2026m01``), plus ``incident_default`` for rows of a month without one. Writers
call :func:`ensure_incident_months` before inserting, so rows land in their month's partition and
a query on one month reads only that one (the planner prunes the rest).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

#: Names of the partitions of ``incident``: not tables of the models (schema drift ignores them).
PARTITION_NAME = re.compile(r"^incident_(default|y\d{4}m\d{2})$")


def is_partition(name: str | None) -> bool:
    """Whether a table name is one of the partitions of ``incident``.

    >>> [is_partition(n) for n in ("incident_y2026m01", "incident_default", "incident")]
    [True, True, False]
    """
    return bool(name and PARTITION_NAME.match(name))


def ensure_incident_months(conn: Connection, times: Iterable[datetime]) -> list[str]:
    """Make the partitions of the months of ``times`` (timezone-aware datetimes, or ISO 8601
    text as loaders pass it) that do not exist yet, in the caller's transaction; returns the
    partitions' names."""
    stamps = (t if isinstance(t, datetime) else datetime.fromisoformat(str(t)) for t in times)
    months = sorted({t.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0,
                                                microsecond=0) for t in stamps})
    if not months:
        return []
    return list(conn.execute(text(
        "SELECT DISTINCT gridsvc_incident_month(t) FROM unnest(CAST(:times AS timestamptz[])) t"),
        {"times": months}).scalars())


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Alembic's object filter (GeoAlchemy2's) that also leaves out the partitions of
    ``incident``, and their indexes, which the migration and the loaders make, not the models."""
    from geoalchemy2 import alembic_helpers

    table = obj.table.name if type_ in ("index", "unique_constraint", "column") and hasattr(
        obj, "table") else name
    if (type_ == "table" and is_partition(name)) or is_partition(table):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
