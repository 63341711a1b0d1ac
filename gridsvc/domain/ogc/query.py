"""The query parameters of ``/items``: read, checked, and turned into one :class:`ItemsQuery`.

Every mistake is an :class:`~gridsvc.errors.InvalidInput` naming the parameter (the API answers
400, as OGC API Features asks); a parameter the API does not define is one too
(``/req/core/query-param-unknown``), except a queryable property, which filters by equality
(``/req/queryables-query-parameters``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from gridsvc.domain.ogc import crs as crs_mod
from gridsvc.domain.ogc.catalog import Collection
from gridsvc.domain.ogc.crs import Crs
from gridsvc.errors import InvalidInput, Problem

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: Parameters of ``/items`` besides the queryables.
ITEMS_PARAMETERS = ("f", "limit", "offset", "bbox", "bbox-crs", "datetime", "properties", "crs",
                    "filter", "filter-lang", "filter-crs", "plan")


def bad(message: str, field: str) -> InvalidInput:
    return InvalidInput([Problem(message, field=field)])


@dataclass(frozen=True)
class Interval:
    """A ``datetime`` value: an instant (``start == end``) or an interval; None is open."""

    start: datetime | None
    end: datetime | None
    #: The day an instant falls on, as written (its own UTC offset); None for an interval.
    day: date | None = None

    @property
    def is_instant(self) -> bool:
        return self.day is not None


@dataclass(frozen=True)
class ItemsQuery:
    """A checked ``/items`` request. ``bbox`` is lon/lat (or x/y) in ``bbox_crs`` order fixed:
    always x first. ``equals`` holds the queryable=value pairs, values already typed."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs = crs_mod.DEFAULT
    datetime: Interval | None = None
    properties: tuple[str, ...] | None = None
    crs: Crs = crs_mod.DEFAULT
    filter: str | None = None
    filter_lang: str = "cql2-text"
    filter_crs: Crs = crs_mod.DEFAULT
    equals: dict[str, Any] = field(default_factory=dict)
    plan: int | None = None


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise bad(f"give '{name}' once", name)
    return values[0]


def parse_int(value: str, name: str, *, minimum: int = 0) -> int:
    """A whole number of at least ``minimum``.

    >>> parse_int("10", "limit")
    10
    """
    text = value.strip()
    if not text.lstrip("-").isdigit() or int(text) < minimum:
        raise bad(f"must be a whole number of at least {minimum}, not {value!r}", name)
    return int(text)


def parse_limit(value: str | None) -> int:
    """``limit``: 1 to :data:`MAX_LIMIT` (a larger one is cut to it, as the standard allows).

    >>> parse_limit(None), parse_limit("50000")
    (100, 10000)
    """
    if value is None:
        return DEFAULT_LIMIT
    return min(parse_int(value, "limit", minimum=1), MAX_LIMIT)


def parse_bbox(value: str, bbox_crs: Crs) -> tuple[float, float, float, float]:
    """``bbox``: four numbers (six with heights, which are ignored) in the axis order of
    ``bbox_crs``; returned x first.

    Raises
    ------
    InvalidInput
        Not 4 or 6 finite numbers, or a lower corner above the upper one.

    >>> parse_bbox("28,119,29,120", crs_mod.epsg(4326))
    (119.0, 28.0, 120.0, 29.0)
    """
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        raise bad(f"must be 4 numbers separated by commas, not {value!r}", "bbox") from None
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise bad(f"must be 4 (or 6) numbers separated by commas, not {value!r}", "bbox")
    if bbox_crs.lat_first:
        numbers = crs_mod.swap_bbox(numbers)
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    x0, y0, x1, y1 = numbers
    if x0 > x1 or y0 > y1:
        raise bad("the lower corner must come first (min x, min y, max x, max y in the axis "
                  "order of bbox-crs); a box across the antimeridian is not supported", "bbox")
    return x0, y0, x1, y1


def _instant(text: str, *, end: bool) -> tuple[datetime, date]:
    """An RFC 3339 date-time (with its offset), or a date: its first instant, or its last when
    ``end`` (an interval's end date includes the whole day)."""
    try:
        if "T" not in text.upper():
            day = date.fromisoformat(text)
            start = datetime.combine(day, time.min, UTC)
            return (start + timedelta(days=1, microseconds=-1) if end else start), day
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise bad(f"{text!r} is not an RFC 3339 date-time (2026-01-31T08:00:00+08:00) or date",
                  "datetime") from None
    if value.tzinfo is None:
        raise bad(f"{text!r} has no UTC offset: add Z or +08:00", "datetime")
    return value, value.date()


