"""events: issue 13: events, routing, time limits

Revision ID: c13a0c5f0004
Revises: c12a0c5f0003
Create Date: 2026-12-05 16:03:00+00:00

The catalogue, routing table and time limits start with the domain's defaults
(:mod:`gridsvc.domain.events`); an admin edits them later. Events are scoped by their cells, or
seen by whoever reported them; their history and photos by whoever sees the event.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, String, Text
from sqlalchemy.dialects import postgresql

from gridsvc.db import rls
from gridsvc.domain.events.catalogue import DEFAULT_CATALOGUE
from gridsvc.domain.events.limits import DEFAULT_LIMITS
from gridsvc.domain.events.routing import DEFAULT_RULES

revision: str = 'c13a0c5f0004'
down_revision: str | None = 'c12a0c5f0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = ("state IN ('reported', 'accepted', 'dispatched', 'in_hand', 'returned', 'handled', "
        "'verified')")
#: An event is seen by the accounts whose scope holds one of its cells, and by its reporter.
EVENT_SEEN = (f"({rls.scope_predicate()} OR "
              "reporter_account_id = (SELECT gridsvc_account_id()))")
#: History and photos: seen with their event (the event's own policy applies in the subquery).
WITH_EVENT = "(EXISTS (SELECT 1 FROM event e WHERE e.id = event_id))"
ADMIN_TABLES = ("event_category", "event_rule", "event_limit")


def _tables() -> None:
    op.create_table('event_category',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_code', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['event_category.code'], name=op.f('fk_event_category_parent_code_event_category')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_event_category'))
    )
    op.create_table('event_limit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.CheckConstraint("grade IN ('general', 'major', 'serious', 'urgent')", name=op.f('ck_event_limit_grade')),
    sa.CheckConstraint('hours > 0', name=op.f('ck_event_limit_hours')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_limit')),
    sa.UniqueConstraint('category', 'grade', 'state', name=op.f('uq_event_limit_category_grade_state'))
    )
    op.create_table('event_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('min_grade', sa.String(length=16), nullable=False),
    sa.Column('unit_kind', sa.String(length=16), nullable=False),
    sa.Column('unit_name', sa.String(length=200), nullable=False),
    sa.Column('roles', postgresql.ARRAY(String(length=16)), server_default='{}', nullable=False),
    sa.Column('also', postgresql.JSONB(astext_type=Text()), server_default='[]', nullable=False),
    sa.CheckConstraint("min_grade IN ('general', 'major', 'serious', 'urgent')", name=op.f('ck_event_rule_min_grade')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_rule'))
    )
    op.create_table('event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='reported', nullable=False),
    sa.Column('level', sa.String(length=16), server_default='grid', nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('parties', sa.Text(), nullable=True),
    sa.Column('house_id', sa.String(length=64), nullable=True),
    sa.Column('compound_id', sa.String(length=64), nullable=True),
    sa.Column('reporter', sa.String(length=200), nullable=False),
    sa.Column('reporter_account_id', sa.BigInteger(), nullable=True),
    sa.Column('routing', postgresql.JSONB(astext_type=Text()), server_default='{}', nullable=False),
    sa.Column('unit_kind', sa.String(length=16), nullable=True),
    sa.Column('unit_id', sa.String(length=64), nullable=True),
    sa.Column('near_boundary', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
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
    sa.CheckConstraint("grade IN ('general', 'major', 'serious', 'urgent')", name=op.f('ck_event_grade')),
    sa.CheckConstraint("level IN ('grid', 'village', 'town', 'county')", name=op.f('ck_event_level')),
    sa.CheckConstraint("state IN ('reported', 'accepted', 'rejected', 'dispatched', 'in_hand', 'returned', 'handled', 'verified', 'closed')", name=op.f('ck_event_state')),
    sa.ForeignKeyConstraint(['category'], ['event_category.code'], name=op.f('fk_event_category_event_category')),
    sa.ForeignKeyConstraint(['cells_plan_id'], ['plan.id'], name=op.f('fk_event_cells_plan_id_plan')),
    sa.ForeignKeyConstraint(['reporter_account_id'], ['account.id'], name=op.f('fk_event_reporter_account_id_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    sa.UniqueConstraint('business_id', name=op.f('uq_event_business_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_event_idempotency_key'))
    )
    op.create_geospatial_index('idx_event_geom', 'event', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_event_category'), 'event', ['category'], unique=False)
    op.create_index(op.f('ix_event_created_at'), 'event', ['created_at'], unique=False)
    op.create_index('ix_event_open_expected', 'event', ['expected_at'], unique=False, postgresql_where=sa.text(OPEN))
    op.create_index('ix_event_open_grid', 'event', ['grid_id', 'created_at'], unique=False, postgresql_where=sa.text(OPEN))
    op.create_index(op.f('ix_event_reporter_account_id'), 'event', ['reporter_account_id'], unique=False)
    op.create_table('event_photo',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=16), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("media_type IN ('image/jpeg', 'image/png', 'image/webp')", name=op.f('ck_event_photo_media_type')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_photo_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_photo'))
    )
    op.create_index(op.f('ix_event_photo_event_id'), 'event_photo', ['event_id'], unique=False)
    op.create_table('event_transition',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('from_level', sa.String(length=16), nullable=True),
    sa.Column('to_level', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('attachments', postgresql.ARRAY(BigInteger()), server_default='{}', nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=Text()), server_default='{}', nullable=False),
    sa.CheckConstraint("action IN ('report', 'accept', 'reject', 'dispatch', 'start', 'return', 'handle', 'verify', 'reopen', 'close', 'escalate', 'reroute', 'edit')", name=op.f('ck_event_transition_action')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_transition_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_transition'))
    )
    op.create_index(op.f('ix_event_transition_event_id_id'), 'event_transition', ['event_id', 'id'], unique=False)


def _seed() -> None:
    """The domain's default catalogue, routing table and limits."""
    category = sa.table("event_category", sa.column("code"), sa.column("name"),
                        sa.column("parent_code"), sa.column("description"))
    op.bulk_insert(category, [{"code": c.code, "name": c.name, "parent_code": c.parent_code,
                               "description": c.description} for c in DEFAULT_CATALOGUE])
    rule = sa.table("event_rule", sa.column("category"), sa.column("level"),
                    sa.column("min_grade"), sa.column("unit_kind"), sa.column("unit_name"),
                    sa.column("roles", postgresql.ARRAY(String)),
                    sa.column("also", postgresql.JSONB))
    op.bulk_insert(rule, [{"category": r.category, "level": r.level,
                           "min_grade": r.min_grade.value, "unit_kind": r.unit_kind,
                           "unit_name": r.unit_name, "roles": list(r.roles),
                           "also": json.loads(json.dumps(r.also))} for r in DEFAULT_RULES])
    limit = sa.table("event_limit", sa.column("category"), sa.column("grade"),
                     sa.column("state"), sa.column("hours"))
    op.bulk_insert(limit, [{"category": lim.category, "grade": lim.grade.value,
                            "state": lim.state.value, "hours": float(lim.hours)}
                           for lim in DEFAULT_LIMITS])


