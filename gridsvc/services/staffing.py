"""The staffing report: is each beat, grid, office and station staffed to the standard?"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from gridsvc.db import staffing as repo
from gridsvc.domain.reports import staffing
from gridsvc.services.assignment import current_plan

PEOPLE_COLUMNS = ["id", "role", "office_id", "kind", "area_id"]
HOUSE_COLUMNS = ["beat_id", "grid_id", "houses", "households", "residents"]


def staffing_tables(engine: Engine, as_of: date | None = None
                    ) -> tuple[int, dict[str, pd.DataFrame], dict[str, Any]]:
    """The plan in effect on ``as_of``, the four staffing tables and the summary.

    See :mod:`gridsvc.domain.reports.staffing` for every definition.
    """
    plan_id = current_plan(engine, as_of)
    # One read-only transaction, so the houses, people and cells are one consistent snapshot.
    with engine.connect() as conn, conn.begin():
        houses = pd.DataFrame(repo.house_sums(conn, plan_id), columns=HOUSE_COLUMNS)
        people = pd.DataFrame(repo.person_links(conn), columns=PEOPLE_COLUMNS)
        beats = pd.DataFrame(repo.cells(conn, plan_id, "beat"), columns=["id", "name", "parent_id"])
        grids = pd.DataFrame(repo.cells(conn, plan_id, "grid"), columns=["id", "name", "parent_id"])
        stations = pd.DataFrame(repo.cells(conn, plan_id, "station"),
                                columns=["id", "name", "parent_id"])
        offices = pd.DataFrame(repo.offices(conn, plan_id),
                               columns=["id", "name", "station_id", "beat_id"])
    beats = beats.rename(columns={"parent_id": "station_id"})
    tables = staffing.staffing(houses, people, beats, grids, offices, stations)
    return plan_id, tables, staffing.summary(tables, houses)


def staffing_report(engine: Engine, as_of: date | None = None) -> dict[str, Any]:
    """The staffing report as JSON-able data.

    Returns
    -------
    dict
        ``plan_id``, ``standard`` (the thresholds used), ``summary``, and the rows of each level:
        ``beats``, ``grids``, ``offices``, ``stations``.
    """
    plan_id, tables, summary = staffing_tables(engine, as_of)
    return {
        "plan_id": plan_id,
        "standard": {
            "households_per_officer": staffing.HOUSEHOLDS_PER_OFFICER,
            "residents_per_officer": staffing.RESIDENTS_PER_OFFICER,
            "min_grid_workers": staffing.MIN_GRID_WORKERS,
        },
        "summary": summary,
        **{level: staffing.to_records(frame) for level, frame in tables.items()},
    }
