"""CQL2 filters (OGC API Features Part 3) turned into SQL with bound parameters only.

Text and JSON are read by the ``cql2`` parser (both give the same CQL2-JSON tree); this module
walks the tree. Every value of the filter becomes a bound parameter (``:cql_0``, ``:cql_1``...);
the SQL text holds only our own column names, operators and functions, so no filter can inject
SQL. Operands are typed (a property's JSON Schema type, a literal's kind) and a comparison of
different types, an unknown property or an unknown operator is an
:class:`~gridsvc.errors.InvalidInput` (HTTP 400) saying which, instead of a database error.

Supported: ``and or not``, ``= <> < <= > >=``, ``like``, ``between``, ``in``, ``isNull``,
``casei``, ``+ - * /``, the spatial ``s_intersects s_equals s_disjoint s_touches s_within
s_overlaps s_crosses s_contains`` (geometry literals in ``filter-crs``, CRS84 by default), the
temporal ``t_after t_before t_contains t_disjoint t_during t_equals t_finishedby t_finishes
t_intersects t_meets t_metby t_overlappedby t_overlaps t_startedby t_starts`` (Allen's interval
relations; an instant is an interval of zero length) and the array ``a_equals a_contains
a_containedby a_overlaps``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import cql2
import shapely

from gridsvc.domain.ogc.catalog import Collection
from gridsvc.domain.ogc.crs import Crs, swap_axes, swap_bbox
from gridsvc.errors import InvalidInput, Problem

__all__ = ["Filter", "parse", "to_sql"]

_POSITION = re.compile(r"-->\s*(\d+):(\d+)")
_EXPECTED = re.compile(r"=\s*(expected .*)$", re.MULTILINE)

_COMPARE = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ARITHMETIC = {"+": "+", "-": "-", "*": "*", "/": "/"}
_SPATIAL = {"s_intersects": "ST_Intersects({a}, {b})", "s_equals": "ST_Equals({a}, {b})",
            "s_disjoint": "NOT ST_Intersects({a}, {b})", "s_touches": "ST_Touches({a}, {b})",
            "s_within": "ST_Within({a}, {b})", "s_overlaps": "ST_Overlaps({a}, {b})",
            "s_crosses": "ST_Crosses({a}, {b})", "s_contains": "ST_Contains({a}, {b})"}
# Allen's relations on (start, end) pairs: a is the first operand, b the second.
_TEMPORAL = {
    "t_after": "{as} > {be}", "t_before": "{ae} < {bs}",
    "t_contains": "{as} < {bs} AND {ae} > {be}", "t_during": "{as} > {bs} AND {ae} < {be}",
    "t_disjoint": "NOT ({as} <= {be} AND {ae} >= {bs})",
    "t_equals": "{as} = {bs} AND {ae} = {be}",
    "t_finishedby": "{ae} = {be} AND {as} < {bs}", "t_finishes": "{ae} = {be} AND {as} > {bs}",
    "t_intersects": "{as} <= {be} AND {ae} >= {bs}",
    "t_meets": "{ae} = {bs}", "t_metby": "{as} = {be}",
    "t_overlappedby": "{bs} < {as} AND {be} > {as} AND {be} < {ae}",
    "t_overlaps": "{as} < {bs} AND {ae} > {bs} AND {ae} < {be}",
    "t_startedby": "{as} = {bs} AND {ae} > {be}", "t_starts": "{as} = {bs} AND {ae} < {be}",
}
_ARRAY = {"a_equals": "=", "a_contains": "@>", "a_containedby": "<@", "a_overlaps": "&&"}
_NUMERIC = {"integer", "number"}
#: The translator's method for each operator.
_METHODS = {"and": "logical", "or": "logical", "not": "logical", "like": "like",
            "between": "between", "in": "in_list", "isnull": "is_null", "casei": "casei",
            "accenti": "unsupported"}
_FAMILIES = (("comparison", _COMPARE), ("arithmetic", _ARITHMETIC), ("spatial", _SPATIAL),
             ("temporal", _TEMPORAL), ("array_op", _ARRAY))


def _bad(message: str) -> InvalidInput:
    return InvalidInput([Problem(message, field="filter")])


def parse(text: str, lang: str = "cql2-text") -> dict[str, Any]:
    """The CQL2-JSON tree of a filter in ``lang`` (``cql2-text`` or ``cql2-json``).

    Raises
    ------
    InvalidInput
        Field ``filter``: the text cannot be read; the message names the line and column and
        what the parser expected there.

    >>> parse("name = 'x'")
    {'op': '=', 'args': [{'property': 'name'}, 'x']}
    >>> parse("name = ")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    gridsvc.errors.InvalidInput: 1 problem(s) in the input
    - field 'filter': cannot read the filter at line 1, column 8: expected ...
    """
    try:
        expr = cql2.parse_json(text) if lang == "cql2-json" else cql2.parse_text(text)
        tree = expr.to_json()
    except (cql2.ParseError, ValueError) as exc:
        raise _bad(_parse_message(str(exc), lang)) from None
    if lang == "cql2-json" and not isinstance(tree, dict | bool):
        raise _bad("a cql2-json filter is a JSON object, e.g. "
                   '{"op": "=", "args": [{"property": "name"}, "x"]}')
    return tree


def _parse_message(raw: str, lang: str) -> str:
    if (m := _POSITION.search(raw)) is not None:
        expected = _EXPECTED.search(raw)
        what = f": {expected.group(1)}" if expected else ""
        return f"cannot read the filter at line {m.group(1)}, column {m.group(2)}{what}"
    return f"cannot read the {lang} filter: {raw.strip().splitlines()[0] if raw.strip() else raw}"


@dataclass
class Filter:
    """SQL (a boolean expression over the table aliased ``alias``) and its bound parameters."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Operand:
    sql: str
    type: str  # string integer number boolean timestamp geometry array null interval
    # For temporal operands: SQL of the start and end.
    span: tuple[str, str] | None = None


