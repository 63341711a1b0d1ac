"""planning: drafts, edits, activation

Revision ID: b7a1a2de0007
Revises: b5c0e1a7e005
Create Date: 2026-11-24 02:21:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'b7a1a2de0007'
down_revision: str | None = 'b5c0e1a7e005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: Tables whose rows all get a new ``cells_plan_id`` when a plan takes effect (incidents keep
#: theirs). With half of each page free, that UPDATE is HOT (``cells_plan_id`` is not indexed,
#: so no index entry is written): 1.5 s instead of 5.8 s for 210,000 houses (bench/plans.py);
#: at 70 only half the updates were HOT (3.3 s).
MOVING = ("house", "patrol_point", "camera", "office")
FILLFACTOR = 50


def upgrade() -> None:
    """Plans, cells and the objects' ``cells_plan_id`` are in the initial schema; this only
    leaves room on the pages of the point tables (applies to pages written from now on)."""
    for table in MOVING:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    for table in MOVING:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
