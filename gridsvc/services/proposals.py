"""Balanced proposals: divide a village or town into N grids, or a station or town area into
N beats, with households balanced within ±10%, written as a new draft plan for planners to review.

What is divided, and into what:

======================  ====================================================================
``village`` -> grids    the village cut into house-cluster pieces along roads
                        (:func:`~gridsvc.domain.districting.blocks.house_blocks`); its grids are
                        replaced by the N new ones
``town`` -> grids       a grid stays in its village (DESIGN.md), so the N grids are first shared
                        among the town's villages (:func:`~gridsvc.domain.districting.apportion`,
                        Huntington-Hill, at least one each), then each village is divided as
                        above, held to the town's band; all the villages' grids are replaced
``station`` -> beats    the villages in the station's area as blocks (a village is never
                        split); the station's beats are replaced
``town`` -> beats       the town's villages as blocks; the new beats belong to the station that
                        covers most of the town, and every beat reaching into the town loses
                        that part (a beat left with nothing is dropped)
======================  ====================================================================

The regions come from :func:`gridsvc.domain.districting.regions.partition`; when ±10% cannot be met
(a village bigger than a beat may be, a village too small or too big for whole grids of the
town's mean) the best partition is still written, and the summary says why
(``within_tolerance`` false, ``reasons`` naming the village).

A ``budget_s`` bounds the search (the web service passes its setting): once it is spent no
new start is tried in any part, the best partition found is answered, and the summary says so
(``stopped_early`` true, with a reason). The districting search is the only part whose time grows
with ``n`` beyond reason; reading houses and writing the draft grow with the parent's size.

The draft is a copy of the plan in effect with the replaced cells left out and the new ones
added (new business ids and codes continuing the parent's sequence, numbered west to east, north
to south), in one transaction with a ``plan.propose`` audit entry. Nothing else moves: houses and
the other point objects keep their cells until the draft is activated.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import audit
from gridsvc.db import plans as plans_repo
from gridsvc.db import proposals as repo
from gridsvc.domain.districting import blocks as blocks_mod
from gridsvc.domain.districting.regions import TOLERANCE, apportion, partition
from gridsvc.domain.plans.plan_edits import Identity, next_identity
from gridsvc.errors import InvalidInput, NotFound, Problem
from gridsvc.services.assignment import current_plan

#: Which parents each kind of proposal may divide.
PARENTS = {"grid": ("village", "town"), "beat": ("station", "town")}
#: Most regions one proposal may make.
MAX_N = 200
#: A part of a clipped beat thinner than this on average (area / perimeter, metres) is a sliver
#: left by boundaries that almost coincide, not a real remainder.
SLIVER_WIDTH_M = 1.0


def propose(engine: Engine, *, parent_kind: str, parent_id: str, n: int, kind: str = "grid",
            actor: str, seed: int = 0, commit: bool = True,
            budget_s: float | None = None) -> dict[str, Any]:
    """Propose ``n`` balanced cells of ``kind`` dividing a parent, as a new draft plan.

    Parameters
    ----------
    parent_kind, parent_id
        What to divide: a ``village`` (into grids), a ``town`` (into grids or beats), a
        ``station`` (into beats).
    n
        How many cells, 1..:data:`MAX_N`, at most the number of blocks, and for a town's grids
        at least its number of villages.
    kind
        ``"grid"`` or ``"beat"``.
    actor
        Who the plan and the audit log name.
    seed
        Seed of the search; the same data and seed give the same proposal.
    commit
        Write the draft; False only computes (a dry run, ``plan_id`` None). Concurrent
        proposals of one kind are written one after the other (an advisory lock), so new ids
        never clash.
    budget_s
        Seconds the search may take (None: no limit). When it runs out, the best proposal
        found so far is answered (and written, with ``commit``); the same seed may then give
        another proposal on a faster or idler machine.

    Returns
    -------
    dict
        ``plan_id, based_on_id, committed, parent {kind, id, name}, kind, n, seed, blocks,
        tolerance, mean, low, high, within_tolerance, max_deviation, stopped_early, reasons,
        boundary_m, along_roads_m, cells [{id, code, name, parent_id, households, residents,
        deviation, blocks}], replaced [ids], clipped [ids]``. A proposal outside the band is
        written too (``within_tolerance`` false, ``reasons`` say why): the planner decides.
        ``stopped_early``: the budget ended the search before every start was tried.

    Raises
    ------
    InvalidInput
        Unknown ``kind``, a parent kind the kind cannot divide (field ``parent_kind``), ``n``
        out of range, or no households in the parent.
    NotFound
        No plan in effect, or no such parent in it.
    """
    _check(parent_kind, kind, n)
    deadline = None if budget_s is None else time.monotonic() + budget_s
    plan_id = current_plan(engine)
    if not commit:
        with engine.connect() as conn:
            return _propose(conn, plan_id, parent_kind, parent_id, n, kind, seed, deadline)[0]
    with engine.begin() as conn:
        repo.lock_new_ids(conn, kind)
        summary, job = _propose(conn, plan_id, parent_kind, parent_id, n, kind, seed, deadline)
        summary["plan_id"] = _write(conn, plan_id, summary, job, actor)
        summary["committed"] = True
        audit.record(conn, actor=actor, action="plan.propose", object_kind="plan",
                     object_id=str(summary["plan_id"]),
                     before={"plan_id": plan_id, "replaced": summary["replaced"],
                             "clipped": summary["clipped"]},
                     after=summary)
    return summary


def _check(parent_kind: str, kind: str, n: int) -> None:
    problems = []
    if kind not in PARENTS:
        problems.append(Problem(f"must be one of {', '.join(PARENTS)}", field="kind"))
    elif parent_kind not in PARENTS[kind]:
        problems.append(Problem(
            f"{kind}s are proposed for a {' or '.join(PARENTS[kind])}, not a {parent_kind!r}",
            field="parent_kind"))
    if not 1 <= n <= MAX_N:
        problems.append(Problem(f"must be between 1 and {MAX_N}", field="n"))
    if problems:
        raise InvalidInput(problems)


def _propose(conn: Connection, plan_id: int, parent_kind: str, parent_id: str, n: int,
             kind: str, seed: int, deadline: float | None
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The proposal and what writing it needs (the new cells' rows, the cells left out)."""
    parent = repo.cell(conn, plan_id, parent_kind, parent_id)
    if parent is None:
        raise NotFound(f"no {parent_kind} with id {parent_id!r} in the plan in effect "
                       f"(plan {plan_id})")
    rng = np.random.default_rng(seed)
    scale = blocks_mod.metres_scale(shapely.centroid(parent["geom"]).y)
    clipped: list[dict[str, Any]] = []
    if kind == "grid":
        villages = ([parent] if parent_kind == "village" else
                    repo.cells(conn, plan_id, "village", parent_id=parent_id))
        if not villages:
            raise InvalidInput([Problem(f"town {parent_id} has no villages to divide",
                                        field="parent_id")])
        houses = [repo.houses_in(conn, v["geom"]) for v in villages]
        shares = [n] if parent_kind == "village" else apportion(
            np.array([sum(h["households"]) for h in houses]), n).tolist()
        total = sum(sum(h["households"]) for h in houses)
        band = (total / n * (1 - TOLERANCE), total / n * (1 + TOLERANCE))
        parts = [_part(conn, plan_id, v, v, h, k, "grid", scale, rng, band, deadline)
                 for v, h, k in zip(villages, houses, shares, strict=True)]
        replaced = [c["business_id"] for v in villages
                    for c in repo.cells(conn, plan_id, "grid", parent_id=v["business_id"])]
    else:
        owner, replaced, clipped = _beats_to_replace(conn, plan_id, parent_kind, parent, scale)
        parts = [_part(conn, plan_id, parent, owner, repo.houses_in(conn, parent["geom"]), n,
                       "beat", scale, rng, None, deadline)]
    rows = [row for part in parts for row in part["rows"]]
    counts = [c for part in parts for c in part["counts"]]
    households = np.array([r["households"] for r in rows], dtype=float)
    mean = households.sum() / n
    low, high = mean * (1 - TOLERANCE), mean * (1 + TOLERANCE)
    deviation = households / mean - 1.0 if mean > 0 else np.zeros(n)
    reasons = [reason for part in parts for reason in part["reasons"]]
    outside = [r["business_id"] for r in rows if not low <= r["households"] <= high]
    if outside and not reasons:
        reasons.append(f"{', '.join(outside)} outside {low:.0f}..{high:.0f} households: no "
                       "better partition found")
    stopped = any(p["result"].stopped_early for p in parts)
    if stopped:
        reasons.append("the search stopped at its time budget: this is the best proposal "
                       "found by then (a smaller n, or fewer blocks, leaves it time to finish)")
    summary = {
        "plan_id": None, "based_on_id": plan_id, "committed": False,
        "parent": {"kind": parent_kind, "id": parent_id, "name": parent["name"]},
        "kind": kind, "n": n, "seed": seed, "blocks": sum(p["blocks"] for p in parts),
        "tolerance": TOLERANCE, "mean": round(mean, 1), "low": round(low, 1),
        "high": round(high, 1), "within_tolerance": not outside,
        "max_deviation": round(float(np.abs(deviation).max()), 4),
        "stopped_early": stopped, "reasons": reasons,
        "boundary_m": round(sum(p["result"].boundary_m for p in parts), 1),
        "along_roads_m": round(sum(p["result"].along_roads_m for p in parts), 1),
        "cells": [{"id": r["business_id"], "code": r["code"], "name": r["name"],
                   "parent_id": r["parent_id"], "households": r["households"],
                   "residents": r["residents"], "deviation": round(float(deviation[i]), 4),
                   "blocks": counts[i]} for i, r in enumerate(rows)],
        "replaced": replaced, "clipped": [c["business_id"] for c in clipped],
    }
    return summary, {"rows": rows, "replaced": replaced, "clipped": clipped}


