"""The in-memory paths (lookup, dispatch) apply the same scope as PostgreSQL's policies: for
each account, the people and houses they answer with are exactly those the app role sees."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, text

from gridsvc.db import rls
from gridsvc.domain.accounts import Scope
from gridsvc.services.dispatch import DispatchService
from gridsvc.services.lookup import RESPONSIBLE, LookupService

pytestmark = pytest.mark.db

ACCOUNTS = ["gw001", "gw050", "off03", "aux01", "vol05", "leader-s01", "command"]


@pytest.fixture(scope="module")
def app_engine(engine) -> Iterator[Engine]:
    eng = rls.bind_accounts(create_engine(engine.url.set(username=rls.APP_ROLE, password=None)))
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def services(engine) -> tuple[LookupService, DispatchService]:
    lookup = LookupService(engine)
    return lookup, DispatchService(engine, lookup)


def _scope(engine: Engine, username: str) -> tuple[int, Scope]:
    with engine.connect() as conn:
        account_id = conn.execute(text("SELECT id FROM account WHERE username = :u"),
                                  {"u": username}).scalar_one()
        rows = conn.execute(text("SELECT kind, area_id FROM account_scope "
                                 "WHERE account_id = :a"), {"a": account_id}).all()
    return account_id, Scope.of([tuple(r) for r in rows])


def _points(engine: Engine, n: int = 80) -> list[tuple[float, float]]:
    """Houses spread over the town (every k-th), and a point outside every cell."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM house "
                                 "ORDER BY business_id")).all()
    step = max(1, len(rows) // n)
    return [tuple(r) for r in rows[::step]] + [(120.5, 29.5)]


def _sql_people(conn, cells: dict[str, str | None]) -> dict[str, list[str]]:
    out = {}
    for kind, roles in RESPONSIBLE.items():
        ids = conn.execute(text(
            "SELECT p.business_id FROM person p JOIN person_area pa ON pa.person_pk = p.pk "
            "WHERE pa.kind = :k AND pa.area_id = :a AND p.role = ANY(:r) "
            "ORDER BY p.role, p.business_id"),
            {"k": kind, "a": cells.get(kind), "r": list(roles)}).scalars().all()
        out[kind] = sorted(ids)
    return out


@pytest.mark.parametrize("username", ACCOUNTS)
def test_lookup_in_memory_and_in_sql_name_the_same_people(engine, app_engine, services,
                                                          username):
    lookup, _ = services
    account_id, scope = _scope(engine, username)
    shown = 0
    for lon, lat in _points(engine):
        answer = lookup.lookup(lon, lat, "4490", scope=scope)
        memory = {k: sorted(p["id"] for p in v) for k, v in answer["people"].items()}
        cells = {k: (c or {}).get("id") for k, c in answer["cells"].items()}
        with rls.acting_as(account_id), app_engine.connect() as conn:
            assert memory == _sql_people(conn, cells), (username, lon, lat)
        shown += sum(len(v) for v in memory.values())
    assert shown > 0


@pytest.mark.parametrize("username", ACCOUNTS)
def test_dispatch_answers_only_with_houses_the_database_shows(engine, app_engine, services,
                                                               username):
    _, dispatch = services
    account_id, scope = _scope(engine, username)
    with rls.acting_as(account_id), app_engine.connect() as conn:
        visible = set(conn.execute(text("SELECT business_id FROM house")).scalars())
    assert dispatch.houses_in(scope) == visible
    with engine.connect() as conn:  # callers' words for houses in and out of the scope
        rows = conn.execute(text(
            "SELECT h.business_id, v.name || h.number || '号' FROM house h JOIN area v "
            "ON v.kind = 'village' AND v.business_id = h.address_village_id "
            "AND v.plan_id = h.cells_plan_id WHERE h.number > 0 AND h.sub_number IS NULL "
            "AND h.building IS NULL ORDER BY h.business_id")).all()
    rng = np.random.default_rng(12)
    for i in rng.choice(len(rows), 25, replace=False):
        house_id, said = rows[int(i)]
        answer = dispatch.dispatch(said, 5, scope)
        named = {c["house_id"] for c in answer["candidates"]} - {None}
        assert named <= visible, (username, said)
        if house_id in visible:
            assert answer["best"] is not None and answer["best"]["house_id"] == house_id
        if answer["best"] is not None:
            people = {p["id"] for ps in answer["best"]["people"].values() for p in ps}
            assert people <= _visible_people(app_engine, account_id)


def _visible_people(app_engine: Engine, account_id: int) -> set[str]:
    with rls.acting_as(account_id), app_engine.connect() as conn:
        return set(conn.execute(text("SELECT business_id FROM person")).scalars())
