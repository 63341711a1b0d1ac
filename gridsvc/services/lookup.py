"""Point lookup: the cells covering a point, who is responsible, and the nearest police office.

Everything a lookup needs is held in memory per plan (:class:`LookupContext`), so answering costs
no database round trip. The context is checked against the database at most once every
``recheck_seconds``: it is rebuilt when the plan's version or the data version (the newest audit
entry: every change is audited) has moved. While the database is away (:class:`DatabaseWatch`),
lookups go on with the plan and context they hold, and say so (``"degraded": true``); a date or
plan not yet held needs the database.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from pyproj import Geod
from sqlalchemy import Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import objects
from gridsvc.domain.accounts.scope import Scope
from gridsvc.domain.assign.layers import LayerSet
from gridsvc.domain.geo.coords import parse_input_crs
from gridsvc.errors import NotFound
from gridsvc.services.assignment import locate, plan_layers
from gridsvc.services.availability import NOTHING, DatabaseWatch

_GEOD = Geod(ellps="GRS80")  # CGCS2000 uses GRS80 (to 0.1 mm in the flattening)
#: Which roles answer for which kind of cell, in the order a dispatcher calls them.
RESPONSIBLE = {"beat": ("officer", "auxiliary"), "grid": ("grid_worker", "officer", "volunteer")}


@dataclass
class LookupContext:
    """What lookups of one plan need, in memory."""

    plan_id: int
    layers: LayerSet
    labels: dict[tuple[str, str], dict[str, Any]]
    people: dict[tuple[str, str], list[dict[str, Any]]]
    offices: list[dict[str, Any]]
    versions: tuple[int, int]
    #: Person business id -> the cells they are linked to (their scope test).
    links: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    #: ``(kind, id) -> parent id`` of the plan's cells.
    parents: dict[tuple[str, str], str | None] = field(default_factory=dict)
    checked_at: float = field(default_factory=time.monotonic)


class LookupService:
    """Answers lookups from an engine's database, caching a context per plan."""

    def __init__(self, engine: Engine, recheck_seconds: float = 1.0,
                 watch: DatabaseWatch | None = None) -> None:
        self.engine = engine
        self.recheck_seconds = recheck_seconds
        self.watch = watch or DatabaseWatch(engine)
        self._contexts: dict[int, LookupContext] = {}
        self._lock = threading.Lock()
        self._current: tuple[float, date, int] | None = None
        self._visible: dict[tuple, frozenset[str]] = {}
        #: More blocks of the answer: name -> f(context, covered cells, caller's scope), e.g.
        #: who is on duty; a block leaves out the people outside the scope, as ``people``.
        self.blocks: dict[str, Callable[[LookupContext, dict[str, Any], Scope | None], Any]] = {}

    def forget(self) -> None:
        """Recheck the plan in effect and every context on the next lookup (called after this
        process activated, retired or restored a plan; other processes see it within
        ``recheck_seconds``)."""
        self._current = None
        for ctx in list(self._contexts.values()):
            ctx.checked_at = -math.inf

    def plan_for(self, as_of: date | None) -> int:
        """The plan in effect on ``as_of`` (today when None), rechecked at most once a second."""
        today = date.today()
        day = as_of or today
        now = time.monotonic()
        fresh = self._current and now - self._current[0] < self.recheck_seconds
        if fresh and self._current[1] == day:
            return self._current[2]
        held = self._current[2] if self._current and self._current[1] == day else NOTHING
        plan_id = self.watch.read(lambda: self._plan_id(day), held)
        if plan_id is None:
            raise NotFound(f"no plan is in effect on {day}")
        self._current = (now, day, plan_id)
        return plan_id

    def context(self, plan_id: int) -> LookupContext:
        """The context of a plan, rebuilt when the database has changed since it was made."""
        ctx = self._contexts.get(plan_id)
        now = time.monotonic()
        if ctx is not None and now - ctx.checked_at < self.recheck_seconds:
            return ctx
        versions = self.watch.read(lambda: self._versions(plan_id),
                                   ctx.versions if ctx is not None else NOTHING)
        if ctx is not None and ctx.versions == versions:
            ctx.checked_at = now
            return ctx
        with self._lock:
            ctx = self._build(plan_id, versions)
            self._contexts[plan_id] = ctx
        return ctx

    def _plan_id(self, day: date) -> int | None:
        with self.engine.connect() as conn:
            return area_repo.current_plan_id(conn, day)

    def _versions(self, plan_id: int) -> tuple[int, int]:
        with self.engine.connect() as conn:
            return area_repo.plan_version(conn, plan_id) or 0, objects.data_version(conn)

    def _build(self, plan_id: int, versions: tuple[int, int]) -> LookupContext:
        layers = plan_layers(self.engine, plan_id)
        with self.engine.connect() as conn:
            labels = area_repo.area_labels(conn, plan_id)
            parents = area_repo.area_parents(conn, plan_id)
            links = objects.people_links(conn)
            offices = objects.offices(conn)
        people: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        linked: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for link in links:
            people[(link["kind"], link["area_id"])].append(
                {k: link[k] for k in ("id", "name", "role", "phone")})
            linked[link["id"]].append((link["kind"], link["area_id"]))
        return LookupContext(plan_id, layers, labels, dict(people), offices, versions,
                             links={k: tuple(v) for k, v in linked.items()}, parents=parents)

    def visible_people(self, scope: Scope) -> frozenset[str]:
        """Business ids of the people in ``scope``: one of their cells, or a cell above it
        under the plan in effect today, is the scope's (as the ``person`` policy). Kept per
        scope until the data or the plan changes.

        The test runs on today's plan whatever plan a lookup answers with, as the database's
        ``gridsvc_scope_cells()`` does.
        """
        ctx = self.context(self.plan_for(None))
        key = (ctx.plan_id, ctx.versions, scope.key)
        found = self._visible.get(key)
        if found is None:
            found = frozenset(person for person, links in ctx.links.items()
                              if scope.covers_links(links, ctx.parents))
            if len(self._visible) > 256:  # bounded: one entry per scope in use
                self._visible.clear()
            self._visible[key] = found
        return found

    def lookup(self, lon: float, lat: float, crs: str = "4326",
               as_of: date | None = None, scope: Scope | None = None) -> dict[str, Any]:
        """Everything a dispatcher needs about one point.

        Parameters
        ----------
        lon, lat
            The point, in ``crs`` (x first: longitude or easting).
        crs
            EPSG code, any CRS pyproj knows, ``gcj02`` or ``bd09``.
        as_of
            Answer with the boundaries in effect on this date (default today).
        scope
            The caller's scope: people outside it are left out (cells and offices are for
            every signed-in account). None: everyone (the command line, benchmarks).

        Returns
        -------
        dict
            ``query``, ``plan_id``, ``cells``, ``nearest_if_outside``, ``people``,
            ``nearest_office``, and ``degraded``: true while the database is away (the answer
            is from the plan and people held in memory, which may have changed since).

        Raises
        ------
        InvalidInput
            As :func:`gridsvc.services.assignment.locate`.
        sqlalchemy.exc.OperationalError
            (Or another of :data:`gridsvc.db.outage.UNAVAILABLE`) while the database is away,
            when the plan in effect on ``as_of`` is not held in memory.
        """
        ctx = self.context(self.plan_for(as_of))
        x, y, covered = locate(lon, lat, crs, ctx.layers)
        cells: dict[str, Any] = {}
        unassigned: dict[str, Any] = {}
        for kind, business_id in covered.items():
            cells[kind] = ctx.labels.get((kind, business_id)) if business_id else None
            if business_id is None:
                index, dist = ctx.layers.layers[kind].nearest(np.array([x]), np.array([y]))
                if index[0] >= 0:
                    nid = ctx.layers.layers[kind].ids[index[0]]
                    unassigned[kind] = {**ctx.labels.get((kind, nid), {"id": nid}),
                                        "distance_m": round(float(dist[0]), 1)}
        people = {kind: [p for p in ctx.people.get((kind, covered.get(kind)), [])
                         if p["role"] in roles] for kind, roles in RESPONSIBLE.items()}
        if scope is not None and not scope.everything:
            visible = self.visible_people(scope)
            people = {kind: [p for p in found if p["id"] in visible]
                      for kind, found in people.items()}
        return {
            "query": {"lon": lon, "lat": lat, "crs": parse_input_crs(crs).name,
                      "lon_cgcs2000": round(x, 8), "lat_cgcs2000": round(y, 8)},
            "plan_id": ctx.plan_id,
            "cells": cells,
            "nearest_if_outside": unassigned,
            "people": people,
            "nearest_office": self._nearest_office(ctx, x, y),
            **{name: block(ctx, covered, scope) for name, block in self.blocks.items()},
            "degraded": self.watch.down,
        }

    @staticmethod
    def _nearest_office(ctx: LookupContext, x: float, y: float) -> dict[str, Any] | None:
        """The office at the shortest geodesic distance (a town has a handful of offices:
        scalar calls are faster than numpy's set-up for so few)."""
        best, best_m = None, math.inf
        for office in ctx.offices:
            metres = _GEOD.inv(x, y, office["lon"], office["lat"])[2]
            if metres < best_m:
                best, best_m = office, metres
        return None if best is None else {**best, "distance_m": round(best_m, 1)}
