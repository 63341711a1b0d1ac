"""Row-level security, straight in SQL as the app role ``gridsvc_app``: no account, no rows; an
account's id, only its cells' rows; and no way for the role to switch the policies off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from gridsvc.db import rls

pytestmark = pytest.mark.db

SCOPED = ("house", "incident", "patrol_point", "camera", "compound_entrance", "compound",
          "person", "person_area", "house_visit")
CELLS = "town_id, village_id, grid_id, station_id, beat_id"


@pytest.fixture(scope="module")
def app_engine(engine) -> Iterator[Engine]:
    """A plain engine as gridsvc_app (no binding: each test sets the account itself)."""
    eng = create_engine(engine.url.set(username=rls.APP_ROLE, password=None))
    yield eng
    eng.dispose()


def _account(engine: Engine, username: str) -> tuple[int, list[tuple[str, str]]]:
    with engine.connect() as conn:
        account_id = conn.execute(text("SELECT id FROM account WHERE username = :u"),
                                  {"u": username}).scalar_one()
        scope = conn.execute(text("SELECT kind, area_id FROM account_scope "
                                  "WHERE account_id = :a"), {"a": account_id}).all()
    return account_id, [tuple(r) for r in scope]


def _as(conn: Connection, account_id: int | None) -> None:
    conn.execute(text(rls.account_setting_sql()),
                 {"account_id": "" if account_id is None else str(account_id)})


def test_without_the_setting_no_scoped_row_but_cells_are_readable(app_engine):
    with app_engine.begin() as conn:
        for table in SCOPED:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
        assert conn.execute(text("SELECT count(*) FROM area")).scalar() > 0
        assert conn.execute(text("SELECT count(*) FROM plan")).scalar() > 0
        _as(conn, 999_999_999)  # an id no account has: nothing either
        assert conn.execute(text("SELECT count(*) FROM house")).scalar() == 0


@pytest.mark.parametrize("username", ["gw001", "off03", "aux01", "leader-s01"])
def test_an_account_sees_exactly_the_rows_of_its_cells(engine, app_engine, username):
    account_id, scope = _account(engine, username)
    predicate = " OR ".join(f"{kind}_id = '{area}'" for kind, area in scope)
    for table in ("house", "incident", "patrol_point", "camera", "compound_entrance"):
        with engine.connect() as conn:
            expected = set(conn.execute(text(
                f"SELECT business_id FROM {table} WHERE {predicate}")).scalars())
        with app_engine.begin() as conn:
            _as(conn, account_id)
            seen = set(conn.execute(text(f"SELECT business_id FROM {table}")).scalars())
        assert seen == expected, table
        assert seen or table != "house"


def test_a_grid_worker_sees_the_people_of_their_grid_only(engine, app_engine):
    account_id, scope = _account(engine, "gw001")
    grids = [a for k, a in scope if k == "grid"]
    with engine.connect() as conn:
        expected = set(conn.execute(text(
            "SELECT DISTINCT p.business_id FROM person p JOIN person_area pa "
            "ON pa.person_pk = p.pk WHERE pa.kind = 'grid' AND pa.area_id = ANY(:g)"),
            {"g": grids}).scalars())
    with app_engine.begin() as conn:
        _as(conn, account_id)
        seen = set(conn.execute(text("SELECT business_id FROM person")).scalars())
        links = conn.execute(text("SELECT kind, area_id FROM person_area")).all()
    assert seen == expected and "GW001" in seen
    # Every link of a person in scope (e.g. the beat of an officer of the grid), no other.
    with engine.connect() as conn:
        all_links = set(conn.execute(text(
            "SELECT pa.kind, pa.area_id FROM person_area pa JOIN person p ON p.pk = pa.person_pk "
            "WHERE p.business_id = ANY(:ids)"), {"ids": list(seen)}).all())
    assert {(k, a) for k, a in links} == {tuple(r) for r in all_links}


def test_a_station_scope_reaches_its_beats_people(engine, app_engine):
    account_id, _ = _account(engine, "leader-s01")
    with app_engine.begin() as conn:
        _as(conn, account_id)
        roles = set(conn.execute(text("SELECT DISTINCT role FROM person")).scalars())
    assert roles == {"officer", "auxiliary"}  # beats below the station; grids are not


def test_a_disabled_account_sees_nothing(demo_copy):
    from gridsvc.services import accounts

    accounts.set_disabled(demo_copy, "gw003", True, actor="test-suite")
    app = create_engine(demo_copy.url.set(username=rls.APP_ROLE, password=None))
    try:
        account_id, _ = _account(demo_copy, "gw003")
        with app.begin() as conn:
            _as(conn, account_id)
            assert conn.execute(text("SELECT count(*) FROM house")).scalar() == 0
    finally:
        app.dispose()


BYPASSES = [
    "SET row_security = off; SELECT count(*) FROM house",
    "ALTER TABLE house DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE house NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY house_scope ON house",
    "ALTER POLICY house_scope ON house USING (true)",
    "CREATE POLICY mine ON house USING (true)",
    "ALTER TABLE house OWNER TO gridsvc_app",
    "SET ROLE postgres",
    "SELECT password_hash FROM account",
    "SELECT token_hash FROM account_session",
    "SELECT token_hash FROM api_token",
    "UPDATE account_scope SET kind = 'all'",
    "INSERT INTO account_scope VALUES (1, 'all', '')",
    "CREATE OR REPLACE FUNCTION gridsvc_scope_all() RETURNS boolean LANGUAGE sql "
    "AS 'SELECT true'",
    "DELETE FROM audit_log",
]


@pytest.mark.parametrize("statement", BYPASSES)
def test_the_app_role_cannot_switch_the_policies_off(engine, app_engine, statement):
    account_id, _ = _account(engine, "gw001")
    with app_engine.connect() as conn, conn.begin():
        _as(conn, account_id)
        with pytest.raises(DBAPIError) as exc:
            for part in statement.split("; "):
                conn.execute(text(part))
    assert exc.value.orig.sqlstate in ("42501", "42P01", "0A000", "P0001", "22023"), statement


def test_the_app_role_has_no_power_of_its_own(app_engine):
    with app_engine.connect() as conn:
        row = conn.execute(text(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = current_user")).one()
        owned = conn.execute(text(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = current_user")).scalar()
    assert tuple(row) == (False, False, False, False) and owned == 0


def test_writes_outside_the_scope_are_refused(engine, app_engine):
    account_id, _ = _account(engine, "gw001")
    with app_engine.connect() as conn, conn.begin():
        _as(conn, account_id)
        with pytest.raises(DBAPIError) as exc:
            conn.execute(text(
                "INSERT INTO incident (business_id, occurred_at, category, geom, grid_id) "
                "VALUES ('X1', now(), 'x', ST_SetSRID(ST_Point(119, 28.2), 4490), 'ELSEWHERE')"))
    assert exc.value.orig.sqlstate == "42501"
    with app_engine.begin() as conn:  # an update of a row it cannot see changes nothing
        _as(conn, account_id)
        assert conn.execute(text("UPDATE house SET households = 0 WHERE grid_id <> ALL("
                                 "SELECT area_id FROM account_scope WHERE account_id = :a)"),
                            {"a": account_id}).rowcount == 0
        conn.rollback()
