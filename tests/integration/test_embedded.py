"""The embedded PostGIS: made, started, socket only, stopped, started again."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from gridsvc.db.embedded import EmbeddedPostgres
from gridsvc.db.engine import database_url
from gridsvc.settings import Settings


@pytest.fixture
def cluster():
    data_dir = Path(tempfile.mkdtemp(prefix="gridsvc-emb-"))
    data_dir.chmod(0o755)
    pg = EmbeddedPostgres(data_dir)
    yield pg
    pg.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def test_lifecycle_socket_only_with_postgis(cluster):
    assert not cluster.initialised and not cluster.is_running()
    cluster.start()
    assert cluster.is_running()
    with psycopg.connect(cluster.conninfo()) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")
    cluster.start()  # starting a running cluster is a no-op
    assert cluster.stop() is True
    assert not cluster.is_running()
    assert cluster.stop() is False
    cluster.start()  # restart keeps the cluster and its database
    assert cluster.is_running()


def test_external_url_is_used_as_given_and_nothing_embedded_starts(tmp_path):
    settings = Settings(database_url="postgresql://u:p@db.example:5433/gis", data_dir=tmp_path)
    url = database_url(settings)
    assert url == "postgresql+psycopg://u:p@db.example:5433/gis"
    assert not (tmp_path / "pg").exists()


def test_suite_cluster_runs_in_its_own_folder(pg):
    assert pg.is_running()
    assert str(pg.socket_dir).startswith(str(pg.data_dir)) or "gridsvc-" in str(pg.socket_dir)
