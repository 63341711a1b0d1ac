"""The demo town in the database: counts, assignment, idempotent loading."""

from __future__ import annotations

from sqlalchemy import text

from gridsvc.db import areas as area_repo
from gridsvc.services.demo import content_hash, load_demo


def _count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_demo_plan_has_the_town(engine):
    with engine.connect() as conn:
        plan = area_repo.current_plan_id(conn)
        counts = area_repo.area_counts(conn, plan)
    assert counts == {"town": 2, "village": 30, "grid": 39, "station": 1, "beat": 5}


def test_houses_sit_in_the_village_of_their_address_and_have_a_grid(engine):
    assert _count(engine, "SELECT count(*) FROM house") > 8500
    assert _count(engine, "SELECT count(*) FROM house WHERE grid_id IS NULL") == 0
    assert _count(engine, "SELECT count(*) FROM house WHERE village_id <> address_village_id") == 0


def test_every_grid_lies_in_its_parent_village(engine):
    bad = _count(engine, """
        SELECT count(*) FROM area g JOIN area v
          ON v.plan_id = g.plan_id AND v.kind = 'village' AND v.business_id = g.parent_id
        WHERE g.kind = 'grid'
          AND ST_Area(ST_Difference(g.geom, v.geom)::geography) > 1""")
    assert bad == 0
    orphans = "SELECT count(*) FROM area WHERE kind = 'grid' AND parent_id IS NULL"
    assert _count(engine, orphans) == 0


def test_incidents_keep_the_cells_of_the_demo_plan(engine):
    assert _count(engine, "SELECT count(*) FROM incident") > 1000
    assert _count(engine, "SELECT count(*) FROM incident WHERE cells_plan_id IS NULL") == 0
    assert _count(engine, "SELECT count(*) FROM incident WHERE town_id IS NULL") == 0


def test_people_are_linked_to_cells(engine):
    assert _count(engine, "SELECT count(*) FROM person WHERE role = 'officer'") == 8
    assert _count(engine, "SELECT count(*) FROM person WHERE role = 'grid_worker'") == 89
    lacking = _count(engine, """
        SELECT count(*) FROM area g WHERE g.kind = 'grid' AND (
          SELECT count(*) FROM person_area pa JOIN person p ON p.pk = pa.person_pk
          WHERE pa.kind = 'grid' AND pa.area_id = g.business_id AND p.role = 'grid_worker') < 2""")
    assert lacking == 0


def test_loading_again_changes_nothing(engine, settings):
    houses, plans = "SELECT count(*) FROM house", "SELECT count(*) FROM plan"
    before = _count(engine, houses), _count(engine, plans)
    audit_before = _count(engine, "SELECT count(*) FROM audit_log")
    result = load_demo(engine, settings.demo_dir, actor="test-suite")
    assert result.loaded is False
    assert (_count(engine, houses), _count(engine, plans)) == before
    assert _count(engine, "SELECT count(*) FROM audit_log") == audit_before


def test_demo_load_is_audited(engine):
    assert _count(engine, "SELECT count(*) FROM audit_log WHERE action = 'demo.load'") >= 1


def test_compound_entrances_are_loaded_with_their_cells(engine, settings):
    assert _count(engine, "SELECT count(*) FROM compound_entrance") == 38
    assert _count(engine, "SELECT count(*) FROM compound_entrance WHERE grid_id IS NULL "
                          "OR beat_id IS NULL OR cells_plan_id IS NULL") == 0
    # Each gate lies on its compound's fence (within a few cm: coordinates are rounded).
    assert _count(engine, """
        SELECT count(*) FROM compound_entrance e JOIN compound c ON c.business_id = e.compound_id
        WHERE ST_Distance(ST_Boundary(c.geom)::geography, e.geom::geography) < 0.1""") == 38


def test_the_content_hash_covers_the_entrances(settings, tmp_path):
    for path in settings.demo_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    before = content_hash(tmp_path)
    gates = tmp_path / "compound_entrances.geojson"
    gates.write_text(gates.read_text(encoding="utf-8").replace("正门", "大门"), encoding="utf-8")
    assert content_hash(tmp_path) != before
