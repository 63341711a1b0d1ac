"""duty_maps: issue 14: duty on the map, patrol reports

The command centre's map and the per-shift patrol report read one shift's check-ins of every
station (``at`` in a window, no station named); the indexes of ``patrol_check_in`` all start
with the station or the person, so on PostgreSQL 15 (no skip scan) that read scanned every
check-in ever made: a year of a city's check-ins for one shift. An index on ``at`` alone serves
it. Nothing else of the duty layers needs a change of schema.

Revision ID: d14a0c5f0009
Revises: d13a0c5f0008
Create Date: 2026-12-05 19:01:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'd14a0c5f0009'
down_revision: str | None = 'd13a0c5f0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index check-ins by the time that counts."""
    op.create_index(op.f('ix_patrol_check_in_at'), 'patrol_check_in', ['at'], unique=False)


def downgrade() -> None:
    """Drop the index."""
    op.drop_index(op.f('ix_patrol_check_in_at'), table_name='patrol_check_in')
