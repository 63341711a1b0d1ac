"""events_speed: issue 13: intake and re-routing at speed

Revision ID: d13a0c5f0008
Revises: c17a0c5f0007
Create Date: 2026-12-05 19:00:00+00:00

- ``event_config``: one row whose ``version`` moves (a statement trigger) with every change of
  the catalogue, the routing table or the time limits, in the changing transaction: a service
  process keeps them in memory and reads only this number per report.
- ``gridsvc_event_report(ev, tr, au)``: a report's event row, its first history row and its
  audit entry in one round trip (security invoker: the app role's policies hold as before).
- ``ix_event_open_grid_cover``: a grid's open events, newest first, covering the columns the
  event policy reads, so the list's page and its count stay in the index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gridsvc.db import rls

revision: str = 'd13a0c5f0008'
down_revision: str | None = 'c17a0c5f0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = ("state IN ('reported', 'accepted', 'dispatched', 'in_hand', 'returned', 'handled', "
        "'verified')")
CONFIG_TABLES = ("event_category", "event_rule", "event_limit")
#: The event's columns a report sets (the others keep their defaults).
EVENT_COLUMNS = ("id, business_id, category, grade, state, level, description, parties, "
                 "house_id, compound_id, reporter, reporter_account_id, routing, unit_kind, "
                 "unit_id, near_boundary, occurred_at, expected_at, idempotency_key, town_id, "
                 "village_id, grid_id, station_id, beat_id, src_x, src_y, src_crs, "
                 "cells_plan_id")
TRANSITION_COLUMNS = ("event_id, actor, account_id, action, from_state, to_state, from_level, "
                      "to_level, details")

REPORT_FUNCTION = f"""
CREATE FUNCTION gridsvc_event_report(ev jsonb, tr jsonb, au jsonb)
    RETURNS TABLE (transition_id bigint, transition_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS
$f$ DECLARE tid bigint; tat timestamptz;
BEGIN
    INSERT INTO event ({EVENT_COLUMNS}, geom)
    SELECT {EVENT_COLUMNS},
           ST_SetSRID(ST_MakePoint((ev->>'x')::float8, (ev->>'y')::float8), 4490)
      FROM jsonb_populate_record(NULL::event, ev)
    ON CONFLICT (idempotency_key) DO NOTHING;
    IF NOT FOUND THEN
        RETURN;  -- the key was taken by a concurrent retry: that report stands
    END IF;
    INSERT INTO event_transition ({TRANSITION_COLUMNS})
    SELECT {TRANSITION_COLUMNS} FROM jsonb_populate_record(NULL::event_transition, tr)
    RETURNING id, at INTO tid, tat;
    INSERT INTO audit_log (actor, action, object_kind, object_id, after)
    VALUES (au->>'actor', au->>'action', au->>'object_kind', au->>'object_id', au->'after');
    RETURN QUERY SELECT tid, tat;
END $f$
"""


def upgrade() -> None:
    """The config version and its trigger, the report function, the covering index."""
    op.create_table('event_config',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_event_config_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_config'))
    )
    # Starts from the clock, not 0: a process caching by (database, version) never takes a
    # database made again under the same name for the one it knew.
    op.execute("INSERT INTO event_config (id, version) "
               "VALUES (1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)")
    op.execute("""CREATE FUNCTION gridsvc_event_config_changed() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS
        $f$ BEGIN UPDATE event_config SET version = version + 1; RETURN NULL; END $f$""")
    for table in CONFIG_TABLES:
        op.execute(f"CREATE TRIGGER {table}_config_version AFTER INSERT OR UPDATE OR DELETE "
                   f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                   "EXECUTE FUNCTION gridsvc_event_config_changed()")
    op.execute(f"GRANT SELECT ON event_config TO {rls.APP_ROLE}")
    op.execute(REPORT_FUNCTION)
    op.execute(f"GRANT EXECUTE ON FUNCTION gridsvc_event_report(jsonb, jsonb, jsonb) "
               f"TO {rls.APP_ROLE}")
    op.create_index('ix_event_open_grid_cover', 'event', ['grid_id', 'created_at', 'id'],
                    unique=False,
                    postgresql_include=['town_id', 'village_id', 'station_id', 'beat_id',
                                        'reporter_account_id'],
                    postgresql_where=sa.text(OPEN))
    op.drop_index('ix_event_open_grid', table_name='event', postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    """Back to the events migration's shape."""
    op.create_index('ix_event_open_grid', 'event', ['grid_id', 'created_at', 'id'],
                    unique=False, postgresql_where=sa.text(OPEN))
    op.drop_index('ix_event_open_grid_cover', table_name='event',
                  postgresql_where=sa.text(OPEN))
    op.execute("DROP FUNCTION IF EXISTS gridsvc_event_report(jsonb, jsonb, jsonb)")
    for table in CONFIG_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_config_version ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gridsvc_event_config_changed()")
    op.drop_table('event_config')
