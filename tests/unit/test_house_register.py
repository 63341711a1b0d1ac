"""The house register's pure checks: number parsing, values, duplicates, points in villages."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gridsvc.domain.address.house_register import (
    check_register,
    parse_bool,
    parse_house_number,
    parse_whole,
)
from gridsvc.domain.assign.layers import Layer
from gridsvc.domain.geo.coords import parse_input_crs
from gridsvc.errors import InvalidInput

WGS84 = parse_input_crs(4326)
VILLAGES = {"V1": "东灌底村", "V2": "西灌底村", "V3": "同名村", "V4": "同名村"}
# Two side-by-side villages of about 1 km x 1 km near 28.2N: V2 west, V1 east.
POLYGONS = {"V2": shapely.box(119.00, 28.20, 119.01, 28.21),
            "V1": shapely.box(119.01, 28.20, 119.02, 28.21)}
LAYER = Layer.build("village", list(POLYGONS), list(POLYGONS.values()), 4490)
IN_V1 = (119.015, 28.205)
IN_V2 = (119.005, 28.205)


def _check(records, points, existing=None, existing_ids=(), **kw):
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    return check_register(records, x, y, WGS84, VILLAGES, LAYER, existing or {}, existing_ids,
                          **kw)


def _problems(records, points, **kw) -> list[tuple[str | None, str | None, str]]:
    with pytest.raises(InvalidInput) as info:
        _check(records, points, **kw)
    return [(p.feature, p.field, p.message) for p in info.value.problems]


@pytest.mark.parametrize(("text", "expected"), [
    ("203", (203, None)), ("203-1", (203, 1)), ("203之1", (203, 1)), ("203附2", (203, 2)),
    ("二百零三", (203, None)), ("２０３", (203, None)), ("203号", (203, None)),
    ("二百零三号之一", (203, 1)), (" 17 ", (17, None)),
])
def test_house_numbers_as_written(text, expected):
    assert parse_house_number(text) == expected


@pytest.mark.parametrize("text", ["abc", "203abc", "-5", "0", "7幢", "", "203 7幢2单元"])
def test_not_house_numbers(text):
    with pytest.raises(ValueError):
        parse_house_number(text)


def test_bools_and_whole_numbers():
    assert [parse_bool(v) for v in ("TRUE", "false", "1", "0", "是", "否", 1, 0.0)] == [
        True, False, True, False, True, False, True, False]
    with pytest.raises(ValueError):
        parse_bool("maybe")
    assert [parse_whole(v) for v in ("3", 4, 5.0, "６", "-1")] == [3, 4, 5, 6, -1]
    for bad in ("3.5", 3.5, "three", True, float("nan")):
        with pytest.raises(ValueError):
            parse_whole(bad)


def test_clean_rows_come_back_ready_to_insert():
    rows = _check(
        [{"village": "东灌底村", "number": "203之1", "aliases": "老宅| 祠堂旁 |",
          "households": "2", "registered": "5", "residents": "4", "floating": "1",
          "is_rental": "是", "rental_stars": "3", "building": "７", "id": "HX1"},
         {"village": "V2", "number": "二百零三", "sub_number": "", "is_rental": ""},
         {"village": "V1", "number": ""}],
        [IN_V1, IN_V2, IN_V1])
    first, second, third = rows
    assert first["business_id"] == "HX1" and first["address_village_id"] == "V1"
    assert (first["number"], first["sub_number"], first["building"]) == (203, 1, "7")
    assert first["aliases"] == ["老宅", "祠堂旁"]
    assert (first["households"], first["registered"], first["residents"],
            first["floating"]) == (2, 5, 4, 1)
    assert first["is_rental"] is True and first["rental_stars"] == 3
    assert (first["src_x"], first["src_y"], first["src_crs"]) == (*IN_V1, "EPSG:4326")
    assert first["geom"].equals(shapely.Point(*IN_V1))
    # defaults of the house table for empty cells; no id -> the service gives one
    assert second["business_id"] is None and second["address_village_id"] == "V2"
    assert (second["households"], second["residents"], second["is_rental"]) == (1, 0, False)
    assert second["rental_stars"] is None
    # an empty number is "not numbered yet"
    assert third["number"] == 0
    assert "_row" not in first


def test_every_problem_is_reported_with_its_row_and_field():
    problems = _problems(
        [{"village": "南灌底村", "number": "203"},  # row 1: unknown village
         {"village": "V1", "number": "20三x"},  # row 2: number does not parse
         {"village": "V1", "number": "300"},  # row 3: duplicate of row 4's key
         {"village": "东灌底村", "number": "300"},  # row 4
         {"village": "V1", "number": "301"},  # row 5: already in the register
         {"village": "V1", "number": "302"},  # row 6: point in V2, far outside V1
         {"village": "V1", "number": "303"},  # row 7: no coordinates
         {"village": "V1", "number": "304", "rental_stars": "6"},  # row 8
         {"village": "V1", "number": "305", "residents": "-2"},  # row 9
         {"village": "V1", "number": "306", "is_rental": "maybe"},  # row 10
         {"village": "同名村", "number": "1"}],  # row 11: ambiguous name
        [IN_V1, IN_V1, IN_V1, IN_V1, IN_V1, IN_V2, (np.nan, np.nan), IN_V1, IN_V1, IN_V1,
         IN_V1],
        existing={("V1", 301, None, None, None, None): "H00042"})
    where = {(f, fld) for f, fld, _ in problems}
    assert {("row 1", "village"), ("row 2", "number"), ("row 4", "number"),
            ("row 5", "number"), ("row 6", "lon,lat"), ("row 7", "lon,lat"),
            ("row 8", "rental_stars"), ("row 9", "residents"), ("row 10", "is_rental"),
            ("row 11", "village")} <= where
    text = {(f, fld): m for f, fld, m in problems}
    assert "row 3" in text["row 4", "number"]
    assert "H00042" in text["row 5", "number"]
    assert "outside 东灌底村 (V1)" in text["row 6", "lon,lat"]
    assert "西灌底村 (V2)" in text["row 6", "lon,lat"]
    assert "V3, V4" in text["row 11", "village"]
    # rows in order; the last line says nothing was imported
    rows = [int(f.split()[1]) for f, _, _ in problems if f]
    assert rows == sorted(rows)
    assert len(problems) == 10 and "nothing was imported" in problems[-1][2]


def test_point_distance_tolerance_and_uncovered_points():
    # ~0.5 m east of V1's east edge is fine; ~100 m east is not, and no village covers it.
    metre = 1 / (111_320 * np.cos(np.radians(28.205)))
    rows = _check([{"village": "V1", "number": "1"}], [(119.02 + 0.5 * metre, 28.205)])
    assert rows[0]["address_village_id"] == "V1"
    problems = _problems([{"village": "V1", "number": "1"}], [(119.02 + 100 * metre, 28.205)])
    assert "100 m outside" in problems[0][2] and "no village covers it" in problems[0][2]


def test_ids_clash_with_file_and_register():
    problems = _problems(
        [{"village": "V1", "number": "1", "id": "H1"},
         {"village": "V1", "number": "2", "id": "H1"},
         {"village": "V1", "number": "3", "id": "H9"}],
        [IN_V1] * 3, existing_ids={"H9"})
    text = {(f, fld): m for f, fld, m in problems}
    assert "row 1" in text["row 2", "id"]
    assert "already in the register" in text["row 3", "id"]


def test_sub_number_column_and_number_must_agree():
    rows = _check([{"village": "V1", "number": "5", "sub_number": "2"}], [IN_V1])
    assert (rows[0]["number"], rows[0]["sub_number"]) == (5, 2)
    problems = _problems([{"village": "V1", "number": "5-1", "sub_number": "2"}], [IN_V1])
    assert problems[0][:2] == ("row 1", "sub_number")


def test_same_number_different_building_is_not_a_duplicate():
    rows = _check([{"village": "V1", "number": "8", "building": "1"},
                   {"village": "V1", "number": "8", "building": "2"},
                   {"village": "V1", "number": ""}, {"village": "V1", "number": ""}],
                  [IN_V1] * 4)
    assert len(rows) == 4


def test_other_crs_converted_and_original_kept():
    gcj = parse_input_crs("gcj02")
    rows = check_register([{"village": "V1", "number": "1"}], np.array([IN_V1[0]]),
                          np.array([IN_V1[1]]), gcj, VILLAGES, None, {})
    assert rows[0]["src_crs"] == "gcj02" and rows[0]["src_x"] == IN_V1[0]
    assert rows[0]["geom"].x != IN_V1[0]  # GCJ-02 is offset a few hundred metres
