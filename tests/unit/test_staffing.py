"""The staffing standard on small hand-made tables: each rule and its arithmetic."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from gridsvc.domain.reports.staffing import (
    beat_table,
    grid_table,
    office_table,
    staffing,
    summary,
    to_records,
)

BEATS = pd.DataFrame({"id": ["B1", "B2", "B3", "B4"], "station_id": ["S1", "S1", "S1", "S2"]})
GRIDS = pd.DataFrame({"id": ["G1", "G2", "G3"]})
OFFICES = pd.DataFrame({"id": ["O1", "O2"], "station_id": ["S1", "S2"]})
STATIONS = pd.DataFrame({"id": ["S1", "S2"]})
# B1: 2,500 households / 4,000 residents -> 3 by households; B2: 900 / 7,000 -> 3 by residents;
# B3: empty, still needs 1; B4: 10 households and no officer. One house is in no beat.
HOUSES = pd.DataFrame({
    "beat_id": ["B1", "B1", "B2", "B4", None],
    "grid_id": ["G1", "G2", "G2", "G3", "G3"],
    "households": [2000, 500, 900, 10, 7],
    "residents": [3000, 1000, 7000, 30, 20],
})


def _people(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "role", "office_id", "kind", "area_id"])


PEOPLE = _people([
    ("OF1", "officer", "O1", "beat", "B1"),
    ("OF1", "officer", "O1", "grid", "G1"),
    ("OF2", "officer", None, "beat", "B1"),
    ("OF2", "officer", None, "beat", "B2"),  # one officer of two beats counts once per station
    ("OF3", "officer", None, "beat", "B3"),
    ("AX1", "auxiliary", "O1", "beat", "B1"),
    ("AX2", "auxiliary", "O2", None, None),  # office staff without a cell
    ("GW1", "grid_worker", None, "grid", "G1"),
    ("GW2", "grid_worker", None, "grid", "G1"),
    ("GW2", "grid_worker", None, "grid", "G1"),  # a duplicate link is one worker
    ("GW3", "grid_worker", None, "grid", "G2"),
    ("GW4", "grid_worker", None, "grid", "G3"),
    ("GW5", "grid_worker", None, "grid", "G3"),
    ("VO1", "volunteer", None, "grid", "G1"),
    ("VO2", "volunteer", None, "grid", "G2"),  # no office officer is linked to G2
])


def _row(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    return frame.set_index(key).loc[value]


def test_required_is_the_stricter_ratio_and_at_least_one():
    beats = beat_table(HOUSES, PEOPLE, BEATS)
    assert list(beats["beat_id"]) == ["B1", "B2", "B3", "B4"]
    assert list(beats["officers_required"]) == [3, 3, 1, 1]
    assert list(beats["households"]) == [2500, 900, 0, 10]
    assert list(beats["residents"]) == [4000, 7000, 0, 30]


def test_shortfall_arithmetic_and_meets():
    beats = beat_table(HOUSES, PEOPLE, BEATS)
    assert list(beats["officers"]) == [2, 1, 1, 0]
    assert list(beats["shortfall"]) == [1, 2, 0, 1]
    assert list(beats["meets"]) == [False, False, True, False]
    b1 = _row(beats, "beat_id", "B1")
    assert b1["households_per_officer"] == 1250 and b1["residents_per_officer"] == 2000


def test_boundary_values_meet_the_standard():
    houses = pd.DataFrame({"beat_id": ["B1"], "grid_id": ["G1"],
                           "households": [1000], "residents": [3000]})
    people = _people([("OF1", "officer", None, "beat", "B1")])
    beat = beat_table(houses, people, BEATS.iloc[:1]).iloc[0]
    assert beat["officers_required"] == 1 and beat["shortfall"] == 0 and beat["meets"]
    over = houses.assign(households=[1001])
    assert beat_table(over, people, BEATS.iloc[:1]).iloc[0]["shortfall"] == 1


def test_beat_with_no_officer_has_no_ratio_and_falls_short():
    b4 = _row(beat_table(HOUSES, PEOPLE, BEATS), "beat_id", "B4")
    assert b4["officers"] == 0 and b4["shortfall"] == 1 and not b4["meets"]
    assert math.isnan(b4["households_per_officer"]) and math.isnan(b4["residents_per_officer"])


def test_officers_linked_only_to_grids_do_not_staff_a_beat():
    people = _people([("OF9", "officer", None, "grid", "G1")])
    assert beat_table(HOUSES, people, BEATS)["officers"].sum() == 0


def test_grid_with_one_worker_is_flagged():
    grids = grid_table(HOUSES, PEOPLE, GRIDS)
    assert list(grids["grid_workers"]) == [2, 1, 2]
    assert list(grids["meets_workers"]) == [True, False, True]
    assert list(grids["has_officer"]) == [True, False, False]
    assert list(grids["meets"]) == [True, False, False]
    # G3 keeps the house outside every beat: grids count their own houses
    assert _row(grids, "grid_id", "G3")["households"] == 17


def test_office_one_plus_one_plus_n():
    offices = office_table(PEOPLE, OFFICES)
    o1, o2 = _row(offices, "office_id", "O1"), _row(offices, "office_id", "O2")
    # O1: OF1 + AX1 + VO1 (on G1, where OF1 is); VO2 is on G2, where no O1 officer is
    assert (o1["officers"], o1["auxiliaries"], o1["volunteers"], o1["meets"]) == (1, 1, 1, True)
    # O2: an auxiliary without a cell still counts; no officer, so no volunteers either
    assert (o2["officers"], o2["auxiliaries"], o2["volunteers"], o2["meets"]) == (0, 1, 0, False)


def test_office_without_volunteers_falls_short():
    people = PEOPLE[PEOPLE["role"] != "volunteer"]
    o1 = _row(office_table(people, OFFICES), "office_id", "O1")
    assert o1["officers"] == 1 and o1["auxiliaries"] == 1 and not o1["meets"]


def test_station_totals_and_officer_share():
    stations = staffing(HOUSES, PEOPLE, BEATS, GRIDS, OFFICES, STATIONS)["stations"]
    s1, s2 = _row(stations, "station_id", "S1"), _row(stations, "station_id", "S2")
    assert (s1["beats"], s1["beats_meeting"], s1["offices"]) == (3, 1, 1)
    assert (s1["households"], s1["residents"]) == (3400, 11000)
    assert s1["officers"] == 3  # OF1, OF2 (two beats, counted once), OF3
    assert (s1["officers_required"], s1["shortfall"]) == (7, 3)
    assert s1["officers_per_10k_residents"] == pytest.approx(3 * 10_000 / 11_000)
    assert s2["officers"] == 0 and s2["officers_per_10k_residents"] == 0


def test_summary_counts_houses_outside_beats_and_is_json():
    tables = staffing(HOUSES, PEOPLE, BEATS, GRIDS, OFFICES, STATIONS)
    s = summary(tables, HOUSES)
    assert s["houses_outside_beats"] == 1 and s["households_outside_beats"] == 7
    assert (s["shortfall"], s["beats_short"], s["grids_short_of_workers"]) == (4, 3, 1)
    assert s["offices_short"] == 1
    rows = to_records(tables["beats"])
    json.dumps({"summary": s, "beats": rows}, allow_nan=False)
    assert rows[3]["households_per_officer"] is None and rows[0]["meets"] is False


def test_pre_summed_house_rows():
    summed = HOUSES.assign(houses=[10, 5, 3, 1, 2])
    beats = beat_table(summed, PEOPLE, BEATS)
    assert list(beats["houses"]) == [15, 3, 0, 1]
