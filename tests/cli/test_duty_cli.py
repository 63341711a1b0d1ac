"""``gridsvc duty``, run as a user runs it, on a private copy of the demo database."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import run_cli


@pytest.fixture
def env(demo_copy_url):
    return {"GRIDSVC_DATABASE_URL": demo_copy_url}


def test_onduty_swap_and_a_past_instant(env):
    past = run_cli("duty", "onduty", "--beat", "B01", "--at", "2026-03-01T02:00", env=env,
                   check=True)
    assert json.loads(past.stdout)["main_duty"]["group"]["code"] in {"A", "B", "C"}
    day = date.today() + timedelta(days=30)
    noon = f"{day.isoformat()}T12:00"
    before = json.loads(run_cli("duty", "onduty", "--beat", "B01", "--at", noon, env=env,
                                check=True).stdout)["main_duty"]["group"]["code"]
    other = "A" if before != "A" else "B"
    run_cli("duty", "swap", "S01", "--day", day.isoformat(), "--group", before, "--with",
            other, env=env, check=True)
    after = json.loads(run_cli("duty", "onduty", "--beat", "B01", "--at", noon, env=env,
                               check=True).stdout)["main_duty"]["group"]["code"]
    assert after == other
    assert json.loads(run_cli("duty", "onduty", "--beat", "B01", "--at", "2026-03-01T02:00",
                              env=env, check=True).stdout) == json.loads(past.stdout)
    bad = run_cli("duty", "swap", "S01", "--day", day.isoformat(), "--group", "A", "--with",
                  "Z", env=env)
    assert bad.returncode == 2 and "no group 'Z'" in bad.stderr


def test_coverage_report_and_map_files(env, tmp_path):
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    day = (now - timedelta(hours=8) - timedelta(days=1)).date().isoformat()
    out = tmp_path / "patrol.csv"
    done = run_cli("duty", "coverage", "--day", day, "-o", str(out), env=env, check=True)
    assert "point-round(s)" in done.stdout
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("day,round,point_id") and len(lines) > 100
    page = tmp_path / "duty.html"
    run_cli("duty", "map", "-o", str(page), env=env, check=True)
    text = page.read_text(encoding="utf-8")
    assert "/static/maps" not in text and "L.map" in text  # libraries inline: opens anywhere
