"""compound entrances (camera coverage of entrances)

Revision ID: b5c0e1a7e005
Revises: 6ab93326c3f4
Create Date: 2026-11-24 02:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = 'b5c0e1a7e005'
down_revision: str | None = '6ab93326c3f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``compound_entrance``: a point object (with the assigned-cells columns)."""
    op.create_geospatial_table('compound_entrance',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=False),
    sa.Column('compound_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
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
    sa.CheckConstraint("kind IN ('main', 'side', 'vehicle')", name=op.f('ck_compound_entrance_kind')),
    sa.ForeignKeyConstraint(['cells_plan_id'], ['plan.id'], name=op.f('fk_compound_entrance_cells_plan_id_plan')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_compound_entrance')),
    sa.UniqueConstraint('business_id', name=op.f('uq_compound_entrance_business_id'))
    )
    op.create_geospatial_index('idx_compound_entrance_geom', 'compound_entrance', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_compound_entrance_compound_id'), 'compound_entrance', ['compound_id'], unique=False)


def downgrade() -> None:
    """Drop ``compound_entrance``."""
    op.drop_index(op.f('ix_compound_entrance_compound_id'), table_name='compound_entrance')
    op.drop_geospatial_index('idx_compound_entrance_geom', table_name='compound_entrance', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('compound_entrance')