class _Translator:
    def __init__(self, collection: Collection, filter_crs: Crs, alias: str, prefix: str) -> None:
        self.collection = collection
        self.crs = filter_crs
        self.alias = alias
        self.prefix = prefix
        self.params: dict[str, Any] = {}

    # -- values ---------------------------------------------------------------------------
    def bind(self, value: Any) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def column(self, name: str) -> str:
        return f"{self.alias}.{name}"

    def operand(self, node: Any) -> _Operand:
        if isinstance(node, bool):
            return _Operand(self.bind(node), "boolean")
        if isinstance(node, int | float):
            return _Operand(self.bind(node), "number")
        if isinstance(node, str):
            return _Operand(self.bind(node), "string")
        if node is None:
            return _Operand("NULL", "null")
        if isinstance(node, list):
            return self.array(node)
        if not isinstance(node, dict):
            raise _bad(f"cannot read {node!r} in the filter")
        if "property" in node:
            return self.prop(node["property"])
        if "op" in node:
            return self.expression(node)
        if "timestamp" in node:
            at = _when(node["timestamp"], end=False)
            return _Operand(self.bind(at), "timestamp", (self.bind(at),) * 2)
        if "date" in node:
            start = _when(node["date"], end=False)
            sql = self.bind(start)
            return _Operand(sql, "timestamp", (sql, self.bind(_when(node["date"], end=True))))
        if "interval" in node:
            return self.interval(node["interval"])
        if "bbox" in node:
            return self.bbox(node["bbox"])
        if "type" in node:
            return self.geometry(node)
        raise _bad(f"cannot read {json.dumps(node)[:80]} in the filter")

    def prop(self, name: Any) -> _Operand:
        if name in ("geometry", "geom"):
            return _Operand(self.column("geom"), "geometry")
        if name == "id":
            return _Operand(self.column("business_id"), "string")
        prop = self.collection.prop(str(name))
        if prop is None:
            names = ", ".join(["id", "geometry", *(p.name for p in self.collection.properties)])
            raise _bad(f"unknown property {name!r}; queryables of {self.collection.id}: {names}")
        sql = prop.sql(self.alias)
        if prop.format == "date-time":
            return _Operand(sql, "timestamp", (sql, sql))
        return _Operand(sql, prop.type)

    def array(self, items: list[Any]) -> _Operand:
        if not all(isinstance(i, str | int | float) and not isinstance(i, bool) for i in items):
            raise _bad("an array in a filter holds strings or numbers")
        if all(isinstance(i, str) for i in items):
            return _Operand(f"CAST({self.bind(list(items))} AS varchar[])", "array")
        return _Operand(f"CAST({self.bind([float(i) for i in items])} AS float8[])", "array")

    def interval(self, ends: Any) -> _Operand:
        if not isinstance(ends, list) or len(ends) != 2:
            raise _bad("an interval has two ends, e.g. INTERVAL('2026-01-01', '..')")
        sql = []
        for i, end in enumerate(ends):
            if end == "..":
                sql.append("CAST('-infinity' AS timestamptz)" if i == 0 else
                           "CAST('infinity' AS timestamptz)")
            elif isinstance(end, str):
                sql.append(self.bind(_when(end, end=i == 1)))
            else:
                part = self.operand(end)
                if part.type != "timestamp" or part.span is None:
                    raise _bad("the ends of an interval are dates, times or '..'")
                sql.append(part.span[i])
        return _Operand("NULL", "interval", (sql[0], sql[1]))

    def bbox(self, box: Any) -> _Operand:
        if (not isinstance(box, list) or len(box) not in (4, 6)
                or not all(isinstance(v, int | float) for v in box)):
            raise _bad("a BBOX has 4 (or 6) numbers")
        box = [float(v) for v in box]
        if self.crs.lat_first:
            box = swap_bbox(box)
        if len(box) == 6:
            box = [box[0], box[1], box[3], box[4]]
        corners = ", ".join(self.bind(v) for v in box)
        return _Operand(self.to_storage(f"ST_MakeEnvelope({corners}, {self.bind(self.crs.srid)})"),
                        "geometry")

    def geometry(self, node: dict[str, Any]) -> _Operand:
        if self.crs.lat_first:
            node = swap_axes(node)
        try:
            geom = shapely.geometry.shape(node)
        except Exception as exc:  # shapely raises several types for bad GeoJSON
            raise _bad(f"not a readable geometry: {exc}") from None
        if geom.is_empty:
            raise _bad("the geometry is empty")
        text = self.bind(shapely.to_geojson(geom))
        return _Operand(self.to_storage(
            f"ST_SetSRID(ST_GeomFromGeoJSON({text}), {self.bind(self.crs.srid)})"), "geometry")

    def to_storage(self, sql: str) -> str:
        if self.crs.same_as_storage:
            return f"ST_SetSRID({sql}, 4490)"
        return f"ST_Transform({sql}, 4490)"

    # -- expressions ----------------------------------------------------------------------
    def expression(self, node: dict[str, Any]) -> _Operand:
        op = str(node.get("op", "")).lower()
        args = node.get("args", [])
        if not isinstance(args, list):
            raise _bad(f"the arguments of {op!r} must be a list")
        method = _METHODS.get(op) or next(
            (name for name, ops in _FAMILIES if op in ops), None)
        if method is None:
            raise _bad(f"unsupported operator or function {node.get('op')!r}")
        return getattr(self, method)(op, args)

    def predicate(self, node: Any) -> str:
        """SQL of a node that must be true or false."""
        result = self.operand(node)
        if result.type != "boolean":
            raise _bad(f"{json.dumps(node, default=str)[:80]} is not a condition")
        return result.sql

    def _arity(self, op: str, args: list[Any], n: int) -> None:
        if len(args) != n:
            raise _bad(f"{op} takes {n} arguments, not {len(args)}")

    def logical(self, op: str, args: list[Any]) -> _Operand:
        if op == "not":
            self._arity(op, args, 1)
            return _Operand(f"(NOT {self.predicate(args[0])})", "boolean")
        if len(args) < 2:
            raise _bad(f"{op} needs two or more conditions")
        joined = f" {op.upper()} ".join(self.predicate(a) for a in args)
        return _Operand(f"({joined})", "boolean")

    def comparison(self, op: str, args: list[Any]) -> _Operand:
        self._arity(op, args, 2)
        a, b = self.operand(args[0]), self.operand(args[1])
        _same_kind(op, a, b)
        return _Operand(f"({a.sql} {_COMPARE[op]} {b.sql})", "boolean")

    def arithmetic(self, op: str, args: list[Any]) -> _Operand:
        self._arity(op, args, 2)
        a, b = self.operand(args[0]), self.operand(args[1])
        if a.type not in _NUMERIC or b.type not in _NUMERIC:
            raise _bad(f"{op} works on numbers")
        return _Operand(f"({a.sql} {op} {b.sql})", "number")

    def like(self, op: str, args: list[Any]) -> _Operand:
        self._arity(op, args, 2)
        a, b = self.operand(args[0]), self.operand(args[1])
        if a.type != "string" or b.type != "string":
            raise _bad("LIKE compares a string property with a pattern string")
        return _Operand(f"({a.sql} LIKE {b.sql})", "boolean")

    def between(self, op: str, args: list[Any]) -> _Operand:
        self._arity(op, args, 3)
        a, lo, hi = (self.operand(x) for x in args)
        if not all(x.type in _NUMERIC for x in (a, lo, hi)):
            raise _bad("BETWEEN works on numbers")
        return _Operand(f"({a.sql} BETWEEN {lo.sql} AND {hi.sql})", "boolean")

    def in_list(self, op: str, args: list[Any]) -> _Operand:
        self._arity(op, args, 2)
        if not isinstance(args[1], list) or not args[1]:
            raise _bad("IN takes a non-empty list")
        a = self.operand(args[0])
        items = [self.operand(x) for x in args[1]]
        for item in items:
            _same_kind("IN", a, item)
        return _Operand(f"({a.sql} IN ({', '.join(i.sql for i in items)}))", "boolean")

    def is_null(self, op: str, args: list[Any]) -> _Operand:
        self._arity(op, args, 1)
        return _Operand(f"({self.operand(args[0]).sql} IS NULL)", "boolean")

    def casei(self, op: str, args: list[Any]) -> _Operand:
        self._arity(op, args, 1)
        a = self.operand(args[0])
        if a.type != "string":
            raise _bad("CASEI takes a string")
        return _Operand(f"lower({a.sql})", "string")

    def spatial(self, op: str, args: list[Any]) -> _Operand:
        self._arity(op, args, 2)
        a, b = self.operand(args[0]), self.operand(args[1])
        if a.type != "geometry" or b.type != "geometry":
            raise _bad(f"{op.upper()} compares geometries (the property 'geometry', a WKT "
                       "geometry or a BBOX)")
        return _Operand(f"({_SPATIAL[op].format(a=a.sql, b=b.sql)})", "boolean")

    def temporal(self, op: str, args: list[Any]) -> _Operand:
        self._arity(op, args, 2)
        a, b = self.operand(args[0]), self.operand(args[1])
        if a.span is None or b.span is None:
            raise _bad(f"{op.upper()} compares times: a date-time property, TIMESTAMP, DATE or "
                       "INTERVAL")
        sql = _TEMPORAL[op].format_map({"as": a.span[0], "ae": a.span[1], "bs": b.span[0],
                                        "be": b.span[1]})
        return _Operand(f"({sql})", "boolean")

    def array_op(self, op: str, args: list[Any]) -> _Operand:
        self._arity(op, args, 2)
        a, b = self.operand(args[0]), self.operand(args[1])
        if a.type != "array" or b.type != "array":
            raise _bad(f"{op.upper()} compares arrays")
        return _Operand(f"({a.sql} {_ARRAY[op]} {b.sql})", "boolean")

    def unsupported(self, op: str, args: list[Any]) -> _Operand:
        raise _bad(f"{op.upper()} is not supported (no accent folding in this database)")



