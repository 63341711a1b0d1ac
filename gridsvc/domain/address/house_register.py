"""The house register (门牌登记) as a file: read its rows, check them all, return clean rows.

A register row names its village (business id, or the name as written: ``东灌底村``), its house
number as people write it (``203``, ``203-1``, ``203之1``, ``二百零三``, ``２０３``; read with the
address parser's number reader, see :mod:`gridsvc.domain.address.parser`) and a point. Every other
column is optional: ``sub_number, building, unit, room, aliases`` ("|"-separated),
``households, registered, residents, floating, is_rental, rental_stars, compound_id, id``.

:func:`check_register` finds **every** problem before anything is written, one
:class:`~gridsvc.errors.Problem` per row and field (rows counted as
:func:`gridsvc.domain.io.arrow_io.row_label` does), and nothing is fixed silently: a value that is
not what its column needs is reported, never dropped or guessed. The checks:

- the village exists (by id, else by exact name; a name two villages share is ambiguous);
- the number parses, with nothing left over (``203abc`` is a problem, not 203);
- the address key (village, number, sub-number, building, unit, room) is not taken by another
  row of the file (both rows named) or by a house of the register (its id named); an empty
  number means "not numbered yet" (stored as 0, numbered later by ``gridsvc houses number``)
  and is exempt, as unnumbered houses have no address to clash;
- the point exists, converts to CGCS2000 and lies within :data:`TOLERANCE_M` of its village's
  polygon (else the distance and the village that does cover it are said);
- counts are whole numbers >= 0, ``rental_stars`` is 1..5, ``is_rental`` is a yes/no word.

The module is pure: villages, their polygons and the register's keys come in as arguments.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from pyproj import Geod

from gridsvc.domain.address.house_numbers import read_numbers
from gridsvc.domain.assign.layers import Layer
from gridsvc.domain.geo.coords import InputCRS, check_lonlat, to_cgcs2000
from gridsvc.domain.io.arrow_io import ROW_NOTE, row_label
from gridsvc.errors import InvalidInput, Problem

#: An address key: village id, number, sub-number, building, unit, room.
Key = tuple[str, int, int | None, str | None, str | None, str | None]

#: How far (metres) a point may lie outside its village's polygon: boundaries are digitised to
#: about a metre, so a house drawn on the line is not a problem.
TOLERANCE_M = 1.0
#: Optional columns the register understands (the village and number columns are named by
#: the caller, as are the coordinate columns).
OPTIONAL = ("id", "sub_number", "building", "unit", "room", "aliases", "households",
            "registered", "residents", "floating", "is_rental", "rental_stars", "compound_id")
#: Counts and their value when the cell is empty (the column defaults of ``house``).
COUNTS = {"households": 1, "registered": 0, "residents": 0, "floating": 0}
#: Longest text each text column holds (the ``house`` table's column sizes).
MAX_LENGTH = {"id": 64, "building": 16, "unit": 16, "room": 16, "compound_id": 64,
              "aliases": 200}
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "是", "有", "出租"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "否", "无", "不出租"})
#: Most problems listed; past this the report says how many more there are.
MAX_PROBLEMS = 200

_GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid
_WHOLE = re.compile(r"[+-]?\d+")
# A house number starts with a digit or a Chinese numeral: "-5" is not house 5.
_NUMBER_START = re.compile("[0-9零〇一二两三四五六七八九十百千]")


def check_register(
    records: Sequence[Mapping[str, Any]],
    x: np.ndarray,
    y: np.ndarray,
    crs: InputCRS,
    villages: Mapping[str, str],
    village_layer: Layer | None,
    existing: Mapping[Key, str],
    existing_ids: Collection[str] = (),
    *,
    village_field: str = "village",
    number_field: str = "number",
    xy_field: str = "lon,lat",
) -> list[dict[str, Any]]:
    """Check register rows and return them ready to insert, or raise with every problem.

    Parameters
    ----------
    records
        The rows, one mapping of column -> value per row (text from CSV, typed values from
        GeoJSON/GeoParquet); missing keys and None are empty cells.
    x, y
        The rows' coordinates in ``crs`` (NaN where a row has none).
    crs
        The coordinates' CRS; points are stored in CGCS2000, the originals kept as
        ``src_x, src_y, src_crs``.
    villages
        Business id -> name of the villages of the plan in effect.
    village_layer
        Those villages' polygons (``LayerSet.layers["village"]``); None skips the point check
        (no plan has villages: then every village is unknown anyway).
    existing
        Address keys of the houses already in the register -> their business ids.
    existing_ids
        Business ids already taken (an ``id`` column value among them is a problem).
    village_field, number_field
        Columns of the village and the house number.
    xy_field
        What to call the coordinates in messages (the columns or the geometry column).

    Returns
    -------
    list of dict
        One per row, in file order: the ``house`` columns (``business_id`` None where the
        file gives no id), ``geom`` a shapely point in EPSG:4490.

    Raises
    ------
    InvalidInput
        With every problem found (up to :data:`MAX_PROBLEMS`), each naming its row and field.

    Examples
    --------
    >>> from gridsvc.domain.geo.coords import parse_input_crs
    >>> rows = check_register([{"village": "东灌底村", "number": "二百零三之1"}],
    ...                       np.array([119.0]), np.array([28.2]), parse_input_crs(4490),
    ...                       {"V01": "东灌底村"}, None, {})
    >>> rows[0]["address_village_id"], rows[0]["number"], rows[0]["sub_number"]
    ('V01', 203, 1)
    """
    problems: list[Problem] = []
    by_name = _villages_by_name(villages)
    lon, lat = to_cgcs2000(np.asarray(x, dtype=float), np.asarray(y, dtype=float), crs)
    has_xy = np.isfinite(np.asarray(x, dtype=float)) & np.isfinite(np.asarray(y, dtype=float))
    valid_xy = check_lonlat(lon, lat)
    rows: list[dict[str, Any]] = []
    for i, record in enumerate(records):
        row = _check_row(i, record, villages, by_name, village_field, number_field, problems)
        if not has_xy[i]:
            problems.append(Problem("no coordinates", row_label(i), xy_field))
        elif not valid_xy[i]:
            problems.append(Problem(
                f"({x[i]}, {y[i]}) in {crs.name} is not a possible position (converted: "
                f"({lon[i]}, {lat[i]})): is --crs right?", row_label(i), xy_field))
        row.update(geom=shapely.Point(float(lon[i]), float(lat[i])) if valid_xy[i] else None,
                   src_x=float(x[i]) if has_xy[i] else None,
                   src_y=float(y[i]) if has_xy[i] else None, src_crs=crs.name[:32])
        rows.append(row)
    if village_layer is not None:
        problems += _outside_village(rows, villages, village_layer, xy_field)
    problems += _duplicates(rows, existing, existing_ids, number_field)
    if problems:
        problems.sort(key=_row_order)
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            problems = [*problems[:MAX_PROBLEMS], Problem(f"... and {more:,} more problems")]
        # Said once, on the last line, as row_problems does, so the count stays the problems'.
        last = problems[-1]
        problems[-1] = Problem(f"{last.message} (nothing was imported; {ROW_NOTE})",
                               last.feature, last.field)
        raise InvalidInput(problems)
    for row in rows:
        row.pop("_row")
    return rows


def given_ids(records: Sequence[Mapping[str, Any]]) -> set[str]:
    """The business ids the rows give (column ``id``), read as :func:`check_register` reads
    them, so the caller can ask the register which are taken before checking.

    >>> sorted(given_ids([{"id": " H1 "}, {"id": ""}, {}, {"id": "Ｈ２"}]))
    ['H1', 'H2']
    """
    return {_text(r["id"]) for r in records if not _empty(r.get("id"))}


def parse_house_number(text: str) -> tuple[int, int | None]:
    """A house number as written: ``(number, sub_number)``.

    Full-width digits and Chinese numerals are read; a sub-number follows ``-``, ``之``, ``附``
    (``号之一`` too). Anything else in the text is an error, not ignored.

    Raises
    ------
    ValueError
        When the text is not a house number (the message says why).

    Examples
    --------
    >>> [parse_house_number(s) for s in ("203", "203-1", "203之1", "二百零三", "２０３号")]
    [(203, None), (203, 1), (203, 1), (203, None), (203, None)]
    >>> parse_house_number("203abc")
    Traceback (most recent call last):
    ...
    ValueError: '203abc' is not a house number (left over: abc)
    """
    norm = unicodedata.normalize("NFKC", text).strip()
    if not norm or not _NUMBER_START.match(norm):
        raise ValueError(f"{text!r} is not a house number")
    # The address parser's number reader: one grammar for numbers typed by dispatchers and
    # numbers in the register, so a house imported as "203之1" is found when "203-1" is said.
    parsed = read_numbers(norm)
    left = [r.removeprefix("ignored: ") for r in parsed.reasons if r.startswith("ignored: ")]
    if left:
        raise ValueError(f"{text!r} is not a house number (left over: {''.join(left)})")
    if parsed.building is not None or parsed.unit is not None or parsed.room is not None:
        raise ValueError(f"{text!r} holds a building, unit or room: put them in the building, "
                         "unit and room columns")
    if parsed.number is None:
        raise ValueError(f"{text!r} is not a house number")
    if parsed.number < 1:
        raise ValueError(f"{text!r}: house numbers start at 1 (leave it empty for a house "
                         "not numbered yet)")
    return parsed.number, parsed.sub_number


def parse_bool(value: Any) -> bool:
    """A yes/no cell: true/false, yes/no, 1/0, 是/否 (case ignored).

    >>> [parse_bool(v) for v in ("true", "0", "是", "否", True, 1)]
    [True, False, True, False, True, True]
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{value!r} is not yes or no (say true/false, 1/0 or 是/否)")


