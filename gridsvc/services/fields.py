"""Responsibility fields (责任田): villages' complexity, officers' fields, and a fair share.

The score and the sharing are in :mod:`gridsvc.domain.duty.fields`; the weights and the
incident period come from the settings (``GRIDSVC_DUTY_WEIGHT_*``, ``..._COMPLEXITY_DAYS``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import audit
from gridsvc.db import duty as repo
from gridsvc.domain.duty.fields import MEASURES, complexity, share
from gridsvc.errors import InvalidInput, NotFound, Problem
from gridsvc.settings import DutySettings


def _weights(settings: DutySettings) -> dict[str, float]:
    return {k: float(getattr(settings, f"weight_{k}")) for k in MEASURES}


def _read(engine: Engine, settings: DutySettings, station_id: str,
          now: datetime | None) -> dict[str, Any]:
    now = now or datetime.now(ZoneInfo(settings.zone))
    since = now - timedelta(days=settings.complexity_days)
    with engine.connect() as conn:
        plan_id = area_repo.current_plan_id(conn, now.date())
        if plan_id is None or station_id not in area_repo.business_ids(conn, plan_id,
                                                                       "station"):
            raise NotFound(f"no station {station_id!r} in the plan in effect")
        villages = repo.station_villages(conn, plan_id, station_id, since)
        officers = repo.station_officers(conn, plan_id, station_id)
        held = repo.fields(conn, station_id)
    counts = {k: np.array([v[k] for v in villages], dtype=float) for k in MEASURES}
    scores = complexity(counts, _weights(settings)) if villages else np.zeros(0)
    return {"plan_id": plan_id, "since": since, "villages": villages, "scores": scores,
            "officers": officers, "held": held}


def fields(engine: Engine, settings: DutySettings, station_id: str,
           now: datetime | None = None) -> dict[str, Any]:
    """Each village's counts and complexity, and each officer's present field and load.

    Raises
    ------
    NotFound
        No such station in the plan in effect.
    """
    data = _read(engine, settings, station_id, now)
    return _answer(data, settings)


def _answer(data: dict[str, Any], settings: DutySettings) -> dict[str, Any]:
    score = {v["id"]: round(float(s), 3)
             for v, s in zip(data["villages"], data["scores"], strict=True)}
    holders: dict[str, list[str]] = {}
    for h in data["held"]:
        holders.setdefault(h["village_id"], []).append(h["person_id"])
    officers = []
    for o in data["officers"]:
        mine = sorted(h["village_id"] for h in data["held"] if h["person_pk"] == o["pk"])
        officers.append({"id": o["id"], "name": o["name"], "beats": list(o["beats"]),
                         "villages": mine,
                         "load": round(sum(score.get(v, 0.0) for v in mine), 3)})
    return {
        "formula": "score = sum_k w_k * x_k / mean(x_k) over the station's villages",
        "weights": _weights(settings), "incidents_since": data["since"].isoformat(),
        "villages": [{**{k: v[k] for k in ("id", "name", *MEASURES)},
                      "score": score[v["id"]], "held_by": holders.get(v["id"], [])}
                     for v in data["villages"]],
        "officers": officers,
    }


def proposal(engine: Engine, settings: DutySettings, station_id: str, *, seed: int = 0,
             now: datetime | None = None) -> dict[str, Any]:
    """The present fields and a proposed share of the station's villages among its officers
    (complex villages to fewer hands, contiguous where the villages touch).

    Raises
    ------
    NotFound
        No such station in the plan in effect.
    InvalidInput
        The station has no officers linked to its beats, or no villages.
    """
    data = _read(engine, settings, station_id, now)
    if not data["officers"] or not data["villages"]:
        raise InvalidInput([Problem(f"station {station_id} needs officers linked to its beats "
                                    "and villages to share", field="station_id")])
    current: dict[str, set[str]] = {}
    for h in data["held"]:
        current.setdefault(h["person_id"], set()).add(h["village_id"])
    geoms = shapely.from_wkb(np.array([bytes(v["wkb"]) for v in data["villages"]],
                                      dtype=object))
    found = share([v["id"] for v in data["villages"]], geoms, data["scores"],
                  [o["id"] for o in data["officers"]], current, np.random.default_rng(seed))
    return {**_answer(data, settings), "proposal": {**found, "seed": seed}}


def apply(engine: Engine, *, station_id: str, assignment: dict[str, list[str]], actor: str,
          settings: DutySettings, now: datetime | None = None) -> dict[str, Any]:
    """Make ``assignment`` (officer id -> village ids) the station's fields (audited).

    Raises
    ------
    InvalidInput
        An officer not linked to the station's beats, or a village not in the station.
    """
    data = _read(engine, settings, station_id, now)
    officers = {o["id"]: o["pk"] for o in data["officers"]}
    villages = {v["id"] for v in data["villages"]}
    problems = [Problem(f"{o!r} is not an officer of station {station_id}", field="fields")
                for o in assignment if o not in officers]
    problems += [Problem(f"{v!r} is not a village of station {station_id}", field="fields")
                 for vs in assignment.values() for v in vs if v not in villages]
    if problems:
        raise InvalidInput(problems)
    pairs = sorted({(officers[o], v) for o, vs in assignment.items() for v in vs})
    with engine.begin() as conn:
        before = repo.fields(conn, station_id)
        repo.replace_fields(conn, station_id, pairs, actor)
        audit.record(conn, actor=actor, action="duty.fields.set",
                     object_kind="responsibility_field", object_id=station_id,
                     before=[[b["person_id"], b["village_id"]] for b in before],
                     after={o: sorted(vs) for o, vs in assignment.items()})
    return fields(engine, settings, station_id, now)
