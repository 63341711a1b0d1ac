"""``gridsvc houses number``: dry run by default, --commit writes and audits."""

from __future__ import annotations

import shapely
from sqlalchemy import text

from gridsvc.db import objects
from tests.conftest import run_cli

NEW = ["HNEW1", "HNEW2", "HNEW3"]


def _numbers(engine, ids):
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT business_id, number FROM house WHERE business_id = ANY(:ids)"),
            {"ids": ids}).all())


def test_houses_number_dry_run_then_commit(pg, engine):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    with engine.connect() as conn:
        village = conn.execute(text(
            "SELECT address_village_id FROM house GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )).scalar_one()
        top, west, north = conn.execute(text(
            "SELECT max(number), min(ST_X(geom)), max(ST_Y(geom)) FROM house "
            "WHERE address_village_id = :v"), {"v": village}).one()
        audits = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'house.number'")
                              ).scalar_one()
    # Three new houses ~10 m north of the village, in its first row (walked west to east),
    # inserted out of order: HNEW2 is westmost, then HNEW3, then HNEW1.
    lat = north + 0.0001
    rows = [{"business_id": b, "address_village_id": village, "village_id": village,
             "number": 0, "geom": shapely.Point(west + 0.0005 * k, lat)}
            for b, k in zip(NEW, (2, 0, 1), strict=True)]
    with engine.begin() as conn:
        objects.insert_rows(conn, "house", rows)
    try:
        dry = run_cli("houses", "number", "--village", village, env=env, check=True)
        assert _numbers(engine, NEW) == dict.fromkeys(NEW, 0)
        assert "would number 3 house(s)" in dry.stdout
        assert all(b in dry.stdout for b in NEW)

        done = run_cli("houses", "number", "--village", village, "--commit", env=env, check=True)
        assert "numbered 3 house(s)" in done.stdout
        assert _numbers(engine, NEW) == {"HNEW2": top + 1, "HNEW3": top + 2, "HNEW1": top + 3}
        with engine.connect() as conn:
            entries = conn.execute(text(
                "SELECT actor, object_id, before, after FROM audit_log "
                "WHERE action = 'house.number' ORDER BY id")).all()
        assert len(entries) == audits + 1
        actor, object_id, before, after = entries[-1]
        assert actor.startswith("cli:") and object_id == village
        assert [b["number"] for b in before] == [0, 0, 0]
        assert [(a["house_id"], a["number"]) for a in after] == [
            ("HNEW2", top + 1), ("HNEW3", top + 2), ("HNEW1", top + 3)]

        again = run_cli("houses", "number", "--village", village, env=env, check=True)
        assert "would number 0 house(s)" in again.stdout
    finally:
        with engine.begin() as conn:
            objects.delete_by_business_ids(conn, "house", NEW)


def test_houses_number_unknown_village_fails(pg, engine):
    done = run_cli("houses", "number", "--village", "NO-SUCH",
                   env={"GRIDSVC_DATA_DIR": str(pg.data_dir)})
    assert done.returncode == 1 and "no village with id 'NO-SUCH'" in done.stderr
