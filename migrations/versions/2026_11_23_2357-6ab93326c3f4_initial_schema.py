"""initial schema: plans and cells, point objects, people, tokens, audit log

Revision ID: 6ab93326c3f4
Revises:
Create Date: 2026-11-23 23:57:01.996851+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '6ab93326c3f4'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


AUDIT_GUARD = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade() -> None:
    # The geometry columns need PostGIS; the embedded cluster makes it already, a server may not.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('viewer', 'dispatcher', 'planner', 'admin')", name=op.f('ck_api_token_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_kind', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=200), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_geospatial_table('compound',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('village_id', sa.String(length=64), nullable=True),
    sa.Column('risk_colour', sa.String(length=8), nullable=False),
    sa.Column('no_property_management', sa.Boolean(), nullable=False),
    sa.Column('no_competent_department', sa.Boolean(), nullable=False),
    sa.Column('no_security', sa.Boolean(), nullable=False),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("risk_colour IN ('red', 'orange', 'green')", name=op.f('ck_compound_risk_colour')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_compound')),
    sa.UniqueConstraint('business_id', name=op.f('uq_compound_business_id'))
    )
    op.create_geospatial_index('idx_compound_geom', 'compound', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('person',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('office_id', sa.String(length=64), nullable=True),
    sa.CheckConstraint("role IN ('officer', 'auxiliary', 'grid_worker', 'volunteer')", name=op.f('ck_person_role')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_person')),
    sa.UniqueConstraint('business_id', name=op.f('uq_person_business_id'))
    )
    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=True),
    sa.Column('based_on_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'active', 'retired')", name=op.f('ck_plan_status')),
    sa.ForeignKeyConstraint(['based_on_id'], ['plan.id'], name=op.f('fk_plan_based_on_id_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan'))
    )
    op.create_geospatial_table('road',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('road_class', sa.String(length=32), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTILINESTRING', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_road')),
    sa.UniqueConstraint('business_id', name=op.f('uq_road_business_id'))
    )
    op.create_geospatial_index('idx_road_geom', 'road', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('area',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('residents', sa.Integer(), nullable=True),
    sa.Column('attrs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("kind IN ('town', 'village', 'grid', 'station', 'beat')", name=op.f('ck_area_kind')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_area_plan_id_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_area')),
    sa.UniqueConstraint('plan_id', 'kind', 'business_id', name=op.f('uq_area_plan_id_kind_business_id'))
    )
    op.create_geospatial_index('idx_area_geom', 'area', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_area_plan_id_kind_parent_id'), 'area', ['plan_id', 'kind', 'parent_id'], unique=False)
    op.create_geospatial_table('camera',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('heading_deg', sa.Float(), nullable=False),
    sa.Column('fov_deg', sa.Float(), nullable=False),
    sa.Column('range_m', sa.Float(), nullable=False),
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
    sa.CheckConstraint('fov_deg > 0 AND fov_deg <= 360', name=op.f('ck_camera_fov')),
    sa.CheckConstraint('heading_deg >= 0 AND heading_deg < 360', name=op.f('ck_camera_heading')),
    sa.CheckConstraint('range_m > 0', name=op.f('ck_camera_range')),
    sa.ForeignKeyConstraint(['cells_plan_id'], ['plan.id'], name=op.f('fk_camera_cells_plan_id_plan')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_camera')),
    sa.UniqueConstraint('business_id', name=op.f('uq_camera_business_id'))
    )
    op.create_geospatial_index('idx_camera_geom', 'camera', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('house',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('address_village_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('sub_number', sa.Integer(), nullable=True),
    sa.Column('building', sa.String(length=16), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('room', sa.String(length=16), nullable=True),
    sa.Column('aliases', postgresql.ARRAY(sa.String(length=200)), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('registered', sa.Integer(), nullable=False),
    sa.Column('residents', sa.Integer(), nullable=False),
    sa.Column('floating', sa.Integer(), nullable=False),
    sa.Column('is_rental', sa.Boolean(), nullable=False),
    sa.Column('rental_stars', sa.SmallInteger(), nullable=True),
    sa.Column('compound_id', sa.String(length=64), nullable=True),
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
    sa.CheckConstraint('rental_stars BETWEEN 1 AND 5', name=op.f('ck_house_rental_stars')),
    sa.ForeignKeyConstraint(['cells_plan_id'], ['plan.id'], name=op.f('fk_house_cells_plan_id_plan')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_house')),
    sa.UniqueConstraint('business_id', name=op.f('uq_house_business_id'))
    )
    op.create_geospatial_index('idx_house_geom', 'house', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_house_village_id_number'), 'house', ['village_id', 'number'], unique=False)
    op.create_geospatial_table('incident',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
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
    sa.ForeignKeyConstraint(['cells_plan_id'], ['plan.id'], name=op.f('fk_incident_cells_plan_id_plan')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_incident')),
    sa.UniqueConstraint('business_id', name=op.f('uq_incident_business_id'))
    )
    op.create_geospatial_index('idx_incident_geom', 'incident', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_incident_category'), 'incident', ['category'], unique=False)
    op.create_index(op.f('ix_incident_occurred_at'), 'incident', ['occurred_at'], unique=False)
    op.create_geospatial_table('office',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('opening_hours', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
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
    sa.ForeignKeyConstraint(['cells_plan_id'], ['plan.id'], name=op.f('fk_office_cells_plan_id_plan')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_office')),
    sa.UniqueConstraint('business_id', name=op.f('uq_office_business_id'))
    )
    op.create_geospatial_index('idx_office_geom', 'office', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('patrol_point',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
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
    sa.ForeignKeyConstraint(['cells_plan_id'], ['plan.id'], name=op.f('fk_patrol_point_cells_plan_id_plan')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_patrol_point')),
    sa.UniqueConstraint('business_id', name=op.f('uq_patrol_point_business_id'))
    )
    op.create_geospatial_index('idx_patrol_point_geom', 'patrol_point', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('person_area',
    sa.Column('person_pk', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('area_id', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('town', 'village', 'grid', 'station', 'beat')", name=op.f('ck_person_area_kind')),
    sa.ForeignKeyConstraint(['person_pk'], ['person.pk'], name=op.f('fk_person_area_person_pk_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_pk', 'kind', 'area_id', name=op.f('pk_person_area'))
    )
    op.create_index(op.f('ix_person_area_kind_area_id'), 'person_area', ['kind', 'area_id'], unique=False)
    op.execute(AUDIT_GUARD)


def downgrade() -> None:
    op.drop_index(op.f('ix_person_area_kind_area_id'), table_name='person_area')
    op.drop_table('person_area')
    op.drop_geospatial_index('idx_patrol_point_geom', table_name='patrol_point', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('patrol_point')
    op.drop_geospatial_index('idx_office_geom', table_name='office', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('office')
    op.drop_index(op.f('ix_incident_occurred_at'), table_name='incident')
    op.drop_index(op.f('ix_incident_category'), table_name='incident')
    op.drop_geospatial_index('idx_incident_geom', table_name='incident', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('incident')
    op.drop_index(op.f('ix_house_village_id_number'), table_name='house')
    op.drop_geospatial_index('idx_house_geom', table_name='house', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('house')
    op.drop_geospatial_index('idx_camera_geom', table_name='camera', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('camera')
    op.drop_index(op.f('ix_area_plan_id_kind_parent_id'), table_name='area')
    op.drop_geospatial_index('idx_area_geom', table_name='area', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('area')
    op.drop_geospatial_index('idx_road_geom', table_name='road', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('road')
    op.drop_table('plan')
    op.drop_table('person')
    op.drop_geospatial_index('idx_compound_geom', table_name='compound', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('compound')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('api_token')
    # PostGIS stays: other schemas of the same database may use it.
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
