"""duty: issue 14: shifts, patrol check-ins, responsibility fields

Duty groups and their rotations (RFC 5545 rules), exceptions, the materialised duty intervals
(tstzrange, GiST; an exclusion constraint keeps one main-duty group at a time per station),
patrol rounds, requirements and check-ins, responsibility fields. Every table is under
row-level security for the web service's role (gridsvc.db.rls).

Revision ID: c14a0c5f0005
Revises: c13a0c5f0004
Create Date: 2026-12-05 16:04:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from gridsvc.db import rls

revision: str = 'c14a0c5f0005'
down_revision: str | None = 'c13a0c5f0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The account's stations and the stations of its beats (an officer sees the station's duty).
#: SECURITY DEFINER: the app role reads no cells itself.
DUTY_STATIONS = """CREATE FUNCTION gridsvc_duty_stations() RETURNS text[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
    $f$ SELECT coalesce(array_agg(DISTINCT s), '{}') FROM (
            SELECT unnest(gridsvc_scope('station')) AS s
            UNION SELECT a.parent_id FROM area a
                   WHERE a.kind = 'beat' AND a.business_id = ANY (gridsvc_scope('beat'))) t
         WHERE s IS NOT NULL $f$"""
#: Rows of a station the account may see.
STATION = ("((SELECT gridsvc_scope_all())"
           " OR station_id = ANY ((SELECT gridsvc_duty_stations())::text[]))")
#: Rows of a group: visible when the group is (duty_group's own policy applies in the subquery).
GROUP = "(group_id IN (SELECT g.id FROM duty_group g))"
POLICIES = {
    "duty_group": STATION,
    "duty_member": GROUP,
    "duty_rule": GROUP,
    "duty_change": STATION,
    "duty_interval": STATION,
    "patrol_round": STATION,
    "patrol_requirement": STATION,
    # A check-in is seen by those whose scope holds its point, and by the account that sent it.
    "patrol_check_in": "(" + rls.scope_predicate()
                       + " OR account_id = (SELECT gridsvc_account_id()))",
    "responsibility_field": ("(" + STATION + " OR village_id = ANY "
                             "((SELECT gridsvc_scope('village'))::text[]))"),
}
SEQUENCES = ("duty_group_id_seq", "duty_rule_id_seq", "duty_change_id_seq",
             "duty_interval_id_seq", "patrol_round_id_seq", "patrol_check_in_pk_seq")


def upgrade() -> None:
    """The duty tables, their indexes and their row-level security."""
    # btree_gist: the exclusion constraint compares station ids (=) next to ranges (&&).
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(DUTY_STATIONS)
    op.execute(f"GRANT EXECUTE ON FUNCTION gridsvc_duty_stations() TO {rls.APP_ROLE}")
    op.create_table('patrol_round',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('starts', sa.Time(), nullable=False),
    sa.Column('ends', sa.Time(), nullable=False),
    sa.CheckConstraint('starts <> ends', name=op.f('ck_patrol_round_window')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_round')),
    sa.UniqueConstraint('station_id', 'code', name=op.f('uq_patrol_round_station_id_code'))
    )
    op.create_table('duty_group',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('leader_pk', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['leader_pk'], ['person.pk'], name=op.f('fk_duty_group_leader_pk_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_group')),
    sa.UniqueConstraint('station_id', 'code', name=op.f('uq_duty_group_station_id_code'))
    )
    op.create_index(op.f('ix_duty_group_station_id'), 'duty_group', ['station_id'], unique=False)
    op.create_table('patrol_requirement',
    sa.Column('point_id', sa.String(length=64), nullable=False),
    sa.Column('round_id', sa.BigInteger(), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('visits', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint('visits BETWEEN 1 AND 24', name=op.f('ck_patrol_requirement_visits')),
    sa.ForeignKeyConstraint(['round_id'], ['patrol_round.id'], name=op.f('fk_patrol_requirement_round_id_patrol_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('point_id', 'round_id', name=op.f('pk_patrol_requirement'))
    )
    op.create_index(op.f('ix_patrol_requirement_round_id'), 'patrol_requirement', ['round_id'], unique=False)
    op.create_table('responsibility_field',
    sa.Column('person_pk', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.String(length=64), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('assigned_by', sa.String(length=200), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['person_pk'], ['person.pk'], name=op.f('fk_responsibility_field_person_pk_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_pk', 'village_id', name=op.f('pk_responsibility_field'))
    )
    op.create_index(op.f('ix_responsibility_field_village_id'), 'responsibility_field', ['village_id'], unique=False)
    op.create_table('duty_change',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('group_id', sa.BigInteger(), nullable=True),
    sa.Column('other_group_id', sa.BigInteger(), nullable=True),
    sa.Column('person_pk', sa.BigInteger(), nullable=True),
    sa.Column('other_person_pk', sa.BigInteger(), nullable=True),
    sa.Column('duty_kind', sa.String(length=16), nullable=True),
    sa.Column('during', postgresql.TSTZRANGE(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(kind = 'swap' AND day IS NOT NULL AND group_id IS NOT NULL AND other_group_id IS NOT NULL AND group_id <> other_group_id) OR (kind = 'leave' AND person_pk IS NOT NULL AND during IS NOT NULL) OR (kind = 'substitute' AND person_pk IS NOT NULL AND other_person_pk IS NOT NULL AND person_pk <> other_person_pk AND during IS NOT NULL) OR (kind = 'extra' AND person_pk IS NOT NULL AND duty_kind IS NOT NULL AND during IS NOT NULL)", name=op.f('ck_duty_change_fields')),
    sa.CheckConstraint("duty_kind IS NULL OR duty_kind IN ('main', 'second', 'standby')", name=op.f('ck_duty_change_duty_kind')),
    sa.CheckConstraint("kind IN ('swap', 'leave', 'substitute', 'extra')", name=op.f('ck_duty_change_kind')),
    sa.ForeignKeyConstraint(['group_id'], ['duty_group.id'], name=op.f('fk_duty_change_group_id_duty_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['other_group_id'], ['duty_group.id'], name=op.f('fk_duty_change_other_group_id_duty_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['other_person_pk'], ['person.pk'], name=op.f('fk_duty_change_other_person_pk_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_pk'], ['person.pk'], name=op.f('fk_duty_change_person_pk_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_change')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_duty_change_idempotency_key'))
    )
    op.create_index(op.f('ix_duty_change_station_id'), 'duty_change', ['station_id'], unique=False)
    op.create_table('duty_interval',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=True),
    sa.Column('person_pk', sa.BigInteger(), nullable=True),
    sa.Column('during', postgresql.TSTZRANGE(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    postgresql.ExcludeConstraint((sa.column('station_id'), '='), (sa.column('during'), '&&'), where=sa.text("kind = 'main' AND person_pk IS NULL"), using='gist', name='ex_duty_interval_one_main'),
    sa.CheckConstraint("kind IN ('main', 'second', 'standby')", name=op.f('ck_duty_interval_kind')),
    sa.CheckConstraint('NOT isempty(during) AND NOT lower_inf(during) AND NOT upper_inf(during)', name=op.f('ck_duty_interval_during')),
    sa.CheckConstraint('group_id IS NOT NULL OR person_pk IS NOT NULL', name=op.f('ck_duty_interval_holder')),
    sa.ForeignKeyConstraint(['group_id'], ['duty_group.id'], name=op.f('fk_duty_interval_group_id_duty_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_pk'], ['person.pk'], name=op.f('fk_duty_interval_person_pk_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_interval'))
    )
    op.create_index(op.f('ix_duty_interval_during'), 'duty_interval', ['during'], unique=False, postgresql_using='gist')
    op.create_index(op.f('ix_duty_interval_person_pk_station_id'), 'duty_interval', ['person_pk', 'station_id'], unique=False)
    op.create_index(op.f('ix_duty_interval_station_id'), 'duty_interval', ['station_id'], unique=False)
    op.create_table('duty_member',
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('person_pk', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['duty_group.id'], name=op.f('fk_duty_member_group_id_duty_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_pk'], ['person.pk'], name=op.f('fk_duty_member_person_pk_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'person_pk', name=op.f('pk_duty_member')),
    sa.UniqueConstraint('person_pk', name=op.f('uq_duty_member_person_pk'))
    )
    op.create_table('duty_rule',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('dtstart', sa.DateTime(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('rrule', sa.Text(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('main', 'second', 'standby')", name=op.f('ck_duty_rule_kind')),
    sa.CheckConstraint('minutes BETWEEN 1 AND 2880', name=op.f('ck_duty_rule_minutes')),
    sa.CheckConstraint('valid_until IS NULL OR valid_until > valid_from', name=op.f('ck_duty_rule_valid')),
    sa.ForeignKeyConstraint(['group_id'], ['duty_group.id'], name=op.f('fk_duty_rule_group_id_duty_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_rule'))
    )
    op.create_index(op.f('ix_duty_rule_group_id'), 'duty_rule', ['group_id'], unique=False)
    op.create_geospatial_table('patrol_check_in',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('person_pk', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=True),
    sa.Column('point_id', sa.String(length=64), nullable=False),
    sa.Column('device_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('server_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=False),
    sa.Column('distance_m', sa.Float(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('town_id', sa.String(length=64), nullable=True),
    sa.Column('village_id', sa.String(length=64), nullable=True),
    sa.Column('grid_id', sa.String(length=64), nullable=True),
    sa.Column('station_id', sa.String(length=64), nullable=True),
    sa.Column('beat_id', sa.String(length=64), nullable=True),
    sa.Column('src_x', sa.Float(), nullable=True),
    sa.Column('src_y', sa.Float(), nullable=True),
    sa.Column('src_crs', sa.String(length=32), nullable=True),
    sa.Column('cells_plan_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('accuracy_m >= 0', name=op.f('ck_patrol_check_in_accuracy')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_patrol_check_in_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cells_plan_id'], ['plan.id'], name=op.f('fk_patrol_check_in_cells_plan_id_plan')),
    sa.ForeignKeyConstraint(['person_pk'], ['person.pk'], name=op.f('fk_patrol_check_in_person_pk_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_patrol_check_in')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_patrol_check_in_idempotency_key'))
    )
    op.create_geospatial_index('idx_patrol_check_in_geom', 'patrol_check_in', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_patrol_check_in_person_pk_at'), 'patrol_check_in', ['person_pk', 'at'], unique=False)
    op.create_index(op.f('ix_patrol_check_in_point_id'), 'patrol_check_in', ['point_id'], unique=False)
    op.create_index(op.f('ix_patrol_check_in_station_id_at'), 'patrol_check_in', ['station_id', 'at'], unique=False)
    for table, predicate in POLICIES.items():
        # Check-ins are an append-only record: the web service may read and add them only.
        privileges = "SELECT, INSERT" if table == "patrol_check_in" else \
            "SELECT, INSERT, UPDATE, DELETE"
        for statement in rls.enable_statements(table, using=predicate, privileges=privileges):
            op.execute(statement)
    for sequence in SEQUENCES:
        op.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {rls.APP_ROLE}")


def downgrade() -> None:
    """Drop the duty tables (their policies go with them). btree_gist stays: other objects
    of the database may use it."""
    for table in ("patrol_check_in", "duty_rule", "duty_member", "duty_interval", "duty_change",
                  "responsibility_field", "patrol_requirement", "duty_group", "patrol_round"):
        op.drop_table(table)
    op.execute("DROP FUNCTION gridsvc_duty_stations()")
