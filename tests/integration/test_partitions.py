"""Incidents partitioned by month: rows land in their month's partition, and a query on one
month reads that partition only (EXPLAIN), on the real PostGIS of the suite."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import shapely
from sqlalchemy import text

from gridsvc.db import objects
from gridsvc.db.partitions import ensure_incident_months

pytestmark = pytest.mark.db


def _partitions(conn) -> dict[str, int]:
    """Rows per partition of ``incident``."""
    names = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'incident'::regclass ORDER BY 1")).scalars().all()
    return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


def test_demo_incidents_are_in_month_partitions_and_the_default_is_empty(engine):
    with engine.connect() as conn:
        parts = _partitions(conn)
        total = conn.execute(text("SELECT count(*) FROM incident")).scalar_one()
    assert parts.pop("incident_default") == 0
    assert len(parts) >= 6 and sum(parts.values()) == total > 0


def test_a_year_by_month_and_a_one_month_query_reads_one_partition(demo_copy):
    rows = [{"business_id": f"PART{m:02d}{k}", "occurred_at": datetime(2031, m, 1 + k, 12,
                                                                         tzinfo=UTC),
             "category": "theft", "geom": shapely.Point(119.0, 28.2)}
            for m in range(1, 13) for k in range(3)]
    with demo_copy.begin() as conn:
        objects.insert_rows(conn, "incident", rows)
        parts = _partitions(conn)
        assert all(parts[f"incident_y2031m{m:02d}"] == 3 for m in range(1, 13))
        assert parts["incident_default"] == 0
        plan = conn.execute(text(
            "EXPLAIN SELECT count(*) FROM incident WHERE occurred_at >= '2031-03-01T00:00Z' "
            "AND occurred_at < '2031-04-01T00:00Z'")).scalars().all()
    scanned = {t for line in plan for t in re.findall(r"\bon (incident\w*)", line)}
    assert scanned == {"incident_y2031m03"}, "\n".join(plan)


def test_a_row_in_the_default_partition_moves_when_its_month_is_made(demo_copy):
    when = datetime(2033, 5, 17, 8, tzinfo=UTC)
    with demo_copy.begin() as conn:
        # Inserted past the insert path: no partition for May 2033 yet.
        conn.execute(text(
            "INSERT INTO incident (business_id, occurred_at, category, geom) VALUES "
            "('DEF1', :t, 'theft', ST_SetSRID(ST_MakePoint(119, 28.2), 4490))"), {"t": when})
        assert _partitions(conn)["incident_default"] == 1
        assert ensure_incident_months(conn, [when]) == ["incident_y2033m05"]
        parts = _partitions(conn)
        assert parts["incident_default"] == 0 and parts["incident_y2033m05"] == 1
        assert ensure_incident_months(conn, [when]) == ["incident_y2033m05"]  # made once
