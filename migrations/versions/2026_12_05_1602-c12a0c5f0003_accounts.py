"""accounts: issue 12: accounts, scopes, row-level security

Revision ID: c12a0c5f0003
Revises: c16a0c5f0002
Create Date: 2026-12-05 16:02:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from gridsvc.db import rls

revision: str = 'c12a0c5f0003'
down_revision: str | None = 'c16a0c5f0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APP_ROLE = "gridsvc_app"
ROLES = "('viewer', 'reporter', 'handler', 'dispatcher', 'planner', 'admin')"
OLD_TOKEN_ROLES = "('viewer', 'dispatcher', 'planner', 'admin')"
#: The account that service tokens (machines) belong to: scope everything.
MACHINE = "service"

#: The contract every scoped table relies on (gridsvc/db/rls.py): the app role, the accounts and
#: their scopes, and the functions the policies call.
CONTRACT = [
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        END IF;
    END $$""",
    f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
    f"""CREATE TABLE account (
        id bigserial CONSTRAINT pk_account PRIMARY KEY,
        username varchar(64) NOT NULL CONSTRAINT uq_account_username UNIQUE,
        display_name varchar(200) NOT NULL,
        person_pk bigint CONSTRAINT fk_account_person_pk_person
            REFERENCES person(pk) ON DELETE SET NULL,
        role varchar(16) NOT NULL CONSTRAINT ck_account_role CHECK (role IN {ROLES}),
        kind varchar(16) NOT NULL DEFAULT 'person'
            CONSTRAINT ck_account_kind CHECK (kind IN ('person', 'machine')),
        disabled boolean NOT NULL DEFAULT false,
        password_hash varchar(255),
        password_changed_at timestamptz,
        failed_signins integer NOT NULL DEFAULT 0,
        locked_until timestamptz,
        last_signin_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    "CREATE INDEX ix_account_person_pk ON account (person_pk)",
    """CREATE TABLE account_scope (
        account_id bigint NOT NULL CONSTRAINT fk_account_scope_account_id_account
            REFERENCES account(id) ON DELETE CASCADE,
        kind varchar(16) NOT NULL CONSTRAINT ck_account_scope_kind
            CHECK (kind IN ('all', 'town', 'village', 'grid', 'station', 'beat')),
        area_id varchar(64) NOT NULL DEFAULT '',
        CONSTRAINT pk_account_scope PRIMARY KEY (account_id, kind, area_id)
    )""",
    """CREATE FUNCTION gridsvc_account_id() RETURNS bigint LANGUAGE sql STABLE AS
        $f$ SELECT NULLIF(current_setting('gridsvc.account_id', true), '')::bigint $f$""",
    # PL/pgSQL, not SQL: a SECURITY DEFINER SQL function is planned again at every call
    # (~0.15 ms), a PL/pgSQL one keeps its plan for the session (bench/README.md, scope.py).
    """CREATE FUNCTION gridsvc_scope(cell_kind text) RETURNS text[]
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS
        $f$ BEGIN RETURN (SELECT coalesce(array_agg(s.area_id), '{}')
              FROM account_scope s JOIN account a ON a.id = s.account_id
             WHERE s.account_id = gridsvc_account_id() AND s.kind = cell_kind
               AND NOT a.disabled); END $f$""",
    """CREATE FUNCTION gridsvc_scope_all() RETURNS boolean
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS
        $f$ BEGIN RETURN EXISTS (SELECT 1 FROM account_scope s
                                   JOIN account a ON a.id = s.account_id
                                  WHERE s.account_id = gridsvc_account_id() AND s.kind = 'all'
                                    AND NOT a.disabled); END $f$""",
    f"GRANT EXECUTE ON FUNCTION gridsvc_account_id(), gridsvc_scope(text), gridsvc_scope_all() "
    f"TO {APP_ROLE}",
]

#: Sign-in: browser sessions, tokens belonging to accounts, the machine account.
CREDENTIALS = [
    """CREATE TABLE account_session (
        id bigserial CONSTRAINT pk_account_session PRIMARY KEY,
        account_id bigint NOT NULL CONSTRAINT fk_account_session_account_id_account
            REFERENCES account(id) ON DELETE CASCADE,
        token_hash varchar(64) NOT NULL CONSTRAINT uq_account_session_token_hash UNIQUE,
        api_token_id integer CONSTRAINT fk_account_session_api_token_id_api_token
            REFERENCES api_token(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz
    )""",
    "CREATE INDEX ix_account_session_account_id ON account_session (account_id)",
    f"""INSERT INTO account (username, display_name, role, kind)
        VALUES ('{MACHINE}', 'service tokens (machines)', 'admin', 'machine')""",
    f"""INSERT INTO account_scope (account_id, kind, area_id)
        SELECT id, 'all', '' FROM account WHERE username = '{MACHINE}'""",
    "ALTER TABLE api_token ADD COLUMN account_id bigint",
    f"UPDATE api_token SET account_id = (SELECT id FROM account WHERE username = '{MACHINE}')",
    """ALTER TABLE api_token ALTER COLUMN account_id SET NOT NULL,
        ADD CONSTRAINT fk_api_token_account_id_account FOREIGN KEY (account_id)
            REFERENCES account(id) ON DELETE CASCADE,
        ADD COLUMN kind varchar(16) NOT NULL DEFAULT 'service'
            CONSTRAINT ck_api_token_kind CHECK (kind IN ('service', 'personal')),
        ADD COLUMN expires_at timestamptz,
        DROP CONSTRAINT ck_api_token_role""",
    f"ALTER TABLE api_token ADD CONSTRAINT ck_api_token_role CHECK (role IN {ROLES})",
    "CREATE INDEX ix_api_token_account_id ON api_token (account_id)",
    # A village's page of houses in its ORDER BY (number, sub-number none first, id): read
    # off the index, the scope predicate runs on the page's rows only.
    "CREATE INDEX ix_house_address_village_id_number_sub_number_business_id ON house "
    "(address_village_id, number, sub_number NULLS FIRST, business_id)",
]

#: Functions the policies and the app role use, beyond the contract's.
FUNCTIONS = [
    # The plan in effect today, as gridsvc.db.areas.current_plan_id.
    """CREATE FUNCTION gridsvc_current_plan() RETURNS integer
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS
        $f$ BEGIN RETURN (SELECT id FROM plan
                           WHERE status = 'active' AND effective_from <= current_date
                           ORDER BY effective_from DESC, id DESC LIMIT 1); END $f$""",
    # The scope's cells and every cell below them under the plan in effect, as 'kind:id'.
    """CREATE FUNCTION gridsvc_scope_cells() RETURNS text[]
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS
        $f$ BEGIN RETURN (WITH RECURSIVE cells(kind, area_id) AS (
                SELECT s.kind::text, s.area_id::text
                  FROM account_scope s JOIN account a ON a.id = s.account_id
                 WHERE s.account_id = gridsvc_account_id() AND NOT a.disabled
                   AND s.kind <> 'all'
                UNION
                SELECT c.kind::text, c.business_id::text
                  FROM cells JOIN area c ON c.parent_id = cells.area_id
                 WHERE c.plan_id = gridsvc_current_plan()
                   AND (cells.kind, c.kind) IN (('town', 'village'), ('village', 'grid'),
                                                ('station', 'beat')))
            SELECT coalesce(array_agg(kind || ':' || area_id), '{}') FROM cells); END $f$""",
    # People in scope: linked to a cell of the scope (or below one). Their every link is then
    # visible too (which cells they answer for: cells are public, the person is in scope).
    """CREATE FUNCTION gridsvc_scope_people() RETURNS bigint[]
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS
        $f$ BEGIN RETURN (SELECT coalesce(array_agg(DISTINCT person_pk), '{}') FROM person_area
             WHERE (kind || ':' || area_id) = ANY (gridsvc_scope_cells())); END $f$""",
    # Changes of data (not sign-ins): caches keyed by it stay valid across sign-ins, and
    # an account that may not read the audit log still sees when data moved.
    """CREATE FUNCTION gridsvc_data_version() RETURNS bigint
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS
        $f$ BEGIN RETURN (SELECT coalesce(max(id), 0) FROM audit_log
             WHERE object_kind NOT IN ('account', 'api_token')); END $f$""",
    # The next free number of a business id: ids are unique over rows no account may see.
    """CREATE FUNCTION gridsvc_max_business_number(tbl regclass, prefix text) RETURNS bigint
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS
        $f$ DECLARE found bigint;
        BEGIN
            EXECUTE format('SELECT max(substring(business_id, %s)::bigint) FROM %s '
                           'WHERE business_id ~ %L', length(prefix) + 1, tbl,
                           '^' || prefix || '[0-9]+$') INTO found;
            RETURN coalesce(found, 0);
        END $f$""",
    f"""GRANT EXECUTE ON FUNCTION gridsvc_current_plan(), gridsvc_scope_cells(),
        gridsvc_scope_people(),
        gridsvc_data_version(), gridsvc_max_business_number(regclass, text) TO {APP_ROLE}""",
]

#: A person (or a link of theirs) is in scope: one of their cells, or a cell above it, is the
#: account's.
PERSON_IN_SCOPE = "person_pk = ANY ((SELECT gridsvc_scope_people())::bigint[])"
#: A compound: its village is in scope, or one of its houses or entrances is (their own
#: policies apply in the subqueries): who sees a house or gate of it sees the compound.
COMPOUND_IN_SCOPE = (
    "('village:' || village_id) = ANY ((SELECT gridsvc_scope_cells())::text[]) "
    "OR EXISTS (SELECT 1 FROM house h WHERE h.compound_id = compound.business_id) "
    "OR EXISTS (SELECT 1 FROM compound_entrance e WHERE e.compound_id = compound.business_id)")
SCOPE_ALL = "(SELECT gridsvc_scope_all())"


def _policies() -> list[str]:
    """Row-level security on every table holding people, houses, incidents, compounds,
    cameras and patrol points; plain grants on what every signed-in account may read."""
    out: list[str] = []
    for table in ("house", "incident", "patrol_point", "camera", "compound_entrance"):
        out += rls.enable_statements(table)
    out += rls.enable_statements("compound", using=f"({SCOPE_ALL} OR {COMPOUND_IN_SCOPE})")
    out += rls.enable_statements("person_area", using=f"({SCOPE_ALL} OR {PERSON_IN_SCOPE})",
                                 privileges="SELECT")
    out += rls.enable_statements(
        "person", privileges="SELECT",
        using=f"({SCOPE_ALL} OR {PERSON_IN_SCOPE.replace('person_pk', 'pk')})")
    # Cells and plans: every signed-in account reads them; planners' routes write them.
    out += [f"GRANT SELECT, INSERT, UPDATE, DELETE ON plan, area TO {APP_ROLE}",
            f"GRANT USAGE, SELECT ON SEQUENCE plan_id_seq, area_pk_seq TO {APP_ROLE}",
            f"GRANT SELECT ON office, road TO {APP_ROLE}",
            # Offices are public (no policy), but a plan's activation (scope everything) moves
            # them to their new cells, and locks them with the other point tables first.
            f"GRANT UPDATE ON office TO {APP_ROLE}"]
    # The audit log: every request may append; only accounts with scope everything read it.
    out += ["ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY audit_log_read ON audit_log FOR SELECT TO {APP_ROLE} "
            f"USING ({SCOPE_ALL})",
            f"CREATE POLICY audit_log_append ON audit_log FOR INSERT TO {APP_ROLE} "
            "WITH CHECK (true)",
            f"GRANT SELECT, INSERT ON audit_log TO {APP_ROLE}",
            f"GRANT USAGE ON SEQUENCE audit_log_id_seq TO {APP_ROLE}"]
    # Accounts: one's own, or all with scope everything; never the password columns (the
    # service's credential store reads those as the owner).
    out += ["ALTER TABLE account ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY account_scope ON account FOR SELECT TO {APP_ROLE} "
            f"USING (id = (SELECT gridsvc_account_id()) OR {SCOPE_ALL})",
            f"GRANT SELECT (id, username, display_name, person_pk, role, kind, disabled, "
            f"last_signin_at, created_at) ON account TO {APP_ROLE}",
            "ALTER TABLE account_scope ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY account_scope_scope ON account_scope FOR SELECT TO {APP_ROLE} "
            f"USING (account_id = (SELECT gridsvc_account_id()) OR {SCOPE_ALL})",
            f"GRANT SELECT ON account_scope TO {APP_ROLE}"]
    return out


SCOPED = ("house", "incident", "patrol_point", "camera", "compound_entrance", "compound",
          "person_area", "person")


def upgrade() -> None:
    """The contract, the credentials, the functions, then the policies."""
    for statement in CONTRACT + CREDENTIALS + FUNCTIONS + _policies():
        op.execute(statement)


def downgrade() -> None:
    """Drop what upgrade made. The role is cluster-wide and may serve other databases, so it
    stays; its privileges in this database go (REVOKE, and with the objects)."""
    for table in (*SCOPED, "audit_log"):
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    for table, policy in [*((t, f"{t}_scope") for t in SCOPED),
                          ("audit_log", "audit_log_read"), ("audit_log", "audit_log_append"),
                          ("account", "account_scope"), ("account_scope", "account_scope_scope")]:
        op.execute(f"DROP POLICY IF EXISTS {policy} ON {table}")
    op.execute(f"REVOKE ALL ON plan, area, office, road FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    op.execute("DROP FUNCTION IF EXISTS gridsvc_max_business_number(regclass, text), "
               "gridsvc_data_version(), gridsvc_scope_people(), gridsvc_scope_cells(), "
               "gridsvc_current_plan()")
    op.execute("DROP INDEX ix_api_token_account_id")
    op.execute("DROP INDEX ix_house_address_village_id_number_sub_number_business_id")
    op.execute(f"DELETE FROM api_token WHERE kind = 'personal' OR role NOT IN {OLD_TOKEN_ROLES}")
    op.execute("ALTER TABLE api_token DROP CONSTRAINT ck_api_token_role, "
               "DROP COLUMN expires_at, DROP COLUMN kind, DROP COLUMN account_id")
    op.execute(f"ALTER TABLE api_token ADD CONSTRAINT ck_api_token_role "
               f"CHECK (role IN {OLD_TOKEN_ROLES})")
    op.execute("DROP TABLE IF EXISTS account_session")
    op.execute("DROP FUNCTION IF EXISTS gridsvc_scope_all(), gridsvc_scope(text), "
               "gridsvc_account_id()")
    op.execute("DROP TABLE IF EXISTS account_scope, account")
    op.execute(f"REVOKE ALL ON SCHEMA public FROM {APP_ROLE}")