def _part(conn: Connection, plan_id: int, area: dict[str, Any], owner: dict[str, Any],
          houses: dict[str, list], k: int, kind: str, scale: tuple[float, float],
          rng: np.random.Generator, band: tuple[float, float] | None,
          deadline: float | None) -> dict[str, Any]:
    """``area`` divided into ``k`` new cells of ``owner``: ``rows`` (ready to insert), the
    districting ``result``, ``blocks`` (how many), ``counts`` (blocks per new cell) and
    ``reasons`` (why not balanced). The search stops at ``deadline`` (``time.monotonic``)."""
    geom = area["geom"]
    xy = np.column_stack([houses["lon"], houses["lat"]]).reshape(-1, 2)
    households = np.asarray(houses["households"], dtype=np.int64)
    roads = repo.roads_in(conn, geom)
    if k == 1:  # the whole area is the one new cell: nothing to cut
        blocks = blocks_mod.Blocks([area["business_id"]], np.array([geom], dtype=object),
                                   np.array([households.sum()], dtype=np.int64),
                                   np.zeros(len(xy), dtype=np.int64))
    elif kind == "grid":
        blocks = blocks_mod.house_blocks(geom, xy, households, roads, scale=scale,
                                         parent_id=area["business_id"])
    else:
        villages = repo.cells(conn, plan_id, "village", within=geom)
        blocks = blocks_mod.area_blocks(geom, [v["geom"] for v in villages],
                                        [v["business_id"] for v in villages], xy, households,
                                        parent_id=area["business_id"])
    graph = blocks_mod.block_graph(blocks, roads, scale=scale)
    result = partition(graph, k, rng=rng, tolerance=TOLERANCE, band=band, deadline=deadline)
    geoms = blocks_mod.region_geometries(blocks, result.labels, k)
    inside = blocks.house_block >= 0
    residents = np.bincount(result.labels[blocks.house_block[inside]], minlength=k,
                            weights=np.asarray(houses["residents"], dtype=float)[inside])
    counts = np.bincount(result.labels, minlength=k)
    rows = [{"business_id": c.business_id, "code": c.code, "name": c.name,
             "parent_id": owner["business_id"], "households": int(result.households[r]),
             "residents": int(residents[r]), "geom": geoms[r], "attrs": {"proposal": True}}
            for r, c in enumerate(_identities(conn, kind, owner, k))]
    reasons = list(result.reasons)
    if band is not None:  # one village of a town: say which, and when its share is the cause
        total = int(households.sum())
        reasons = [f"village {area['business_id']}: {r}" for r in reasons]
        if not band[0] <= total / k <= band[1]:
            reasons = [f"village {area['business_id']} ({area['name']}) has {total} households "
                       f"for {k} grid(s), about {total / k:.0f} each, outside {band[0]:.0f}.."
                       f"{band[1]:.0f}: a grid stays in its village"]
    return {"rows": rows, "result": result, "blocks": len(blocks), "reasons": reasons,
            "counts": counts.tolist()}


