"""``gridsvc houses import``: a clean register goes in whole, a bad one not at all."""

from __future__ import annotations

import csv
import json

from sqlalchemy import text

from gridsvc.db import objects
from gridsvc.services.assignment import current_plan
from tests.conftest import run_cli

VILLAGE = "东灌底村"
NEIGHBOUR = "西灌底村"
HEADER = ["village", "number", "sub_number", "building", "aliases", "households", "residents",
          "is_rental", "rental_stars", "lon", "lat"]


def _village(engine, name):
    """(business id, a point inside) of a demo village of the plan in effect."""
    plan = current_plan(engine)
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT business_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM area WHERE plan_id = :p AND kind = 'village' AND name = :n"),
            {"p": plan, "n": name}).one()


def _count(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM house")).scalar_one()


def _write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)


def _imported(engine, village_id):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT business_id, number, sub_number, building, aliases, households, residents, "
            "is_rental, rental_stars, village_id, grid_id, beat_id, cells_plan_id, src_crs, "
            "src_x FROM house WHERE address_village_id = :v AND number BETWEEN 9001 AND 9099 "
            "ORDER BY number, sub_number NULLS FIRST"), {"v": village_id}).all()


def _cleanup(engine, village_id):
    ids = [r.business_id for r in _imported(engine, village_id)]
    with engine.begin() as conn:
        objects.delete_by_business_ids(conn, "house", ids)


def test_import_clean_register(pg, engine, tmp_path):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    vid, lon, lat = _village(engine, VILLAGE)
    before = _count(engine)
    path = tmp_path / "houses.csv"
    _write_csv(path, [
        [VILLAGE, "9001", "", "", "老宅|祠堂旁", "2", "5", "是", "3", lon, lat],
        [vid, "9001之1", "", "", "", "", "", "false", "", lon + 0.00001, lat],
        [VILLAGE, "九千零二", "", "3", "", "1", "0", "0", "", lon, lat + 0.00001],
    ])
    try:
        done = run_cli("houses", "import", str(path), env=env, check=True)
        assert "imported 3 house(s) into 1 village(s)" in done.stdout
        assert _count(engine) == before + 3
        rows = _imported(engine, vid)
        assert [(r.number, r.sub_number, r.building) for r in rows] == [
            (9001, None, None), (9001, 1, None), (9002, None, "3")]
        first = rows[0]
        assert first.aliases == ["老宅", "祠堂旁"]
        assert (first.households, first.residents, first.is_rental, first.rental_stars) == (
            2, 5, True, 3)
        plan = current_plan(engine)
        assert all(r.village_id == vid and r.grid_id and r.beat_id
                   and r.cells_plan_id == plan for r in rows)
        assert first.src_crs == "EPSG:4326" and abs(first.src_x - lon) < 1e-9
        assert len({r.business_id for r in rows}) == 3
        with engine.connect() as conn:
            after = conn.execute(text(
                "SELECT after FROM audit_log WHERE action = 'houses.import' "
                "ORDER BY id DESC LIMIT 1")).scalar_one()
        assert after["count"] == 3 and after["file"] == str(path)
        assert sorted(after["ids"]) == sorted(r.business_id for r in rows)

        # The same file again: every row now clashes with the register, nothing goes in.
        again = run_cli("houses", "import", str(path), env=env)
        assert again.returncode == 2
        assert again.stderr.count("already house") == 3
        assert _count(engine) == before + 3
    finally:
        _cleanup(engine, vid)
    assert _count(engine) == before


def test_import_geojson_keeps_original_coordinates(pg, engine, tmp_path):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    vid, lon, lat = _village(engine, VILLAGE)
    path = tmp_path / "houses.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"village": vid, "number": "9050", "id": "HIMPORT1", "households": 3}}]}),
        encoding="utf-8")
    try:
        done = run_cli("houses", "import", str(path), env=env, check=True)
        assert "imported 1 house(s)" in done.stdout
        rows = _imported(engine, vid)
        assert [(r.business_id, r.number, r.households) for r in rows] == [
            ("HIMPORT1", 9050, 3)]
        assert rows[0].src_crs == "EPSG:4326" and rows[0].village_id == vid
    finally:
        _cleanup(engine, vid)


def test_bad_register_reports_every_problem_and_imports_nothing(pg, engine, tmp_path):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    vid, lon, lat = _village(engine, VILLAGE)
    _, west_lon, west_lat = _village(engine, NEIGHBOUR)
    with engine.connect() as conn:
        existing_id, existing_number = conn.execute(text(
            "SELECT business_id, number FROM house WHERE address_village_id = :v "
            "AND number > 0 AND sub_number IS NULL AND building IS NULL AND unit IS NULL "
            "AND room IS NULL ORDER BY business_id LIMIT 1"), {"v": vid}).one()
        audits = conn.execute(text(
            "SELECT count(*) FROM audit_log WHERE action = 'houses.import'")).scalar_one()
    before = _count(engine)
    path = tmp_path / "bad.csv"
    _write_csv(path, [
        ["南灌底村", "9001", "", "", "", "", "", "", "", lon, lat],  # 1 unknown village
        [VILLAGE, "90o1", "", "", "", "", "", "", "", lon, lat],  # 2 number does not parse
        [VILLAGE, "9003", "", "", "", "", "", "", "", lon, lat],  # 3 same address as 4
        [vid, "9003", "", "", "", "", "", "", "", lon, lat],  # 4
        [VILLAGE, str(existing_number), "", "", "", "", "", "", "", lon, lat],  # 5 register
        [VILLAGE, "9005", "", "", "", "", "", "", "", west_lon, west_lat],  # 6 outside
        [VILLAGE, "9006", "", "", "", "", "", "", "", "", ""],  # 7 no coordinates
        [VILLAGE, "9007", "", "", "", "", "", "是", "6", lon, lat],  # 8 stars
        [VILLAGE, "9008", "", "", "", "", "-1", "", "", lon, lat],  # 9 negative count
        [VILLAGE, "9009", "", "", "", "", "", "maybe", "", lon, lat],  # 10 is_rental
    ])
    done = run_cli("houses", "import", str(path), env=env)
    assert done.returncode == 2, done.stderr
    report = done.stderr
    for where in ("row 1, field 'village'", "row 2, field 'number'", "row 4, field 'number'",
                  "row 5, field 'number'", "row 6, field 'lon,lat'", "row 7, field 'lon,lat'",
                  "row 8, field 'rental_stars'", "row 9, field 'residents'",
                  "row 10, field 'is_rental'"):
        assert where in report, where
    assert "row 3" in report.split("row 4, field 'number'")[1].splitlines()[0]
    assert existing_id in report
    assert NEIGHBOUR in report and " m outside " in report
    assert "nothing was imported" in report
    assert _count(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM audit_log WHERE action = 'houses.import'")).scalar_one() == audits
