"""Houses (门牌): paging through a village's houses, numbering the new ones, and importing a
house register file (checked by :mod:`gridsvc.domain.address.house_register`, all or nothing).

Numbering follows :mod:`gridsvc.domain.address.numbering`: houses that have a number keep it, houses
stored with number 0 ("not numbered yet": the column is NOT NULL) get the next free numbers,
west to east and north to south in serpentine rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import audit, objects
from gridsvc.db import houses as repo
from gridsvc.domain.address import house_register as register
from gridsvc.domain.address.numbering import number_houses, to_local_metres
from gridsvc.domain.geo.coords import InputCRS, declared_crs, parse_input_crs
from gridsvc.domain.io.points_io import Points, read_points
from gridsvc.errors import InvalidInput, NotFound, Problem
from gridsvc.services.assignment import current_plan, plan_layers, set_cells

#: Height of a numbering row (a band across the village), metres: about one lane of houses
#: with its yards in a rural village.
ROW_HEIGHT_M = 80.0
#: Most houses one page of :func:`list_houses` may hold.
MAX_PAGE = 1000
#: Prefix of new house ids.
ID_PREFIX = "H"
#: Most ids an import's audit entry lists (the count is always there).
MAX_AUDIT_IDS = 1000
#: CRS of coordinate columns when neither --crs nor the file says one (as for assignment).
DEFAULT_COLUMN_CRS = "EPSG:4326"


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


def import_houses(engine: Engine, path: Path, *, x: str | None = None, y: str | None = None,
                  crs: str | None = None, village_field: str = "village",
                  number_field: str = "number", actor: str) -> dict[str, Any]:
    """Import a house register file (CSV, GeoJSON or GeoParquet), all or nothing.

    Rows are checked by :func:`gridsvc.domain.address.house_register.check_register` against the
    villages of the plan in effect and the houses already in the register. When every row is
    right, one transaction inserts the houses (new ids ``H00001``-style after the highest in
    use, where the file gives none), with their original coordinates and the cells of the plan
    in effect, and writes one ``houses.import`` audit entry.

    Parameters
    ----------
    path
        The file; its suffix says the format.
    x, y
        Coordinate columns of a CSV (default: lon/lat, x/y, ...).
    crs
        CRS of the points; default what the file says, else EPSG:4326 for coordinate columns.
    village_field, number_field
        Columns of the village (id or name) and of the house number.
    actor
        Who the audit log names.

    Returns
    -------
    dict
        ``{count, villages, ids, plan_id, ignored_columns}``: houses imported, how many
        villages they are in, their ids, the plan whose cells they got, and the file's columns
        the register does not use.

    Raises
    ------
    InvalidInput
        The file cannot be read, lacks the village or number column, has no rows, or any row
        has a problem (all listed); nothing is written.
    NotFound
        When no plan is in effect.
    """
    given = parse_input_crs(crs) if crs is not None else None
    points = read_points(path, x, y)
    source = _points_crs(points, given)
    columns = points.table.column_names
    missing = [f for f in (village_field, number_field) if f not in columns]
    if missing:
        raise InvalidInput([Problem(f"no such column; the columns are: {', '.join(columns)}",
                                    field=f) for f in missing])
    if len(points) == 0:
        raise InvalidInput([Problem(f"{path.name} has no rows")])
    used = {village_field, number_field, *register.OPTIONAL, points.x_field, points.y_field}
    ignored = [c for c in columns if c not in used]
    records = points.table.select([c for c in columns if c in used
                                   and c not in (points.x_field, points.y_field)]).to_pylist()
    plan_id = current_plan(engine)
    layers = plan_layers(engine, plan_id)
    with engine.begin() as conn:
        # Taking the id lock first also serialises concurrent imports, so the register's
        # address keys read next cannot change before this transaction's houses are in.
        first = objects.next_business_id(conn, "house", ID_PREFIX)
        villages = {vid: label["name"] for (kind, vid), label
                    in area_repo.area_labels(conn, plan_id).items() if kind == "village"}
        given_ids = register.given_ids(records)
        rows = register.check_register(
            records, points.x, points.y, source, villages, layers.layers.get("village"),
            repo.address_keys(conn, villages), repo.taken_ids(conn, given_ids),
            village_field=village_field, number_field=number_field,
            xy_field=_xy_field(points))
        _give_ids(rows, int(first.removeprefix(ID_PREFIX)), given_ids)
        set_cells(layers, rows, plan_id)
        objects.insert_rows(conn, "house", rows)
        ids = [r["business_id"] for r in rows]
        audit.record(conn, actor=actor, action="houses.import", object_kind="house",
                     after={"file": str(path), "count": len(rows), "ids": ids[:MAX_AUDIT_IDS]})
    return {"count": len(rows), "villages": len({r["address_village_id"] for r in rows}),
            "ids": ids, "plan_id": plan_id, "ignored_columns": ignored}


def _points_crs(points: Points, given: InputCRS | None) -> InputCRS:
    """``--crs``, else what the file says, else EPSG:4326 for coordinate columns."""
    if given is not None:
        return given
    if points.crs is not None:
        return declared_crs(points.crs)
    if points.geometry is not None:
        raise InvalidInput([Problem("the file does not say the CRS of its geometries: give it "
                                    "with --crs", field="crs")])
    return parse_input_crs(DEFAULT_COLUMN_CRS)


def _xy_field(points: Points) -> str:
    if points.x_field == points.y_field:
        return points.x_field
    return f"{points.x_field},{points.y_field}"


def _give_ids(rows: list[dict[str, Any]], start: int, given: set[str]) -> None:
    """New ids, counting up from ``start``, for rows without one (skipping ids the file uses)."""
    n = start
    for row in rows:
        if row["business_id"] is None:
            while (bid := f"{ID_PREFIX}{n:05d}") in given:
                n += 1
            row["business_id"] = bid
            n += 1
