"""Houses (门牌): paging through a village's houses and numbering the new ones.

Numbering follows :mod:`gridsvc.domain.numbering`: houses that have a number keep it, houses
stored with number 0 ("not numbered yet": the column is NOT NULL) get the next free numbers,
west to east and north to south in serpentine rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine

from gridsvc.db import audit
from gridsvc.db import houses as repo
from gridsvc.domain.numbering import number_houses, to_local_metres
from gridsvc.errors import InvalidInput, NotFound, Problem

#: Height of a numbering row (a band across the village), metres: about one lane of houses
#: with its yards in a rural village.
ROW_HEIGHT_M = 80.0
#: Most houses one page of :func:`list_houses` may hold.
MAX_PAGE = 1000


def plan_numbering(engine: Engine, village_id: str) -> list[dict[str, Any]]:
    """What numbering the village would change, without changing it (a dry run).

    Returns
    -------
    list of dict
        ``{house_id, old, new}`` per house whose number would change, by new number; empty when
        every house is numbered.

    Raises
    ------
    NotFound
        When no village has this id.
    """
    with engine.connect() as conn:
        return _changes(conn, village_id, lock=False)


def apply_numbering(engine: Engine, village_id: str, *, actor: str) -> list[dict[str, Any]]:
    """Number the village's unnumbered houses, in one transaction; returns the changes.

    The changes go to the audit log as one ``house.number`` entry for the village (before and
    after: the houses with their old and new numbers). Nothing changed, nothing logged.

    Raises
    ------
    NotFound
        When no village has this id.
    """
    with engine.begin() as conn:
        changes = _changes(conn, village_id, lock=True)
        if changes:
            repo.set_numbers(conn, {c["house_id"]: c["new"] for c in changes})
            audit.record(
                conn, actor=actor, action="house.number", object_kind="village",
                object_id=village_id,
                before=[{"house_id": c["house_id"], "number": c["old"]} for c in changes],
                after=[{"house_id": c["house_id"], "number": c["new"]} for c in changes])
    return changes


def list_houses(engine: Engine, village_id: str, limit: int = 100, offset: int = 0
                ) -> dict[str, Any]:
    """One page of a village's houses: ``{"total", "items"}``, in register order.

    Raises
    ------
    InvalidInput
        ``limit`` outside 1..1000 or a negative ``offset``.
    NotFound
        When no village has this id.
    """
    problems = []
    if not 1 <= limit <= MAX_PAGE:
        problems.append(Problem(f"must be between 1 and {MAX_PAGE}", field="limit"))
    if offset < 0:
        problems.append(Problem("must not be negative", field="offset"))
    if problems:
        raise InvalidInput(problems)
    with engine.connect() as conn:
        _check_village(conn, village_id)
        total = repo.count_houses(conn, village_id)
        items = repo.list_houses(conn, village_id, limit, offset)
    return {"total": total, "items": items}


def _check_village(conn: Connection, village_id: str) -> None:
    if not repo.village_exists(conn, village_id):
        raise NotFound(f"no village with id {village_id!r}")


def _changes(conn: Connection, village_id: str, *, lock: bool) -> list[dict[str, Any]]:
    _check_village(conn, village_id)
    rows = repo.village_houses(conn, village_id, lock=lock)
    if not rows:
        return []
    x, y = to_local_metres([r["lon"] for r in rows], [r["lat"] for r in rows])
    old = [r["number"] for r in rows]
    new = number_houses(old, x, y, ROW_HEIGHT_M)
    changes = [{"house_id": r["business_id"], "old": int(o), "new": int(n)}
               for r, o, n in zip(rows, old, new, strict=True) if o != n]
    return sorted(changes, key=lambda c: c["new"])
