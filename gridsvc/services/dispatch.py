"""The dispatcher's answer: from what a caller said to the house, its cells and who to call.

A call says "东灌底村203号着火了". :class:`DispatchService` parses it against the address register
(:mod:`gridsvc.domain.address.parser`), and for the best match answers in one go: where the house is
(CGCS2000, and GCJ-02 for web maps), its grid, beat, village and town, the officers and grid
workers with their phones, the nearest police office, whether it is a rental house, and the
incidents at or near it in the last 90 days. The register lives in memory and is rebuilt when
the data changes (the lookup context's versions say when).

A caller with a scope gets the register of the houses in it (one per scope, kept for the
:data:`BOOKS` most recent scopes): a house outside it is never a candidate, as the ``house``
policy would hide it; the people and incidents of the answer are scoped the same way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from sqlalchemy import Engine

from gridsvc.db import dispatch as repo
from gridsvc.domain.accounts.scope import EVERYTHING, Scope
from gridsvc.domain.address.parser import AddressBook
from gridsvc.domain.geo.coords import wgs84_to_gcj02
from gridsvc.services.lookup import LookupService

#: Incidents this close to the house (metres) and this recent (days) come with the answer.
NEAR_M = 100.0
RECENT_DAYS = 90
#: Registers kept (the whole one and those of the most recent scopes).
BOOKS = 32
#: A house record's cells, under the names a scope tests (``rls.scope_predicate``'s columns).
_CELLS = {"town_id": "town_id", "village_id": "cell_village_id", "grid_id": "grid_id",
          "station_id": "station_id", "beat_id": "beat_id"}


def _cells(h: dict[str, Any]) -> dict[str, Any]:
    return {column: h[key] for column, key in _CELLS.items()}


class DispatchService:
    """Parses callers' addresses against the register of the plan in effect."""

    def __init__(self, engine: Engine, lookup: LookupService) -> None:
        self.engine = engine
        self.lookup = lookup
        self._records: tuple[tuple[int, tuple[int, int]], dict[str, list]] | None = None
        self._books: OrderedDict[tuple, tuple[AddressBook, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def _register(self, scope: Scope) -> tuple[AddressBook, dict[str, Any], dict[str, Any]]:
        ctx = self.lookup.context(self.lookup.plan_for(None))
        key = (ctx.plan_id, ctx.versions)
        with self._lock:
            if self._records is None or self._records[0] != key:
                with self.engine.connect() as conn:
                    self._records = (key, repo.address_records(conn, ctx.plan_id))
                self._books.clear()
            records = self._records[1]
            found = self._books.get((key, scope.key))
            if found is None:
                houses = [h for h in records["houses"] if scope.covers_row(_cells(h))]
                found = (AddressBook.from_records(records["villages"], records["towns"], houses),
                         {h["id"]: h for h in houses})
                self._books[(key, scope.key)] = found
                while len(self._books) > BOOKS:
                    self._books.popitem(last=False)
            self._books.move_to_end((key, scope.key))
        return found[0], found[1], ctx.labels

    def houses_in(self, scope: Scope) -> set[str]:
        """Business ids of the houses a dispatch for ``scope`` can answer with."""
        return set(self._register(scope)[1])

    def dispatch(self, q: str, limit: int = 5, scope: Scope = EVERYTHING) -> dict[str, Any]:
        """The best match for what the caller said, with everything a dispatcher needs, and
        the other candidates (ranked, with scores and the reasons for them). Only houses,
        people and incidents in ``scope`` are considered."""
        book, houses, labels = self._register(scope)
        found = book.parse(q, limit=limit)
        candidates = [self._candidate(c, houses, labels) for c in found]
        best = None
        if found and found[0].house_id is not None:
            best = {**candidates[0], **self._details(houses[found[0].house_id], scope)}
        return {"query": q, "best": best, "candidates": candidates}

    @staticmethod
    def _candidate(c: Any, houses: dict[str, Any], labels: dict[Any, Any]) -> dict[str, Any]:
        village = labels.get(("village", c.village_id)) if c.village_id else None
        out: dict[str, Any] = {"score": round(float(c.score), 3), "reasons": list(c.reasons),
                               "village": village, "house_id": c.house_id}
        if c.house_id is not None:
            h = houses[c.house_id]
            out["address"] = _address(village["name"] if village else "", h)
            gx, gy = wgs84_to_gcj02(np.array([h["lon"]]), np.array([h["lat"]]))
            out["point"] = {"cgcs2000": [h["lon"], h["lat"]],
                            "gcj02": [round(float(gx[0]), 7), round(float(gy[0]), 7)]}
        return out

    def _details(self, h: dict[str, Any], scope: Scope) -> dict[str, Any]:
        where = self.lookup.lookup(h["lon"], h["lat"], "4490", scope=scope)
        with self.engine.connect() as conn:
            recent = [{k: v for k, v in i.items() if k not in _CELLS}
                      for i in repo.incidents_near(conn, h["lon"], h["lat"], NEAR_M, RECENT_DAYS)
                      if scope.covers_row(i)]
        return {
            "cells": where["cells"], "people": where["people"],
            "nearest_office": where["nearest_office"],
            "rental": {"is_rental": h["is_rental"], "stars": h["rental_stars"]},
            "households": h["households"], "registered": h["registered"],
            "residents": h["residents"], "floating": h["floating"],
            "aliases": [a for a in (h["aliases"] or "").split("|") if a],
            "incidents_recent": {"within_m": NEAR_M, "days": RECENT_DAYS, "items": [
                {**i, "occurred_at": i["occurred_at"].isoformat(),
                 "distance_m": round(float(i["distance_m"]), 1)} for i in recent]},
        }


def _address(village: str, h: dict[str, Any]) -> str:
    """The address as written on the door plate: 东灌底村203号, 203-1号, 7幢2单元802室."""
    text = f"{village}{h['number']}"
    if h.get("sub_number"):
        text += f"-{h['sub_number']}"
    text += "号"
    for key, unit in (("building", "幢"), ("unit", "单元"), ("room", "室")):
        if h.get(key):
            text += f"{h[key]}{unit}"
    return text
