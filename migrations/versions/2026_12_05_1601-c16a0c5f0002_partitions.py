"""partitions: issue 16: large tables partitioned by month

Revision ID: c16a0c5f0002
Revises: c11a0c5f0001
Create Date: 2026-12-05 16:01:00+00:00
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401 - used once this migration has content

revision: str = 'c16a0c5f0002'
down_revision: str | None = 'c11a0c5f0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