def _identities(conn: Connection, kind: str, owner: dict[str, Any], n: int
                ) -> list[Identity]:
    """Ids, codes and names for ``n`` new children of ``owner``, continuing its sequence (as a
    draft's ``create`` edit numbers a new cell)."""
    siblings = plans_repo.siblings(conn, kind, owner["business_id"])
    taken = plans_repo.taken_ids(conn, kind)
    parent = {"id": owner["business_id"], "code": owner["code"], "name": owner["name"]}
    out = []
    for _ in range(n):
        ident = next_identity(kind, parent, siblings, taken)
        taken.add(ident.business_id)
        siblings.append((ident.business_id, ident.code))
        out.append(ident)
    return out


def _beats_to_replace(conn: Connection, plan_id: int, parent_kind: str,
                      parent: dict[str, Any], scale: tuple[float, float]
                      ) -> tuple[dict[str, Any], list[str], list[dict[str, Any]]]:
    """The station new beats belong to, the beats dropped, and the beats that keep a part."""
    geom = parent["geom"]
    if parent_kind == "station":
        beats = repo.cells(conn, plan_id, "beat", parent_id=parent["business_id"])
        return parent, [b["business_id"] for b in beats], []
    stations = repo.cells(conn, plan_id, "station", within=geom)
    if not stations:
        raise InvalidInput([Problem(f"no police station covers town {parent['business_id']}: "
                                    "beats need a station", field="parent_id")])
    station = max(stations, key=lambda s: (shapely.area(shapely.intersection(s["geom"], geom)),
                                           s["business_id"]))
    dropped, clipped = [], []
    for beat in repo.cells(conn, plan_id, "beat", within=geom):
        rest = _without_slivers(shapely.difference(beat["geom"], geom), scale)
        if rest is None:
            dropped.append(beat["business_id"])
        else:
            clipped.append({**beat, "geom": rest})
    return station, dropped + [c["business_id"] for c in clipped], clipped


