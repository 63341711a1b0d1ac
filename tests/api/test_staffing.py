"""/api/v1/staffing on the demo town, checked against direct SQL counts."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import text


@pytest.fixture(scope="module")
def report(client, auth):
    r = client.get("/api/v1/staffing", headers=auth())
    assert r.status_code == 200
    return r.json()


@pytest.fixture(scope="module")
def counts(engine):
    with engine.connect() as conn:
        houses = conn.execute(text(
            "SELECT coalesce(sum(households), 0), coalesce(sum(residents), 0) FROM house "
            "WHERE beat_id IS NOT NULL")).one()
        per_beat = {b: (hh, res) for b, hh, res in conn.execute(text(
            "SELECT beat_id, sum(households), sum(residents) FROM house "
            "WHERE beat_id IS NOT NULL GROUP BY beat_id")).all()}
        officers = conn.execute(text(
            "SELECT count(DISTINCT p.pk) FROM person p JOIN person_area pa "
            "ON pa.person_pk = p.pk WHERE p.role = 'officer' AND pa.kind = 'beat'")).scalar_one()
    return {"households": houses[0], "residents": houses[1], "per_beat": per_beat,
            "officers": officers}


def test_needs_a_token(client):
    assert client.get("/api/v1/staffing").status_code == 401


def test_levels_and_sizes(report):
    assert len(report["beats"]) == 5
    assert len(report["grids"]) == 39
    assert len(report["stations"]) == 1
    assert {o["office_id"] for o in report["offices"]} == {"O01", "O02"}
    assert report["standard"]["households_per_officer"] == 1000


def test_beats_match_sql_and_fall_short(report, counts):
    s = report["summary"]
    assert s["officers"] == counts["officers"] == 8
    assert sum(b["officers"] for b in report["beats"]) == 8
    assert s["households"] == counts["households"]
    assert s["residents"] == counts["residents"]
    assert {b["beat_id"]: (b["households"], b["residents"])
            for b in report["beats"]} == counts["per_beat"]
    required = sum(max(math.ceil(hh / 1000), math.ceil(res / 3000), 1)
                   for hh, res in counts["per_beat"].values())
    assert s["officers_required"] == required == 18
    assert s["shortfall"] == sum(max(b["officers_required"] - b["officers"], 0)
                                 for b in report["beats"])
    # about 14,600 households for 8 officers: far over 1,000 households per officer
    assert counts["households"] > 8 * 1000
    assert s["shortfall"] == required - 8 == 10 and s["beats_short"] == 5


def test_every_grid_has_two_grid_workers(report):
    assert all(g["grid_workers"] >= 2 and g["meets_workers"] for g in report["grids"])
    assert report["summary"]["grids_short_of_workers"] == 0


def test_offices_and_station(report):
    by_id = {o["office_id"]: o for o in report["offices"]}
    for office in by_id.values():
        assert office["officers"] == 2 and office["auxiliaries"] >= 1 and office["volunteers"] >= 1
        assert office["meets"]
    station = report["stations"][0]
    assert station["officers"] == 8
    assert station["officers_per_10k_residents"] == pytest.approx(
        8 * 10_000 / station["residents"], abs=0.01)


def test_as_of_before_any_plan_is_404(client, auth):
    r = client.get("/api/v1/staffing?as_of=1900-01-01", headers=auth())
    assert r.status_code == 404


def test_a_drafts_staffing_places_houses_by_its_cells(demo_copy):
    from gridsvc.services import plans, staffing

    draft = plans.create_draft(demo_copy, name="copy", actor="test")["id"]
    in_effect, of_draft = staffing.staffing_report(demo_copy), staffing.staffing_report(
        demo_copy, plan_id=draft)
    assert of_draft["plan_id"] == draft != in_effect["plan_id"]
    # An unchanged copy: every house lands in the cell of the same id, found by its point.
    assert {k: v for k, v in of_draft.items() if k != "plan_id"} == {
        k: v for k, v in in_effect.items() if k != "plan_id"}


def test_plan_id_is_checked(client, auth):
    assert client.get("/api/v1/staffing?plan_id=999999", headers=auth()).status_code == 404
    r = client.get("/api/v1/staffing?plan_id=4294967296", headers=auth())
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "plan_id"
