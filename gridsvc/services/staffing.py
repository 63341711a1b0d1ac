"""The staffing report: is each beat, grid, office and station staffed to the standard?"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from gridsvc.db import staffing as repo
from gridsvc.domain.reports import staffing
from gridsvc.services.assignment import current_plan, known_plan

PEOPLE_COLUMNS = ["id", "role", "office_id", "kind", "area_id"]
HOUSE_COLUMNS = ["beat_id", "grid_id", "houses", "households", "residents"]


def staffing_tables(engine: Engine, as_of: date | None = None, *, plan_id: int | None = None
                    ) -> tuple[int, dict[str, pd.DataFrame], dict[str, Any]]:
    """The plan (``plan_id``, else the one in effect on ``as_of``), the four staffing tables
    and the summary. Houses and offices of a plan that is not the one they were assigned
    under (a draft, a past plan) are placed in its cells by their points.

    See :mod:`gridsvc.domain.reports.staffing` for every definition.

    Raises
    ------
    NotFound
        No plan ``plan_id``, or no plan in effect on ``as_of``.
    """
    plan_id = current_plan(engine, as_of) if plan_id is None else known_plan(engine, plan_id)
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


def staffing_report(engine: Engine, as_of: date | None = None, *, plan_id: int | None = None
                    ) -> dict[str, Any]:
    """The staffing report of plan ``plan_id`` (default: the one in effect on ``as_of``) as
    JSON-able data.

    Returns
    -------
    dict
        ``plan_id``, ``standard`` (the thresholds used), ``summary``, and the rows of each level:
        ``beats``, ``grids``, ``offices``, ``stations``.
    """
    plan_id, tables, summary = staffing_tables(engine, as_of, plan_id=plan_id)
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
