"""The committed demo town (data/demo_town) meets data/README.md, and the generator reproduces it.

Geometric checks run in EPSG:4549 (metres). No database is needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridsvc.domain.demo_town import COLUMNS, DEFAULT_SEED, LAYERS, generate, write

DATA = Path(__file__).resolve().parents[2] / "data" / "demo_town"
FILES = [f"{layer}.geojson" for layer in LAYERS] + ["people.csv", "expected_findings.json"]
METRIC = "EPSG:4549"
POLYGON_LAYERS = ("towns", "villages", "grids", "stations", "beats", "compounds")


@pytest.fixture(scope="module")
def town() -> dict[str, gpd.GeoDataFrame]:
    """Every layer as read from the committed files, in EPSG:4490."""
    return {layer: gpd.read_file(DATA / f"{layer}.geojson") for layer in LAYERS}


@pytest.fixture(scope="module")
def m(town) -> dict[str, gpd.GeoDataFrame]:
    """Every layer in metres."""
    return {layer: gdf.to_crs(METRIC) for layer, gdf in town.items()}


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return pd.read_csv(DATA / "people.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def findings() -> dict:
    return json.loads((DATA / "expected_findings.json").read_text(encoding="utf-8"))


def _area_of(geoms) -> float:
    return float(shapely.area(shapely.union_all(np.asarray(geoms))))


def test_files_are_there_and_small():
    sizes = {name: (DATA / name).stat().st_size for name in FILES}
    assert sum(sizes.values()) < 6_000_000


def test_crs_columns_and_geometry_types(town):
    expected_type = {layer: "MultiPolygon" for layer in POLYGON_LAYERS} | {"roads": "LineString"}
    for layer, gdf in town.items():
        assert gdf.crs.to_epsg() == 4490, layer
        assert list(gdf.columns) == [*COLUMNS[layer], "geometry"], layer
        assert set(gdf.geom_type) == {expected_type.get(layer, "Point")}, layer
        assert gdf["id"].is_unique and gdf["id"].is_monotonic_increasing, layer
        assert shapely.is_valid(gdf.geometry.values).all(), layer


def test_counts(town, people):
    exact = {"towns": 2, "villages": 30, "grids": 39, "stations": 1, "beats": 5, "offices": 2}
    for layer, n in exact.items():
        assert len(town[layer]) == n, layer
    about = {
        "houses": (9000, 0.03),
        "compounds": (20, 0.1),
        "cameras": (300, 0.1),
        "patrol_points": (120, 0.1),
        "incidents": (1500, 0.1),
    }
    for layer, (n, tol) in about.items():
        assert abs(len(town[layer]) - n) <= tol * n, layer
    roles = people["role"].value_counts().to_dict()
    assert roles["officer"] == 8 and roles["auxiliary"] == 6 and roles["grid_worker"] == 89
    assert 25 <= roles["volunteer"] <= 35


def test_names_ids_and_codes(town):
    towns, villages, grids = town["towns"], town["villages"], town["grids"]
    assert dict(zip(towns["name"], towns["code"], strict=True)) == {
        "八都镇": "331181102",
        "竹垟畲族乡": "331181203",
    }
    assert sorted(towns["level"]) == ["乡", "镇"]
    assert towns["parent_id"].isna().all()
    assert villages["name"].is_unique
    assert {"东灌底村", "西灌底村", "八都社区", "竹垟村"} <= set(villages["name"])
    assert villages["name"].str.match(r".+(村|社区)$").all()
    town_code = dict(zip(towns["id"], towns["code"], strict=True))
    for v in villages.itertuples():
        assert re.fullmatch(r"\d{12}", v.code) and v.code[:9] == town_code[v.parent_id]
        assert v.id == "V" + v.code[6:]
    village_code = dict(zip(villages["id"], villages["code"], strict=True))
    village_name = dict(zip(villages["id"], villages["name"], strict=True))
    for g in grids.itertuples():
        assert re.fullmatch(r"\d{15}", g.code) and g.code[:12] == village_code[g.parent_id]
        assert g.id == "G" + g.code[6:]
        assert g.name == f"{village_name[g.parent_id]}第{int(g.code[12:])}网格"
    per_village = grids.groupby("parent_id").size()
    assert sorted(per_village.value_counts().items()) == [(1, 21), (2, 9)]
    assert list(town["beats"]["name"]) == [f"八都派出所第{c}警务区" for c in "一二三四五"]
    assert town["stations"]["name"].tolist() == ["龙泉市公安局八都派出所"]
    assert (town["beats"]["parent_id"] == "S01").all()


def test_grids_numbered_west_to_east_north_to_south(m):
    grids = m["grids"]
    c = grids.geometry.centroid
    for _, group in grids.assign(x=c.x, y=c.y).groupby("parent_id"):
        band = np.floor((group["y"].max() - group["y"]) / 500.0)
        order = group.assign(band=band).sort_values(["band", "x"])["code"].tolist()
        assert order == sorted(order)


def test_outline_area_and_place(m, town):
    area = m["stations"].geometry.area.iloc[0]
    assert abs(area - 244e6) <= 0.05 * 244e6
    centre = town["stations"].geometry.iloc[0].centroid
    assert abs(centre.x - 119.0) < 0.1 and abs(centre.y - 28.2) < 0.1


@pytest.mark.parametrize(
    ("child", "parent"), [("villages", "towns"), ("grids", "villages"), ("towns", "stations")]
)
def test_children_tile_their_parent(m, child, parent):
    children, parents = m[child], m[parent]
    key = children["parent_id"] if parent != "stations" else pd.Series("S01", children.index)
    for pid, group in children.groupby(key):
        whole = parents.loc[parents["id"] == pid].geometry.iloc[0]
        union = shapely.union_all(group.geometry.values)
        assert shapely.symmetric_difference(union, whole).area < 1.0, pid
        assert abs(group.geometry.area.sum() - whole.area) < 1.0, pid  # no overlaps
    assert shapely.coverage_is_valid(children.geometry.values)
    # Every child lies in exactly one parent.
    inside = gpd.sjoin(
        children.set_geometry(children.geometry.representative_point()), parents, predicate="within"
    )
    assert inside.index.is_unique and len(inside) == len(children)
    if parent != "stations":
        assert (inside["parent_id_left"] == inside["id_right"]).all()


def test_cells_are_contiguous(m):
    for layer in POLYGON_LAYERS:
        parts = shapely.get_num_geometries(m[layer].geometry.values)
        assert (parts == 1).all(), layer


def test_beat_gap_and_overlap(m, findings):
    beats, station = m["beats"], m["stations"].geometry.iloc[0]
    overlaps = []
    for i in range(len(beats)):
        for j in range(i + 1, len(beats)):
            area = beats.geometry.iloc[i].intersection(beats.geometry.iloc[j]).area
            if area > 1.0:
                overlaps.append(([beats["id"].iloc[i], beats["id"].iloc[j]], area))
    (overlap,) = findings["beat_overlaps"]
    assert len(overlaps) == 1 and overlaps[0][0] == overlap["beat_ids"]
    assert abs(overlaps[0][1] - overlap["area_m2"]) < 0.001 * overlap["area_m2"]
    gaps = shapely.get_parts(station.difference(shapely.union_all(beats.geometry.values)))
    gaps = [g for g in gaps if g.area > 1.0]
    (gap,) = findings["beat_gaps"]
    assert len(gaps) == 1 and abs(gaps[0].area - gap["area_m2"]) < 0.001 * gap["area_m2"]
    assert gaps[0].area < 1e6 and overlaps[0][1] < 1e6
    assert gaps[0].distance(station.boundary) > 100.0  # strictly inside, not on the border
    lonlat = gpd.GeoSeries.from_xy(
        [gap["lon"], overlap["lon"]], [gap["lat"], overlap["lat"]], crs=4490
    ).to_crs(METRIC)
    assert gaps[0].contains(lonlat.iloc[0])
    covering = beats.loc[beats.geometry.contains(lonlat.iloc[1]), "id"].tolist()
    assert covering == overlap["beat_ids"]


def test_straddling_grids(m, findings):
    grids, beats = m["grids"], m["beats"]
    found = {}
    for g in grids.itertuples():
        shares = {
            b.id: g.geometry.intersection(b.geometry).area / g.geometry.area
            for b in beats.itertuples()
        }
        inside = sorted(b for b, s in shares.items() if s > 0.01)
        if len(inside) >= 2:
            found[g.id] = inside
    expected = {s["grid_id"]: s["beat_ids"] for s in findings["straddling_grids"]}
    assert found == expected
    assert 3 <= len(found) <= 20


def test_houses_clear_of_boundaries_and_of_each_other(m):
    houses, villages = m["houses"], m["villages"]
    joined = gpd.sjoin(houses, villages[["id", "geometry"]], predicate="within")
    assert len(joined) == len(houses) and (joined["village_id"] == joined["id_right"]).all()
    edges = shapely.union_all(
        [
            *shapely.boundary(villages.geometry.values),
            *shapely.boundary(m["grids"].geometry.values),
            *shapely.boundary(m["beats"].geometry.values),
        ]
    )
    tree = shapely.STRtree(shapely.get_parts(edges))
    near_edge, _ = tree.query(houses.geometry.values, "dwithin", distance=4.9)
    assert len(near_edge) == 0
    pts = houses.geometry.values
    left, right = shapely.STRtree(pts).query(pts, "dwithin", distance=7.9)
    assert (left == right).all()


def test_house_numbers(m):
    houses = m["houses"]
    assert not houses.duplicated(["village_id", "number", "sub_number"]).any()
    assert set(houses["sub_number"].dropna()) == {1}
    assert 0.02 <= houses["sub_number"].notna().mean() <= 0.04
    for _, group in houses.groupby("village_id"):
        main = group[group["sub_number"].isna()]
        assert sorted(main["number"]) == list(range(1, len(main) + 1))
        assert set(group["number"]) == set(main["number"])
        # Serpentine rows of 80 m from the north: first row west to east, then east to west.
        x, y = group.geometry.x, group.geometry.y
        row = np.floor((y.max() - y) / 80.0)
        walk = group.assign(row=row, k=np.where(row % 2 == 0, x, -x)).sort_values(["row", "k"])
        assert walk["number"].is_monotonic_increasing
    east = houses[houses["village_id"] == _village_id(m, "东灌底村")]
    assert {(203, None), (203, 1)} <= {
        (int(n), None if pd.isna(s) else int(s))
        for n, s in zip(east["number"], east["sub_number"], strict=True)
    }


def _village_id(m, name: str) -> str:
    return m["villages"].loc[m["villages"]["name"] == name, "id"].iloc[0]


def test_house_people_and_rentals(town, findings):
    h = town["houses"]
    assert h["households"].between(1, 3).all()
    assert abs(h["registered"].sum() - 33_000) <= 0.03 * 33_000
    assert abs(h["residents"].sum() - 25_000) <= 0.03 * 25_000
    assert (h["residents"] <= h["registered"] + h["floating"]).all()
    assert h["is_rental"].sum() == 635 and h["floating"].sum() == 495
    assert h.loc[h["is_rental"], "floating"].sum() >= 0.8 * 495
    assert h.loc[h["is_rental"], "rental_stars"].between(1, 5).all()
    assert h.loc[~h["is_rental"], "rental_stars"].isna().all()
    aliases = h.loc[h["aliases"] != "", "aliases"]
    assert 10 <= len(aliases) <= 60 and aliases.str.contains("|", regex=False).any()
    assert {"八都供销社", "老粮站"} <= set("|".join(aliases).split("|"))
    totals = findings["totals"]
    assert totals["registered"] == h["registered"].sum()
    assert totals["residents"] == h["residents"].sum()


@pytest.mark.parametrize("layer", ["towns", "villages", "grids", "stations", "beats"])
def test_cell_sums_match_houses(m, layer):
    cells, houses = m[layer], m["houses"]
    joined = gpd.sjoin(houses[["households", "residents", "geometry"]], cells, predicate="within")
    sums = joined.groupby("id")[["households_left", "residents_left"]].sum()
    sums = sums.reindex(cells["id"], fill_value=0)
    assert (sums["households_left"].to_numpy() == cells["households"].to_numpy()).all()
    assert (sums["residents_left"].to_numpy() == cells["residents"].to_numpy()).all()


def test_compounds(m):
    compounds, houses = m["compounds"], m["houses"]
    seat = _village_id(m, "八都社区")
    assert (compounds["village_id"] == seat).all()
    seat_poly = m["villages"].loc[m["villages"]["id"] == seat].geometry.iloc[0]
    assert compounds.geometry.within(seat_poly).all()
    assert set(compounds["risk_colour"]) == {"red", "orange", "green"}
    flags = compounds[["no_property_management", "no_competent_department", "no_security"]]
    assert flags.to_numpy().any() and not flags.to_numpy().all()
    joined = gpd.sjoin(houses, compounds[["id", "geometry"]], predicate="within", how="left")
    assert (joined["compound_id"].fillna("") == joined["id_right"].fillna("")).all()
    assert houses.loc[houses["compound_id"].notna(), "building"].notna().all()
    assert houses.loc[houses["compound_id"].isna(), "building"].isna().all()
    rooms = houses["room"].dropna()
    assert 5 <= len(rooms) <= 30 and rooms.str.fullmatch(r"\d0\d").all()
    in_compound = houses.groupby("compound_id")["households"].sum()
    assert (in_compound.reindex(compounds["id"]).to_numpy() == compounds["households"]).all()


def test_compound_entrances(m):
    gates, compounds = m["compound_entrances"], m["compounds"].set_index("id")
    assert set(gates["kind"]) == {"main", "vehicle", "side"} and gates["name"].is_unique
    per_compound = gates.groupby("compound_id")["kind"].agg(list)
    assert set(per_compound.index) == set(compounds.index)
    assert per_compound.map(len).between(1, 3).all()
    assert (per_compound.map(lambda kinds: kinds.count("main")) == 1).all()
    roads = shapely.union_all(m["roads"].geometry.values)
    for gate in gates.itertuples():
        fence = compounds.geometry[gate.compound_id]
        assert fence.boundary.distance(gate.geometry) < 0.05  # on the fence (EPSG:4490 rounding)
        if gate.kind == "main":  # faces the road: nearer to it than the compound's middle
            assert gate.geometry.distance(roads) < fence.centroid.distance(roads)
    edges = shapely.union_all(m["grids"].boundary.values)
    assert (gates.distance(edges) > 4.9).all()  # the grid of every gate is unambiguous


def test_offices_cameras_patrol_points_roads(town, m):
    offices = town["offices"]
    assert offices["opening_hours"].str.match(r"^\d\d:\d\d-\d\d:\d\d").all()
    assert (offices["station_id"] == "S01").all()
    cams = town["cameras"]
    assert cams["heading_deg"].between(0, 359).all() and cams["fov_deg"].between(40, 110).all()
    assert cams["range_m"].between(20, 120).all()
    seat = m["offices"].geometry.iloc[0]
    assert (m["cameras"].distance(seat) < 1000).sum() >= 60  # dense in the town seat
    patrol = town["patrol_points"]
    assert set(patrol["level"]) == {1, 2} and patrol["name"].is_unique
    assert {"八都派出所", "八都农贸市场", "八都中学"} <= set(patrol["name"])
    roads = m["roads"]
    assert (roads["road_class"] == "county").sum() == 1
    assert (roads["road_class"] == "township").sum() >= 2
    assert (roads["road_class"] == "village").sum() >= 28
    assert roads.loc[roads["road_class"] == "county"].length.iloc[0] > 15_000
    station = m["stations"].geometry.iloc[0].buffer(1.0)
    for layer in ("roads", "offices", "cameras", "patrol_points", "incidents", "houses"):
        assert m[layer].within(station).all(), layer


def test_incidents(town, m, findings):
    inc = town["incidents"]  # GDAL reads occurred_at as a datetime; check the text as written
    raw = json.loads((DATA / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    stamps = pd.Series([f["properties"]["occurred_at"] for f in raw])
    assert stamps.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00").all()
    t = pd.to_datetime(stamps)
    assert t.min() >= pd.Timestamp("2025-11-01T00:00:00+08:00")
    assert t.max() < pd.Timestamp("2026-11-01T00:00:00+08:00")
    assert t.is_monotonic_increasing
    assert set(inc["category"]) == {
        "盗窃",
        "纠纷",
        "交通事故",
        "火警",
        "诈骗",
        "求助",
        "噪音扰民",
        "其他",
    }
    assert (inc["summary"].str.len() > 4).all()
    local = t.dt.tz_convert("Asia/Shanghai")
    night_noise = inc[(inc["category"] == "噪音扰民") & (local.dt.hour >= 19)]
    assert len(night_noise) > 0.5 * (inc["category"] == "噪音扰民").sum()
    (hot,) = findings["hot_spots"]
    centre = gpd.GeoSeries.from_xy([hot["lon"]], [hot["lat"]], crs=4490).to_crs(METRIC).iloc[0]
    near = m["incidents"][m["incidents"].distance(centre) <= hot["radius_m"]]
    assert len(near) == hot["incidents"] >= 100
    assert near["category"].isin(["盗窃", "纠纷"]).mean() > 0.8


def test_people_links(people, m):
    assert people["id"].is_unique and people["name"].is_unique
    assert people["phone"].str.fullmatch(r"1990000\d{4}").all() and people["phone"].is_unique
    beats, grids = m["beats"], m["grids"]
    officers = people[people["role"] == "officer"]
    assert set(officers["beat_ids"]) == set(beats["id"])
    # An officer is linked to the grids whose largest share lies in his beat.
    main_beat = {
        g.id: max(beats.itertuples(), key=lambda b: g.geometry.intersection(b.geometry).area).id
        for g in grids.itertuples()
    }
    for o in officers.itertuples():
        own = sorted(g for g, b in main_beat.items() if b == o.beat_ids)
        assert o.grid_ids.split("|") == own if own else o.grid_ids == ""
    workers = people[people["role"] == "grid_worker"]
    assert not workers["grid_ids"].str.contains("|", regex=False).any()
    assert workers["grid_ids"].value_counts().reindex(grids["id"]).fillna(0).min() >= 2
    aux = people[people["role"] == "auxiliary"]
    assert aux["office_id"].isin(m["offices"]["id"]).all()
    assert aux["beat_ids"].isin(beats["id"]).all()
    volunteers = people[people["role"] == "volunteer"]
    assert volunteers["grid_ids"].isin(grids["id"]).all()
    linked_offices = set(people["office_id"]) - {""}
    assert linked_offices <= set(m["offices"]["id"])


def test_generator_is_deterministic(tmp_path):
    """Generating again with the default seed rewrites the committed files byte for byte."""
    written = write(generate(DEFAULT_SEED), tmp_path)
    assert sorted(p.name for p in written) == sorted(FILES)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_other_seeds_work():
    town = generate(7)
    assert len(town.villages) == 30 and len(town.grids) == 39 and len(town.beats) == 5
    assert town.houses["is_rental"].sum() == 635
    assert len(town.expected_findings["beat_gaps"]) == 1
