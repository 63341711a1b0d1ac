"""An account's scope: the cells whose rows it may see, as Python sees it (pure).

The same rules as the database's policies (:mod:`gridsvc.db.rls`), for the paths that answer
from memory (lookup, dispatch):

- a row carrying the five cell ids (a house, an incident, a camera...) is in scope when one of
  them is a cell of the scope (:meth:`Scope.covers_row`, as ``rls.scope_predicate``);
- a cell is in scope when it, or a cell above it in its tree (grid -> village -> town,
  beat -> station) under the plan in effect, is a cell of the scope
  (:meth:`Scope.covers_cell`, as ``gridsvc_scope_cells()``); a person is in scope when one of
  the cells they are linked to is.

``Scope(everything=True)`` covers every row, and the empty scope none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Cell kinds a scope may name (besides ``all``), and the parent kind of each.
CELL_KINDS = ("town", "village", "grid", "station", "beat")
PARENT_KIND = {"village": "town", "grid": "village", "beat": "station"}


@dataclass(frozen=True)
class Scope:
    """Everything, or a set of ``(kind, business id)`` cells.

    >>> s = Scope.of([("grid", "G1"), ("station", "S1")])
    >>> s.covers_row({"grid_id": "G1", "beat_id": "B9"}), s.covers_row({"grid_id": "G2"})
    (True, False)
    >>> s.covers_cell("beat", "B3", {("beat", "B3"): "S1"})
    True
    >>> s.key
    'grid:G1,station:S1'
    >>> Scope.of([("all", "")]).covers_row({})
    True
    """

    everything: bool = False
    cells: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str]]) -> Scope:
        """A scope from ``account_scope`` rows ``(kind, area_id)``; kind ``all`` is everything.

        Raises
        ------
        ValueError
            For a kind that is not ``all`` or a cell kind.
        """
        cells = set()
        everything = False
        for kind, area_id in rows:
            if kind == "all":
                everything = True
            elif kind in CELL_KINDS:
                cells.add((kind, area_id))
            else:
                raise ValueError(f"unknown scope kind {kind!r}; kinds are all, "
                                 f"{', '.join(CELL_KINDS)}")
        return cls(everything, frozenset(cells))

    @property
    def key(self) -> str:
        """A stable text naming the scope (cache keys): ``all`` or the sorted cells."""
        if self.everything:
            return "all"
        return ",".join(f"{k}:{a}" for k, a in sorted(self.cells))

    def ids(self, kind: str) -> frozenset[str]:
        """The business ids of the scope's cells of ``kind``."""
        return frozenset(a for k, a in self.cells if k == kind)

    def covers_row(self, row: Mapping[str, Any]) -> bool:
        """Whether a row with cell columns ``town_id`` ... ``beat_id`` is in scope (missing
        columns count as no cell)."""
        if self.everything:
            return True
        return any((kind, row.get(f"{kind}_id")) in self.cells for kind in CELL_KINDS)

    def covers_cell(self, kind: str, area_id: str,
                    parents: Mapping[tuple[str, str], str | None]) -> bool:
        """Whether a cell, or one above it (``parents``: ``(kind, id) -> parent id`` under
        the plan in effect), is a cell of the scope."""
        if self.everything:
            return True
        current: str | None = area_id
        while current is not None:
            if (kind, current) in self.cells:
                return True
            parent_kind = PARENT_KIND.get(kind)
            if parent_kind is None:
                return False
            current, kind = parents.get((kind, current)), parent_kind
        return False

    def covers_links(self, links: Iterable[tuple[str, str]],
                     parents: Mapping[tuple[str, str], str | None]) -> bool:
        """Whether a person linked to these cells is in scope (one link in scope is enough)."""
        return self.everything or any(self.covers_cell(k, a, parents) for k, a in links)


EVERYTHING = Scope(everything=True)
NOTHING = Scope()
