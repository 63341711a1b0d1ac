"""Importing cell layers from vector files into a plan, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, Engine

from gridsvc.db import areas as repo
from gridsvc.db import audit, objects
from gridsvc.db.models import AREA_KINDS, PARENT_KIND
from gridsvc.domain.io.cells_io import FieldMap, read_cells
from gridsvc.errors import InvalidInput, NotFound, Problem


@dataclass(frozen=True)
class ImportResult:
    plan_id: int
    kind: str
    count: int
    replaced: int
    created_plan: bool


def _target_plan(conn: Connection, plan_id: int | None, actor: str) -> tuple[int, bool]:
    if plan_id is not None:
        if repo.get_plan(conn, plan_id) is None:
            raise NotFound(f"no plan with id {plan_id}")
        return plan_id, False
    current = repo.current_plan_id(conn)
    if current is not None:
        return current, False
    # A fresh database: the first import makes the plan that everything else hangs on.
    return repo.create_plan(conn, name="initial boundaries", status="active",
                            effective_from=date.today(), source="import", created_by=actor), True


def import_layer(
    engine: Engine, path: Path, *, kind: str, fields: FieldMap, crs: str | None = None,
    plan_id: int | None = None, replace: bool = False, merge_duplicates: bool = False,
    actor: str,
) -> ImportResult:
    """Import the cells of ``kind`` from a file into a plan, or nothing at all.

    The file is read and checked first (see :func:`gridsvc.domain.io.cells_io.read_cells`). Then,
    in one transaction: parents named by ``fields.parent_field`` must exist in the plan as cells
    of the parent kind; ids must not clash with the plan's cells of ``kind`` unless ``replace``
    (which swaps the whole layer). The plan defaults to the one in effect; with none, an active
    plan is made.

    Raises
    ------
    InvalidInput
        Every problem found; the database is left as it was.
    """
    if kind not in AREA_KINDS:
        raise InvalidInput([Problem(f"unknown kind {kind!r}; kinds are {', '.join(AREA_KINDS)}",
                                    field="kind")])
    cells = read_cells(path, fields, crs, merge_duplicates=merge_duplicates)
    parent_kind = PARENT_KIND[kind]
    if fields.parent_field and parent_kind is None:
        raise InvalidInput([Problem(f"a {kind} has no parent cell", field=fields.parent_field)])
    with engine.begin() as conn:
        pid, created = _target_plan(conn, plan_id, actor)
        problems: list[Problem] = []
        if fields.parent_field and parent_kind:
            known = repo.business_ids(conn, pid, parent_kind)
            for i, (ident, parent) in enumerate(zip(cells.business_id, cells.parent_id,
                                                    strict=True)):
                if parent is not None and parent not in known:
                    problems.append(Problem(
                        f"parent {parent!r} is not a {parent_kind} of plan {pid}",
                        feature=f"feature {i} (id {ident!r})", field=fields.parent_field))
        existing = repo.business_ids(conn, pid, kind)
        if not replace:
            for i, ident in enumerate(cells.business_id):
                if ident in existing:
                    problems.append(Problem(
                        f"plan {pid} already has a {kind} with this id (use --replace to swap "
                        "the whole layer)", feature=f"feature {i} (id {ident!r})",
                        field=fields.id_field))
        if problems:
            raise InvalidInput(problems)
        replaced = repo.delete_areas(conn, pid, kind) if replace else 0
        rows = [{**r, "geom": r.pop("geometry")} for r in cells.to_dict("records")]
        repo.insert_areas(conn, pid, kind, rows)
        objects.analyze(conn, ["area"])
        repo.bump_version(conn, pid)
        audit.record(conn, actor=actor, action="layers.import", object_kind=kind,
                     object_id=f"plan:{pid}",
                     before={"count": len(existing)} if replace else None,
                     after={"file": path.name, "count": len(rows), "replace": replace,
                            "ids": sorted(cells.business_id)[:1000]})
    return ImportResult(pid, kind, len(rows), replaced, created)
