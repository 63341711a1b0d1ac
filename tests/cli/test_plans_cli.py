"""``gridsvc plans``: the planner's steps from the command line, on a copy of the demo town."""

from __future__ import annotations

import json
import re

from sqlalchemy import create_engine, text

from tests.conftest import run_cli


def test_plans_cli_create_edit_validate_impact_activate(demo_copy_url, tmp_path):
    env = {"GRIDSVC_DATABASE_URL": demo_copy_url}
    dry = run_cli("plans", "create", "--name", "北片", env=env, check=True)
    assert "would make a draft" in dry.stdout
    made = run_cli("plans", "create", "--name", "北片", "--commit", env=env, check=True)
    plan_id = int(re.search(r"made draft (\d+)", made.stdout).group(1))
    engine = create_engine(demo_copy_url)
    try:
        with engine.connect() as conn:
            grid, bounds = conn.execute(text(
                "SELECT business_id, ST_AsText(ST_Envelope(geom)) FROM area WHERE plan_id = :p "
                "AND kind = 'grid' ORDER BY (SELECT count(*) FROM house h WHERE h.grid_id = "
                "business_id) DESC, business_id LIMIT 1"), {"p": plan_id}).one()
        xs = [float(v) for v in re.findall(r"[-\d.]+", bounds)][0::2]
        ys = [float(v) for v in re.findall(r"[-\d.]+", bounds)][1::2]
        mid = (min(xs) + max(xs)) / 2
        line = json.dumps([[mid, min(ys) - 0.01], [mid, max(ys) + 0.01]])

        shown = run_cli("plans", "show", str(plan_id), env=env, check=True)
        assert "version 1" in shown.stdout and "draft" in shown.stdout
        stale = run_cli("plans", "edit", "split", str(plan_id), "--id", grid, "--line", line,
                        "--version", "7", "--commit", env=env)
        assert stale.returncode == 1 and "not 7" in stale.stderr
        bad = run_cli("plans", "edit", "split", str(plan_id), "--id", "NO-SUCH", "--line", line,
                      "--version", "1", env=env)
        assert bad.returncode == 2 and "no grid 'NO-SUCH'" in bad.stderr
        trial = run_cli("plans", "edit", "split", str(plan_id), "--id", grid, "--line", line,
                        "--version", "1", env=env, check=True)
        assert "dry run" in trial.stdout and "added grid" in trial.stdout
        assert "version 1" in run_cli("plans", "show", str(plan_id), env=env).stdout
        done = run_cli("plans", "edit", "split", str(plan_id), "--id", grid, "--line", line,
                       "--version", "1", "--commit", env=env, check=True)
        assert f"plan {plan_id} is now version 2" in done.stdout

        checked = run_cli("plans", "validate", str(plan_id), env=env)
        assert checked.returncode == 0 and "0 error(s)" in checked.stdout
        out = tmp_path / "impact.json"
        preview = run_cli("plans", "impact", str(plan_id), "-o", str(out), env=env, check=True)
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["summary"]["houses"] > 0
        assert f"{report['summary']['houses']} house(s)" in preview.stdout
        assert report["plan_id"] == plan_id and report["cells"]["features"]
        houses_csv = tmp_path / "houses.csv"
        run_cli("plans", "impact", str(plan_id), "-o", str(houses_csv), env=env, check=True)
        assert houses_csv.read_text(encoding="utf-8").startswith("id,")

        would = run_cli("plans", "activate", str(plan_id), env=env, check=True)
        assert "would activate" in would.stdout and "dry run" in would.stdout
        on = run_cli("plans", "activate", str(plan_id), "--version", "2", "--commit", env=env,
                     check=True)
        assert f"activated plan {plan_id}" in on.stdout
        listed = run_cli("plans", "list", env=env, check=True)
        assert "active" in listed.stdout and "yes" in listed.stdout
        with engine.connect() as conn:
            assert conn.execute(text("SELECT DISTINCT cells_plan_id FROM house")
                                ).scalars().all() == [plan_id]
    finally:
        engine.dispose()
