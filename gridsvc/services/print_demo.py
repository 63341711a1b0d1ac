"""Demo data of the print work: some of the demo town's cases marked solved, so its bulletins
show a 破案公告 (seeded: the same marks on every load)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection

from gridsvc.db import prints

#: Share of each category's incidents marked solved (the rest of the categories: none).
SOLVED_SHARE = {"盗窃": 0.35, "诈骗": 0.25, "纠纷": 0.6}


def demo_solved(conn: Connection, incidents: list[dict[str, Any]], *, actor: str,
                zone: str = "Asia/Shanghai", seed: int = 17) -> int:
    """Mark a seeded share of the demo's thefts, frauds and disputes solved, 0 to 9 days after
    they happened; returns how many. Marks already there are left as they are."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(zone)
    marks = []
    for row in sorted(incidents, key=lambda r: r["business_id"]):
        share = SOLVED_SHARE.get(row["category"], 0.0)
        draw, days = rng.random(), int(rng.integers(0, 10))
        if draw < share:
            day = row["occurred_at"].astimezone(tz).date() + timedelta(days=days)
            marks.append({"incident_id": row["business_id"], "solved_on": day})
    return prints.insert_solved(conn, marks, actor)
