"""Edits of a draft plan's cells: pure geometry (shapely) and the identity of new cells.

Geometries are in EPSG:4490 (degrees): every edit here is topological (split, union,
difference), so no projection is needed. Two cells changed together (a transfer) are computed
from the same inputs by the same overlay, so their new common edge is the same line in both.

Identity of a new cell (CJ/T 349 style, as the demo town): its **code** is the parent's code
followed by the next number of the parent's sequence (``331181102001`` + ``003`` for the third
grid of a village), counted over every plan (drafts and retired plans too) so a number a
plan holds is never given to another cell (a number that only lived in one draft and was
merged away in it may come back in that draft); its
**business id** follows the pattern of its siblings (``G102001003`` when siblings are ``G`` +
the code without the county part), else their prefix and the next free number (``B04``,
``C10001``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import MultiPolygon, Polygon

from gridsvc.errors import InvalidInput, Problem

__all__ = [
    "Identity", "as_multipolygon", "houses_region", "merge", "next_identity", "polygonal",
    "split", "transfer",
]

#: Digits of a new cell's sequence number when the siblings do not say.
DEFAULT_WIDTH = {"town": 3, "village": 3, "grid": 3, "station": 2, "beat": 2}
#: Business id prefix of a kind when no sibling shows one.
DEFAULT_PREFIX = {"town": "T", "village": "V", "grid": "G", "station": "S", "beat": "B"}
#: How a new cell is named, from its parent's name and its sequence number.
NAME_PATTERN = {"grid": "{parent}第{seq}网格", "beat": "{parent}第{seq}警务区"}

_TRAILING = re.compile(r"^(.*?)(\d+)$")


def as_multipolygon(geom: shapely.Geometry) -> MultiPolygon:
    """The polygonal parts of ``geom`` as one MultiPolygon (lines and points dropped).

    >>> as_multipolygon(shapely.box(0, 0, 1, 1)).geom_type
    'MultiPolygon'
    """
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    nested = [q for p in shapely.get_parts(geom) if isinstance(p, MultiPolygon)
              for q in p.geoms]
    return MultiPolygon(parts + nested)


def polygonal(geom: shapely.Geometry | None, *, repair: bool, where: str) -> MultiPolygon:
    """A cell's new geometry, checked: a valid, non-empty (multi)polygon.

    Parameters
    ----------
    geom
        The geometry given.
    repair
        Repair an invalid geometry with ``shapely.make_valid`` (keeping its polygonal parts)
        instead of rejecting it.
    where
        Names the cell in problems, e.g. ``"grid G102001001"``.

    Raises
    ------
    InvalidInput
        Not a polygon or multipolygon, empty, or invalid (with GEOS's reason and location)
        when ``repair`` is false; or nothing polygonal is left after repair.
    """
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        kind = "nothing" if geom is None or geom.is_empty else geom.geom_type
        raise InvalidInput([Problem(f"a cell must be a Polygon or MultiPolygon, got {kind}",
                                    feature=where, field="geometry")])
    if not shapely.is_valid(geom):
        if not repair:
            reason = shapely.is_valid_reason(geom)
            raise InvalidInput([Problem(
                f"invalid geometry: {reason} (send it again with repair to fix it with "
                "make_valid)", feature=where, field="geometry")])
        geom = shapely.make_valid(geom)
    out = as_multipolygon(geom)
    if out.is_empty or out.area == 0:
        raise InvalidInput([Problem("no area is left of the geometry", feature=where,
                                    field="geometry")])
    return out


def split(cell: MultiPolygon, line: shapely.Geometry, *, where: str) -> list[MultiPolygon]:
    """Cut a cell with a line; the pieces, largest first.

    Only the parts of the line inside the cell cut it; a line that only touches it, or ends
    inside it without crossing, cuts nothing.

    Raises
    ------
    InvalidInput
        When ``line`` is not a (multi)linestring, or does not cut the cell in two or more.

    >>> pieces = split(as_multipolygon(shapely.box(0, 0, 2, 1)),
    ...                shapely.LineString([(0.5, -1), (0.5, 2)]), where="grid G1")
    >>> [round(p.area, 2) for p in pieces]
    [1.5, 0.5]
    """
    if line is None or line.geom_type not in ("LineString", "MultiLineString"):
        raise InvalidInput([Problem("the cutting line must be a LineString",
                                    feature=where, field="line")])
    # Polygonizing the cell's boundary together with the line gives the faces on each side.
    noded = shapely.union_all([shapely.boundary(cell), shapely.intersection(line, cell)])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    inside = [f for f in faces if cell.covers(f.representative_point()) and f.area > 0]
    if len(inside) < 2:
        raise InvalidInput([Problem("the line does not cut the cell in two: draw it across "
                                    "the cell, from edge to edge", feature=where, field="line")])
    pieces = [as_multipolygon(shapely.intersection(cell, f)) for f in inside]
    return sorted(pieces, key=lambda p: -p.area)


def merge(cells: Sequence[MultiPolygon]) -> MultiPolygon:
    """The union of cells (one cell when they touch along an edge; else several parts)."""
    return as_multipolygon(shapely.union_all(list(cells)))


def transfer(source: MultiPolygon, target: MultiPolygon, area: shapely.Geometry, *,
             where: str) -> tuple[MultiPolygon, MultiPolygon, MultiPolygon]:
    """Move the part of ``source`` inside ``area`` to its neighbour ``target``.

    Both boundaries change together: returns ``(source - area, target + moved, moved)``,
    where ``moved = source & area``. The part of ``area`` outside ``source`` is ignored, so
    the area may be drawn loosely over the target.

    Raises
    ------
    InvalidInput
        When the two cells do not touch (not neighbours), the area holds none of the source,
        or all of it (the source would vanish: merge the cells instead).
    """
    if not shapely.intersects(source, target):
        raise InvalidInput([Problem("the two cells are not neighbours (they do not touch)",
                                    feature=where, field="to")])
    moved = as_multipolygon(shapely.intersection(source, area))
    if moved.is_empty or moved.area <= 1e-12 * source.area:
        raise InvalidInput([Problem("the area does not overlap the cell it is taken from",
                                    feature=where, field="area")])
    rest = as_multipolygon(shapely.difference(source, area))
    if rest.is_empty or rest.area <= 1e-9 * source.area:
        raise InvalidInput([Problem("the area covers the whole cell: merge the two cells "
                                    "instead", feature=where, field="area")])
    return rest, as_multipolygon(shapely.union(target, moved)), moved


def houses_region(cell: MultiPolygon, chosen: np.ndarray, others: np.ndarray) -> MultiPolygon:
    """The part of ``cell`` nearer to the chosen houses than to the cell's other houses.

    The Voronoi cells of every house in the cell, clipped to it: the chosen houses' cells
    together. A chosen house at the same point as another house takes that house with it.

    Parameters
    ----------
    cell
        The cell the houses are in.
    chosen, others
        ``(n, 2)`` coordinates of the houses to move and of the houses that stay.

    >>> region = houses_region(as_multipolygon(shapely.box(0, 0, 2, 1)),
    ...                        np.array([[1.5, 0.5]]), np.array([[0.5, 0.5]]))
    >>> region.bounds
    (1.0, 0.0, 2.0, 1.0)
    """
    chosen = np.asarray(chosen, dtype=float).reshape(-1, 2)
    others = np.asarray(others, dtype=float).reshape(-1, 2)
    if len(others) == 0:
        return cell
    points = np.concatenate([chosen, others])
    unique, inverse = np.unique(points, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    take = np.zeros(len(unique), dtype=bool)
    take[inverse[: len(chosen)]] = True
    if take.all():
        return cell
    polys = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(unique), extend_to=cell, ordered=True))
    return as_multipolygon(shapely.intersection(shapely.union_all(polys[take]), cell))


@dataclass(frozen=True)
class Identity:
    """Business id, code and name of a new cell."""

    business_id: str
    code: str | None
    name: str
    seq: int


def _sequences(parent_code: str | None, codes: Iterable[str | None]) -> tuple[list[int], int]:
    """Sequence numbers in siblings' codes under the parent's code, and their usual width."""
    seqs, widths = [], Counter()
    for code in codes:
        if not code or not parent_code or not code.startswith(parent_code):
            continue
        rest = code[len(parent_code):]
        if rest.isascii() and rest.isdigit():  # a code from a file may hold "³": no int
            seqs.append(int(rest))
            widths[len(rest)] += 1
    return seqs, (widths.most_common(1)[0][0] if widths else 0)


def _id_from_code(siblings: Sequence[tuple[str, str | None]]) -> int | None:
    """How many leading characters of the code the siblings' ids drop (``G`` + code[6:]),
    when every sibling with a code follows one such pattern; else None."""
    cut = None
    for bid, code in siblings:
        if not code:
            continue
        if not bid or bid[0].isdigit() or not code.endswith(bid[1:]) or len(bid) < 2:
            return None
        k = len(code) - len(bid) + 1
        if cut is not None and k != cut:
            return None
        cut = k
    return cut


def next_identity(kind: str, parent: dict | None, siblings: Sequence[tuple[str, str | None]],
                  taken: set[str]) -> Identity:
    """The id, code and name of a new cell of ``kind`` under ``parent``.

    Parameters
    ----------
    kind
        The new cell's kind.
    parent
        ``{"id", "code", "name"}`` of the parent cell, or None (top of a tree, or unknown).
    siblings
        ``(business_id, code)`` of every cell of this kind with this parent, in **every** plan
        (retired numbers are not given again).
    taken
        Every business id of this kind in every plan.

    Examples
    --------
    >>> sib = [("G102001001", "331181102001001"), ("G102001002", "331181102001002")]
    >>> next_identity("grid", {"id": "V102001", "code": "331181102001", "name": "八都社区"},
    ...               sib, {"G102001001", "G102001002"})
    Identity(business_id='G102001003', code='331181102001003', name='八都社区第3网格', seq=3)
    >>> next_identity("beat", {"id": "S01", "code": None, "name": "八都派出所"},
    ...               [("B01", None), ("B03", None)], {"B01", "B02", "B03"}).business_id
    'B04'
    """
    parent_code = (parent or {}).get("code")
    seqs, width = _sequences(parent_code, (c for _, c in siblings))
    width = width or DEFAULT_WIDTH.get(kind, 3)
    cut = _id_from_code(siblings) if parent_code else None
    if cut is None:
        # No code pattern: the siblings' (else every cell's) prefix and the next free number.
        pool = [b for b, _ in siblings] or sorted(taken)
        matches = [m for m in (_TRAILING.match(b) for b in pool) if m]
        prefixes = Counter(m.group(1) for m in matches)
        prefix = prefixes.most_common(1)[0][0] if prefixes else DEFAULT_PREFIX.get(kind, "X")
        numbers = [int(m.group(2)) for m in (_TRAILING.match(b) for b in taken)
                   if m and m.group(1) == prefix]
        digits = max((len(m.group(2)) for m in matches if m.group(1) == prefix), default=width)
    seq = max(seqs, default=0) + 1
    n = max(numbers, default=0) + 1 if cut is None else 0
    while True:
        code = f"{parent_code}{seq:0{width}d}" if parent_code else None
        if cut is not None and code is not None:
            bid = _prefix_of(siblings) + code[cut:]
        else:
            bid = f"{prefix}{n:0{digits}d}"
        if bid not in taken:
            break
        seq, n = seq + 1, n + 1
    pattern = NAME_PATTERN.get(kind)
    parent_name = (parent or {}).get("name")
    name = pattern.format(parent=parent_name, seq=seq if code else n) if (
        pattern and parent_name) else f"{kind} {bid}"
    return Identity(bid, code, name, seq if code else n)


def _prefix_of(siblings: Sequence[tuple[str, str | None]]) -> str:
    return next(b[0] for b, c in siblings if c)