def _without_slivers(geom: shapely.Geometry, scale: tuple[float, float]
                     ) -> shapely.Geometry | None:
    """The polygon parts of ``geom`` that are not slivers, or None when nothing is left."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    sx, sy = scale

    def width(p: shapely.Geometry) -> float:
        metric = shapely.transform(p, lambda c: c * np.array([sx, sy]))
        return metric.area / max(metric.length, 1e-9)

    keep = [p for p in parts if width(p) >= SLIVER_WIDTH_M]
    return shapely.MultiPolygon(keep) if keep else None


def _write(conn: Connection, based_on: int, summary: dict[str, Any], job: dict[str, Any],
           actor: str) -> int:
    kind, parent = summary["kind"], summary["parent"]
    plan_id = area_repo.create_plan(
        conn, name=f"proposal: {parent['name']} into {summary['n']} {kind}s", status="draft",
        based_on_id=based_on, source="proposal", created_by=actor,
        note=(f"balanced proposal (seed {summary['seed']}): households {summary['mean']:.0f} "
              f"per {kind} ±{summary['tolerance']:.0%}, "
              f"{'within' if summary['within_tolerance'] else 'NOT within'} tolerance, "
              f"largest deviation {summary['max_deviation']:.1%}"))
    plans_repo.copy_areas(conn, based_on, plan_id)
    plans_repo.delete_cells(conn, plan_id, kind, job["replaced"])
    clipped = []
    for c in job["clipped"]:
        houses = repo.houses_in(conn, c["geom"])
        clipped.append({"business_id": c["business_id"], "code": c["code"], "name": c["name"],
                        "parent_id": c["parent_id"], "households": sum(houses["households"]),
                        "residents": sum(houses["residents"]), "attrs": {"clipped": True},
                        "geom": c["geom"]})
    area_repo.insert_areas(conn, plan_id, kind, [*job["rows"], *clipped])
    return plan_id