def parse_datetime(value: str) -> Interval:
    """``datetime``: an instant, or ``start/end`` with ``..`` (or nothing) for an open end.

    >>> parse_datetime("2026-01-31").day
    datetime.date(2026, 1, 31)
    >>> parse_datetime("../2026-01-31T00:00:00Z").start is None
    True
    """
    text = value.strip()
    if "/" not in text:
        start, day = _instant(text, end=False)
        if "T" not in text.upper():
            return Interval(start, _instant(text, end=True)[0], day)
        return Interval(start, start, day)
    first, _, second = text.partition("/")
    start = None if first in ("", "..") else _instant(first, end=False)[0]
    stop = None if second in ("", "..") else _instant(second, end=True)[0]
    if start is None and stop is None:
        raise bad("an interval needs at least one end", "datetime")
    if start is not None and stop is not None and start > stop:
        raise bad("the interval ends before it starts", "datetime")
    return Interval(start, stop)


def parse_properties(value: str, collection: Collection) -> tuple[str, ...]:
    """``properties``: names of properties to return (none when empty).

    >>> from gridsvc.domain.ogc.catalog import by_id
    >>> parse_properties("name, code", by_id("grids"))
    ('name', 'code')
    """
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    unknown = [n for n in names if collection.prop(n) is None]
    if unknown:
        raise bad(f"unknown {', '.join(map(repr, unknown))}; properties of {collection.id}: "
                  f"{', '.join(p.name for p in collection.properties)}", "properties")
    return names


def typed_value(collection: Collection, name: str, value: str) -> Any:
    """The value of ``name=value`` as the property's type (for equality filters).

    >>> from gridsvc.domain.ogc.catalog import by_id
    >>> typed_value(by_id("houses"), "is_rental", "true"), typed_value(by_id("houses"),
    ...                                                                 "number", "12")
    (True, 12)
    """
    prop = collection.prop(name)
    assert prop is not None
    if prop.type == "integer":
        return parse_int(value, name, minimum=-(2**31))
    if prop.type == "number":
        try:
            return float(value)
        except ValueError:
            raise bad(f"must be a number, not {value!r}", name) from None
    if prop.type == "boolean":
        if value.lower() not in ("true", "false"):
            raise bad(f"must be true or false, not {value!r}", name)
        return value.lower() == "true"
    if prop.format == "date-time":
        return _instant(value, end=False)[0]
    if prop.type == "array":
        raise bad("an array property cannot be filtered by equality: use a filter "
                  "(A_CONTAINS)", name)
    return value


def parse_items(params: Mapping[str, Sequence[str]], collection: Collection,
                offered: Sequence[Crs]) -> ItemsQuery:
    """Read every ``/items`` parameter (a multi-dict: name -> values).

    Raises
    ------
    InvalidInput
        One problem per bad parameter, each naming it (unknown parameters included).
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}

    def attempt(name: str, fn: Any) -> None:
        try:
            values[name] = fn()
        except InvalidInput as exc:
            problems.extend(exc.problems)

    for name in params:
        if name not in ITEMS_PARAMETERS and collection.prop(name) is None:
            problems.append(Problem(
                f"unknown parameter; parameters are {', '.join(ITEMS_PARAMETERS)} and the "
                f"queryables of {collection.id} (see its /queryables)", field=name))
    get = lambda name: _one(params, name)  # noqa: E731 - a short local alias
    attempt("limit", lambda: parse_limit(get("limit")))
    attempt("offset", lambda: parse_int(get("offset") or "0", "offset"))
    attempt("crs", lambda: crs_mod.parse(get("crs"), offered, field="crs")
            if get("crs") else crs_mod.DEFAULT)
    attempt("bbox_crs", lambda: crs_mod.parse(get("bbox-crs"), offered, field="bbox-crs")
            if get("bbox-crs") else crs_mod.DEFAULT)
    attempt("filter_crs", lambda: crs_mod.parse(get("filter-crs"), offered, field="filter-crs")
            if get("filter-crs") else crs_mod.DEFAULT)
    if (box := get("bbox")) is not None and "bbox_crs" in values:
        attempt("bbox", lambda: parse_bbox(box, values["bbox_crs"]))
    if (when := get("datetime")) is not None:
        attempt("datetime", lambda: parse_datetime(when))
    if (props := get("properties")) is not None:
        attempt("properties", lambda: parse_properties(props, collection))
    if (plan := get("plan")) is not None:
        attempt("plan", lambda: parse_int(plan, "plan", minimum=1))
    lang = (get("filter-lang") or "cql2-text").strip().lower()
    if lang not in ("cql2-text", "cql2-json"):
        problems.append(Problem("must be cql2-text or cql2-json", field="filter-lang"))
    equals: dict[str, Any] = {}
    for name in params:
        if collection.prop(name) is not None and name not in ITEMS_PARAMETERS:
            try:
                equals[name] = typed_value(collection, name, _one(params, name) or "")
            except InvalidInput as exc:
                problems.extend(exc.problems)
    if problems:
        raise InvalidInput(problems)
    return ItemsQuery(filter=get("filter"), filter_lang=lang, equals=equals, **values)
