"""visits: issue 17: house visits, assessments from events

``house_visit``: a house visited (走访) by a grid worker or an officer, append-only for the web
service and under row-level security: seen by those whose scope holds the house's cells, and
by the account that sent it (as patrol check-ins are).

Revision ID: d17a0c5f000a
Revises: d14a0c5f0009
Create Date: 2026-12-05 19:02:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from gridsvc.db import rls

revision: str = 'd17a0c5f000a'
down_revision: str | None = 'd14a0c5f0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Visible to the scope holding the house, and to the account that recorded the visit.
POLICY = "(" + rls.scope_predicate() + " OR account_id = (SELECT gridsvc_account_id()))"


def upgrade() -> None:
    """The house visits table, its indexes and its row-level security."""
    op.create_geospatial_table('house_visit',
    sa.Column('pk', sa.BigInteger(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('person_pk', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=True),
    sa.Column('house_id', sa.String(length=64), nullable=False),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('server_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('town_id', sa.String(length=64), nullable=True),
    sa.Column('village_id', sa.String(length=64), nullable=True),
    sa.Column('grid_id', sa.String(length=64), nullable=True),
    sa.Column('station_id', sa.String(length=64), nullable=True),
    sa.Column('beat_id', sa.String(length=64), nullable=True),
    sa.Column('src_x', sa.Float(), nullable=True),
    sa.Column('src_y', sa.Float(), nullable=True),
    sa.Column('src_crs', sa.String(length=32), nullable=True),
    sa.Column('cells_plan_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('accuracy_m IS NULL OR accuracy_m >= 0', name=op.f('ck_house_visit_accuracy')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_house_visit_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cells_plan_id'], ['plan.id'], name=op.f('fk_house_visit_cells_plan_id_plan')),
    sa.ForeignKeyConstraint(['person_pk'], ['person.pk'], name=op.f('fk_house_visit_person_pk_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_house_visit')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_house_visit_idempotency_key'))
    )
    op.create_geospatial_index('idx_house_visit_geom', 'house_visit', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_house_visit_person_pk_visited_at'), 'house_visit', ['person_pk', 'visited_at'], unique=False)
    op.create_index(op.f('ix_house_visit_house_id_visited_at'), 'house_visit', ['house_id', 'visited_at'], unique=False)
    # Visits are an append-only record: the web service may read and add them only.
    for statement in rls.enable_statements('house_visit', using=POLICY,
                                           privileges="SELECT, INSERT"):
        op.execute(statement)


def downgrade() -> None:
    """Drop the house visits table (its policy and grants go with it)."""
    op.drop_index(op.f('ix_house_visit_house_id_visited_at'), table_name='house_visit')
    op.drop_index(op.f('ix_house_visit_person_pk_visited_at'), table_name='house_visit')
    op.drop_geospatial_index('idx_house_visit_geom', table_name='house_visit', postgresql_using='gist', column_name='geom')
    op.drop_table('house_visit')
