"""Fixtures shared by the suite: a real PostGIS started by the suite itself.

The suite never touches the server in GRIDSVC_DATABASE_URL: it makes its own embedded cluster in
a temporary folder (the same code path as ``gridsvc db start``), with the demo town loaded into
its ``gridsvc`` database, and scratch databases for tests that need an empty one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

ROOT = Path(__file__).resolve().parent.parent


def _find_chicago() -> Path:
    """The real Chicago data: GRIDSVC_CHICAGO_DIR, else ``../shared/data/chicago`` next to the
    checkout, else the workplace's shared folder (a clean checkout may live elsewhere)."""
    candidates = [os.environ.get("GRIDSVC_CHICAGO_DIR"),
                  ROOT.parent / "shared" / "data" / "chicago", "/work/shared/data/chicago"]
    for c in candidates:
        if c and (Path(c) / "police_beats.geojson").exists():
            return Path(c)
    return ROOT.parent / "shared" / "data" / "chicago"


CHICAGO = _find_chicago()
ARTIFACTS = ROOT / "test-artifacts"

# The suite must not use (or migrate!) a server configured for real work.
os.environ.pop("GRIDSVC_DATABASE_URL", None)
# Nor fill the user's cache of cells indexes (``gridsvc assign --cells``): a private one.
os.environ["GRIDSVC_INDEX_CACHE"] = tempfile.mkdtemp(prefix="gridsvc-test-index-cache-")


@pytest.fixture(scope="session")
def pg() -> Iterator[object]:
    """The suite's embedded PostGIS (an ``EmbeddedPostgres``), started once, stopped at the end."""
    from gridsvc.db.embedded import EmbeddedPostgres

    # Not under pytest's tmp dir: that is private to root, and the server may run as 'postgres'.
    data_dir = Path(tempfile.mkdtemp(prefix="gridsvc-test-"))
    data_dir.chmod(0o755)
    cluster = EmbeddedPostgres(data_dir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(pg):
    """Settings of the suite's cluster (embedded mode, data dir in the temp folder)."""
    from gridsvc.settings import Settings

    return Settings(data_dir=pg.data_dir, database_url="")


@pytest.fixture(scope="session")
def engine(settings) -> Iterator[Engine]:
    """Engine on the suite's ``gridsvc`` database: migrated, demo town loaded."""
    from gridsvc.services.database import ready_engine
    from gridsvc.services.demo import load_demo

    eng = ready_engine(settings)
    load_demo(eng, settings.demo_dir, actor="test-suite")
    yield eng
    eng.dispose()


@pytest.fixture
def scratch_url(pg) -> Iterator[str]:
    """URL of a new, empty database with PostGIS (dropped after the test)."""
    name = f"scratch_{uuid.uuid4().hex[:10]}"
    pg.create_database(name)
    yield pg.url(name)
    pg.drop_database(name)


@pytest.fixture
def scratch_engine(scratch_url) -> Iterator[Engine]:
    """Engine on a scratch database migrated to the newest schema, with no data."""
    from gridsvc.db import migrate

    eng = create_engine(scratch_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo_template(pg, settings) -> str:
    """Name of a database holding the demo town, made once and never used directly: it is the
    template of :func:`demo_copy` (a template must have no connections, so its engine goes)."""
    from gridsvc.db import migrate
    from gridsvc.services.demo import load_demo

    name = f"demo_template_{uuid.uuid4().hex[:8]}"
    pg.create_database(name)
    eng = create_engine(pg.url(name))
    migrate.upgrade(eng)
    load_demo(eng, settings.demo_dir, actor="test-suite")
    eng.dispose()
    return name


@pytest.fixture
def demo_copy_url(pg, demo_template) -> Iterator[str]:
    """URL of a private copy of the demo database (``CREATE DATABASE ... TEMPLATE``, about a
    second), for tests that change boundaries or rows others see; dropped after the test."""
    import psycopg
    from psycopg import sql

    name = f"demo_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(demo_template)))
    yield pg.url(name)
    pg.drop_database(name)


@pytest.fixture
def demo_copy(demo_copy_url) -> Iterator[Engine]:
    """Engine on a private copy of the demo database (see :func:`demo_copy_url`)."""
    eng = create_engine(demo_copy_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def make_token(engine):
    """Make a token with a role: ``make_token("planner") -> str``."""
    from gridsvc.domain.accounts import Role
    from gridsvc.services.tokens import create_token

    def make(role: str = "viewer", name: str | None = None) -> str:
        return create_token(engine, role=Role.parse(role), name=name or f"test-{role}",
                            actor="test-suite")

    return make


@pytest.fixture(scope="session")
def client(settings, engine):
    """An in-process client of the app on the suite's demo town (the API and /ogc tests)."""
    from fastapi.testclient import TestClient

    from gridsvc.api.app import create_app

    with TestClient(create_app(settings, engine)) as c:
        yield c


@pytest.fixture(scope="session")
def auth(make_token):
    """``auth("planner")`` -> headers with a token of that role (a service token: scope
    everything), made once per role."""
    cache: dict[str, dict[str, str]] = {}

    def headers(role: str = "viewer") -> dict[str, str]:
        if role not in cache:
            cache[role] = {"Authorization": f"Bearer {make_token(role)}"}
        return cache[role]

    return headers


@pytest.fixture(scope="session")
def as_account(engine):
    """``as_account("gw001")`` -> headers with a personal token of that demo account (its role
    and scope; no password check, so no Argon2 time)."""
    from sqlalchemy import text

    from gridsvc.domain.accounts import Role
    from gridsvc.services.tokens import create_token

    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            with engine.connect() as conn:
                row = conn.execute(text("SELECT id, role FROM account WHERE username = :u"),
                                   {"u": username}).one()
            token = create_token(engine, role=Role.parse(row.role), name=f"test-{username}",
                                 actor="test-suite", account_id=row.id)
            cache[username] = {"Authorization": f"Bearer {token}"}
        return cache[username]

    return headers


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300,
            check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the installed ``gridsvc`` command as a user would."""
    exe = Path(sys.executable).parent / "gridsvc"
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=ROOT)
    if check and done.returncode != 0:
        raise AssertionError(f"gridsvc {' '.join(args)} failed ({done.returncode}):\n"
                             f"{done.stdout}\n{done.stderr}")
    return done


def start_serve(env: dict[str, str], seconds: float = 60) -> tuple[subprocess.Popen, str]:
    """Start ``gridsvc serve`` as a user would, on a free port, with ``env`` as its whole
    environment; wait until /healthz answers. Returns the process (the caller stops it) and
    the base URL. Raises RuntimeError, with the server's output, when it does not start."""
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "gridsvc"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(
                    f"gridsvc serve did not start:\n{proc.communicate()[0]}") from None
            time.sleep(0.2)
