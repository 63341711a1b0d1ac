"""Row-level security: the one predicate that decides which rows an account may see.

The web service talks to PostgreSQL as the role ``gridsvc_app`` (:data:`APP_ROLE`): not the
owner of any table and without BYPASSRLS, so the policies below hold for every query it sends,
whatever the Python code above forgets. Each transaction of a request starts with
``set_config('gridsvc.account_id', <id>, true)`` (see :func:`account_setting_sql`); the SQL
functions ``gridsvc_scope_all()`` and ``gridsvc_scope(kind)`` (made by the accounts migration)
read the account's scope from ``account_scope``. Without the setting no scoped row is visible
(fail closed). The owner role (migrations, the CLI, loaders) is not subject to the policies.

A scoped table carries the five cell columns of :class:`gridsvc.db.models.AssignedCells`
(``town_id``, ``village_id``, ``grid_id``, ``station_id``, ``beat_id``, business ids kept up to
date when a plan takes effect), so a scope follows the plan in effect with no job to run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection, Engine, event, text

#: The login role of the web service; created by the accounts migration.
APP_ROLE = "gridsvc_app"
#: The per-transaction setting holding the signed-in account's id.
ACCOUNT_SETTING = "gridsvc.account_id"
#: Cell kind -> the column of a scoped table holding that kind's business id.
CELL_COLUMNS = {"town": "town_id", "village": "village_id", "grid": "grid_id",
                "station": "station_id", "beat": "beat_id"}


def scope_predicate(alias: str = "") -> str:
    """SQL that is true for a row whose cells meet the current account's scope.

    The function calls are wrapped in scalar subqueries so PostgreSQL evaluates each once per
    query (an InitPlan) instead of once per row, and ``col = ANY(...)`` can use an index. The
    cast to ``text[]`` makes ``ANY`` take the array (without it, ``ANY ((SELECT ...))`` reads
    as "any row of the subquery" and compares a text with an array).

    Parameters
    ----------
    alias
        Table alias or name to qualify the cell columns with ("" for none, as in a policy).

    >>> "grid_id = ANY" in scope_predicate()
    True
    """
    prefix = f"{alias}." if alias else ""
    parts = ["(SELECT gridsvc_scope_all())"]
    parts += [f"{prefix}{column} = ANY ((SELECT gridsvc_scope('{kind}'))::text[])"
              for kind, column in CELL_COLUMNS.items()]
    return "(" + " OR ".join(parts) + ")"


def enable_statements(table: str, *, using: str | None = None, check: str | None = None,
                      privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> list[str]:
    """The statements that put ``table`` under row-level security for :data:`APP_ROLE`.

    Parameters
    ----------
    table
        The table (its sequences are granted too, so inserts work).
    using, check
        The policy's USING and WITH CHECK expressions; both default to
        :func:`scope_predicate` (``check`` defaults to ``using``).
    privileges
        What the app role may do on the table at all (the policy then picks the rows).
    """
    using = using or scope_predicate()
    check = check or using
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {table}_scope ON {table}",
        f"CREATE POLICY {table}_scope ON {table} TO {APP_ROLE} USING {using} WITH CHECK {check}",
        f"GRANT {privileges} ON {table} TO {APP_ROLE}",
        # The sequences of its serial columns, so the app role's inserts get ids.
        f"""DO $$ DECLARE seq text; BEGIN
            FOR seq IN SELECT pg_get_serial_sequence('{table}', attname) FROM pg_attribute
                        WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped
            LOOP
                IF seq IS NOT NULL THEN
                    EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO {APP_ROLE}', seq);
                END IF;
            END LOOP; END $$""",
    ]


def account_setting_sql() -> str:
    """The statement that binds a transaction to an account (parameter ``:account_id``, a
    string: an account id, or '' for none)."""
    return f"SELECT set_config('{ACCOUNT_SETTING}', :account_id, true)"


#: The account the current request (or job) acts for; None: no account, no scoped row.
current_account: ContextVar[int | None] = ContextVar("gridsvc_account", default=None)


def bind_accounts(engine: Engine) -> Engine:
    """Make every transaction on ``engine`` start bound to :data:`current_account`.

    A ``begin`` listener runs :func:`account_setting_sql` first thing in each transaction
    (explicit, or begun by the first statement), so code using the engine needs to do nothing:
    the account set by the API's auth dependency (a context variable, which starlette's
    ``run_in_threadpool`` carries into the worker thread) is the one the policies see. With no
    account set, the setting is '' and every scoped table looks empty. Returns the engine.
    """

    @event.listens_for(engine, "begin")
    def _bind(conn: Connection) -> None:
        account = current_account.get()
        conn.exec_driver_sql("SELECT set_config(%(name)s, %(value)s, true)",
                             {"name": ACCOUNT_SETTING, "value": "" if account is None
                              else str(int(account))})

    return engine


@contextmanager
def acting_as(account_id: int | None) -> Iterator[None]:
    """Run the block as ``account_id`` on engines made by :func:`bind_accounts` (background
    jobs, tests); the previous account is restored after it."""
    token = current_account.set(account_id)
    try:
        yield
    finally:
        current_account.reset(token)


def view_key(conn: Connection) -> tuple:
    """What decides which rows ``conn`` sees, for keys of caches shared by accounts: the
    database role and, under it, the bound account's scope (everything, and the cells with all
    those below them). Accounts with the same scope share entries; a changed scope gets new
    ones at once."""
    row = conn.execute(text(
        "SELECT current_user, gridsvc_scope_all(), gridsvc_scope_cells()")).one()
    return (row[0], row[1], tuple(sorted(row[2])))
