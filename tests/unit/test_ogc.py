"""The pure parts of the OGC API: CQL2 to SQL, CRS URIs and axis order, /items parameters."""

from __future__ import annotations

import json

import pytest

from gridsvc.domain.ogc import crs, filters
from gridsvc.domain.ogc.catalog import by_id
from gridsvc.domain.ogc.query import parse_items
from gridsvc.errors import InvalidInput

GRIDS, INCIDENTS, HOUSES = by_id("grids"), by_id("incidents"), by_id("houses")


def sql(text: str, collection=GRIDS, filter_crs=crs.DEFAULT):
    return filters.to_sql(filters.parse(text), collection, filter_crs)


def test_every_value_is_a_parameter():
    f = sql("name = 'a''b' OR code IN ('1', '2') OR households BETWEEN 1 AND 9")
    assert "'" not in f.sql
    assert sorted(f.params.values(), key=str) == sorted(["a'b", "1", "2", 1.0, 9.0], key=str)


def test_text_and_json_give_the_same_sql():
    text = "S_INTERSECTS(geometry, BBOX(119, 28, 119.1, 28.1)) AND NOT name LIKE 'x%'"
    as_json = json.dumps(filters.parse(text))
    assert filters.to_sql(filters.parse(as_json, "cql2-json"), GRIDS, crs.DEFAULT).sql == (
        sql(text).sql)


def test_geometry_literals_follow_the_filter_crs_axis_order():
    lat_lon = sql("S_INTERSECTS(geometry, POINT(28.2 119.0))", filter_crs=crs.epsg(4326))
    lon_lat = sql("S_INTERSECTS(geometry, POINT(119.0 28.2))")
    assert lat_lon.params["cql_0"] == lon_lat.params["cql_0"]
    metric = sql("S_WITHIN(geometry, BBOX(3100000, 400000, 3200000, 500000))",
                 filter_crs=crs.epsg(4549))
    assert "ST_Transform" in metric.sql
    assert [metric.params[f"cql_{i}"] for i in range(4)] == [400000, 3100000, 500000, 3200000]


@pytest.mark.parametrize(("op", "expected"), [
    ("T_AFTER", "t.occurred_at > :cql_1"), ("T_BEFORE", "t.occurred_at < :cql_0"),
    ("T_DURING", "t.occurred_at > :cql_0 AND t.occurred_at < :cql_1"),
])
def test_temporal_relations_on_an_instant_property(op, expected):
    f = sql(f"{op}(occurred_at, INTERVAL('2026-01-01', '2026-01-31'))", INCIDENTS)
    assert expected in f.sql
    assert f.params["cql_1"].isoformat().startswith("2026-01-31T23:59:59")


def test_open_intervals_use_infinity_constants():
    f = sql("T_INTERSECTS(occurred_at, INTERVAL('..', '2026-01-31T00:00:00Z'))", INCIDENTS)
    assert "-infinity" in f.sql and len(f.params) == 1


def test_arrays_and_booleans():
    f = sql("A_CONTAINS(aliases, ('东灌底村3号')) AND is_rental", HOUSES)
    assert "t.aliases @> CAST(:cql_0 AS varchar[])" in f.sql and "t.is_rental" in f.sql


@pytest.mark.parametrize(("text", "words"), [
    ("name = ", "line 1, column 8"),
    ("name = 'x' AND\n (code = ", "line 2, column 10"),
    ("nope = 1", "unknown property 'nope'"),
    ("households = 'many'", "cannot compare integer with string"),
    ("name", "is not a condition"),
    ("ACCENTI(name) = 'x'", "not supported"),
    ("T_AFTER(name, TIMESTAMP('2026-01-01T00:00:00Z'))", "compares times"),
])
def test_errors_say_where_and_what(text, words):
    with pytest.raises(InvalidInput) as exc:
        sql(text)
    assert exc.value.problems[0].field == "filter"
    assert words in exc.value.problems[0].message


def test_crs_parse_and_axis_order():
    offered = crs.offered("EPSG:4549")
    assert crs.parse("http://www.opengis.net/def/crs/EPSG/0/4490", offered, field="crs").lat_first
    assert not crs.parse("EPSG:3857", offered, field="crs").lat_first
    assert crs.parse("<http://www.opengis.net/def/crs/EPSG/0/4549>", offered,
                     field="crs").lat_first  # Gauss-Kruger zones are northing first
    with pytest.raises(InvalidInput, match="not offered"):
        crs.parse("http://www.opengis.net/def/crs/EPSG/0/2154", offered, field="crs")
    assert crs.swap_axes({"type": "MultiPolygon", "coordinates": [[[[1, 2], [3, 4]]]]}) == {
        "type": "MultiPolygon", "coordinates": [[[[2, 1], [4, 3]]]]}


def test_items_parameters_report_every_problem_at_once():
    with pytest.raises(InvalidInput) as exc:
        parse_items({"limit": ["0"], "bbox": ["1,2"], "wat": ["1"], "number": ["x"]}, HOUSES,
                    crs.offered(None))
    assert {p.field for p in exc.value.problems} == {"limit", "bbox", "wat", "number"}
    q = parse_items({"bbox": ["28,119,29,120"], "bbox-crs": [crs.epsg(4326).uri],
                     "number": ["7"], "datetime": ["2026-05-01T08:00:00+08:00"]}, HOUSES,
                    crs.offered(None))
    assert q.bbox == (119.0, 28.0, 120.0, 29.0) and q.equals == {"number": 7}
    assert q.datetime.day.isoformat() == "2026-05-01"