def _same_kind(op: str, a: _Operand, b: _Operand) -> None:
    def kind(t: str) -> str:
        return "number" if t in _NUMERIC else t

    if "null" in (a.type, b.type):
        raise _bad(f"compare with NULL using IS NULL, not {op}")
    if kind(a.type) != kind(b.type) or a.type in ("geometry", "interval"):
        raise _bad(f"{op} cannot compare {a.type} with {b.type}")


def _when(text: Any, *, end: bool) -> datetime:
    """A CQL2 TIMESTAMP or DATE value as an aware datetime (a date: its first, or last, instant
    in UTC)."""
    if not isinstance(text, str):
        raise _bad(f"{text!r} is not a date or time")
    try:
        if "T" not in text.upper():
            start = datetime.combine(date.fromisoformat(text), time.min, UTC)
            return start + timedelta(days=1, microseconds=-1) if end else start
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"{text!r} is not an RFC 3339 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_sql(tree: Any, collection: Collection, filter_crs: Crs, *, alias: str = "t",
           prefix: str = "cql_") -> Filter:
    """The SQL condition of a CQL2-JSON tree on ``collection``'s table aliased ``alias``.

    Parameters
    ----------
    tree
        From :func:`parse`.
    collection
        Says which properties exist (its queryables), their columns and types.
    filter_crs
        The CRS of geometry literals (axis order included).
    prefix
        Names of the bound parameters (``:cql_0`` ...).

    Raises
    ------
    InvalidInput
        Field ``filter``: unknown property or operator, wrong number or types of arguments, an
        unreadable geometry or time.

    Examples
    --------
    >>> from gridsvc.domain.ogc.catalog import by_id
    >>> from gridsvc.domain.ogc.crs import DEFAULT
    >>> f = to_sql(parse("name LIKE '东%' AND households > 10"), by_id("grids"), DEFAULT)
    >>> f.sql, f.params
    ('((t.name LIKE :cql_0) AND (t.households > :cql_1))', {'cql_0': '东%', 'cql_1': 10.0})
    >>> to_sql(parse("colour = 'red'"), by_id("grids"), DEFAULT)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    gridsvc.errors.InvalidInput: 1 problem(s) in the input
    - field 'filter': unknown property 'colour'; queryables of grids: id, geometry, code, ...
    """
    translator = _Translator(collection, filter_crs, alias, prefix)
    return Filter(translator.predicate(tree), translator.params)
