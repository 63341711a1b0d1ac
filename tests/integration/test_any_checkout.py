"""The embedded PostGIS starts from any checkout, as root: in a folder closed to every other user
(root's home, mode 700) and in an ordinary user's home (mode 750) under sudo.

Each case runs the ``gridsvc`` command as a user would, from the checkout: ``db start`` (which
makes the cluster and migrates it), ``serve`` (``/healthz`` answers 200), then ``db stop``.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridsvc.db.embedded import RELOCATED_ROOT, EmbeddedPostgres
from tests.conftest import start_serve

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="these cases are about running as root (as root, or with sudo)")

TESTER = "gridsvc-tester"


def _gridsvc(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``.venv/bin/gridsvc ARGS`` run from the checkout, its data folder the default ``./var``."""
    env = {**os.environ, "GRIDSVC_MAP_PREWARM": "false"}
    env.pop("GRIDSVC_DATA_DIR", None)
    done = subprocess.run([str(Path(sys.executable).parent / "gridsvc"), *args], cwd=checkout,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"gridsvc {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def _start_migrate_serve_stop(checkout: Path) -> dict[str, object]:
    """The whole round from a checkout; returns ``db status`` while it ran."""
    started = _gridsvc(checkout, "db", "start")
    assert "embedded PostGIS running" in started.stdout
    status = json.loads(_gridsvc(checkout, "db", "status").stdout)
    assert status["running"] and status["server_user"] != "root"
    assert status["data_dir"] == str(checkout / "var")
    env = {**os.environ, "GRIDSVC_DATA_DIR": str(checkout / "var"),
           "GRIDSVC_MAP_PREWARM": "false"}
    proc, url = start_serve(env)
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as answer:
            assert answer.status == 200
            assert json.load(answer)["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert "stopped" in _gridsvc(checkout, "db", "stop").stdout
    assert not EmbeddedPostgres(checkout / "var").is_running()
    return status


@pytest.fixture
def closed_root_folder() -> Iterator[Path]:
    """A checkout in a folder of root's, mode 700 (as ``/root/gridsvc``)."""
    base = Path(tempfile.mkdtemp(prefix="gridsvc-roothome-"))
    base.chmod(0o700)
    checkout = base / "gridsvc"
    checkout.mkdir()
    yield checkout
    cluster = EmbeddedPostgres(checkout / "var")
    cluster.stop()
    if cluster.relocated:
        shutil.rmtree(cluster.cluster_dir, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def users_home() -> Iterator[Path]:
    """A checkout owned by an ordinary user, in their home folder of mode 750 (Ubuntu's
    default); the user is made for the test when the machine has none to spare."""
    made = False
    try:
        pwd.getpwnam(TESTER)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", TESTER],
                       check=True, capture_output=True)
        made = True
    user = pwd.getpwnam(TESTER)
    base = Path(tempfile.mkdtemp(prefix="gridsvc-home-"))
    base.chmod(0o755)
    home = base / TESTER
    checkout = home / "gridsvc"
    checkout.mkdir(parents=True)
    for d in (home, checkout):
        os.chown(d, user.pw_uid, user.pw_gid)
    home.chmod(0o750)
    yield checkout
    EmbeddedPostgres(checkout / "var").stop()
    shutil.rmtree(base, ignore_errors=True)
    if made:
        subprocess.run(["userdel", TESTER], check=False, capture_output=True)


def test_checkout_in_a_folder_closed_to_others_keeps_its_cluster_in_var_lib(
        closed_root_folder: Path) -> None:
    checkout = closed_root_folder
    status = _start_migrate_serve_stop(checkout)

    cluster = EmbeddedPostgres(checkout / "var")
    assert cluster.relocated and cluster.cluster_dir.parent == RELOCATED_ROOT
    assert status["cluster_dir"] == str(cluster.cluster_dir)
    assert status["socket_dir"] == str(cluster.cluster_dir / "run")
    assert status["server_user"] in ("postgres", "gridsvc")
    note = (checkout / "var" / "cluster-location.txt").read_text()
    assert str(cluster.cluster_dir) in note
    # Started again, it is the same cluster (found through its marker), with its data.
    _gridsvc(checkout, "db", "start")
    assert json.loads(_gridsvc(checkout, "db", "status").stdout)["cluster_dir"] == str(
        cluster.cluster_dir)
    _gridsvc(checkout, "db", "stop")


def test_checkout_in_a_users_home_under_sudo_runs_as_that_user(users_home: Path) -> None:
    checkout = users_home
    status = _start_migrate_serve_stop(checkout)

    cluster = EmbeddedPostgres(checkout / "var")
    assert not cluster.relocated
    assert status["cluster_dir"] == str(checkout / "var")
    assert status["server_user"] == TESTER
    # The cluster is that user's, as if they had made it: they can run it without sudo.
    assert (checkout / "var").stat().st_uid == pwd.getpwnam(TESTER).pw_uid
    from gridsvc.db.embedded import find_binaries

    pg_ctl = find_binaries().tool("pg_ctl")
    for action in ("start", "stop"):
        done = subprocess.run(
            ["runuser", "-u", TESTER, "--", pg_ctl, "-D", str(cluster.pgdata), "-l",
             str(cluster.logfile), "-w", action], capture_output=True, text=True, cwd="/")
        assert done.returncode == 0, done.stderr
