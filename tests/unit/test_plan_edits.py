"""Edits of a draft's cells and the checks after them (pure: no database)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import box

from gridsvc.domain.plans import plan_edits as edits
from gridsvc.domain.plans.plan_checks import check_layer, check_nesting
from gridsvc.errors import InvalidInput

A = edits.as_multipolygon(box(0, 0, 100, 100))
B = edits.as_multipolygon(box(100, 0, 200, 100))


def frame(cells: dict[str, object], parents: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    ids = list(cells)
    return gpd.GeoDataFrame({"id": ids, "parent_id": [(parents or {}).get(i) for i in ids]},
                            geometry=list(cells.values()))


def test_invalid_geometry_is_rejected_with_the_reason_or_repaired():
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    with pytest.raises(InvalidInput) as err:
        edits.polygonal(bowtie, repair=False, where="grid G1")
    problem = err.value.problems[0]
    assert "Self-intersection" in problem.message and problem.feature == "grid G1"
    fixed = edits.polygonal(bowtie, repair=True, where="grid G1")
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and fixed.area == pytest.approx(50)
    with pytest.raises(InvalidInput, match="Polygon or MultiPolygon"):
        edits.polygonal(shapely.Point(0, 0), repair=True, where="grid G1")


def test_split_by_a_line_keeps_every_bit_of_the_cell():
    line = shapely.LineString([(-10, 30), (110, 30)])
    pieces = edits.split(A, line, where="grid G1")
    assert [round(p.area) for p in pieces] == [7000, 3000]
    assert shapely.union_all(pieces).equals(A)
    with pytest.raises(InvalidInput, match="does not cut"):
        edits.split(A, shapely.LineString([(10, 10), (20, 20)]), where="grid G1")  # ends inside


def test_transfer_changes_both_boundaries_together():
    rest, grown, moved = edits.transfer(A, B, box(50, -5, 120, 105), where="grid A -> B")
    assert rest.equals(box(0, 0, 50, 100)) and moved.equals(box(50, 0, 100, 100))
    assert grown.area == pytest.approx(15_000)
    # Not one square metre is lost or counted twice.
    assert shapely.intersection(rest, grown).area == 0
    assert shapely.union(rest, grown).area == pytest.approx(20_000)
    far = edits.as_multipolygon(box(500, 0, 600, 100))
    with pytest.raises(InvalidInput, match="not neighbours"):
        edits.transfer(A, far, box(0, 0, 10, 10), where="x")
    with pytest.raises(InvalidInput, match="merge"):
        edits.transfer(A, B, box(-1, -1, 101, 101), where="x")


def test_houses_region_takes_the_chosen_houses_and_no_other():
    chosen = np.array([[80.0, 50.0], [90.0, 20.0]])
    others = np.array([[10.0, 50.0], [30.0, 80.0], [50.0, 50.0]])
    region = edits.houses_region(A, chosen, others)
    pts = shapely.points(np.concatenate([chosen, others]))
    assert shapely.covers(region, pts).tolist() == [True, True, False, False, False]


def test_next_identity_continues_the_village_sequence_and_never_reuses_a_number():
    village = {"id": "V102001", "code": "331181102001", "name": "八都社区"}
    # G102001003 was retired in an older plan: the next grid is 004, not 003.
    siblings = [("G102001001", "331181102001001"), ("G102001002", "331181102001002"),
                ("G102001003", "331181102001003")]
    new = edits.next_identity("grid", village, siblings, {s for s, _ in siblings})
    assert (new.business_id, new.code, new.name) == (
        "G102001004", "331181102001004", "八都社区第4网格")
    # A synthetic city's grids have no codes: the prefix and the next free number.
    taken = {f"C{i:05d}" for i in range(1, 10_001)}
    assert edits.next_identity("grid", None, [], taken).business_id == "C10001"


def test_checks_report_new_overlap_gap_nesting_size_and_parts():
    base = frame({"A": A, "B": B})
    # A grows into B (overlap), and B loses its east half (gap) and is cut in two parts.
    grown = edits.as_multipolygon(box(0, 0, 120, 100))
    cut = shapely.MultiPolygon([box(100, 0, 140, 40), box(100, 60, 140, 100)])
    draft = frame({"A": grown, "B": cut})
    found = check_layer("grid", draft, base, ["A", "B"], min_area_m2=5_000)
    kinds = sorted((f.kind, f.cells) for f in found)
    assert ("overlap", ("A", "B")) in kinds
    assert ("not_contiguous", ("B",)) in kinds
    assert ("too_small", ("B",)) in kinds
    gap = next(f for f in found if f.kind == "gap")
    assert gap.area_m2 == pytest.approx(60 * 100 + 20 * 20)  # east strip + the notch between
    assert all(f.detail["severity"] == ("warning" if f.kind == "not_contiguous" else "error")
               for f in found)
    # An overlap that was there before is not the draft's doing.
    assert not [f for f in check_layer("grid", draft, frame({"A": grown, "B": B}), ["B"])
                if f.kind == "overlap"]


def test_nesting_flags_a_grid_out_of_its_village_and_a_gap_in_a_grown_village():
    village = frame({"V1": edits.as_multipolygon(box(0, 0, 200, 100))})
    grids = frame({"A": A, "B": B}, {"A": "V1", "B": "V1"})
    out = frame({"A": edits.as_multipolygon(box(0, 0, 100, 150)), "B": B},
                {"A": "V1", "B": "V1"})
    found = check_nesting("grid", "village", out, village, grids, village, ["A"], [])
    assert [(f.kind, f.cells, round(f.area_m2)) for f in found] == [
        ("outside_parent", ("A", "V1"), 5000)]
    bigger = frame({"V1": edits.as_multipolygon(box(0, 0, 250, 100))})
    found = check_nesting("grid", "village", grids, bigger, grids, village, [], ["V1"])
    assert [(f.kind, f.cells, round(f.area_m2)) for f in found] == [("gap", ("V1",), 5000)]
