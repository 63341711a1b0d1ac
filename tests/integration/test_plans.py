"""Planning on a private copy of the demo town: drafts, edits, checks, impact, activation."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
import shapely
from sqlalchemy import exc, text

from gridsvc.db import areas as area_repo
from gridsvc.domain.geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from gridsvc.errors import Conflict, InvalidInput
from gridsvc.services import incidents, plan_activation, plan_impact, plans
from gridsvc.services.lookup import LookupService

TODAY = date.today()
NEIGHBOURS = """
    SELECT a.business_id, b.business_id FROM area a JOIN area b
      ON b.plan_id = a.plan_id AND b.kind = a.kind AND b.parent_id = a.parent_id
     AND a.business_id < b.business_id AND ST_Relate(a.geom, b.geom, '****1****')
    WHERE a.plan_id = :p AND a.kind = 'grid'
      AND (SELECT count(*) FROM house h WHERE h.grid_id = a.business_id) > 20
    ORDER BY a.business_id, b.business_id LIMIT 1"""
# The covers rule and tie-break of gridsvc.db.objects.assign_cells, for one kind.
SQL_GRID = """
    SELECT h.business_id, h.grid_id, (SELECT a.business_id FROM area a WHERE a.plan_id = :p
      AND a.kind = 'grid' AND ST_Covers(a.geom, h.geom) ORDER BY a.business_id COLLATE "C"
      LIMIT 1) FROM house h"""


def _pair(engine, plan_id):
    with engine.connect() as conn:
        return tuple(conn.execute(text(NEIGHBOURS), {"p": plan_id}).one())


def _houses(engine, grid, n):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT business_id FROM house WHERE grid_id = :g ORDER BY business_id LIMIT :n"),
            {"g": grid, "n": n}).scalars().all()


def _cell(engine, plan_id, cid):
    with engine.connect() as conn:
        wkb = conn.execute(text("SELECT ST_AsBinary(geom) FROM area WHERE plan_id = :p AND "
                                "kind = 'grid' AND business_id = :b"),
                           {"p": plan_id, "b": cid}).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def _actions(engine, plan_id):
    with engine.connect() as conn:
        return conn.execute(text("SELECT action FROM audit_log WHERE object_kind = 'plan' AND "
                                 "object_id = :p ORDER BY id"), {"p": str(plan_id)}).scalars().all()


def test_draft_copies_the_plan_and_new_cells_continue_the_village_sequence(demo_copy):
    draft = plans.create_draft(demo_copy, name="redraw", actor="planner-a")
    shown = plans.show_plan(demo_copy, draft["id"])
    with demo_copy.connect() as conn:
        active = area_repo.area_counts(conn, draft["based_on_id"])
    assert shown["cells"] == active and shown["changes"] == [] and shown["version"] == 1
    a, _ = _pair(demo_copy, draft["id"])
    x0, y0, x1, y1 = _cell(demo_copy, draft["id"], a).bounds
    line = {"type": "LineString", "coordinates": [[(x0 + x1) / 2, y0 - 0.01],
                                                   [(x0 + x1) / 2, y1 + 0.01]]}
    done = plans.edit(demo_copy, draft["id"], {"op": "split", "id": a, "line": line},
                      version=1, actor="planner-a")
    new = done["cells"][1]
    village_digits = a[1:7]
    with demo_copy.connect() as conn:
        last = max(int(b[-3:]) for b in conn.execute(text(
            "SELECT business_id FROM area WHERE kind = 'grid' AND parent_id = "
            "(SELECT parent_id FROM area WHERE business_id = :a LIMIT 1)"), {"a": a}).scalars()
                   if b != new["id"])
        code = conn.execute(text("SELECT code FROM area WHERE plan_id = :p AND business_id = :b"),
                            {"p": draft["id"], "b": new["id"]}).scalar_one()
    assert new == {"kind": "grid", "id": f"G{village_digits}{last + 1:03d}", "change": "added"}
    assert code.endswith(f"{last + 1:03d}") and len(code) == 15
    # Merged back, the new cell is gone; a number no other plan holds may be given again,
    # while a number in any plan (even a retired one) never is.
    plans.edit(demo_copy, draft["id"], {"op": "merge", "ids": [a, new["id"]]}, version=2,
               actor="planner-a")
    other = plans.create_draft(demo_copy, name="other", actor="planner-b")
    plans.edit(demo_copy, other["id"], {"op": "split", "id": a, "line": line}, version=1,
               actor="planner-b")
    plan_activation.retire(demo_copy, other["id"], actor="planner-b")
    again = plans.edit(demo_copy, draft["id"], {"op": "split", "id": a, "line": line},
                       version=3, actor="planner-a")
    assert again["cells"][1]["id"] == f"G{village_digits}{last + 2:03d}"
    assert _actions(demo_copy, draft["id"]) == ["plan.create", "plan.edit", "plan.edit",
                                                "plan.edit"]


def test_invalid_geometry_is_rejected_unless_repair_and_nothing_is_written(demo_copy):
    draft = plans.create_draft(demo_copy, name="bad", actor="planner-a")
    a, _ = _pair(demo_copy, draft["id"])
    x0, y0, x1, y1 = _cell(demo_copy, draft["id"], a).bounds
    bowtie = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1],
                                                  [x0, y0]]]}
    with pytest.raises(InvalidInput, match="Self-intersection"):
        plans.edit(demo_copy, draft["id"], {"op": "replace", "id": a, "geometry": bowtie},
                   version=1, actor="planner-a")
    assert plans.show_plan(demo_copy, draft["id"])["version"] == 1
    assert _actions(demo_copy, draft["id"]) == ["plan.create"]
    done = plans.edit(demo_copy, draft["id"], {"op": "replace", "id": a, "geometry": bowtie,
                                               "repair": True}, version=1, actor="planner-a")
    assert done["version"] == 2 and done["errors"] > 0  # the bow tie leaves gaps


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_an_edit_in_a_web_map_offset_lands_on_its_truth(demo_copy, system):
    # A planner draws on AMap (GCJ-02) or Baidu (BD-09): the edit says so with "crs" and the
    # cell is stored where the same outline is in CGCS2000.
    shift = wgs84_to_gcj02 if system == "gcj02" else wgs84_to_bd09
    draft = plans.create_draft(demo_copy, name="drawn on a web map", actor="planner-a")
    a, _ = _pair(demo_copy, draft["id"])
    truth = _cell(demo_copy, draft["id"], a).buffer(-0.0002)
    drawn = shapely.transform(truth, lambda xy: np.column_stack(shift(xy[:, 0], xy[:, 1])))
    assert drawn.hausdorff_distance(truth) > 0.002  # hundreds of metres off as drawn
    plans.edit(demo_copy, draft["id"], {"op": "replace", "id": a, "crs": system,
                                        "geometry": shapely.geometry.mapping(drawn)},
               version=1, actor="planner-a")
    assert _cell(demo_copy, draft["id"], a).hausdorff_distance(truth) < 1e-7  # about 1 cm


def test_validation_names_the_cells_and_where(demo_copy):
    draft = plans.create_draft(demo_copy, name="overlap", actor="planner-a")
    a, b = _pair(demo_copy, draft["id"])
    grown = _cell(demo_copy, draft["id"], a).buffer(0.0005)
    done = plans.edit(demo_copy, draft["id"], {"op": "replace", "id": a,
                                               "geometry": shapely.geometry.mapping(grown)},
                      version=1, actor="planner-a")
    props = [f["properties"] for f in done["problems"]["features"]]
    overlap = next(p for p in props if p["kind"] == "overlap" and b in p["cells"])
    assert a in overlap["cells"] and overlap["severity"] == "error" and overlap["area_m2"] > 0
    located = next(f for f in done["problems"]["features"] if f["properties"] is overlap)
    assert shapely.geometry.shape(located["geometry"]).intersects(grown)
    assert any(p["kind"] == "outside_parent" and p["cells"][0] == a for p in props)
    shrunk = _cell(demo_copy, draft["id"], a).buffer(-0.001)
    done = plans.edit(demo_copy, draft["id"], {"op": "replace", "id": a,
                                               "geometry": shapely.geometry.mapping(shrunk)},
                      version=2, actor="planner-a")
    gaps = [f["properties"] for f in done["problems"]["features"]
            if f["properties"]["kind"] == "gap"]
    assert gaps and all(a in g["cells"] for g in gaps)
    checked = plans.validate(demo_copy, draft["id"], actor="planner-b")
    assert checked["errors"] == done["errors"]
    assert _actions(demo_copy, draft["id"])[-1] == "plan.validate"
    with pytest.raises(InvalidInput):  # activation refuses a draft with errors
        plan_activation.activate(demo_copy, draft["id"], actor="planner-a")


def test_two_planners_racing_on_one_draft_one_gets_a_conflict(demo_copy):
    draft = plans.create_draft(demo_copy, name="race", actor="planner-a")
    a, b = _pair(demo_copy, draft["id"])
    start = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def planner(name: str, op: dict) -> None:
        start.wait()
        try:
            outcome[name] = plans.edit(demo_copy, draft["id"], op, version=1, actor=name)
        except Conflict as err:
            outcome[name] = err

    houses = _houses(demo_copy, a, 3)
    threads = [threading.Thread(target=planner, args=(n, op)) for n, op in (
        ("planner-a", {"op": "transfer", "from": a, "to": b, "houses": houses}),
        ("planner-b", {"op": "retire", "id": b}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lost = [n for n, r in outcome.items() if isinstance(r, Conflict)]
    won = [n for n, r in outcome.items() if isinstance(r, dict)]
    assert len(lost) == 1 and len(won) == 1
    message = str(outcome[lost[0]])
    assert "version 2, not 1" in message and won[0] in message and "reload" in message
    assert plans.show_plan(demo_copy, draft["id"])["version"] == 2


def test_impact_then_activation_moves_what_was_previewed_and_incidents_stay(demo_copy):
    draft = plans.create_draft(demo_copy, name="move houses", actor="planner-a")
    old = draft["based_on_id"]
    a, b = _pair(demo_copy, draft["id"])
    chosen = _houses(demo_copy, a, 8)
    with demo_copy.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM house WHERE "
                                 "business_id = :h"), {"h": chosen[0]}).one()
    before = incidents.create_incident(
        demo_copy, occurred_at=datetime.now(UTC) - timedelta(days=3), category="盗窃",
        lon=x, lat=y, crs="4490", actor="dispatcher")
    assert before["cells"]["grid"] == a
    plans.edit(demo_copy, draft["id"], {"op": "transfer", "from": a, "to": b,
                                        "houses": chosen}, version=1, actor="planner-a")
    preview = plan_impact.impact(demo_copy, draft["id"], months=1)
    assert sorted(h["id"] for h in preview["houses"]) == sorted(chosen)
    assert all(h["before"] == {"grid": a} and h["after"] == {"grid": b}
               for h in preview["houses"])
    assert before["id"] in [i["id"] for i in preview["incidents"]]
    grids = {g["id"]: g for g in preview["workload"]["grids"]}
    moved_households = sum(h["households"] for h in preview["houses"])
    assert grids[a]["before"]["households"] - grids[a]["after"]["households"] == moved_households
    assert grids[b]["after"]["households"] - grids[b]["before"]["households"] == moved_households
    assert {f["properties"]["version"] for f in preview["cells"]["features"]} == {"before",
                                                                                  "after"}
    dry = plan_activation.activate(demo_copy, draft["id"], actor="planner-a", commit=False)
    assert dry["moved"]["house"] == len(chosen) and not dry["committed"]
    with demo_copy.connect() as conn:
        assert area_repo.current_plan_id(conn) == old
    lookups = LookupService(demo_copy, recheck_seconds=0)
    assert lookups.lookup(x, y, "4490")["cells"]["grid"]["id"] == a

    done = plan_activation.activate(demo_copy, draft["id"], actor="planner-a", version=2)
    assert done["moved"]["house"] == len(chosen) and done["replaces"] == old
    with demo_copy.connect() as conn:
        stored = conn.execute(text("SELECT grid_id, cells_plan_id, count(*) FROM house WHERE "
                                   "business_id = ANY(:h) GROUP BY 1, 2"), {"h": chosen}).all()
        assert stored == [(b, draft["id"], len(chosen))]
        # Every house's stored grid is what the SQL covers rule says under the new plan.
        rows = conn.execute(text(SQL_GRID), {"p": draft["id"]}).all()
        assert all(r[1] == r[2] for r in rows) and len(rows) > 1000
        plans_of = set(conn.execute(text("SELECT DISTINCT cells_plan_id FROM house")).scalars())
        assert plans_of == {draft["id"]}
        # Compound entrances move with the other point objects.
        gates = set(conn.execute(text(
            "SELECT DISTINCT cells_plan_id FROM compound_entrance")).scalars())
        assert gates == {draft["id"]}
    kept = incidents.get_incident(demo_copy, before["id"])
    assert kept["cells"]["grid"] == a and kept["cells"]["plan_id"] == old
    assert lookups.lookup(x, y, "4490", as_of=TODAY - timedelta(days=1))["cells"]["grid"][
        "id"] == a
    assert lookups.lookup(x, y, "4490")["cells"]["grid"]["id"] == b
    late = incidents.create_incident(  # logged now, happened before the change: old cells
        demo_copy, occurred_at=datetime.now(UTC) - timedelta(days=2), category="盗窃",
        lon=x, lat=y, crs="4490", actor="dispatcher")
    assert late["cells"]["grid"] == a
    assert _actions(demo_copy, draft["id"])[-1] == "plan.activate"
    with pytest.raises(Conflict, match="not a draft"):
        plan_activation.activate(demo_copy, draft["id"], actor="planner-a")


def test_a_failure_half_way_through_activation_changes_nothing(demo_copy):
    draft = plans.create_draft(demo_copy, name="fails", actor="planner-a")
    a, b = _pair(demo_copy, draft["id"])
    chosen = _houses(demo_copy, a, 5)
    plans.edit(demo_copy, draft["id"], {"op": "transfer", "from": a, "to": b,
                                        "houses": chosen}, version=1, actor="planner-a")
    # Houses and patrol points are moved before cameras: the failure comes half-way.
    with demo_copy.begin() as conn:
        conn.execute(text("""
            CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
            CREATE TRIGGER fail BEFORE UPDATE ON camera FOR EACH ROW EXECUTE FUNCTION fail();
        """))
    with pytest.raises(exc.DBAPIError, match="injected failure"):
        plan_activation.activate(demo_copy, draft["id"], actor="planner-a")
    with demo_copy.connect() as conn:
        assert area_repo.current_plan_id(conn) == draft["based_on_id"]
        status = conn.execute(text("SELECT status FROM plan WHERE id = :p"),
                              {"p": draft["id"]}).scalar_one()
        cells = conn.execute(text("SELECT DISTINCT grid_id, cells_plan_id FROM house WHERE "
                                  "business_id = ANY(:h)"), {"h": chosen}).all()
    assert status == "draft" and cells == [(a, draft["based_on_id"])]
    assert _actions(demo_copy, draft["id"])[-1] == "plan.edit"


def test_future_date_sync_retire_and_restore(demo_copy):
    draft = plans.create_draft(demo_copy, name="next month", actor="planner-a")
    old = draft["based_on_id"]
    a, b = _pair(demo_copy, draft["id"])
    chosen = _houses(demo_copy, a, 4)
    plans.edit(demo_copy, draft["id"], {"op": "transfer", "from": a, "to": b,
                                        "houses": chosen}, version=1, actor="planner-a")
    day = TODAY + timedelta(days=30)
    done = plan_activation.activate(demo_copy, draft["id"], effective_from=day,
                                    actor="planner-a")
    assert not done["in_effect"] and sum(done["moved"].values()) == 0

    def grid_of_chosen():
        with demo_copy.connect() as conn:
            return conn.execute(text("SELECT DISTINCT grid_id FROM house WHERE "
                                     "business_id = ANY(:h)"), {"h": chosen}).scalars().all()

    with demo_copy.connect() as conn:
        assert area_repo.current_plan_id(conn, TODAY) == old
        assert area_repo.current_plan_id(conn, day) == draft["id"]
    assert plan_activation.sync(demo_copy, actor="cron")["moved"]["house"] == 0
    assert grid_of_chosen() == [a]
    assert plan_activation.sync(demo_copy, actor="cron", today=day)["moved"]["house"] == 4
    assert grid_of_chosen() == [b]
    back = plan_activation.retire(demo_copy, draft["id"], actor="planner-a", today=day)
    assert back["in_effect"] == old and back["moved"]["house"] == 4 and grid_of_chosen() == [a]
    again = plan_activation.restore(demo_copy, draft["id"], actor="planner-a", today=day)
    assert again["in_effect"] == draft["id"] and grid_of_chosen() == [b]
    with pytest.raises(Conflict, match="no plan in effect"):
        plan_activation.retire(demo_copy, old, actor="planner-a", today=TODAY)


def test_retire_and_create_cells_and_a_beat_edit_newly_splitting_a_grid(demo_copy):
    draft = plans.create_draft(demo_copy, name="beats", actor="planner-a")
    p = draft["id"]
    a, _ = _pair(demo_copy, p)
    geom = _cell(demo_copy, p, a)
    gone = plans.edit(demo_copy, p, {"op": "retire", "id": a}, version=1, actor="planner-a")
    gaps = [f["properties"] for f in gone["problems"]["features"]
            if f["properties"]["kind"] == "gap"]
    assert gone["cells"] == [{"kind": "grid", "id": a, "change": "retired"}] and gaps
    with demo_copy.connect() as conn:
        village = conn.execute(text("SELECT parent_id FROM area WHERE plan_id = :p AND "
                                    "business_id = :a"), {"p": draft["based_on_id"], "a": a}
                               ).scalar_one()
    made = plans.edit(demo_copy, p, {"op": "create", "parent_id": village, "name": "新网格",
                                     "geometry": shapely.geometry.mapping(geom)},
                      version=2, actor="planner-a")
    new_id = made["cells"][0]["id"]
    assert made["errors"] == 0 and new_id != a and new_id.startswith(a[:7])
    with pytest.raises(InvalidInput, match="still has grids"):
        plans.edit(demo_copy, p, {"op": "retire", "kind": "village", "id": village},
                   version=3, actor="planner-a")
    with demo_copy.connect() as conn:
        grid, beat = conn.execute(text("""
            SELECT g.business_id, b.business_id FROM area g JOIN area b ON b.plan_id = g.plan_id
            AND b.kind = 'beat' AND ST_Covers(b.geom, g.geom)
            WHERE g.plan_id = :p AND g.kind = 'grid' ORDER BY g.business_id LIMIT 1"""),
            {"p": p}).one()
        other = conn.execute(text("""
            SELECT o.business_id FROM area o JOIN area b ON b.plan_id = o.plan_id
            AND b.kind = 'beat' AND b.business_id = :b
            WHERE o.plan_id = :p AND o.kind = 'beat' AND o.business_id <> :b
            AND ST_Intersects(o.geom, b.geom) ORDER BY o.business_id LIMIT 1"""),
            {"p": p, "b": beat}).scalar_one()
        wkb = conn.execute(text("SELECT ST_AsBinary(geom) FROM area WHERE plan_id = :p AND "
                                "kind = 'grid' AND business_id = :g"), {"p": p, "g": grid}
                           ).scalar_one()
    x0, y0, x1, y1 = shapely.from_wkb(bytes(wkb)).bounds
    half = shapely.box(x0 - 0.001, y0 - 0.001, (x0 + x1) / 2, y1 + 0.001)
    plans.edit(demo_copy, p, {"op": "transfer", "kind": "beat", "from": beat, "to": other,
                              "area": shapely.geometry.mapping(half)},
               version=3, actor="planner-a")
    preview = plan_impact.impact(demo_copy, p)
    split = [s for s in preview["splits"] if s["kind"] == "grid_split" and s["cell"] == grid]
    assert split and set(split[0]["cut_by"]) == {beat, other}
    beats = {b["id"]: b for b in preview["workload"]["beats"]}
    moved = [h for h in preview["houses"] if h["before"].get("beat") == beat]
    assert moved and all(h["after"]["beat"] == other for h in moved)
    households = sum(h["households"] for h in moved)
    assert beats[beat]["before"]["households"] - beats[beat]["after"]["households"] == households
    assert any(o["beat"] == beat for o in preview["workload"]["officers"])


def test_two_drafts_of_one_plan_activated_at_once_one_is_refused(demo_copy):
    first = plans.create_draft(demo_copy, name="one", actor="planner-a")
    second = plans.create_draft(demo_copy, name="two", actor="planner-b")
    start = threading.Barrier(2)
    outcome: dict[int, object] = {}

    def activate(plan_id: int) -> None:
        start.wait()
        try:
            outcome[plan_id] = plan_activation.activate(demo_copy, plan_id, actor="x")
        except Conflict as err:
            outcome[plan_id] = err

    threads = [threading.Thread(target=activate, args=(d["id"],)) for d in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [p for p, r in outcome.items() if isinstance(r, Conflict)]
    assert len(refused) == 1 and "make a new draft" in str(outcome[refused[0]])