def _security() -> list[str]:
    out = rls.enable_statements("event", using=EVENT_SEEN)
    out += rls.enable_statements("event_transition", using=WITH_EVENT, privileges="SELECT, INSERT")
    out += rls.enable_statements("event_photo", using=WITH_EVENT, privileges="SELECT, INSERT")
    # Catalogue, routing and limits: every signed-in account reads them; admins' routes edit.
    out += [f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(ADMIN_TABLES)} TO {rls.APP_ROLE}",
            f"GRANT USAGE, SELECT ON SEQUENCE event_rule_id_seq, event_limit_id_seq "
            f"TO {rls.APP_ROLE}",
            # Routing needs the people linked to an event's cells whoever reports it: the
            # reporter's scope may not show the beat's officer.
            """CREATE FUNCTION gridsvc_cell_people(kinds text[], ids text[])
                RETURNS TABLE (kind text, area_id text, person_pk bigint, person_id text,
                               name text, role text)
                LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
                $f$ SELECT pa.kind::text, pa.area_id::text, p.pk, p.business_id::text,
                           p.name::text, p.role::text
                      FROM unnest(kinds, ids) AS c(kind, area_id)
                      JOIN person_area pa ON pa.kind = c.kind AND pa.area_id = c.area_id
                      JOIN person p ON p.pk = pa.person_pk
                     ORDER BY p.business_id $f$""",
            # Which of these people the caller may see: the person policy's rule, with the
            # scope's cells computed once (the policy's function runs per row of person_area).
            """CREATE FUNCTION gridsvc_visible_people(pks bigint[]) RETURNS bigint[]
                LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS
                $f$ DECLARE cells text[];
                BEGIN
                    IF gridsvc_scope_all() THEN RETURN pks; END IF;
                    cells := gridsvc_scope_cells();
                    RETURN (SELECT coalesce(array_agg(DISTINCT person_pk), '{}')
                              FROM person_area WHERE person_pk = ANY (pks)
                               AND (kind || ':' || area_id) = ANY (cells));
                END $f$""",
            f"GRANT EXECUTE ON FUNCTION gridsvc_cell_people(text[], text[]), "
            f"gridsvc_visible_people(bigint[]) TO {rls.APP_ROLE}"]
    return out


def upgrade() -> None:
    """The tables, their defaults, then the policies."""
    _tables()
    _seed()
    for statement in _security():
        op.execute(statement)


def downgrade() -> None:
    """Drop the function and the tables (their policies and grants go with them)."""
    op.execute("DROP FUNCTION IF EXISTS gridsvc_cell_people(text[], text[]), "
               "gridsvc_visible_people(bigint[])")
    op.drop_table('event_transition')
    op.drop_table('event_photo')
    op.drop_geospatial_index('idx_event_geom', table_name='event', postgresql_using='gist', column_name='geom')
    op.drop_table('event')
    op.drop_table('event_rule')
    op.drop_table('event_limit')
    op.drop_table('event_category')
