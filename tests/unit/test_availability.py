"""The database watch and the token cache's outage grace, against a database that is not there
(an engine on a socket folder with no server: every connection is refused at once)."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from gridsvc.api.auth import Principal, TokenCache
from gridsvc.domain.accounts import Role
from gridsvc.errors import DatabaseUnavailable
from gridsvc.services.availability import NOTHING, DatabaseWatch


@pytest.fixture
def watch(tmp_path):
    engine = create_engine(f"postgresql+psycopg://x@/x?host={tmp_path}&port=5432")
    w = DatabaseWatch(engine, probe_seconds=0.05)
    yield w
    w.close()
    engine.dispose()


def _query(watch: DatabaseWatch) -> int:
    with watch.engine.connect():
        return 1


def test_up_until_an_outage_is_met(watch):
    assert not watch.down
    assert watch.failed(ValueError("not a database error")) is False
    assert not watch.down
    with pytest.raises(OperationalError):
        watch.read(lambda: _query(watch))  # nothing remembered: the error goes up
    assert watch.down


def test_while_down_the_remembered_value_answers_without_asking(watch):
    asked = []
    assert watch.read(lambda: _query(watch), remembered=7) == 7  # tried, failed, remembered
    assert watch.down
    assert watch.read(lambda: asked.append(1), remembered=None) is None  # not even tried
    assert asked == []
    with pytest.raises(OperationalError):
        watch.read(lambda: _query(watch), NOTHING)


def test_an_error_that_is_not_an_outage_goes_up_and_leaves_it_up(watch):
    def cancelled() -> int:
        raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")

    with pytest.raises(psycopg.errors.QueryCanceled):
        watch.read(cancelled, remembered=1)
    assert not watch.down


def test_the_probe_keeps_trying_while_the_database_is_away(watch):
    watch.failed(DatabaseUnavailable("gone"))
    time.sleep(0.3)  # several probes, all refused
    assert watch.down


def test_token_cache_outage_grace():
    cache = TokenCache(ttl=0.05, grace=0.3)
    who = Principal("desk", Role.dispatcher)
    cache.put("t", who)
    assert cache.get("t") == who and cache.recall("t") == who
    time.sleep(0.1)
    assert cache.get("t") is None  # verify again when the database is there...
    assert cache.recall("t") == who  # ...and let it in when it is not
    time.sleep(0.3)
    assert cache.recall("t") is None
    assert cache.recall("never seen") is None
