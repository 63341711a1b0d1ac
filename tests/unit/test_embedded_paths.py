"""Unit tests of the pure parts of gridsvc.db.embedded (no server is started) and of the
error messages in gridsvc.errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from gridsvc.db import embedded
from gridsvc.db.embedded import DB_NAME, PORT, EmbeddedPostgres
from gridsvc.errors import GridsvcError, InvalidInput, Problem


@pytest.fixture(autouse=True)
def _no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything here tries to run a program or connect to a server."""
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a unit test must not start or reach a server")

    monkeypatch.setattr(embedded.subprocess, "run", boom)
    monkeypatch.setattr(embedded.psycopg, "connect", boom)


def long_dir(tmp_path: Path, tag: str) -> Path:
    path = tmp_path / ("a-very-long-folder-name-" * 5 + tag)
    assert len(str(path)) > 110
    return path


# -- socket dir ---------------------------------------------------------------------------------
def test_short_path_keeps_socket_in_data_dir(tmp_path: Path) -> None:
    data_dir = Path(tempfile.gettempdir()) / "gs"
    cluster = EmbeddedPostgres(data_dir)
    assert cluster.data_dir == data_dir.resolve()
    assert cluster.socket_dir == cluster.data_dir / "run"
    assert cluster.pgdata == cluster.data_dir / "pg"
    assert cluster.logfile == cluster.data_dir / "log" / "postgres.log"
    assert not data_dir.exists()  # nothing is made before start()


def test_long_path_puts_socket_in_temp_dir(tmp_path: Path) -> None:
    data_dir = long_dir(tmp_path, "one")
    cluster = EmbeddedPostgres(data_dir)

    assert cluster.socket_dir.parent == Path(tempfile.gettempdir())
    assert cluster.socket_dir.name.startswith("gridsvc-")
    assert not str(cluster.socket_dir).startswith(str(cluster.data_dir))
    assert len(str(cluster.socket_dir / f".s.PGSQL.{PORT}")) <= 107
    # The cluster itself still lives in the data dir.
    assert cluster.pgdata == data_dir / "pg"
    assert not data_dir.exists()
    assert not cluster.socket_dir.exists()


def test_long_paths_get_their_own_socket_dirs(tmp_path: Path) -> None:
    one = EmbeddedPostgres(long_dir(tmp_path, "one"))
    two = EmbeddedPostgres(long_dir(tmp_path, "two"))
    again = EmbeddedPostgres(str(long_dir(tmp_path, "one")))

    assert one.socket_dir != two.socket_dir
    assert one.socket_dir == again.socket_dir


def test_relative_and_absolute_spelling_share_a_socket_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = long_dir(tmp_path, "same")
    monkeypatch.chdir(tmp_path)
    relative = EmbeddedPostgres(data_dir.name)
    absolute = EmbeddedPostgres(data_dir)
    assert relative.data_dir == absolute.data_dir
    assert relative.socket_dir == absolute.socket_dir


def test_threshold_is_the_socket_path_limit(tmp_path: Path) -> None:
    # 107 bytes fit, 108 do not: "<dir>/run/.s.PGSQL.5432" with <dir> sized to hit each side.
    suffix = len(f"/run/.s.PGSQL.{PORT}")
    base = Path("/tmp")
    fits = base / ("x" * (107 - suffix - len(str(base)) - 1))
    too_long = base / ("x" * (108 - suffix - len(str(base)) - 1))
    assert len(str(fits / "run" / f".s.PGSQL.{PORT}")) == 107
    assert EmbeddedPostgres(fits).socket_dir == fits / "run"
    assert EmbeddedPostgres(too_long).socket_dir != too_long / "run"


# -- url / conninfo -----------------------------------------------------------------------------
@pytest.mark.parametrize("tag", ["short", "long"])
def test_url_names_socket_dir_and_database(tmp_path: Path, tag: str) -> None:
    data_dir = tmp_path / "d" if tag == "short" else long_dir(tmp_path, "url")
    cluster = EmbeddedPostgres(data_dir)

    url = cluster.url()
    assert url.startswith("postgresql+psycopg://")
    assert f"host={cluster.socket_dir}" in url
    assert f"port={PORT}" in url
    assert f"/{DB_NAME}?" in url

    other = cluster.url("scratch_abc")
    assert "/scratch_abc?" in other
    assert f"host={cluster.socket_dir}" in other

    info = cluster.conninfo("scratch_abc")
    assert f"host={cluster.socket_dir}" in info
    assert "dbname=scratch_abc" in info


def test_not_initialised_means_not_running(tmp_path: Path) -> None:
    cluster = EmbeddedPostgres(tmp_path / "d")
    assert not cluster.initialised
    assert not cluster.is_running()


# -- errors -------------------------------------------------------------------------------------
def test_problem_str() -> None:
    assert str(Problem("bad")) == "bad"
    assert str(Problem("bad", feature="feature 3 (id 'G07')")) == "feature 3 (id 'G07'): bad"
    assert str(Problem("bad", field="geometry")) == "field 'geometry': bad"
    assert (str(Problem("bad", feature="row 12", field="id"))
            == "row 12, field 'id': bad")


def test_invalid_input_str_lists_problems() -> None:
    err = InvalidInput([Problem("one", feature="row 1"), Problem("two", field="x")])
    assert isinstance(err, GridsvcError)
    assert str(err) == "2 problem(s) in the input\n- row 1: one\n- field 'x': two"
    assert err.args == (str(err),)
    assert str(InvalidInput()) == "0 problem(s) in the input"


def test_invalid_input_exactly_50_is_not_truncated() -> None:
    err = InvalidInput([Problem(f"p{i}") for i in range(50)])
    text = str(err)
    assert text.startswith("50 problem(s) in the input")
    assert "- p49" in text
    assert "more" not in text
    assert len(text.splitlines()) == 51


def test_invalid_input_truncates_after_50() -> None:
    err = InvalidInput([Problem(f"p{i}") for i in range(73)])
    lines = str(err).splitlines()
    assert lines[0] == "73 problem(s) in the input"
    assert lines[1] == "- p0"
    assert lines[50] == "- p49"
    assert lines[51] == "- ... and 23 more"
    assert len(lines) == 52
    assert "- p50" not in lines
    assert len(err.problems) == 73
