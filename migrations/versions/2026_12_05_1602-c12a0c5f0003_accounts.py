"""accounts: issue 12: accounts, scopes, row-level security

Revision ID: c12a0c5f0003
Revises: c16a0c5f0002
Create Date: 2026-12-05 16:02:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'c12a0c5f0003'
down_revision: str | None = 'c16a0c5f0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APP_ROLE = "gridsvc_app"

#: The contract every scoped table relies on (gridsvc/db/rls.py): the app role, the accounts and
#: their scopes, and the functions the policies call. The accounts work adds to it below.
CONTRACT = [
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        END IF;
    END $$""",
    f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
    """CREATE TABLE account (
        id bigserial CONSTRAINT pk_account PRIMARY KEY,
        username varchar(64) NOT NULL CONSTRAINT uq_account_username UNIQUE,
        display_name varchar(200) NOT NULL,
        person_pk bigint CONSTRAINT fk_account_person_pk_person
            REFERENCES person(pk) ON DELETE SET NULL,
        role varchar(16) NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
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
    """CREATE FUNCTION gridsvc_scope(cell_kind text) RETURNS text[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
        $f$ SELECT coalesce(array_agg(s.area_id), '{}')
              FROM account_scope s JOIN account a ON a.id = s.account_id
             WHERE s.account_id = gridsvc_account_id() AND s.kind = cell_kind
               AND NOT a.disabled $f$""",
    """CREATE FUNCTION gridsvc_scope_all() RETURNS boolean
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
        $f$ SELECT EXISTS (SELECT 1 FROM account_scope s JOIN account a ON a.id = s.account_id
                            WHERE s.account_id = gridsvc_account_id() AND s.kind = 'all'
                              AND NOT a.disabled) $f$""",
    f"GRANT EXECUTE ON FUNCTION gridsvc_account_id(), gridsvc_scope(text), gridsvc_scope_all() "
    f"TO {APP_ROLE}",
]


def upgrade() -> None:
    """The contract above; the accounts work adds sessions, tokens and the policies."""
    for statement in CONTRACT:
        op.execute(statement)


def downgrade() -> None:
    """Drop what upgrade made. The role is cluster-wide and may serve other databases, so it
    stays; its privileges in this database go with the objects."""
    op.execute("DROP FUNCTION IF EXISTS gridsvc_scope_all(), gridsvc_scope(text), "
               "gridsvc_account_id()")
    op.execute("DROP TABLE IF EXISTS account_scope, account")
    op.execute(f"REVOKE ALL ON SCHEMA public FROM {APP_ROLE}")