def parse_whole(value: Any) -> int:
    """A whole number cell: ``3``, ``"3"``, ``3.0``, ``"３"``; not ``3.5`` or ``"three"``.

    >>> parse_whole(" ３ "), parse_whole(4.0), parse_whole("-2")
    (3, 4, -2)
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise ValueError(f"{value!r} is not a whole number")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"{value!r} is not a whole number")
    return int(text)


# -- one row --------------------------------------------------------------------------------
def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a building 7 read as 7.0 from a typed file is "7"
    return unicodedata.normalize("NFKC", str(value)).strip()


def _villages_by_name(villages: Mapping[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for vid, name in sorted(villages.items()):
        out.setdefault(_text(name), []).append(vid)
    return out


def _check_row(i: int, record: Mapping[str, Any], villages: Mapping[str, str],
               by_name: Mapping[str, list[str]], village_field: str, number_field: str,
               problems: list[Problem]) -> dict[str, Any]:
    where = row_label(i)

    def bad(field: str, message: str) -> None:
        problems.append(Problem(message, where, field))

    row: dict[str, Any] = {"_row": i, "business_id": None, "address_village_id": None,
                           "number": 0, "sub_number": None}
    village = record.get(village_field)
    if _empty(village):
        bad(village_field, "no village")
    else:
        text = _text(village)
        named = by_name.get(text, [])
        if text in villages:
            row["address_village_id"] = text
        elif len(named) == 1:
            row["address_village_id"] = named[0]
        elif named:
            bad(village_field, f"{village!r} names {len(named)} villages ({', '.join(named)}): "
                               "give the village's id")
        else:
            bad(village_field, f"no village {village!r} in the plan in effect (give its id or "
                               "its name as the plan writes it)")
    number = record.get(number_field)
    if not _empty(number):
        try:
            row["number"], row["sub_number"] = parse_house_number(_text(number))
        except ValueError as exc:
            bad(number_field, str(exc))
    sub = record.get("sub_number")
    if not _empty(sub):
        try:
            value = parse_whole(sub)
        except ValueError as exc:
            bad("sub_number", str(exc))
        else:
            if value < 1:
                bad("sub_number", f"{sub!r}: sub-numbers start at 1")
            elif row["sub_number"] not in (None, value):
                bad("sub_number", f"{value} contradicts the sub-number {row['sub_number']} "
                                  f"in the number {number!r}")
            else:
                row["sub_number"] = value
    for field in ("id", "building", "unit", "room", "compound_id"):
        value = record.get(field)
        text = None if _empty(value) else _text(value)
        if text is not None and len(text) > MAX_LENGTH[field]:
            bad(field, f"longer than {MAX_LENGTH[field]} characters")
        row["business_id" if field == "id" else field] = text
    aliases = record.get("aliases")
    alias_list = [] if _empty(aliases) else [
        a for a in (_text(part) for part in str(aliases).split("|")) if a]
    for a in alias_list:
        if len(a) > MAX_LENGTH["aliases"]:
            bad("aliases", f"alias {a[:20]!r}... is longer than {MAX_LENGTH['aliases']} "
                           "characters")
    row["aliases"] = alias_list
    for field, default in COUNTS.items():
        value = record.get(field)
        row[field] = default
        if _empty(value):
            continue
        try:
            count = parse_whole(value)
        except ValueError as exc:
            bad(field, str(exc))
            continue
        if count < 0:
            bad(field, f"{count} is negative: counts are 0 or more")
        row[field] = count
    rental = record.get("is_rental")
    row["is_rental"] = False
    if not _empty(rental):
        try:
            row["is_rental"] = parse_bool(rental)
        except ValueError as exc:
            bad("is_rental", str(exc))
    stars = record.get("rental_stars")
    row["rental_stars"] = None
    if not _empty(stars):
        try:
            row["rental_stars"] = parse_whole(stars)
        except ValueError as exc:
            bad("rental_stars", str(exc))
        else:
            if not 1 <= row["rental_stars"] <= 5:
                bad("rental_stars", f"{row['rental_stars']} is outside 1..5")
    return row


# -- across rows ----------------------------------------------------------------------------
def _outside_village(rows: list[dict[str, Any]], villages: Mapping[str, str], layer: Layer,
                     field: str) -> list[Problem]:
    """Rows whose point is more than :data:`TOLERANCE_M` outside their village's polygon."""
    position = {vid: k for k, vid in enumerate(layer.ids)}
    todo = [r for r in rows if r["geom"] is not None and r["address_village_id"] in position]
    if not todo:
        return []
    points = np.array([r["geom"] for r in todo], dtype=object)
    polygons = layer.index.geoms[[position[r["address_village_id"]] for r in todo]]
    outside = np.flatnonzero(~shapely.covers(polygons, points))
    if len(outside) == 0:
        return []
    ends = shapely.get_coordinates(
        shapely.shortest_line(points[outside], polygons[outside])).reshape(-1, 4)
    metres = _GEOD.inv(ends[:, 0], ends[:, 1], ends[:, 2], ends[:, 3])[2]
    xy = shapely.get_coordinates(points[outside])
    covering = layer.assign(xy[:, 0], xy[:, 1])
    problems = []
    for k, dist, cover in zip(outside, metres, covering, strict=True):
        if dist <= TOLERANCE_M:
            continue
        row = todo[k]
        vid = row["address_village_id"]
        instead = (f"it is in {villages.get(layer.ids[cover], '')} ({layer.ids[cover]})"
                   if cover >= 0 else "no village covers it")
        problems.append(Problem(
            f"the point is {dist:,.0f} m outside {villages[vid]} ({vid}); {instead}",
            row_label(row["_row"]), field))
    return problems


