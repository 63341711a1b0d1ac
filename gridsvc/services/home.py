"""A person's own area: what their first page shows (their cells on the map, the houses and
people in them, and the sections other capabilities add).

Everything is read through the app engine, bound to the caller's account, so the database's
policies decide what is shown; this module never filters by scope itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from gridsvc.db import me as repo
from gridsvc.domain.accounts import Principal
from gridsvc.maps.me import patrol_fragment
from gridsvc.services import events, patrol, visits
from gridsvc.services.assignment import current_plan
from gridsvc.settings import DutySettings


@dataclass(frozen=True)
class Section:
    """A section of the first page below "my area": an anchor id, a title, and a function
    ``(engine, principal) -> HTML fragment`` (escaped by the function; run in a worker thread,
    on the app engine bound to the caller's account)."""

    id: str
    title: str
    render: Callable[[Engine, Principal], str]


def _my_patrol(engine: Engine, principal: Principal) -> str:
    """This shift's patrol of the caller's area and whether they are on duty now. The duty
    settings are read from the environment (``GRIDSVC_DUTY_*``), as the app's settings are."""
    return patrol_fragment(patrol.my_patrol(engine, DutySettings(), principal))


#: The sections under "my area", in page order: the caller's events (issue 13), this
#: shift's patrol points and whether the caller is on duty (issue 14), and their house visits
#: (issue 17). Keep the ids: the
#: page's tabs link to them.
SECTIONS: list[Section] = [
    Section("my-events", "我的事件 · My events", lambda engine, principal: (
        '<p><a class="tel" id="report-link" href="/m/report">＋ 上报事件 · report an event</a>'
        '</p>' + events.my_events_html(engine, principal))),
    Section("my-patrol", "我的巡逻 · My patrol", _my_patrol),
    Section("my-visits", "入户走访 · House visits", visits.my_visits_html),
]


def my_area(engine: Engine, principal: Principal) -> dict[str, Any]:
    """The caller's area under the plan in effect: ``plan_id``, ``cells`` (GeoJSON features
    of their scope's cells and those below them), ``houses`` (at most
    :data:`gridsvc.db.me.MAX_HOUSES`) with ``houses_total``; for a scope of everything, whose
    map is the command centre's, no cells and no house list; and ``people`` (with the cells
    each is linked to)."""
    plan_id = current_plan(engine, None)
    with engine.connect() as conn:
        everything = principal.scope.everything
        keys = [] if everything else repo.scope_cells(conn)
        return {"plan_id": plan_id, "cells": repo.cells(conn, plan_id, keys),
                "houses": [] if everything else repo.houses(conn, plan_id),
                "houses_total": repo.count_houses(conn), "people": repo.people(conn)}


def sections(engine: Engine, principal: Principal) -> list[tuple[Section, str]]:
    """Each section with its HTML for the caller."""
    return [(s, s.render(engine, principal)) for s in SECTIONS]
