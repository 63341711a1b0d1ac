"""hardening: issue 11: cost independent of history (plan-keyed indexes)

Every plan keeps its own copy of its cells, so ``area`` grows with every draft and retired
plan. A lookup of "the cell of plan P covering this point" through the geometry index alone
visits every plan's copy of the nearby cells before the plan filter: its cost grew with the
number of plans stored (a draft's map page: 0.7 s with 2 plans, 23 s with 100). One GiST index
over ``(plan_id, kind, geom)`` (``btree_gist`` gives GiST the integer and text columns) finds
the plan's own cells directly; it replaces the geometry-only index, which no query of one plan
should use (a query over all plans can still use the new index on ``geom`` alone).

The statements are idempotent (IF [NOT] EXISTS): a database stamped at this revision while it
was still empty gets the index with ``gridsvc db downgrade b7a1a2de0007`` then ``upgrade``.

Revision ID: c11a0c5f0001
Revises: b7a1a2de0007
Create Date: 2026-12-05 16:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'c11a0c5f0001'
down_revision: str | None = 'b7a1a2de0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The plan-keyed GiST index on ``area``, in place of the geometry-only one."""
    # btree_gist is a trusted extension: the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("CREATE INDEX IF NOT EXISTS ix_area_plan_id_kind_geom "
               "ON area USING gist (plan_id, kind, geom)")
    op.execute("DROP INDEX IF EXISTS idx_area_geom")


def downgrade() -> None:
    """Back to the geometry-only index."""
    op.execute("CREATE INDEX IF NOT EXISTS idx_area_geom ON area USING gist (geom)")
    op.execute("DROP INDEX IF EXISTS ix_area_plan_id_kind_geom")
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
