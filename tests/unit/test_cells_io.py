"""Unit tests of gridsvc.domain.io.cells_io: reading and checking cell files (no database)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon, box

from gridsvc.domain.io.cells_io import FieldMap, read_cells, read_vector
from gridsvc.errors import InvalidInput, Problem
from tests.conftest import CHICAGO

pytestmark = pytest.mark.filterwarnings("ignore:Could not parse column:UserWarning")


EPSG_4490 = CRS.from_epsg(4490)
COLUMNS = ["business_id", "name", "code", "parent_id", "households", "residents", "attrs",
           "geometry"]

# Small squares in Zhejiang (lon, lat), well inside the valid range.
SQ1 = [[119.00, 28.20], [119.01, 28.20], [119.01, 28.21], [119.00, 28.21], [119.00, 28.20]]
SQ2 = [[119.02, 28.20], [119.03, 28.20], [119.03, 28.21], [119.02, 28.21], [119.02, 28.20]]
SQ3 = [[119.04, 28.20], [119.05, 28.20], [119.05, 28.21], [119.04, 28.21], [119.04, 28.20]]


# -- helpers ------------------------------------------------------------------------------------
def polygon(ring: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


def feature(props: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_geojson(path: Path, features: list[dict[str, Any]],
                  crs_name: str | None = None) -> Path:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs_name:
        doc["crs"] = {"type": "name", "properties": {"name": crs_name}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def problems_of(exc: pytest.ExceptionInfo[InvalidInput]) -> list[Problem]:
    return list(exc.value.problems)


def find(problems: list[Problem], *, field: str | None = None, feature: str | None = None,
         text: str | None = None) -> list[Problem]:
    """The problems matching every given criterion (``text`` is a substring of the message)."""
    return [p for p in problems
            if (field is None or p.field == field)
            and (feature is None or p.feature == feature)
            and (text is None or text in p.message)]


def good_gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "gid": ["G1", "G2", "G3"],
            "label": ["North", "South", "East"],
            "households": [10, 20, 0],
            "residents": [25, 41, 0],
            "colour": ["red", "green", "blue"],
            "score": [1.5, 2.5, 3.5],
        },
        geometry=[Polygon(SQ1), Polygon(SQ2), Polygon(SQ3)],
        crs="EPSG:4326",
    )


# -- good files ---------------------------------------------------------------------------------
def test_good_geojson_columns_crs_and_geometry(tmp_path: Path) -> None:
    path = tmp_path / "cells.geojson"
    good_gdf().to_file(path, driver="GeoJSON")

    cells = read_cells(path, FieldMap(id_field="gid", name_field="label"))

    assert list(cells.columns) == COLUMNS
    assert CRS.from_user_input(cells.crs).equals(EPSG_4490)
    assert cells.crs.to_epsg() == 4490
    assert list(cells["business_id"]) == ["G1", "G2", "G3"]
    assert list(cells["name"]) == ["North", "South", "East"]
    assert list(cells["households"]) == [10, 20, 0]
    assert list(cells["residents"]) == [25, 41, 0]
    assert all(isinstance(g, MultiPolygon) for g in cells.geometry)
    assert set(cells.geometry.geom_type) == {"MultiPolygon"}
    # WGS84 -> CGCS2000 is a null transformation in PROJ: the vertices stay put.
    assert cells.geometry.iloc[0].equals_exact(MultiPolygon([Polygon(SQ1)]), 1e-9)


def test_name_falls_back_to_id_and_extra_columns_land_in_attrs(tmp_path: Path) -> None:
    path = tmp_path / "cells.geojson"
    good_gdf().to_file(path, driver="GeoJSON")

    cells = read_cells(path, FieldMap(id_field="gid"))

    assert list(cells["name"]) == ["G1", "G2", "G3"]
    assert cells["code"].isna().all()
    assert cells["parent_id"].isna().all()
    # 'label' is not mapped here, so it is an extra column too.
    assert cells["attrs"].iloc[0] == {"label": "North", "colour": "red", "score": 1.5}
    assert cells["attrs"].iloc[2] == {"label": "East", "colour": "blue", "score": 3.5}
    # The attrs are plain Python values (JSON-able), not numpy scalars.
    json.dumps(list(cells["attrs"]))
    assert type(cells["attrs"].iloc[1]["score"]) is float


def test_code_and_parent_fields_are_mapped(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1", "code": " 330100 ", "parent": "P1"}, polygon(SQ1)),
        feature({"id": "G2", "code": "330200", "parent": "P2"}, polygon(SQ2)),
    ])

    cells = read_cells(path, FieldMap(id_field="id", code_field="code", parent_field="parent"))

    assert list(cells["code"]) == ["330100", "330200"]
    assert list(cells["parent_id"]) == ["P1", "P2"]
    assert cells["attrs"].iloc[0] == {}
    assert list(cells["households"]) == [None, None]


def test_code_and_parent_all_missing_are_none(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1", "code": None, "parent": None}, polygon(SQ1)),
        feature({"id": "G2", "code": None, "parent": None}, polygon(SQ2)),
    ])

    cells = read_cells(path, FieldMap(id_field="id", code_field="code", parent_field="parent"))

    assert list(cells["code"]) == [None, None]
    assert list(cells["parent_id"]) == [None, None]


def test_some_missing_code_and_parent_are_none(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1", "code": " 330100 ", "parent": None}, polygon(SQ1)),
        feature({"id": "G2", "code": None, "parent": "G1"}, polygon(SQ2)),
    ])

    cells = read_cells(path, FieldMap(id_field="id", code_field="code", parent_field="parent"))

    assert cells["code"].iloc[0] == "330100"
    assert cells["parent_id"].iloc[1] == "G1"
    assert cells["code"].iloc[1] is None
    assert cells["parent_id"].iloc[0] is None


def test_ids_are_stripped_strings(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": 7}, polygon(SQ1)),
        feature({"id": "  G2 "}, polygon(SQ2)),
    ])

    cells = read_cells(path, FieldMap(id_field="id"))

    assert list(cells["business_id"]) == ["7", "G2"]


def test_missing_name_value_falls_back_to_id(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1", "label": "North"}, polygon(SQ1)),
        feature({"id": "G2", "label": None}, polygon(SQ2)),
    ])

    cells = read_cells(path, FieldMap(id_field="id", name_field="label"))

    assert list(cells["name"]) == ["North", "G2"]


def test_numeric_parent_ids_with_nulls_match_business_ids(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": 1, "parent": None}, polygon(SQ1)),
        feature({"id": 2, "parent": 1}, polygon(SQ2)),
    ])

    cells = read_cells(path, FieldMap(id_field="id", parent_field="parent"))

    assert list(cells["business_id"]) == ["1", "2"]
    assert cells["parent_id"].iloc[1] == "1"


def test_multipolygon_input_is_kept(tmp_path: Path) -> None:
    multi = {"type": "MultiPolygon", "coordinates": [[SQ1], [SQ2]]}
    path = write_geojson(tmp_path / "cells.geojson", [feature({"id": "M"}, multi)])

    cells = read_cells(path, FieldMap(id_field="id"))

    geom = cells.geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon"
    assert len(geom.geoms) == 2


def test_zipped_shapefile(tmp_path: Path) -> None:
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    good_gdf().to_file(shp_dir / "cells.shp", driver="ESRI Shapefile")
    archive = tmp_path / "cells.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp_dir.iterdir():
            zf.write(part, arcname=part.name)

    cells = read_cells(archive, FieldMap(id_field="gid", name_field="label"))

    assert list(cells["business_id"]) == ["G1", "G2", "G3"]
    assert list(cells["name"]) == ["North", "South", "East"]
    assert list(cells["households"]) == [10, 20, 0]
    assert cells.crs.to_epsg() == 4490
    assert set(cells.geometry.geom_type) == {"MultiPolygon"}
    assert cells["attrs"].iloc[0]["colour"] == "red"


def test_shapefile_without_prj_needs_a_crs(tmp_path: Path) -> None:
    good_gdf().to_file(tmp_path / "cells.shp", driver="ESRI Shapefile")
    (tmp_path / "cells.prj").unlink()

    with pytest.raises(InvalidInput) as exc:
        read_cells(tmp_path / "cells.shp", FieldMap(id_field="gid"))
    assert find(problems_of(exc), field="crs", text="--crs")

    cells = read_cells(tmp_path / "cells.shp", FieldMap(id_field="gid"), crs=4326)
    assert len(cells) == 3


def test_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "cells.gpkg"
    good_gdf().to_file(path, driver="GPKG", layer="cells")

    cells = read_cells(path, FieldMap(id_field="gid"))

    assert list(cells["business_id"]) == ["G1", "G2", "G3"]
    assert list(cells["residents"]) == [25, 41, 0]
    assert cells.crs.to_epsg() == 4490
    assert set(cells.geometry.geom_type) == {"MultiPolygon"}


# -- projected files ----------------------------------------------------------------------------
def _projected_square(epsg: int, lon: float, lat: float, size: float = 500.0):
    to_proj = Transformer.from_crs(4326, epsg, always_xy=True)
    x, y = to_proj.transform(lon, lat)
    return box(x, y, x + size, y + size), (x, y)


def test_geojson_with_3857_crs_member_is_converted(tmp_path: Path) -> None:
    square, (x0, y0) = _projected_square(3857, 119.0, 28.2)
    ring = [list(c) for c in square.exterior.coords]
    path = write_geojson(tmp_path / "cells.geojson", [feature({"id": "P1"}, polygon(ring))],
                         crs_name="urn:ogc:def:crs:EPSG::3857")

    cells = read_cells(path, FieldMap(id_field="id"))

    expected = Transformer.from_crs(3857, 4490, always_xy=True).transform(x0, y0)
    coords = shapely.get_coordinates(cells.geometry.iloc[0])
    assert abs(coords[:, 0] - expected[0]).min() < 1e-7
    assert abs(coords[:, 1] - expected[1]).min() < 1e-7
    nearest = ((coords[:, 0] - expected[0]) ** 2 + (coords[:, 1] - expected[1]) ** 2).min()
    assert nearest ** 0.5 < 1e-7
    assert abs(expected[0] - 119.0) < 1e-6 and abs(expected[1] - 28.2) < 1e-6
    assert cells.crs.to_epsg() == 4490


def test_crs_override_for_shapefile_without_prj(tmp_path: Path) -> None:
    square, (x0, y0) = _projected_square(3857, 120.1, 30.25)
    gpd.GeoDataFrame({"gid": ["S1"]}, geometry=[square], crs="EPSG:3857").to_file(
        tmp_path / "cells.shp", driver="ESRI Shapefile")
    (tmp_path / "cells.prj").unlink()

    cells = read_cells(tmp_path / "cells.shp", FieldMap(id_field="gid"), crs="EPSG:3857")

    expected = Transformer.from_crs(3857, 4490, always_xy=True).transform(x0, y0)
    coords = shapely.get_coordinates(cells.geometry.iloc[0])
    dist = (((coords[:, 0] - expected[0]) ** 2 + (coords[:, 1] - expected[1]) ** 2) ** 0.5).min()
    assert dist < 1e-7
    assert cells.crs.to_epsg() == 4490



def test_crs_override_for_geojson_in_metres(tmp_path: Path) -> None:
    square, (x0, y0) = _projected_square(3857, 120.1, 30.25)
    ring = [list(c) for c in square.exterior.coords]
    path = write_geojson(tmp_path / "cells.geojson", [feature({"id": "P1"}, polygon(ring))])

    cells = read_cells(path, FieldMap(id_field="id"), crs="EPSG:3857")

    expected = Transformer.from_crs(3857, 4490, always_xy=True).transform(x0, y0)
    coords = shapely.get_coordinates(cells.geometry.iloc[0])
    dist = (((coords[:, 0] - expected[0]) ** 2 + (coords[:, 1] - expected[1]) ** 2) ** 0.5).min()
    assert dist < 1e-7


def test_geopackage_in_cgcs2000_gauss_kruger_is_converted(tmp_path: Path) -> None:
    square, (x0, y0) = _projected_square(4549, 120.1, 30.25)
    gdf = gpd.GeoDataFrame({"gid": ["K1"]}, geometry=[square], crs="EPSG:4549")
    path = tmp_path / "cells.gpkg"
    gdf.to_file(path, driver="GPKG")

    cells = read_cells(path, FieldMap(id_field="gid"))

    expected = Transformer.from_crs(4549, 4490, always_xy=True).transform(x0, y0)
    coords = shapely.get_coordinates(cells.geometry.iloc[0])
    dist = (((coords[:, 0] - expected[0]) ** 2 + (coords[:, 1] - expected[1]) ** 2) ** 0.5).min()
    assert dist < 1e-7
    assert abs(expected[0] - 120.1) < 1e-6 and abs(expected[1] - 30.25) < 1e-6
    # Converted to degrees: the square is now a tiny patch near (120.1, 30.25).
    xmin, ymin, xmax, ymax = cells.geometry.iloc[0].bounds
    assert 120.0 < xmin < xmax < 120.2 and 30.2 < ymin < ymax < 30.3


def test_integer_crs_override(tmp_path: Path) -> None:
    square, (x0, y0) = _projected_square(4549, 120.1, 30.25)
    ring = [list(c) for c in square.exterior.coords]
    path = write_geojson(tmp_path / "cells.geojson", [feature({"id": "P1"}, polygon(ring))])

    cells = read_cells(path, FieldMap(id_field="id"), crs=4549)

    expected = Transformer.from_crs(4549, 4490, always_xy=True).transform(x0, y0)
    coords = shapely.get_coordinates(cells.geometry.iloc[0])
    dist = (((coords[:, 0] - expected[0]) ** 2 + (coords[:, 1] - expected[1]) ** 2) ** 0.5).min()
    assert dist < 1e-7


def test_read_cells_with_unknown_crs(tmp_path: Path) -> None:
    path = tmp_path / "cells.geojson"
    good_gdf().to_file(path, driver="GeoJSON")

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="gid"), crs="nonsense")
    problems = find(problems_of(exc), field="crs")
    assert problems and "nonsense" in problems[0].message
    # The message lists what is accepted, as every door that takes a CRS says it.
    for form in ("EPSG code", "gcj02", "bd09", "baidu", "amap"):
        assert form in problems[0].message


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_crs_override_for_web_map_offsets(tmp_path: Path, system: str) -> None:
    from gridsvc.domain.geo.coords import wgs84_to_bd09, wgs84_to_gcj02

    shift = wgs84_to_gcj02 if system == "gcj02" else wgs84_to_bd09
    truth = box(120.10, 30.25, 120.11, 30.26)
    x, y = shift(*shapely.get_coordinates(truth).T)
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "W1"}, polygon([[a, b] for a, b in zip(x, y, strict=True)]))])

    cells = read_cells(path, FieldMap(id_field="id"), crs=system)

    got = shapely.get_coordinates(cells.geometry.iloc[0])
    assert abs(got - shapely.get_coordinates(truth)).max() < 1e-8  # about 1 mm


# -- problems -----------------------------------------------------------------------------------
def test_missing_id_field_names_field_and_lists_fields(tmp_path: Path) -> None:
    path = tmp_path / "cells.geojson"
    good_gdf().to_file(path, driver="GeoJSON")

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="grid_no", name_field="title"))
    problems = problems_of(exc)

    [id_problem] = find(problems, field="grid_no")
    assert "cells.geojson" in id_problem.message
    for name in ("gid", "label", "households", "residents", "colour", "score"):
        assert name in id_problem.message
    assert "geometry" not in id_problem.message
    assert find(problems, field="title")
    assert "grid_no" in str(exc.value)


def test_missing_id_value(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1"}, polygon(SQ1)),
        feature({"id": None}, polygon(SQ2)),
        feature({"id": "   "}, polygon(SQ3)),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    problems = problems_of(exc)

    assert find(problems, feature="feature 1", field="id", text="missing")
    assert find(problems, feature="feature 2", field="id", text="missing")
    assert len(problems) == 2


def test_duplicate_ids_name_both_features(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1"}, polygon(SQ1)),
        feature({"id": "G2"}, polygon(SQ2)),
        feature({"id": "G1"}, polygon(SQ3)),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    [problem] = problems_of(exc)

    assert problem.feature == "feature 2 (id 'G1')"
    assert problem.field == "id"
    assert "duplicate" in problem.message
    assert "feature 0 (id 'G1')" in problem.message


def test_empty_geometry(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1"}, polygon(SQ1)),
        feature({"id": "G2"}, None),
        feature({"id": "G3"}, {"type": "Polygon", "coordinates": []}),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    problems = problems_of(exc)

    assert find(problems, feature="feature 1 (id 'G2')", field="geometry", text="empty")
    assert find(problems, feature="feature 2 (id 'G3')", field="geometry", text="empty")
    assert len(problems) == 2


def test_point_instead_of_polygon(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1"}, polygon(SQ1)),
        feature({"id": "G2"}, polygon(SQ2)),
        feature({"id": "G3"}, {"type": "Point", "coordinates": [119.0, 28.2]}),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    [problem] = problems_of(exc)

    assert problem.feature == "feature 2 (id 'G3')"
    assert problem.field == "geometry"
    assert "Point" in problem.message and "polygon" in problem.message


def test_self_intersecting_bow_tie(tmp_path: Path) -> None:
    bow_tie = [[119.0, 28.2], [119.01, 28.21], [119.01, 28.2], [119.0, 28.21], [119.0, 28.2]]
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1"}, polygon(SQ1)),
        feature({"id": "BT"}, polygon(bow_tie)),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    [problem] = problems_of(exc)

    assert problem.feature == "feature 1 (id 'BT')"
    assert problem.field == "geometry"
    assert "Self-intersection" in problem.message
    # The place is given: the crossing point of the bow tie.
    assert "119.005" in problem.message and "28.205" in problem.message


def test_zero_area_polygon(tmp_path: Path) -> None:
    flat = [[119.0, 28.2], [119.01, 28.2], [119.02, 28.2], [119.0, 28.2]]
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1"}, polygon(SQ1)),
        feature({"id": "Z"}, polygon(flat)),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    [problem] = problems_of(exc)

    assert problem.feature == "feature 1 (id 'Z')"
    assert problem.field == "geometry"
    # GEOS calls a zero-area ring invalid before the area check is reached.
    assert "zero area" in problem.message or "invalid polygon" in problem.message


def test_lat_lon_swapped(tmp_path: Path) -> None:
    swapped = [[y, x] for x, y in SQ1]  # (28.2, 119.0): latitude 119 is impossible
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1"}, polygon(SQ2)),
        feature({"id": "S"}, polygon(swapped)),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    [problem] = problems_of(exc)

    assert problem.feature == "feature 1 (id 'S')"
    assert problem.field == "geometry"
    assert "swapped" in problem.message
    assert "119.01" in problem.message


def test_metres_without_crs_override(tmp_path: Path) -> None:
    square, _ = _projected_square(4549, 120.1, 30.25)
    ring = [list(c) for c in square.exterior.coords]
    path = write_geojson(tmp_path / "cells.geojson", [feature({"id": "M1"}, polygon(ring))])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    [problem] = problems_of(exc)

    assert problem.feature == "feature 0 (id 'M1')"
    assert problem.field == "geometry"
    assert "projected" in problem.message
    assert "--crs" in problem.message
    assert "swapped" not in problem.message


def test_file_with_no_features(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "empty.geojson", [])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))

    assert find(problems_of(exc), text="no features")
    assert any("empty.geojson" in p.message for p in find(problems_of(exc), text="no features"))


def test_non_numeric_households(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1", "households": "3", "residents": 7}, polygon(SQ1)),
        feature({"id": "G2", "households": "many", "residents": 5}, polygon(SQ2)),
        feature({"id": "G3", "households": "4", "residents": -2}, polygon(SQ3)),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    problems = problems_of(exc)

    [many] = find(problems, field="households")
    assert many.feature == "feature 1 (id 'G2')"
    assert "'many'" in many.message and "count" in many.message
    [negative] = find(problems, field="residents")
    assert negative.feature == "feature 2 (id 'G3')"
    assert len(problems) == 2


def test_fractional_households_is_a_problem(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1", "households": 2.5}, polygon(SQ1)),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    assert find(problems_of(exc), feature="feature 0 (id 'G1')", field="households")


def test_numeric_strings_are_counts(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1", "households": "3", "residents": "12"}, polygon(SQ1)),
        feature({"id": "G2", "households": "0", "residents": 4}, polygon(SQ2)),
    ])

    cells = read_cells(path, FieldMap(id_field="id"))

    assert list(cells["households"]) == [3, 0]
    assert list(cells["residents"]) == [12, 4]


def test_missing_count_is_none(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1", "households": 3}, polygon(SQ1)),
        feature({"id": "G2", "households": None}, polygon(SQ2)),
    ])

    cells = read_cells(path, FieldMap(id_field="id"))

    assert cells["households"].iloc[1] is None
    assert type(cells["households"].iloc[0]) is int


def test_file_that_does_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.geojson"

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    [problem] = problems_of(exc)
    assert "no such file" in problem.message
    assert "nowhere.geojson" in problem.message

    with pytest.raises(InvalidInput):
        read_vector(path)


def test_file_that_is_not_a_vector_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.geojson"
    path.write_text("this is not { a vector file at all ]]\n" * 5, encoding="utf-8")

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    [problem] = problems_of(exc)
    assert "cannot read garbage.geojson" in problem.message


def test_all_problems_are_reported(tmp_path: Path) -> None:
    bow_tie = [[119.0, 28.2], [119.01, 28.21], [119.01, 28.2], [119.0, 28.21], [119.0, 28.2]]
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "G1", "households": 1}, polygon(SQ1)),
        feature({"id": None, "households": 2}, polygon(SQ2)),
        feature({"id": "G1", "households": 3}, polygon(SQ3)),
        feature({"id": "G4", "households": 4}, {"type": "Point", "coordinates": [119, 28]}),
        feature({"id": "G5", "households": 5}, polygon(bow_tie)),
        feature({"id": "G6", "households": "many"}, polygon(SQ1)),
        feature({"id": "G7", "households": 7}, None),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    problems = problems_of(exc)

    assert find(problems, feature="feature 1", field="id", text="missing")
    assert find(problems, feature="feature 2 (id 'G1')", field="id", text="duplicate")
    assert find(problems, feature="feature 3 (id 'G4')", field="geometry", text="Point")
    assert find(problems, feature="feature 4 (id 'G5')", field="geometry",
                text="Self-intersection")
    assert find(problems, feature="feature 5 (id 'G6')", field="households")
    assert find(problems, feature="feature 6 (id 'G7')", field="geometry", text="empty")
    assert len(problems) == 6
    text = str(exc.value)
    assert text.startswith("6 problem(s) in the input")
    assert "feature 4 (id 'G5'), field 'geometry': invalid polygon" in text


def test_file_level_problems_are_all_reported(tmp_path: Path) -> None:
    shp = tmp_path / "cells.shp"
    good_gdf().to_file(shp, driver="ESRI Shapefile")
    (tmp_path / "cells.prj").unlink()

    with pytest.raises(InvalidInput) as exc:
        read_cells(shp, FieldMap(id_field="nope", parent_field="nada"))
    problems = problems_of(exc)

    assert find(problems, field="nope")
    assert find(problems, field="nada")
    assert find(problems, field="crs")
    assert len(problems) == 3


# -- merging parts ------------------------------------------------------------------------------
def test_merge_duplicates_unions_parts(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "cells.geojson", [
        feature({"id": "A", "households": 5, "note": "first"}, polygon(SQ1)),
        feature({"id": "B", "households": 6, "note": "b"}, polygon(SQ2)),
        feature({"id": "A", "households": 9, "note": "second"}, polygon(SQ3)),
    ])

    with pytest.raises(InvalidInput) as exc:
        read_cells(path, FieldMap(id_field="id"))
    assert find(problems_of(exc), feature="feature 2 (id 'A')", text="duplicate")

    cells = read_cells(path, FieldMap(id_field="id"), merge_duplicates=True)

    assert list(cells["business_id"]) == ["A", "B"]
    assert list(cells.columns) == COLUMNS
    assert cells.crs.to_epsg() == 4490
    a = cells.set_index("business_id").loc["A"]
    assert a.geometry.geom_type == "MultiPolygon"
    assert len(a.geometry.geoms) == 2
    assert a.geometry.area == pytest.approx(Polygon(SQ1).area + Polygon(SQ3).area, rel=1e-9)
    # The first feature's attributes are kept.
    assert a["households"] == 5
    assert a["attrs"] == {"note": "first"}
    b = cells.set_index("business_id").loc["B"]
    assert b.geometry.area == pytest.approx(Polygon(SQ2).area, rel=1e-9)


def test_merge_duplicates_without_duplicates_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cells.geojson"
    good_gdf().to_file(path, driver="GeoJSON")

    plain = read_cells(path, FieldMap(id_field="gid"))
    merged = read_cells(path, FieldMap(id_field="gid"), merge_duplicates=True)

    assert list(merged["business_id"]) == list(plain["business_id"])
    assert merged.geometry.geom_equals(plain.geometry).all()


@pytest.fixture
def chicago_beats() -> Path:
    path = CHICAGO / "police_beats.geojson"
    if not path.exists():
        pytest.skip(f"Chicago data not found at {path}")
    return path


def test_chicago_beats_duplicate_3100_without_merge(chicago_beats: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        read_cells(chicago_beats, FieldMap(id_field="BEAT_NUM"))
    problems = problems_of(exc)

    dupes = find(problems, field="BEAT_NUM", text="duplicate")
    assert dupes
    assert all("'3100'" in p.feature for p in dupes)
    raw = gpd.read_file(chicago_beats)
    expected_dupes = len(raw) - raw["BEAT_NUM"].nunique()
    assert len(dupes) == expected_dupes


def test_chicago_beats_with_merge(chicago_beats: Path) -> None:
    raw = gpd.read_file(chicago_beats)
    parts_3100 = raw[raw["BEAT_NUM"] == "3100"]
    assert len(parts_3100) == 3

    cells = read_cells(chicago_beats, FieldMap(id_field="BEAT_NUM"), merge_duplicates=True)

    assert len(cells) == raw["BEAT_NUM"].nunique()
    assert cells["business_id"].is_unique
    assert cells.crs.to_epsg() == 4490
    assert set(cells.geometry.geom_type) == {"MultiPolygon"}
    beat = cells[cells["business_id"] == "3100"].geometry.iloc[0]
    assert len(beat.geoms) >= 3
    assert beat.area == pytest.approx(sum(g.area for g in parts_3100.geometry), rel=1e-6)
