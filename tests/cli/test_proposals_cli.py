"""``gridsvc plans propose``: dry run by default, --commit writes a draft; bad input exits 2."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import run_cli


def _plans(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM plan")).scalar_one()


def test_propose_dry_run_then_commit(demo_copy, demo_copy_url):
    env = {"GRIDSVC_DATABASE_URL": demo_copy_url}
    before = _plans(demo_copy)
    dry = run_cli("plans", "propose", "--village", "V102001", "--n", "3", env=env, check=True)
    assert "G102001003" in dry.stdout and "G102001005" in dry.stdout
    assert "balanced: largest deviation" in dry.stdout
    assert "dry run: add --commit" in dry.stdout
    assert "replaces G102001001, G102001002" in dry.stdout
    assert _plans(demo_copy) == before

    done = run_cli("plans", "propose", "--village", "V102001", "--n", "3", "--kind", "grid",
                   "--commit", env=env, check=True)
    assert _plans(demo_copy) == before + 1
    with demo_copy.connect() as conn:
        plan_id, status, by = conn.execute(text(
            "SELECT id, status, created_by FROM plan ORDER BY id DESC LIMIT 1")).one()
        grids = set(conn.execute(text(
            "SELECT business_id FROM area WHERE plan_id = :p AND parent_id = 'V102001'"),
            {"p": plan_id}).scalars())
    assert f"draft plan {plan_id} written" in done.stdout
    assert status == "draft" and by.startswith("cli:")
    assert grids == {"G102001003", "G102001004", "G102001005"}


def test_propose_beats_reports_what_cannot_be_balanced(demo_copy_url):
    done = run_cli("plans", "propose", "--town", "T102", "--n", "7",
                   env={"GRIDSVC_DATABASE_URL": demo_copy_url}, check=True)
    assert "NOT balanced" in done.stdout and "V102001" in done.stdout
    assert "clips" in done.stdout or "replaces" in done.stdout


def test_propose_bad_input_exits_2(demo_copy_url):
    env = {"GRIDSVC_DATABASE_URL": demo_copy_url}
    both = run_cli("plans", "propose", "--village", "V102001", "--town", "T102", "--n", "2",
                   env=env)
    assert both.returncode == 2 and "exactly one of" in both.stderr
    grids = run_cli("plans", "propose", "--station", "S01", "--n", "2", "--kind", "grid",
                    env=env)
    assert grids.returncode == 2 and "parent_kind" in grids.stderr
    few = run_cli("plans", "propose", "--town", "T102", "--n", "5", "--kind", "grid", env=env)
    assert few.returncode == 2 and "at least 17" in few.stderr
    too_many = run_cli("plans", "propose", "--village", "V102207", "--n", "1000", env=env)
    assert too_many.returncode == 2 and "'n'" in too_many.stderr
    unknown = run_cli("plans", "propose", "--village", "NOPE", "--n", "2", env=env)
    assert unknown.returncode == 1 and "NOPE" in unknown.stderr


def test_propose_with_a_budget_takes_the_best_found(demo_copy_url):
    done = run_cli("plans", "propose", "--town", "T203", "--n", "26", "--kind", "grid",
                   "--budget", "0.001", env={"GRIDSVC_DATABASE_URL": demo_copy_url},
                   check=True)
    assert "stopped at the --budget of 0.001 s" in done.stdout
    assert "dry run" in done.stdout
