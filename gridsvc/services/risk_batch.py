"""Risk colours (分色预警) of every grid from a file of incidents, on one machine or a cluster.

The risk page (:mod:`gridsvc.services.maps`) colours the grids of one county from the incidents in
its database. For a province, or for years of exported incidents, the counting is the work:
each part of the (Geo)Parquet input is assigned to the grids of the plan (the same kernel as
``gridsvc assign``, :func:`gridsvc.domain.assign.kernel.count_part`) and counted per grid, on a
Dask cluster when a :class:`~gridsvc.services.assign_dask.DaskRunner` is given; the counts are
summed, and each grid is coloured by incidents per 1,000 households
(:func:`gridsvc.domain.risk.risk_levels`), the households from the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine

from gridsvc.domain.assign.kernel import bounds_of, count_part
from gridsvc.domain.geo.coords import parse_input_crs
from gridsvc.domain.io.points_io import Points, PointsWriter
from gridsvc.domain.reports import risk
from gridsvc.errors import InvalidInput, Problem
from gridsvc.services.assign_files import (
    PLAN_CRS,
    Job,
    LocalRunner,
    Progress,
    Runner,
    dataset_files,
    plan_targets,
    source_crs,
)


def count_kernel(job: Job, points: Points, first_row: int) -> np.ndarray:
    """Incidents per grid of one part (a module-level function: Dask workers import it)."""
    return count_part(points, job.targets[0], job.source, job.target_crs, job.bounds,
                      first_row=first_row, threads=job.threads)


def risk_colours(engine: Engine, incidents: Path, output: Path, *, red: float, orange: float,
                 plan_id: int | None = None, x: str | None = None, y: str | None = None,
                 crs: str | None = None, runner: Runner | None = None,
                 progress: Progress | None = None) -> dict[str, Any]:
    """Colour every grid of a plan (default: in effect today) by the incidents of a file.

    Parameters
    ----------
    incidents
        Points, as for ``gridsvc assign`` (a (Geo)Parquet file or folder on Dask).
    output
        ``.csv`` or ``.parquet``: one row per grid: ``grid_id, name, incidents, households,
        rate`` (per 1,000 households, empty without households) and ``colour`` (red, orange,
        green, or none without households).
    red, orange
        Thresholds in incidents per 1,000 households (red above orange, both positive).

    Returns
    -------
    dict
        ``plan_id``, ``incidents`` (counted in a grid), ``grids`` and ``colours`` (grids
        per colour).

    Raises
    ------
    InvalidInput
        Bad thresholds, bad rows (named in the whole input); nothing is written.
    NotFound
        No plan in effect, or a plan without grids.
    """
    from gridsvc.db import maps as maps_repo
    from gridsvc.services.assignment import current_plan

    risk.check_thresholds([red, orange], ["red", "orange"])
    plan = plan_id if plan_id is not None else current_plan(engine)
    targets = plan_targets(engine, ["grid"], None, plan)
    runner = runner or LocalRunner()
    head = runner.open(incidents, x, y)
    source = source_crs(head, parse_input_crs(crs) if crs is not None else None,
                        path=dataset_files(incidents)[0])
    job = Job((targets[0],), source, PLAN_CRS, bounds_of(targets), "csv", x, y)
    ids = targets[0].layer.ids
    counts = np.zeros(len(ids), dtype=np.int64)
    for done, part in enumerate(runner.run(job, head, incidents, kernel=count_kernel), 1):
        counts += part
        if progress is not None:
            progress(done, max(done, runner.parts))
    with engine.connect() as conn:
        grids = {r["id"]: r for r in maps_repo.house_totals_only(conn, plan, "grid")}
    missing = [i for i in ids.tolist() if i not in grids]
    if missing:
        raise InvalidInput([Problem(f"grid {missing[0]} of plan {plan} has no row")])
    households = np.array([grids[i]["households"] or 0 for i in ids.tolist()], dtype=float)
    rate = risk.incident_rate(counts, households)
    colours = risk.risk_levels(rate, red, orange)
    table = pa.table({
        "grid_id": pa.array(ids.tolist(), pa.string()),
        "name": pa.array([grids[i]["name"] for i in ids.tolist()], pa.string()),
        "incidents": pa.array(counts),
        "households": pa.array(households.astype(np.int64)),
        "rate": pa.array(np.round(rate, 3), mask=np.isnan(rate)),
        "colour": pa.array(colours, pa.string()),
    })
    with PointsWriter(output) as writer:
        writer.write(table)
    return {"plan_id": plan, "incidents": int(counts.sum()), "grids": len(ids),
            "colours": {c: colours.count(c) for c in (*risk.RISK_LEVELS, "none")}}
