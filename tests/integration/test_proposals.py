"""Balanced proposals on a private copy of the demo town (``demo_copy``): the draft written, what
it holds, the audit entry, and what a proposal refuses."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import text

from gridsvc.db import proposals as repo
from gridsvc.errors import InvalidInput, NotFound
from gridsvc.services.proposals import propose


def _cells(engine, plan_id, kind):
    with engine.connect() as conn:
        return {c["business_id"]: c for c in repo.cells(conn, plan_id, kind)}


def _active(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM plan WHERE status = 'active'")).scalar_one()


def test_village_into_three_grids_writes_a_draft(demo_copy):
    engine = demo_copy
    active = _active(engine)
    with engine.connect() as conn:
        plans_before = conn.execute(text("SELECT count(*) FROM plan")).scalar_one()
    dry = propose(engine, parent_kind="village", parent_id="V102001", n=3, actor="t",
                  commit=False)
    assert dry["plan_id"] is None and not dry["committed"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plan")).scalar_one() == plans_before

    done = propose(engine, parent_kind="village", parent_id="V102001", n=3, kind="grid",
                   actor="planner-1")
    assert {k: v for k, v in done.items() if k not in ("plan_id", "committed")} == {
        k: v for k, v in dry.items() if k not in ("plan_id", "committed")}  # seeded: same
    plan_id = done["plan_id"]
    assert done["within_tolerance"] and done["max_deviation"] <= 0.10
    assert done["replaced"] == ["G102001001", "G102001002"] and done["clipped"] == []
    assert [c["id"] for c in done["cells"]] == ["G102001003", "G102001004", "G102001005"]
    assert [c["code"] for c in done["cells"]] == [
        "331181102001003", "331181102001004", "331181102001005"]
    assert done["cells"][0]["name"] == "八都社区第3网格"
    hh = [c["households"] for c in done["cells"]]
    assert sum(hh) == 2491 and all(abs(h / (2491 / 3) - 1) <= 0.10 for h in hh)

    with engine.connect() as conn:
        plan = dict(conn.execute(text("SELECT * FROM plan WHERE id = :p"), {"p": plan_id}
                                 ).one()._mapping)
        entry = conn.execute(text(
            "SELECT actor, object_id, before, after FROM audit_log WHERE action = "
            "'plan.propose' ORDER BY id DESC LIMIT 1")).one()
    assert plan["status"] == "draft" and plan["based_on_id"] == active
    assert plan["effective_from"] is None and plan["created_by"] == "planner-1"
    assert entry.actor == "planner-1" and entry.object_id == str(plan_id)
    assert entry.before["plan_id"] == active
    assert entry.after["cells"] == done["cells"]

    # Every other cell is copied unchanged; the village's grids are the three new ones.
    for kind in ("town", "village", "station", "beat"):
        old, new = _cells(engine, active, kind), _cells(engine, plan_id, kind)
        assert old.keys() == new.keys()
        assert all(old[k]["geom"].equals(new[k]["geom"]) for k in old)
    old, new = _cells(engine, active, "grid"), _cells(engine, plan_id, "grid")
    assert new.keys() == (old.keys() - {"G102001001", "G102001002"}) | {
        "G102001003", "G102001004", "G102001005"}
    village = _cells(engine, active, "village")["V102001"]["geom"]
    fresh = [new[c["id"]]["geom"] for c in done["cells"]]
    assert all(g.is_valid for g in fresh)
    union = shapely.union_all(fresh)
    assert shapely.symmetric_difference(union, village).area <= 1e-9 * village.area
    assert sum(shapely.intersection(fresh[i], fresh[j]).area
               for i in range(3) for j in range(i + 1, 3)) <= 1e-9 * village.area
    assert all(len(shapely.get_parts(g)) == 1 for g in fresh)  # contiguous
    # The plan in effect is untouched, and houses keep their cells.
    assert _active(engine) == active
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM house WHERE grid_id LIKE 'G102001%' "
                                 "AND grid_id NOT IN ('G102001001', 'G102001002')")
                            ).scalar_one() == 0

    # A second proposal continues the sequence after the draft's ids.
    again = propose(engine, parent_kind="village", parent_id="V102001", n=2, actor="t",
                    seed=5)
    assert [c["id"] for c in again["cells"]] == ["G102001006", "G102001007"]


def test_station_into_beats_keeps_villages_whole(demo_copy):
    engine = demo_copy
    done = propose(engine, parent_kind="station", parent_id="S01", n=5, kind="beat", actor="t")
    assert done["within_tolerance"], done["reasons"]
    assert done["blocks"] == 30 and sorted(done["replaced"]) == [f"B0{i}" for i in range(1, 6)]
    assert [c["id"] for c in done["cells"]] == ["B06", "B07", "B08", "B09", "B10"]
    assert done["cells"][0]["name"] == "龙泉市公安局八都派出所第6警务区"
    assert done["cells"][0]["code"] == "33118151010006"
    beats = _cells(engine, done["plan_id"], "beat")
    assert sorted(beats) == ["B06", "B07", "B08", "B09", "B10"]
    for v in _cells(engine, done["based_on_id"], "village").values():
        inside = [b for b, c in beats.items()
                  if shapely.intersection(c["geom"], v["geom"]).area > 1e-6 * v["geom"].area]
        assert len(inside) == 1, f"village {v['business_id']} split across {inside}"


def test_town_into_beats_clips_the_beats_reaching_in(demo_copy):
    engine = demo_copy
    done = propose(engine, parent_kind="town", parent_id="T203", n=2, kind="beat", actor="t")
    assert done["within_tolerance"]
    plan = done["plan_id"]
    town = _cells(engine, plan, "town")["T203"]["geom"]
    beats = _cells(engine, plan, "beat")
    new = [c["id"] for c in done["cells"]]
    assert all(beats[b]["parent_id"] == "S01" for b in new)
    assert done["clipped"], "the demo's beats cross the town boundary"
    for bid in done["clipped"]:
        assert shapely.intersection(beats[bid]["geom"], town).area <= 1e-9 * town.area
    union = shapely.union_all([beats[b]["geom"] for b in new])
    assert shapely.symmetric_difference(union, town).area <= 1e-9 * town.area
    gone = set(done["replaced"]) - set(done["clipped"])
    assert not gone & beats.keys()


def test_refusals(demo_copy):
    engine = demo_copy
    with pytest.raises(NotFound, match="V999"):
        propose(engine, parent_kind="village", parent_id="V999", n=2, actor="t")
    with pytest.raises(InvalidInput) as err:
        propose(engine, parent_kind="station", parent_id="S01", n=3, kind="grid", actor="t")
    assert err.value.problems[0].field == "parent_kind"
    with pytest.raises(InvalidInput) as err:  # T102 has 17 villages: one grid each at least
        propose(engine, parent_kind="town", parent_id="T102", n=16, kind="grid", actor="t")
    assert err.value.problems[0].field == "n" and "17" in err.value.problems[0].message
    with pytest.raises(InvalidInput) as err:
        propose(engine, parent_kind="town", parent_id="T102", n=18, kind="beat", actor="t")
    assert err.value.problems[0].field == "n" and "17" in err.value.problems[0].message
    with pytest.raises(InvalidInput) as err:
        propose(engine, parent_kind="village", parent_id="V102001", n=0, actor="t")
    assert err.value.problems[0].field == "n"


def test_a_village_too_big_for_its_share_is_reported(demo_copy):
    # T102 into 7 beats: mean 1306 households, but the town centre (V102001) alone has 2491.
    done = propose(demo_copy, parent_kind="town", parent_id="T102", n=7, kind="beat",
                   actor="t", commit=False)
    assert not done["within_tolerance"]
    assert any("V102001" in r and "2491" in r for r in done["reasons"])


@pytest.mark.parametrize(("parent_kind", "parent_id", "n", "kind"), [
    ("village", "V102001", 3, "grid"), ("station", "S01", 5, "beat"), ("town", "T203", 2, "beat"),
    ("town", "T203", 16, "grid")])
def test_the_draft_passes_the_plan_checks(demo_copy, parent_kind, parent_id, n, kind):
    from gridsvc.services.plans import validate

    done = propose(demo_copy, parent_kind=parent_kind, parent_id=parent_id, n=n, kind=kind,
                   actor="t")
    checked = validate(demo_copy, done["plan_id"], actor="t")
    problems = [f["properties"]["message"] for f in checked["problems"]["features"]
                if f["properties"]["severity"] == "error"]
    assert checked["errors"] == 0, problems
    assert checked["warnings"] == 0  # not even a contiguity or minimum-area flag


def test_town_into_grids_shares_them_among_villages(demo_copy):
    engine = demo_copy
    # T203: 13 villages, 5,480 households; 16 grids of about 342 each.
    done = propose(engine, parent_kind="town", parent_id="T203", n=16, kind="grid", actor="t")
    active, plan = done["based_on_id"], done["plan_id"]
    villages = {k: v for k, v in _cells(engine, active, "village").items()
                if v["parent_id"] == "T203"}
    assert len(villages) == 13 and len(done["cells"]) == 16
    assert sum(c["households"] for c in done["cells"]) == 5480
    old_grids = _cells(engine, active, "grid")
    assert sorted(done["replaced"]) == sorted(
        g for g, c in old_grids.items() if c["parent_id"] in villages)
    new = _cells(engine, plan, "grid")
    by_village: dict[str, list] = {}
    for c in done["cells"]:
        assert new[c["id"]]["parent_id"] == c["parent_id"] and c["parent_id"] in villages
        assert c["id"].startswith("G" + villages[c["parent_id"]]["code"][6:])
        by_village.setdefault(c["parent_id"], []).append(new[c["id"]]["geom"])
    assert by_village.keys() == villages.keys()  # every village keeps at least one grid
    for vid, geoms in by_village.items():
        v = villages[vid]["geom"]
        assert shapely.symmetric_difference(shapely.union_all(geoms), v).area <= 1e-9 * v.area
    # The villages too small for a grid of the town's mean are named, with their share.
    small = [c for c in done["cells"] if c["households"] < done["low"]]
    assert not done["within_tolerance"] and small
    for c in small:
        assert any(c["parent_id"] in r and "a grid stays in its village" in r
                   for r in done["reasons"])


def test_an_activated_proposal_moves_the_houses_to_the_new_grids(demo_copy):
    from gridsvc.services.plan_activation import activate

    done = propose(demo_copy, parent_kind="village", parent_id="V102207", n=2, actor="t")
    activate(demo_copy, done["plan_id"], actor="t")
    with demo_copy.connect() as conn:
        counts = dict(conn.execute(text(
            "SELECT grid_id, sum(households) FROM house WHERE village_id = 'V102207' "
            "GROUP BY 1")).all())
    assert counts == {c["id"]: c["households"] for c in done["cells"]}


def test_two_planners_proposing_at_once_get_different_ids(demo_copy):
    from concurrent.futures import ThreadPoolExecutor

    def run(seed: int) -> dict:
        return propose(demo_copy, parent_kind="village", parent_id="V102207", n=2, actor="t",
                       seed=seed)

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(run, (1, 2))
    ids_a, ids_b = {c["id"] for c in a["cells"]}, {c["id"] for c in b["cells"]}
    assert a["plan_id"] != b["plan_id"] and not ids_a & ids_b
    assert sorted(ids_a | ids_b) == [f"G10220700{i}" for i in range(3, 7)]
