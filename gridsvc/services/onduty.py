"""Who is on duty: answered from memory for now, from the stored history for any instant.

:class:`DutyService` holds the duty intervals of a window around now (and the groups and
people) in memory, like the lookup, rebuilt when the data changes; :func:`on_duty_by_beat`
answers for every beat at once from the database (maps, reports). The rules of the answer are
in :mod:`gridsvc.domain.duty.onduty`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import duty as repo
from gridsvc.db import objects
from gridsvc.domain.accounts.scope import Scope
from gridsvc.domain.duty import onduty
from gridsvc.errors import NotFound
from gridsvc.services.assignment import locate
from gridsvc.services.availability import NOTHING
from gridsvc.services.lookup import LookupContext, LookupService
from gridsvc.settings import DutySettings


@dataclass
class _Snapshot:
    """What on-duty answers need, in memory."""

    board: onduty.DutyBoard
    groups: dict[int, dict[str, Any]]
    people: dict[int, dict[str, Any]]
    beat_people: dict[str, list[int]]
    version: int
    checked_at: float = field(default_factory=time.monotonic)


class DutyService:
    """Answers "who is on duty" from memory, like the lookup; past instants from the database.

    The snapshot (intervals of ``settings.memory_hours`` either side of now, groups and people)
    is rechecked at most once every ``recheck_seconds`` against the data version (the newest
    audit entry: every duty change is audited), and rebuilt when it moved or when now has
    come within a quarter of the window of its edge.
    """

    def __init__(self, engine: Engine, lookup: LookupService, settings: DutySettings,
                 recheck_seconds: float = 1.0) -> None:
        self.engine = engine
        self.lookup = lookup
        self.settings = settings
        self.tz = ZoneInfo(settings.zone)
        self.recheck_seconds = recheck_seconds
        self._snapshot: _Snapshot | None = None
        self._orders: dict[tuple[int, tuple[int, int]], dict[str, list[str]]] = {}
        #: (plan, versions, station, beat) -> [snapshot, steady from, steady until,
        #: answer, the answer without phones (made when first asked)].
        self._answers: dict[tuple, list[Any]] = {}
        self._lock = threading.Lock()

    def snapshot(self, version: int | None = None) -> _Snapshot:
        """The snapshot, rebuilt when the data ``version`` moved (read from the database when
        None) or now nears the edge of its window.

        The lookup's context carries the data version it checked within the last second: the
        hot path passes it on, so a question costs no database round trip of its own (one
        blocking the event loop each second, which is what a p99 sees)."""
        snap = self._snapshot
        mono = time.monotonic()
        if snap is not None and mono - snap.checked_at < self.recheck_seconds and (
                version is None or version == snap.version):
            return snap
        now = datetime.now(self.tz)
        margin = timedelta(hours=self.settings.memory_hours / 2)
        if version is None:
            # While the database is away the board held answers (as the lookup's cells do).
            version = self.lookup.watch.read(self._data_version,
                                             snap.version if snap is not None else NOTHING)
        if snap is not None and snap.version == version and \
                snap.board.start + margin <= now < snap.board.end - margin:
            snap.checked_at = mono
            return snap
        with self._lock:
            snap = self._build(now, version)
            self._snapshot = snap
        return snap

    def _data_version(self) -> int:
        with self.engine.connect() as conn:
            return objects.data_version(conn)

    def _build(self, now: datetime, version: int) -> _Snapshot:
        half = timedelta(hours=self.settings.memory_hours)
        start, end = now - half, now + half
        with self.engine.connect() as conn:
            board = onduty.DutyBoard.build(repo.intervals_between(conn, start, end), start, end)
            groups = {g["id"]: g for g in repo.groups(conn)}
            people = repo.people(conn)
        return _Snapshot(board, groups, people, _by_beat(people), version)

    def _beat_order(self, ctx: LookupContext) -> dict[str, list[str]]:
        key = (ctx.plan_id, ctx.versions)
        found = self._orders.get(key)
        if found is None:
            beats, stations = ctx.layers.layers.get("beat"), ctx.layers.layers.get("station")
            if beats is None or stations is None:
                return {}
            centres = shapely.get_coordinates(shapely.point_on_surface(beats.index.geoms))
            of = [stations.index.assign_one(float(x), float(y)) for x, y in centres]
            found = onduty.beat_order(list(beats.ids), beats.index.geoms,
                                      [stations.ids[i] if i >= 0 else None for i in of])
            self._orders = {key: found}
        return found

    def _board_at(self, snap: _Snapshot, station: str | None, at: datetime) -> onduty.DutyBoard:
        if snap.board.covers(at) or station is None:
            return snap.board
        with self.engine.connect() as conn:
            found = repo.intervals_at(conn, at, station)
        return onduty.DutyBoard.build(found, at, at + timedelta(microseconds=1))

    def for_scope(self, found: dict[str, Any], scope: Scope | None) -> dict[str, Any]:
        """An on-duty answer without the people outside ``scope`` (None: everyone), by the
        lookup's rule (:meth:`LookupService.visible_people`; see
        :func:`gridsvc.domain.duty.onduty.only_visible`)."""
        if scope is None or scope.everything:
            return found
        return onduty.only_visible(found, self.lookup.visible_people(scope))

    def block(self, ctx: LookupContext, covered: dict[str, str | None],
              scope: Scope | None = None, at: datetime | None = None,
              phones: bool = True) -> dict[str, Any]:
        """The "on duty" block of the cells ``covered`` at ``at`` (now when None), without
        the people outside ``scope`` (None: everyone) and, unless ``phones``, with every phone
        None: the hook the lookup and the dispatcher call."""
        at = (at or datetime.now(self.tz)).astimezone(self.tz)
        snap = self.snapshot(ctx.versions[1])
        station, beat = covered.get("station"), covered.get("beat")
        key = (ctx.plan_id, ctx.versions, station, beat)
        in_memory = snap.board.covers(at)
        if in_memory:
            # The answer holds until an interval starts or ends: most questions are answered
            # by stamping the instant on the answer already made (and its phone-free copy,
            # made once: hiding phones per question cost more than the answer).
            hit = self._answers.get(key)
            t = at.timestamp()
            if hit is not None and hit[0] is snap and hit[1] <= t < hit[2]:
                if not phones and hit[4] is None:
                    hit[4] = onduty.without_phones(hit[3])
                return self.for_scope({**hit[3 if phones else 4], "at": at.isoformat()}, scope)
        order = self._beat_order(ctx).get(beat, [beat]) if beat else []
        found = onduty.answer(self._board_at(snap, station, at), station, beat, at,
                              snap.groups, snap.people, snap.beat_people, order)
        if in_memory:
            lo, hi = snap.board.steady(at)
            if len(self._answers) > 10_000:  # bound memory: cells of a city, not more
                self._answers = {}
            self._answers[key] = [snap, lo, hi, found, None]
        return self.for_scope(found if phones else onduty.without_phones(found), scope)

    def on_duty(self, lon: float, lat: float, crs: str = "4326",
                at: datetime | None = None, phones: bool = True) -> dict[str, Any]:
        """Who is on duty at a point at ``at`` (now when None): the station's main-duty group,
        the beat's officers with whether they are on duty, and who covers the beat (every
        phone None unless ``phones``).

        Raises
        ------
        InvalidInput
            Bad coordinates (as :func:`gridsvc.services.assignment.locate`).
        NotFound
            No plan in effect on the day of ``at``.
        """
        at = (at or datetime.now(self.tz)).astimezone(self.tz)
        ctx = self.lookup.context(self.lookup.plan_for(at.date()))
        x, y, covered = locate(lon, lat, crs, ctx.layers)
        return {"query": {"lon": lon, "lat": lat, "lon_cgcs2000": round(x, 8),
                          "lat_cgcs2000": round(y, 8)},
                "plan_id": ctx.plan_id, "cells": {k: covered.get(k) for k in ("station", "beat")},
                **self.block(ctx, covered, at=at, phones=phones)}

    def on_duty_cell(self, kind: str, cell_id: str, at: datetime | None = None,
                     phones: bool = True) -> dict[str, Any]:
        """The same for a cell: a station, a beat, or a grid, village or town (asked at a
        point inside it, so a cell cut by beats answers for the beat at that point).

        Raises
        ------
        NotFound
            No such cell in the plan in effect on the day of ``at``.
        """
        at = (at or datetime.now(self.tz)).astimezone(self.tz)
        ctx = self.lookup.context(self.lookup.plan_for(at.date()))
        layer = ctx.layers.layers.get(kind)
        hit = np.flatnonzero(layer.ids == cell_id) if layer is not None else []
        if not len(hit):
            raise NotFound(f"no {kind} {cell_id!r} in plan {ctx.plan_id}")
        if kind == "station":
            covered: dict[str, str | None] = {"station": cell_id, "beat": None}
        else:
            point = shapely.point_on_surface(layer.index.geoms[hit[0]])
            covered = ctx.layers.assign_one(point.x, point.y)
        return {"query": {"cell_kind": kind, "cell_id": cell_id}, "plan_id": ctx.plan_id,
                "cells": {k: covered.get(k) for k in ("station", "beat")},
                **self.block(ctx, covered, at=at, phones=phones)}


def _by_beat(people: dict[int, dict[str, Any]]) -> dict[str, list[int]]:
    """Beat -> the pks of the people linked to it."""
    out: dict[str, list[int]] = {}
    for pk, p in people.items():
        for beat in p["beats"]:
            out.setdefault(beat, []).append(pk)
    return out


#: Digest of a plan's beat and station boundaries -> (beat ids, their stations, each beat's
#: order): kept between maps (ordering a city's 2,000 beats takes seconds; reading and hashing
#: their boundaries, milliseconds). Keyed by the boundaries themselves, so a redrawn plan, or
#: another database, never gets another's order; cells are not scoped, so one entry serves
#: every caller.
_BEAT_ORDERS: dict[bytes, tuple[list[str], list[str | None], dict[str, list[str]]]] = {}
_BEAT_ORDERS_LOCK = threading.Lock()


def _beats_of(conn: Any, plan_id: int) -> tuple[list[str], list[str | None],
                                                 dict[str, list[str]]]:
    """The plan's beat ids, the station of each, and each beat's order (cached)."""
    beat_ids, beat_wkb = area_repo.area_geometries(conn, plan_id, "beat")
    station_ids, station_wkb = area_repo.area_geometries(conn, plan_id, "station")
    digest = hashlib.blake2b(digest_size=16)
    for part in (*beat_ids, *beat_wkb, "|", *station_ids, *station_wkb):
        digest.update(part.encode() if isinstance(part, str) else bytes(part))
    key = digest.digest()
    with _BEAT_ORDERS_LOCK:
        found = _BEAT_ORDERS.get(key)
    if found is not None:
        return found
    beats = shapely.from_wkb(np.array(beat_wkb, dtype=object))
    stations = shapely.from_wkb(np.array(station_wkb, dtype=object))
    inner = shapely.point_on_surface(beats)
    station_of: list[str | None] = []
    for p in inner:
        hit = np.flatnonzero(shapely.covers(stations, p)) if len(stations) else []
        station_of.append(station_ids[hit[0]] if len(hit) else None)
    found = (list(beat_ids), station_of, onduty.beat_order(beat_ids, beats, station_of))
    with _BEAT_ORDERS_LOCK:
        if len(_BEAT_ORDERS) >= 8:  # a few plans (today's, drafts being looked at)
            _BEAT_ORDERS.clear()
        _BEAT_ORDERS[key] = found
    return found


def on_duty_by_beat(engine: Engine, at: datetime, plan_id: int) -> dict[str, dict[str, Any]]:
    """The "on duty" block of every beat of a plan at ``at``, from the database (maps and
    reports; the lookup's hot path is :class:`DutyService`)."""
    with engine.connect() as conn:
        board = onduty.DutyBoard.build(repo.intervals_at(conn, at), at,
                                       at + timedelta(microseconds=1))
        groups = {g["id"]: g for g in repo.groups(conn)}
        people = repo.people(conn)
        beat_ids, station_of, order = _beats_of(conn, plan_id)
    by_beat = _by_beat(people)
    # On the web service's engine ``people`` holds only those the caller's scope shows (the
    # person policy): members and leaders outside it are left out, as the lookup does.
    visible = {p["id"] for p in people.values()}
    return {b: onduty.only_visible(onduty.answer(board, s, b, at, groups, people, by_beat,
                                                 order.get(b, [b])), visible)
            for b, s in zip(beat_ids, station_of, strict=True)}