def _key(row: Mapping[str, Any]) -> Key:
    return (row["address_village_id"], row["number"], row["sub_number"], row["building"],
            row["unit"], row["room"])


def _label(key: Key) -> str:
    _, number, sub, building, unit, room = key
    text = f"{number}" + (f"-{sub}" if sub is not None else "")
    for part, word in ((building, "building"), (unit, "unit"), (room, "room")):
        if part is not None:
            text += f" {word} {part}"
    return text


def _duplicates(rows: list[dict[str, Any]], existing: Mapping[Key, str],
                existing_ids: Collection[str], number_field: str) -> list[Problem]:
    """Addresses and ids that clash within the file or with the register."""
    problems = []
    first_key: dict[Key, int] = {}
    first_id: dict[str, int] = {}
    taken = set(existing_ids)
    for row in rows:
        i, where = row["_row"], row_label(row["_row"])
        bid = row["business_id"]
        if bid is not None:
            if bid in taken:
                problems.append(Problem(f"house {bid} is already in the register", where, "id"))
            elif bid in first_id:
                problems.append(Problem(f"id {bid} is also given to "
                                        f"{row_label(first_id[bid])}", where, "id"))
            else:
                first_id[bid] = i
        if row["address_village_id"] is None or row["number"] == 0:
            continue  # unknown village (reported) or not numbered yet: no address to clash
        key = _key(row)
        if key in existing:
            problems.append(Problem(
                f"{_label(key)} in {key[0]} is already house {existing[key]} of the register",
                where, number_field))
        elif key in first_key:
            problems.append(Problem(
                f"{_label(key)} in {key[0]} is also {row_label(first_key[key])}",
                where, number_field))
        else:
            first_key[key] = i
    return problems


def _row_order(p: Problem) -> tuple[int, int]:
    """Problems of the whole input first, then by row (sort is stable within a row)."""
    if p.feature is None or not p.feature.startswith("row "):
        return (0, 0)
    return (1, int(p.feature.removeprefix("row ")))
