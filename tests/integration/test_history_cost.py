"""Cost independent of history: every query that reads cells of one plan finds them through an
index that includes the plan, however many plans are stored (bench/history.py times it).

The statements that a draft's map page, tiles, staffing and fusion reports, impact preview, an
edit and an activation (dry run) send are captured and EXPLAINed with 300 plans stored: no
sequential scan of ``area``, and every index scan of it bounded by the plan.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text

from gridsvc.services import (
    fusion,
    map_tiles,
    plan_activation,
    plan_impact,
    plans,
    staffing,
)
from gridsvc.services import maps as maps_service
from gridsvc.settings import MapSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from history import NEIGHBOURS, add_plans

pytestmark = pytest.mark.db


def _area_scans(node: dict) -> list[dict]:
    """Every scan of ``area`` and of its indexes in an EXPLAIN (FORMAT JSON) plan."""
    on_area = node.get("Relation Name") == "area" or "_area_" in node.get("Index Name", "")
    found = [node] if on_area else []
    for child in node.get("Plans", []):
        found += _area_scans(child)
    return found


def _capture(engine: Engine) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def keep(conn, cursor, statement, parameters, context, executemany):
        words = statement.lstrip().split(None, 1)
        if not executemany and words and words[0].upper() in ("SELECT", "UPDATE", "WITH") \
                and "area" in statement:
            seen.append((statement, parameters))

    return seen


def test_a_drafts_queries_use_the_plan_keyed_index(demo_copy):
    draft = plans.create_draft(demo_copy, name="history", actor="test")["id"]
    with demo_copy.connect() as conn:
        a, b = conn.execute(text(NEIGHBOURS), {"p": draft}).one()
        moved = conn.execute(text("SELECT business_id FROM house WHERE grid_id = :g LIMIT 5"),
                             {"g": a}).scalars().all()
    add_plans(demo_copy, draft, 300)
    seen = _capture(demo_copy)
    plans.edit(demo_copy, draft, {"op": "transfer", "from": a, "to": b, "houses": moved},
               version=1, actor="test")
    maps_service.plan_page(demo_copy, MapSettings(prewarm=False), draft)
    map_tiles.cell_tile(demo_copy, draft, "grid", 12, 3400, 1712)
    staffing.staffing_report(demo_copy, plan_id=draft)
    fusion.fusion_report(demo_copy, plan_id=draft)
    plan_impact.impact(demo_copy, draft)
    plan_activation.activate(demo_copy, draft, version=2, actor="test", commit=False)
    assert len(seen) > 20
    bad = []
    with demo_copy.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        for statement, parameters in seen:
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            for scan in _area_scans(plan[0]["Plan"]):
                cond = scan.get("Index Cond", "") + scan.get("Recheck Cond", "")
                if scan["Node Type"] == "Seq Scan" or "plan_id" not in cond:
                    bad.append((scan["Node Type"], scan.get("Index Name"), statement[:300]))
    assert bad == [], "\n".join(map(str, bad))
