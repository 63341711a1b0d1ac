"""The ``gridsvc`` command, run as a user runs it (a real process, real database)."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box
from sqlalchemy import create_engine, text

from tests.conftest import run_cli, start_serve


@pytest.fixture(scope="module")
def env(pg, engine):
    """Environment of a user whose data folder is the suite's cluster (demo town loaded)."""
    return {"GRIDSVC_DATA_DIR": str(pg.data_dir)}


def _counts(url: str) -> tuple[int, int, int]:
    eng = create_engine(url)
    with eng.connect() as conn:
        got = tuple(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in ("area", "plan", "audit_log"))
    eng.dispose()
    return got


def test_token_create_prints_the_token_last(env):
    done = run_cli("token", "create", "--role", "dispatcher", "--name", "cli test", env=env,
                   check=True)
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("gs_") and len(token) > 40


def test_token_create_with_unknown_role_exits_2(env):
    done = run_cli("token", "create", "--role", "chief", "--name", "x", env=env)
    assert done.returncode == 2
    assert "unknown role 'chief'" in done.stderr


def test_db_status_reports_the_running_cluster(env, pg):
    status = json.loads(run_cli("db", "status", env=env, check=True).stdout)
    assert status == {"mode": "embedded", "data_dir": str(pg.data_dir),
                      "cluster_dir": str(pg.cluster_dir), "socket_dir": str(pg.socket_dir),
                      "server_user": pg.server_user(), "initialised": True, "running": True}
    assert status["server_user"] != "root"


def test_demo_load_is_idempotent(env):
    done = run_cli("demo", "load", env=env, check=True)
    assert "already loaded" in done.stdout


def _write(tmp_path: Path, name: str, rows: list[dict], crs: str = "EPSG:4326") -> Path:
    path = tmp_path / name
    gpd.GeoDataFrame(rows, crs=crs).to_file(path, driver="GeoJSON")
    return path


def test_broken_geojson_exits_2_names_feature_and_field_and_writes_nothing(
        tmp_path, scratch_engine, scratch_url):
    bowtie = Polygon([(119.0, 28.0), (119.1, 28.1), (119.1, 28.0), (119.0, 28.1)])
    path = _write(tmp_path, "broken.geojson", [
        {"gid": "G1", "geometry": box(119.0, 28.0, 119.1, 28.1)},
        {"gid": "G2", "geometry": bowtie},
        {"gid": "G1", "geometry": box(119.1, 28.0, 119.2, 28.1)},
    ])
    before = _counts(scratch_url)
    done = run_cli("layers", "import", str(path), "--kind", "grid", "--id-field", "gid",
                   env={"GRIDSVC_DATABASE_URL": scratch_url})
    assert done.returncode == 2, done.stderr
    assert ("feature 1 (id 'G2'), field 'geometry': invalid polygon: Self-intersection"
            in done.stderr)
    assert "feature 2 (id 'G1'), field 'gid': duplicate id" in done.stderr
    assert _counts(scratch_url) == before


def test_import_towns_then_villages_with_parents(tmp_path, scratch_engine, scratch_url):
    env = {"GRIDSVC_DATABASE_URL": scratch_url}
    towns = _write(tmp_path, "towns.geojson", [
        {"tid": "T1", "tname": "甲镇", "geometry": box(119.0, 28.0, 119.1, 28.1)}])
    done = run_cli("layers", "import", str(towns), "--kind", "town", "--id-field", "tid",
                   "--name-field", "tname", env=env, check=True)
    assert "imported 1 town cells" in done.stdout
    # Villages in a projected CRS (the file says so): converted to EPSG:4490 on the way in.
    villages = _write(tmp_path, "villages.geojson", [
        {"vid": "V1", "town": "T1", "geometry": box(500000, 3100000, 501000, 3101000)},
        {"vid": "V2", "town": "T9", "geometry": box(501000, 3100000, 502000, 3101000)},
    ], crs="EPSG:4549")
    done = run_cli("layers", "import", str(villages), "--kind", "village", "--id-field", "vid",
                   "--parent-field", "town", env=env)
    assert done.returncode == 2
    assert "feature 1 (id 'V2'), field 'town': parent 'T9' is not a town" in done.stderr
    assert _counts(scratch_url)[0] == 1
    ok = _write(tmp_path, "v_ok.geojson", [
        {"vid": "V1", "town": "T1", "geometry": box(500000, 3100000, 501000, 3101000)}],
        crs="EPSG:4549")
    run_cli("layers", "import", str(ok), "--kind", "village", "--id-field", "vid",
            "--parent-field", "town", env=env, check=True)
    eng = create_engine(scratch_url)
    with eng.connect() as conn:
        x, y, srid = conn.execute(text(
            "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), ST_SRID(geom) "
            "FROM area WHERE business_id = 'V1'")).one()
        audited = conn.execute(text(
            "SELECT count(*) FROM audit_log WHERE action = 'layers.import'")).scalar_one()
    eng.dispose()
    assert srid == 4490 and 119.9 < x < 120.1 and 27.9 < y < 28.1
    assert audited == 2


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_serve_answers_over_http(env):
    proc, base = start_serve({**os.environ, **env}, seconds=30)
    try:
        token = run_cli("token", "create", "--role", "viewer", "--name", "serve test",
                        env=env, check=True).stdout.strip().splitlines()[-1]
        status, body = _get(f"{base}/api/v1/areas?kind=grid", token)
        assert status == 200 and len(json.loads(body)["features"]) == 39
        assert _get(f"{base}/api/v1/areas?kind=grid")[0] == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out


def test_sigterm_stops_the_embedded_postgis_serve_started():
    # docker stop and systemd send SIGTERM: the database serve started must not be left running.
    import shutil
    import tempfile

    from gridsvc.db.embedded import EmbeddedPostgres

    data = Path(tempfile.mkdtemp(prefix="gridsvc-sigterm-"))
    data.chmod(0o755)
    env = {**os.environ, "GRIDSVC_DATA_DIR": str(data), "GRIDSVC_MAP_PREWARM": "false"}
    env.pop("GRIDSVC_DATABASE_URL", None)
    cluster = EmbeddedPostgres(data)
    proc = None
    try:
        proc, _ = start_serve(env)
        assert cluster.is_running()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert "stopping the embedded PostGIS" in out
        assert not cluster.is_running()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        if cluster.is_running():
            cluster.stop()
        shutil.rmtree(data, ignore_errors=True)
